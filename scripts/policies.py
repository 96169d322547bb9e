#!/usr/bin/env python3
"""Compare mitigation policies side by side, as docs/benchmarks.md reports them.

For each policy (a policy file, or `default` for the scenario's defaults
with --mitigation, or `none` for the unmitigated system):
  - cost: goodput lost without faults against the unmitigated system,
    summed over --cost-seeds seeds (negative: more goodput);
  - benign: with --benign SPEC (repeatable; a --fault spec whose `at`
    counts from the end of the warm-up, as `hormesis tune --benign`), the
    fraction of requests served under each benign fault on the cost seeds;
  - resources: attempts per offered request over the no-fault and benign
    runs, and worker-seconds per run (the `workers` gauge) where there is one;
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
import re
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


def seconds(text):
    """`30s`, `250ms`, `2m` as seconds."""
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    sys.exit(f"`{text}` is not a duration such as 30s or 250ms")


def after_warmup(spec, warmup_s):
    """The spec with its `at` moved past the warm-up."""
    kind, rest = spec.split(":", 1)
    pairs = []
    for pair in rest.split(","):
        key, value = pair.split("=", 1)
        if key.strip() == "at":
            value = f"{round((seconds(value.strip()) + warmup_s) * 1000)}ms"
        pairs.append(f"{key}={value}")
    return f"{kind}:{','.join(pairs)}"


def measure(scenario, seed, sets, pargs, fault=None):
    """One run's goodput, offered, attempts, worker-seconds and parameters."""
    faults = ["--fault", fault] if fault else []
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        hormesis(["run", "--scenario", scenario, "--seed", str(seed), *sets, *pargs, *faults,
                  "--json", f.name])
        run = json.load(open(f.name))
    windows = run["windows"]
    workers = [w["gauges"]["workers"] for w in windows if "workers" in w.get("gauges", {})]
    return {
        "goodput": sum(w["goodput"] for w in windows),
        "offered": sum(w["offered"] for w in windows),
        "attempts": sum(w["attempts"] for w in windows),
        "worker_s": sum(workers) * run["window_s"] if workers else None,
        "params": run["params"],
    }


def goodput(scenario, seed, sets, pargs):
    return measure(scenario, seed, sets, pargs)["goodput"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--mitigation", required=True)
    ap.add_argument("--against", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--cost-seeds", type=int, default=10)
    ap.add_argument("--benign", action="append", default=[], metavar="SPEC")
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
    print("| policy | no-fault cost | served under benign faults | attempts per request | worker-s per run "
          "| incidents recovered | metastable runs (total, median) | explorations with one | unhealthy runs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for policy in a.policies:
        pargs = policy_args(policy, a.mitigation)
        quiet = [measure(a.scenario, s, sets, pargs) for s in range(1, a.cost_seeds + 1)]
        good = sum(q["goodput"] for q in quiet)
        cost = 1 - good / base if base else 0.0
        warmup_s = seconds(str(quiet[0]["params"]["warmup"]))
        benign = [measure(a.scenario, s, sets, pargs, after_warmup(b, warmup_s))
                  for b in a.benign for s in range(1, a.cost_seeds + 1)]
        served = (f"{100 * sum(r['goodput'] for r in benign) / max(1, sum(r['offered'] for r in benign)):.1f} %"
                  if benign else "-")
        spent = quiet + benign
        attempts = sum(r["attempts"] for r in spent) / max(1, sum(r["offered"] for r in spent))
        worker_s = [r["worker_s"] for r in spent if r["worker_s"] is not None]
        worker_s = f"{sum(worker_s) / len(worker_s):.0f}" if worker_s else '-'
        recovered = "-"
        if a.against:
            with tempfile.NamedTemporaryFile(suffix=".xml") as junit:
                hormesis(["replay", *a.against, *sets, *pargs, "--junit", junit.name])
                text = open(junit.name).read()
            total = text.count("<testcase")
            # A kept incident expects to tip: a regression to a recovery
            # under the policy is one recovered (one to an unhealthy
            # baseline is the policy failing before the fault).
            recovered = f"{len(re.findall(r'got (?:stable|slow-recovery)', text))}/{total}"
        meta, found, unhealthy = [], 0, 0
        if a.explore_seeds == 0:
            print(f"| {policy} | {cost * 100:+.1f} % | {served} | {attempts:.2f} | {worker_s} | {recovered} "
                  f"| - | - | - |", flush=True)
            continue
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
        print(f"| {policy} | {cost * 100:+.1f} % | {served} | {attempts:.2f} | {worker_s} | {recovered} "
              f"| {sum(meta)}, {statistics.median(meta):g} "
              f"| {found}/{a.explore_seeds} | {unhealthy} |", flush=True)


if __name__ == "__main__":
    main()
