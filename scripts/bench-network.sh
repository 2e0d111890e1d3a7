#!/usr/bin/env bash
# vetcrypt against sslscan, testssl.sh and sslyze over a slow network, in one run (issue 16).
#
#   bash scripts/bench-network.sh
#   RTTS="0 50" TOOLS="vetcrypt sslscan" bash scripts/bench-network.sh
#
# Environment (all optional):
#   RTTS          round-trip times in ms                   [0 10 50 100]
#   TOOLS         vetcrypt sslscan testssl sslyze          [all four]
#   ENDPOINTS     modern everything cbc                    [all three]
#   TOOL_TIMEOUT  seconds before one tool run is stopped   [600] (shown as TIMEOUT)
#   VETCRYPT      the binary [${CARGO_TARGET_DIR:-target}/release/vetcrypt, built if missing]
#   VETCRYPT_CAP  vetcrypt's --max-conn-per-host, also the divisor of its lower bound [4]
#   LAB           nginx or s_server (openssl s_server, one connection at a time) [nginx]
#
# Only 127.0.0.1 is ever contacted. What runs:
#   Lab: three TLS endpoints on free ports of 127.0.0.1, one self-signed RSA-2048 certificate
#   (CN/SAN bench.test) made in a temp dir. nginx (one process, `master_process off`, serves
#   concurrent connections like a real server) with an HTTP 200 on every path; LAB=s_server
#   uses `openssl s_server -www` instead (serves one connection at a time: parallel clients wait).
#     modern      TLS 1.2 + 1.3, ECDHE AEAD suites only (ECDHE+AESGCM:ECDHE+CHACHA20)
#     everything  TLS 1.0-1.3, ALL:@SECLEVEL=0 (DHE with ffdhe2048), server order
#     cbc         TLS 1.0-1.2, ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA
#   Each endpoint is checked with `openssl s_client` (what it must accept and refuse) first.
#
#   Network: scripts/delay_proxy.py, a fresh one for every tool run, in front of the endpoint.
#   It delays every chunk RTT/2 in each direction (a delay line, order kept) and models the TCP
#   handshake's round trip (nothing the client sends reaches the server before accept + 1.5 RTT).
#   It counts the connections accepted and the most open at once (accept to the client's end).
#
#   Tools, one at a time, each under `timeout $TOOL_TIMEOUT`, output in target/bench-network-logs/:
#     vetcrypt  vetcrypt scan 127.0.0.1:PORT --trust none --max-conn-per-host $VETCRYPT_CAP
#               --format json --output target/bench-network-logs/RTT-ENDPOINT-vetcrypt.json
#               (exit 1 = a policy failed, not an error)
#     sslscan   sslscan --no-colour 127.0.0.1:PORT                (its default checks)
#     testssl   testssl --quiet --warnings off --color 0 --nodns none -p -E -P -f -S -R -C -Z -h
#               127.0.0.1:PORT  (Debian's testssl.sh): protocols, ciphers per protocol, server
#               preference, forward secrecy and curves, server defaults (certificate, tickets,
#               ALPN, stapling), renegotiation, compression, fallback SCSV, HTTP headers - about
#               what vetcrypt asks. --nodns none: no DNS query at all (no rDNS of 127.0.0.1).
#     sslyze    sslyze 127.0.0.1:PORT (its default scan commands; sslyze from PyPI in a venv,
#               target/bench-venv)
#
# Missing tools are installed (root, Debian: apt-get update once, then sslscan testssl.sh
# openssl nginx; sslyze with pip into the venv); a tool that cannot be installed is skipped and
# said so. The table goes to standard output and target/bench-network.txt:
#   seconds    wall time of the tool run          conns  connections the proxy accepted
#   max_open   most connections open at once      ms/conn  seconds / conns
#   x_vetcrypt this tool's seconds / vetcrypt's for the same RTT and endpoint
#   bound      vetcrypt only: conns x 2 RTT / VETCRYPT_CAP (each connection costs at least a TCP
#              and a TLS round trip, VETCRYPT_CAP of them at once); vc/bound = seconds / bound
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RTTS=${RTTS:-"0 10 50 100"}
TOOLS=${TOOLS:-"vetcrypt sslscan testssl sslyze"}
ENDPOINTS=${ENDPOINTS:-"modern everything cbc"}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-600}
VETCRYPT_CAP=${VETCRYPT_CAP:-4}
LAB=${LAB:-nginx}
VETCRYPT=${VETCRYPT:-${CARGO_TARGET_DIR:-target}/release/vetcrypt}
venv=$root/target/bench-venv
logs=$root/target/bench-network-logs
table=$root/target/bench-network.txt
proxy=$root/scripts/delay_proxy.py

say() { printf '== %s\n' "$*" >&2; }
has() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- install what is missing ------------------------------------------------------------
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_updated=false
apt_install() { # PACKAGE... -> 0 if installed
  if ! $apt_updated; then
    $sudo apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed"
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
}
skipped=()
skip_tool() { # TOOL REASON
  skipped+=("$1: $2")
  say "skipping $1: $2"
  TOOLS=$(tr ' ' '\n' <<<"$TOOLS" | grep -vx "$1" | tr '\n' ' ')
}

command -v openssl >/dev/null 2>&1 || apt_install openssl || { say "openssl is missing and could not be installed"; exit 1; }
command -v python3 >/dev/null 2>&1 || { say "python3 is needed for the delay proxy"; exit 1; }
if [ "$LAB" = nginx ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx-light || apt_install nginx || { say "no nginx: using openssl s_server"; LAB=s_server; }
fi
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
if has sslscan && ! command -v sslscan >/dev/null 2>&1; then
  apt_install sslscan || skip_tool sslscan "apt-get install sslscan failed"
fi
if has testssl && ! command -v testssl >/dev/null 2>&1; then
  apt_install testssl.sh || skip_tool testssl "apt-get install testssl.sh failed"
fi
install_sslyze() {
  python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q sslyze
}
if has sslyze && [ ! -x "$venv/bin/sslyze" ]; then
  say "installing sslyze into $venv (pip)"
  mkdir -p "$root/target"
  if ! install_sslyze >"$root/target/bench-venv.log" 2>&1; then
    # Debian's python3 needs python3-venv for `-m venv`.
    rm -rf "$venv"
    if ! { apt_install python3-venv && install_sslyze; } >>"$root/target/bench-venv.log" 2>&1; then
      skip_tool sslyze "pip install sslyze failed (see target/bench-venv.log)"
    fi
  fi
fi
if has vetcrypt && [ ! -x "$VETCRYPT" ]; then
  say "building vetcrypt (cargo build --release)"
  nice -n 10 cargo build --release --quiet || true
  [ -x "$VETCRYPT" ] || skip_tool vetcrypt "no binary at $VETCRYPT (cargo build --release failed?)"
fi

# ---- lab ---------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/bench-network.XXXXXX)
pids=()     # the lab's servers, for the whole run
current=()  # the proxy and the tool of the run in progress (cleared once they have ended)
cleanup() {
  local p
  for p in "${current[@]}" "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${current[@]}" "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # PORT -> 0 once something listens there
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 30 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test >/dev/null 2>&1
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$tmp/dh.pem" 2>/dev/null

declare -A port protocols ciphers prefer
protocols[modern]="TLSv1.2 TLSv1.3"
ciphers[modern]="ECDHE+AESGCM:ECDHE+CHACHA20"
prefer[modern]=off
protocols[everything]="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"
ciphers[everything]="ALL:@SECLEVEL=0"
prefer[everything]=on
protocols[cbc]="TLSv1 TLSv1.1 TLSv1.2"
ciphers[cbc]="ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA:@SECLEVEL=0"
prefer[cbc]=off
for ep in modern everything cbc; do port[$ep]=$(free_port); done

if [ "$LAB" = nginx ]; then
  mkdir -p "$tmp/nginx"
  {
    echo "master_process off; daemon off; pid $tmp/nginx/nginx.pid; error_log $tmp/nginx/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  access_log off; client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy;"
    echo "  fastcgi_temp_path $tmp/nginx/fastcgi; uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;"
    echo "  ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_dhparam $tmp/dh.pem;"
    for ep in modern everything cbc; do
      echo "  server { listen 127.0.0.1:${port[$ep]} ssl; server_name _;"
      echo "    ssl_protocols ${protocols[$ep]}; ssl_ciphers '${ciphers[$ep]}'; ssl_prefer_server_ciphers ${prefer[$ep]};"
      printf '    location / { default_type text/plain; return 200 "%s\\n"; } }\n' "$ep"
    done
    echo "}"
  } >"$tmp/nginx/nginx.conf"
  "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" </dev/null >"$tmp/nginx/out.log" 2>&1 &
  pids+=($!)
else
  for ep in modern everything cbc; do
    args=(-cipher "${ciphers[$ep]}")
    case $ep in
      modern) args+=(-no_tls1 -no_tls1_1) ;;
      everything) args+=(-serverpref -dhparam "$tmp/dh.pem") ;;
      cbc) args+=(-no_tls1_3) ;;
    esac
    # Standard input: a FIFO opened read-write by s_server itself, so it never sees an EOF
    # (and quits) and $! is s_server's own PID, with no helper process left behind.
    mkfifo "$tmp/$ep.stdin"
    openssl s_server -accept "127.0.0.1:${port[$ep]}" -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
      -www "${args[@]}" 0<>"$tmp/$ep.stdin" >"$tmp/$ep.s_server.log" 2>&1 &
    pids+=($!)
  done
fi
for ep in modern everything cbc; do
  wait_port "${port[$ep]}" || { say "endpoint $ep did not start (LAB=$LAB)"; cat "$tmp"/nginx/*.log "$tmp"/*.log 2>/dev/null >&2; exit 1; }
done

# What each endpoint must accept (ok) and refuse (no), checked with s_client before timing.
lab_ok=true
check() { # ENDPOINT ok|no S_CLIENT-ARGS...
  local ep=$1 want=$2 got
  shift 2
  if timeout 10 openssl s_client -connect "127.0.0.1:${port[$ep]}" -servername bench.test "$@" \
    </dev/null >/dev/null 2>&1; then got=ok; else got=no; fi
  if [ "$got" != "$want" ]; then
    say "lab check failed: $ep with $* should be '$want', is '$got'"
    lab_ok=false
  fi
}
legacy='ALL:@SECLEVEL=0'
check modern ok -tls1_3
check modern ok -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
check modern no -tls1_1 -cipher "$legacy"
check modern no -tls1_2 -cipher 'AES128-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES128-GCM-SHA256'
check everything ok -tls1_3
check everything ok -tls1_2 -cipher 'DHE-RSA-AES128-GCM-SHA256'
check everything ok -tls1_1 -cipher "$legacy"
check everything ok -tls1 -cipher "$legacy"
check cbc ok -tls1 -cipher "$legacy"
check cbc ok -tls1_2 -cipher 'AES256-SHA'
check cbc no -tls1_3
check cbc no -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256'
$lab_ok || { say "the lab endpoints do not behave as described; stopping"; exit 1; }
say "lab ($LAB): modern=${port[modern]} everything=${port[everything]} cbc=${port[cbc]}, checked with s_client"

# ---- runs --------------------------------------------------------------------------------
mkdir -p "$logs"
rows=$tmp/rows.tsv
: >"$rows"
versions=()
has vetcrypt && versions+=("$("$VETCRYPT" --version 2>/dev/null | head -1)")
has sslscan && versions+=("sslscan $(sslscan --version 2>/dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1)")
has testssl && versions+=("testssl.sh $(dpkg-query -W -f '${Version}' testssl.sh 2>/dev/null || echo '?')")
has sslyze && versions+=("$("$venv/bin/sslyze" --help 2>/dev/null | grep -o 'SSLyze version [0-9.]*' | head -1)")

tool_cmd() { # TOOL PORT -> the command in array cmd
  local target=127.0.0.1:$2
  case $1 in
    vetcrypt) cmd=("$VETCRYPT" scan "$target" --trust none --max-conn-per-host "$VETCRYPT_CAP" --format json --output "$logs/$rtt-$ep-vetcrypt.json") ;;
    sslscan) cmd=(sslscan --no-colour "$target") ;;
    testssl) cmd=(testssl --quiet --warnings off --color 0 --nodns none -p -E -P -f -S -R -C -Z -h "$target") ;;
    sslyze) cmd=("$venv/bin/sslyze" "$target") ;;
  esac
}

for rtt in $RTTS; do
  for ep in $ENDPOINTS; do
    for tool in $TOOLS; do
      rm -f "$tmp/pport" "$tmp/stats"
      : >"$logs/$rtt-$ep-$tool.proxy.log"
      python3 "$proxy" --upstream-port "${port[$ep]}" --rtt-ms "$rtt" --port-file "$tmp/pport" \
        --stats-file "$tmp/stats" --log-file "$logs/$rtt-$ep-$tool.proxy.log" </dev/null >/dev/null 2>&1 &
      proxy_pid=$!
      current=("$proxy_pid")
      for _ in $(seq 200); do [ -s "$tmp/pport" ] && break; sleep 0.025; done
      [ -s "$tmp/pport" ] || { say "the delay proxy did not start"; exit 1; }
      pport=$(cat "$tmp/pport")
      tool_cmd "$tool" "$pport"
      start=$(date +%s.%N)
      # In the background and waited for, so that an interrupt stops it at once (cleanup).
      timeout -k 10 "$TOOL_TIMEOUT" "${cmd[@]}" </dev/null >"$logs/$rtt-$ep-$tool.log" 2>&1 &
      tool_pid=$!
      current+=("$tool_pid")
      rc=0
      wait "$tool_pid" || rc=$?
      end=$(date +%s.%N)
      current=("$proxy_pid")
      kill -TERM "$proxy_pid" 2>/dev/null || true
      wait "$proxy_pid" 2>/dev/null || true
      current=()
      conns=$(sed -n 's/.*connections=\([0-9]*\).*/\1/p' "$tmp/stats" 2>/dev/null)
      maxo=$(sed -n 's/.*max_open=\([0-9]*\).*/\1/p' "$tmp/stats" 2>/dev/null)
      secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
      case $rc in 124 | 137) status=TIMEOUT ;; *) status=$rc ;; esac
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rtt" "$ep" "$tool" "$secs" "${conns:-?}" "${maxo:-?}" "$status" >>"$rows"
      say "$(printf 'rtt %3s ms  %-10s %-9s %8ss  %5s conns  max open %3s  exit %s' \
        "$rtt" "$ep" "$tool" "$secs" "${conns:-?}" "${maxo:-?}" "$status")"
    done
  done
done

# ---- table -------------------------------------------------------------------------------
{
  echo "vetcrypt network benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, lab=$LAB, delay proxy RTTs: $RTTS ms"
  printf '  %s\n' "${versions[@]}"
  for s in "${skipped[@]}"; do echo "  skipped $s"; done
  echo "  RTT: each direction delayed RTT/2; bound = vetcrypt conns x 2 RTT / $VETCRYPT_CAP"
  echo
  awk -F'\t' -v cap="$VETCRYPT_CAP" '
    { n++; r[n] = $0; if ($3 == "vetcrypt" && $7 != "TIMEOUT") vc[$1 "/" $2] = $4 }
    END {
      printf "%5s  %-10s %-9s %9s %6s %8s %8s %10s %8s %8s  %s\n", "rtt", "endpoint", "tool", "seconds", "conns", "max_open", "ms/conn", "x_vetcrypt", "bound", "vc/bound", "exit"
      for (i = 1; i <= n; i++) {
        split(r[i], f, "\t")
        key = f[1] "/" f[2]
        ratio = (key in vc && vc[key] > 0 && f[7] != "TIMEOUT") ? sprintf("%.2f", f[4] / vc[key]) : "-"
        perconn = (f[5] + 0 > 0) ? sprintf("%.1f", 1000 * f[4] / f[5]) : "-"
        bound = "-"; over = "-"
        if (f[3] == "vetcrypt" && f[1] > 0 && f[5] + 0 > 0) {
          b = f[5] * 2 * f[1] / 1000 / cap
          bound = sprintf("%.2f", b); over = sprintf("%.2f", f[4] / b)
        }
        printf "%5s  %-10s %-9s %9s %6s %8s %8s %10s %8s %8s  %s\n", f[1], f[2], f[3], f[4], f[5], f[6], perconn, ratio, bound, over, f[7]
      }
    }' "$rows"
} | tee "$table"
