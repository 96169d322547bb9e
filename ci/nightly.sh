#!/usr/bin/env bash
# The nightly exploration pipeline. GitHub Actions (ci/nightly.yml) runs its
# steps on separate machines; run without a step it does them all here:
#
#   ci/nightly.sh [--time 2m | --budget N] [--shards 2] [--scenarios a,b] [--seed N] [--out DIR]
#   ci/nightly.sh explore SCENARIO I/N [--time 2m | --budget N] [--seed N] [--out DIR]
#   ci/nightly.sh finish [--out DIR] [--check-fidelity]
#
# explore: one shard of one scenario, shrinking each metastable arm to its
#   smallest trigger; writes OUT/SCENARIO/shard-I.json and
#   OUT/SCENARIO/incidents/. --budget N makes N runs per shard (the same
#   runs on any machine, so a finding reproduces anywhere); --time bounds
#   the whole shard's wall time, smallest-trigger phase included (with
#   both, whichever ends first). Default: --time 2m.
# finish: merges each scenario's shards (OUT/SCENARIO/explore.json) and draws
#   them (OUT/SCENARIO/report.html), replays the kept incidents
#   (OUT/replays.xml, JUnit), and triages what was found against them
#   (OUT/triage.json), with the modes in REPLAYS/accepted.yaml (if any)
#   reported as accepted. Fails (exit 1) only on a replay regression or a
#   failure mode not yet kept. --check-fidelity also replays each kept
#   incident at a fifth of its scenario's step and fails one whose verdict
#   changes there (a likely simulation artifact).
#
# Nothing is deleted that this script did not make: OUT must be new, empty,
# or an earlier output of this script (it holds `.hormesis-nightly`), and
# only this script's own files are cleared from it. Every argument is
# checked before anything runs; bad input exits 2.
#
# Inputs, for a repository of your own (copy ci/ and change these; see
# docs/guide.md, "Nightly for your own scenarios"):
#   HORMESIS_BIN_NAME  the cargo binary that is hormesis::cli for your
#                      scenarios (default: hormesis, the built-ins)
#   HORMESIS_BIN       its path (default: target/release/$HORMESIS_BIN_NAME,
#                      built if missing; a path given here is never built)
#   HORMESIS_REPLAYS   the folder of kept incidents (default: replays)
# Without --scenarios, every scenario the binary lists is explored.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_name=${HORMESIS_BIN_NAME:-hormesis}
replays=${HORMESIS_REPLAYS:-$root/replays}
marker=.hormesis-nightly

die() { echo "ci/nightly.sh: $*" >&2; exit 2; }

step=all
case ${1:-} in explore|finish) step=$1; shift ;; esac
scenario=""; shard=""
if [[ $step == explore ]]; then
  [[ $# -ge 2 ]] || die "usage: ci/nightly.sh explore SCENARIO I/N [--time D | --budget N] [--seed N] [--out DIR]"
  scenario=$1; shard=$2; shift 2
fi
time=""; budget=""; shards=2; seed=1; out=$root/target/hormesis/nightly; only=""; only_given=0; fidelity=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --time|--budget|--shards|--seed|--out|--scenarios)
      [[ $# -ge 2 ]] || die "\`$1\` needs a value"
      case $1 in
        --time) time=$2 ;;
        --budget) budget=$2 ;;
        --shards) shards=$2 ;;
        --seed) seed=$2 ;;
        --out) out=$2 ;;
        --scenarios) only=$2; only_given=1 ;;
      esac
      shift 2 ;;
    --check-fidelity) fidelity=(--check-fidelity); shift ;;
    *) die "unknown argument \`$1\` (allowed: --time, --budget, --shards, --scenarios, --seed, --out, --check-fidelity)" ;;
  esac
done

# Every argument is checked here, before anything is built, run or removed.
is_count() { [[ $1 =~ ^[0-9]+$ ]] && (( 10#$1 >= 1 )); }
if [[ -n $time ]]; then
  [[ $time =~ ^([0-9]+(ms|s|m|min|h))+$ ]] && [[ $time =~ [1-9] ]] \
    || die "--time \`$time\`: a positive duration such as 30s, 10m or 1h30m"
fi
if [[ -n $budget ]]; then
  is_count "$budget" && (( ${#budget} <= 9 )) || die "--budget \`$budget\`: a number of runs per shard, at least 1"
fi
[[ -n $time || -n $budget ]] || time=2m
is_count "$shards" && (( ${#shards} <= 3 )) && (( 10#$shards <= 256 )) \
  || die "--shards \`$shards\`: a number from 1 to 256"
shards=$(( 10#$shards ))
[[ $seed =~ ^[0-9]+$ ]] && (( ${#seed} <= 19 )) || die "--seed \`$seed\`: an unsigned integer"
if [[ $step == explore ]]; then
  [[ $shard =~ ^[0-9]+/[0-9]+$ ]] && (( 10#${shard%/*} < 10#${shard#*/} )) \
    || die "shard \`$shard\`: I/N with 0 <= I < N, e.g. 0/4"
fi
if [[ $step != explore ]]; then
  [[ -d $replays ]] || die "the kept incidents folder \`$replays\` (HORMESIS_REPLAYS) is not a directory"
fi

if [[ -n ${HORMESIS_BIN:-} ]]; then
  bin=$HORMESIS_BIN
  [[ -f $bin && -x $bin ]] || die "HORMESIS_BIN=\`$bin\` is not an executable file (it is never built: unset it to build $bin_name)"
else
  bin=$root/target/release/$bin_name
  if [[ ! -x $bin ]]; then
    cargo build --release -q --bin "$bin_name" --manifest-path "$root/Cargo.toml"
  fi
fi

# The scenarios, each one the binary knows.
known_scenarios() {
  "$bin" scenarios --json 2>/dev/null \
    | python3 -c 'import json,sys; [print(s["name"]) for s in json.load(sys.stdin)]' 2>/dev/null
}
list=()
if [[ $step == all ]]; then
  mapfile -t known < <(known_scenarios) || true
  [[ ${#known[@]} -gt 0 ]] || die "\`$bin scenarios --json\` listed no scenario (is HORMESIS_BIN a hormesis binary?)"
  if [[ $only_given == 1 ]]; then
    IFS=, read -r -a list <<<"$only" || true
  else
    list=("${known[@]}")
  fi
  [[ ${#list[@]} -gt 0 ]] || die "--scenarios is empty: name at least one of ${known[*]}"
  for s in "${list[@]}"; do
    found=0
    for k in "${known[@]}"; do [[ $s == "$k" ]] && found=1; done
    [[ $found == 1 ]] || die "--scenarios: \`$s\` is not a scenario of $bin_name (allowed: ${known[*]})"
  done
fi

# OUT: this script's own folder, or nothing there yet. Never the kept
# incidents, never a folder of someone else's files.
claim_out() {
  if [[ -e $out || -L $out ]]; then
    [[ -d $out && ! -L $out ]] || die "--out \`$out\` exists and is not a directory"
    if [[ ! -e $out/$marker ]] && [[ -n $(ls -A "$out") ]]; then
      die "--out \`$out\` is not empty and was not made by ci/nightly.sh (no $marker in it): choose a new or empty folder; nothing was removed"
    fi
  fi
  mkdir -p "$out"
  local real_out real_replays
  real_out=$(cd "$out" && pwd -P)
  real_replays=$(cd "$replays" 2>/dev/null && pwd -P) || real_replays=""
  if [[ -n $real_replays && ( $real_replays == "$real_out" || $real_replays == "$real_out"/* || $real_out == "$real_replays"/* ) ]]; then
    die "--out \`$out\` and the kept incidents \`$replays\` overlap: choose an output folder outside them"
  fi
  touch "$out/$marker"
}

# Removes what an earlier night wrote to OUT, and only that.
clear_own_outputs() {
  local dir
  rm -f "$out/replays.xml" "$out/triage.json"
  for dir in "$out"/*/; do
    [[ -d $dir && ! -L ${dir%/} ]] || continue
    rm -f "$dir"shard-*.json "$dir/explore.json" "$dir/report.html"
    if [[ -d $dir/incidents && ! -L $dir/incidents ]]; then
      rm -f "$dir"/incidents/*.yaml
      rmdir "$dir/incidents" 2>/dev/null || true
    fi
    rmdir "$dir" 2>/dev/null || true
  done
}

explore_shard() { # SCENARIO I/N
  local s=$1 sh=$2 n=$(( 10#${2#*/} )) i=$(( 10#${2%/*} ))
  mkdir -p "$out/$s"
  local rc=0 limits=()
  [[ -n $time ]] && limits+=(--time "$time")
  [[ -n $budget ]] && limits+=(--budget "$budget")
  "$bin" explore --scenario "$s" "${limits[@]}" --shard "$i/$n" --seeds $(( n > 4 ? n : 4 )) \
    --seed "$seed" --smallest-trigger --json "$out/$s/shard-$i.json" \
    --incidents "$out/$s/incidents" || rc=$?
  # 0: nothing found, 1: found something (triaged in finish); anything else fails.
  [[ $rc -le 1 ]] || { echo "explore $s $sh failed (exit $rc)" >&2; exit "$rc"; }
}

finish() {
  local failed=0 rc
  local shard_files=()
  [[ -d $out ]] || die "--out \`$out\`: no such folder (run the explore step first)"
  for dir in "$out"/*/; do
    [[ -d $dir ]] || continue
    local s; s=$(basename "$dir")
    compgen -G "$dir/shard-*.json" >/dev/null || continue
    rc=0; "$bin" merge "$dir"/shard-*.json --json "$dir/explore.json" || rc=$?
    [[ $rc -le 1 ]] || { echo "merge $s failed (exit $rc)" >&2; exit "$rc"; }
    rc=0; "$bin" report "$dir"/shard-*.json -o "$dir/report.html" || rc=$?
    [[ $rc -eq 0 ]] || { echo "report $s failed (exit $rc)" >&2; exit "$rc"; }
    shard_files+=("$dir"/shard-*.json)
  done
  if [[ -n $(find "$replays" \( -name '*.yaml' -o -name '*.yml' \) -print -quit) ]]; then
    rc=0; "$bin" replay "$replays" "${fidelity[@]}" --junit "$out/replays.xml" || rc=$?
    case $rc in 0) ;; 1) echo "nightly: a replay regressed (see $out/replays.xml)" >&2; failed=1 ;; *) exit "$rc" ;; esac
  else
    echo "nightly: no kept incidents in $replays: nothing to replay; every failure mode found is new" >&2
  fi
  if [[ ${#shard_files[@]} -gt 0 ]]; then
    # Modes the team accepts without an incident live beside the kept ones.
    local accepted=()
    [[ -f $replays/accepted.yaml ]] && accepted=(--accepted "$replays/accepted.yaml")
    rc=0; "$bin" triage "${shard_files[@]}" --known "$replays" "${accepted[@]}" --json "$out/triage.json" || rc=$?
    case $rc in 0) ;; 1) echo "nightly: new failure modes or an unhealthy system (see $out/triage.json)" >&2; failed=1 ;; *) exit "$rc" ;; esac
  else
    echo "nightly: no shard results in $out: nothing to triage" >&2
  fi
  return $failed
}

case $step in
  explore) claim_out; explore_shard "$scenario" "$shard" ;;
  finish) finish ;;
  all)
    claim_out
    clear_own_outputs
    for s in "${list[@]}"; do
      for (( i = 0; i < shards; i++ )); do explore_shard "$s" "$i/$shards"; done
    done
    finish
    ;;
esac
