//! Command-line definitions (clap only; the commands live in `app/`).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use crate::cert::TrustKind;
use crate::policy::Severity;

#[derive(Parser, Debug)]
#[command(
    name = "vetcrypt",
    version,
    about = "Verify encryption claims: probe TLS endpoints, judge them against a policy, report with evidence.",
    after_help = "Exit codes: 0 all rules pass, 1 policy failures, 2 usage or configuration error, 3 a probe could not run.\n\
                  Start with `vetcrypt demo`, then `vetcrypt scan host:443`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Never colour the terminal report (colour is only used on a TTY; NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Show the evidence of passing rules too.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Probe TLS endpoints and judge them against a policy.
    Scan(ScanArgs),
    /// Read KMS keys (AWS KMS, Google Cloud KMS) and judge rotation, key spec, protection and access.
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Check a vendor's claims (a vendor file under probes/): one verdict per claim.
    Verify(VerifyArgs),
    /// Judge saved facts (from `scan --save-facts`) against a policy, without any network.
    Check(CheckArgs),
    /// List, show or validate policies, or list the rules they can use.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Start local TLS endpoints in-process and scan them: a real report, no network needed.
    Demo(DemoArgs),
    /// Measure what AES-256 costs over AES-128 on this machine, per backend (ring, aws-lc-rs,
    /// RustCrypto), and over real TLS 1.3 connections on 127.0.0.1.
    Bench(BenchArgs),
    /// Load a vendor's HTTPS endpoint on an open-loop schedule, once with AES-128-GCM and once
    /// with AES-256-GCM forced, and report its latency per suite (explicit: no default target,
    /// capped requests and rate).
    Load(LoadArgs),
    /// Merge the JSON reports of `scan --shard I/N` jobs into one report, in every format, with
    /// one exit code.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// JSON reports written by `vetcrypt scan --shard I/N --format json=FILE`.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format: terminal, json, sarif, junit, codequality, html, markdown; FMT=FILE writes
    /// to a file (repeatable).
    #[arg(short, long = "format", value_name = "FMT[=FILE]")]
    pub formats: Vec<String>,
    /// Write the (single) format without a file to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where SARIF and code quality paths start [default: the git repository's root].
    #[arg(long, value_name = "DIR")]
    pub sarif_root: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// What to measure: `ciphers` (seal/open throughput per backend), `messages` (a message
    /// workload over TLS 1.3 with AES-128-GCM and AES-256-GCM), or `all`.
    #[arg(long, value_enum, default_value = "ciphers")]
    pub workload: BenchWorkload,
    /// A short run (under 10 s): fewer, shorter rounds; 150 messages for `messages`.
    #[arg(long)]
    pub quick: bool,
    /// Message sizes, e.g. 16,64,1KiB,16KiB,1MiB (the default).
    #[arg(long, value_name = "LIST")]
    pub sizes: Option<String>,
    /// Backends to measure (repeatable) [default: all].
    #[arg(long = "backend", value_enum, value_name = "NAME")]
    pub backends: Vec<BenchBackend>,
    /// Ciphers to measure (repeatable) [default: all].
    #[arg(long = "cipher", value_enum, value_name = "NAME")]
    pub ciphers: Vec<BenchCipher>,
    /// Rounds per measurement [default: 15, --quick 5].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub rounds: Option<u16>,
    /// `messages`: messages per suite [default: 1000, --quick 150].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub messages: Option<u32>,
    /// `messages`: target messages per second per suite [default: 50].
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// `messages`: size mix as SIZE:WEIGHT pairs [default: 1KiB:9,200KiB:1].
    #[arg(long, value_name = "MIX")]
    pub mix: Option<String>,
    /// Run `openssl speed -evp` for the same ciphers and sizes in this run and print
    /// vetcrypt's figures beside it as ratios.
    #[arg(long)]
    pub compare_openssl: bool,
    /// The openssl binary for --compare-openssl.
    #[arg(long, value_name = "PATH", default_value = "openssl")]
    pub openssl: String,
    /// Judge the figures against a policy's `bench.*` rules (exit 1 on failures).
    #[arg(long, value_name = "NAME|FILE")]
    pub policy: Option<String>,
    /// Lowest severity whose failures make the exit code 1.
    #[arg(long, default_value = "low", value_parser = severity_parser())]
    pub fail_on: Severity,
    /// Output format: terminal, json (the facts, for `vetcrypt check --facts`), markdown, html
    /// (with an SVG chart); FMT=FILE writes to a file (repeatable).
    #[arg(short, long = "format", value_name = "FMT[=FILE]")]
    pub formats: Vec<String>,
    /// Write the (single) format without a file to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the chart alone (SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Caps: at most 10000 requests per suite, 200 requests per second and 64 connections unless --raise-caps is given.\n\
                  Credentials (--header 'Authorization: ...', URL userinfo) are sent, never printed, logged or saved."
)]
pub struct LoadArgs {
    /// The https:// URL to load; no default (or the plan's [load] url).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// A plan or vendor file whose [load] table sets the run (the command line wins); its
    /// `load.*` claims are judged too.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// HTTP method [default: GET, or POST with --body-mix].
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, NAME: VALUE (repeatable). Values are never printed or saved.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body sizes as SIZE:WEIGHT pairs, e.g. 1KiB:9,200KiB:1 (nine texts to one
    /// attachment) [default: no body].
    #[arg(long, value_name = "MIX")]
    pub body_mix: Option<String>,
    /// Requests per suite [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub requests: Option<u32>,
    /// Scheduled requests per second per suite, e.g. 50/s [default: 50/s].
    #[arg(long, value_name = "RATE", value_parser = crate::plan::parse_load_rate)]
    pub rate: Option<f64>,
    /// Keep-alive connections per suite [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub connections: Option<u16>,
    /// Rounds the schedule is cut into, each running both suites in alternating order
    /// [default: requests/50, from 2 to 10].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub rounds: Option<u16>,
    /// Stop after this many errors in a row; 0 never stops [default: 50].
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u32>,
    /// Limit for one request: connect, send, whole answer [default: 10s].
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Allow more than 10000 requests per suite, 200 per second or 64 connections.
    #[arg(long)]
    pub raise_caps: bool,
    /// Trust the certificates of this PEM file as roots (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    /// Roots to validate the endpoint's chain against [default: mozilla].
    #[arg(long, value_parser = trust_parser())]
    pub trust: Option<TrustKind>,
    /// Go through this proxy (as `scan --proxy`) [default: HTTPS_PROXY or ALL_PROXY].
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connect directly, whatever --proxy, the plan or HTTPS_PROXY/ALL_PROXY say.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy: bool,
    /// The policy whose `load.*` rules judge the figures.
    #[arg(long, default_value = "load", value_name = "NAME|FILE")]
    pub policy: String,
    /// Lowest severity whose failures make the exit code 1.
    #[arg(long, default_value = "low", value_parser = severity_parser())]
    pub fail_on: Severity,
    /// Output format: terminal, json (the facts, for `vetcrypt check --facts`), markdown, html
    /// (with the latency chart); FMT=FILE writes to a file (repeatable).
    #[arg(short, long = "format", value_name = "FMT[=FILE]")]
    pub formats: Vec<String>,
    /// Write the (single) format without a file to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the latency chart alone (SVG) to FILE.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchWorkload {
    Ciphers,
    Messages,
    All,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchBackend {
    Ring,
    #[value(name = "aws-lc-rs")]
    AwsLcRs,
    #[value(name = "rustcrypto")]
    RustCrypto,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchCipher {
    #[value(name = "aes-128-gcm")]
    Aes128Gcm,
    #[value(name = "aes-256-gcm")]
    Aes256Gcm,
    #[value(name = "chacha20-poly1305")]
    ChaCha20Poly1305,
    #[value(name = "aes-128-ctr")]
    Aes128Ctr,
    #[value(name = "aes-256-ctr")]
    Aes256Ctr,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Endpoints: host, host:port, [::1]:8443, https://host/path, or a plan file (probes/*.toml).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// A file of targets, one per line (`#` comments).
    #[arg(long = "targets", value_name = "FILE")]
    pub targets_file: Option<PathBuf>,
    /// A plan file (TOML) naming endpoints and scan settings.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Server name to send (SNI) and to check the certificate against, for every target given here.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Also probe each target named by a host name without SNI (what a client without SNI, or a
    /// scanner of the bare address, is given), reported as `HOST:PORT [no SNI]`; plan:
    /// `without_sni = true`.
    #[arg(long)]
    pub without_sni: bool,
    /// Speak this protocol's plaintext preamble before every handshake, for every target given
    /// here: smtp, submission, imap, pop3, ftp, ldap, xmpp, xmpp-server, postgres, mysql (a
    /// target's scheme says the same: smtp://host, imap://host…); plan: `starttls = "smtp"`.
    #[arg(long, value_name = "PROTO", value_parser = parse_starttls)]
    pub starttls: Option<crate::subject::Protocol>,
    /// A client certificate (PEM chain, leaf first) to present when a server asks for one, for
    /// every target given here; needs --client-key. Plan: `client_cert` per endpoint.
    #[arg(long, value_name = "PEM", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, unencrypted; never printed or written).
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// XMPP: the domain to name in the stream when it is not the host; plan: `xmpp_host`.
    #[arg(long, value_name = "DOMAIN")]
    pub xmpp_host: Option<String>,
    /// Trust the certificates of this PEM file as roots (repeatable); added to --trust's roots.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    /// Roots to validate chains against [default: mozilla].
    #[arg(long, value_parser = trust_parser())]
    pub trust: Option<TrustKind>,
    /// Limit for each connection, e.g. 5s, 500ms [default: 5s].
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Endpoints probed at once [default: 16].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: Option<u16>,
    /// At most this many connections at once to one address, whatever the names or ports [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_conn_per_host: Option<u16>,
    /// At most this many new connections per second, overall [default: unlimited].
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Probe at most this many addresses of each name (its A and AAAA records, each probed and
    /// reported on its own) [default: 8]; plan: `max_addresses`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=crate::plan::MAX_ADDRESSES_LIMIT as i64))]
    pub max_addresses: Option<u16>,
    /// Probe only the IPv4 addresses of each name.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Probe only the IPv6 addresses of each name.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Connect to these addresses for HOST:PORT instead of resolving it, still sending HOST as
    /// the server name (curl's form; repeatable): HOST:PORT:ADDR[,ADDR...]; plan: `addresses`.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR", value_parser = crate::plan::parse_pin)]
    pub resolve: Vec<crate::plan::Pin>,
    /// Go through this proxy: http://[USER:PASSWORD@]HOST:PORT (HTTP CONNECT), socks5://...
    /// (names resolved here) or socks5h://... (names resolved by the proxy) [default:
    /// HTTPS_PROXY or ALL_PROXY, minus NO_PROXY's hosts, as curl reads them]; plan: `proxy`.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connect directly, whatever --proxy, the plan or HTTPS_PROXY/ALL_PROXY say.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy: bool,
    /// When a chain's issuer is neither sent nor trusted, fetch its certificate from the AIA
    /// caIssuers URL (plain HTTP, contacting the CA the certificate names, not the endpoint) to
    /// tell a missing intermediate from an untrusted root; plan: `fetch_issuers = true`.
    #[arg(long)]
    pub fetch_issuers: bool,
    /// Ask whether each certificate of the chain is revoked, from the CRL at its distribution
    /// point (plain HTTP, contacting the CA the certificate names, not the endpoint; each CRL
    /// once per run); plan: `revocation = true`.
    #[arg(long)]
    pub revocation: bool,
    /// Check Signed Certificate Timestamps against this CT log list (Chrome's v3 format, as
    /// published at https://www.gstatic.com/ct/log_list/v3/log_list.json; vetcrypt ships
    /// none, because a stale list passes logs that were since distrusted); plan:
    /// `ct_log_list = "FILE"`. Without it, SCTs are read but `cert.ct_compliant` is not
    /// observed unless there are none.
    #[arg(long, value_name = "FILE")]
    pub ct_log_list: Option<std::path::PathBuf>,
    /// Probe only shard I of N (1-based), for splitting a large estate across CI jobs: each
    /// endpoint belongs to one shard by a stable hash of host:port; KMS accounts and projects
    /// are dealt out in turn.
    #[arg(long, value_name = "I/N", value_parser = crate::plan::parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Write the observed facts to FILE (JSON), for `vetcrypt check --facts FILE`.
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Subcommand, Debug)]
pub enum KmsCommand {
    /// AWS KMS keys of one account, with the normal credential chain (env, profile, SSO, role).
    #[command(
        after_help = "Read-only: needs kms:ListKeys, kms:ListAliases, kms:DescribeKey, kms:GetKeyRotationStatus, kms:ListKeyRotations, kms:GetKeyPolicy and kms:ListGrants."
    )]
    Aws(KmsAwsArgs),
    /// Google Cloud KMS keys of one project, with Application Default Credentials.
    #[command(
        after_help = "Read-only: needs cloudkms.locations.list, cloudkms.keyRings.list, cloudkms.cryptoKeys.list/get, cloudkms.cryptoKeyVersions.list and cloudkms.cryptoKeys.getIamPolicy / cloudkms.keyRings.getIamPolicy (roles/cloudkms.viewer plus roles/iam.securityReviewer)."
    )]
    Gcp(KmsGcpArgs),
}

#[derive(Args, Debug)]
pub struct KmsAwsArgs {
    /// Named profile from ~/.aws/config [default: AWS_PROFILE, else the default chain].
    #[arg(long)]
    pub profile: Option<String>,
    /// Region to read (repeatable) [default: the profile's or AWS_REGION].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Read every public commercial region; regions not enabled for the account are reported.
    #[arg(long, conflicts_with = "regions")]
    pub all_regions: bool,
    /// Only these keys: key id, ARN, alias/NAME or alias ARN (repeatable) [default: every key].
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub common: KmsCommonArgs,
}

#[derive(Args, Debug)]
pub struct KmsGcpArgs {
    /// Project id.
    #[arg(long)]
    pub project: String,
    /// Location to read (repeatable), e.g. europe-west3, global [default: every location].
    #[arg(long = "location", value_name = "LOCATION")]
    pub locations: Vec<String>,
    /// Only these keys: projects/P/locations/L/keyRings/R/cryptoKeys/K (repeatable).
    #[arg(long = "key", value_name = "NAME")]
    pub keys: Vec<String>,
    /// Send no credentials (for emulators and test fakes given with --endpoint-url).
    #[arg(long, requires = "endpoint_url")]
    pub anonymous: bool,
    #[command(flatten)]
    pub common: KmsCommonArgs,
}

#[derive(Args, Debug)]
pub struct KmsCommonArgs {
    /// Send every call to this URL instead of the cloud's: a VPC endpoint or an emulator.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub endpoint_url: Option<String>,
    /// A tenant and the keys it uses, for the per-tenant key rule (repeatable).
    #[arg(long = "tenant", value_name = "NAME=KEY[,KEY...]", value_parser = parse_tenant)]
    pub tenants: Vec<(String, Vec<String>)>,
    /// Keys read at once [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,
    /// Write the observed facts to FILE (JSON), for `vetcrypt check --facts FILE`.
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The vendor file: endpoints, keys, tenants, [claims] and [[attested]] (probes/acme.toml).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Judge facts saved earlier (`--save-facts`, `vetcrypt load --format json=FILE`) instead of
    /// probing again; repeatable: a scan's facts and a load run's are judged together.
    #[arg(long, value_name = "FILE")]
    pub facts: Vec<PathBuf>,
    /// Trust the certificates of this PEM file as roots (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    /// Roots to validate chains against [default: mozilla].
    #[arg(long, value_parser = trust_parser())]
    pub trust: Option<TrustKind>,
    /// Limit for each connection, e.g. 5s, 500ms [default: 5s].
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Write the observed facts to FILE (JSON).
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    /// Output format: terminal, json, markdown, html (the review document: claims first, then
    /// every endpoint and key under --policy); FMT=FILE writes to a file (repeatable).
    #[arg(short, long = "format", value_name = "FMT[=FILE]")]
    pub formats: Vec<String>,
    /// Write the (single) format without a file to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The policy for the per-endpoint and per-key detail of the html and markdown documents.
    #[arg(long, default_value = "default", value_name = "NAME|FILE")]
    pub policy: String,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Facts saved by `vetcrypt scan --save-facts`.
    #[arg(long, value_name = "FILE")]
    pub facts: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Write the observed facts to FILE (JSON).
    #[arg(long, value_name = "FILE")]
    pub save_facts: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A built-in policy name (`vetcrypt policy list`) or a policy file.
    #[arg(long, default_value = "default", value_name = "NAME|FILE")]
    pub policy: String,
    /// Output format: terminal, json, sarif, junit, codequality (GitLab), html, markdown;
    /// FMT=FILE writes to a file (repeatable).
    #[arg(short, long = "format", value_name = "FMT[=FILE]")]
    pub formats: Vec<String>,
    /// Write the (single) format without a file to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where SARIF and code quality paths start [default: the git repository's root]; must lie
    /// inside the repository.
    #[arg(long, value_name = "DIR")]
    pub sarif_root: Option<PathBuf>,
    /// Lowest severity whose failures make the exit code 1.
    #[arg(long, default_value = "low", value_parser = severity_parser())]
    pub fail_on: Severity,
    /// Waivers (TOML `[[waiver]]`: rule, target, owner, reason, expires): covered failures are
    /// reported as waived; an expired waiver fails the run.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// A previous run's JSON report: report what changed (new failures, fixed, new endpoints,
    /// keys, versions and suites).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: exit 1 only for failures that are new since the baseline.
    #[arg(long, requires = "baseline")]
    pub fail_on_new_only: bool,
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// List the built-in policies.
    List,
    /// Print a policy with every rule's severity, parameters, remediation and reference.
    Show {
        #[arg(default_value = "default", value_name = "NAME|FILE")]
        policy: String,
    },
    /// Check a policy file; errors give the file, line and what was expected.
    Validate {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// List every rule vetcrypt knows, with its parameters.
    Rules,
}

fn parse_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{s}` names no host"));
    }
    Ok(s.to_string())
}

fn parse_tenant(s: &str) -> Result<(String, Vec<String>), String> {
    let (name, keys) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: write NAME=KEY[,KEY...]"))?;
    let keys: Vec<String> = keys
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if name.trim().is_empty() || keys.is_empty() {
        return Err(format!("`{s}`: write NAME=KEY[,KEY...]"));
    }
    Ok((name.trim().to_string(), keys))
}

/// The rates `--rate` takes, per second (connections for `scan`, messages for `bench`).
pub const RATE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

fn parse_rate(s: &str) -> Result<f64, String> {
    let (lo, hi) = (RATE_RANGE.start(), RATE_RANGE.end());
    match s.trim().parse::<f64>() {
        Ok(r) if RATE_RANGE.contains(&r) => Ok(r),
        Ok(_) => Err(format!(
            "`{s}` is out of range: a rate goes from {lo} to {hi} per second"
        )),
        Err(_) => Err(format!(
            "`{s}` is not a rate: a number from {lo} to {hi} per second"
        )),
    }
}

/// `--fail-on`: a severity by its label (`info` … `critical`); the policy itself knows nothing
/// of the command line.
fn severity_parser() -> impl TypedValueParser<Value = Severity> {
    PossibleValuesParser::new(Severity::ALL.map(Severity::label))
        .try_map(|s: String| Severity::parse(&s).ok_or_else(|| format!("`{s}` is not a severity")))
}

fn trust_parser() -> impl TypedValueParser<Value = TrustKind> {
    PossibleValuesParser::new(
        TrustKind::ALL.map(|t| clap::builder::PossibleValue::new(t.label()).help(t.help())),
    )
    .try_map(|s: String| {
        TrustKind::ALL
            .into_iter()
            .find(|t| t.label() == s)
            .ok_or_else(|| format!("`{s}` is not a trust store"))
    })
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    crate::plan::parse_duration(s)
}

fn parse_starttls(s: &str) -> Result<crate::subject::Protocol, String> {
    crate::subject::Protocol::parse_starttls(s)
}
