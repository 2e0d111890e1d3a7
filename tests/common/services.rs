//! Real Debian servers with STARTTLS or implicit TLS on 127.0.0.1 (or another address in
//! 127.0.0.0/8): postfix, dovecot, slapd, PostgreSQL, vsftpd, prosody and MariaDB. Each runs as
//! its own foreground process (its own process group), with its config, data and log in a
//! folder of its own under the caller's temporary folder, and is stopped by its PID on drop.
//! scripts/test.sh installs the packages. The servers need root to start: postfix's master
//! and vsftpd insist on it, the others get dropped to their package's user (PostgreSQL as
//! `postgres` and prosody as `prosody` through `setpriv`, MariaDB and dovecot drop by
//! themselves to `mysql` and `dovecot`).
//!
//! The caller's folder gets o+x (never o+r), so the unprivileged users can reach their own
//! folder inside it.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer after its start.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Tries with fresh ports when a port picked turned out to be taken by the time the server bound it.
const ATTEMPTS: usize = 3;

/// Certificate and key PEM files for the server (paths), made by the caller.
#[derive(Clone, Copy, Debug)]
pub struct Tls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

struct Proc {
    child: Child,
    /// The signal for a clean, quick shutdown (PostgreSQL: SIGINT, the fast shutdown).
    stop: libc::c_int,
}

/// A running server. Dropping it stops every process it started and waits for them.
pub struct Service {
    pub name: &'static str,
    /// The server's own folder: config, data, certificate copies and logs.
    pub dir: PathBuf,
    /// The address it listens on.
    pub ip: IpAddr,
    /// From the first spawn (initialisation such as initdb included) until every port answered.
    pub started_in: Duration,
    ports: Vec<(&'static str, u16)>,
    procs: Vec<Proc>,
    logs: Vec<PathBuf>,
}

impl Service {
    /// The port called `which`; panics with the list if there is none.
    pub fn port(&self, which: &str) -> u16 {
        match self.ports.iter().find(|(n, _)| *n == which) {
            Some((_, p)) => *p,
            None => panic!(
                "{} has no port {which:?}; it has {:?}",
                self.name, self.ports
            ),
        }
    }

    /// The listen address and the port called `which`.
    pub fn addr(&self, which: &str) -> SocketAddr {
        SocketAddr::new(self.ip, self.port(which))
    }

    /// Every port, by name.
    pub fn ports(&self) -> &[(&'static str, u16)] {
        &self.ports
    }

    /// The PIDs of the processes started (each also the id of its process group).
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(|p| p.child.id()).collect()
    }

    /// The server's logs so far, each under a header with its path, for assertion messages.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for p in &self.logs {
            let text = std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|e| format!("({e})\n"));
            out.push_str(&format!("==> {} <==\n{text}", p.display()));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    fn exited(&mut self) -> Option<String> {
        for p in &mut self.procs {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Some(format!("process {} exited ({status})", p.child.id()));
            }
        }
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        for p in &mut self.procs {
            stop(p);
        }
    }
}

/// SIGTERM (or the server's own stop signal) to the PID, wait; SIGKILL to its process group if
/// it lingers; then wait until no live process is left in the group (children such as postfix's
/// smtpd or vsftpd's sessions leave by themselves right after their parent).
fn stop(p: &mut Proc) {
    let pid = p.child.id() as libc::pid_t;
    if let Ok(None) = p.child.try_wait() {
        unsafe { libc::kill(pid, p.stop) };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match p.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                    let _ = p.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while !group_members(pid).is_empty() {
        if Instant::now() > deadline {
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Live (not zombie) processes whose process group is `pgid`, from /proc.
pub fn group_members(pgid: libc::pid_t) -> Vec<libc::pid_t> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// Whether the server's binaries are present: "postfix", "dovecot", "slapd", "postgres",
/// "vsftpd", "prosody", "mariadb"; any other name is looked up in PATH.
pub fn installed(name: &str) -> bool {
    let exists = |p: &str| Path::new(p).exists();
    match name {
        "postfix" => exists("/usr/sbin/postfix") && exists("/usr/lib/postfix/sbin/master"),
        "dovecot" => exists("/usr/sbin/dovecot") && exists("/usr/lib/dovecot/pop3-login"),
        "slapd" => exists("/usr/sbin/slapd"),
        "postgres" | "postgresql" => pg_bin().is_some(),
        "vsftpd" => exists("/usr/sbin/vsftpd"),
        "prosody" => exists("/usr/bin/prosody"),
        "mariadb" | "mysql" => {
            exists("/usr/sbin/mariadbd") && exists("/usr/bin/mariadb-install-db")
        }
        other => std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(other).is_file())),
    }
}

fn require(name: &str, package: &str) {
    assert!(
        installed(name),
        "{name} is not installed: run scripts/test.sh, which installs {package}"
    );
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the {name} test server needs root to start (the tests run as root in CI)"
    );
}

/// The newest PostgreSQL server's bin folder.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// uid and gid of a system user, from /etc/passwd.
fn user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no user {name} in /etc/passwd (is its package installed?)"))
}

/// gid of a system group, from /etc/group.
fn group(name: &str) -> u32 {
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    groups
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == name).then(|| f[2].parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no group {name} in /etc/group (is its package installed?)"))
}

fn chown_r(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_r(&e.unwrap().path(), (uid, gid));
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `{dir}/{name}`, fresh, mode 0711; the caller's `dir` gets o+x so other users reach it.
fn service_dir(dir: &Path, name: &str) -> PathBuf {
    let mode = std::fs::metadata(dir).unwrap().permissions().mode();
    chmod(dir, (mode & 0o7777) | 0o111);
    let sdir = dir.join(name);
    assert!(
        !sdir.exists(),
        "{} exists: one {name} per folder",
        sdir.display()
    );
    std::fs::create_dir(&sdir).unwrap();
    chmod(&sdir, 0o711);
    sdir
}

/// Copies of the certificate (0644) and key (0600) in `sdir`, owned by `owner` (root if None).
fn copy_tls(tls: &Tls, sdir: &Path, owner: Option<(u32, u32)>) -> (PathBuf, PathBuf) {
    let cert = sdir.join("cert.pem");
    let key = sdir.join("key.pem");
    std::fs::copy(tls.cert, &cert).unwrap();
    std::fs::copy(tls.key, &key).unwrap();
    chmod(&cert, 0o644);
    chmod(&key, 0o600);
    if let Some(o) = owner {
        chown_r(&cert, o);
        chown_r(&key, o);
    }
    (cert, key)
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// [`write`], the file dated 10 s back: postfix re-reads a config file modified within the
/// current second, every 0.3 s, until it is older (which cost 2 s per start).
fn write_aged(path: &Path, text: &str) {
    write(path, text);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(10))
        .unwrap();
}

fn loopback(ip: &str) -> IpAddr {
    let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("listen {ip:?}: {e}"));
    match parsed {
        IpAddr::V4(v4) if v4.octets()[0] == 127 => parsed,
        _ => panic!("listen {ip}: test servers listen in 127.0.0.0/8 only"),
    }
}

/// Free ports on `ip`, one per name (all held at once so they differ).
fn free_ports(ip: IpAddr, names: &[&'static str]) -> Vec<(&'static str, u16)> {
    let held: Vec<TcpListener> = names
        .iter()
        .map(|_| TcpListener::bind((ip, 0)).unwrap())
        .collect();
    names
        .iter()
        .zip(&held)
        .map(|(n, l)| (*n, l.local_addr().unwrap().port()))
        .collect()
}

/// A command for a foreground server: its own process group, cwd /, stdin closed, stdout and
/// stderr appended to `out`.
fn daemon(program: impl AsRef<std::ffi::OsStr>, out: &Path) -> Command {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .unwrap();
    let mut c = Command::new(program);
    c.current_dir("/")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f);
    c
}

/// `setpriv` to `user` (its uid, gid and groups) in front of `program`; setpriv execs, so the
/// PID is the server's.
fn as_user(user: &str, program: impl AsRef<std::ffi::OsStr>, out: &Path) -> Command {
    let mut c = daemon("setpriv", out);
    c.arg(format!("--reuid={user}"))
        .arg(format!("--regid={user}"))
        .arg("--init-groups")
        .arg("--")
        .arg(program);
    c
}

fn spawn(mut c: Command, what: &str) -> Child {
    c.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"))
}

/// Runs a setup command to its end, its output appended to `log`; Err with the output if it fails.
fn run(mut c: Command, what: &str, log: &Path) -> Result<(), String> {
    let out = c
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let _ = writeln!(f, "$ {what}\n{text}");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({}):\n{text}", out.status))
    }
}

/// How a port shows it is ready.
#[derive(Clone, Copy)]
enum Ready {
    /// It accepts a TCP connection (implicit TLS, XMPP).
    Accept,
    /// The first line it sends starts with this (SMTP 220, IMAP * OK, POP3 +OK, FTP 220).
    Greets(&'static str),
    /// A MySQL protocol 10 handshake packet.
    MysqlGreeting,
    /// It answers an anonymous LDAP bind with an LDAP message (a bare accept is not enough:
    /// slapd listens before it serves).
    LdapAnswer,
    /// `pg_isready` says PostgreSQL accepts connections.
    Postgres,
}

fn check(addr: SocketAddr, how: Ready) -> Result<(), String> {
    if let Ready::Postgres = how {
        let out = Command::new(pg_bin().unwrap().join("pg_isready"))
            .args(["-q", "-t", "2", "-h"])
            .arg(addr.ip().to_string())
            .arg("-p")
            .arg(addr.port().to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("pg_isready: {e}"))?;
        return match out.status.code() {
            Some(0) => Ok(()),
            c => Err(format!("pg_isready exit {c:?}")),
        };
    }
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let read_some = |s: &mut TcpStream, buf: &mut Vec<u8>, until_newline: bool, min: usize| {
        let mut chunk = [0u8; 512];
        while buf.len() < min || (until_newline && !buf.contains(&b'\n')) {
            match s.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "{addr} closed after {:?}",
                        String::from_utf8_lossy(buf)
                    ))
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read {addr}: {e}")),
            }
            if buf.len() > 4096 {
                break;
            }
        }
        Ok(())
    };
    let mut buf = Vec::new();
    match how {
        Ready::Accept | Ready::Postgres => Ok(()),
        Ready::Greets(prefix) => {
            read_some(&mut s, &mut buf, true, 1)?;
            if buf.starts_with(prefix.as_bytes()) {
                Ok(())
            } else {
                Err(format!(
                    "{addr} greeted {:?}, not {prefix:?}",
                    String::from_utf8_lossy(&buf)
                ))
            }
        }
        Ready::MysqlGreeting => {
            read_some(&mut s, &mut buf, false, 5)?;
            // 3-byte length, sequence 0, then protocol version 10 (or 0xff: an error packet).
            if buf[3] == 0 && buf[4] == 10 {
                Ok(())
            } else {
                Err(format!("{addr} sent no MySQL greeting: {buf:02x?}"))
            }
        }
        Ready::LdapAnswer => {
            // BindRequest, messageID 1, version 3, empty name, empty simple password.
            let bind = [
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
            ];
            s.write_all(&bind)
                .map_err(|e| format!("write {addr}: {e}"))?;
            read_some(&mut s, &mut buf, false, 1)?;
            if buf[0] == 0x30 {
                Ok(())
            } else {
                Err(format!("{addr} answered no LDAP message: {buf:02x?}"))
            }
        }
    }
}

/// Waits until every port in `checks` is ready; Err with the reason if a process exits or the
/// deadline passes.
fn wait_ready(svc: &mut Service, checks: &[(&str, Ready)]) -> Result<(), String> {
    let deadline = Instant::now() + READY_DEADLINE;
    for (which, how) in checks {
        let addr = svc.addr(which);
        loop {
            if let Some(e) = svc.exited() {
                return Err(e);
            }
            match check(addr, *how) {
                Ok(()) => break,
                Err(e) if Instant::now() > deadline => {
                    return Err(format!(
                        "port {which} ({addr}) not ready after {READY_DEADLINE:?}: {e}"
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(25)),
            }
        }
    }
    // A server that exits right after opening its ports (vsftpd on a bad certificate).
    match svc.exited() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What one start attempt needs: the ports picked and where to write.
struct Launch<'a> {
    name: &'static str,
    sdir: &'a Path,
    ip: IpAddr,
    port_names: &'a [&'static str],
    logs: Vec<PathBuf>,
    checks: &'a [(&'static str, Ready)],
    t0: Instant,
}

impl Launch<'_> {
    /// Picks ports, lets `spawn` write the port-dependent config and start the processes, and
    /// waits until they are ready; retries with fresh ports if a port was taken meanwhile.
    /// Panics with the server's log on any other failure.
    fn run(self, mut spawn: impl FnMut(&[(&'static str, u16)]) -> Vec<Proc>) -> Service {
        for attempt in 1..=ATTEMPTS {
            for l in &self.logs {
                let _ = std::fs::remove_file(l);
            }
            let ports = free_ports(self.ip, self.port_names);
            let mut svc = Service {
                name: self.name,
                dir: self.sdir.to_path_buf(),
                ip: self.ip,
                started_in: Duration::ZERO,
                ports: ports.clone(),
                procs: Vec::new(),
                logs: self.logs.clone(),
            };
            svc.procs = spawn(&ports);
            match wait_ready(&mut svc, self.checks) {
                Ok(()) => {
                    svc.started_in = self.t0.elapsed();
                    return svc;
                }
                Err(e) => {
                    let log = svc.log();
                    drop(svc);
                    let taken = log.to_ascii_lowercase().contains("already in use");
                    if !(taken && attempt < ATTEMPTS) {
                        panic!("{} did not start: {e}\n{log}", self.name);
                    }
                }
            }
        }
        unreachable!()
    }
}

fn proc(child: Child) -> Proc {
    Proc {
        child,
        stop: libc::SIGTERM,
    }
}

// ---------------------------------------------------------------------------------------------
// postfix

const POSTFIX_MASTER_CF: &str = "\
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     0 discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
";

/// Postfix (master in the foreground, as root; its children run as `postfix`), host name
/// `mail.test`, delivering nothing anywhere.
///
/// With `tls`: port "smtp" offers STARTTLS (`smtpd_tls_security_level = may`), "submission"
/// requires it (`encrypt`: MAIL FROM before STARTTLS gets `530 5.7.0 Must issue a STARTTLS
/// command first`), "smtps" is implicit TLS (`smtpd_tls_wrappermode = yes`). TLS 1.2 and up.
/// Without: port "smtp" only, which does not offer STARTTLS.
pub fn postfix(dir: &Path, tls: Option<Tls>) -> Service {
    require("postfix", "postfix");
    let t0 = Instant::now();
    let sdir = service_dir(dir, "postfix");
    let etc = sdir.join("etc");
    std::fs::create_dir(&etc).unwrap();
    let d = sdir.display();
    let mut main_cf = format!(
        "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.test
mydomain = test
myorigin = mail.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
default_transport = error:test server delivers nothing
relay_transport = error:test server delivers nothing
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
biff = no
smtp_tls_security_level = none
"
    );
    let port_names: &[&'static str] = if tls.is_some() {
        &["smtp", "submission", "smtps"]
    } else {
        &["smtp"]
    };
    match &tls {
        Some(tls) => {
            let (cert, key) = copy_tls(tls, &sdir, None);
            main_cf.push_str(&format!(
                "smtpd_tls_cert_file = {}
smtpd_tls_key_file = {}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
",
                cert.display(),
                key.display()
            ));
        }
        None => main_cf.push_str("smtpd_tls_security_level = none\n"),
    }
    write_aged(&etc.join("main.cf"), &main_cf);
    postfix_dirs(&sdir);
    let stdout = sdir.join("master.out");
    let tls_on = tls.is_some();
    Launch {
        name: "postfix",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names,
        logs: vec![sdir.join("maillog"), stdout.clone()],
        checks: &[
            ("smtp", Ready::Greets("220 ")),
            ("submission", Ready::Greets("220 ")),
            ("smtps", Ready::Accept),
        ][..port_names.len()],
        t0,
    }
    .run(|ports| {
        let p = |n: &str| ports.iter().find(|(k, _)| *k == n).unwrap().1;
        let mut listeners = format!("127.0.0.1:{} inet n - n - - smtpd\n", p("smtp"));
        if tls_on {
            listeners.push_str(&format!(
                "127.0.0.1:{} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
127.0.0.1:{} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
",
                p("submission"),
                p("smtps")
            ));
        }
        write_aged(
            &etc.join("master.cf"),
            &format!("{listeners}{POSTFIX_MASTER_CF}"),
        );
        let mut c = daemon("/usr/lib/postfix/sbin/master", &stdout);
        c.arg("-c").arg(&etc).arg("-d");
        vec![proc(spawn(c, "postfix master"))]
    })
}

/// The queue's subfolders and the data folder with the owners and modes of the package's
/// /etc/postfix/postfix-files, as `postfix check` would make them (it takes 2-3 s, this 1 ms).
fn postfix_dirs(sdir: &Path) {
    let files = std::fs::read_to_string("/etc/postfix/postfix-files").unwrap();
    let (postfix_uid, _) = user("postfix");
    let postdrop_gid = group("postdrop");
    for line in files.lines() {
        // $queue_directory/maildrop:d:$mail_owner:$setgid_group:730:uc
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 5 || f[1] != "d" {
            continue;
        }
        let path = if let Some(rest) = f[0].strip_prefix("$queue_directory") {
            sdir.join("queue").join(rest.trim_start_matches('/'))
        } else if f[0] == "$data_directory" {
            sdir.join("data")
        } else {
            continue;
        };
        let uid = if f[2] == "$mail_owner" {
            postfix_uid
        } else {
            0
        };
        let gid = if f[3] == "$setgid_group" {
            postdrop_gid
        } else {
            0
        };
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        chmod(&path, u32::from_str_radix(f[4], 8).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// dovecot

/// Dovecot (master in the foreground as root; logins run as `dovenull`, mail as `dovecot`):
/// ports "imap" and "pop3" (STARTTLS / STLS), "imaps" and "pop3s" (implicit TLS), all on
/// `listen` (in 127.0.0.0/8). `disable_plaintext_auth = yes`, any user with password `secret`,
/// TLS 1.2 and up. Dovecot counts a connection whose local and remote addresses are equal as
/// secure: only on a `listen` other than 127.0.0.1 (e.g. 127.0.0.2; the client still comes
/// from 127.0.0.1) does the pre-TLS banner carry `LOGINDISABLED`.
pub fn dovecot(dir: &Path, tls: Tls, listen: &str) -> Service {
    require("dovecot", "dovecot-imapd and dovecot-pop3d");
    let t0 = Instant::now();
    let ip = loopback(listen);
    let sdir = service_dir(dir, "dovecot");
    let (cert, key) = copy_tls(&tls, &sdir, None);
    for d in ["run", "state", "home"] {
        std::fs::create_dir(sdir.join(d)).unwrap();
    }
    let dovecot_user = user("dovecot");
    chown_r(&sdir.join("home"), dovecot_user);
    let conf = sdir.join("dovecot.conf");
    let log = sdir.join("dovecot.log");
    let stdout = sdir.join("dovecot.out");
    let d = sdir.display();
    let base = format!(
        "base_dir = {d}/run
state_dir = {d}/state
instance_name = vetcrypt-test-{pid}
log_path = {log}
protocols = imap pop3
listen = {ip}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
",
        pid = std::process::id(),
        log = log.display(),
        cert = cert.display(),
        key = key.display(),
        uid = dovecot_user.0,
    );
    Launch {
        name: "dovecot",
        sdir: &sdir,
        ip,
        port_names: &["imap", "pop3", "imaps", "pop3s"],
        logs: vec![log.clone(), stdout.clone()],
        checks: &[
            ("imap", Ready::Greets("* OK")),
            ("pop3", Ready::Greets("+OK")),
            ("imaps", Ready::Accept),
            ("pop3s", Ready::Accept),
        ],
        t0,
    }
    .run(|ports| {
        let p = |n: &str| ports.iter().find(|(k, _)| *k == n).unwrap().1;
        let listener = |name: &str, ssl: bool| {
            format!(
                "  inet_listener {name} {{\n    address = {ip}\n    port = {}\n{}  }}\n",
                p(name),
                if ssl { "    ssl = yes\n" } else { "" }
            )
        };
        write(
            &conf,
            &format!(
                "{base}service imap-login {{\n{}{}}}\nservice pop3-login {{\n{}{}}}\n",
                listener("imap", false),
                listener("imaps", true),
                listener("pop3", false),
                listener("pop3s", true),
            ),
        );
        let mut c = daemon("/usr/sbin/dovecot", &stdout);
        c.arg("-F").arg("-c").arg(&conf);
        vec![proc(spawn(c, "dovecot"))]
    })
}

// ---------------------------------------------------------------------------------------------
// slapd

/// OpenLDAP's slapd in the foreground (as root), suffix `dc=svc,dc=test` (empty), rootdn
/// `cn=admin,dc=svc,dc=test` / `secret`: port "ldap" (StartTLS extended operation) and "ldaps"
/// (implicit TLS). `require_tls`: `security tls=1`, so operations other than StartTLS (and
/// bind) before TLS get confidentialityRequired (resultCode 13).
pub fn slapd(dir: &Path, tls: Tls, require_tls: bool) -> Service {
    require("slapd", "slapd");
    let t0 = Instant::now();
    let sdir = service_dir(dir, "slapd");
    let (cert, key) = copy_tls(&tls, &sdir, None);
    std::fs::create_dir(sdir.join("data")).unwrap();
    let d = sdir.display();
    let conf = sdir.join("slapd.conf");
    write(
        &conf,
        &format!(
            "include         /etc/ldap/schema/core.schema
pidfile         {d}/slapd.pid
argsfile        {d}/slapd.args
modulepath      /usr/lib/ldap
moduleload      back_mdb
TLSCertificateFile    {cert}
TLSCertificateKeyFile {key}
{security}
database        mdb
maxsize         10485760
suffix          \"dc=svc,dc=test\"
rootdn          \"cn=admin,dc=svc,dc=test\"
rootpw          secret
directory       {d}/data
",
            cert = cert.display(),
            key = key.display(),
            security = if require_tls { "security tls=1\n" } else { "" },
        ),
    );
    let log = sdir.join("slapd.log");
    Launch {
        name: "slapd",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names: &["ldap", "ldaps"],
        logs: vec![log.clone()],
        checks: &[("ldap", Ready::LdapAnswer), ("ldaps", Ready::Accept)],
        t0,
    }
    .run(|ports| {
        let p = |n: &str| ports.iter().find(|(k, _)| *k == n).unwrap().1;
        let mut c = daemon("/usr/sbin/slapd", &log);
        // -d: stay in the foreground; "stats" logs connections and operations to stderr.
        c.args(["-d", "stats", "-f"])
            .arg(&conf)
            .arg("-h")
            .arg(format!(
                "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
                p("ldap"),
                p("ldaps")
            ));
        vec![proc(spawn(c, "slapd"))]
    })
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// PostgreSQL (the newest installed major version) as `postgres` through setpriv, user
/// `postgres` trusted without a password, `ssl = on`: port "postgres". `require_ssl`: pg_hba.conf
/// has `hostssl ... trust` and `hostnossl ... reject`, so a plain startup packet gets
/// `FATAL: pg_hba.conf rejects connection for host "127.0.0.1", user "postgres", database
/// "postgres", no encryption` (SSLRequest still answers `S`); otherwise a `host` line (TLS
/// optional).
pub fn postgres(dir: &Path, tls: Tls, require_ssl: bool) -> Service {
    require("postgres", "postgresql");
    let t0 = Instant::now();
    let bin = pg_bin().unwrap();
    let sdir = service_dir(dir, "postgres");
    let pg = user("postgres");
    let (cert, key) = copy_tls(&tls, &sdir, Some(pg));
    chown_r(&sdir, pg);
    let setup_log = sdir.join("setup.log");
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
    ])
    .arg(bin.join("initdb"))
    .arg("-D")
    .arg(sdir.join("data"))
    .args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    ]);
    run(c, "initdb", &setup_log).unwrap_or_else(|e| panic!("{e}"));
    let data = sdir.join("data");
    let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    conf.push_str(&format!(
        "\n# vetcrypt test server\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\nlogging_collector = off\n",
        sdir.display(),
        cert.display(),
        key.display()
    ));
    write(&data.join("postgresql.conf"), &conf);
    let hba = if require_ssl {
        "local     all all              trust\n\
hostssl   all all 127.0.0.1/32 trust\n\
hostnossl all all 0.0.0.0/0    reject\n"
    } else {
        "local all all              trust\nhost  all all 127.0.0.1/32 trust\n"
    };
    write(&data.join("pg_hba.conf"), hba);
    let log = sdir.join("postgres.log");
    Launch {
        name: "postgres",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names: &["postgres"],
        logs: vec![log.clone(), setup_log],
        checks: &[("postgres", Ready::Postgres)],
        t0,
    }
    .run(|ports| {
        let mut c = as_user("postgres", bin.join("postgres"), &log);
        c.arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&sdir)
            .args(["-h", "127.0.0.1", "-p"])
            .arg(ports[0].1.to_string());
        vec![Proc {
            child: spawn(c, "postgres"),
            stop: libc::SIGINT,
        }]
    })
}

// ---------------------------------------------------------------------------------------------
// vsftpd

/// vsftpd, two foreground processes as root (sessions drop to `nobody`), anonymous read-only
/// FTP of an empty root where TLS is forced for login and data: port "ftp" (AUTH TLS; USER
/// before it gets `530 Anonymous sessions must use encryption.`) and "ftps" (implicit TLS).
/// Passive mode only, one passive port per listener. TLS 1.2 and up.
pub fn vsftpd(dir: &Path, tls: Tls) -> Service {
    require("vsftpd", "vsftpd");
    let t0 = Instant::now();
    let sdir = service_dir(dir, "vsftpd");
    let (cert, key) = copy_tls(&tls, &sdir, None);
    for d in ["empty", "ftproot"] {
        std::fs::create_dir(sdir.join(d)).unwrap();
        chmod(&sdir.join(d), 0o755);
    }
    let out = sdir.join("vsftpd.out");
    let logs = vec![
        sdir.join("vsftpd-ftp.log"),
        sdir.join("vsftpd-ftps.log"),
        out.clone(),
    ];
    Launch {
        name: "vsftpd",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names: &["ftp", "ftps", "ftp-pasv", "ftps-pasv"],
        logs,
        checks: &[("ftp", Ready::Greets("220")), ("ftps", Ready::Accept)],
        t0,
    }
    .run(|ports| {
        let p = |n: &str| ports.iter().find(|(k, _)| *k == n).unwrap().1;
        ["ftp", "ftps"]
            .iter()
            .map(|which| {
                let pasv = p(&format!("{which}-pasv"));
                let d = sdir.display();
                let conf = sdir.join(format!("{which}.conf"));
                write(
                    &conf,
                    &format!(
                        "listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
run_as_launching_user=NO
seccomp_sandbox=NO
secure_chroot_dir={d}/empty
anonymous_enable=YES
anon_root={d}/ftproot
no_anon_password=YES
local_enable=NO
write_enable=NO
connect_from_port_20=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port={pasv}
pasv_max_port={pasv}
xferlog_enable=YES
vsftpd_log_file={d}/vsftpd-{which}.log
xferlog_file={d}/xferlog-{which}.log
ssl_enable=YES
implicit_ssl={implicit}
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
require_ssl_reuse=NO
rsa_cert_file={cert}
rsa_private_key_file={key}
",
                        port = p(which),
                        implicit = if *which == "ftps" { "YES" } else { "NO" },
                        cert = cert.display(),
                        key = key.display(),
                    ),
                );
                let mut c = daemon("/usr/sbin/vsftpd", &out);
                c.arg(&conf);
                proc(spawn(c, "vsftpd"))
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// prosody

/// prosody in the foreground as `prosody` through setpriv, one VirtualHost `domain` (clients
/// must name it: `openssl s_client -xmpphost DOMAIN`): port "xmpp" (c2s, STARTTLS,
/// `c2s_require_encryption`, so the features carry `<starttls ...><required/></starttls>`),
/// "xmpps" (c2s direct TLS, XEP-0368) and "xmpp-server" (s2s, STARTTLS offered; never
/// connects out on its own).
pub fn prosody(dir: &Path, tls: Tls, domain: &str) -> Service {
    require("prosody", "prosody");
    assert!(
        !domain.is_empty()
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c)),
        "prosody domain {domain:?}"
    );
    let t0 = Instant::now();
    let sdir = service_dir(dir, "prosody");
    let owner = user("prosody");
    let (cert, key) = copy_tls(&tls, &sdir, Some(owner));
    std::fs::create_dir(sdir.join("data")).unwrap();
    std::fs::create_dir(sdir.join("certs")).unwrap();
    chown_r(&sdir, owner);
    let conf = sdir.join("prosody.cfg.lua");
    let log = sdir.join("prosody.log");
    let out = sdir.join("prosody.out");
    Launch {
        name: "prosody",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names: &["xmpp", "xmpps", "xmpp-server"],
        logs: vec![log.clone(), out.clone()],
        checks: &[
            ("xmpp", Ready::Accept),
            ("xmpps", Ready::Accept),
            ("xmpp-server", Ready::Accept),
        ],
        t0,
    }
    .run(|ports| {
        let p = |n: &str| ports.iter().find(|(k, _)| *k == n).unwrap().1;
        let d = sdir.display();
        write(
            &conf,
            &format!(
                "pidfile = \"{d}/prosody.pid\"
data_path = \"{d}/data\"
certificates = \"{d}/certs\"
log = {{ {{ levels = {{ min = \"info\" }}, to = \"file\", filename = \"{log}\" }} }}
interfaces = {{ \"127.0.0.1\" }}
local_interfaces = {{ \"127.0.0.1\" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ {direct} }}
s2s_ports = {{ {s2s} }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ \"tls\"; \"saslauth\"; \"disco\"; \"ping\"; \"posix\"; \"dialback\" }}
c2s_require_encryption = true
s2s_require_encryption = false
s2s_secure_auth = false
allow_registration = false
authentication = \"internal_hashed\"
storage = \"internal\"
ssl = {{ certificate = \"{cert}\"; key = \"{key}\" }}

VirtualHost \"{domain}\"
  ssl = {{ certificate = \"{cert}\"; key = \"{key}\" }}
",
                log = log.display(),
                c2s = p("xmpp"),
                direct = p("xmpps"),
                s2s = p("xmpp-server"),
                cert = cert.display(),
                key = key.display(),
            ),
        );
        chown_r(&conf, owner);
        let mut c = as_user("prosody", "/usr/bin/prosody", &out);
        c.arg("--config").arg(&conf).arg("-F");
        vec![proc(spawn(c, "prosody"))]
    })
}

// ---------------------------------------------------------------------------------------------
// MariaDB

/// MariaDB (started as root, `user = mysql`: it drops to mysql itself, same PID), root without
/// a password, `ssl-cert`/`ssl-key` set so the greeting advertises CLIENT_SSL: port "mysql".
/// TLS is optional (no `require-secure-transport`).
pub fn mariadb(dir: &Path, tls: Tls) -> Service {
    require("mariadb", "mariadb-server");
    let t0 = Instant::now();
    let sdir = service_dir(dir, "mariadb");
    let mysql = user("mysql");
    let (cert, key) = copy_tls(&tls, &sdir, Some(mysql));
    let d = sdir.display();
    let cnf = sdir.join("my.cnf");
    write(
        &cnf,
        &format!(
            "[mariadbd]
user          = mysql
datadir       = {d}/data
socket        = {d}/mysqld.sock
pid-file      = {d}/mysqld.pid
log-error     = {d}/mysqld.err
bind-address  = 127.0.0.1
skip-name-resolve
skip-log-bin
# Every handshake a scan breaks off counts as a connection error: past 100 from one address
# the server blocks it (a scanner's hazard the README names).
max-connect-errors = 1000000
innodb-buffer-pool-size = 32M
innodb-log-file-size    = 8M
innodb-flush-log-at-trx-commit = 0
ssl-cert      = {cert}
ssl-key       = {key}

[client]
socket        = {d}/mysqld.sock
user          = root
",
            cert = cert.display(),
            key = key.display(),
        ),
    );
    chown_r(&sdir, mysql);
    let setup_log = sdir.join("setup.log");
    let mut c = Command::new("/usr/bin/mariadb-install-db");
    c.arg(format!("--defaults-file={}", cnf.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    run(c, "mariadb-install-db", &setup_log).unwrap_or_else(|e| panic!("{e}"));
    let out = sdir.join("mariadbd.out");
    Launch {
        name: "mariadb",
        sdir: &sdir,
        ip: loopback("127.0.0.1"),
        port_names: &["mysql"],
        logs: vec![sdir.join("mysqld.err"), out.clone()],
        checks: &[("mysql", Ready::MysqlGreeting)],
        t0,
    }
    .run(|ports| {
        let mut c = daemon("/usr/sbin/mariadbd", &out);
        // --defaults-file must come first.
        c.arg(format!("--defaults-file={}", cnf.display()))
            .arg(format!("--port={}", ports[0].1));
        vec![proc(spawn(c, "mariadbd"))]
    })
}
