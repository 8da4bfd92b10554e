#!/usr/bin/python3
"""Same-run A/B of two `archetype` binaries or configurations: throughput, setup time and peak memory.

Usage: bench/ab.py --a OLD/archetype --b NEW/archetype [--models resnet20,resnet18_cifar]
       [--rounds 5] [--batch 128] [--threads 2] [--mode both] [--min-time 1] [--steps 5]
       [--extra "--conv-algorithm fastest"] [--extra-a ARGS] [--extra-b ARGS] [--json out.json]

Two configurations of one binary: the same binary as --a and --b, and the side's own
arguments in --extra-a and --extra-b (e.g. `--extra-a "--conv-algorithm direct" --extra-b
"--conv-algorithm fastest"`), added after --extra. A lone flag takes the `=` form, which
argparse reads as a value (`--extra-a=--onednn-silu`; `--extra-a "--onednn-silu"` is refused).

For every model and round, runs `archetype bench MODEL --json` of A and of B, each in its own
process (so the peak RSS is that run's), interleaved, with the order of A and B alternating
from round to round so that neither side always runs on a warmer or a busier machine. Prints,
per model and figure (training and inference images/s, setup seconds of the training and
inference executables, peak RSS in MB), the median of each side, its spread (min..max), and
B / A of the medians. A change is within noise when the ranges overlap.

Measure on a quiet machine: two OpenMP threads that share their cores with another process
collapse. Python 3 standard library only.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys

FIELDS = [
    ("train_img_s", "train img/s", "higher"),
    ("infer_img_s", "infer img/s", "higher"),
    ("train_setup_s", "train setup s", "lower"),
    ("infer_setup_s", "infer setup s", "lower"),
    ("peak_rss_mb", "peak RSS MB", "lower"),
]


def run(binary, model, a, extra):
    cmd = [binary, "bench", model, "--json", "--batch", str(a.batch), "--threads", str(a.threads),
           "--mode", a.mode, "--min-time", str(a.min_time), "--steps", str(a.steps)] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    if p.returncode != 0:
        sys.exit(f"ab.py: {' '.join(map(shlex.quote, cmd))} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    if not rows:
        sys.exit(f"ab.py: no JSON row from {' '.join(map(shlex.quote, cmd))}:\n{p.stdout[-2000:]}")
    return rows[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the baseline archetype binary")
    ap.add_argument("--b", required=True, help="the changed archetype binary")
    ap.add_argument("--models", default="resnet20,resnet18_cifar,vgg16_cifar,efficientnet_b0")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="both", choices=["train", "inference", "both"])
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--extra", default="", help="more arguments for both sides' archetype bench")
    ap.add_argument("--extra-a", default="", help="more arguments for side A only")
    ap.add_argument("--extra-b", default="", help="more arguments for side B only")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", help="write every row here")
    a = ap.parse_args()
    if a.rounds < 1:
        sys.exit("ab.py: --rounds must be at least 1")
    extra = {"A": shlex.split(a.extra) + shlex.split(a.extra_a),
             "B": shlex.split(a.extra) + shlex.split(a.extra_b)}
    rows = []
    for model in a.models.split(","):
        for r in range(a.rounds):
            order = [("A", a.a), ("B", a.b)] if r % 2 == 0 else [("B", a.b), ("A", a.a)]
            for side, binary in order:
                row = run(binary, model, a, extra[side])
                row.update({"side": side, "round": r + 1, "model": model})
                rows.append(row)
                print(f"{model} round {r + 1} {side}: " +
                      ", ".join(f"{label} {row.get(key)}" for key, label, _ in FIELDS), flush=True)
    print(f"\nA: {a.a} {a.extra_a}\nB: {a.b} {a.extra_b}\n{a.rounds} interleaved rounds, batch {a.batch}, "
          f"{a.threads} threads {a.extra}\n")
    print(f"| model | figure | A median (min..max) | B median (min..max) | B / A |")
    print("|---|---|---:|---:|---:|")
    for model in a.models.split(","):
        for key, label, _ in FIELDS:
            sides = {}
            for side in ("A", "B"):
                values = [r[key] for r in rows if r["model"] == model and r["side"] == side and r.get(key) is not None]
                if values:
                    sides[side] = values
            if len(sides) < 2:
                continue
            med = {s: statistics.median(v) for s, v in sides.items()}
            cell = {s: f"{med[s]:.3g} ({min(v):.3g}..{max(v):.3g})" for s, v in sides.items()}
            ratio = med["B"] / med["A"] if med["A"] else float("nan")
            print(f"| {model} | {label} | {cell['A']} | {cell['B']} | {ratio:.3f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
