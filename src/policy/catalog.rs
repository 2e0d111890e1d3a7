//! The rule catalogue: every rule vetcrypt knows, with its stable id, title, default severity,
//! the facts it reads, its parameters, remediation, reference and logic.

use time::OffsetDateTime;

use super::finding::{Outcome, Severity};
use super::rules;
use crate::facts::{BenchFacts, EndpointFacts, FactSet, KeyFacts, LoadFacts, ProtocolVersion};

/// Kinds of rule parameter, each parsed and checked when a policy is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A protocol version: "1.2", "TLSv1.3"...
    Version,
    /// A whole number of days or bits, 0 or more.
    Count,
    /// A lifetime limit in days, or "cabf" for the CA/Browser Forum schedule.
    LifetimeLimit,
    /// A whole number, 0 or more, or "off" for no limit.
    CountOrOff,
    /// A list of names (regions, locations); `*` matches any run of characters.
    Names,
    Bool,
    /// A latency percentile a load run records: 50, 90, 99 or 100.
    Percentile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Version(ProtocolVersion),
    Count(i64),
    /// The CA/Browser Forum schedule of maximum certificate lifetimes.
    Cabf,
    /// No limit: the check the parameter sets is not made.
    Off,
    Names(Vec<String>),
    Bool(bool),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Version(v) => write!(f, "\"{v}\""),
            ParamValue::Count(n) => write!(f, "{n}"),
            ParamValue::Cabf => f.write_str("\"cabf\""),
            ParamValue::Off => f.write_str("\"off\""),
            ParamValue::Names(n) => {
                let quoted: Vec<String> = n.iter().map(|s| format!("\"{s}\"")).collect();
                write!(f, "[{}]", quoted.join(", "))
            }
            ParamValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl ParamKind {
    pub fn parse(self, v: &toml::Value) -> Result<ParamValue, String> {
        match (self, v) {
            (ParamKind::Version, toml::Value::String(s)) => ProtocolVersion::parse(s)
                .map(ParamValue::Version)
                .ok_or_else(|| format!("`{s}` is not a protocol version (expected \"1.0\", \"1.1\", \"1.2\", \"1.3\" or \"SSLv3\")")),
            (ParamKind::Count | ParamKind::LifetimeLimit | ParamKind::CountOrOff, toml::Value::Integer(n)) if *n >= 0 => Ok(ParamValue::Count(*n)),
            (ParamKind::LifetimeLimit, toml::Value::String(s)) if s == "cabf" => Ok(ParamValue::Cabf),
            (ParamKind::CountOrOff, toml::Value::String(s)) if s == "off" => Ok(ParamValue::Off),
            (ParamKind::Names, toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    _ => Err("expected a list of names such as [\"eu-west-1\", \"europe-*\"]".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(ParamValue::Names),
            (ParamKind::Bool, toml::Value::Boolean(b)) => Ok(ParamValue::Bool(*b)),
            (ParamKind::Percentile, toml::Value::Integer(n)) if [50, 90, 99, 100].contains(n) => Ok(ParamValue::Count(*n)),
            (ParamKind::Percentile, _) => Err("expected 50, 90, 99 or 100 (the percentiles a load run records; 100 is the slowest answer)".into()),
            (ParamKind::Names, _) => Err("expected a list of names such as [\"eu-west-1\", \"europe-*\"]".into()),
            (ParamKind::Bool, _) => Err("expected true or false".into()),
            (ParamKind::Version, _) => Err("expected a version string such as \"1.2\"".into()),
            (ParamKind::Count, _) => Err("expected a whole number, 0 or more".into()),
            (ParamKind::LifetimeLimit, _) => Err("expected a number of days or \"cabf\"".into()),
            (ParamKind::CountOrOff, _) => Err("expected a whole number, 0 or more, or \"off\"".into()),
        }
    }
}

#[derive(Debug)]
pub struct ParamDef {
    pub name: &'static str,
    pub kind: ParamKind,
    /// Default, written as in a policy file.
    pub default: &'static str,
    pub help: &'static str,
}

impl ParamDef {
    pub fn default_value(&self) -> ParamValue {
        let v: toml::Value = toml::from_str::<toml::Table>(&format!("v = {}", self.default))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::Integer(0));
        self.kind.parse(&v).unwrap_or(ParamValue::Count(0))
    }
}

/// A rule's parameters, resolved (policy values over defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(&'static str, ParamValue)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    pub fn version(&self, name: &str) -> ProtocolVersion {
        match self.get(name) {
            Some(ParamValue::Version(v)) => *v,
            _ => ProtocolVersion::Tls12,
        }
    }
    pub fn count(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(ParamValue::Count(n)) => *n,
            _ => 0,
        }
    }
    pub fn names(&self, name: &str) -> &[String] {
        match self.get(name) {
            Some(ParamValue::Names(n)) => n,
            _ => &[],
        }
    }
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some(ParamValue::Bool(true)))
    }
}

/// What a rule's logic sees: one endpoint's facts, when they were observed, its parameters.
pub struct Ctx<'a> {
    pub facts: &'a EndpointFacts,
    /// Every endpoint of the run (for rules comparing the addresses of one name).
    pub all: &'a [EndpointFacts],
    pub observed_at: OffsetDateTime,
    pub params: &'a Params,
}

/// What a KMS rule's logic sees: one key, every fact of the run (for cross-key rules such as
/// per-tenant keys), when they were observed, its parameters.
pub struct KeyCtx<'a> {
    pub key: &'a KeyFacts,
    pub all: &'a FactSet,
    pub observed_at: OffsetDateTime,
    pub params: &'a Params,
}

/// What a benchmark rule's logic sees: the run's measurements and its parameters.
pub struct BenchCtx<'a> {
    pub bench: &'a BenchFacts,
    pub params: &'a Params,
}

/// What a load rule's logic sees: a load run's measurements and its parameters.
pub struct LoadCtx<'a> {
    pub load: &'a LoadFacts,
    pub params: &'a Params,
}

/// A rule's logic, by the kind of subject it judges.
#[derive(Clone, Copy)]
pub enum Check {
    Endpoint(fn(&Ctx<'_>) -> Outcome),
    Key(fn(&KeyCtx<'_>) -> Outcome),
    Bench(fn(&BenchCtx<'_>) -> Outcome),
    Load(fn(&LoadCtx<'_>) -> Outcome),
}

#[derive(Clone, Copy)]
pub struct RuleDef {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The facts the rule reads: paths in the facts JSON (schemas/facts.schema.json), from one
    /// endpoint (`endpoints[]`) for endpoint rules and from the document's root for key and
    /// benchmark rules; `name[]` is every item of an array, `name[0]` its first.
    pub needs: &'static [&'static str],
    pub remediation: &'static str,
    pub reference: &'static str,
    pub params: &'static [ParamDef],
    pub check: Check,
}

impl std::fmt::Debug for RuleDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl RuleDef {
    pub fn default_params(&self) -> Params {
        Params(
            self.params
                .iter()
                .map(|p| (p.name, p.default_value()))
                .collect(),
        )
    }
}

/// Every rule, in report order.
pub fn all() -> &'static [RuleDef] {
    rules::CATALOG
}

pub fn find(id: &str) -> Option<&'static RuleDef> {
    all().iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_defaults_parse() {
        let mut ids: Vec<_> = all().iter().map(|r| r.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule id");
        for r in all() {
            assert!(
                r.id.contains('.') && !r.remediation.is_empty() && !r.reference.is_empty(),
                "{}",
                r.id
            );
            for p in r.params {
                let v: toml::Value = toml::from_str::<toml::Table>(&format!("v = {}", p.default))
                    .unwrap()["v"]
                    .clone();
                p.kind
                    .parse(&v)
                    .unwrap_or_else(|e| panic!("{}.{}: {e}", r.id, p.name));
            }
        }
    }
}

/// Every rule's `needs` names a property the facts schema has.
#[cfg(test)]
mod needs_tests {
    use serde_json::Value;

    use super::{all, Check};

    const FACTS_SCHEMA: &str = include_str!("../../schemas/facts.schema.json");

    fn schema() -> Value {
        serde_json::from_str(FACTS_SCHEMA).expect("schemas/facts.schema.json parses")
    }

    /// Where a rule's paths start: an endpoint rule reads one endpoint, the others the document.
    fn root(check: Check) -> &'static str {
        match check {
            Check::Endpoint(_) => "endpoints[].",
            Check::Key(_) | Check::Bench(_) | Check::Load(_) => "",
        }
    }

    /// What `node` can be: its `$ref` followed, each alternative of an `anyOf`/`oneOf` (an
    /// Option is the type or null).
    fn shapes<'a>(schema: &'a Value, node: &'a Value) -> Vec<&'a Value> {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/$defs/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            return shapes(schema, &schema["$defs"][name]);
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let Some(alternatives) = node.get(combinator).and_then(Value::as_array) {
                return alternatives
                    .iter()
                    .flat_map(|a| shapes(schema, a))
                    .collect();
            }
        }
        vec![node]
    }

    /// Where one segment of a path leads from `node`: `name` is a property; `name[]` and
    /// `name[0]` an item of an array property.
    fn step<'a>(schema: &'a Value, node: &'a Value, segment: &str) -> Vec<&'a Value> {
        let (name, item) = match segment.split_once('[') {
            Some((name, index)) => {
                let index = index.strip_suffix(']').expect("`[` closes with `]`");
                assert!(
                    index.is_empty() || index.parse::<usize>().is_ok(),
                    "{segment}"
                );
                (name, true)
            }
            None => (segment, false),
        };
        let properties = shapes(schema, node)
            .into_iter()
            .filter_map(|s| s.get("properties")?.get(name));
        if !item {
            return properties.collect();
        }
        properties
            .flat_map(|p| shapes(schema, p))
            .filter_map(|s| s.get("items"))
            .collect()
    }

    fn resolves(schema: &Value, path: &str) -> bool {
        let mut nodes = vec![schema];
        for segment in path.split('.') {
            nodes = nodes
                .into_iter()
                .flat_map(|n| step(schema, n, segment))
                .collect();
        }
        !nodes.is_empty()
    }

    #[test]
    fn the_path_resolver_refuses_what_the_schema_lacks() {
        let schema = schema();
        for good in [
            "endpoints[].tls.suites[].server_order",
            "endpoints[].certificates.certificates[0].key",
            "keys[].key.rotation.period_days",
            "bench.workload.suites",
            "load.runs[].latency_ms.mean",
        ] {
            assert!(resolves(&schema, good), "{good}");
        }
        for bad in [
            "endpoints[].tls.protocol",
            "endpoints[].tls.suites.server_order",
            "endpoints[].tls.groups[]",
            "keys[].rotation",
            "tls.protocols",
        ] {
            assert!(!resolves(&schema, bad), "{bad}");
        }
    }

    #[test]
    fn every_needs_path_is_in_the_facts_schema() {
        let schema = schema();
        let missing: Vec<String> = all()
            .iter()
            .flat_map(|r| r.needs.iter().map(move |n| (r, n)))
            .filter(|(r, n)| !resolves(&schema, &format!("{}{n}", root(r.check))))
            .map(|(r, n)| format!("{}: {n}", r.id))
            .collect();
        assert!(
            missing.is_empty(),
            "needs paths missing from schemas/facts.schema.json: {missing:#?}"
        );
    }
}
