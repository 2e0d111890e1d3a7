#!/usr/bin/env bash
# One name with 4 addresses against one address, in one run (issue 17): what probing every
# address of a name costs in time and connections.
#
#   bash scripts/bench-addresses.sh
#   RTT=0 ADDRESSES=8 bash scripts/bench-addresses.sh
#
# Environment (all optional):
#   RTT        round trip added by the delay proxy, in ms       [50]
#   ADDRESSES  addresses of the name in the second run           [4] (127.0.0.1 .. 127.0.0.N)
#   RUNS       runs of each case; the table shows the median      [3]
#   VETCRYPT   the binary [${CARGO_TARGET_DIR:-target}/release/vetcrypt, built if missing]
#
# Only 127.0.0.0/8 is ever contacted. What runs: one nginx serving the lab's "modern" endpoint
# (TLS 1.2 + 1.3, ECDHE AEAD suites, a self-signed RSA-2048 certificate for bench.test) on a
# free port of 127.0.0.1; in front of it one scripts/delay_proxy.py per address, each listening
# on 127.0.0.K at one common port P (127.0.0.2... need no set-up on Linux), all relaying to
# nginx with RTT ms of delay. Then, with the same binary and flags:
#   one address   vetcrypt scan bench.test:P --resolve bench.test:P:127.0.0.1
#   N addresses   vetcrypt scan bench.test:P --resolve bench.test:P:127.0.0.1,...,127.0.0.N
# The table (standard output and target/bench-addresses.txt): seconds (median of RUNS), the
# connections the proxies accepted, the endpoints reported, and N's time over one's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
RTT=${RTT:-50}
ADDRESSES=${ADDRESSES:-4}
RUNS=${RUNS:-3}
VETCRYPT=${VETCRYPT:-${CARGO_TARGET_DIR:-target}/release/vetcrypt}
table=$root/target/bench-addresses.txt
say() { printf '== %s\n' "$*" >&2; }

if [ ! -x "$VETCRYPT" ]; then
  say "building vetcrypt (cargo build --release)"
  nice -n 10 cargo build --release --quiet
fi
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { say "nginx is needed (scripts/test.sh installs it)"; exit 1; }

tmp=$(mktemp -d /tmp/bench-addresses.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket, sys
for _ in range(50):
    socks = []
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; socks.append(s)
    try:
        for k in range(2, int(sys.argv[1]) + 1):
            t = socket.socket(); t.bind(("127.0.0.%d" % k, port)); socks.append(t)
    except OSError:
        continue
    print(port); break' "$1"
}
wait_port() { # HOST PORT -> 0 once something listens there
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 30 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test >/dev/null 2>&1
upstream=$(free_port 1)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
master_process off; daemon off; pid $tmp/nginx/nginx.pid; error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi; uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;
  server { listen 127.0.0.1:$upstream ssl; server_name _;
    ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers 'ECDHE+AESGCM:ECDHE+CHACHA20';
    location / { default_type text/plain; return 200 "modern\n"; } }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" </dev/null >"$tmp/nginx/out.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$upstream" || { say "nginx did not start"; cat "$tmp/nginx/error.log" >&2; exit 1; }

port=$(free_port "$ADDRESSES")
for k in $(seq "$ADDRESSES"); do
  python3 scripts/delay_proxy.py --upstream-port "$upstream" --rtt-ms "$RTT" \
    --listen "127.0.0.$k" --port "$port" --port-file "$tmp/port.$k" \
    --stats-file "$tmp/stats.$k" &
  pids+=($!)
  proxies[$k]=$!
done
for k in $(seq "$ADDRESSES"); do
  wait_port "127.0.0.$k" "$port" || { say "delay proxy on 127.0.0.$k did not start"; exit 1; }
done

accepted() { # -> connections all proxies accepted so far
  local k total=0
  for k in $(seq "$ADDRESSES"); do
    rm -f "$tmp/stats.$k"
    kill -USR1 "${proxies[$k]}"
  done
  for k in $(seq "$ADDRESSES"); do
    for _ in $(seq 100); do [ -s "$tmp/stats.$k" ] && break; sleep 0.02; done
    total=$((total + $(sed -n 's/.*connections=\([0-9]*\).*/\1/p' "$tmp/stats.$k")))
  done
  echo "$total"
}

run_case() { # N -> "median_seconds connections endpoints"
  local n=$1 pin times=() before after endpoints=0 i start end
  pin="bench.test:$port:$(seq -s, -f '127.0.0.%g' 1 "$n")"
  before=$(accepted)
  for i in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$VETCRYPT" scan "bench.test:$port" --resolve "$pin" --trust none --format json \
      --output "$tmp/r.json" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
    endpoints=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["endpoints"]))' "$tmp/r.json")
  done
  after=$(accepted)
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  echo "$median $(((after - before) / RUNS)) $endpoints"
}

say "RTT ${RTT} ms, $RUNS runs each, $("$VETCRYPT" --version)"
read -r t1 c1 e1 < <(run_case 1)
read -r tn cn en < <(run_case "$ADDRESSES")
{
  printf '%-14s %9s %12s %10s %10s\n' case seconds connections endpoints x_one
  printf '%-14s %9.2f %12d %10d %10s\n' "1 address" "$t1" "$c1" "$e1" 1.00
  printf '%-14s %9.2f %12d %10d %10.2f\n' "$ADDRESSES addresses" "$tn" "$cn" "$en" "$(echo "$tn / $t1" | bc -l)"
} | tee "$table"
