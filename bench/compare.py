#!/usr/bin/python3
"""Archetype vs the PyTorch peer: training and inference throughput on this machine's CPU.

Usage: bench/compare.py [--models lenet5,resnet20,resnet18_cifar] [--batch 128] [--threads 2]
       [--rounds 2] [--steps 10] [--min-time 2] [--archetype build/release/tools/archetype]
       [--peer ../shared/peers/pytorch_cpu.py] [--python /usr/bin/python3]
       [--peak-gflops 444] [--out reports/performance.md]

For every model and round, runs four configurations, each in its own process (so the peak
RSS is one model's), interleaved model by model and in alternating order from round to
round:
  archetype --conv-algorithm direct      `archetype bench M --json`
  archetype --conv-algorithm fastest
  pytorch NCHW                           `pytorch_cpu.py --models M --json -`
  pytorch channels-last                  the same with --channels-last
lenet5 runs ours with --fashion-mnist (1x28x28 through its PadTo adapter), as the peer's
LeNet-5 takes 1x28x28 images. Each configuration keeps its best round (train and
inference separately); the peer's best of NCHW and channels-last is the one ours is
compared with. Writes the report (--out) and the raw rows next to it (.json).
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFIGS = [
    # (key, side, label, extra arguments)
    ("archetype-direct", "archetype", "Archetype, direct conv", ["--conv-algorithm", "direct"]),
    ("archetype-fastest", "archetype", "Archetype, fastest conv", ["--conv-algorithm", "fastest"]),
    ("pytorch-nchw", "pytorch", "PyTorch, NCHW", []),
    ("pytorch-cl", "pytorch", "PyTorch, channels-last", ["--channels-last"]),
]
FASHION_MNIST_MODELS = {"lenet5"}  # the peer's version takes 1x28x28


def command_for(a, key, model):
    side, extra = next((c[1], c[3]) for c in CONFIGS if c[0] == key)
    common = ["--batch", str(a.batch), "--threads", str(a.threads), "--steps", str(a.steps),
              "--min-time", str(a.min_time)]
    if side == "archetype":
        cmd = [str(a.archetype), "bench", model, *common, "--peak-gflops", str(a.peak_gflops), "--json", *extra]
        if model in FASHION_MNIST_MODELS:
            cmd.append("--fashion-mnist")
        return cmd
    return [a.python, str(a.peer), "--models", model, *common, "--json", "-", *extra]


def run_one(cmd):
    """Runs one process; returns (row or None, error text)."""
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    except OSError as e:
        return None, str(e)
    rows = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not rows:
        return None, f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-500:]}"
    return json.loads(rows[-1]), ""


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    lscpu = {}
    for line in sh(["lscpu"]).splitlines():
        k, _, v = line.partition(":")
        lscpu[k.strip()] = v.strip()
    cores = None
    try:
        cores = int(lscpu.get("Core(s) per socket", "")) * int(lscpu.get("Socket(s)", "1") or 1)
    except ValueError:
        pass
    return {
        "cpu": lscpu.get("Model name", "unknown"),
        "cpus": lscpu.get("CPU(s)", ""),
        "cores": cores,
        "threads_per_core": lscpu.get("Thread(s) per core", ""),
        "nproc": sh(["nproc"]),
        "flags_avx512": "avx512f" in lscpu.get("Flags", ""),
        "gxx": sh(["g++", "--version"]).splitlines()[0] if sh(["g++", "--version"]) else "unknown",
        "onednn": sh(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"]) or "unknown",
        "loadavg": sh(["cat", "/proc/loadavg"]),
    }


def best(rows, field):
    values = [r[field] for r in rows if r.get(field) is not None]
    return max(values) if values else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def summarize(results, flops):
    """Per model and configuration: best train and inference img/s over the rounds, largest
    peak RSS, GFLOP/s and % of peak from the analytic forward FLOPs."""
    out = {}
    for model, per_config in results.items():
        out[model] = {}
        for key, rows in per_config.items():
            ok = [r for r in rows if r is not None]
            if not ok:
                out[model][key] = None
                continue
            train, infer = best(ok, "train_img_s"), best(ok, "infer_img_s")
            f = flops.get(model)
            s = {
                "train_img_s": train,
                "infer_img_s": infer,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in ok),
                "params": ok[0].get("params"),
                "rounds": len(ok),
                "train_gflops": 3 * f * train / 1e9 if f and train else None,
                "infer_gflops": f * infer / 1e9 if f and infer else None,
                "setup_s": min((r["train_setup_s"] for r in ok if r.get("train_setup_s") is not None), default=None),
                "infer_setup_s": min((r["infer_setup_s"] for r in ok if r.get("infer_setup_s") is not None), default=None),
            }
            out[model][key] = s
    return out


def write_report(a, path, meta, summary, results, errors):
    lines = []
    w = lines.append
    peak = a.peak_gflops
    w("# Performance: Archetype vs PyTorch on the CPU")
    w("")
    w(f"Written by `bench/compare.py` on {meta['date']}. Every figure below was measured by that run; "
      "a ratio compares two measurements of the same run.")
    w("")
    w("## Machine and versions")
    w("")
    m = meta["machine"]
    w(f"- CPU: {m['cpu']}; cores: {m['cores']}; CPU(s): {m['cpus']} (threads per core: "
      f"{m['threads_per_core']}); `nproc`: {m['nproc']}")
    w(f"- Load average when the run started: {meta['loadavg_start']}; when it ended: {meta['loadavg_end']} "
      "(other work on the machine lowers every figure)")
    w(f"- Compiler: {m['gxx']}")
    w(f"- oneDNN (`dpkg-query -W libdnnl-dev`): {m['onednn']}")
    w(f"- PyTorch (from the peer's rows): {meta['torch'] or 'unknown'}")
    w(f"- Archetype binary: `{a.archetype}`")
    w("")
    w("## Command")
    w("")
    w("```")
    w(meta["command"])
    w("```")
    w("")
    w(f"Batch {a.batch}, {a.threads} threads, fp32, {a.rounds} round(s), each measurement at least "
      f"{a.steps} steps and at least {a.min_time} s after 2 warm-up steps. % of peak is of "
      f"{peak:g} GFLOP/s (`--peak-gflops`), the measured FMA peak of this machine.")
    w("")
    w("## Results")
    for model in summary:
        s = summary[model]
        f = meta["flops"].get(model)
        w("")
        title = f"### {model}"
        if model in FASHION_MNIST_MODELS:
            title += " (1x28x28 inputs; ours through its PadTo adapter)"
        w(title)
        w("")
        if f:
            w(f"Analytic forward FLOPs per image: {f:,} (a training step counts 3x).")
            w("")
        peer_train = max((s[k]["train_img_s"] for k in ("pytorch-nchw", "pytorch-cl") if s.get(k)), default=None)
        peer_infer = max((s[k]["infer_img_s"] for k in ("pytorch-nchw", "pytorch-cl") if s.get(k)), default=None)
        w("| configuration | train img/s | vs peer best | train GFLOP/s | % peak | "
          "inference img/s | vs peer best | inference GFLOP/s | % peak | setup s (train / inference) | peak RSS MB |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key, _, label, _ in CONFIGS:
            r = s.get(key)
            if r is None:
                e = " ".join(errors.get((model, key), "no result").split()).replace("|", "/")[:120]
                w(f"| {label} | failed: {e} |" + " |" * 9)
                continue
            rt = r["train_img_s"] / peer_train if peer_train and r["train_img_s"] else None
            ri = r["infer_img_s"] / peer_infer if peer_infer and r["infer_img_s"] else None
            tg, ig = r["train_gflops"], r["infer_gflops"]
            w(f"| {label} | {fmt(r['train_img_s'], ',.1f')} | {fmt(rt, '.2f')}x | {fmt(tg, '.1f')} | "
              f"{fmt(tg and 100 * tg / peak, '.1f')} | {fmt(r['infer_img_s'], ',.1f')} | {fmt(ri, '.2f')}x | "
              f"{fmt(ig, '.1f')} | {fmt(ig and 100 * ig / peak, '.1f')} | "
              f"{fmt(r['setup_s'], '.2f')} / {fmt(r['infer_setup_s'], '.2f')} | "
              f"{fmt(r['peak_rss_mb'], ',.0f')} |")
    w("")
    w("## How measured")
    w("")
    w("Both sides run the same measurement on the same synthetic batch shape: one fixed batch of "
      "random inputs and labels; a training step is forward, softmax cross-entropy, backward and an SGD "
      "update (lr 0.01, momentum 0.9, weight decay 5e-4); inference is a forward pass in inference mode "
      "(running BatchNorm statistics; PyTorch: `eval()` under `no_grad()`). After 2 warm-up steps each "
      "measurement runs at least the given number of steps and at least the given time, and reports "
      "images per second. Each configuration of each model runs in its own process, so the peak RSS "
      "(`getrusage` `ru_maxrss`) is that model's, training and inference together; the runs are "
      "interleaved model by model, the order of the configurations alternating between rounds, and "
      "each configuration keeps its best round for training and for inference separately (peak RSS: "
      "the largest seen). PyTorch runs both with NCHW and channels-last tensors and the faster of the "
      "two counts as the peer (\"vs peer best\"). GFLOP/s are analytic: forward FLOPs = 2 x the "
      "multiply-accumulates of convolutions and linear layers (`archetype describe`), a training step "
      "counted as 3 x forward; the PyTorch rows use the same count, as the models are the same. "
      "\"fastest\" lets Archetype pick Winograd or direct per 3x3 stride-1 layer by timing both when the "
      "executable is built (setup time); Winograd rounds differently from direct, and does fewer "
      "multiplications than the analytic count, so its % of peak can exceed 100.")
    w("")
    w(f"Raw rows of every round: `{Path(path).with_suffix('.json').name}`.")
    if errors:
        w("")
        w("## Failures")
        w("")
        for (model, key), e in errors.items():
            w(f"- {model}, {key}: " + " ".join(e.split()).replace("`", "'"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="lenet5,resnet20,resnet18_cifar")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per measurement, at least")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement, at least")
    ap.add_argument("--archetype", default="build/release/tools/archetype")
    ap.add_argument("--peer", default="../shared/peers/pytorch_cpu.py")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--peak-gflops", type=float, default=444.0,
                    help="fp32 peak for the %% of peak: the measured FMA peak of this machine")
    ap.add_argument("--out", default="reports/performance.md")
    a = ap.parse_args()
    a.archetype = (ROOT / a.archetype).resolve() if not os.path.isabs(a.archetype) else Path(a.archetype)
    a.peer = (ROOT / a.peer).resolve() if not os.path.isabs(a.peer) else Path(a.peer)
    out = Path(a.out) if os.path.isabs(a.out) else Path.cwd() / a.out
    if not a.archetype.exists():
        sys.exit(f"compare.py: {a.archetype} not found: build it (cmake --build --preset release --target archetype)")
    if not a.peer.exists():
        sys.exit(f"compare.py: peer {a.peer} not found")
    models = [m for m in a.models.split(",") if m]

    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(x) for x in [sys.executable, *sys.argv]),
        "machine": machine(),
        "batch": a.batch, "threads": a.threads, "rounds": a.rounds, "steps": a.steps,
        "min_time": a.min_time, "peak_gflops": a.peak_gflops,
        "flops": {}, "torch": None,
    }
    meta["loadavg_start"] = meta["machine"]["loadavg"]
    results = {m: {c[0]: [] for c in CONFIGS} for m in models}
    raw, errors = [], {}
    for rnd in range(a.rounds):
        order = [c[0] for c in CONFIGS]
        if rnd % 2 == 1:
            order.reverse()
        for model in models:
            print(f"round {rnd + 1}/{a.rounds}: {model}", file=sys.stderr, flush=True)
            for key in order:
                cmd = command_for(a, key, model)
                row, err = run_one(cmd)
                if row is None:
                    errors[(model, key)] = err
                    print(f"  failed: {err}", file=sys.stderr, flush=True)
                else:
                    if row.get("forward_flops_per_image"):
                        meta["flops"][model] = row["forward_flops_per_image"]
                    if row.get("torch"):
                        meta["torch"] = row["torch"]
                    print(f"  {key}: train {fmt(row.get('train_img_s'), '.1f')} img/s, "
                          f"infer {fmt(row.get('infer_img_s'), '.1f')} img/s, "
                          f"rss {fmt(row.get('peak_rss_mb'), '.0f')} MB", file=sys.stderr, flush=True)
                results[model][key].append(row)
                raw.append({"round": rnd + 1, "config": key, "command": cmd, "row": row,
                            "error": err or None})
    meta["loadavg_end"] = sh(["cat", "/proc/loadavg"])
    summary = summarize(results, meta["flops"])
    write_report(a, out, meta, summary, results, errors)
    json_path = out.with_suffix(".json")
    json_path.write_text(json.dumps({"meta": meta, "best": summary, "rows": raw}, indent=1,
                                    default=str) + "\n")
    print(f"wrote {out} and {json_path}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
