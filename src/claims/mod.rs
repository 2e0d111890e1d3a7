//! Vendor claims: what a vendor says in plain terms ("TLS 1.3 only", "keys rotated every 30
//! days in an HSM"), turned into the rules that check it, and one verdict per claim.
//!
//! Pure, like policy: claims + facts + today → verdicts. Each claim becomes a one-claim policy
//! (the rules and parameters that test it), evaluated on the same facts as any scan:
//! - **verified**: every subject the claim covers was observed and passes;
//! - **contradicted**: an observation contradicts it (the evidence says which);
//! - **not observable**: nothing the tool saw can confirm it (no subject, or one could not be
//!   observed): never a pass;
//! - **attested** / **attestation expired**: document-based claims (ISO 27001, SOC 2, pen test)
//!   recorded with their evidence and expiry, the expiry checked against today.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::FileError;
use crate::facts::FactSet;
use crate::policy::{self, Policy, Status};
pub use crate::subject::{Attestation, Claim};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    Contradicted,
    NotObservable,
    Attested,
    AttestationExpired,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Contradicted => "contradicted",
            Verdict::NotObservable => "not observable",
            Verdict::Attested => "attested",
            Verdict::AttestationExpired => "attestation expired",
        }
    }

    /// Verdicts that fail a run (exit 1).
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Contradicted | Verdict::AttestationExpired)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimResult {
    pub claim: String,
    /// The value as the vendor stated it.
    pub stated: String,
    pub verdict: Verdict,
    /// The observations behind the verdict, one line per subject.
    pub evidence: Vec<String>,
    /// The rules that tested it.
    pub rules: Vec<String>,
}

/// The claims vetcrypt knows: name, what the value must be, what it means.
pub const CLAIMS: &[(&str, &str)] = &[
    ("tls.min_version", "\"1.2\" or \"1.3\": no older protocol version is accepted"),
    ("tls.forward_secrecy", "\"all\" (or true): every accepted suite gives forward secrecy"),
    ("tls.post_quantum", "true: a post-quantum hybrid key exchange is accepted"),
    ("tls.aead_only", "true: only AEAD suites (GCM, CCM, ChaCha20-Poly1305)"),
    ("tls.mutual_tls", "true: the endpoint refuses clients without a certificate (mutual TLS)"),
    ("certificates.max_lifetime_days", "N: no leaf certificate lives longer than N days"),
    ("certificates.trusted", "true: chains are complete, valid, trusted and match the name"),
    ("certificates.ct_logged", "true: the leaf carries the SCTs Chrome's CT policy asks for, checked against the vendor file's [scan] ct_log_list (publicly trusted certificates)"),
    ("certificates.revocation_checked", "true: no certificate is revoked, by the CRLs its certificates name (the vendor file's [scan] revocation = true asks them)"),
    ("at_rest.algorithm", "\"AES-256\": data keys are AES-256 (KMS key spec)"),
    ("keys.rotation_days", "N: key material in use is never older than N days (+7 days' grace), from the rotation history"),
    ("keys.protection", "\"HSM\" or \"dedicated HSM\": key material lives in an HSM"),
    ("keys.max_decrypt_principals", "N: at most N principals can decrypt with each key"),
    ("keys.per_tenant", "true: no two tenants share a key"),
    ("keys.regions", "[\"eu-west-1\", ...]: key material stays in these regions/locations"),
    ("keys.no_public_access", "true: no public principal can use a key"),
    ("keys.separation_of_duties", "true: key administrators are not key users"),
    ("load.mean_ms", "N: under the [load] schedule, the mean latency per request is at most N ms (`vetcrypt load`)"),
    ("load.p99_ms", "N: under the [load] schedule, the p99 latency is at most N ms"),
    ("load.error_rate", "N: under the [load] schedule, at most N % of requests fail"),
    ("load.api_response_ms", "N: under the [load] schedule, the API answers (first byte, p99) within N ms"),
    ("load.aes256_cost_pct", "N: AES-256-GCM adds at most N % latency over AES-128-GCM at the endpoint"),
];

/// Checks every claim a plan states: an unknown claim or a value that does not fit it is an
/// error at its line.
pub fn check(claims: &[Claim]) -> Result<(), FileError> {
    for c in claims {
        if let Err(message) = policy_for(&c.name, &c.value) {
            let (path, line, column) = c.at.as_ref().map_or((String::new(), 0, 0), |a| {
                (a.path.clone(), a.line, a.column)
            });
            return Err(FileError {
                path,
                line,
                column,
                message,
            });
        }
    }
    Ok(())
}

/// The policy (TOML) that tests a claim, or why the value does not fit the claim.
pub fn policy_for(name: &str, value: &toml::Value) -> Result<String, String> {
    let known: Vec<&str> = CLAIMS.iter().map(|(n, _)| *n).collect();
    let want = CLAIMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
        .ok_or_else(|| {
            format!(
                "unknown claim `{name}`; vetcrypt knows: {} (or list it under [[attested]])",
                known.join(", ")
            )
        })?;
    let bad = || format!("claim `{name}` expects {want}");
    let yes = || match value {
        toml::Value::Boolean(true) => Ok(()),
        toml::Value::Boolean(false) => Err(format!(
            "claim `{name}` = false states nothing to check: a claim says what holds; leave it out"
        )),
        _ => Err(bad()),
    };
    let days = || match value {
        toml::Value::Integer(n) if (1..=36_500).contains(n) => Ok(*n),
        _ => Err(bad()),
    };
    let rules = match name {
        "tls.min_version" => match value.as_str() {
            Some(v @ ("1.2" | "1.3")) => {
                format!("[rules.\"tls.min_version\"]\nmin_version = \"{v}\"\n")
            }
            _ => return Err(bad()),
        },
        "tls.forward_secrecy" => match value {
            toml::Value::String(s) if s == "all" => "[rules.\"tls.forward_secrecy\"]\n".into(),
            toml::Value::Boolean(true) => "[rules.\"tls.forward_secrecy\"]\n".into(),
            _ => return Err(bad()),
        },
        "tls.post_quantum" => {
            yes()?;
            "[rules.\"tls.post_quantum\"]\n".into()
        }
        "tls.aead_only" => {
            yes()?;
            "[rules.\"tls.aead_only\"]\n".into()
        }
        "tls.mutual_tls" => {
            yes()?;
            "[rules.\"tls.mutual_tls\"]\n".into()
        }
        "certificates.max_lifetime_days" => format!(
            "[rules.\"cert.validity_too_long\"]\nmax_days = {}\n",
            days()?
        ),
        "certificates.ct_logged" => {
            yes()?;
            "[rules.\"cert.ct_compliant\"]\n".into()
        }
        "certificates.revocation_checked" => {
            yes()?;
            "[rules.\"cert.revoked\"]\n".into()
        }
        "certificates.trusted" => {
            yes()?;
            [
                "cert.untrusted_root",
                "cert.incomplete_chain",
                "cert.invalid_chain",
                "cert.hostname_mismatch",
                "cert.expired",
            ]
            .iter()
            .map(|r| format!("[rules.\"{r}\"]\n"))
            .collect()
        }
        "at_rest.algorithm" => match value.as_str() {
            Some(a) if a.eq_ignore_ascii_case("AES-256") || a.eq_ignore_ascii_case("AES256") => {
                "[rules.\"kms.aes256\"]\n".into()
            }
            _ => return Err(bad()),
        },
        "keys.rotation_days" => format!(
            "[rules.\"kms.key_material_age\"]\nmax_days = {}\ngrace_days = 7\n",
            days()?
        ),
        "keys.protection" => match value.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("hsm") => "[rules.\"kms.hsm_protection\"]\ndedicated = false\n".into(),
            Some("dedicated hsm") => "[rules.\"kms.hsm_protection\"]\ndedicated = true\n".into(),
            _ => return Err(bad()),
        },
        "keys.max_decrypt_principals" => match value {
            toml::Value::Integer(n) if (1..=10_000).contains(n) => {
                format!("[rules.\"kms.max_decrypt_principals\"]\nmax = {n}\n")
            }
            _ => return Err(bad()),
        },
        "keys.per_tenant" => {
            yes()?;
            "[rules.\"kms.tenant_keys_distinct\"]\n".into()
        }
        "keys.regions" => match value {
            toml::Value::Array(a) if !a.is_empty() && a.iter().all(|v| v.is_str()) => {
                format!("[rules.\"kms.allowed_regions\"]\nregions = {value}\n")
            }
            _ => return Err(bad()),
        },
        "keys.no_public_access" => {
            yes()?;
            "[rules.\"kms.no_public_access\"]\n".into()
        }
        "keys.separation_of_duties" => {
            yes()?;
            "[rules.\"kms.separation_of_duties\"]\n".into()
        }
        "load.mean_ms" | "load.p99_ms" | "load.api_response_ms" => {
            let n = match value {
                toml::Value::Integer(n) if (1..=3_600_000).contains(n) => *n,
                _ => return Err(bad()),
            };
            format!("[rules.\"{name}\"]\nmax_ms = {n}\n")
        }
        "load.error_rate" => match value {
            toml::Value::Integer(n) if (0..=100).contains(n) => {
                format!("[rules.\"load.error_rate\"]\nmax_pct = {n}\n")
            }
            _ => return Err(bad()),
        },
        "load.aes256_cost_pct" => match value {
            toml::Value::Integer(n) if (0..=1000).contains(n) => {
                format!("[rules.\"load.aes256_cost_pct\"]\nmax_extra_pct = {n}\n")
            }
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    Ok(format!(
        "name = \"claim {name}\"\nversion = \"claims\"\n{rules}"
    ))
}

fn stated(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The vendor file's `[load]` table as its `load.*` claims see it: they hold "under the
/// [load] schedule", so a load run of another URL, method or schedule (or a file with no
/// `[load]` table at all) cannot verify them. The caller compares (it reads plans).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSchedule {
    /// Whether the file has a `[load]` table.
    pub table: bool,
    /// Why the facts' load run is not of that schedule (empty: it is, or there is no run).
    pub mismatch: Vec<String>,
}

/// One verdict per claim and per attestation, in the file's order. `load` says whether the
/// facts' load run is of the vendor file's `[load]` schedule: the `load.*` claims are verified
/// only by a run of it.
pub fn verify(
    claims: &[Claim],
    attested: &[Attestation],
    facts: &FactSet,
    load: &LoadSchedule,
    today: Date,
) -> Vec<ClaimResult> {
    let mut out = Vec::new();
    for c in claims {
        let policy = policy_for(&c.name, &c.value).and_then(|src| {
            Policy::parse(&format!("claim {}", c.name), &src).map_err(|e| e.to_string())
        });
        let policy = match policy {
            Ok(p) => p,
            Err(e) => {
                // Plans are checked when read; this only guards callers that skip that.
                out.push(ClaimResult {
                    claim: c.name.clone(),
                    stated: stated(&c.value),
                    verdict: Verdict::NotObservable,
                    evidence: vec![e],
                    rules: Vec::new(),
                });
                continue;
            }
        };
        out.push(judge(c, &policy, facts, load));
    }
    for a in attested {
        let expired = a.expires < today;
        out.push(ClaimResult {
            claim: a.claim.clone(),
            stated: format!("attested by {}", a.evidence),
            verdict: if expired {
                Verdict::AttestationExpired
            } else {
                Verdict::Attested
            },
            evidence: vec![if expired {
                format!("expired on {} ({} days ago); ask the vendor for the current document", a.expires, (today - a.expires).whole_days())
            } else {
                format!("valid until {} ({} days left); not observable by a probe, taken from the document", a.expires, (a.expires - today).whole_days())
            }],
            rules: Vec::new(),
        });
    }
    out
}

fn judge(c: &Claim, policy: &Policy, facts: &FactSet, load: &LoadSchedule) -> ClaimResult {
    let rules: Vec<String> = policy.rules.iter().map(|r| r.def.id.to_string()).collect();
    let load_claim = !rules.is_empty() && rules.iter().all(|r| r.starts_with("load."));
    if let (true, Some(l)) = (load_claim, &facts.load) {
        let why = &load.mismatch;
        if !why.is_empty() || !load.table {
            let mut evidence = vec![format!(
                "the load facts ({} {}) are not of the vendor file's [load] schedule, so they cannot verify its claims:",
                l.method, l.url
            )];
            if load.table {
                evidence.extend(why.iter().cloned());
            } else {
                evidence.push("the vendor file has no [load] table naming the endpoint and schedule these claims are about".into());
            }
            evidence.push(if load.table {
                "run `vetcrypt load --plan FILE --format json=load.json` (the file's [load] table, no overrides), then `vetcrypt verify FILE --facts load.json`".into()
            } else {
                "add a [load] table (url, method, body_mix, requests, rate, connections) to the file, run `vetcrypt load --plan FILE --format json=load.json`, then `vetcrypt verify FILE --facts load.json`".into()
            });
            return ClaimResult {
                claim: c.name.clone(),
                stated: stated(&c.value),
                verdict: Verdict::NotObservable,
                evidence,
                rules,
            };
        }
    }
    let ev = policy::evaluate(policy, facts);
    let mut judged: Vec<(String, policy::Finding)> = Vec::new();
    for e in ev.endpoints {
        let who = e.facts.display();
        judged.extend(e.findings.into_iter().map(|f| (who.clone(), f)));
    }
    for k in ev.keys {
        let who = k.facts.display();
        judged.extend(k.findings.into_iter().map(|f| (who.clone(), f)));
    }
    if let Some(l) = &facts.load {
        let who = format!("{} {}", l.method, l.url);
        judged.extend(ev.load.into_iter().map(|f| (who.clone(), f)));
    }
    let line = |(who, f): &(String, policy::Finding)| {
        format!(
            "{who}: {} {}",
            f.rule_id,
            if f.evidence.is_empty() {
                f.status.label().to_string()
            } else {
                f.evidence.join("; ")
            }
        )
    };
    let with = |s: Status| judged.iter().filter(move |(_, f)| f.status == s);
    let (verdict, evidence): (Verdict, Vec<String>) = if with(Status::Fail).next().is_some() {
        (
            Verdict::Contradicted,
            with(Status::Fail).map(line).collect(),
        )
    } else if judged.is_empty()
        || judged
            .iter()
            .all(|(_, f)| f.status == Status::NotApplicable)
    {
        let kms_claim = rules.iter().all(|r| r.starts_with("kms."));
        let mut e = vec![if load_claim && !load.table {
            "no load measurement in these facts, and the file has no [load] table to make one: add one (url, method, body_mix, requests, rate, connections), run `vetcrypt load --plan FILE --format json=load.json`, then `vetcrypt verify FILE --facts load.json`".to_string()
        } else if load_claim {
            "no load measurement in these facts: run `vetcrypt load --plan FILE --format json=load.json` (the file's [load] table), then `vetcrypt verify FILE --facts load.json`".to_string()
        } else if kms_claim && !facts.kms_errors.is_empty() {
            "no key could be read to check it:".to_string()
        } else if kms_claim {
            "no KMS key this claim applies to was observed: add [[aws]]/[[gcp]] targets (or keys) for it".to_string()
        } else {
            "no endpoint in the plan this claim applies to: add [[endpoint]] targets".to_string()
        }];
        if kms_claim {
            e.extend(facts.kms_errors.iter().map(|k| {
                format!(
                    "{}: {} failed: {}",
                    k.scope, k.error.operation, k.error.message
                )
            }));
        }
        e.extend(judged.iter().map(line));
        (Verdict::NotObservable, e)
    } else if judged
        .iter()
        .any(|(_, f)| matches!(f.status, Status::NotObserved | Status::Error))
    {
        let mut e: Vec<String> = judged
            .iter()
            .filter(|(_, f)| matches!(f.status, Status::NotObserved | Status::Error))
            .map(line)
            .collect();
        e.insert(
            0,
            "not every subject could be observed, so the claim cannot be verified:".into(),
        );
        (Verdict::NotObservable, e)
    } else {
        (Verdict::Verified, with(Status::Pass).map(line).collect())
    };
    ClaimResult {
        claim: c.name.clone(),
        stated: stated(&c.value),
        verdict,
        evidence,
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_builds_a_valid_policy() {
        let samples: &[(&str, &str)] = &[
            ("tls.min_version", "\"1.3\""),
            ("tls.forward_secrecy", "\"all\""),
            ("tls.post_quantum", "true"),
            ("tls.aead_only", "true"),
            ("tls.mutual_tls", "true"),
            ("certificates.max_lifetime_days", "90"),
            ("certificates.trusted", "true"),
            ("certificates.revocation_checked", "true"),
            ("certificates.ct_logged", "true"),
            ("at_rest.algorithm", "\"AES-256\""),
            ("keys.rotation_days", "30"),
            ("keys.protection", "\"HSM\""),
            ("keys.max_decrypt_principals", "2"),
            ("keys.per_tenant", "true"),
            ("keys.regions", "[\"eu-west-1\", \"europe-west3\"]"),
            ("keys.no_public_access", "true"),
            ("keys.separation_of_duties", "true"),
            ("load.mean_ms", "2000"),
            ("load.p99_ms", "3000"),
            ("load.error_rate", "1"),
            ("load.api_response_ms", "1500"),
            ("load.aes256_cost_pct", "10"),
        ];
        assert_eq!(samples.len(), CLAIMS.len());
        for (name, v) in samples {
            let value: toml::Value =
                toml::from_str::<toml::Table>(&format!("v = {v}")).unwrap()["v"].clone();
            let src = policy_for(name, &value).unwrap_or_else(|e| panic!("{name}: {e}"));
            let p = Policy::parse(name, &src).unwrap_or_else(|e| panic!("{name}: {e}\n{src}"));
            assert!(!p.rules.is_empty(), "{name}");
        }
    }

    #[test]
    fn bad_claims_say_what_is_expected() {
        let v = |s: &str| toml::from_str::<toml::Table>(&format!("v = {s}")).unwrap()["v"].clone();
        assert!(policy_for("tls.quantum_safe", &v("true"))
            .unwrap_err()
            .contains("unknown claim `tls.quantum_safe`"));
        assert!(policy_for("tls.min_version", &v("\"1.1\""))
            .unwrap_err()
            .contains("expects"));
        assert!(policy_for("tls.post_quantum", &v("false"))
            .unwrap_err()
            .contains("leave it out"));
        assert!(policy_for("keys.rotation_days", &v("0")).is_err());
        assert!(policy_for("keys.regions", &v("[]")).is_err());
    }

    #[test]
    fn attestations_expire() {
        let today = time::macros::date!(2026 - 11 - 25);
        let a = |d| Attestation {
            claim: "ISO 27001".into(),
            evidence: "certificate IS 123456".into(),
            expires: d,
        };
        let facts = FactSet {
            schema_version: 1,
            tool_version: "t".into(),
            observed_at: time::OffsetDateTime::now_utc(),
            endpoints: vec![],
            keys: vec![],
            kms_errors: vec![],
            tenants: vec![],
            bench: None,
            load: None,
        };
        let r = verify(
            &[],
            &[
                a(time::macros::date!(2027 - 05 - 01)),
                a(time::macros::date!(2026 - 11 - 24)),
            ],
            &facts,
            &LoadSchedule::default(),
            today,
        );
        assert_eq!(r[0].verdict, Verdict::Attested);
        assert!(r[0].evidence[0].contains("157 days left"));
        assert_eq!(r[1].verdict, Verdict::AttestationExpired);
        assert!(r[1].verdict.fails());

        // A TLS claim with no endpoint in the plan is not observable, never verified.
        let c = Claim {
            name: "tls.min_version".into(),
            value: toml::Value::String("1.3".into()),
            at: None,
        };
        let r = verify(&[c], &[], &facts, &LoadSchedule::default(), today);
        assert_eq!(r[0].verdict, Verdict::NotObservable);
        assert!(r[0].evidence[0].contains("no endpoint"));
    }
}
