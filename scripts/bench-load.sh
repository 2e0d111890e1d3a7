#!/usr/bin/env bash
# vetcrypt load beside oha, at the same rate on the same local server (issue 20).
#
#   bash scripts/bench-load.sh
#   REQUESTS=2000 RATE=100 RTT=50 bash scripts/bench-load.sh
#
# Environment (all optional):
#   REQUESTS     requests per run (vetcrypt: per suite)      [1000]
#   RATE         scheduled requests per second               [50]
#   CONNECTIONS  keep-alive connections                      [8]
#   RTT          round trip added by scripts/delay_proxy.py, in ms (0: none) [20]
#   OUT          where the reports go [${CARGO_TARGET_DIR:-target}/bench-load]: vetcrypt's
#                terminal, JSON and HTML reports and its chart, oha's JSON, compare.txt
#   VETCRYPT     the binary [${CARGO_TARGET_DIR:-target}/release/vetcrypt, built if missing]
#   OHA          the oha binary [oha on PATH, else `cargo install oha --locked` into
#                ${CARGO_TARGET_DIR:-target}/oha]
#
# Only 127.0.0.1 is ever contacted. What runs:
#   Server: nginx (one process, `master_process off`) on a free port of 127.0.0.1, TLS 1.2 and
#   1.3, a certificate for IP 127.0.0.1 from a throw-away CA made with openssl in a temp dir,
#   `return 200` on every path, keep-alive without a request limit. In front of it, when RTT > 0,
#   scripts/delay_proxy.py (a delay line: every chunk RTT/2 late in each direction), so both tools
#   see the same network.
#   vetcrypt: `vetcrypt load URL --ca-file ca.pem --requests REQUESTS --rate RATE
#   --connections CONNECTIONS -f json=...`: two runs in one (AES-128-GCM then AES-256-GCM
#   forced), each REQUESTS requests, latency from each request's scheduled send time.
#   oha: `oha -n REQUESTS -q RATE -c CONNECTIONS --latency-correction --no-tui --cacert ca.pem
#   --output-format json URL` (latency from the scheduled time too: --latency-correction), then
#   the same without --latency-correction (from the moment it sent). oha negotiates its own
#   default suite.
# Prints one line per run: p50, p90, p99, max and mean in milliseconds, side by side (also in
# $OUT/compare.txt). vetcrypt's figures are given both ways: from the scheduled send time (its
# report's latency) and from the moment the request was written (its service time).
set -euo pipefail

REQUESTS=${REQUESTS:-1000}
RATE=${RATE:-50}
CONNECTIONS=${CONNECTIONS:-8}
RTT=${RTT:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VETCRYPT=${VETCRYPT:-$TARGET/release/vetcrypt}
OUT=${OUT:-$TARGET/bench-load}
mkdir -p "$OUT"

if [ ! -x "$VETCRYPT" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi
OHA=${OHA:-$(command -v oha || true)}
if [ -z "$OHA" ]; then
    OHA=$TARGET/oha/bin/oha
    if [ ! -x "$OHA" ]; then
        echo "installing oha into $TARGET/oha (cargo install oha --locked)..." >&2
        CARGO_TARGET_DIR=$TARGET/oha-build cargo install oha --locked --quiet --root "$TARGET/oha"
    fi
fi
command -v nginx >/dev/null || { echo "nginx is needed (apt-get install nginx-light)" >&2; exit 2; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A throw-away CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=vetcrypt bench-load CA" -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$WORK/leaf.key" -out "$WORK/leaf.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/ext"
openssl x509 -req -in "$WORK/leaf.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/ext" -out "$WORK/leaf.pem" 2>/dev/null

PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $WORK/leaf.pem;
        ssl_certificate_key $WORK/leaf.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "ok\n"; }
    }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
    sleep 0.1
done

URL_PORT=$PORT
if [ "$RTT" != 0 ]; then
    python3 "$ROOT/scripts/delay_proxy.py" --upstream-port "$PORT" --rtt-ms "$RTT" \
        --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" &
    PIDS+=($!)
    for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
    URL_PORT=$(cat "$WORK/proxy.port")
fi
URL=https://127.0.0.1:$URL_PORT/

{
echo "server: nginx $(nginx -v 2>&1 | sed 's/.*\///'), 127.0.0.1, RTT ${RTT} ms; $REQUESTS requests at $RATE/s over $CONNECTIONS connections"
echo "vetcrypt: $("$VETCRYPT" --version); oha: $("$OHA" --version)"

"$VETCRYPT" load "$URL" --ca-file "$WORK/ca.pem" --requests "$REQUESTS" --rate "$RATE" \
    --connections "$CONNECTIONS" --no-proxy -f "json=$OUT/vetcrypt.json" \
    -f "terminal=$OUT/vetcrypt.txt" -f "html=$OUT/vetcrypt.html" --chart "$OUT/latency.svg" || true
"$OHA" -n "$REQUESTS" -q "$RATE" -c "$CONNECTIONS" --latency-correction --no-tui \
    --cacert "$WORK/ca.pem" --output-format json "$URL" >"$OUT/oha-corrected.json"
"$OHA" -n "$REQUESTS" -q "$RATE" -c "$CONNECTIONS" --no-tui \
    --cacert "$WORK/ca.pem" --output-format json "$URL" >"$OUT/oha.json"

python3 - "$OUT" <<'EOF'
import json, sys, os
work = sys.argv[1]
rows = []
v = json.load(open(os.path.join(work, "vetcrypt.json")))["load"]
for r in v["runs"]:
    suite = ", ".join(n["suite"] for n in r["negotiated"]) or r.get("error", "?")
    for name, key in (("scheduled", "latency_ms"), ("service", "service_ms")):
        l = r[key]
        rows.append((f"vetcrypt load ({name})", suite, l["p50"], l["p90"], l["p99"], l["max"], l["mean"], r["responses"], r["errors"]))
for label, f in (("oha --latency-correction", "oha-corrected.json"), ("oha", "oha.json")):
    o = json.load(open(os.path.join(work, f)))
    p = o["latencyPercentiles"]
    s = o["summary"]
    codes = o.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items())
    errors = sum(v for k, v in codes.items() if int(k) >= 400) + sum(o.get("errorDistribution", {}).values())
    ms = lambda x: (x or 0) * 1000
    rows.append((label, "(its default suite)", ms(p["p50"]), ms(p["p90"]), ms(p["p99"]), ms(s["slowest"]), ms(s["average"]), ok, errors))
print(f"{'tool':26} {'suite':30} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'mean':>8} {'answers':>8} {'errors':>6}   (ms)")
for t, suite, p50, p90, p99, mx, mean, n, e in rows:
    print(f"{t:26} {suite:30} {p50:8.2f} {p90:8.2f} {p99:8.2f} {mx:8.2f} {mean:8.2f} {n:8} {e:6}")
EOF
} | tee "$OUT/compare.txt"
