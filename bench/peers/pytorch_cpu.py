#!/usr/bin/python3
"""Peer baseline: PyTorch (Debian's python3-torch, built with oneDNN) training and
inference throughput for the seed architectures, on the CPU of this machine.

Usage: /usr/bin/python3 pytorch_cpu.py [--models resnet18_cifar,resnet20] [--batch 128]
       [--steps 10] [--threads N] [--channels-last] [--mode both|train|inference]
       [--json out.json | --json -]
Prints one line per model: name, params, train img/s, infer img/s, peak RSS of the process
(cumulative: run one model per process to read one model's memory); the JSON rows also give
the median and 99th percentile of the timed steps (train_p50_ms, ..., infer_p99_ms). With --json - the
rows go to standard output as JSON, one object per line.
Install: apt-get install -y python3-torch python3-torchvision
"""
import argparse, json, os, resource, sys, time
import torch, torch.nn as nn, torch.nn.functional as F


class Basic(nn.Module):
    expansion = 1
    def __init__(s, i, o, stride=1, skip=True):
        super().__init__()
        s.c1 = nn.Conv2d(i, o, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o)
        s.skip = skip
        s.sc = nn.Sequential()
        if skip and (stride != 1 or i != o):
            s.sc = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x))); y = s.b2(s.c2(y))
        if s.skip: y = y + s.sc(x)
        return F.relu(y)


class BasicA(Basic):
    """He et al. 2016 CIFAR block with the parameter-free "option A" shortcut:
    strided identity, extra channels zero-padded."""
    def __init__(s, i, o, stride=1, skip=True):
        super().__init__(i, o, stride, False)
        s.skip, s.stride, s.pad = skip, stride, o - i
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x))); y = s.b2(s.c2(y))
        if s.skip:
            sc = x[:, :, ::s.stride, ::s.stride] if s.stride > 1 else x
            if s.pad: sc = F.pad(sc, (0, 0, 0, 0, s.pad // 2, s.pad - s.pad // 2))
            y = y + sc
        return F.relu(y)


class Bottleneck(nn.Module):
    expansion = 4
    def __init__(s, i, p, stride=1, skip=True):
        super().__init__()
        o = p * 4
        s.c1 = nn.Conv2d(i, p, 1, bias=False); s.b1 = nn.BatchNorm2d(p)
        s.c2 = nn.Conv2d(p, p, 3, stride, 1, bias=False); s.b2 = nn.BatchNorm2d(p)
        s.c3 = nn.Conv2d(p, o, 1, bias=False); s.b3 = nn.BatchNorm2d(o)
        s.sc = nn.Sequential()
        if stride != 1 or i != o:
            s.sc = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x))); y = F.relu(s.b2(s.c2(y))); y = s.b3(s.c3(y))
        return F.relu(y + s.sc(x))


class ResNetCifar(nn.Module):
    """The seeds' CIFAR ResNet: 3x3 stem, no max-pool, widths 64..512."""
    def __init__(s, block, nb, skip=True, in_ch=3, classes=10):
        super().__init__()
        s.inp = 64
        s.c1 = nn.Conv2d(in_ch, 64, 3, 1, 1, bias=False); s.b1 = nn.BatchNorm2d(64)
        layers = []
        for w, n, st in zip((64, 128, 256, 512), nb, (1, 2, 2, 2)):
            for k in range(n):
                layers.append(block(s.inp, w, st if k == 0 else 1, skip) if block is Basic
                              else block(s.inp, w, st if k == 0 else 1))
                s.inp = w * block.expansion
        s.layers = nn.Sequential(*layers)
        s.fc = nn.Linear(512 * block.expansion, classes)
    def forward(s, x):
        x = F.relu(s.b1(s.c1(x))); x = s.layers(x)
        return s.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ResNetHe(nn.Module):
    """He et al. 2015 section 4.2 CIFAR ResNet-(6n+2): widths 16/32/64."""
    def __init__(s, n, skip=True, in_ch=3, classes=10, block=BasicA):
        super().__init__()
        s.c1 = nn.Conv2d(in_ch, 16, 3, 1, 1, bias=False); s.b1 = nn.BatchNorm2d(16)
        layers, inp = [], 16
        for w, st in ((16, 1), (32, 2), (64, 2)):
            for k in range(n):
                layers.append(block(inp, w, st if k == 0 else 1, skip)); inp = w
        s.layers = nn.Sequential(*layers)
        s.fc = nn.Linear(64, classes)
    def forward(s, x):
        x = F.relu(s.b1(s.c1(x))); x = s.layers(x)
        return s.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def vgg_cifar(classes=10, in_ch=3):
    """The seeds' VGGNet for 32x32: conv-BN-ReLU blocks, 512-4096-4096 head."""
    cfg = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    layers, c = [], in_ch
    for w, n in cfg:
        for _ in range(n):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]; c = w
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(True), nn.Dropout(0.5),
                         nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(4096, classes))


def lenet5(classes=10):
    """LeNet-5 on 28x28 (conv1 padded by 2, i.e. the classic 32x32 geometry), ReLU, max-pool."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


MODELS = {
    # name: (constructor, input shape C,H,W)
    "lenet5": (lambda: lenet5(), (1, 28, 28)),
    "resnet20": (lambda: ResNetHe(3), (3, 32, 32)),            # option A: 269,722 params
    "resnet20_b": (lambda: ResNetHe(3, block=Basic), (3, 32, 32)),  # projection: 272,474
    "plain20": (lambda: ResNetHe(3, skip=False), (3, 32, 32)),
    "resnet56": (lambda: ResNetHe(9), (3, 32, 32)),
    "plain56": (lambda: ResNetHe(9, skip=False), (3, 32, 32)),
    "resnet110": (lambda: ResNetHe(18), (3, 32, 32)),
    "resnet18_cifar": (lambda: ResNetCifar(Basic, [2, 2, 2, 2]), (3, 32, 32)),
    "plain18_cifar": (lambda: ResNetCifar(Basic, [2, 2, 2, 2], skip=False), (3, 32, 32)),
    "resnet50_cifar": (lambda: ResNetCifar(Bottleneck, [3, 4, 6, 3]), (3, 32, 32)),
    "vgg16_cifar": (lambda: vgg_cifar(), (3, 32, 32)),
    # torchvision's ImageNet definitions (the zoo's resnet50, mobilenet_v2, efficientnet_b0),
    # imported when used (the GPU peer shares this table)
    "resnet50": (lambda: __import__("torchvision").models.resnet50(), (3, 224, 224)),
    "mobilenet_v2": (lambda: __import__("torchvision").models.mobilenet_v2(), (3, 224, 224)),
    "efficientnet_b0": (lambda: __import__("torchvision").models.efficientnet_b0(), (3, 224, 224)),
}


def bench(name, batch, steps, warmup=2, channels_last=False, min_time=2.0, mode="both"):
    ctor, shape = MODELS[name]
    torch.manual_seed(0)
    model = ctor()
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(batch, *shape); y = torch.randint(0, 10, (batch,))  # 10 of any classes
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    def timed(step):  # at least `steps` steps and at least `min_time` seconds
        for _ in range(warmup): step()
        t0, ms = time.perf_counter(), []
        while len(ms) < steps or time.perf_counter() - t0 < min_time:
            s0 = time.perf_counter(); step(); ms.append(1e3 * (time.perf_counter() - s0))
        ms.sort()  # p50, p99: nearest rank below, floor(q * n), as the ONNX Runtime peer
        return batch * len(ms) / (time.perf_counter() - t0), ms[len(ms) // 2], ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y); loss.backward(); opt.step()
    train = infer = (None, None, None)
    if mode in ("both", "train"):
        model.train()
        train = timed(train_step)
    if mode in ("both", "inference"):
        model.eval()
        with torch.no_grad():
            infer = timed(lambda: model(x))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peer": "pytorch", "torch": torch.__version__, "model": name, "params": params,
            "batch": batch, "threads": torch.get_num_threads(), "channels_last": channels_last,
            "train_img_s": train[0], "infer_img_s": infer[0], "train_p50_ms": train[1], "train_p99_ms": train[2],
            "infer_p50_ms": infer[1], "infer_p99_ms": infer[2], "peak_rss_mb": rss_mb}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lenet5,resnet20,resnet18_cifar")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement, at least")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--mode", default="both", choices=["both", "train", "inference"])
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows = []
    for n in a.models.split(","):
        if n not in MODELS:
            sys.exit(f"unknown model {n!r}; known: {', '.join(MODELS)}")
        r = bench(n, a.batch, a.steps, channels_last=a.channels_last, min_time=a.min_time, mode=a.mode)
        rows.append(r)
        if a.json == "-":
            print(json.dumps(r), flush=True)
        else:
            fig = lambda v: "-" if v is None else f"{v:9.1f}"
            print(f"{r['model']:16s} params={r['params']:>11,d} batch={a.batch} "
                  f"train={fig(r['train_img_s'])} img/s infer={fig(r['infer_img_s'])} img/s "
                  f"rss={r['peak_rss_mb']:.0f} MB", flush=True)
    if a.json and a.json != "-":
        json.dump({"torch": torch.__version__, "threads": a.threads, "rows": rows}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
