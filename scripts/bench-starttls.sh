#!/usr/bin/env bash
# vetcrypt against sslscan and testssl.sh over SMTP STARTTLS, one real postfix, in one run.
#
#   sudo bash scripts/bench-starttls.sh
#   VETCRYPT=/path/to/vetcrypt RUNS=5 RTT=50 bash scripts/bench-starttls.sh
#
# Environment (all optional):
#   RUNS          runs of each tool; the table shows the median          [3]
#   RTT           round-trip time in ms through scripts/delay_proxy.py   [0 = no proxy]
#   TOOLS         vetcrypt sslscan testssl                               [all three]
#   TOOL_TIMEOUT  seconds before one tool run is stopped                 [600] (shown as TIMEOUT)
#   VETCRYPT      the binary [${CARGO_TARGET_DIR:-target}/release/vetcrypt, built if missing]
#   OUT           where logs and the table go                            [target/bench-starttls]
#
# Must run as root (postfix's master refuses to run otherwise). Only 127.0.0.1 is ever
# contacted, and only 127.0.0.1 is listened on. What runs:
#   Lab: one postfix (Debian's, /usr/lib/postfix/sbin/master -d, its own config, queue and log
#   in a temp dir; recipe: the postfix notes of the STARTTLS research) with one smtpd on a free
#   port of 127.0.0.1: port-25 style, STARTTLS offered but not required
#   (smtpd_tls_security_level = may), TLS 1.2 and 1.3 only, a leaf for mail.test (RSA-2048)
#   signed by a throwaway CA (both made with openssl in the temp dir). It is checked first:
#   EHLO offers STARTTLS, `openssl s_client -starttls smtp` verifies against the CA, TLS 1.1 is
#   refused. Stopped (SIGTERM to the master's PID, then its process group) and removed at exit.
#
#   Network: with RTT > 0, a fresh scripts/delay_proxy.py (a TCP delay line on 127.0.0.1,
#   RTT/2 each way plus the TCP handshake's round trip) for every tool run, in front of postfix;
#   every tool goes through it. Its own connection count is shown next to postfix's (proxy);
#   its per-connection log (accept/close times) is $OUT/logs/RUN-TOOL.proxy.log.
#
#   Tools, one at a time (round-robin: vetcrypt, sslscan, testssl, then again RUNS times), each
#   under `timeout $TOOL_TIMEOUT`, output in $OUT/logs/RUN-TOOL.*:
#     vetcrypt  vetcrypt scan smtp://127.0.0.1:PORT --sni mail.test --ca-file CA --no-proxy
#               --format json=$OUT/logs/RUN-vetcrypt.json   (exit 1 = a policy failed, not an error)
#     sslscan   sslscan --no-colour --starttls-smtp 127.0.0.1:PORT   (its default checks)
#     testssl   testssl --quiet --warnings off --color 0 --nodns none -t smtp -p -E -P -f -S -R -C
#               -Z 127.0.0.1:PORT  (Debian's testssl.sh): protocols, ciphers per protocol, server
#               preference, forward secrecy, server defaults, renegotiation, compression, fallback
#               SCSV; no -h (no HTTP here).
#
#   Connections: counted with postfix's own log, the `smtpd[...]: connect from` lines each run
#   added to the maillog (after waiting until as many `disconnect from` lines were written).
#
# Missing tools are installed (Debian: apt-get update once, then postfix preseeded to "No
# configuration", sslscan, testssl.sh, openssl, jq); a tool that cannot be installed is skipped and
# said so. The table goes to standard output and $OUT/table.txt:
#   seconds   median wall time of the RUNS runs  (all: every run's time)
#   x_sslscan this tool's median / sslscan's median
#   conns     connections postfix logged, median (all: every run's count)
#   proxy     with RTT > 0, every run's connections/most open at once, as the delay proxy saw them
#   tls       the protocol versions the tool reported as offered (from its last run's output)
#   exit      every run's exit status
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RUNS=${RUNS:-3}
RTT=${RTT:-0}
TOOLS=${TOOLS:-"vetcrypt sslscan testssl"}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-600}
VETCRYPT=${VETCRYPT:-${CARGO_TARGET_DIR:-target}/release/vetcrypt}
OUT=${OUT:-$root/target/bench-starttls}
logs=$OUT/logs
table=$OUT/table.txt
proxy=$root/scripts/delay_proxy.py
pf_daemons=/usr/lib/postfix/sbin

say() { printf '== %s\n' "$*" >&2; }
has() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

[ "$(id -u)" = 0 ] || { say "must run as root: postfix's master refuses to run otherwise"; exit 2; }
case $RUNS in '' | *[!0-9]* | 0) say "RUNS must be a positive integer"; exit 2 ;; esac
case $RTT in '' | *[!0-9.]*) say "RTT must be a number of milliseconds"; exit 2 ;; esac
use_proxy=$(awk -v r="$RTT" 'BEGIN { print (r > 0) ? "true" : "false" }')

# ---- install what is missing ------------------------------------------------------------
apt_updated=false
apt_install() { # PACKAGE... -> 0 if installed
  if ! $apt_updated; then
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
skipped=()
skip_tool() { # TOOL REASON
  skipped+=("$1: $2")
  say "skipping $1: $2"
  TOOLS=$(tr ' ' '\n' <<<"$TOOLS" | grep -vx "$1" | tr '\n' ' ')
}

command -v openssl >/dev/null 2>&1 || apt_install openssl || { say "openssl is missing and could not be installed"; exit 1; }
command -v python3 >/dev/null 2>&1 || { say "python3 is needed (free ports, the delay proxy)"; exit 1; }
command -v jq >/dev/null 2>&1 || apt_install jq || say "no jq: vetcrypt's TLS versions are shown as ?"
if ! command -v postfix >/dev/null 2>&1 || [ ! -x "$pf_daemons/master" ]; then
  # "No configuration": the package writes no /etc/postfix/main.cf (we always pass -c DIR).
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections 2>/dev/null || true
  echo 'postfix postfix/mailname string mail.test' | debconf-set-selections 2>/dev/null || true
  apt_install postfix || { say "postfix is missing and could not be installed"; exit 1; }
fi
if has sslscan && ! command -v sslscan >/dev/null 2>&1; then
  apt_install sslscan || skip_tool sslscan "apt-get install sslscan failed"
fi
if has testssl && ! command -v testssl >/dev/null 2>&1; then
  apt_install testssl.sh || skip_tool testssl "apt-get install testssl.sh failed"
fi
if has vetcrypt && [ ! -x "$VETCRYPT" ]; then
  say "building vetcrypt (cargo build --release)"
  nice -n 10 cargo build --release --quiet || true
  [ -x "$VETCRYPT" ] || skip_tool vetcrypt "no binary at $VETCRYPT (cargo build --release failed?)"
fi

# ---- lab: one postfix --------------------------------------------------------------------
tmp=$(mktemp -d /tmp/bench-starttls.XXXXXX)
chmod 711 "$tmp" # postfix's children (user postfix) must traverse it to reach data/ and the log
master_pid=""
current=() # the proxy and the tool of the run in progress (cleared once they have ended)
cleanup() {
  local p pg
  for p in "${current[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${current[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
    kill -TERM "$master_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$master_pid" 2>/dev/null || break; sleep 0.05; done
    wait "$master_pid" 2>/dev/null || true
  fi
  if [ -n "$master_pid" ]; then
    # The master was started with setsid: its children (smtpd, qmgr, ...) share its process
    # group and exit by themselves once it is gone; whatever is still alive after 2 s is killed.
    pg=$master_pid
    for _ in $(seq 40); do
      pgrep -g "$pg" 2>/dev/null | xargs -r ps -o stat= -p | grep -qv '^Z' || break
      sleep 0.05
    done
    kill -KILL -- "-$pg" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_banner() { # PORT SECONDS -> 0 once a "220 " banner is read there
  local line deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
      line=""
      read -r -t 3 line <&3 || true
      printf 'QUIT\r\n' >&3 2>/dev/null || true
      exec 3<&- 3>&-
      [[ $line == "220 "* ]] && return 0
    fi
    sleep 0.05
  done
  return 1
}
smtp_ehlo() { # PORT -> the EHLO reply, in plain text
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  read -r -t 5 line <&3
  printf 'EHLO client.test\r\n' >&3
  while read -r -t 5 line <&3; do
    line=${line%$'\r'}
    echo "$line"
    [[ $line == "250 "* ]] && break
  done
  printf 'QUIT\r\n' >&3
  exec 3<&- 3>&-
}

# Certificates: a CA and a leaf for mail.test signed by it (the leaf alone is served).
ca=$tmp/ca.pem
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=vetcrypt bench STARTTLS CA" \
  -keyout "$tmp/ca.key" -out "$ca" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
openssl req -new -newkey rsa:2048 -nodes -subj /CN=mail.test -keyout "$tmp/key.pem" -out "$tmp/leaf.csr" >/dev/null 2>&1
printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
  extendedKeyUsage=serverAuth subjectAltName=DNS:mail.test >"$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$ca" -CAkey "$tmp/ca.key" -CAcreateserial -days 30 \
  -sha256 -extfile "$tmp/leaf.ext" -out "$tmp/cert.pem" >/dev/null 2>&1
chmod 600 "$tmp/key.pem" "$tmp/ca.key"

port=$(free_port)
pf=$tmp/postfix
mkdir -p "$pf/etc" "$pf/queue" # queue_directory must exist (root-owned) before `postfix check`
maillog=$pf/maillog
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
maillog_file = $maillog
maillog_file_prefixes = $pf
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
smtpd_tls_cert_file = $tmp/cert.pem
smtpd_tls_key_file = $tmp/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtp_tls_security_level = none
EOF
# chroot (5th column) n everywhere: Debian's y would need a populated chroot.
cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
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
discard    unix  - - n -     - discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
# `postfix check` makes the queue's subdirectories and data/ with the right owners; without a
# TTY or /dev/log its errors only reach the maillog.
if ! postfix -c "$pf/etc" check >"$tmp/check.log" 2>&1; then
  say "postfix check failed:"
  cat "$tmp/check.log" "$maillog" 2>/dev/null >&2 || true
  exit 1
fi
# master -d stays in the foreground: $! is the master's PID, and (setsid) its process group.
(cd / && exec setsid "$pf_daemons/master" -c "$pf/etc" -d </dev/null >"$tmp/master.out" 2>&1) &
master_pid=$!
if ! wait_banner "$port" 20; then
  say "postfix did not answer on 127.0.0.1:$port; its log:"
  cat "$maillog" "$tmp/master.out" 2>/dev/null >&2 || true
  exit 1
fi

# Not one listener of this postfix beyond 127.0.0.1.
if ss -Hltnp 2>/dev/null | grep -F "pid=$master_pid," | awk '{ print $4 }' | grep -qv '^127\.0\.0\.1:'; then
  say "postfix listens beyond 127.0.0.1; stopping"
  exit 1
fi

lab_ok=true
ehlo=$(smtp_ehlo "$port" || true)
grep -q '^250-STARTTLS' <<<"$ehlo" || { say "lab check failed: EHLO does not offer STARTTLS"; lab_ok=false; }
s_client() { # ARGS... -> 0 if the STARTTLS handshake (verified against the CA) succeeds
  timeout 10 openssl s_client -starttls smtp -connect "127.0.0.1:$port" -servername mail.test \
    -verify_hostname mail.test -CAfile "$ca" -verify_return_error "$@" </dev/null >/dev/null 2>&1
}
s_client -tls1_3 || { say "lab check failed: TLS 1.3 over STARTTLS (verified for mail.test)"; lab_ok=false; }
s_client -tls1_2 || { say "lab check failed: TLS 1.2 over STARTTLS"; lab_ok=false; }
if s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then say "lab check failed: TLS 1.1 accepted"; lab_ok=false; fi
$lab_ok || { say "the lab does not behave as described; its log:"; cat "$maillog" >&2; exit 1; }
say "postfix $(postconf -c "$pf/etc" -h mail_version 2>/dev/null) (master pid $master_pid) on 127.0.0.1:$port: STARTTLS, TLS 1.2 + 1.3, checked with s_client"

# ---- runs --------------------------------------------------------------------------------
mkdir -p "$logs"
rm -f "$logs"/*
rows=$tmp/rows.tsv
: >"$rows"
versions=()
has vetcrypt && versions+=("$("$VETCRYPT" --version 2>/dev/null | head -1)")
has sslscan && versions+=("sslscan $(sslscan --version 2>/dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1)")
has testssl && versions+=("testssl.sh $(dpkg-query -W -f '${Version}' testssl.sh 2>/dev/null || echo '?')")

tool_cmd() { # TOOL PORT RUN -> the command in array cmd
  local target=127.0.0.1:$2
  case $1 in
    vetcrypt) cmd=("$VETCRYPT" scan "smtp://$target" --sni mail.test --ca-file "$ca" --no-proxy --format "json=$logs/$3-vetcrypt.json") ;;
    sslscan) cmd=(sslscan --no-colour --starttls-smtp "$target") ;;
    testssl) cmd=(testssl --quiet --warnings off --color 0 --nodns none -t smtp -p -E -P -f -S -R -C -Z "$target") ;;
  esac
}

log_counts() { # FROM-BYTE -> "connects disconnects" in the maillog after FROM-BYTE
  tail -c "+$(($1 + 1))" "$maillog" 2>/dev/null |
    awk '/postfix\/smtpd\[[0-9]+\]: connect from / { c++ } /postfix\/smtpd\[[0-9]+\]: disconnect from / { d++ }
         END { print c + 0, d + 0 }'
}
log_settle() { # FROM-BYTE -> the connect count, once every session has logged its end (<= 10 s)
  local c=0 d=0 prev=""
  for _ in $(seq 200); do
    read -r c d < <(log_counts "$1")
    if [ "$c" = "$d" ] && [ "$c $d" = "$prev" ]; then break; fi
    prev="$c $d"
    sleep 0.05
  done
  [ "$c" = "$d" ] || say "the maillog shows $c connects but $d disconnects"
  echo "$c"
}

log_settle 0 >/dev/null # the checks' connections, out of the way
for run in $(seq "$RUNS"); do
  for tool in $TOOLS; do
    offset=$(stat -c %s "$maillog")
    target_port=$port
    if $use_proxy; then
      rm -f "$tmp/pport" "$tmp/stats"
      python3 "$proxy" --upstream-port "$port" --rtt-ms "$RTT" --port-file "$tmp/pport" \
        --stats-file "$tmp/stats" --log-file "$logs/$run-$tool.proxy.log" </dev/null >/dev/null 2>&1 &
      proxy_pid=$!
      current=("$proxy_pid")
      for _ in $(seq 200); do [ -s "$tmp/pport" ] && break; sleep 0.025; done
      [ -s "$tmp/pport" ] || { say "the delay proxy did not start"; exit 1; }
      target_port=$(cat "$tmp/pport")
    fi
    tool_cmd "$tool" "$target_port" "$run"
    start=$(date +%s.%N)
    # In the background and waited for, so that an interrupt stops it at once (cleanup).
    timeout -k 10 "$TOOL_TIMEOUT" "${cmd[@]}" </dev/null >"$logs/$run-$tool.log" 2>&1 &
    tool_pid=$!
    current+=("$tool_pid")
    rc=0
    wait "$tool_pid" || rc=$?
    end=$(date +%s.%N)
    pconns=-
    if $use_proxy; then
      current=("$proxy_pid")
      kill -TERM "$proxy_pid" 2>/dev/null || true
      wait "$proxy_pid" 2>/dev/null || true
      pconns=$(sed -n 's/.*connections=\([0-9]*\) max_open=\([0-9]*\).*/\1\/\2/p' "$tmp/stats" 2>/dev/null)
    fi
    current=()
    conns=$(log_settle "$offset")
    secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
    case $rc in 124 | 137) status=TIMEOUT ;; *) status=$rc ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$run" "$secs" "$conns" "${pconns:-?}" "$status" >>"$rows"
    say "$(printf 'run %s/%s  %-9s %8ss  %5s conns (postfix log)  proxy conns/max open %s  exit %s' \
      "$run" "$RUNS" "$tool" "$secs" "$conns" "${pconns:-?}" "$status")"
  done
done

# What each tool reported as offered, from its last run: does it see TLS 1.2 and 1.3 (and only
# them) through STARTTLS?
tls_found() { # TOOL -> e.g. "1.2 1.3"
  local f=$logs/$RUNS-$1
  case $1 in
    vetcrypt) [ -s "$f.json" ] && jq -r '[.endpoints[].facts.tls.protocols[]? | select(.support == "accepted")
        | .version | ltrimstr("TLSv")] | sort | join(" ")' "$f.json" 2>/dev/null ;;
    sslscan) sed -n 's/^TLSv\(1\.[0-3]\) *enabled.*/\1/p' "$f.log" | paste -sd ' ' - ;;
    testssl) sed -n -e 's/^ *TLS 1  *offered.*/1.0/p' -e 's/^ *TLS \(1\.[1-3]\)  *offered.*/\1/p' "$f.log" | paste -sd ' ' - ;;
  esac
}

# ---- table -------------------------------------------------------------------------------
found=$tmp/found.tsv
: >"$found"
for tool in $TOOLS; do printf '%s\t%s\n' "$tool" "$(tls_found "$tool" || true)" >>"$found"; done
{
  echo "vetcrypt STARTTLS benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, one postfix $(postconf -c "$pf/etc" -h mail_version 2>/dev/null) on 127.0.0.1 (smtpd, STARTTLS may, TLS >= 1.2), RUNS=$RUNS, RTT=${RTT} ms$($use_proxy && echo ' (delay proxy)' || echo ' (direct)')"
  printf '  %s\n' "${versions[@]}"
  for s in "${skipped[@]}"; do echo "  skipped $s"; done
  echo "  conns: smtpd 'connect from' lines in postfix's maillog per run; tls: versions the tool reported offered"
  echo
  awk -F'\t' -v found="$found" '
    function median(s,   a, n, t, i, j) {
      n = split(s, a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    BEGIN { while ((getline line < found) > 0) { split(line, f, "\t"); tls[f[1]] = f[2] } }
    {
      if (!($1 in secs)) order[++n] = $1
      secs[$1] = secs[$1] " " $3; conns[$1] = conns[$1] " " $4; px[$1] = px[$1] " " $5
      ex[$1] = ex[$1] " " $6; if ($6 == "TIMEOUT") to[$1] = 1
    }
    END {
      if ("sslscan" in secs && !("sslscan" in to)) base = median(secs["sslscan"])
      printf "%-9s %8s %9s %6s  %-22s %-16s %-22s %-9s %s\n", "tool", "seconds", "x_sslscan", "conns", "all seconds", "all conns", "proxy", "tls", "exit"
      for (i = 1; i <= n; i++) {
        t = order[i]; m = median(secs[t])
        ratio = (base > 0 && !(t in to)) ? sprintf("%.2f", m / base) : "-"
        printf "%-9s %8.2f %9s %6s  %-22s %-16s %-22s %-9s %s\n", t, m, ratio, median(conns[t]), substr(secs[t], 2), substr(conns[t], 2), substr(px[t], 2), (tls[t] == "" ? "?" : tls[t]), substr(ex[t], 2)
      }
    }' "$rows"
} | tee "$table"
