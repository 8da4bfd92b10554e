#!/usr/bin/python3
"""Training beside other processes: the thread policy against fixed thread counts.

Usage: bench/load.py [--archetype build/release/tools/archetype] [--loads 0,1,2,5]
       [--rounds 3] [--runs "lenet5:--batch 64 --max-steps 400,resnet20:--batch 128 --max-steps 30"]
       [--policies adaptive,fixed,one] [--markdown out.md]

For each load K (K busy processes: a spinning loop each, started before and stopped after the
runs at that load) and round, trains each run once per policy, interleaved, the order
rotating from round to round:
  adaptive  the default (no --threads): onednn::ThreadGovernor picks the thread count from the
            cores other processes leave free, and follows it between steps;
  fixed     --threads N, N the usable cores: what every run did before the policy (libgomp's
            default count, spinning at its barriers);
  one       --threads 1.
A run is `archetype train MODEL --epochs 1 --limit-test 500 ...`; the figures are its training
images/s (the epoch line: the steps alone, as the metrics count them) and its wall seconds.
Prints per load and run the median (min..max) of each policy and adaptive / fixed.

Load 0 must be measured on a quiet machine (it is the idle A/B of the policy); the other
loads are meant to share the cores. Python 3 standard library only.
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

RATE = re.compile(r"^epoch \d+/\d+\s+train loss .*?\s([0-9.]+) img/s", re.M)


def usable_cores():
    return len(os.sched_getaffinity(0))


def spinners(k):
    code = "while True:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(k)]


def run(a, model, args, policy):
    cmd = [a.archetype, "train", model, "--epochs", "1", "--limit-test", "500"] + shlex.split(args)
    if policy == "fixed":
        cmd += ["--threads", str(usable_cores())]
    elif policy == "one":
        cmd += ["--threads", "1"]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env)
    wall = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"load.py: {' '.join(map(shlex.quote, cmd))} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    m = RATE.search(p.stderr)
    if not m:
        sys.exit(f"load.py: no epoch line from {' '.join(map(shlex.quote, cmd))}:\n{p.stderr[-2000:]}")
    notes = [l for l in p.stderr.splitlines() if l.startswith("threads:")]
    return {"img_s": float(m.group(1)), "wall_s": wall, "notes": notes}


def cell(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}..{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archetype", default="build/release/tools/archetype")
    ap.add_argument("--loads", default="0,1,2,5")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", default="lenet5:--batch 64 --max-steps 400,resnet20:--batch 128 --max-steps 30")
    ap.add_argument("--policies", default="adaptive,fixed,one")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--markdown", help="also write the table here")
    a = ap.parse_args()
    runs = [r.split(":", 1) for r in a.runs.split(",")]
    policies = a.policies.split(",")
    rows = []
    for load in [int(k) for k in a.loads.split(",")]:
        procs = spinners(load)
        try:
            time.sleep(0.5)
            for r in range(a.rounds):
                order = policies[r % len(policies):] + policies[:r % len(policies)]
                for model, args in runs:
                    for policy in order:
                        row = run(a, model, args, policy)
                        row.update({"load": load, "model": model, "policy": policy})
                        rows.append(row)
                        print(f"load {load} round {r + 1} {model} {policy}: {row['img_s']:.0f} img/s, "
                              f"{row['wall_s']:.2f} s {' | '.join(row['notes'])}", flush=True)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    lines = [f"{a.rounds} interleaved rounds on {usable_cores()} usable cores; load K = K spinning processes.",
             "", "| load | run | policy | train img/s | wall s | notes |", "|---:|---|---|---:|---:|---|"]
    for load in sorted({r["load"] for r in rows}):
        for model, args in runs:
            fixed = [r["img_s"] for r in rows if (r["load"], r["model"], r["policy"]) == (load, model, "fixed")]
            for policy in policies:
                sel = [r for r in rows if (r["load"], r["model"], r["policy"]) == (load, model, policy)]
                rates = [r["img_s"] for r in sel]
                ratio = (f"; {statistics.median(rates) / statistics.median(fixed):.2f}x fixed"
                         if fixed and policy != "fixed" else "")
                notes = sorted({n for r in sel for n in r["notes"]})
                lines.append(f"| {load} | {model} {args} | {policy} | {cell(rates, '{:.0f}')}{ratio} | "
                             f"{cell([r['wall_s'] for r in sel], '{:.2f}')} | {'; '.join(notes)[:160]} |")
    text = "\n".join(lines)
    print("\n" + text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
