#!/usr/bin/env python3
"""Both engines side by side, in one run, on every built-in scenario.

    cargo build --release -p hormesis && cargo madsim-build
    scripts/engines.py [--seeds 10] [--repeat 3] [--budget 16] [--jobs 2]

Prints two markdown tables (docs/benchmarks.md and docs/engines.md quote them):

* agreement: each scenario's documented trigger on seeds 1..N, the verdict
  class on turmoil (target/release/hormesis) and on madsim
  (target/madsim/release/hormesis), and on how many seeds they agree;
* speed: simulated seconds per wall second of the trigger run (faulted run
  and its control), best of --repeat, and explore runs per second at
  --budget/--jobs, the two binaries alternating so both see the same machine;
* equal fidelity: turmoil at the coarsest step (the scenario's, then 1/2,
  1/5, 1/10 of it) whose verdicts on seeds 1..--fidelity-seeds all match a
  fifth of that step, against madsim (which has no step), on the same
  trigger runs: simulated seconds per wall second side by side.

--only a,b restricts every table to those scenarios; --tables picks tables
(agreement,speed,fidelity).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARIES = {
    "turmoil": ROOT / "target/release/hormesis",
    "madsim": ROOT / "target/madsim/release/hormesis",
}


def hormesis(engine, *args):
    return subprocess.run(
        [str(BINARIES[engine]), *args], capture_output=True, text=True, check=False
    )


def scenarios():
    out = hormesis("turmoil", "scenarios", "--json")
    return json.loads(out.stdout)


def trigger_args(scenario):
    args = ["run", "--scenario", scenario["name"]]
    for spec in scenario["trigger"]:
        args += ["--fault", spec]
    return args


def run_json(engine, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        start = time.perf_counter()
        out = hormesis(engine, *args, "--engine", engine, "--json", f.name)
        wall = time.perf_counter() - start
        if out.returncode not in (0, 1):
            sys.exit(f"{engine} {' '.join(args)}: exit {out.returncode}\n{out.stderr}")
        return json.load(open(f.name)), wall


def simulated_seconds(report):
    total = len(report["windows"]) * report["window_s"]
    if report.get("control"):
        total += len(report["control"]["windows"]) * report["window_s"]
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--budget", type=int, default=16)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--fidelity-seeds", type=int, default=5)
    p.add_argument("--only", default="")
    p.add_argument("--tables", default="agreement,speed,fidelity")
    a = p.parse_args()
    tables = set(a.tables.split(","))
    for engine, path in BINARIES.items():
        if not path.exists():
            sys.exit(f"{path} is missing: cargo build --release -p hormesis && cargo madsim-build")

    every = scenarios()
    if a.only:
        every = [s for s in every if s["name"] in a.only.split(",")]
    both = [s for s in every if "madsim" in s["engines"]]
    if "agreement" in tables:
        agreement(a, every, both)
    if "speed" in tables:
        speed_table(a, both)
    if "fidelity" in tables:
        equal_fidelity(a, both)


def agreement(a, every, both):
    print(f"## Verdict on the documented trigger, seeds 1-{a.seeds}\n")
    print("| scenario | trigger | turmoil | madsim | agree |")
    print("|---|---|---|---|---|")
    for s in both:
        classes = {}
        for engine in BINARIES:
            classes[engine] = [
                run_json(engine, [*trigger_args(s), "--seed", str(seed)])[0]["verdict"]["class"]
                for seed in range(1, a.seeds + 1)
            ]
        agree = sum(x == y for x, y in zip(classes["turmoil"], classes["madsim"]))

        def count(cs):
            return ", ".join(f"{c} {cs.count(c)}" for c in sorted(set(cs)))

        print(
            f"| {s['name']} | `{' '.join(s['trigger'])}` | {count(classes['turmoil'])} "
            f"| {count(classes['madsim'])} | {agree}/{a.seeds} |"
        )
    for s in every:
        if s not in both:
            why = "; ".join(u["why"] for u in s["unsupported"])
            print(f"| {s['name']} | — | — | not on madsim: {why} | — |")



def speed_table(a, both):
    print(
        f"\n## Speed (trigger run + control, seed 1, best of {a.repeat}; "
        f"explore --budget {a.budget} --jobs {a.jobs})\n"
    )
    print(
        "| scenario | turmoil sim-s/wall-s | madsim sim-s/wall-s | madsim ÷ turmoil "
        "| turmoil explore runs/s | madsim explore runs/s | madsim ÷ turmoil |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in both:
        speed = {e: 0.0 for e in BINARIES}
        for _ in range(a.repeat):
            for engine in BINARIES:
                report, wall = run_json(engine, trigger_args(s))
                speed[engine] = max(speed[engine], simulated_seconds(report) / wall)
        runs = {}
        for engine in BINARIES:
            with tempfile.TemporaryDirectory() as d:
                args = [
                    "explore", "--scenario", s["name"], "--budget", str(a.budget),
                    "--jobs", str(a.jobs), "--incidents", d, "--json", f"{d}/x.json",
                ]
                start = time.perf_counter()
                out = hormesis(engine, *args, "--engine", engine)
                wall = time.perf_counter() - start
                if out.returncode not in (0, 1):
                    sys.exit(f"{engine} explore: exit {out.returncode}\n{out.stderr}")
                done = len(json.load(open(f"{d}/x.json"))["runs"])
                runs[engine] = done / wall
        print(
            f"| {s['name']} | {speed['turmoil']:.0f} | {speed['madsim']:.0f} "
            f"| {speed['madsim'] / speed['turmoil']:.2f}× | {runs['turmoil']:.1f} "
            f"| {runs['madsim']:.1f} | {runs['madsim'] / runs['turmoil']:.2f}× |"
        )

    # Where the engines differ most: the same service nearly idle (5 req/s)
    # over a long horizon, where turmoil still steps every 10 ms tick.
    quiet = ["run", "--scenario", "retry-storm", "--set", "rate=5", "--set", "horizon=600s"]
    speed = {e: 0.0 for e in BINARIES}
    for _ in range(a.repeat):
        for engine in BINARIES:
            report, wall = run_json(engine, quiet)
            speed[engine] = max(speed[engine], simulated_seconds(report) / wall)
    print(
        f"| retry-storm at 5 req/s, no fault, 630 s | {speed['turmoil']:.0f} "
        f"| {speed['madsim']:.0f} | {speed['madsim'] / speed['turmoil']:.2f}× | — | — | — |"
    )


def equal_fidelity(a, both):
    """turmoil at the coarsest step that a fifth of it does not contradict,
    against madsim, on the documented trigger."""
    n = a.fidelity_seeds
    print(
        f"\n## Equal fidelity (trigger run + control; step chosen on seeds 1-{n}, "
        f"speed over the same {n} runs)\n"
    )
    print(
        "| scenario | scenario's step | coarsest faithful step | turmoil sim-s/wall-s there "
        "| madsim sim-s/wall-s | madsim ÷ turmoil | madsim agrees with it |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in both:
        base = s["tick_ms"]
        chosen, classes = None, None
        for divisor in (1, 2, 5, 10):
            tick = base / divisor
            coarse = [
                run_json("turmoil", [*trigger_args(s), "--seed", str(seed), "--tick", f"{tick}ms"])
                for seed in range(1, n + 1)
            ]
            fine = [
                run_json("turmoil", [*trigger_args(s), "--seed", str(seed), "--tick", f"{tick / 5}ms"])
                for seed in range(1, n + 1)
            ]
            same = [c[0]["verdict"]["class"] == f[0]["verdict"]["class"] for c, f in zip(coarse, fine)]
            if all(same):
                chosen, classes = tick, [c[0]["verdict"]["class"] for c in coarse]
                break
        if chosen is None:
            print(
                f"| {s['name']} | {base:g} ms | none down to {base / 10:g} ms "
                f"(verdicts still change at a fifth) | — | — | — | — |"
            )
            continue
        wall = {"turmoil": 0.0, "madsim": 0.0}
        simulated = {"turmoil": 0.0, "madsim": 0.0}
        madsim_classes = []
        for seed in range(1, n + 1):
            for engine in BINARIES:
                args = [*trigger_args(s), "--seed", str(seed)]
                if engine == "turmoil":
                    args += ["--tick", f"{chosen}ms"]
                report, took = run_json(engine, args)
                wall[engine] += took
                simulated[engine] += simulated_seconds(report)
                if engine == "madsim":
                    madsim_classes.append(report["verdict"]["class"])
        speed = {e: simulated[e] / wall[e] for e in BINARIES}
        agree = sum(x == y for x, y in zip(classes, madsim_classes))
        print(
            f"| {s['name']} | {base:g} ms | {chosen:g} ms | {speed['turmoil']:.0f} "
            f"| {speed['madsim']:.0f} | {speed['madsim'] / speed['turmoil']:.2f}× | {agree}/{n} |"
        )


if __name__ == "__main__":
    main()
