//! Proxies a connection may have to go through: HTTP CONNECT (`http://`) and SOCKS5
//! (`socks5://`, the name resolved here; `socks5h://`, the name resolved by the proxy), with
//! optional credentials, chosen from `--proxy`, a plan's `proxy`, or the environment
//! (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`) as curl reads it. The tunnels themselves are
//! opened by the TLS probe's transport (`tls::proxy`).
//!
//! Credentials are secrets: no `Debug`, `Display` or error message of this module shows them;
//! a proxy is always named by [`Proxy::display`], which has none.

use std::net::IpAddr;

use percent_encoding::percent_decode_str;

#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    credentials: Option<Credentials>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP CONNECT: the proxy resolves names.
    Http,
    /// SOCKS5, addresses resolved here and sent as addresses.
    Socks5,
    /// SOCKS5, the name sent to the proxy, which resolves it.
    Socks5h,
}

/// A user name and password, never shown.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    user: String,
    password: String,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.display())
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Proxy {
    /// Parses `http://[user:pass@]host:port`, `socks5://...` or `socks5h://...` (curl's
    /// forms; a bare `host:port` is HTTP). Errors never repeat the credentials.
    pub fn parse(text: &str) -> Result<Proxy, String> {
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| format!("the proxy is not a URL ({e}): write http://host:port, socks5://host:port or socks5h://host:port"))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            other => {
                return Err(format!(
                    "proxy scheme {other}:// is not supported: use http://, socks5:// or socks5h://"
                ))
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err("the proxy URL names no host".into()),
        };
        let port = url.port().unwrap_or(match kind {
            ProxyKind::Http => 3128,
            ProxyKind::Socks5 | ProxyKind::Socks5h => 1080,
        });
        if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
            return Err("the proxy URL has a path or query: give scheme://host:port only".into());
        }
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!url.username().is_empty()).then(|| Credentials {
            user: decode(url.username()),
            password: decode(url.password().unwrap_or("")),
        });
        if credentials
            .as_ref()
            .is_some_and(|c| c.user.len() > 255 || c.password.len() > 255)
        {
            return Err("proxy user name and password are limited to 255 bytes each".into());
        }
        Ok(Proxy {
            kind,
            host,
            port,
            credentials,
        })
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The user name and password, for the one place that sends them (the tunnel).
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|c| (c.user.as_str(), c.password.as_str()))
    }

    /// `scheme://host:port`, never with credentials.
    pub fn display(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Whether the proxy, not vetcrypt, turns names into addresses (so a name's addresses are
    /// not observable).
    pub fn resolves_names(&self) -> bool {
        matches!(self.kind, ProxyKind::Http | ProxyKind::Socks5h)
    }
}

/// The proxy settings of a run: the proxy, and the hosts reached without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyChoice {
    pub proxy: Option<Proxy>,
    /// `NO_PROXY` entries: `*`, host names (a suffix match: `example.com` covers
    /// `api.example.com`; a leading dot too), IP addresses.
    pub bypass: Vec<String>,
}

impl ProxyChoice {
    /// From the environment, as curl reads it for https:// URLs: `https_proxy` (or
    /// `HTTPS_PROXY`), else `all_proxy` (or `ALL_PROXY`); `no_proxy` (or `NO_PROXY`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<ProxyChoice, String> {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| var(n).filter(|v| !v.trim().is_empty()))
        };
        let proxy = match first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]) {
            Some(p) => {
                Some(Proxy::parse(p.trim()).map_err(|e| format!("HTTPS_PROXY/ALL_PROXY: {e}"))?)
            }
            None => None,
        };
        let bypass = first(&["no_proxy", "NO_PROXY"])
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(ProxyChoice { proxy, bypass })
    }

    /// The proxy to reach `host` through, if any.
    pub fn for_host(&self, host: &str) -> Option<&Proxy> {
        let proxy = self.proxy.as_ref()?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let bypassed = self.bypass.iter().any(|entry| {
            if entry == "*" {
                return true;
            }
            // An entry's port (curl allows `host:port`) is not compared.
            let e = match entry.parse::<IpAddr>() {
                Ok(_) => entry.as_str(),
                Err(_) => entry
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or(entry)
                    .rsplit_once(':')
                    .filter(|(h, p)| !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()))
                    .map_or(entry.as_str(), |(h, _)| h),
            };
            let e = e.trim_start_matches('.').trim_end_matches('.');
            host == e || host.ends_with(&format!(".{e}"))
        });
        (!bypassed).then_some(proxy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_and_never_shows_credentials() {
        let p = Proxy::parse("http://alice:s%3Dcret@proxy.corp:8080").unwrap();
        assert_eq!(p.kind, ProxyKind::Http);
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 8080));
        assert_eq!(p.credentials.as_ref().unwrap().password, "s=cret");
        assert_eq!(p.display(), "http://proxy.corp:8080");
        assert!(!format!("{p:?}").contains("cret"), "{p:?}");
        assert_eq!(
            Proxy::parse("proxy.corp:3128").unwrap().kind,
            ProxyKind::Http
        );
        assert_eq!(
            Proxy::parse("socks5h://[::1]").unwrap().display(),
            "socks5h://[::1]:1080"
        );
        assert!(!Proxy::parse("socks5://127.0.0.1:1080")
            .unwrap()
            .resolves_names());
        for bad in ["ftp://x:1", "http://", "http://h:1/path", "socks4://h:1"] {
            let e = Proxy::parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        let e = Proxy::parse("gopher://bob:hunter2@h:1").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = ProxyChoice::from_env(env(&[
            ("HTTPS_PROXY", "http://p.corp:3128"),
            ("ALL_PROXY", "socks5://other:1080"),
            (
                "NO_PROXY",
                "internal.example, .corp.example,10.0.0.5,svc:8443",
            ),
        ]))
        .unwrap();
        assert_eq!(c.proxy.as_ref().unwrap().display(), "http://p.corp:3128");
        assert!(c.for_host("api.vendor.example").is_some());
        for direct in [
            "internal.example",
            "a.internal.example",
            "corp.example",
            "x.corp.example",
            "10.0.0.5",
            "svc",
        ] {
            assert!(c.for_host(direct).is_none(), "{direct}");
        }
        assert!(c.for_host("notinternal.example").is_some());
        let all = ProxyChoice::from_env(env(&[("all_proxy", "socks5h://s:1"), ("no_proxy", "*")]))
            .unwrap();
        assert!(all.for_host("anything").is_none());
        assert_eq!(
            ProxyChoice::from_env(env(&[])).unwrap(),
            ProxyChoice::default()
        );
        assert!(ProxyChoice::from_env(env(&[("https_proxy", "ftp://x")])).is_err());
    }
}
