//! Text a peer controls — names in certificates, HTTP headers, banners, KMS aliases and
//! descriptions — kept exact for the JSON facts, and printable only in a safe form.
//!
//! [`PeerText`] serialises as the exact string, but its only `Display` is the visible form of
//! [`visible`]: no control character, escape sequence or bidirectional override a server chose
//! ever reaches a terminal through `{}`. The exact text is there, on purpose, through
//! [`PeerText::raw`].

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A string a peer chose. JSON keeps it exact; `Display` shows it safely.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(transparent)]
pub struct PeerText(String);

impl PeerText {
    pub fn new(text: impl Into<String>) -> Self {
        PeerText(text.into())
    }

    /// The exact text, as the peer sent it: for comparisons and the JSON facts, never for
    /// printing.
    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The safe forms of `items`, joined by `sep`; past [`LIST_SHOWN`] items, a count of the
    /// rest ("… and 9,990 more": the JSON facts have them all).
    pub fn join(items: &[PeerText], sep: &str) -> String {
        let shown: Vec<String> = items
            .iter()
            .take(LIST_SHOWN)
            .map(ToString::to_string)
            .collect();
        let mut text = shown.join(sep);
        if items.len() > LIST_SHOWN {
            text.push_str(&format!(
                "{sep}… and {} more",
                thousands(items.len() - LIST_SHOWN)
            ));
        }
        text
    }
}

impl fmt::Display for PeerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&visible(&self.0))
    }
}

impl From<String> for PeerText {
    fn from(s: String) -> Self {
        PeerText(s)
    }
}

impl From<&str> for PeerText {
    fn from(s: &str) -> Self {
        PeerText(s.to_string())
    }
}

impl PartialEq<str> for PeerText {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PeerText {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// How many items of a peer's list a message shows before it counts the rest.
pub const LIST_SHOWN: usize = 10;

/// 9990 → "9,990".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether a character must never reach an output as itself: C0 and C1 controls (newline and
/// tab included: a value stays on its line), DEL, and the bidirectional marks, embeddings,
/// overrides and isolates that reorder what a reader sees (U+200E/F, U+061C, U+202A–U+202E,
/// U+2066–U+2069).
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every hazardous character shown visibly: `\x1b`, `\n`, `\u{202e}`. A backslash
/// is left as it is (the escapes stay readable; JSON has the exact bytes).
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hazard(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_hazard(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_shown_not_sent() {
        let evil = "evil\x1b[2J\x1b[31mPWNED\x1b]0;title\x07 \u{202e}gpj.exe\u{2066}\n## x\u{9b}";
        let shown = visible(evil);
        assert!(!shown.chars().any(is_hazard), "{shown}");
        assert_eq!(
            shown,
            "evil\\x1b[2J\\x1b[31mPWNED\\x1b]0;title\\x07 \\u{202e}gpj.exe\\u{2066}\\n## x\\x9b"
        );
        assert_eq!(visible("plain <b>|</b>"), "plain <b>|</b>");
        let p = PeerText::new(evil);
        assert_eq!(p.to_string(), shown);
        assert_eq!(p.raw(), evil);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(evil).unwrap()
        );
    }

    #[test]
    fn long_lists_are_counted_not_listed() {
        let sans: Vec<PeerText> = (0..10_000)
            .map(|i| PeerText::new(format!("DNS:h{i}")))
            .collect();
        let text = PeerText::join(&sans, ", ");
        assert!(text.starts_with("DNS:h0, DNS:h1, "));
        assert!(text.ends_with("DNS:h9, … and 9,990 more"), "{text}");
        assert_eq!(PeerText::join(&sans[..3], ", "), "DNS:h0, DNS:h1, DNS:h2");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
