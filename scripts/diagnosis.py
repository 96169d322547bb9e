#!/usr/bin/env python3
"""How often the diagnosis names the loop a generated instance was built around.

    cargo build --release -p hormesis
    scripts/diagnosis.py [--instances 1-16] [--budget 24] [--jobs 2] [--seed 1] [--confirm]

For each synthetic instance in the range: the mechanism it was built around
(`hormesis scenarios --scenario synthetic --set instance=N --json`), then
`hormesis explore --budget B` on it (default strategy), and of its
metastable runs, how many the diagnosis named with that mechanism. Prints a
markdown table per instance (runs, agreeing, what the others were read as)
and the total, which docs/scenarios.md quotes.

With `--confirm`, each metastable run is also checked by intervention: it
is run again (same seed, same faults) with the remedy of the loop the
diagnosis named turned at the trigger's end (`pause-retries` or
`relieve-pressure` for 30 s, `restore-caches`, `restore-tokens` or
`flush-queues` at once; the instance's `remedies` in `hormesis
scenarios`), and, where the diagnosis disagrees with the design, with the
designed loop's remedy too. A remedy that brings the run back (not
metastable) shows the loop it cuts was sustaining the failure. A held
remedy moves the trigger's end 30 s later, so it counts only where holding
its switch at the no-op value as long does not bring the run back too.
"""

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target/release/hormesis"

# The remedy that cuts each loop: (knob, held for, value); `None` for an
# action turned once.
REMEDIES = {
    "retry-amplification": ("pause-retries", "30s", 1),
    "memory-pressure": ("relieve-pressure", "30s", 1),
    "cache-refill": ("restore-caches", None, None),
    "token-herd": ("restore-tokens", None, None),
    "backlog": ("flush-queues", None, None),
}


def hormesis(*args):
    done = subprocess.run(
        [str(BINARY), *args], capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        sys.exit(f"hormesis {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def listing(instance):
    out = json.loads(
        hormesis("scenarios", "--scenario", "synthetic", "--set", f"instance={instance}", "--json")
    )
    return out[0] if isinstance(out, list) else out


def designed(entry):
    found = re.search(r"built around ([a-z-]+)", json.dumps(entry))
    if not found:
        sys.exit(f"no 'built around' in {json.dumps(entry)[:200]}")
    return found.group(1)


def seconds(text):
    """`30s`, `610ms`, `1.5s`, `2m` as seconds."""
    m = re.fullmatch(r"([0-9.]+)(ms|s|m)", text)
    if not m:
        sys.exit(f"cannot read the duration {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


def trigger_end(schedule):
    """When the last fault of a schedule ends, in seconds."""
    end = 0.0
    for spec in schedule:
        fields = dict(
            kv.split("=", 1) for kv in spec.split(":", 1)[1].split(",") if "=" in kv
        )
        at = seconds(fields["at"])
        end = max(end, at + (seconds(fields["for"]) if "for" in fields else 0.0))
    return end


def recovers(instance, record, extra):
    """Whether the run, with `extra` added to its schedule, is not metastable."""
    faults = [a for spec in record["schedule"] + [extra] for a in ("--fault", spec)]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        hormesis(
            "run", "--scenario", "synthetic", "--set", f"instance={instance}",
            "--seed", str(record["seed"]), *faults, "--json", out.name,
        )
        report = json.loads(Path(out.name).read_text())
    return report["verdict"]["class"] != "metastable"


def remedied(instance, record, mechanism, available):
    """Whether `mechanism`'s remedy at the trigger's end brings the run
    back; `None` when the instance has no remedy for it, or when holding
    the remedy's switch at its no-op value for as long brings the run back
    too (a held remedy moves the trigger's end, and with it the window
    recovery is judged in, so it is compared with that null)."""
    if mechanism not in REMEDIES or REMEDIES[mechanism][0] not in available:
        return None
    knob, held, value = REMEDIES[mechanism]
    at = f"{trigger_end(record['schedule']):.3f}s"
    if not held:
        return recovers(instance, record, f"knob:at={at},knob={knob}")
    if recovers(instance, record, f"knob:at={at},for={held},knob={knob},value=0"):
        return None
    return recovers(instance, record, f"knob:at={at},for={held},knob={knob},value={value}")


def instance_range(text):
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--instances", default="1-16")
    p.add_argument("--budget", type=int, default=24)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--confirm", action="store_true",
                   help="check each diagnosis by intervention (its loop's remedy)")
    args = p.parse_args()
    total = agreeing = tipped = 0
    # Intervention tallies: named remedy tried / recovered; on disagreements,
    # the designed loop's remedy tried / recovered.
    tally = collections.Counter()
    header = "| instance | built around | metastable runs | agreeing | read otherwise as |"
    rule = "|---|---|---|---|---|"
    if args.confirm:
        header += " named loop's remedy recovers | designed loop's remedy recovers (disagreeing runs) |"
        rule += "---|---|"
    print(header)
    print(rule)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        for n in instance_range(args.instances):
            entry = listing(n)
            want = designed(entry)
            available = {r["name"] for r in entry.get("remedies", [])}
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
            row = f"| {n} | {want} | {len(meta)} | {ok} | {other} |"
            if args.confirm:
                named = list(pool.map(lambda rg: remedied(n, rg[0], rg[1], available), zip(meta, got)))
                wrong = [r for r, g in zip(meta, got) if g != want]
                design = list(pool.map(lambda r: remedied(n, r, want, available), wrong))
                cells = []
                for results, key in ((named, "named"), (design, "designed")):
                    tried = [x for x in results if x is not None]
                    tally[key + " tried"] += len(tried)
                    tally[key + " recovered"] += sum(tried)
                    untried = len(results) - len(tried)
                    cell = f"{sum(tried)} of {len(tried)}" if results else ""
                    if untried:
                        cell += f" ({untried} without a remedy or back without one)"
                    cells.append(cell)
                row += f" {cells[0]} | {cells[1]} |"
            print(row, flush=True)
    share = 100.0 * agreeing / total if total else 0.0
    print(f"\n{agreeing} of {total} metastable runs on {tipped} instances "
          f"agree: {share:.0f} %")
    if args.confirm:
        for key in ("named", "designed"):
            tried, back = tally[key + " tried"], tally[key + " recovered"]
            what = ("the named loop's remedy" if key == "named"
                    else "on disagreeing runs, the designed loop's remedy")
            print(f"{what} brought back {back} of {tried} runs")


if __name__ == "__main__":
    main()
