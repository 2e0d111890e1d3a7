#!/usr/bin/env bash
# vetcrypt's whole test suite, from a fresh clone: installs the real peers the tests talk to
# (openssl for `s_server`, nginx and its stream module, tinyproxy and microsocks, moto's AWS KMS server in target/moto-venv, chromium for the HTML
# report, and the STARTTLS / implicit-TLS servers postfix, dovecot, slapd, PostgreSQL, vsftpd,
# prosody and MariaDB, none of them started by the install), then checks formatting
# and lints, then runs every test.
# Every peer listens on 127.0.0.1 (or another address in 127.0.0.0/8) only; nothing here sends
# traffic anywhere else. The STARTTLS servers need root to start (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-off build gains nothing from incremental caches, which cost gigabytes of CI's disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
# nginx's stream module: the layer-4 round-robin load balancer of tests/addresses.rs.
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
# The proxies of tests/proxies.rs: HTTP CONNECT and SOCKS5.
[ -x /usr/bin/tinyproxy ] || missing+=(tinyproxy)
[ -x /usr/bin/microsocks ] || missing+=(microsocks)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# Debian's Chromium renders the HTML review document in tests/document.rs (headless, offline).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Real servers with STARTTLS and implicit TLS (tests/common/services.rs), each run by the tests
# from a config in a temporary folder: postfix (SMTP, submission, smtps), dovecot (IMAP, POP3
# and their TLS ports), slapd (LDAP StartTLS, ldaps), PostgreSQL, vsftpd (AUTH TLS, implicit
# FTPS), prosody (XMPP c2s and s2s) and MariaDB. setpriv (util-linux) runs PostgreSQL and
# prosody as their own users; psql checks PostgreSQL's pg_hba rules.
[ -x /usr/lib/postfix/sbin/master ] || missing+=(postfix)
[ -x /usr/lib/dovecot/imap-login ] || missing+=(dovecot-imapd)
[ -x /usr/lib/dovecot/pop3-login ] || missing+=(dovecot-pop3d)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
[ -x /usr/sbin/vsftpd ] || missing+=(vsftpd)
[ -x /usr/bin/prosody ] || missing+=(prosody)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing test peers: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # No system-wide configuration for postfix and slapd: the tests bring their own.
  printf '%s\n' 'postfix postfix/main_mailer_type select No configuration' \
    'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections
  # The packaged daemons must not start (dovecot, vsftpd, prosody, MariaDB and PostgreSQL would
  # otherwise listen on their standard ports): a policy-rc.d that denies every start, for the
  # install only, unless the image has one already.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$policy" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
fi
# moto's server plays AWS KMS for tests/kms.rs (Cloud KMS is a contract fake inside the tests).
venv=target/moto-venv
if ! "$venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; then
  echo "== installing moto[server] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'moto[server]>=5.1,<6'
fi
# Microsoft's SARIF multitool (`validate --rule-kind "Sarif;Gh"`: the SARIF spec's rules and
# GitHub's ingestion rules) checks every SARIF file the tests write (tests/common/platforms.rs).
# A self-contained .NET build from npm; the tests run it in a network namespace of its own.
multitool=target/sarif-multitool
multitool_bin=$multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
if [ ! -x "$multitool_bin" ]; then
  echo "== installing @microsoft/sarif-multitool into $multitool"
  command -v npm >/dev/null 2>&1 || {
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
  }
  mkdir -p "$multitool"
  npm install --prefix "$multitool" --no-audit --no-fund --silent @microsoft/sarif-multitool@5.7.0
  chmod u+x "$multitool_bin"   # its postinstall step, which npm may not run
fi
echo "== peers: $(openssl version); $( (/usr/sbin/nginx -v || nginx -v) 2>&1 | head -1); moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)')"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --locked

# Fuzz smoke, each target for a bounded time (fuzz/fuzz_targets/): server_flight (records,
# ServerHello, Certificate, ServerKeyExchange: 60 s), cert_facts (DER → certificate facts),
# input_files (policy, plan, vendor, targets and waiver parsers), peer_text (the safe forms:
# no control byte in the terminal form, the XML form parses back) and starttls (a server's
# bytes before TLS, in every protocol): 30 s each. cargo-fuzz needs
# nightly flags: RUSTC_BOOTSTRAP lets this stable toolchain accept them; no sanitizer keeps the
# build short. VETCRYPT_SKIP_FUZZ=1 skips it for quick local runs.
if [ "${VETCRYPT_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke"
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
  mkdir -p target
  for spec in server_flight:60 cert_facts:30 input_files:30 peer_text:30 starttls:30; do
    name=${spec%%:*}
    secs=${spec##*:}
    mkdir -p "fuzz/corpus/$name"
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$name" --sanitizer none --target-dir target/fuzz \
      "fuzz/corpus/$name" -- -runs=2000000 -max_total_time="$secs" -max_len=8192 -print_final_stats=1 \
      >"target/fuzz-$name.log" 2>&1; then
      tail -60 "target/fuzz-$name.log"
      echo "fuzz smoke FAILED: the crashing input is under fuzz/artifacts/$name/"
      exit 1
    fi
    echo "fuzz $name: $(grep -E '^stat::number_of_executed_units' "target/fuzz-$name.log")"
  done
fi
