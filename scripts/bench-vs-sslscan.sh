#!/usr/bin/env bash
# vetcrypt against sslscan on the same local endpoints, in one run (the machine is shared and
# noisy: read the ratios, not the absolute times). Everything listens on 127.0.0.1 only.
#
#   bash scripts/bench-vs-sslscan.sh [runs]      (default 5 runs per measurement; median shown)
#
# Endpoints are `openssl s_server`s: "modern" (TLS 1.2 + 1.3, OpenSSL's default suites) and
# "everything" (TLS 1.0-1.3, ALL:COMPLEMENTOFALL at security level 0, server order).
# Handshake counts come from a counting TCP relay put in front of one endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

if ! command -v sslscan >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq sslscan >/dev/null
fi
cargo build --release --quiet
vetcrypt=target/release/vetcrypt

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 30 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null

# start_server NAME ARGS... -> sets $port (no command substitution: the server must not
# hold a pipe the caller waits on)
start_server() {
  local name=$1; shift
  (sleep 100000 | openssl s_server -accept 127.0.0.1:0 -cert "$tmp/c.pem" -key "$tmp/k.pem" "$@" >"$tmp/$name.out" 2>&1) \
    </dev/null >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    grep -q '^ACCEPT' "$tmp/$name.out" 2>/dev/null && break
    sleep 0.05
  done
  port=$(grep -o 'ACCEPT 127.0.0.1:[0-9]*' "$tmp/$name.out" | cut -d: -f2)
}

ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_runs CMD... -> median wall milliseconds over $runs runs
time_runs() {
  for _ in $(seq "$runs"); do
    local s e; s=$(ms); "$@" >/dev/null 2>&1 || true; e=$(ms)
    echo $(((e - s) / 1000000))
  done | median
}

# A TCP relay on 127.0.0.1 that counts connections: relay.py LISTEN_PORT_FILE TARGET_PORT COUNT_FILE
cat >"$tmp/relay.py" <<'PY'
import asyncio, sys
port_file, target, count_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = 0
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data); await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(r, w):
    global count
    count += 1
    open(count_file, "w").write(str(count))
    try:
        tr, tw = await asyncio.open_connection("127.0.0.1", target)
    except Exception:
        w.close(); return
    await asyncio.gather(pipe(r, tw), pipe(tr, w))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    open(port_file, "w").write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
count_handshakes() { # PORT CMD-WITH-@PORT@... -> connections the command opened
  local target=$1; shift
  rm -f "$tmp/rport" "$tmp/count"
  python3 "$tmp/relay.py" "$tmp/rport" "$target" "$tmp/count" </dev/null >/dev/null 2>&1 &
  local rp=$!
  for _ in $(seq 100); do [ -s "$tmp/rport" ] && break; sleep 0.05; done
  local rport; rport=$(cat "$tmp/rport")
  "${@//@PORT@/$rport}" >/dev/null 2>&1 || true
  kill "$rp" 2>/dev/null || true; wait "$rp" 2>/dev/null || true
  cat "$tmp/count" 2>/dev/null || echo 0
}

start_server modern; modern=$port
start_server everything -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' -serverpref; everything=$port

printf '%s\n' "vetcrypt $($vetcrypt --version | cut -d' ' -f2) vs $(sslscan --version 2>/dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1 | sed 's/^/sslscan /'), median of $runs runs, $(nproc) cores"
printf '%-12s %12s %12s %8s %16s %16s\n' endpoint "sslscan ms" "vetcrypt ms" ratio "sslscan conns" "vetcrypt conns"
for name in modern everything; do
  port=${!name}
  s=$(time_runs sslscan --no-colour "127.0.0.1:$port")
  v=$(time_runs $vetcrypt scan "127.0.0.1:$port" --sni bench.test --ca-file "$tmp/c.pem" --format json)
  sc=$(count_handshakes "$port" sslscan --no-colour "127.0.0.1:@PORT@")
  vc=$(count_handshakes "$port" $vetcrypt scan "127.0.0.1:@PORT@" --sni bench.test --ca-file "$tmp/c.pem" --format json)
  printf '%-12s %12s %12s %7.1fx %16s %16s\n' "$name" "$s" "$v" "$(awk -v a="$s" -v b="$v" 'BEGIN{print a/b}')" "$sc" "$vc"
done

# Twenty endpoints at once.
targets=()
for i in $(seq 20); do start_server "many$i"; targets+=("127.0.0.1:$port"); done
s20=$(time_runs bash -c "for t in ${targets[*]}; do sslscan --no-colour \$t & done; wait")
v20=$(time_runs $vetcrypt scan "${targets[@]}" --sni bench.test --ca-file "$tmp/c.pem" --concurrency 20 --format json)
printf '%-12s %12s %12s %7.1fx   (20 modern endpoints, all at once; sslscan as 20 parallel processes)\n' "twenty" "$s20" "$v20" "$(awk -v a="$s20" -v b="$v20" 'BEGIN{print a/b}')"
