//! Targets: what the user names (`host`, `host:port`, `[::1]:8443`, `https://host/path`,
//! `host:port@name` to send and check another server name, and the other services' schemes:
//! `smtp://host`, `imaps://host`, `postgres://host`… in [`super::service::SCHEMES`]).

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use rustls::pki_types::{DnsName, ServerName};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::service::{Protocol, Service, TlsStart};
use super::SourceLine;

pub const DEFAULT_PORT: u16 = 443;

/// One TLS endpoint to probe.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The target as the user wrote it.
    pub input: String,
    /// A label from a plan file, if any.
    pub name: Option<String>,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Server name sent in SNI and checked against the certificate. `None` for an IP address
    /// without `--sni`: then no SNI is sent and the IP address is checked against IP SANs.
    pub sni: Option<String>,
    /// Addresses the user pinned the host to (`--resolve`, a plan's `addresses`), probed
    /// instead of what the resolver says; empty: resolve the name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<IpAddr>,
    /// One of several server names asked of one host:port (a plan's `sni = [...]`,
    /// `without_sni`, `--without-sni`): reports and ids then tell them apart by name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub several_names: bool,
    /// The service spoken around TLS (`smtp://`, `--starttls imap`); absent for HTTPS and
    /// plain `host:port` targets, where HTTP is asked after the handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// XMPP: the domain named in the stream's `to` when it is not the host (`--xmpp-host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmpp_host: Option<String>,
    /// The client certificate to present when the server asks (`--client-cert`/`--client-key`,
    /// a plan's `client_cert`/`client_key`). Never written to the facts.
    #[serde(skip)]
    pub client_cert: Option<ClientCertFiles>,
    /// The plan or targets file line that names it (none for a target given on the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLine>,
}

/// A client certificate chain and its private key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientCertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Target {
    /// Parses a target. `sni` overrides the name derived from the host.
    pub fn parse(input: &str, sni: Option<&str>) -> Result<Target, String> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err("empty target".into());
        }
        // `HOST:PORT@NAME`: this target's own server name (the port keeps it apart from
        // credentials, which targets never carry).
        if !raw.contains("://") {
            if let Some((authority, name)) = raw.rsplit_once('@') {
                if has_port(authority) {
                    if sni.is_some_and(|s| s != name) {
                        return Err(format!(
                            "`{raw}` names its server name, and --sni names another: keep one"
                        ));
                    }
                    let mut t = Target::parse(authority, Some(name))?;
                    t.input = raw.to_string();
                    return Ok(t);
                }
            }
        }
        let mut service = None;
        let mut default_port = DEFAULT_PORT;
        let authority = match raw.split_once("://") {
            Some((scheme, rest)) => {
                if let Some((protocol, start, port)) = Protocol::for_scheme(scheme) {
                    service = Some(Service { protocol, start });
                    default_port = port;
                } else if !scheme.eq_ignore_ascii_case("https")
                    && !scheme.eq_ignore_ascii_case("tls")
                {
                    return Err(format!(
                        "unsupported scheme `{scheme}://` in `{raw}`: vetcrypt probes TLS; use https://, host:port or a service's scheme ({})",
                        super::service::SCHEMES.iter().map(|(s, ..)| *s).collect::<Vec<_>>().join(", ")
                    ));
                }
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                &rest[..end]
            }
            None => raw,
        };
        if authority.contains('@') {
            return Err(format!(
                "`{raw}`: credentials in a target are not supported"
            ));
        }
        let (host, port) =
            split_host_port(authority, default_port).map_err(|e| format!("`{raw}`: {e}"))?;
        let host_is_ip = host.parse::<IpAddr>().is_ok();
        if !host_is_ip {
            DnsName::try_from(host.as_str()).map_err(|_| {
                format!("`{raw}`: `{host}` is neither a valid host name nor an IP address")
            })?;
        }
        let sni = match sni {
            Some(s) => {
                DnsName::try_from(s.to_string())
                    .map_err(|_| format!("--sni `{s}` is not a valid DNS name"))?;
                Some(s.to_string())
            }
            None if host_is_ip => None,
            None => Some(host.trim_end_matches('.').to_string()),
        };
        Ok(Target {
            input: raw.to_string(),
            name: None,
            host,
            port,
            sni,
            addresses: Vec::new(),
            several_names: false,
            service,
            xmpp_host: None,
            client_cert: None,
            source: None,
        })
    }

    /// The same target reached by STARTTLS in `protocol` (`--starttls`, a plan's `starttls`).
    /// A target whose scheme already names a service keeps it unless it is the same protocol.
    pub fn with_starttls(mut self, protocol: Protocol) -> Result<Target, String> {
        match self.service {
            Some(s) if s.protocol != protocol || s.start != TlsStart::Starttls => {
                return Err(format!(
                    "`{}` names the service {}://, and STARTTLS {} was asked too: keep one",
                    self.input,
                    s.scheme(),
                    protocol.name()
                ))
            }
            _ => self.service = Some(Service::starttls(protocol)),
        }
        Ok(self)
    }

    /// The XMPP stream's `to` domain, for an XMPP target whose domain is not its host.
    pub fn with_xmpp_host(mut self, domain: &str) -> Result<Target, String> {
        let is_xmpp = self
            .service
            .is_some_and(|s| matches!(s.protocol, Protocol::Xmpp | Protocol::XmppServer));
        if !is_xmpp {
            return Err(format!(
                "`{}` is not an XMPP target: an XMPP host applies to xmpp:// and xmpp-server:// (or --starttls xmpp)",
                self.input
            ));
        }
        DnsName::try_from(domain.to_string())
            .map_err(|_| format!("`{domain}` is not a valid XMPP domain"))?;
        self.xmpp_host = Some(domain.to_ascii_lowercase());
        Ok(self)
    }

    /// Whether HTTP is asked after the handshake: on HTTPS and plain `host:port` targets, not
    /// on another service's.
    pub fn speaks_http(&self) -> bool {
        self.service.is_none()
    }

    /// The same target asked without SNI (what a client without SNI, or a scanner of the
    /// bare address, is given); its certificate is still checked against the host's name.
    pub fn without_sni(&self) -> Target {
        Target {
            sni: None,
            several_names: true,
            ..self.clone()
        }
    }

    /// How the server name shows in ids when several are asked of one host:port.
    pub fn name_label(&self) -> String {
        match &self.sni {
            Some(n) => format!("[SNI {n}]"),
            None => "[no SNI]".to_string(),
        }
    }

    /// The name the certificate must be valid for: the SNI name, or the IP address.
    pub fn checked_name(&self) -> &str {
        self.sni.as_deref().unwrap_or(&self.host)
    }

    /// `ServerName` for rustls and webpki.
    pub fn server_name(&self) -> ServerName<'static> {
        match &self.sni {
            Some(name) => ServerName::try_from(name.clone())
                .unwrap_or_else(|_| ServerName::IpAddress(IpAddr::from([127, 0, 0, 1]).into())),
            // No SNI: rustls sends none for an address (the certificate is judged apart,
            // against `checked_name`).
            None => match self.host.parse::<IpAddr>() {
                Ok(ip) => ServerName::IpAddress(ip.into()),
                Err(_) => ServerName::IpAddress(IpAddr::from([0, 0, 0, 0]).into()),
            },
        }
    }

    /// `host:port`, with brackets for IPv6.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// How reports name the target: label, service, address and SNI where they add something.
    pub fn display(&self) -> String {
        let at = match &self.service {
            Some(s) => format!("{}://{}", s.scheme(), self.authority()),
            None => self.authority(),
        };
        let mut s = match &self.name {
            Some(n) => format!("{n} ({at})"),
            None => at,
        };
        match &self.sni {
            Some(sni) if *sni != self.host || self.several_names => {
                s.push_str(&format!(" [SNI {sni}]"))
            }
            None if self.host.parse::<IpAddr>().is_err() => s.push_str(" [no SNI]"),
            _ => {}
        }
        s
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or("missing `]` after an IPv6 address")?;
        inside
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("`{inside}` is not an IPv6 address"))?;
        let port = match after {
            "" => default_port,
            p => parse_port(p.strip_prefix(':').ok_or("expected `:port` after `]`")?)?,
        };
        return Ok((inside.to_string(), port));
    }
    if authority.matches(':').count() > 1 {
        // A bare IPv6 address: no port possible without brackets.
        authority
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("`{authority}` is not an IPv6 address (write [addr]:port)"))?;
        return Ok((authority.to_string(), default_port));
    }
    match authority.split_once(':') {
        Some((h, p)) => {
            if h.is_empty() {
                return Err("missing host".into());
            }
            Ok((h.to_ascii_lowercase(), parse_port(p)?))
        }
        None => Ok((authority.to_ascii_lowercase(), default_port)),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{p}` is not a port (1-65535)")),
        Ok(n) => Ok(n),
    }
}

/// Whether `authority` ends in an explicit `:PORT` (`h:443`, `[::1]:443`).
fn has_port(authority: &str) -> bool {
    authority.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty()
            && !p.is_empty()
            && p.chars().all(|c| c.is_ascii_digit())
            && (!h.contains(':') || h.ends_with(']'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        Target::parse(s, None).unwrap()
    }

    #[test]
    fn parses_every_spelling() {
        assert_eq!(
            (t("vendor.example").host.as_str(), t("vendor.example").port),
            ("vendor.example", 443)
        );
        assert_eq!(t("vendor.example:8443").port, 8443);
        let v6 = t("[::1]:8443");
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.sni.clone()),
            ("::1", 8443, None)
        );
        assert_eq!(v6.authority(), "[::1]:8443");
        assert_eq!(t("::1").port, 443);
        let url = t("https://Vendor.Example/path?q=1");
        assert_eq!((url.host.as_str(), url.port), ("vendor.example", 443));
        assert_eq!(t("https://h.example:9443/x").port, 9443);
        assert_eq!(t("127.0.0.1:1").sni, None);
        assert_eq!(t("h.example").sni.as_deref(), Some("h.example"));
    }

    #[test]
    fn sni_overrides_and_is_checked() {
        let x = Target::parse("127.0.0.1:443", Some("api.example")).unwrap();
        assert_eq!(x.checked_name(), "api.example");
        assert!(Target::parse("127.0.0.1", Some("bad name")).is_err());
    }

    #[test]
    fn a_target_can_name_its_own_server_name() {
        let t = Target::parse("10.0.0.5:8443@api.internal", None).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.sni.as_deref()),
            ("10.0.0.5", 8443, Some("api.internal"))
        );
        assert_eq!(t.checked_name(), "api.internal");
        assert_eq!(t.input, "10.0.0.5:8443@api.internal");
        let v6 = Target::parse("[::1]:443@localhost", None).unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.sni.as_deref()),
            ("::1", Some("localhost"))
        );
        assert!(Target::parse("10.0.0.5:443@a.example", Some("b.example")).is_err());
        assert!(Target::parse("10.0.0.5:443@a.example", Some("a.example")).is_ok());
    }

    #[test]
    fn service_schemes_set_protocol_start_and_port() {
        let smtp = t("smtp://mx.example");
        assert_eq!(
            (smtp.port, smtp.service),
            (25, Some(Service::starttls(Protocol::Smtp)))
        );
        assert!(!smtp.speaks_http());
        assert_eq!(smtp.display(), "smtp://mx.example:25");
        assert_eq!(t("imaps://h.example").port, 993);
        assert_eq!(
            t("imaps://h.example").service.map(|s| s.start),
            Some(TlsStart::Implicit)
        );
        assert_eq!(t("postgres://db.example:6432/app").port, 6432);
        assert_eq!(t("xmpp-server://h.example").port, 5269);
        let plain = t("h.example:25").with_starttls(Protocol::Smtp).unwrap();
        assert_eq!(plain.service, Some(Service::starttls(Protocol::Smtp)));
        assert!(t("imap://h.example").with_starttls(Protocol::Smtp).is_err());
        assert!(t("https://h.example").speaks_http());
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "http://x.example",
            "h:0",
            "h:99999",
            "h:abc",
            "[::1",
            "[zz]:1",
            "a b",
            ":443",
            "u@h",
            "h:443@bad name",
            "h@name",
        ] {
            assert!(
                Target::parse(bad, None).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
