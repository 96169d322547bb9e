#!/usr/bin/env python3
"""Verdict calibration: the false-positive rate of fault-free runs by offered
rate, judged by the current verdict and, from the same windows, by the old
per-window hold rule (every one of 10 windows >= 0.8 G0); then every built-in
scenario's documented trigger on the same seeds.

    cargo build --release -p hormesis
    python3 scripts/calibrate.py [--seeds 20] [--jobs 2] [--rates 0.5,1,...]

A fault-free run is a false positive when it is not `stable`. The system is
retry-storm with its capacity scaled to the rate (about 60 % utilisation), so
every rate sees the same healthy system. Rates too low for the default
warm-up and horizon get the warm-up and horizon that `hormesis run` asks for.
"""
import argparse, concurrent.futures as cf, json, math, os, subprocess, sys, tempfile

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "hormesis")
K = 100.0  # verdict::EXPECTED_PER_BLOCK


def params_for(rate):
    # service_time 1ms and enough workers for ~60 % utilisation.
    workers = max(1, min(256, math.ceil(rate * 0.001 / 0.6)))
    b = max(1, math.ceil(K / rate))
    warmup = max(30, b + 2)
    horizon = max(60, 2 * max(b, 5))
    return [f"rate={rate}", "service_time=1ms", f"workers={workers}",
            f"warmup={warmup}s", f"horizon={horizon}s"]


def run(args):
    sets, seed, schedule = args
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [BIN, "run", "--scenario", "retry-storm", "--seed", str(seed), "--json", path]
    for s in sets:
        cmd += ["--set", s]
    for spec in schedule:
        cmd += ["--fault", spec]
    p = subprocess.run(cmd, capture_output=True, text=True)
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    finally:
        os.unlink(path)
    if report is None:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "no report"}
    return report


def old_rule(report):
    """The per-window rule: some 10 consecutive windows all >= 0.8 G0, within SLO."""
    v, w = report["verdict"], report["windows"]
    floor = 0.8 * v["g0"]
    first = math.ceil(v["trigger_end_s"])
    last = first + round(v["horizon_s"])
    rate = lambda i: w[i]["goodput"] if i < len(w) else 0
    for s in range(first, last - 10 + 1):
        if all(rate(i) >= floor for i in range(s, s + 10)):
            return "stable" if s - first <= 30 else "slow-recovery"
    return "metastable"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rates", default="0.5,1,2,5,10,20,50,100,1000,10000")
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    seeds = range(1, a.seeds + 1)
    with cf.ThreadPoolExecutor(a.jobs) as pool:
        print(f"Fault-free runs, {a.seeds} seeds per rate (retry-storm, capacity scaled to the rate)\n")
        print("| offered req/s | warm-up, H | judging block | not stable (now) | not stable (old per-window rule) |")
        print("|---|---|---|---|---|")
        for rate in rates:
            sets = params_for(rate)
            reports = list(pool.map(run, [(sets, s, []) for s in seeds]))
            errors = [r["error"] for r in reports if "error" in r]
            if errors:
                print(f"| {rate:g} | | | error: {errors[0]} | |")
                continue
            now = sum(r["verdict"]["class"] != "stable" for r in reports)
            old = sum(old_rule(r) != "stable" for r in reports)
            block = reports[0]["verdict"]["block_s"]
            print(f"| {rate:g} | {sets[3][7:]}, {sets[4][8:]} | {block:g} s | {now}/{len(reports)} | {old}/{len(reports)} |")
            sys.stdout.flush()
        print("\nA real trigger at low rates: retry-storm with one worker at 50 % utilisation, `load-spike:at=60s,for=20s,factor=3` (the old rule blames nothing when its noisy control \"collapses\")\n")
        print("| offered req/s | metastable (now) | control not stable (now) | metastable (old rule, control recovered) |")
        print("|---|---|---|---|")
        for rate in [r for r in rates if 2 <= r <= 50]:
            b = max(1, math.ceil(K / rate))
            sets = [f"rate={rate}", "workers=1", f"service_time={round(500 / rate)}ms",
                    f"warmup={max(30, b + 2)}s", f"horizon={max(60, 2 * max(b, 5))}s"]
            spike = [f"load-spike:at={max(30, b + 2) + 1}s,for=20s,factor=3"]
            reports = list(pool.map(run, [(sets, s, spike) for s in seeds]))
            errors = [r["error"] for r in reports if "error" in r]
            if errors:
                print(f"| {rate:g} | error: {errors[0]} | | |")
                continue
            now = sum(r["verdict"]["class"] == "metastable" for r in reports)
            ctrl = sum(r["control"]["recovered"] is False or r["control"].get("unhealthy") is not None for r in reports)
            def old_control_ok(r):
                c = dict(r)
                c["windows"] = r["control"]["windows"]
                return old_rule(c) != "metastable"
            old = sum(old_rule(r) == "metastable" and old_control_ok(r) for r in reports)
            print(f"| {rate:g} | {now}/{len(reports)} | {ctrl}/{len(reports)} | {old}/{len(reports)} |")
            sys.stdout.flush()
        print("\nDocumented triggers (`hormesis scenarios`), same seeds\n")
        print("| scenario | trigger | metastable (now) | metastable (old rule) |")
        print("|---|---|---|---|")
        listing = json.loads(subprocess.run([BIN, "scenarios", "--json"], capture_output=True, text=True).stdout)
        for sc in listing["scenarios"] if isinstance(listing, dict) else listing:
            name, trigger = sc["name"], sc["trigger"]
            def one(seed):
                cmd = [BIN, "run", "--scenario", name, "--seed", str(seed), "--json", "-"]
                for spec in trigger:
                    cmd += ["--fault", spec]
                p = subprocess.run(cmd, capture_output=True, text=True)
                return json.loads(p.stdout)
            reports = list(pool.map(one, seeds))
            now = sum(r["verdict"]["class"] == "metastable" for r in reports)
            old = sum(old_rule(r) == "metastable" for r in reports)
            print(f"| {name} | `{' '.join(trigger)}` | {now}/{len(reports)} | {old}/{len(reports)} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
