//! The per-format safe forms of text vetcrypt did not write itself (peer text above all, but
//! every value a renderer did not compose): one function per output format, used by every
//! renderer for every such value.
//!
//! - terminal: hazards (controls, ESC, DEL, bidi overrides) shown visibly, never emitted;
//! - XML (JUnit): the terminal form, and nothing XML 1.0 forbids: the file always parses;
//! - Markdown: the terminal form with `\`, `|`, backticks, `<`, `>`, `&`, `[` and `]` escaped,
//!   so a value stays in its table cell and no tag survives;
//! - HTML: the terminal form, entity-escaped.
//!
//! JSON needs none: serde escapes it, and the JSON facts keep peer text exact.

use std::borrow::Cow;

pub use crate::facts::peer::{is_hazard, visible as terminal};

/// Whether XML 1.0 allows `c` (its `Char` production).
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// A value for XML text or an attribute (quick-xml escapes the markup characters).
pub fn xml(s: &str) -> Cow<'_, str> {
    match terminal(s) {
        Cow::Borrowed(t) => xml_chars(t),
        Cow::Owned(t) => Cow::Owned(xml_chars(&t).into_owned()),
    }
}

/// A whole XML document with anything XML 1.0 forbids shown visibly: the last guard, after
/// every value went through [`xml`].
pub fn xml_document(doc: String) -> String {
    match xml_chars(&doc) {
        Cow::Borrowed(_) => doc,
        Cow::Owned(d) => d,
    }
}

/// `s` with every character XML 1.0 forbids shown as `\u{…}`.
fn xml_chars(s: &str) -> Cow<'_, str> {
    if s.chars().all(xml_allowed) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if xml_allowed(c) {
                    c.to_string()
                } else {
                    format!("\\u{{{:x}}}", c as u32)
                }
            })
            .collect(),
    )
}

/// A value for one Markdown table cell or list line.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in terminal(s).chars() {
        match c {
            '\\' | '|' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A value for HTML element content or a quoted attribute.
pub fn html(s: &str) -> String {
    let t = terminal(s);
    let mut out = String::with_capacity(t.len() + 8);
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The terminal report's last guard: any hazard left in `out` is shown visibly, except the line
/// breaks and the colour sequences vetcrypt wrote itself (`ESC [ digits ; m`). Values were
/// already passed through [`terminal`]; this catches what a future change forgets.
pub fn terminal_document(out: String) -> String {
    if !out.chars().any(|c| c != '\n' && is_hazard(c)) {
        return out;
    }
    let mut safe = String::with_capacity(out.len() + 16);
    let mut rest = out.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            if let Some(len) = own_colour(rest) {
                safe.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if c == '\n' {
            safe.push('\n');
        } else {
            safe.push_str(&terminal(c.encode_utf8(&mut [0; 4])));
        }
        rest = &rest[c.len_utf8()..];
    }
    safe
}

/// The length of a colour sequence (`ESC [ 1;31 m`) at the start of `s`, if one is there.
fn own_colour(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\x1b[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (body[end..].starts_with('m') && end <= 8).then_some(2 + end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = "evil\x1b[2J\x1b[31mPWNED\x1b]0;title\x07<script>alert(1)</script>|pipe|\n## injected ]]></testcase> \u{202e}x\u{fffe}`[a](b)`\\";

    #[test]
    fn every_form_is_inert() {
        assert!(!terminal(EVIL).chars().any(is_hazard));
        let x = xml(EVIL);
        assert!(x.chars().all(xml_allowed), "{x}");
        let md = markdown(EVIL);
        assert!(!md.contains('<') && !md.contains('\n'));
        assert_eq!(md.matches('|').count(), md.matches("\\|").count());
        let h = html(EVIL);
        assert!(!h.contains('<') && !h.contains('\x1b'));
    }

    #[test]
    fn the_terminal_guard_keeps_only_our_colours() {
        let ours = "\x1b[1;31mFAIL\x1b[0m line\n";
        assert_eq!(terminal_document(ours.to_string()), ours);
        let theirs = format!("{ours}\x1b]0;title\x07\x1b[2J\u{202e}\n");
        let guarded = terminal_document(theirs);
        assert!(guarded.starts_with(ours));
        assert!(
            guarded.ends_with("\\x1b]0;title\\x07\\x1b[2J\\u{202e}\n"),
            "{guarded:?}"
        );
    }
}
