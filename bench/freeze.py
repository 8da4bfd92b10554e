#!/usr/bin/python3
"""What freezing saves: a training step with frozen layers against the full one.

Usage: bench/freeze.py [--archetype build/release/tools/archetype]
       [--runs "resnet50:avgpool:32,resnet50:layer4:32,xception:avg_pool:16,xception:block14:16"] [--rounds 3] [--threads 2]
       [--min-time 3] [--markdown out.md]

For each run MODEL:PATH:BATCH and round, `archetype bench MODEL --mode train --json` once as
it is and once with `--freeze-until PATH` (feature extraction when PATH is the first layer of
the head or of the last stage), interleaved, the order alternating between rounds. Prints per
run the median (min..max) of images/s, the arena of values, peak RSS and the step's kernels of
both, and frozen / full of the medians. Measure on a quiet machine. Python 3 standard library.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys


def run(a, model, batch, freeze):
    cmd = [a.archetype, "bench", model, "--mode", "train", "--batch", str(batch), "--threads",
           str(a.threads), "--min-time", str(a.min_time), "--steps", "3", "--json"]
    if freeze:
        cmd += ["--freeze-until", freeze]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    if p.returncode != 0:
        sys.exit(f"freeze.py: {' '.join(map(shlex.quote, cmd))} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])


def cell(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}..{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archetype", default="build/release/tools/archetype")
    ap.add_argument("--runs", default="resnet50:avgpool:32,resnet50:layer4:32,xception:avg_pool:16,xception:block14:16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    rows = []
    runs = [r.split(":") for r in a.runs.split(",")]
    for rnd in range(a.rounds):
        for model, path, batch in runs:
            sides = [("full", ""), ("frozen", path)]
            if rnd % 2:
                sides.reverse()
            for side, freeze in sides:
                r = run(a, model, int(batch), freeze)
                r.update({"side": side, "round": rnd + 1, "model": model, "path": path})
                rows.append(r)
                print(f"round {rnd + 1} {model} {path} {side}: {r['train_img_s']:.1f} img/s, values "
                      f"{r['train_values_mb']:.0f} MB, rss {r['peak_rss_mb']:.0f} MB", flush=True)
    lines = [f"{a.rounds} interleaved rounds, {a.threads} threads, `archetype bench MODEL --mode train "
             f"--batch B [--freeze-until PATH]`.", "",
             "| model, batch | frozen until | step | train img/s | values arena MB | peak RSS MB | kernels per step |",
             "|---|---|---|---:|---:|---:|---:|"]
    for model, path, batch in runs:
        med = {}
        for side in ("full", "frozen"):
            sel = [r for r in rows if (r["model"], r["path"], r["side"]) == (model, path, side)]
            med[side] = statistics.median(r["train_img_s"] for r in sel)
            lines.append(f"| {model}, {batch} | {path if side == 'frozen' else '–'} | {side} | "
                         f"{cell([r['train_img_s'] for r in sel], '{:.1f}')} | "
                         f"{cell([r['train_values_mb'] for r in sel], '{:.0f}')} | "
                         f"{cell([r['peak_rss_mb'] for r in sel], '{:.0f}')} | {sel[0]['train_pass_steps']} |")
        lines.append(f"| {model}, {batch} | | frozen / full | {med['frozen'] / med['full']:.2f}x | | | |")
    text = "\n".join(lines)
    print("\n" + text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
