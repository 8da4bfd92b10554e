#!/usr/bin/env python3
"""Peer baseline on a GPU: PyTorch (CUDA) training and inference throughput for the seed
architectures, the GPU counterpart of bench/peers/pytorch_cpu.py (same models, same
definitions, same optimizer), for comparing the cuDNN backend in the same run.

Usage: python3 bench/pytorch_gpu.py [--models resnet20,resnet18_cifar,resnet50] [--batch 128,256]
       [--steps 20] [--min-time 2] [--amp bf16|off] [--channels-last] [--tf32] [--compile]
       [--cuda-graph] [--json out.json | --json -]
Prints one line per model and batch: training and inference images/s. Timing: warm-up
steps first (cuDNN autotuning with torch.backends.cudnn.benchmark = True), then at least
--steps steps and --min-time seconds between two torch.cuda.synchronize() calls: device
time, launch overhead included (what a training loop sees). --amp bf16 runs the forward
and the loss under torch.autocast(dtype=torch.bfloat16) (fp32 master weights);
--channels-last converts model and input to NHWC; --tf32 allows TF32 in convolutions and
matrix products (off by default: fp32, as the parity tests); --cuda-graph captures the
whole training step with torch.cuda.graphs (PyTorch's own answer to launch overhead).
Runs where PyTorch sees a GPU (the GPU machines' python3); written on a machine without
one: not yet run.
"""
import argparse, json, os, sys, time
import torch, torch.nn as nn, torch.nn.functional as F


# The models: the CPU peer's definitions (one definition for both peers); the ImageNet ones
# are torchvision's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from pytorch_cpu import MODELS  # noqa: E402


def bench(name, batch, steps, warmup=5, channels_last=False, amp="off", compile_model=False,
          cuda_graph=False, min_time=2.0):
    ctor, shape = MODELS[name]
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = ctor().to(dev)
    params = sum(p.numel() for p in model.parameters())
    classes = 1000 if name == "resnet50" else 10
    x = torch.randn(batch, *shape, device=dev); y = torch.randint(0, classes, (batch,), device=dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    run = torch.compile(model) if compile_model else model
    dtype = torch.bfloat16 if amp == "bf16" else None

    def forward(inp):
        if dtype is None:
            return run(inp)
        with torch.autocast("cuda", dtype=dtype):
            return run(inp)

    def train_step():
        opt.zero_grad(set_to_none=False)
        out = forward(x)
        loss = F.cross_entropy(out.float(), y); loss.backward(); opt.step()
        return loss

    def timed(step):  # at least `steps` steps and at least `min_time` seconds, synchronised
        for _ in range(warmup): step()
        torch.cuda.synchronize()
        t0, done = time.perf_counter(), 0
        while done < steps or time.perf_counter() - t0 < min_time:
            step(); done += 1
            if done % steps == 0: torch.cuda.synchronize()
        torch.cuda.synchronize()
        return batch * done / (time.perf_counter() - t0)

    model.train()
    if cuda_graph:  # capture forward + loss + backward + update once, replay it
        s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3): train_step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            train_step()
        train = timed(g.replay)
    else:
        train = timed(train_step)
    model.eval()
    with torch.no_grad():
        infer = timed(lambda: forward(x))
    return {"peer": "pytorch-cuda", "torch": torch.__version__, "device": torch.cuda.get_device_name(),
            "model": name, "params": params, "batch": batch, "channels_last": channels_last, "amp": amp,
            "tf32": torch.backends.cudnn.allow_tf32, "compile": compile_model, "cuda_graph": cuda_graph,
            "train_img_s": train, "infer_img_s": infer,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lenet5,resnet20,resnet18_cifar,vgg16_cifar,resnet50")
    ap.add_argument("--batch", default="128,256", help="comma-separated batch sizes")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement, at least")
    ap.add_argument("--amp", choices=["off", "bf16"], default="off")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--cuda-graph", action="store_true", help="capture the training step as a CUDA Graph")
    ap.add_argument("--json")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("pytorch_gpu.py: PyTorch sees no CUDA device")
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    rows = []
    for n in a.models.split(","):
        if n not in MODELS:
            sys.exit(f"unknown model {n!r}; known: {', '.join(MODELS)}")
        for b in (int(v) for v in a.batch.split(",")):
            torch.cuda.reset_peak_memory_stats()
            r = bench(n, b, a.steps, channels_last=a.channels_last, amp=a.amp, compile_model=a.compile,
                      cuda_graph=a.cuda_graph, min_time=a.min_time)
            rows.append(r)
            if a.json == "-":
                print(json.dumps(r), flush=True)
            else:
                print(f"{r['model']:16s} params={r['params']:>11,d} batch={b:4d} amp={a.amp:4s} "
                      f"nhwc={int(a.channels_last)} tf32={int(a.tf32)} graph={int(a.cuda_graph)} "
                      f"train={r['train_img_s']:10.1f} img/s infer={r['infer_img_s']:10.1f} img/s "
                      f"gpu={r['peak_gpu_mb']:.0f} MB", flush=True)
    if a.json and a.json != "-":
        json.dump({"torch": torch.__version__, "rows": rows}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
