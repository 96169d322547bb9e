#!/usr/bin/env python3
"""Compare mitigation policies side by side, as docs/benchmarks.md reports them.

For each policy (a policy file, or `default` for the scenario's defaults
with --mitigation, or `none` for the unmitigated system):
  - cost: goodput lost without faults against the unmitigated system,
    summed over --cost-seeds seeds (negative: more goodput);
  - incidents: how many of the incidents in --against it recovers from;
  - explore: fresh explorations against it, one per explorer seed 1..N at
    --explore-budget runs: metastable runs (total, median per exploration)
    and explorations with at least one, and runs whose baseline was
    unhealthy (the policy failing before any fault).

    scripts/policies.py --scenario retry-storm --mitigation retry-budget \
        --against replays/retry-storm default tuned.yaml

Needs the release binary (cargo build --release -p hormesis), or
HORMESIS_BIN.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

BIN = os.environ.get("HORMESIS_BIN", "target/release/hormesis")


def hormesis(args):
    out = subprocess.run([BIN, *args], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"{BIN} {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out


def policy_args(policy, mitigation):
    if policy == "none":
        return ["--set", "mitigation=none"]
    if policy == "default":
        return ["--set", f"mitigation={mitigation}"]
    return ["--policy", policy]


def goodput(scenario, seed, sets, pargs):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        hormesis(["run", "--scenario", scenario, "--seed", str(seed), *sets, *pargs,
                  "--json", f.name])
        return sum(w["goodput"] for w in json.load(open(f.name))["windows"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--mitigation", required=True)
    ap.add_argument("--against", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--cost-seeds", type=int, default=10)
    ap.add_argument("--explore-seeds", type=int, default=20)
    ap.add_argument("--explore-budget", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("policies", nargs="+", help="policy files, `default` or `none`")
    a = ap.parse_args()
    sets = [x for s in a.sets for x in ("--set", s)]
    base = sum(goodput(a.scenario, s, sets, policy_args("none", a.mitigation))
               for s in range(1, a.cost_seeds + 1))
    print(f"{a.scenario}, {a.mitigation}; --set {' '.join(a.sets) or '(none)'}; "
          f"cost on seeds 1-{a.cost_seeds}; explorations seeds 1-{a.explore_seeds} x {a.explore_budget} runs")
    print("| policy | no-fault cost | incidents recovered | metastable runs (total, median) | explorations with one | unhealthy runs |")
    print("|---|---|---|---|---|---|")
    for policy in a.policies:
        pargs = policy_args(policy, a.mitigation)
        good = sum(goodput(a.scenario, s, sets, pargs) for s in range(1, a.cost_seeds + 1))
        cost = 1 - good / base if base else 0.0
        recovered = "-"
        if a.against:
            with tempfile.NamedTemporaryFile(suffix=".xml") as junit:
                hormesis(["replay", *a.against, *sets, *pargs, "--junit", junit.name])
                text = open(junit.name).read()
            total = text.count("<testcase")
            # A kept incident expects to tip: a regression under the policy is a recovery.
            recovered = f"{text.count('<failure')}/{total}"
        meta, found, unhealthy = [], 0, 0
        for seed in range(1, a.explore_seeds + 1):
            with tempfile.TemporaryDirectory() as d:
                hormesis(["explore", "--scenario", a.scenario, "--budget", str(a.explore_budget),
                          "--seed", str(seed), "--jobs", str(a.jobs), *sets, *pargs,
                          "--incidents", d, "--json", f"{d}/e.json"])
                e = json.load(open(f"{d}/e.json"))
            m = e["summary"]["metastable_runs"]
            meta.append(m)
            found += m > 0
            unhealthy += sum(r["class"] == "unhealthy-baseline" for r in e["runs"])
        print(f"| {policy} | {cost * 100:+.1f} % | {recovered} | {sum(meta)}, {statistics.median(meta):g} "
              f"| {found}/{a.explore_seeds} | {unhealthy} |", flush=True)


if __name__ == "__main__":
    main()
