//! Subjects: what vetcrypt is asked to look at and what vendors state — TLS endpoints, the roots
//! to trust, KMS accounts and projects, tenants, claims and attestations. The bottom layer with
//! the facts: it imports nothing of the crate.

mod glob;
mod proxy;
mod service;
mod target;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Date;

pub use glob::glob_match;
pub use proxy::{Proxy, ProxyChoice, ProxyKind};
pub use service::{Protocol, Service, TlsStart, SCHEMES};
pub use target::{ClientCertFiles, Target, DEFAULT_PORT};

/// A place in an input file (1-based line and column), kept with what was read there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceLine {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

/// Where a plan table asks for its subjects: the table's own line, and the line of each entry
/// it lists (a key named under `keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub table: Option<SourceLine>,
    pub entries: Vec<(String, SourceLine)>,
}

impl Origin {
    /// The line that asked for a subject requested as `entry` (its own entry when listed, else
    /// the table's).
    pub fn of(&self, entry: Option<&str>) -> Option<SourceLine> {
        entry
            .and_then(|e| self.entries.iter().find(|(name, _)| name == e))
            .map(|(_, at)| at.clone())
            .or_else(|| self.table.clone())
    }
}

/// Which roots to start from; `--ca-file` adds to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TrustKind {
    /// Mozilla's root program, as shipped in webpki-roots.
    #[default]
    Mozilla,
    /// The operating system's store.
    System,
    /// No roots: only the `--ca-file` certificates are trusted.
    None,
}

impl TrustKind {
    pub const ALL: [TrustKind; 3] = [TrustKind::Mozilla, TrustKind::System, TrustKind::None];

    /// The name plans and the command line use.
    pub fn label(self) -> &'static str {
        match self {
            TrustKind::Mozilla => "mozilla",
            TrustKind::System => "system",
            TrustKind::None => "none",
        }
    }

    /// What the choice means, for help texts.
    pub fn help(self) -> &'static str {
        match self {
            TrustKind::Mozilla => "Mozilla's root program, as shipped in webpki-roots",
            TrustKind::System => "The operating system's store",
            TrustKind::None => "No roots: only the `--ca-file` certificates are trusted",
        }
    }
}

/// What to look at in one AWS account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsTarget {
    /// Named profile (`~/.aws/config`); else the default credential chain.
    pub profile: Option<String>,
    /// Regions to list; empty means the profile's or environment's region.
    pub regions: Vec<String>,
    /// Every public commercial region (opt-in regions not enabled are reported as such).
    pub all_regions: bool,
    /// Key ids, ARNs, `alias/NAME` or alias ARNs; empty means every key of each region.
    pub keys: Vec<String>,
    /// An endpoint other than AWS's: a VPC endpoint or an emulator.
    pub endpoint_url: Option<String>,
    /// Where a plan asks for it (empty for the command line).
    pub origin: Origin,
}

/// What to look at in one Google Cloud project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcpTarget {
    pub project: String,
    /// Locations to list; empty means every location Cloud KMS offers the project.
    pub locations: Vec<String>,
    /// `projects/P/locations/L/keyRings/R/cryptoKeys/K` names; empty means every key.
    pub keys: Vec<String>,
    pub endpoint_url: Option<String>,
    /// Send no credentials (emulators and test fakes only).
    pub anonymous: bool,
    /// Where a plan asks for it (empty for the command line).
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KmsPlan {
    pub aws: Vec<AwsTarget>,
    pub gcp: Vec<GcpTarget>,
    pub tenants: Vec<Tenant>,
}

impl KmsPlan {
    pub fn is_empty(&self) -> bool {
        self.aws.is_empty() && self.gcp.is_empty()
    }
}

/// A tenant and the keys a plan says it uses.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub name: String,
    /// Key ids, ARNs, alias names or resource names, as the plan wrote them.
    pub keys: Vec<String>,
}

/// One claim as the vendor file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub name: String,
    pub value: toml::Value,
    /// Where the file states it, for errors that point at the line.
    pub at: Option<SourceLine>,
}

/// A document-based claim no probe can see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Attestation {
    /// `ISO 27001`, `SOC 2 Type II`, `penetration test`...
    pub claim: String,
    /// Certificate number, report reference, where the document is.
    pub evidence: String,
    /// When the document stops counting (ISO: certificate expiry; SOC 2: report date + 12 months).
    #[schemars(with = "String")]
    pub expires: Date,
}
