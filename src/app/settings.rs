//! Probe settings, resolved once: the command line wins over the plan, the plan over the
//! defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Result;
use crate::cert::{TrustKind, TrustStore};
use crate::plan::ScanSettings;
use crate::subject::{Proxy, ProxyChoice};
use crate::tls::limits::{Limits, DEFAULT_MAX_CONN_PER_HOST};
use crate::tls::{Family, ProbeConfig, DEFAULT_MAX_ADDRESSES};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Probe settings as given on the command line; unset ones come from the plan, else the
/// defaults.
#[derive(Debug, Default, Clone)]
pub struct ProbeFlags {
    pub trust: Option<TrustKind>,
    pub ca_files: Vec<PathBuf>,
    pub timeout: Option<Duration>,
    pub concurrency: Option<usize>,
    pub max_conn_per_host: Option<usize>,
    pub rate: Option<f64>,
    /// `--fetch-issuers` given.
    pub fetch_issuers: bool,
    /// `--revocation` given.
    pub revocation: bool,
    /// `--ct-log-list`.
    pub ct_log_list: Option<PathBuf>,
    pub max_addresses: Option<usize>,
    /// `-4` / `-6`.
    pub family: Family,
    /// `--proxy`.
    pub proxy: Option<Proxy>,
    /// `--no-proxy`: no proxy, whatever the plan or the environment say.
    pub no_proxy: bool,
    /// What the environment says (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), read by the caller.
    pub env_proxy: ProxyChoice,
}

/// How endpoints are probed, every setting decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSettings {
    /// Limit for each connection.
    pub timeout: Duration,
    /// Roots to validate chains against.
    pub trust: TrustKind,
    /// PEM files whose certificates are roots too: the plan's, then the command line's.
    pub ca_files: Vec<PathBuf>,
    /// Endpoints probed at once.
    pub concurrency: usize,
    /// Connections at once to one address.
    pub max_conn_per_host: usize,
    /// New connections per second, overall (`None`: unlimited).
    pub rate: Option<f64>,
    /// Fetch unknown issuers from their AIA caIssuers URLs: the command line's flag, or the
    /// plan's `fetch_issuers`.
    pub fetch_issuers: bool,
    /// Ask the CRLs: the command line's `--revocation`, or the plan's `revocation`.
    pub revocation: bool,
    /// The CT log list SCTs are checked against: the command line's, else the plan's.
    pub ct_log_list: Option<PathBuf>,
    /// Addresses probed per name.
    pub max_addresses: usize,
    /// Address family probed.
    pub family: Family,
    /// The proxy, and the hosts reached without it.
    pub proxy: ProxyChoice,
}

impl ProbeSettings {
    /// The one place where the command line wins over the plan and the plan over the
    /// defaults. The connection caps are command-line settings only.
    pub fn resolve(flags: ProbeFlags, plan: &ScanSettings) -> ProbeSettings {
        ProbeSettings {
            timeout: flags.timeout.or(plan.timeout).unwrap_or(DEFAULT_TIMEOUT),
            trust: flags.trust.or(plan.trust).unwrap_or(TrustKind::Mozilla),
            ca_files: plan
                .ca_files
                .iter()
                .chain(&flags.ca_files)
                .cloned()
                .collect(),
            concurrency: flags
                .concurrency
                .or(plan.concurrency)
                .unwrap_or(DEFAULT_CONCURRENCY),
            max_conn_per_host: flags.max_conn_per_host.unwrap_or(DEFAULT_MAX_CONN_PER_HOST),
            rate: flags.rate,
            fetch_issuers: flags.fetch_issuers || plan.fetch_issuers.unwrap_or(false),
            revocation: flags.revocation || plan.revocation.unwrap_or(false),
            ct_log_list: flags.ct_log_list.or_else(|| plan.ct_log_list.clone()),
            max_addresses: flags
                .max_addresses
                .or(plan.max_addresses)
                .unwrap_or(DEFAULT_MAX_ADDRESSES),
            family: flags.family,
            proxy: if flags.no_proxy {
                ProxyChoice::default()
            } else {
                ProxyChoice {
                    proxy: flags
                        .proxy
                        .or_else(|| plan.proxy.clone())
                        .or(flags.env_proxy.proxy),
                    bypass: flags.env_proxy.bypass,
                }
            },
        }
    }

    /// The probes' configuration: the trust store, with the CA files read.
    pub fn probe_config(&self) -> Result<ProbeConfig> {
        let mut trust = TrustStore::new(self.trust)?;
        for f in &self.ca_files {
            trust.add_pem_file(f)?;
        }
        let ct_logs = match &self.ct_log_list {
            Some(path) => Some(Arc::new(
                crate::cert::ct::LogList::load(path).map_err(anyhow::Error::msg)?,
            )),
            None => None,
        };
        Ok(ProbeConfig {
            ct_logs,
            timeout: self.timeout,
            trust: Arc::new(trust),
            limits: Arc::new(Limits::new(self.max_conn_per_host, self.rate)),
            fetch_issuers: self.fetch_issuers,
            revocation: self.revocation,
            crl_cache: Arc::default(),
            sequential: false,
            family: self.family,
            max_addresses: self.max_addresses,
            proxy: self.proxy.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_plan_and_the_plan_over_the_defaults() {
        let none = ProbeSettings::resolve(ProbeFlags::default(), &ScanSettings::default());
        assert_eq!(
            none,
            ProbeSettings {
                timeout: DEFAULT_TIMEOUT,
                trust: TrustKind::Mozilla,
                ca_files: Vec::new(),
                concurrency: DEFAULT_CONCURRENCY,
                max_conn_per_host: DEFAULT_MAX_CONN_PER_HOST,
                rate: None,
                fetch_issuers: false,
                revocation: false,
                ct_log_list: None,
                max_addresses: DEFAULT_MAX_ADDRESSES,
                family: Family::Any,
                proxy: ProxyChoice::default(),
            }
        );
        let plan = ScanSettings {
            timeout: Some(Duration::from_secs(9)),
            concurrency: Some(3),
            trust: Some(TrustKind::System),
            ca_files: vec!["plan.pem".into()],
            fetch_issuers: Some(true),
            revocation: Some(true),
            ct_log_list: Some("plan-logs.json".into()),
            max_addresses: Some(2),
            proxy: Some(Proxy::parse("http://plan-proxy:3128").unwrap()),
        };
        let from_plan = ProbeSettings::resolve(ProbeFlags::default(), &plan);
        assert_eq!(from_plan.timeout, Duration::from_secs(9));
        assert_eq!(from_plan.concurrency, 3);
        assert_eq!(from_plan.trust, TrustKind::System);
        assert!(from_plan.fetch_issuers, "the plan's fetch_issuers");
        assert!(from_plan.revocation, "the plan's revocation");
        assert_eq!(
            from_plan.ct_log_list.as_deref(),
            Some(std::path::Path::new("plan-logs.json"))
        );
        assert_eq!(from_plan.max_addresses, 2);
        assert_eq!(
            from_plan.proxy.proxy.unwrap().display(),
            "http://plan-proxy:3128"
        );
        assert!(
            ProbeSettings::resolve(
                ProbeFlags {
                    fetch_issuers: true,
                    ..ProbeFlags::default()
                },
                &ScanSettings::default()
            )
            .fetch_issuers,
            "--fetch-issuers"
        );
        let flags = ProbeFlags {
            trust: Some(TrustKind::None),
            ca_files: vec!["cli.pem".into()],
            timeout: Some(Duration::from_millis(500)),
            concurrency: Some(7),
            max_conn_per_host: Some(2),
            rate: Some(1.5),
            fetch_issuers: false,
            revocation: false,
            ct_log_list: Some("cli-logs.json".into()),
            max_addresses: Some(5),
            family: Family::V6,
            proxy: Some(Proxy::parse("socks5h://cli-proxy:1080").unwrap()),
            no_proxy: false,
            env_proxy: ProxyChoice {
                proxy: Some(Proxy::parse("http://env-proxy:8080").unwrap()),
                bypass: vec!["internal.example".into()],
            },
        };
        let s = ProbeSettings::resolve(flags.clone(), &plan);
        assert_eq!(
            s.ct_log_list.as_deref(),
            Some(std::path::Path::new("cli-logs.json")),
            "--ct-log-list over the plan's"
        );
        assert_eq!(
            s.proxy.proxy.as_ref().unwrap().display(),
            "socks5h://cli-proxy:1080",
            "--proxy over the plan's over the environment's"
        );
        assert_eq!(
            s.proxy.bypass,
            ["internal.example"],
            "NO_PROXY applies to any proxy"
        );
        let none = ProbeSettings::resolve(
            ProbeFlags {
                no_proxy: true,
                ..flags.clone()
            },
            &plan,
        );
        assert_eq!(none.proxy, ProxyChoice::default(), "--no-proxy");
        let env_only = ProbeSettings::resolve(
            ProbeFlags {
                proxy: None,
                ..flags.clone()
            },
            &ScanSettings::default(),
        );
        assert_eq!(
            env_only.proxy.proxy.unwrap().display(),
            "http://env-proxy:8080"
        );
        assert_eq!(s.timeout, Duration::from_millis(500));
        assert_eq!(s.trust, TrustKind::None);
        assert_eq!(s.concurrency, 7);
        assert_eq!((s.max_conn_per_host, s.rate), (2, Some(1.5)));
        assert_eq!((s.max_addresses, s.family), (5, Family::V6));
        let ca: Vec<PathBuf> = vec!["plan.pem".into(), "cli.pem".into()];
        assert_eq!(
            s.ca_files, ca,
            "the plan's CA files, then the command line's"
        );
    }
}
