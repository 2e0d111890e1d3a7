//! The one wildcard matcher for names read from files and cloud APIs: IAM actions in key
//! policies (`kms:Re*`), waiver rules and targets (`tls.*`, `*.legacy.example:*`) and region
//! patterns (`eu-*`). `*` matches any run of characters (none included), `?` exactly one;
//! everything else matches itself, ignoring ASCII case (as IAM does).
//!
//! Two pointers and one remembered star: when a later literal fails, only the last `*` takes
//! one more character, so the work is at most pattern length × text length, never the
//! exponential backtracking of a recursive matcher (`a*a*a*a*a*a*a*a*b` against ten thousand
//! `a`s answers at once).

/// Whether `text` matches `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // The position after the last `*` seen, and the text position it is now matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last star swallow one more character and retry from there.
                Some((after, upto)) => {
                    pi = after;
                    ti = upto + 1;
                    star = Some((after, upto + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn wildcards() {
        assert!(glob_match("tls.*", "tls.min_version"));
        assert!(!glob_match("tls.*", "cert.expired"));
        assert!(glob_match("*.legacy.example:443", "api.legacy.example:443"));
        assert!(glob_match("*", "") && glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "aXXbYYc") && !glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("kms:Re*", "kms:ReEncryptFrom"));
        assert!(glob_match("KMS:DECRYPT", "kms:Decrypt"));
        assert!(glob_match("kms:?ecrypt", "kms:Decrypt") && !glob_match("kms:?", "kms:"));
        assert!(glob_match("eu-*", "EU-WEST-1") && !glob_match("europe-*", "europe"));
        assert!(glob_match("*-west-*", "eu-west-1"));
        assert!(!glob_match("", "a") && glob_match("", ""));
        assert!(glob_match("ab*b", "abb") && !glob_match("ab*b", "ab"));
        assert!(glob_match("*ß*", "straße"));
    }

    /// The pathological pattern of a hostile key policy: a backtracking matcher takes
    /// exponential time here; this one answers (correctly) after at most |p|·|t| steps.
    #[test]
    fn pathological_patterns_finish() {
        let text = "a".repeat(10_000);
        assert!(!glob_match("a*a*a*a*a*a*a*a*b", &text));
        assert!(glob_match("a*a*a*a*a*a*a*a*a", &text));
        let with_b = format!("{text}b");
        assert!(glob_match("a*a*a*a*a*a*a*a*b", &with_b));
        let stars = "*a".repeat(500) + "*b";
        assert!(!glob_match(&stars, &text));
    }
}
