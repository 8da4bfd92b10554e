#!/usr/bin/python3
"""The GPU section of reports/performance.md, from the JSON lines of one `.gpu/bench.sh` run
(bench_cuda and bench/pytorch_gpu.py on the same GPU, interleaved in one device call; the
raw lines are kept in reports/logs/gpu/bench.jsonl).

Usage: bench/gpu_report.py [--results reports/logs/gpu/bench.jsonl] [--machine
       reports/logs/gpu/machine.txt] [--date YYYY-MM-DD] [--report reports/performance.md]

Replaces the text between the markers `<!-- gpu:begin -->` and `<!-- gpu:end -->` of
--report (appends it when the markers are missing); bench/compare.py keeps that section when
it rewrites the CPU part. Ratios are ours / PyTorch's, both measured in the same run. Python 3
standard library only.
"""
import argparse
import json
import re
from pathlib import Path

BEGIN, END = "<!-- gpu:begin -->", "<!-- gpu:end -->"

# The targets (training images/s at batch 128 and 256): ours against PyTorch eager in
# the configuration named.
TARGETS = {
    "resnet20": (2.0, "best PyTorch eager configuration"),
    "resnet18_cifar": (1.0, "PyTorch eager, bf16 autocast + channels-last"),
    "resnet50": (1.0, "PyTorch eager, bf16 autocast + channels-last"),
}


def load(path):
    ours, peer = {}, {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["model"], r["batch"])
        if r.get("backend") == "cudnn":
            base = "bf16" if r.get("bf16") else ("tf32" if r["tf32"] else "fp32")
            mode = base + ("" if r["cuda_graph"] else " eager")
            ours.setdefault(key, {})[mode] = r
        elif r.get("peer") == "pytorch-cuda":
            if r.get("compile") or r.get("cuda_graph"):
                continue
            mode = "bf16+cl" if r["amp"] == "bf16" else ("tf32" if r["tf32"] else "fp32")
            if r["channels_last"] and r["amp"] != "bf16":
                mode += "+cl"
            peer.setdefault(key, {})[mode] = r
    return ours, peer


def fmt(v):
    return "—" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def get(d, key, mode, field):
    r = d.get(key, {}).get(mode)
    return None if r is None else r[field]


def section(ours, peer, machine, date, results):
    lines = []
    w = lines.append
    w(BEGIN)
    w("## GPU: the cuDNN backend vs PyTorch on the same GPU")
    w("")
    w(f"Measured on {date} in one device call: `bash .gpu/bench.sh resnet20,resnet18_cifar,resnet50` "
      "(`scripts/gpu-bundle.sh` makes `.gpu/`), which runs `bench_cuda` (`bench/cuda/bench_cuda.cpp`) and "
      "`bench/pytorch_gpu.py` one after the other on the same GPU, batch 128 and 256, at least 20 steps and "
      "1 s per figure after warm-up. Raw lines: "
      f"[{Path(results).as_posix().replace('reports/', '')}]({Path(results).as_posix().replace('reports/', '')}). "
      "This section is written by `bench/gpu_report.py` from them.")
    w("")
    for m in machine:
        w(f"- {m}")
    w("")
    w("Ours: `cudnn::Executable::train_step` (forward, loss, backward and the SGD update on the device, a "
      "CUDA Graph replayed from the second step; \"eager\": the same calls launched one by one), each step "
      "ending with the loss read by the host; fp32 NCHW, TF32 off unless marked; bf16: `--bf16` (bf16 "
      "activations on tensor cores, fp32 master weights, NCHW). PyTorch 2.11 eager "
      "(`torch.backends.cudnn.benchmark = True`), synchronised around its timed loop: fp32, TF32, and bf16 "
      "autocast with channels-last. Inference: a forward pass, host images in and host logits out.")
    w("")
    w("### Training, images/s")
    w("")
    w("| model | batch | ours fp32 | ours fp32 eager | ours TF32 | ours bf16 | PyTorch fp32 | PyTorch TF32 | PyTorch bf16 + channels-last | fp32 vs fp32 | TF32 vs TF32 | bf16 vs bf16 | ours best vs PyTorch bf16 |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted(set(ours) | set(peer), key=lambda k: (["resnet20", "resnet18_cifar", "resnet50"].index(k[0])
                                                         if k[0] in ("resnet20", "resnet18_cifar", "resnet50") else 9, k))
    for key in keys:
        o32, oe, o_tf, obf = (get(ours, key, m, "train_img_s") for m in ("fp32", "fp32 eager", "tf32", "bf16"))
        p32, ptf, pbf = (get(peer, key, m, "train_img_s") for m in ("fp32", "tf32", "bf16+cl"))
        best = max([v for v in (o32, o_tf, obf) if v is not None], default=None)
        w(f"| {key[0]} | {key[1]} | {fmt(o32)} | {fmt(oe)} | {fmt(o_tf)} | {fmt(obf)} | {fmt(p32)} | {fmt(ptf)} | "
          f"{fmt(pbf)} | {ratio(o32, p32)} | {ratio(o_tf, ptf)} | {ratio(obf, pbf)} | {ratio(best, pbf)} |")
    w("")
    w("### Inference, images/s")
    w("")
    w("| model | batch | ours fp32 | ours TF32 | ours bf16 | PyTorch fp32 | PyTorch TF32 | PyTorch bf16 + channels-last | fp32 vs fp32 | TF32 vs TF32 | bf16 vs bf16 |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in keys:
        o32, o_tf, obf = (get(ours, key, m, "infer_img_s") for m in ("fp32", "tf32", "bf16"))
        p32, ptf, pbf = (get(peer, key, m, "infer_img_s") for m in ("fp32", "tf32", "bf16+cl"))
        w(f"| {key[0]} | {key[1]} | {fmt(o32)} | {fmt(o_tf)} | {fmt(obf)} | {fmt(p32)} | {fmt(ptf)} | {fmt(pbf)} | "
          f"{ratio(o32, p32)} | {ratio(o_tf, ptf)} | {ratio(obf, pbf)} |")
    w("")
    w("### Device memory while training, MB")
    w("")
    w("| model | batch | ours fp32 (arena + workspace + blocks) | ours bf16 | PyTorch fp32 peak allocated | PyTorch bf16 + channels-last |")
    w("|---|---|---|---|---|---|")
    for key in keys:
        w(f"| {key[0]} | {key[1]} | {fmt(get(ours, key, 'fp32', 'device_mb'))} | {fmt(get(ours, key, 'bf16', 'device_mb'))} | "
          f"{fmt(get(peer, key, 'fp32', 'peak_gpu_mb'))} | {fmt(get(peer, key, 'bf16+cl', 'peak_gpu_mb'))} |")
    w("")
    w("### The issue's training targets")
    w("")
    w("| model | target | batch 128 | batch 256 | met |")
    w("|---|---|---|---|---|")
    for model, (target, against) in TARGETS.items():
        cells, met = [], True
        for batch in (128, 256):
            key = (model, batch)
            best = max([v for v in (get(ours, key, m, "train_img_s") for m in ("fp32", "tf32", "bf16"))
                        if v is not None], default=None)
            if model == "resnet20":
                ref = max([v for v in (get(peer, key, m, "train_img_s") for m in ("fp32", "tf32", "bf16+cl"))
                           if v is not None], default=None)
            else:
                ref = get(peer, key, "bf16+cl", "train_img_s")
            if best is None or ref is None:
                cells.append("—")
                met = False
                continue
            cells.append(f"{best / ref:.2f}×")
            met = met and best / ref >= target
        w(f"| {model} | ≥ {target:.1f}× {against} | {cells[0]} | {cells[1]} | {'yes' if met else 'no'} |")
    w("")
    w("One measurement per figure (one device call). The small nets at batch 128 are bound by the host and "
      "kernel launches on both sides, and the peer's figures there vary from configuration to configuration "
      "(PyTorch's ResNet-20 trains slower in TF32 than in fp32 at batch 128), so their ratios carry that "
      "noise. What these figures say, and what comes next: [docs/cudnn.md](../docs/cudnn.md), section \"Measured on an H200\".")
    w("")
    w(END)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="reports/logs/gpu/bench.jsonl")
    ap.add_argument("--machine", default="reports/logs/gpu/machine.txt")
    ap.add_argument("--date", required=True, help="the day of the device call")
    ap.add_argument("--report", default="reports/performance.md")
    a = ap.parse_args()
    ours, peer = load(a.results)
    if not ours or not peer:
        raise SystemExit(f"gpu_report.py: {a.results} has no bench_cuda or no pytorch_gpu.py lines")
    machine = []
    if Path(a.machine).exists():
        rows = [l for l in Path(a.machine).read_text().splitlines() if l.strip()]
        if len(rows) >= 2 and rows[0].startswith("name"):
            machine.append("GPU (`nvidia-smi`): " + rows[1].strip())
        machine += [f"`{l.strip()}`" for l in rows[2:]]
    text = section(ours, peer, machine, a.date, a.results)
    report = Path(a.report)
    old = report.read_text() if report.exists() else ""
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: text, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    report.write_text(new)
    print(f"gpu_report.py: wrote the GPU section of {report}")


if __name__ == "__main__":
    main()
