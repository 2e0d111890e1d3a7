//! Policy: facts + a policy file → findings. Pure: no I/O beyond reading the policy file, so
//! every rule is unit-testable and `check --facts` re-evaluates saved facts offline.

pub mod catalog;
mod finding;
mod rules;
pub mod waiver;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use catalog::{BenchCtx, Check, Ctx, KeyCtx, LoadCtx, ParamValue, Params, RuleDef};
pub use finding::{Finding, Outcome, Severity, Status};
pub use rules::weak_suite;

use crate::error::{read_input, FileError, UsageError};
use crate::facts::{EndpointFacts, FactSet, KeyFacts};

/// Policies shipped inside the binary, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../policies/default.toml")),
    (
        "post-quantum",
        include_str!("../../policies/post-quantum.toml"),
    ),
    ("kms-cis", include_str!("../../policies/kms-cis.toml")),
    (
        "key-custody",
        include_str!("../../policies/key-custody.toml"),
    ),
    ("bench", include_str!("../../policies/bench.toml")),
    ("load", include_str!("../../policies/load.toml")),
    (
        "mozilla-modern",
        include_str!("../../policies/mozilla-modern.toml"),
    ),
    (
        "mozilla-intermediate",
        include_str!("../../policies/mozilla-intermediate.toml"),
    ),
    (
        "mozilla-old",
        include_str!("../../policies/mozilla-old.toml"),
    ),
    (
        "nist-800-52r2",
        include_str!("../../policies/nist-800-52r2.toml"),
    ),
    ("pci-dss-4", include_str!("../../policies/pci-dss-4.toml")),
    (
        "bsi-tr-02102-2",
        include_str!("../../policies/bsi-tr-02102-2.toml"),
    ),
];

/// A rule as a policy applies it.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub def: &'static RuleDef,
    pub severity: Severity,
    pub params: Params,
    /// The policy's own citation for this rule (`reference = "PCI DSS 4.0 req. 4.2.1"`),
    /// reported instead of the rule's general one.
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub version: String,
    pub description: String,
    /// `builtin:NAME` or the file's path.
    pub source: String,
    /// SHA-256 of the policy text, so a report says exactly which policy judged it.
    pub sha256: String,
    pub rules: Vec<RuleConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    /// A built-in policy name or a policy file (relative to this one) whose rules this one
    /// starts from; its own `[rules]` tables then override parameters, severities, or turn
    /// rules off (`enabled = false`).
    extends: Option<Spanned<String>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

impl Policy {
    /// Loads a built-in policy by name, or a policy file by path. A spec is a file only when it
    /// looks like one (a path separator or a `.toml` extension: [`names_a_file`]); any other
    /// spec is a built-in name, so a file or folder called `default` in the working directory
    /// cannot stand in for the built-in `default`.
    pub fn load(spec: &str) -> anyhow::Result<Policy> {
        if !names_a_file(spec) {
            return match builtin(spec) {
                Some((name, src)) => Ok(Policy::parse(&format!("builtin:{name}"), src)?),
                None => Err(UsageError(format!(
                    "no policy named `{spec}`: built-in policies are {}; a policy file is given \
                     by a path with a `/` or a `.toml` name (e.g. ./{spec}.toml)",
                    builtin_names()
                ))
                .into()),
            };
        }
        let src = read_input(Path::new(spec), "policy file")?;
        Ok(Policy::parse(spec, &src)?)
    }

    /// Parses policy text; errors give file, line and what was expected.
    pub fn parse(origin: &str, src: &str) -> Result<Policy, FileError> {
        Policy::parse_at_depth(origin, src, 0)
    }

    fn parse_at_depth(origin: &str, src: &str, depth: usize) -> Result<Policy, FileError> {
        let raw: RawPolicy =
            toml::from_str(src).map_err(|e| FileError::from_toml(origin, src, &e))?;
        let at = |offset: usize, msg: String| FileError::at(origin, src, offset, msg);
        if raw.name.trim().is_empty() {
            return Err(at(0, "`name` must not be empty".into()));
        }
        let base = match &raw.extends {
            None => None,
            Some(e) => {
                if depth >= 8 {
                    return Err(at(
                        e.span().start,
                        "`extends` goes more than 8 policies deep (a cycle?)".into(),
                    ));
                }
                Some(load_base(origin, e.get_ref(), depth).map_err(|m| at(e.span().start, m))?)
            }
        };
        let mut configs: Vec<RuleConfig> = base.as_ref().map_or(Vec::new(), |b| b.rules.clone());
        for (id, table) in &raw.rules {
            let def = catalog::find(id.get_ref()).ok_or_else(|| {
                at(
                    id.span().start,
                    format!(
                        "unknown rule id `{}`{}",
                        id.get_ref(),
                        suggestion(id.get_ref())
                    ),
                )
            })?;
            // A rule the base policy applies starts from the base's settings.
            let inherited = configs.iter().position(|c| c.def.id == def.id);
            let (mut severity, mut params, mut reference) = match inherited {
                Some(i) => (
                    configs[i].severity,
                    configs[i].params.clone(),
                    configs[i].reference.clone(),
                ),
                None => (def.severity, def.default_params(), None),
            };
            let mut enabled = true;
            for (key, value) in table {
                let offset = value.span().start;
                match key.get_ref().as_str() {
                    "severity" => {
                        let s = value
                            .get_ref()
                            .as_str()
                            .ok_or_else(|| at(offset, "severity must be a string".into()))?;
                        severity = Severity::parse(s).ok_or_else(|| {
                            at(offset, format!("unknown severity `{s}` (expected info, low, medium, high or critical)"))
                        })?;
                    }
                    "reference" => {
                        reference = Some(
                            value
                                .get_ref()
                                .as_str()
                                .filter(|s| !s.trim().is_empty())
                                .ok_or_else(|| {
                                    at(offset, "reference must be a non-empty string".into())
                                })?
                                .to_string(),
                        );
                    }
                    "enabled" => {
                        enabled = value
                            .get_ref()
                            .as_bool()
                            .ok_or_else(|| at(offset, "enabled must be true or false".into()))?;
                    }
                    name => {
                        let p = def.params.iter().find(|p| p.name == name).ok_or_else(|| {
                            let known: Vec<&str> = def.params.iter().map(|p| p.name).collect();
                            at(
                                key.span().start,
                                format!(
                                    "rule `{}` has no parameter `{name}` (it takes: severity, enabled, reference{}{})",
                                    def.id,
                                    if known.is_empty() { "" } else { ", " },
                                    known.join(", ")
                                ),
                            )
                        })?;
                        let v = p
                            .kind
                            .parse(value.get_ref())
                            .map_err(|m| at(offset, format!("{}.{name}: {m}", def.id)))?;
                        if let Some(slot) = params.0.iter_mut().find(|(n, _)| *n == p.name) {
                            slot.1 = v;
                        }
                    }
                }
            }
            if let Some(i) = inherited {
                configs.remove(i);
            }
            if enabled {
                configs.push(RuleConfig {
                    def,
                    severity,
                    params,
                    reference,
                });
            }
        }
        // Report order is catalogue order, whatever the file's order.
        let order = |id: &str| {
            catalog::all()
                .iter()
                .position(|r| r.id == id)
                .unwrap_or(usize::MAX)
        };
        configs.sort_by_key(|c| order(c.def.id));
        Ok(Policy {
            name: raw.name,
            version: raw.version,
            description: raw.description,
            source: origin.to_string(),
            // The hash covers the base policy too: a change anywhere in the chain shows.
            sha256: aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                match &base {
                    None => src.to_string(),
                    Some(b) => format!("{src}\n# extends {} sha256 {}", b.source, b.sha256),
                }
                .as_bytes(),
            )
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
            rules: configs,
        })
    }
}

/// Whether a policy spec (`--policy`, `policy show`, `extends`) names a file rather than a
/// built-in policy: it has a path separator or a `.toml` extension. Nothing on disk is looked
/// at to decide.
pub fn names_a_file(spec: &str) -> bool {
    spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) || spec.ends_with(".toml")
}

fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN.iter().find(|(n, _)| *n == name).copied()
}

fn builtin_names() -> String {
    BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The policy an `extends` names, resolved as `--policy` is: a built-in name, or (with a path
/// separator or `.toml`) a file relative to the extending one.
fn load_base(origin: &str, spec: &str, depth: usize) -> Result<Policy, String> {
    if !names_a_file(spec) {
        let (name, src) = builtin(spec).ok_or_else(|| {
            format!(
                "extends `{spec}`: no built-in policy of that name ({}); a policy file is \
                 named by a path with a `/` or a `.toml` name",
                builtin_names()
            )
        })?;
        return Policy::parse_at_depth(&format!("builtin:{name}"), src, depth + 1)
            .map_err(|e| e.to_string());
    }
    let dir = Path::new(origin.strip_prefix("builtin:").unwrap_or(origin))
        .parent()
        .unwrap_or(Path::new("."));
    let path = dir.join(spec);
    let src = std::fs::read_to_string(&path)
        .map_err(|e| format!("extends `{spec}`: {} cannot be read: {e}", path.display()))?;
    Policy::parse_at_depth(&path.display().to_string(), &src, depth + 1)
        .map_err(|e| format!("in the policy `{spec}` this one extends: {e}"))
}

fn suggestion(id: &str) -> String {
    let closest = catalog::all()
        .iter()
        .map(|r| (edit_distance(id, r.id), r.id))
        .min()
        .filter(|(d, _)| *d <= 3);
    match closest {
        Some((_, near)) => {
            format!("; did you mean `{near}`? (`vetcrypt policy rules` lists them all)")
        }
        None => " (`vetcrypt policy rules` lists the known rules)".to_string(),
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The findings for one endpoint.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub facts: EndpointFacts,
    pub findings: Vec<Finding>,
}

/// The findings for one KMS key.
#[derive(Debug, Clone)]
pub struct KeyEvaluated {
    pub facts: KeyFacts,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub endpoints: Vec<Evaluated>,
    pub keys: Vec<KeyEvaluated>,
    /// Findings of `bench.*` rules, when the facts hold a benchmark.
    pub bench: Vec<Finding>,
    /// Findings of `load.*` rules, when the facts hold a load run.
    pub load: Vec<Finding>,
}

/// Applies `policy` to every endpoint and key of `facts`: endpoint rules to endpoints, key rules
/// to keys.
pub fn evaluate(policy: &Policy, facts: &FactSet) -> Evaluation {
    let endpoints = facts
        .endpoints
        .iter()
        .map(|ep| Evaluated {
            facts: ep.clone(),
            findings: policy
                .rules
                .iter()
                .filter_map(|r| match r.def.check {
                    Check::Endpoint(check) => Some(finding(
                        r,
                        match &ep.error {
                            Some(e) => probe_error(&e.message),
                            None => check(&Ctx {
                                facts: ep,
                                all: &facts.endpoints,
                                observed_at: facts.observed_at,
                                params: &r.params,
                            }),
                        },
                    )),
                    Check::Key(_) | Check::Bench(_) | Check::Load(_) => None,
                })
                .collect(),
        })
        .collect();
    let keys = facts
        .keys
        .iter()
        .map(|key| KeyEvaluated {
            facts: key.clone(),
            findings: policy
                .rules
                .iter()
                .filter_map(|r| match r.def.check {
                    Check::Key(check) => Some(finding(
                        r,
                        match &key.error {
                            Some(e) => probe_error(&format!("{}: {}", e.operation, e.message)),
                            None => check(&KeyCtx {
                                key,
                                all: facts,
                                observed_at: facts.observed_at,
                                params: &r.params,
                            }),
                        },
                    )),
                    Check::Endpoint(_) | Check::Bench(_) | Check::Load(_) => None,
                })
                .collect(),
        })
        .collect();
    let bench = match &facts.bench {
        None => Vec::new(),
        Some(b) => policy
            .rules
            .iter()
            .filter_map(|r| match r.def.check {
                Check::Bench(check) => Some(finding(
                    r,
                    check(&BenchCtx {
                        bench: b,
                        params: &r.params,
                    }),
                )),
                _ => None,
            })
            .collect(),
    };
    let load = match &facts.load {
        None => Vec::new(),
        Some(l) => policy
            .rules
            .iter()
            .filter_map(|r| match r.def.check {
                Check::Load(check) => Some(finding(
                    r,
                    check(&LoadCtx {
                        load: l,
                        params: &r.params,
                    }),
                )),
                _ => None,
            })
            .collect(),
    };
    Evaluation {
        endpoints,
        keys,
        bench,
        load,
    }
}

fn probe_error(message: &str) -> Outcome {
    Outcome {
        status: Status::Error,
        evidence: vec![format!("probe could not run: {message}")],
    }
}

fn finding(rule: &RuleConfig, outcome: Outcome) -> Finding {
    Finding {
        rule_id: rule.def.id.to_string(),
        title: rule.def.title.to_string(),
        severity: rule.severity,
        status: outcome.status,
        evidence: outcome.evidence,
        remediation: rule.def.remediation.to_string(),
        reference: rule
            .reference
            .clone()
            .unwrap_or_else(|| rule.def.reference.to_string()),
        waived: None,
    }
}

/// `policy show`: the policy with every rule's details.
pub fn describe(policy: &Policy) -> String {
    let mut s = format!(
        "policy {} (version {})\nsource: {}\nsha256: {}\n",
        policy.name, policy.version, policy.source, policy.sha256
    );
    if !policy.description.is_empty() {
        s.push_str(&format!("{}\n", policy.description.trim()));
    }
    s.push_str(&format!("\n{} rules:\n", policy.rules.len()));
    for r in &policy.rules {
        s.push_str(&format!(
            "\n{}  [{}]\n  {}\n",
            r.def.id,
            r.severity.label(),
            r.def.title
        ));
        s.push_str(&format!("  needs: {}\n", r.def.needs.join(", ")));
        for (name, value) in &r.params.0 {
            let help = r
                .def
                .params
                .iter()
                .find(|p| p.name == *name)
                .map_or("", |p| p.help);
            s.push_str(&format!("  {name} = {value}    # {help}\n"));
        }
        s.push_str(&format!("  remediation: {}\n", r.def.remediation));
        match &r.reference {
            Some(own) => s.push_str(&format!(
                "  reference: {own}\n  rule reference: {}\n",
                r.def.reference
            )),
            None => s.push_str(&format!("  reference: {}\n", r.def.reference)),
        }
    }
    s
}

/// `policy rules`: the catalogue.
pub fn describe_catalog() -> String {
    let mut s = String::new();
    for r in catalog::all() {
        s.push_str(&format!(
            "{:<24} {:<8} {}\n",
            r.id,
            r.severity.label(),
            r.title
        ));
        for p in r.params {
            s.push_str(&format!(
                "{:<24} {:<8}   {} = {}  ({})\n",
                "", "", p.name, p.default, p.help
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped policy parses, and every suite a pack allows is a real suite (IANA or
    /// OpenSSL name): a typo would silently fail compliant servers.
    #[test]
    fn shipped_packs_parse_and_name_real_suites() {
        let known: std::collections::HashSet<String> = crate::tls::suites::legacy_suites()
            .iter()
            .map(|s| crate::tls::suites::info(s.id.0).name)
            .chain(
                crate::tls::suites::tls13_suites()
                    .iter()
                    .map(|id| crate::tls::suites::info(*id).name),
            )
            .chain(
                crate::tls::openssl_names::OPENSSL_NAMES
                    .iter()
                    .map(|(_, n)| n.to_string()),
            )
            .map(|n| n.to_ascii_uppercase())
            .collect();
        for (name, _) in BUILTIN {
            let p = Policy::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            for r in &p.rules {
                for s in r.params.names("suites") {
                    assert!(
                        known.contains(&s.to_ascii_uppercase()),
                        "{name}: unknown suite {s}"
                    );
                }
            }
        }
        let modern = Policy::load("mozilla-modern").unwrap();
        let suites = modern
            .rules
            .iter()
            .find(|r| r.def.id == "tls.allowed_suites")
            .unwrap();
        assert_eq!(suites.params.names("suites").len(), 3);
        assert!(suites.reference.as_deref().unwrap().contains("Mozilla"));
        assert!(modern.rules.iter().all(|r| r.def.id != "tls.dh_min_bits"));
    }

    #[test]
    fn extends_inherits_and_overrides() {
        let child = Policy::parse(
            "child.toml",
            "name = \"strict\"\nversion = \"1\"\nextends = \"default\"\n[rules.\"tls.min_version\"]\nmin_version = \"1.3\"\n[rules.\"cert.expiring_soon\"]\nenabled = false\n[rules.\"kms.hsm_protection\"]\nseverity = \"high\"\n",
        )
        .unwrap();
        let base = Policy::load("default").unwrap();
        assert_eq!(
            child.rules.len(),
            base.rules.len(),
            "one rule off, one added"
        );
        let rule = |id: &str| child.rules.iter().find(|r| r.def.id == id);
        assert_eq!(
            rule("tls.min_version")
                .unwrap()
                .params
                .version("min_version"),
            crate::facts::ProtocolVersion::Tls13
        );
        assert!(rule("cert.expiring_soon").is_none());
        assert_eq!(rule("kms.hsm_protection").unwrap().severity, Severity::High);
        // Inherited untouched.
        assert_eq!(
            rule("kms.rotation_period")
                .unwrap()
                .params
                .count("max_days"),
            365
        );
        assert_ne!(child.sha256, base.sha256);

        let e = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\nextends = \"nope\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("p.toml:3") && e.contains("no built-in policy"),
            "{e}"
        );
    }

    #[test]
    fn default_policy_has_every_rule() {
        let p = Policy::load("default").unwrap();
        let off = [
            "tls.post_quantum",
            "tls.mutual_tls",
            "cert.ocsp_stapling",
            "cert.revocation_unknown",
            "tls.allowed_suites",
            "tls.allowed_groups",
            "kms.hsm_protection",
            "kms.allowed_regions",
            "kms.max_decrypt_principals",
        ];
        // Benchmark rules live in the `bench` policy, load rules in the `load` policy.
        let bench = catalog::all()
            .iter()
            .filter(|r| matches!(r.check, Check::Bench(_)))
            .count();
        assert_eq!(bench, Policy::load("bench").unwrap().rules.len());
        let load = catalog::all()
            .iter()
            .filter(|r| matches!(r.check, Check::Load(_)))
            .count();
        assert_eq!(load, Policy::load("load").unwrap().rules.len());
        let bench = bench + load;
        assert_eq!(
            p.rules.len(),
            catalog::all().len() - off.len() - bench,
            "every rule but {off:?} and the bench rules"
        );
        assert!(p.rules.iter().all(|r| !off.contains(&r.def.id)));
        let pq = Policy::load("post-quantum").unwrap();
        assert_eq!(pq.rules.len(), catalog::all().len() - off.len() - bench + 1);
        // tls.allowed_suites comes with the packs that list suites (Mozilla, NIST, BSI).
        let custody = Policy::load("key-custody").unwrap();
        assert_eq!(
            custody.rules.len(),
            catalog::all()
                .iter()
                .filter(|r| r.id.starts_with("kms."))
                .count()
        );
        assert_eq!(
            custody.rules[6].params.names("regions"),
            ["eu-*", "europe-*", "europe"]
        );
        assert_eq!(p.source, "builtin:default");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\n[rules.\"tls.min_verison\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(
            e.message.contains("unknown rule id `tls.min_verison`")
                && e.message.contains("tls.min_version"),
            "{e}"
        );

        let e = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\n[rules.\"tls.min_version\"]\nseverity = \"severe\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("unknown severity `severe`"), "{e}");

        let e = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\n[rules.\"tls.min_version\"]\nmin_version = \"1.7\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");

        let e = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\n[rules.\"cert.expiring_soon\"]\nday = 3\n",
        )
        .unwrap_err();
        assert!(
            e.message.contains("no parameter `day`") && e.message.contains("days"),
            "{e}"
        );

        let e = Policy::parse("p.toml", "name = \"x\"\n").unwrap_err();
        assert!(e.message.contains("version"), "{e}");
    }

    #[test]
    fn overrides_apply() {
        let p = Policy::parse(
            "p.toml",
            "name = \"x\"\nversion = \"1\"\n[rules.\"tls.min_version\"]\nmin_version = \"1.3\"\nseverity = \"critical\"\n[rules.\"tls.aead_only\"]\nenabled = false\n",
        )
        .unwrap();
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].severity, Severity::Critical);
        assert_eq!(
            p.rules[0].params.version("min_version"),
            crate::facts::ProtocolVersion::Tls13
        );
    }
}
