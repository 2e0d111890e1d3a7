//! Waivers: a failing rule accepted for a while, on purpose, by someone. Each names the rule,
//! the targets (glob), an owner, a reason and an expiry; a waived failure is reported as waived
//! (a SARIF suppression) and does not fail the run, and an expired waiver fails it loudly.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Date;
use toml::Spanned;

use crate::error::{read_input, FileError};

#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    /// Rule id or glob (`tls.*`).
    pub rule: String,
    /// Glob over an endpoint's `host:port` or display name, or a key's id or alias.
    pub target: String,
    pub owner: String,
    pub reason: String,
    pub expires: Date,
    /// Where it is written (`waivers.toml:12`), for messages.
    pub origin: String,
}

/// How a finding was waived, as reports show it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Waived {
    pub owner: String,
    pub reason: String,
    /// Last day the waiver counts (YYYY-MM-DD).
    pub expires: String,
    /// The waiver's file and line.
    pub origin: String,
}

/// A waiver past its expiry: reported, and it fails the run.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpiredWaiver {
    pub rule: String,
    pub target: String,
    pub owner: String,
    pub expires: String,
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: Spanned<String>,
    target: Spanned<String>,
    owner: Spanned<String>,
    reason: Spanned<String>,
    expires: Spanned<toml::value::Datetime>,
}

/// Reads a waivers file; errors give the file, line and what was expected.
pub fn load(path: &Path) -> anyhow::Result<Vec<Waiver>> {
    let src = read_input(path, "waivers file")?;
    Ok(parse(&path.display().to_string(), &src)?)
}

pub fn parse(origin: &str, src: &str) -> Result<Vec<Waiver>, FileError> {
    let raw: RawFile = toml::from_str(src).map_err(|e| FileError::from_toml(origin, src, &e))?;
    let at = |offset: usize, msg: &str| FileError::at(origin, src, offset, msg.to_string());
    let mut out = Vec::new();
    for w in raw.waiver {
        let line = src[..w.span().start].matches('\n').count() + 1;
        let w = w.into_inner();
        for (field, v) in [
            ("rule", &w.rule),
            ("target", &w.target),
            ("owner", &w.owner),
            ("reason", &w.reason),
        ] {
            if v.get_ref().trim().is_empty() {
                return Err(at(
                    v.span().start,
                    &format!("a waiver's `{field}` must not be empty"),
                ));
            }
        }
        let rule = w.rule.get_ref().trim().to_string();
        let known = crate::policy::catalog::all()
            .iter()
            .any(|r| glob(&rule, r.id));
        if !known {
            return Err(at(
                w.rule.span().start,
                &format!("`{rule}` matches no rule id (`vetcrypt policy rules` lists them)"),
            ));
        }
        let d = w.expires.get_ref();
        let expires = d
            .date
            .filter(|_| d.time.is_none())
            .and_then(|d| {
                time::Month::try_from(d.month)
                    .ok()
                    .and_then(|m| Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
            })
            .ok_or_else(|| {
                at(
                    w.expires.span().start,
                    "`expires` must be a date such as 2027-01-31 (a waiver always ends)",
                )
            })?;
        out.push(Waiver {
            rule,
            target: w.target.get_ref().trim().to_string(),
            owner: w.owner.into_inner(),
            reason: w.reason.into_inner(),
            expires,
            origin: format!("{origin}:{line}"),
        });
    }
    Ok(out)
}

/// `*` matches any run of characters, `?` one, everything else itself (case-insensitive): the
/// one linear matcher shared with IAM actions and region patterns.
pub fn glob(pattern: &str, text: &str) -> bool {
    crate::subject::glob_match(pattern, text)
}

/// The waiver that covers `rule_id` on a subject known by `names`, if one is in force today.
pub fn covering<'a>(
    waivers: &'a [Waiver],
    rule_id: &str,
    names: &[&str],
    today: Date,
) -> Option<&'a Waiver> {
    waivers.iter().find(|w| {
        w.expires >= today && glob(&w.rule, rule_id) && names.iter().any(|n| glob(&w.target, n))
    })
}

pub fn expired(waivers: &[Waiver], today: Date) -> Vec<ExpiredWaiver> {
    waivers
        .iter()
        .filter(|w| w.expires < today)
        .map(|w| ExpiredWaiver {
            rule: w.rule.clone(),
            target: w.target.clone(),
            owner: w.owner.clone(),
            expires: w.expires.to_string(),
            origin: w.origin.clone(),
        })
        .collect()
}

impl Waiver {
    pub fn waived(&self) -> Waived {
        Waived {
            owner: self.owner.clone(),
            reason: self.reason.clone(),
            expires: self.expires.to_string(),
            origin: self.origin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn globs() {
        assert!(glob("tls.*", "tls.min_version"));
        assert!(glob("*.legacy.example:443", "api.legacy.example:443"));
        assert!(glob("*", "anything"));
        assert!(!glob("tls.*", "cert.expired"));
        assert!(glob("a*b*c", "aXXbYYc") && !glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn parse_match_and_expire() {
        let src = "[[waiver]]\nrule = \"tls.min_version\"\ntarget = \"legacy*\"\nowner = \"alice\"\nreason = \"TLS 1.3 in Q1\"\nexpires = 2027-01-31\n\n[[waiver]]\nrule = \"cert.*\"\ntarget = \"*\"\nowner = \"bob\"\nreason = \"old\"\nexpires = 2026-01-01\n";
        let w = parse("waivers.toml", src).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].origin, "waivers.toml:8");
        let today = date!(2026 - 11 - 25);
        assert!(covering(
            &w,
            "tls.min_version",
            &["legacy (127.0.0.1:1)", "legacy"],
            today
        )
        .is_some());
        assert!(covering(&w, "tls.min_version", &["modern"], today).is_none());
        // The expired one covers nothing, and is listed.
        assert!(covering(&w, "cert.expired", &["legacy"], today).is_none());
        assert_eq!(expired(&w, today).len(), 1);

        for (bad, needle) in [
            ("[[waiver]]\nrule = \"tls.nope\"\ntarget = \"*\"\nowner = \"a\"\nreason = \"r\"\nexpires = 2027-01-01\n", "matches no rule"),
            ("[[waiver]]\nrule = \"tls.*\"\ntarget = \"*\"\nowner = \"\"\nreason = \"r\"\nexpires = 2027-01-01\n", "`owner` must not be empty"),
            ("[[waiver]]\nrule = \"tls.*\"\ntarget = \"*\"\nowner = \"a\"\nreason = \"r\"\n", "missing field `expires`"),
        ] {
            let e = parse("w.toml", bad).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("w.toml:"), "{e}");
        }
    }
}
