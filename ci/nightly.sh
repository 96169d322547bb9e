#!/usr/bin/env bash
# The nightly exploration pipeline. GitHub Actions (ci/nightly.yml) runs its
# steps on separate machines; run without a step it does them all here:
#
#   ci/nightly.sh [--time 2m] [--shards 2] [--scenarios a,b] [--seed N] [--out DIR]
#   ci/nightly.sh explore SCENARIO I/N [--time 2m] [--seed N] [--out DIR]
#   ci/nightly.sh finish [--out DIR] [--check-fidelity]
#
# explore: one shard of one scenario, for a wall-time budget, shrinking each
#   metastable arm to its smallest trigger; writes OUT/SCENARIO/shard-I.json
#   and OUT/SCENARIO/incidents/.
# finish: merges each scenario's shards (OUT/SCENARIO/explore.json) and draws
#   them (OUT/SCENARIO/report.html), replays the kept incidents
#   (OUT/replays.xml, JUnit), and triages what was found against them
#   (OUT/triage.json). Fails (exit 1) only on a replay regression or a
#   failure mode not yet kept. --check-fidelity also replays each kept
#   incident at a fifth of its scenario's step and fails one whose verdict
#   changes there (a likely simulation artifact).
#
# Inputs, for a repository of your own (copy ci/ and change these; see
# docs/guide.md, "Nightly for your own scenarios"):
#   HORMESIS_BIN_NAME  the cargo binary that is hormesis::cli for your
#                      scenarios (default: hormesis, the built-ins)
#   HORMESIS_BIN       its path (default: target/release/$HORMESIS_BIN_NAME,
#                      built if missing)
#   HORMESIS_REPLAYS   the folder of kept incidents (default: replays)
# Without --scenarios, every scenario the binary lists is explored.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_name=${HORMESIS_BIN_NAME:-hormesis}
bin=${HORMESIS_BIN:-$root/target/release/$bin_name}
replays=${HORMESIS_REPLAYS:-$root/replays}

step=all
case ${1:-} in explore|finish) step=$1; shift ;; esac
scenario=""; shard=""
if [[ $step == explore ]]; then
  scenario=${1:?ci/nightly.sh explore SCENARIO I/N}; shard=${2:?ci/nightly.sh explore SCENARIO I/N}; shift 2
fi
time=2m; shards=2; seed=1; out=$root/target/hormesis/nightly; only=""; fidelity=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --time) time=$2; shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scenarios) only=$2; shift 2 ;;
    --check-fidelity) fidelity=(--check-fidelity); shift ;;
    *) echo "ci/nightly.sh: unknown argument \`$1\`" >&2; exit 2 ;;
  esac
done

if [[ ! -x $bin ]]; then
  cargo build --release -q --bin "$bin_name" --manifest-path "$root/Cargo.toml"
fi

explore_shard() { # SCENARIO I/N
  local s=$1 sh=$2 n=${2#*/} i=${2%/*}
  mkdir -p "$out/$s"
  local rc=0
  "$bin" explore --scenario "$s" --time "$time" --shard "$sh" --seeds $(( n > 4 ? n : 4 )) \
    --seed "$seed" --smallest-trigger --json "$out/$s/shard-$i.json" \
    --incidents "$out/$s/incidents" || rc=$?
  # 0: nothing found, 1: found something (triaged in finish); anything else fails.
  [[ $rc -le 1 ]] || { echo "explore $s $sh failed (exit $rc)" >&2; exit "$rc"; }
}

finish() {
  local failed=0 rc
  local shard_files=()
  for dir in "$out"/*/; do
    local s; s=$(basename "$dir")
    compgen -G "$dir/shard-*.json" >/dev/null || continue
    rc=0; "$bin" merge "$dir"/shard-*.json --json "$dir/explore.json" || rc=$?
    [[ $rc -le 1 ]] || { echo "merge $s failed (exit $rc)" >&2; exit "$rc"; }
    rc=0; "$bin" report "$dir"/shard-*.json -o "$dir/report.html" || rc=$?
    [[ $rc -eq 0 ]] || { echo "report $s failed (exit $rc)" >&2; exit "$rc"; }
    shard_files+=("$dir"/shard-*.json)
  done
  rc=0; "$bin" replay "$replays" "${fidelity[@]}" --junit "$out/replays.xml" || rc=$?
  case $rc in 0) ;; 1) echo "nightly: a replay regressed (see $out/replays.xml)" >&2; failed=1 ;; *) exit "$rc" ;; esac
  if [[ ${#shard_files[@]} -gt 0 ]]; then
    rc=0; "$bin" triage "${shard_files[@]}" --known "$replays" --json "$out/triage.json" || rc=$?
    case $rc in 0) ;; 1) echo "nightly: new failure modes (see $out/triage.json)" >&2; failed=1 ;; *) exit "$rc" ;; esac
  fi
  return $failed
}

case $step in
  explore) explore_shard "$scenario" "$shard" ;;
  finish) finish ;;
  all)
    rm -rf "$out"; mkdir -p "$out"
    if [[ -n $only ]]; then
      IFS=, read -r -a list <<<"$only"
    else
      mapfile -t list < <("$bin" scenarios --json | python3 -c 'import json,sys; [print(s["name"]) for s in json.load(sys.stdin)]')
    fi
    for s in "${list[@]}"; do
      for (( i = 0; i < shards; i++ )); do explore_shard "$s" "$i/$shards"; done
    done
    finish
    ;;
esac
