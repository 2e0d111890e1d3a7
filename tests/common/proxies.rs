//! Real proxies on 127.0.0.1, each started with a config written to a temporary folder and
//! killed by its PID on drop: tinyproxy (HTTP CONNECT) and microsocks (SOCKS5), both from
//! Debian, installed by scripts/test.sh.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{closed_port, write};

pub struct ProxyServer {
    pub addr: SocketAddr,
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyServer {
    /// What the proxy wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn installed(bin: &str, package: &str) {
    assert!(
        Path::new(&format!("/usr/bin/{bin}")).exists(),
        "{bin} is not installed: run the README's test command (scripts/test.sh), which installs {package}"
    );
}

/// Waits until 127.0.0.1:`port` accepts, or the child exits (with its log in the panic).
fn ready(mut child: Child, port: u16, log: std::path::PathBuf, what: &str) -> ProxyServer {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "{what} did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    ProxyServer { addr, child, log }
}

/// tinyproxy in the foreground, logging each CONNECT; `extra` lines go into its config
/// (`BasicAuth user password`, `ConnectPort 1`...).
pub fn tinyproxy(extra: &[&str], dir: &Path) -> ProxyServer {
    installed("tinyproxy", "tinyproxy");
    let port = closed_port().port();
    let conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nMaxClients 64\nAllow 127.0.0.1\n{}\n",
        extra.join("\n")
    );
    let conf_path = write(dir, "tinyproxy.conf", &conf);
    let log = dir.join("tinyproxy.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("/usr/bin/tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start tinyproxy");
    ready(child, port, log, "tinyproxy")
}

/// microsocks, with a user name and password when given.
pub fn microsocks(credentials: Option<(&str, &str)>, dir: &Path) -> ProxyServer {
    installed("microsocks", "microsocks");
    let port = closed_port().port();
    let log = dir.join("microsocks.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new("/usr/bin/microsocks");
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((user, password)) = credentials {
        cmd.args(["-u", user, "-P", password]);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start microsocks");
    ready(child, port, log, "microsocks")
}
