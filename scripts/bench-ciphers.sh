#!/usr/bin/env bash
# vetcrypt bench checked against two references in one run, on this machine:
#  - criterion timing the very same seal functions (benches/ciphers.rs): each backend × cipher
#    figure of `vetcrypt bench` should be within 5% of criterion's;
#  - `openssl speed -evp` (vetcrypt bench --compare-openssl): the fastest backend's AES-256-GCM
#    at 16 KiB as a multiple of OpenSSL's.
# Order A-B-A (vetcrypt, criterion, vetcrypt) so slow drift of a shared machine cancels out.
#
#     bash scripts/bench-ciphers.sh            # 16 KiB (about 2 minutes)
#     SIZE=1024 bash scripts/bench-ciphers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
size="${SIZE:-16384}"
out=target/bench-ciphers
mkdir -p "$out"
command -v openssl >/dev/null 2>&1 || { echo "installing openssl"; apt-get install -y -qq openssl >/dev/null; }

cargo build --release --quiet
cargo bench --bench ciphers --no-run --quiet 2>/dev/null

echo "== vetcrypt bench (1/2) with openssl speed"
./target/release/vetcrypt bench --sizes "$size" --compare-openssl --format json="$out/a.json" --format terminal >"$out/a.txt"
echo "== criterion, same functions"
VETCRYPT_BENCH_SIZES="$size" cargo bench --quiet --bench ciphers -- --warm-up-time 1 --measurement-time 3 'seal/' >"$out/criterion.txt" 2>&1
echo "== vetcrypt bench (2/2)"
./target/release/vetcrypt bench --sizes "$size" --format json="$out/b.json" >/dev/null

python3 - "$out" "$size" <<'PY'
import json, sys, pathlib
out, size = pathlib.Path(sys.argv[1]), int(sys.argv[2])
a = json.loads((out / "a.json").read_text())["bench"]
b = json.loads((out / "b.json").read_text())["bench"]

def seal(facts, key):
    for r in facts["results"]:
        if r["operation"] == "seal" and r["size"] == size and (r["backend"], r["cipher"]) == key:
            return r
    return None

label = {"ring": "ring", "aws-lc-rs": "aws-lc-rs", "rustcrypto": "RustCrypto"}
rows, worst = [], 0.0
for r in a["results"]:
    if r["operation"] != "seal" or r["size"] != size:
        continue
    key = (r["backend"], r["cipher"])
    est = pathlib.Path("target/criterion") / f"seal_{r['cipher']}" / label[r["backend"]] / str(size) / "new" / "estimates.json"
    if not est.exists():
        continue
    ns = json.loads(est.read_text())["median"]["point_estimate"]
    crit = size / ns * 1e3
    other = seal(b, key)
    ours = (r["throughput_mbps"]["median"] + other["throughput_mbps"]["median"]) / 2
    diff = (ours / crit - 1) * 100
    worst = max(worst, abs(diff))
    rows.append((label[r["backend"]], r["cipher"], ours, crit, diff))
print(f"\nSeal at {size} bytes: vetcrypt bench (mean of the two runs) against criterion, MB/s")
print(f"{'backend':<11} {'cipher':<18} {'vetcrypt':>9} {'criterion':>10} {'diff':>7}")
for bk, c, ours, crit, diff in rows:
    print(f"{bk:<11} {c:<18} {ours:>9.0f} {crit:>10.0f} {diff:>+6.1f}%")
print(f"largest difference: {worst:.1f}% (target: within 5%)")

o = a.get("openssl") or {}
ref = {(x["cipher"], x["size"]): x["throughput_mbps"] for x in o.get("results", [])}
if ("aes-256-gcm", size) in ref:
    best = max((r for r in a["results"] if r["operation"] == "seal" and r["size"] == size and r["cipher"] == "aes-256-gcm"),
               key=lambda r: r["cpu_throughput_mbps"]["median"])
    ratio = best["cpu_throughput_mbps"]["median"] / ref[("aes-256-gcm", size)]
    print(f"\n{o.get('version')}: AES-256-GCM at {size} bytes {ref[('aes-256-gcm', size)]:.0f} MB/s;"
          f" fastest backend {label[best['backend']]} {best['cpu_throughput_mbps']['median']:.0f} MB/s = {ratio:.2f}x OpenSSL (target: >= 3.5x)")
else:
    print("\nopenssl speed gave no AES-256-GCM figure:", o.get("error"))
PY
