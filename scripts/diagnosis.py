#!/usr/bin/env python3
"""How often the diagnosis names the loop a generated instance was built around.

    cargo build --release -p hormesis
    scripts/diagnosis.py [--instances 1-16] [--budget 24] [--jobs 2] [--seed 1]

For each synthetic instance in the range: the mechanism it was built around
(`hormesis scenarios --scenario synthetic --set instance=N --json`), then
`hormesis explore --budget B` on it (default strategy), and of its
metastable runs, how many the diagnosis named with that mechanism. Prints a
markdown table per instance (runs, agreeing, what the others were read as)
and the total, which docs/scenarios.md quotes.
"""

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target/release/hormesis"


def hormesis(*args):
    done = subprocess.run(
        [str(BINARY), *args], capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        sys.exit(f"hormesis {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def designed(instance):
    listing = json.loads(
        hormesis("scenarios", "--scenario", "synthetic", "--set", f"instance={instance}", "--json")
    )
    entry = listing[0] if isinstance(listing, list) else listing
    text = json.dumps(entry)
    found = re.search(r"built around ([a-z-]+)", text)
    if not found:
        sys.exit(f"instance {instance}: no 'built around' in {text[:200]}")
    return found.group(1)


def instance_range(text):
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", default="1-16")
    p.add_argument("--budget", type=int, default=24)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    total = agreeing = 0
    tipped = 0
    print("| instance | built around | metastable runs | agreeing | read otherwise as |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in instance_range(args.instances):
            want = designed(n)
            out = Path(tmp) / f"{n}.json"
            hormesis(
                "explore", "--scenario", "synthetic", "--set", f"instance={n}",
                "--budget", str(args.budget), "--jobs", str(args.jobs),
                "--seed", str(args.seed), "--json", str(out),
            )
            records = json.loads(out.read_text())["runs"]
            meta = [r for r in records if r.get("class") == "metastable"]
            got = [(r.get("mechanism") or "unexplained").split("@")[0] for r in meta]
            ok = sum(1 for g in got if g == want)
            others = collections.Counter(
                r.get("mechanism") or "unexplained"
                for r, g in zip(meta, got) if g != want
            )
            total += len(meta)
            agreeing += ok
            tipped += bool(meta)
            other = ", ".join(f"{k} ×{v}" for k, v in others.most_common())
            print(f"| {n} | {want} | {len(meta)} | {ok} | {other} |", flush=True)
    share = 100.0 * agreeing / total if total else 0.0
    print(f"\n{agreeing} of {total} metastable runs on {tipped} instances "
          f"agree: {share:.0f} %")


if __name__ == "__main__":
    main()
