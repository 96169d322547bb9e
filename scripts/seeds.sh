#!/usr/bin/env bash
# Runs one scenario over seeds 1..N (default 10) with the given `hormesis run`
# arguments and prints a markdown table of class, TTR, score and goodput per
# seed: the figures in docs/scenarios.md.
#
#   scripts/seeds.sh SCENARIO [N] -- [hormesis run arguments...]
#   scripts/seeds.sh lookaside-cache 10 -- --fault 'knob:at=60s,knob=cache-flush' --set mitigation=adaptive-concurrency
#   HORMESIS_BIN=target/madsim/release/hormesis scripts/seeds.sh ...   (madsim's build)
set -euo pipefail
scenario=$1; shift
seeds=10
if [[ $# -gt 0 && $1 != -- ]]; then seeds=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${HORMESIS_BIN:-$root/target/release/hormesis}
[[ -x $bin || -n ${HORMESIS_BIN:-} ]] || cargo build --release -q -p hormesis --manifest-path "$root/Cargo.toml"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seed in $(seq 1 "$seeds"); do
  "$bin" run --scenario "$scenario" --seed "$seed" "$@" --json "$tmp/$seed.json" >/dev/null 2>&1 || true
done
python3 - "$tmp" "$seeds" <<'PY'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
rows = {"class": [], "TTR (s)": [], "score": [], "goodput (req)": []}
for seed in range(1, n + 1):
    r = json.load(open(f"{tmp}/{seed}.json"))
    v = r["verdict"]
    rows["class"].append(v["class"])
    rows["TTR (s)"].append("never" if v["ttr_s"] is None else f"{v['ttr_s']:.0f}")
    rows["score"].append(f"{v['score']:.2f}")
    rows["goodput (req)"].append(str(sum(w["goodput"] for w in r["windows"])))
print("| seed | " + " | ".join(str(s) for s in range(1, n + 1)) + " |")
print("|---" * (n + 1) + "|")
for name, cells in rows.items():
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
