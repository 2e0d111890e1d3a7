//! Plans: what to look at. Built from command-line targets, a targets file, or a plan file
//! under `probes/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

pub use crate::subject::{Target, DEFAULT_PORT};

use crate::error::{read_input, FileError};
use crate::subject::{
    Attestation, AwsTarget, Claim, GcpTarget, KmsPlan, Origin, SourceLine, Tenant, TrustKind,
};

/// Scan settings a plan may carry; command-line options win over them.
#[derive(Debug, Default, Clone)]
pub struct ScanSettings {
    pub timeout: Option<Duration>,
    pub concurrency: Option<usize>,
    pub trust: Option<TrustKind>,
    /// CA files, resolved relative to the plan file.
    pub ca_files: Vec<PathBuf>,
    /// Fetch unknown issuers from their AIA caIssuers URLs.
    pub fetch_issuers: Option<bool>,
    /// `revocation = true`: ask the CRLs.
    pub revocation: Option<bool>,
    /// `ct_log_list = "FILE"`, resolved relative to the plan file.
    pub ct_log_list: Option<PathBuf>,
    /// At most this many addresses probed per name.
    pub max_addresses: Option<usize>,
    /// The proxy to go through (no credentials: those come from the environment or
    /// `--proxy`).
    pub proxy: Option<crate::subject::Proxy>,
}

#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub endpoints: Vec<Target>,
    pub settings: ScanSettings,
    /// KMS accounts, projects and tenants to look at.
    pub kms: KmsPlan,
    /// A vendor file's name for the vendor.
    pub vendor: Option<String>,
    /// The vendor's claims (`[claims]`), checked by `vetcrypt verify`.
    pub claims: Vec<Claim>,
    /// Document-based claims (`[[attested]]`).
    pub attested: Vec<Attestation>,
    /// What `vetcrypt load --plan FILE` runs (`[load]`).
    pub load: Option<LoadPlan>,
}

/// A plan's `[load]` table: the load test `vetcrypt load --plan FILE` runs against a vendor's
/// HTTPS endpoint. Checked when read (errors at their line); a plan is committed and shared,
/// so credentials (URL userinfo, an `Authorization` header) are refused in it: they go on the
/// command line (`--header`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadPlan {
    pub url: Option<String>,
    pub method: Option<String>,
    /// `1KiB:9,200KiB:1`, checked by the command (with its line in `body_mix_at`).
    pub body_mix: Option<String>,
    pub body_mix_at: Option<SourceLine>,
    /// `Name: value` lines.
    pub headers: Vec<String>,
    pub requests: Option<usize>,
    pub rate: Option<f64>,
    pub connections: Option<usize>,
    pub rounds: Option<usize>,
    pub max_errors: Option<usize>,
    pub timeout: Option<Duration>,
    /// Where the table is.
    pub at: Option<SourceLine>,
    /// Where `requests`, `rate` and `connections` are written, for the messages about the
    /// values the command checks (caps).
    pub requests_at: Option<SourceLine>,
    pub rate_at: Option<SourceLine>,
    pub connections_at: Option<SourceLine>,
}

/// Whether a URL query parameter's name says its value is a credential (`api_key`, `token`,
/// `sig`...): such a query is refused in plans, as URL userinfo is.
pub fn is_credential_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('_', "-");
    is_credential_header(&n)
        || [
            "sig",
            "signature",
            "x-amz-signature",
            "x-goog-signature",
            "code",
            "access-token",
        ]
        .contains(&n.as_str())
}

/// Header names whose values are credentials: refused in plans (and never recorded anywhere).
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key" | "api-key"
    ) || [
        "token", "secret", "password", "passwd", "auth", "session", "apikey", "api-key", "key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Checks a `Name: value` header line: a token name and a value without line breaks. The
/// message never repeats the value (it may be a credential).
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    let (name, value) = line
        .split_once(':')
        .ok_or("a header is written NAME: VALUE")?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err("a header name is letters, digits and - (NAME: VALUE)".into());
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!("header `{name}`: its value holds a line break"));
    }
    for own in ["host", "content-length", "transfer-encoding", "connection"] {
        if name.eq_ignore_ascii_case(own) {
            return Err(format!("header `{name}`: vetcrypt writes it itself"));
        }
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// A rate of requests per second: `50`, `50/s`, `3000/m`.
pub fn parse_load_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, per) = match t.split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                _ => return Err(format!("`{t}`: the unit after / is s or m (e.g. 50/s)")),
            },
        ),
        None => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r / per >= 0.001 => Ok(r / per),
        _ => Err(format!("`{t}` is not a rate: write e.g. 50/s")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    scan: Option<RawScan>,
    #[serde(default)]
    endpoint: Vec<RawEndpoint>,
    #[serde(default)]
    aws: Vec<Spanned<RawAws>>,
    #[serde(default)]
    gcp: Vec<Spanned<RawGcp>>,
    #[serde(default)]
    tenant: Vec<RawTenant>,
    vendor: Option<String>,
    #[serde(default)]
    claims: toml::Table,
    #[serde(default)]
    attested: Vec<RawAttested>,
    load: Option<Spanned<RawLoad>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    url: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    body_mix: Option<Spanned<String>>,
    #[serde(default)]
    headers: Vec<Spanned<String>>,
    requests: Option<Spanned<i64>>,
    rate: Option<Spanned<toml::Value>>,
    connections: Option<Spanned<i64>>,
    rounds: Option<Spanned<i64>>,
    max_errors: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttested {
    claim: Spanned<String>,
    evidence: String,
    expires: Spanned<toml::value::Datetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAws {
    profile: Option<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    all_regions: bool,
    #[serde(default)]
    keys: Vec<Spanned<String>>,
    endpoint_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGcp {
    project: Spanned<String>,
    #[serde(default)]
    locations: Vec<String>,
    #[serde(default)]
    keys: Vec<Spanned<String>>,
    endpoint_url: Option<String>,
    #[serde(default)]
    anonymous: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: Spanned<String>,
    keys: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    timeout: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    trust: Option<TrustKind>,
    #[serde(default)]
    ca_files: Vec<String>,
    fetch_issuers: Option<bool>,
    revocation: Option<bool>,
    ct_log_list: Option<String>,
    max_addresses: Option<Spanned<i64>>,
    proxy: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    target: Spanned<String>,
    name: Option<String>,
    sni: Option<Spanned<Names>>,
    #[serde(default)]
    addresses: Option<Spanned<Vec<String>>>,
    /// Also probe without SNI.
    #[serde(default)]
    without_sni: bool,
    /// STARTTLS in this protocol before every handshake (`smtp`, `imap`, …).
    starttls: Option<Spanned<String>>,
    /// XMPP: the stream's `to` domain when it is not the host.
    xmpp_host: Option<Spanned<String>>,
    /// A client certificate and its key (PEM files, relative to the plan).
    client_cert: Option<Spanned<String>>,
    client_key: Option<Spanned<String>>,
}

/// A plan's `sni`: one server name, or several (each probed as a target of its own).
#[derive(Deserialize)]
#[serde(untagged)]
enum Names {
    One(String),
    Many(Vec<String>),
}

/// Reads a plan file (TOML). Errors name the file, line and what was expected.
pub fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    let src = read_input(path, "plan file")?;
    Ok(parse_plan(path, &src)?)
}

pub fn parse_plan(path: &Path, src: &str) -> Result<Plan, FileError> {
    let raw: RawPlan = toml::from_str(src).map_err(|e| FileError::from_toml(path, src, &e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut settings = ScanSettings::default();
    if let Some(scan) = raw.scan {
        if let Some(t) = scan.timeout {
            let d = parse_duration(t.get_ref())
                .map_err(|m| FileError::at(path, src, t.span().start, m))?;
            settings.timeout = Some(d);
        }
        if let Some(c) = scan.concurrency {
            if !(1..=4096).contains(c.get_ref()) {
                return Err(FileError::at(
                    path,
                    src,
                    c.span().start,
                    "concurrency must be between 1 and 4096",
                ));
            }
            settings.concurrency = Some(*c.get_ref() as usize);
        }
        if let Some(m) = scan.max_addresses {
            if !(1..=MAX_ADDRESSES_LIMIT as i64).contains(m.get_ref()) {
                return Err(FileError::at(
                    path,
                    src,
                    m.span().start,
                    format!("max_addresses must be between 1 and {MAX_ADDRESSES_LIMIT}"),
                ));
            }
            settings.max_addresses = Some(*m.get_ref() as usize);
        }
        if let Some(p) = scan.proxy {
            let proxy = crate::subject::Proxy::parse(p.get_ref())
                .map_err(|m| FileError::at(path, src, p.span().start, format!("proxy: {m}")))?;
            if proxy.has_credentials() {
                return Err(FileError::at(
                    path,
                    src,
                    p.span().start,
                    "proxy: a plan is committed and shared: keep the proxy's credentials out of it, in HTTPS_PROXY or --proxy",
                ));
            }
            settings.proxy = Some(proxy);
        }
        settings.trust = scan.trust;
        settings.fetch_issuers = scan.fetch_issuers;
        settings.revocation = scan.revocation;
        settings.ct_log_list = scan.ct_log_list.as_ref().map(|f| base.join(f));
        settings.ca_files = scan.ca_files.iter().map(|f| base.join(f)).collect();
    }
    let mut endpoints = Vec::with_capacity(raw.endpoint.len());
    for ep in raw.endpoint {
        let names: Vec<Option<&str>> = match ep.sni.as_ref().map(Spanned::get_ref) {
            None => vec![None],
            Some(Names::One(n)) => vec![Some(n.as_str())],
            Some(Names::Many(list)) if list.is_empty() => {
                let at = ep.sni.as_ref().map_or(0, |s| s.span().start);
                return Err(FileError::at(
                    path,
                    src,
                    at,
                    "`sni` is an empty list: name at least one server name, or leave it out",
                ));
            }
            Some(Names::Many(list)) => list.iter().map(|n| Some(n.as_str())).collect(),
        };
        let several = names.len() > 1 || ep.without_sni;
        let mut first: Option<Target> = None;
        for sni in names {
            let mut target = Target::parse(ep.target.get_ref(), sni).map_err(|m| {
                let at = match (&ep.sni, m.starts_with("--sni")) {
                    (Some(s), true) => s.span().start,
                    _ => ep.target.span().start,
                };
                FileError::at(path, src, at, m.replace("--sni", "sni"))
            })?;
            if let Some(a) = &ep.addresses {
                target.addresses = parse_addresses(&target, a.get_ref())
                    .map_err(|m| FileError::at(path, src, a.span().start, m))?;
            }
            if let Some(p) = &ep.starttls {
                let protocol =
                    crate::subject::Protocol::parse_starttls(p.get_ref()).map_err(|m| {
                        FileError::at(path, src, p.span().start, format!("starttls: {m}"))
                    })?;
                target = target
                    .with_starttls(protocol)
                    .map_err(|m| FileError::at(path, src, p.span().start, m))?;
            }
            if let Some(x) = &ep.xmpp_host {
                target = target.with_xmpp_host(x.get_ref()).map_err(|m| {
                    FileError::at(path, src, x.span().start, format!("xmpp_host: {m}"))
                })?;
            }
            match (&ep.client_cert, &ep.client_key) {
                (Some(c), Some(k)) => {
                    target.client_cert = Some(crate::subject::ClientCertFiles {
                        cert: base.join(c.get_ref()),
                        key: base.join(k.get_ref()),
                    })
                }
                (Some(one), None) | (None, Some(one)) => {
                    return Err(FileError::at(
                        path,
                        src,
                        one.span().start,
                        "client_cert and client_key go together: name both files",
                    ))
                }
                (None, None) => {}
            }
            target.name = ep.name.clone();
            target.several_names = several;
            target.source = Some(source_line(path, src, ep.target.span().start));
            first.get_or_insert_with(|| target.clone());
            endpoints.push(target);
        }
        if let (true, Some(t)) = (ep.without_sni, first) {
            endpoints.push(t.without_sni());
        }
    }
    let mut kms = KmsPlan::default();
    for a in raw.aws {
        let origin = origin(path, src, a.span().start, &a.get_ref().keys);
        let a = a.into_inner();
        kms.aws.push(AwsTarget {
            profile: a.profile,
            regions: a.regions,
            all_regions: a.all_regions,
            keys: a.keys.into_iter().map(Spanned::into_inner).collect(),
            endpoint_url: a.endpoint_url,
            origin,
        });
    }
    for g in raw.gcp {
        let origin = origin(path, src, g.span().start, &g.get_ref().keys);
        let g = g.into_inner();
        let project = g.project.get_ref().trim().to_string();
        if project.is_empty() {
            return Err(FileError::at(
                path,
                src,
                g.project.span().start,
                "`project` must name a Google Cloud project id",
            ));
        }
        if let Some(bad) = g.keys.iter().find(|k| {
            !k.get_ref().starts_with("projects/") || !k.get_ref().contains("/cryptoKeys/")
        }) {
            return Err(FileError::at(path, src, bad.span().start, format!("gcp key `{}` is not a resource name (projects/P/locations/L/keyRings/R/cryptoKeys/K)", bad.get_ref())));
        }
        kms.gcp.push(GcpTarget {
            project,
            locations: g.locations,
            keys: g.keys.into_iter().map(Spanned::into_inner).collect(),
            endpoint_url: g.endpoint_url,
            anonymous: g.anonymous,
            origin,
        });
    }
    for t in raw.tenant {
        let name = t.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(FileError::at(
                path,
                src,
                t.name.span().start,
                "a tenant needs a `name`",
            ));
        }
        if kms.tenants.iter().any(|x| x.name == name) {
            return Err(FileError::at(
                path,
                src,
                t.name.span().start,
                format!("tenant `{name}` is named twice"),
            ));
        }
        if t.keys.get_ref().is_empty() {
            return Err(FileError::at(
                path,
                src,
                t.keys.span().start,
                format!("tenant `{name}` names no key"),
            ));
        }
        kms.tenants.push(Tenant {
            name,
            keys: t.keys.into_inner(),
        });
    }
    // Claims: `tls.min_version = "1.3"` under [claims] is a dotted key (nested tables) and
    // `"tls.min_version" = "1.3"` a quoted one; both name the same claim.
    let mut claims = Vec::new();
    flatten_claims("", &raw.claims, &mut claims);
    for c in &mut claims {
        c.at = Some(source_line(path, src, claim_offset(src, &c.name)));
    }
    let mut attested = Vec::new();
    for a in raw.attested {
        let d = a.expires.get_ref();
        let date = d
            .date
            .and_then(|d| {
                time::Month::try_from(d.month)
                    .ok()
                    .and_then(|m| time::Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
            })
            .ok_or_else(|| {
                FileError::at(
                    path,
                    src,
                    a.expires.span().start,
                    "`expires` must be a date such as 2027-05-01",
                )
            })?;
        if a.claim.get_ref().trim().is_empty() {
            return Err(FileError::at(
                path,
                src,
                a.claim.span().start,
                "an [[attested]] entry needs a `claim`",
            ));
        }
        attested.push(Attestation {
            claim: a.claim.into_inner(),
            evidence: a.evidence,
            expires: date,
        });
    }
    let load = raw.load.map(|l| parse_load(path, src, l)).transpose()?;
    if endpoints.is_empty()
        && kms.is_empty()
        && claims.is_empty()
        && attested.is_empty()
        && load.is_none()
    {
        return Err(FileError::at(
            path,
            src,
            0,
            "the plan names nothing to look at: add an [[endpoint]] with a `target`, an [[aws]] or a [[gcp]] table",
        ));
    }
    Ok(Plan {
        endpoints,
        settings,
        kms,
        vendor: raw.vendor,
        claims,
        attested,
        load,
    })
}

/// Most requests, rate and connections a plan's `[load]` may name at all (the command's caps,
/// lower, still apply unless `--raise-caps` is given).
pub const LOAD_LIMITS: (i64, f64, i64) = (1_000_000, 10_000.0, 1024);

fn parse_load(path: &Path, src: &str, table: Spanned<RawLoad>) -> Result<LoadPlan, FileError> {
    let at = |offset: usize, m: String| FileError::at(path, src, offset, format!("[load] {m}"));
    let start = table.span().start;
    let l = table.into_inner();
    let mut plan = LoadPlan {
        at: Some(source_line(path, src, start)),
        ..LoadPlan::default()
    };
    if let Some(u) = l.url {
        let parsed = url::Url::parse(u.get_ref().trim())
            .map_err(|e| at(u.span().start, format!("url: not a URL ({e})")))?;
        if parsed.scheme() != "https" || parsed.host_str().is_none() {
            return Err(at(
                u.span().start,
                "url: an https:// URL with a host".into(),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(at(u.span().start, "url: a plan is committed and shared: keep credentials out of it (give them with --header on the command line)".into()));
        }
        if let Some((name, _)) = parsed
            .query_pairs()
            .find(|(name, _)| is_credential_param(name))
        {
            return Err(at(u.span().start, format!("url: the query parameter `{name}` carries a credential, and a plan is committed and shared: keep it out of the plan (give the URL with its query on the command line, or the credential with --header)")));
        }
        plan.url = Some(u.into_inner().trim().to_string());
    }
    if let Some(m) = l.method {
        let v = m.get_ref().trim().to_ascii_uppercase();
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(at(
                m.span().start,
                "method: a word such as GET or POST".into(),
            ));
        }
        plan.method = Some(v);
    }
    if let Some(b) = l.body_mix {
        plan.body_mix_at = Some(source_line(path, src, b.span().start));
        plan.body_mix = Some(b.into_inner());
    }
    for h in l.headers {
        let (name, _) =
            parse_header(h.get_ref()).map_err(|m| at(h.span().start, format!("headers: {m}")))?;
        if is_credential_header(&name) {
            return Err(at(h.span().start, format!("headers: `{name}` carries a credential, and a plan is committed and shared: give it with --header on the command line")));
        }
        plan.headers.push(h.into_inner());
    }
    let count = |v: Option<Spanned<i64>>,
                 name: &str,
                 lo: i64,
                 hi: i64|
     -> Result<Option<usize>, FileError> {
        match v {
            None => Ok(None),
            Some(n) if (lo..=hi).contains(n.get_ref()) => Ok(Some(*n.get_ref() as usize)),
            Some(n) => Err(at(
                n.span().start,
                format!("{name} must be between {lo} and {hi}"),
            )),
        }
    };
    let (max_requests, max_rate, max_connections) = LOAD_LIMITS;
    plan.requests_at = l
        .requests
        .as_ref()
        .map(|v| source_line(path, src, v.span().start));
    plan.connections_at = l
        .connections
        .as_ref()
        .map(|v| source_line(path, src, v.span().start));
    plan.rate_at = l
        .rate
        .as_ref()
        .map(|v| source_line(path, src, v.span().start));
    plan.requests = count(l.requests, "requests", 1, max_requests)?;
    plan.connections = count(l.connections, "connections", 1, max_connections)?;
    plan.rounds = count(l.rounds, "rounds", 1, 100)?;
    plan.max_errors = count(l.max_errors, "max_errors", 0, max_requests)?;
    if let Some(r) = l.rate {
        let rate = match r.get_ref() {
            toml::Value::Integer(n) => parse_load_rate(&n.to_string()),
            toml::Value::Float(f) => parse_load_rate(&f.to_string()),
            toml::Value::String(s) => parse_load_rate(s),
            _ => Err("write a rate such as \"50/s\"".into()),
        }
        .map_err(|m| at(r.span().start, format!("rate: {m}")))?;
        if rate > max_rate {
            return Err(at(r.span().start, format!("rate: at most {max_rate}/s")));
        }
        plan.rate = Some(rate);
    }
    if let Some(t) = l.timeout {
        plan.timeout = Some(
            parse_duration(t.get_ref()).map_err(|m| at(t.span().start, format!("timeout: {m}")))?,
        );
    }
    Ok(plan)
}

/// The file, line and column of byte `offset` of `src`.
fn source_line(path: &Path, src: &str, offset: usize) -> SourceLine {
    let at = FileError::at(path, src, offset, "");
    SourceLine {
        path: at.path,
        line: at.line,
        column: at.column,
    }
}

/// Where a `[[aws]]` or `[[gcp]]` table starting at `table` asks for its keys.
fn origin(path: &Path, src: &str, table: usize, keys: &[Spanned<String>]) -> Origin {
    Origin {
        table: Some(source_line(path, src, table)),
        entries: keys
            .iter()
            .map(|k| (k.get_ref().clone(), source_line(path, src, k.span().start)))
            .collect(),
    }
}

fn flatten_claims(prefix: &str, t: &toml::Table, out: &mut Vec<Claim>) {
    for (k, v) in t {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten_claims(&name, inner, out),
            _ => out.push(Claim {
                name,
                value: v.clone(),
                at: None,
            }),
        }
    }
}

/// Where a claim is written (for the error's line): its quoted or dotted name after [claims].
fn claim_offset(src: &str, name: &str) -> usize {
    let start = src.find("[claims]").unwrap_or(0);
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let rest = &src[start..];
    rest.find(name)
        .or_else(|| rest.find(leaf))
        .map_or(start, |i| start + i)
}

/// Reads a targets file: one target per line, `#` starts a comment.
pub fn load_targets_file(path: &Path, sni: Option<&str>) -> anyhow::Result<Vec<Target>> {
    let src = read_input(path, "targets file")?;
    Ok(parse_targets(path, &src, sni)?)
}

pub fn parse_targets(path: &Path, src: &str, sni: Option<&str>) -> Result<Vec<Target>, FileError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        let trimmed = content.trim();
        if !trimmed.is_empty() {
            let col = content.find(trimmed).unwrap_or(0);
            let mut target = Target::parse(trimmed, sni)
                .map_err(|m| FileError::at(path, src, offset + col, m))?;
            target.source = Some(source_line(path, src, offset + col));
            out.push(target);
        }
        offset += line.len();
    }
    if out.is_empty() {
        return Err(FileError::at(
            path,
            src,
            0,
            "the targets file names no target",
        ));
    }
    Ok(out)
}

/// Parses `5s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = if let Ok(secs) = s.parse::<f64>() {
        // try_: `1e30` seconds does not fit a Duration (from_secs_f64 would panic).
        Duration::try_from_secs_f64(secs).map_err(|_| {
            format!("`{s}` is out of range: the timeout must be above 0 and at most 1h")
        })?
    } else {
        humantime::parse_duration(s)
            .map_err(|_| format!("`{s}` is not a duration (write e.g. 5s, 500ms, 1m)"))?
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!("`{s}`: the timeout must be above 0 and at most 1h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_errors_point_at_the_line() {
        let src =
            "[[endpoint]]\ntarget = \"ok.example\"\n\n[[endpoint]]\ntarget = \"bad host:1\"\n";
        let e = parse_plan(Path::new("p.toml"), src).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("bad host"), "{e}");

        let src = "[[endpoint]]\ntraget = \"x\"\n";
        let e = parse_plan(Path::new("p.toml"), src).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("traget"), "{e}");

        let src = "[scan]\ntimeout = \"soon\"\n[[endpoint]]\ntarget = \"a.example\"\n";
        let e = parse_plan(Path::new("p.toml"), src).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn plan_resolves_ca_files_next_to_it() {
        let src = "[scan]\ntrust = \"none\"\nca_files = [\"root.pem\"]\ntimeout = \"2s\"\n[[endpoint]]\ntarget = \"127.0.0.1:8443\"\nname = \"api\"\nsni = \"api.example\"\n";
        let p = parse_plan(Path::new("dir/p.toml"), src).unwrap();
        assert_eq!(p.settings.ca_files, vec![PathBuf::from("dir/root.pem")]);
        assert_eq!(p.settings.timeout, Some(Duration::from_secs(2)));
        assert_eq!(p.endpoints[0].name.as_deref(), Some("api"));
        assert_eq!(p.endpoints[0].checked_name(), "api.example");
    }

    #[test]
    fn subjects_remember_the_line_that_asked_for_them() {
        let src = "# plan\n[[endpoint]]\nname = \"api\"\ntarget = \"a.example\"\n\n[[aws]]\nregions = [\"eu-west-1\"]\nkeys = [\n  \"alias/a\",\n  \"alias/b\",\n]\n\n[[gcp]]\nproject = \"p\"\n";
        let p = parse_plan(Path::new("dir/p.toml"), src).unwrap();
        let at = p.endpoints[0].source.clone().unwrap();
        assert_eq!((at.path.as_str(), at.line), ("dir/p.toml", 4));
        let aws = &p.kms.aws[0].origin;
        assert_eq!(aws.table.as_ref().unwrap().line, 6, "{aws:?}");
        assert_eq!(aws.of(Some("alias/b")).unwrap().line, 10);
        assert_eq!(aws.of(Some("alias/other")).unwrap().line, 6);
        assert_eq!(p.kms.gcp[0].origin.of(None).unwrap().line, 13);
        let t = parse_targets(Path::new("t.txt"), "# x\n\n  b.example\n", None).unwrap();
        let at = t[0].source.clone().unwrap();
        assert_eq!((at.line, at.column), (3, 3));
    }

    #[test]
    fn plans_pin_addresses_and_name_a_proxy() {
        let src = "[scan]\nmax_addresses = 3\nproxy = \"socks5h://proxy.corp:1080\"\n[[endpoint]]\ntarget = \"api.example:443\"\naddresses = [\"10.0.0.5\", \"[2001:db8::5]\"]\n";
        let p = parse_plan(Path::new("p.toml"), src).unwrap();
        assert_eq!(p.settings.max_addresses, Some(3));
        assert_eq!(
            p.settings.proxy.as_ref().unwrap().display(),
            "socks5h://proxy.corp:1080"
        );
        let want: Vec<std::net::IpAddr> =
            vec!["10.0.0.5".parse().unwrap(), "2001:db8::5".parse().unwrap()];
        assert_eq!(p.endpoints[0].addresses, want);
        for (src, line, says) in [
            (
                "[[endpoint]]\ntarget = \"api.example\"\naddresses = [\"nope\"]\n",
                3,
                "not an IP address",
            ),
            (
                "[[endpoint]]\ntarget = \"10.0.0.1\"\naddresses = [\"10.0.0.2\"]\n",
                3,
                "already an address",
            ),
            (
                "[[endpoint]]\ntarget = \"api.example\"\naddresses = []\n",
                3,
                "empty",
            ),
            ("[scan]\nmax_addresses = 0\n", 2, "between 1 and 64"),
            ("[scan]\nproxy = \"ftp://p\"\n", 2, "not supported"),
            ("[scan]\nproxy = \"http://u:pw@p:1\"\n", 2, "credentials"),
        ] {
            let e = parse_plan(Path::new("p.toml"), src).unwrap_err();
            assert_eq!(e.line, line, "{src}: {e}");
            assert!(e.message.contains(says), "{src}: {e}");
            assert!(!e.message.contains("pw@"), "{e}");
        }
    }

    #[test]
    fn several_server_names_and_none() {
        let src = "[[endpoint]]\ntarget = \"api.example:443\"\nsni = [\"api.example\", \"legacy.example\"]\nwithout_sni = true\n";
        let p = parse_plan(Path::new("p.toml"), src).unwrap();
        let names: Vec<Option<&str>> = p.endpoints.iter().map(|t| t.sni.as_deref()).collect();
        assert_eq!(names, [Some("api.example"), Some("legacy.example"), None]);
        assert!(p
            .endpoints
            .iter()
            .all(|t| t.several_names && t.source.as_ref().unwrap().line == 2));
        assert_eq!(
            p.endpoints[2].checked_name(),
            "api.example",
            "no SNI, still checked against the host"
        );
        assert_eq!(p.endpoints[2].display(), "api.example:443 [no SNI]");
        let e = parse_plan(
            Path::new("p.toml"),
            "[[endpoint]]\ntarget = \"a.example\"\nsni = []\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let one = parse_plan(
            Path::new("p.toml"),
            "[[endpoint]]\ntarget = \"a.example\"\nsni = \"b.example\"\n",
        )
        .unwrap();
        assert!(!one.endpoints[0].several_names);
    }

    #[test]
    fn resolve_pins_take_curls_form() {
        let p = parse_pin("API.example:8443:10.0.0.5,[2001:db8::5],::1").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("api.example", 8443));
        assert_eq!(p.addresses.len(), 3);
        for bad in [
            "api.example",
            "api.example:443",
            "api.example:x:10.0.0.1",
            "api.example:443:",
            "10.0.0.1:443:10.0.0.2",
        ] {
            assert!(parse_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_file_reports_line() {
        let src = "# vendor\na.example\n\n  b.example:99999  # bad\n";
        let e = parse_targets(Path::new("t.txt"), src, None).unwrap_err();
        assert_eq!((e.line, e.column), (4, 3), "{e}");
        let ok = parse_targets(Path::new("t.txt"), "a.example\n[::1]:1\n", None).unwrap();
        assert_eq!(ok.len(), 2);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }
}

/// The most addresses `--max-addresses` (and a plan's `max_addresses`) may ask for per name.
pub const MAX_ADDRESSES_LIMIT: usize = 64;

/// A target's pinned addresses (a plan's `addresses`, `--resolve`): IP addresses (IPv6 with
/// or without brackets), for a target named by a host name.
pub fn parse_addresses(target: &Target, list: &[String]) -> Result<Vec<std::net::IpAddr>, String> {
    if target.host.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "`{}` is already an address: pin addresses to a host name (`addresses` sends its name as SNI to each)",
            target.host
        ));
    }
    if list.is_empty() {
        return Err("`addresses` is empty: name at least one IP address, or leave it out to resolve the name".into());
    }
    list.iter()
        .map(|a| {
            let bare = a.trim().trim_start_matches('[').trim_end_matches(']');
            bare.parse().map_err(|_| {
                format!("`{a}` is not an IP address (e.g. 203.0.113.10 or 2001:db8::1)")
            })
        })
        .collect()
}

/// `--resolve HOST:PORT:ADDR[,ADDR...]` (curl's form): connect to these addresses for
/// HOST:PORT, sending HOST as the server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub host: String,
    pub port: u16,
    pub addresses: Vec<std::net::IpAddr>,
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

pub fn parse_pin(s: &str) -> Result<Pin, String> {
    let bad = |why: &str| {
        format!("`{s}`: {why}; write HOST:PORT:ADDR[,ADDR...], e.g. api.vendor.example:443:203.0.113.10,2001:db8::10")
    };
    let (host, rest) = s.split_once(':').ok_or_else(|| bad("no port"))?;
    let (port, addrs) = rest.split_once(':').ok_or_else(|| bad("no address"))?;
    let target = Target::parse(&format!("{host}:{port}"), None).map_err(|e| bad(&e))?;
    let list: Vec<String> = addrs.split(',').map(str::to_string).collect();
    let addresses = parse_addresses(&target, &list).map_err(|e| bad(&e))?;
    Ok(Pin {
        host: target.host,
        port: target.port,
        addresses,
    })
}

/// Parses `--shard I/N`: 1 ≤ I ≤ N ≤ 1000.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not a shard: write I/N, e.g. 2/4 for the second of four");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || n > 1000 || i == 0 || i > n {
        return Err(format!(
            "`{s}`: the shard number goes from 1 to N, and N from 1 to 1000"
        ));
    }
    Ok((i, n))
}

/// Whether `key` (an endpoint's host:port) falls in shard `i` of `n` (1-based): FNV-1a, the
/// same on every machine and run.
pub fn in_shard(key: &str, (i, n): (usize, usize)) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize == i - 1
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    #[test]
    fn shards_partition_the_estate() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let hosts: Vec<String> = (0..500).map(|i| format!("host{i}.example:443")).collect();
        let mut seen = vec![0usize; hosts.len()];
        for i in 1..=4 {
            let mine: Vec<usize> = (0..hosts.len())
                .filter(|h| in_shard(&hosts[*h], (i, 4)))
                .collect();
            // Roughly even, and every endpoint in exactly one shard.
            assert!((80..170).contains(&mine.len()), "shard {i}: {}", mine.len());
            mine.iter().for_each(|h| seen[*h] += 1);
        }
        assert!(seen.iter().all(|c| *c == 1));
        assert!(in_shard("a:443", (1, 1)));
    }
}
