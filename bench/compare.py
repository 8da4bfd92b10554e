#!/usr/bin/python3
"""Archetype vs the PyTorch and ONNX Runtime peers (and dlib where it builds): training and inference throughput on this machine's CPU.

Usage: bench/compare.py [--models lenet5,resnet20,resnet18_cifar,vgg16_cifar,resnet50,mobilenet_v2,
       efficientnet_b0] [--batches 1,128 | --batch 128] [--train-batch 128]
       [--threads 2] [--rounds 2] [--steps 10] [--min-time 2] [--bench-dir build/release/bench]
       [--archetype build/release/tools/archetype] [--peer bench/peers/pytorch_cpu.py]
       [--dlib-peer bench/peers/dlib/dlib_peer.cpp] [--dlib-iters N] [--no-dlib] [--no-ort]
       [--no-compile-times] [--python /usr/bin/python3] [--peak-gflops G] [--timeout 3600]
       [--out reports/performance.md]

Batches: each model is measured at several batches in one run. Default: the 224x224 models
(resnet50, mobilenet_v2, efficientnet_b0) at 1 and 32, the others at 1 and 128; --batches
1,128 gives every model the same list. Training is measured at --train-batch (128; 0: never)
where it is one of the model's batches, the other batches inference only. --batch B is the
script's former single batch: every model at B alone, training and inference.

First, unless --no-compile-times, re-runs the compile commands of each measured model's
benchmark executable bench_<model> (from compile_commands.json next to --bench-dir: its own
generated translation unit, and the registry translation unit that instantiates the model's
network type) one at a time under `/usr/bin/time -f '%e %M'`, objects to a temporary folder.
Where `pkg-config --exists dlib-1` succeeds (and not --no-dlib), compiles the dlib peer
(`g++ -O3 -march=native -std=c++17`, as its build.sh) into build/dlib_peer/dlib_peer, once,
timed the same way.

Then, for every model, batch and round, runs these configurations, each in its own process (so
the peak RSS is one model's at one batch), interleaved model by model and batch by batch, in
alternating order from round to round:
  archetype --conv-algorithm direct      `bench_<model> --benchmark_filter=<the inference (and
  archetype --conv-algorithm fastest      training) benchmark of the batch> --benchmark_format=json`
  archetype bf16 (direct conv; skipped    (falls back to `archetype bench M --json` when
    where the CPU has no bf16 kernels)   bench_<model> is missing or has no such benchmark)
  pytorch NCHW                           `pytorch_cpu.py --models M --json -` (--mode inference
  pytorch channels-last                  where training is not measured); and --channels-last
  dlib (lenet5, resnet20)                `dlib_peer M --batch B --iters N --json`, with
                                         OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=--threads, at the
                                         training batch only
  ONNX Runtime (inference)               `node bench/peers/onnxruntime_peer.mjs --onnx F ...` on
                                         the PyTorch peer's model exported once by
                                         bench/peers/onnx_export.py into build/peer_onnx/ (where
                                         node and npm onnxruntime-node are installed, not --no-ort)
lenet5 runs ours with --fashion-mnist (1x28x28 through its PadTo adapter), as the peer's
LeNet-5 takes 1x28x28 images. Each configuration keeps its best round (train and
inference separately); the peer's best of NCHW and channels-last is the one ours is
compared with. Latency p50/p99 per step comes from bench_<model>'s counters, the PyTorch peer
and ONNX Runtime (not from `archetype bench`). Writes the report (--out): the issue-31 targets
(ours' best fp32 against ONNX Runtime and PyTorch per model and batch, the PyTorch process's
kernel CPU share beside each training ratio, peak RSS of each side), a bf16 section (ours in
bf16 against ONNX Runtime in fp32), and one table per model and batch; the raw rows next to it
(.json).
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (key, side, label); side "archetype" carries the --conv-algorithm in the key's suffix.
CONFIGS = [
    ("archetype-direct", "archetype", "Archetype, direct conv"),
    ("archetype-fastest", "archetype", "Archetype, fastest conv"),
    ("archetype-bf16", "archetype", "Archetype, bf16 (direct conv)"),
    ("pytorch-nchw", "pytorch", "PyTorch, NCHW"),
    ("pytorch-cl", "pytorch", "PyTorch, channels-last"),
]
CONV_ALGORITHM = {"archetype-direct": "direct", "archetype-fastest": "fastest", "archetype-bf16": "direct"}
# Our configurations in another precision than fp32 (--precision); compared with our fp32 direct.
PRECISION = {"archetype-bf16": "bf16"}
# Configurations this machine cannot run, with the reason (set by main(): bf16 where the CPU
# lists neither AVX-512 BF16 nor AMX-BF16, which ours refuses with an error).
SKIPPED = {}
PEER_ARGS = {"pytorch-nchw": [], "pytorch-cl": ["--channels-last"]}
DLIB_KEY = "dlib"
# The models of dlib_peer.cpp that match ours, with its default timed iterations.
DLIB_MODELS = {"lenet5": 200, "resnet20": 10}
DLIB_NOT_INSTALLED = ("dlib column: libdlib-dev not installed (apt-get install libdlib-dev "
                      "libopenblas0-pthread); see bench/peers/README.md")
FASHION_MNIST_MODELS = {"lenet5"}  # the peer's version takes 1x28x28
ORT_KEY = "onnxruntime"
ORT_LABEL = "ONNX Runtime (inference only)"
# Set by setup_ort(): {"installed", "note", "version", "models": {model: {"path", "input"}}}.
ORT = {"installed": False, "note": "", "models": {}}
# The batches of each model when neither --batch nor --batches is given: the 224x224 models (the
# PyTorch peer's torchvision definitions) at 1 and 32, the others at 1 and 128.
DEFAULT_BATCHES = {"resnet50": (1, 32), "mobilenet_v2": (1, 32), "efficientnet_b0": (1, 32)}
DEFAULT_BATCHES_OTHER = (1, 128)
DEFAULT_MODELS = "lenet5,resnet20,resnet18_cifar,vgg16_cifar,resnet50,mobilenet_v2,efficientnet_b0"
# Issue 31's targets (fp32, same run, our best configuration against each peer's best).
ORT_TARGET, ORT_TARGET_BATCHES = 1.25, {1, 32, 128}
ORT_TARGET_MODELS = {"resnet20", "resnet18_cifar", "resnet50", "mobilenet_v2", "efficientnet_b0"}
TRAIN_TARGET, TRAIN_TARGET_MODELS = 2.0, {"resnet20", "resnet18_cifar"}
DEP_FLAGS_WITH_VALUE = {"-MF", "-MT", "-MQ"}
DEP_FLAGS = {"-MD", "-MMD"}


def rel(p):
    """A path relative to the repository root where it lies inside it."""
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def tail(text, n=500):
    return " ".join((text or "").split())[-n:]


def configs_for(model, dlib, train=True):
    """The configurations of one model at one batch; dlib only where training is measured (its
    peer times both, and a training step of one image is not what it is built for)."""
    out = [c for c in CONFIGS if c[0] not in SKIPPED]
    if train and dlib.get("installed") and model in DLIB_MODELS:
        out.append((DLIB_KEY, "dlib", dlib["label"]))
    if model in ORT["models"]:
        out.append((ORT_KEY, "onnxruntime", ORT_LABEL))
    return out


def label_of(key, dlib):
    if key == DLIB_KEY:
        return dlib.get("label", "dlib")
    if key == ORT_KEY:
        return ORT_LABEL
    return next(c[2] for c in CONFIGS if c[0] == key)


def parse_batches(text, flag):
    """'1,128' -> (1, 128): positive integers, each once, in the order given."""
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        out = ()
    if not out or any(b < 1 for b in out) or len(set(out)) != len(out):
        raise ValueError(f"{flag} expects distinct positive integers separated by commas, got {text!r}")
    return out


def batch_plan(a, models):
    """{model: [(batch, train)]}: the batches each model is measured at, and whether training is
    measured at that batch (inference always is). --batch B: B alone, training too (the script's
    behaviour before --batches). Else --batches for every model, or the default table; training
    at --train-batch where it is one of the model's batches."""
    plan = {}
    for model in models:
        if a.batch is not None:
            plan[model] = [(a.batch, True)]
            continue
        batches = a.batches or DEFAULT_BATCHES.get(model, DEFAULT_BATCHES_OTHER)
        plan[model] = [(b, b == a.train_batch) for b in batches]
    return plan


# --- Our driver: bench_<model> (Google Benchmark), else `archetype bench`.

def bench_prefixes(model, batch):
    return {"train": f"{model}/train_step/batch:{batch}/", "infer": f"{model}/inference/batch:{batch}/"}


def list_benchmarks(a, model):
    """bench_<model>'s benchmark names and why it cannot be used ('' when it can)."""
    exe = a.bench_dir / f"bench_{model}"
    if not exe.exists():
        return [], f"{rel(exe)} not found"
    try:
        p = subprocess.run([str(exe), "--benchmark_list_tests"], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [], f"`{exe.name} --benchmark_list_tests` failed ({e})"
    if p.returncode != 0:
        return [], f"`{exe.name} --benchmark_list_tests` failed (exit {p.returncode}: {tail(p.stderr or p.stdout)})"
    return p.stdout.split(), ""


def choose_driver(a, model, batch, train, listing):
    """Which executable measures our side of `model` at `batch` (training too where `train`):
    {'driver': 'bench' | 'archetype', 'exe': path, 'reason': why not bench_<model> (empty when it
    is)}. `listing`: list_benchmarks(a, model)."""
    exe = a.bench_dir / f"bench_{model}"
    names, reason = listing
    if not reason:
        prefixes = bench_prefixes(model, batch)
        kinds = [("inference", "infer")] + ([("training", "train")] if train else [])
        missing = [kind for kind, k in kinds if not any(n.startswith(prefixes[k]) for n in names)]
        if not missing:
            return {"driver": "bench", "exe": exe, "reason": ""}
        have = {}
        for n in names:
            parts = n.split("/")
            if len(parts) >= 3 and parts[2].startswith("batch:") and parts[2][6:].isdigit():
                have.setdefault(parts[1], set()).add(int(parts[2][6:]))
        have_text = "; ".join(f"{kind} at batch {'/'.join(str(b) for b in sorted(bs))}"
                              for kind, bs in have.items())
        reason = (f"{exe.name} has no {' or '.join(missing)} benchmark at batch {batch} "
                  f"(it has {have_text or 'none'})")
    return {"driver": "archetype", "exe": a.archetype, "reason": reason}


def command_for(a, key, model, batch, train, driver, dlib):
    """The command and its environment (None: inherited) of one configuration at one batch;
    inference only where not `train`."""
    common = ["--batch", str(batch), "--threads", str(a.threads), "--steps", str(a.steps),
              "--min-time", str(a.min_time)]
    mode = [] if train else ["--mode", "inference"]
    if key in CONV_ALGORITHM:
        algo = ["--conv-algorithm", CONV_ALGORITHM[key]]
        if key in PRECISION:
            algo += ["--precision", PRECISION[key]]
        fm = ["--fashion-mnist"] if model in FASHION_MNIST_MODELS else []
        if driver["driver"] == "bench":
            kinds = "(inference|train_step)" if train else "inference"
            return [str(driver["exe"]), "--threads", str(a.threads), *algo, "--peak-gflops", str(a.peak_gflops),
                    *fm, f"--benchmark_filter=^{model}/{kinds}/batch:{batch}/",
                    "--benchmark_format=json", f"--benchmark_min_time={a.min_time:g}"], None
        return [str(a.archetype), "bench", model, *common, *mode, "--peak-gflops", str(a.peak_gflops), "--json",
                *algo, *fm], None
    if key == ORT_KEY:
        m = ORT["models"][model]
        return ["node", str(ROOT / "bench" / "peers" / "onnxruntime_peer.mjs"), "--onnx", m["path"],
                "--model", model, "--input", ",".join(str(x) for x in m["input"]), "--batch", str(batch),
                "--threads", str(a.threads), "--steps", str(a.steps), "--min-time", str(a.min_time)], None
    if key == DLIB_KEY:
        iters = a.dlib_iters or max(a.steps, DLIB_MODELS[model])
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
        return [str(dlib["exe"]), model, "--batch", str(batch), "--iters", str(iters), "--json"], env
    return [a.python, str(a.peer), "--models", model, *common, *mode, "--json", "-", *PEER_ARGS[key]], None


TIME_UNIT_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def row_from_benchmark(stdout, model, batch, train=True):
    """The row of one bench_<model> run (Google Benchmark JSON), in the keys of
    `archetype bench --json`, plus each benchmark's p50/p99 step time and the inference
    benchmark's own peak RSS (it runs first); returns (row or None, error text)."""
    try:
        doc = json.loads(stdout)
    except ValueError as e:
        return None, f"output is not Google Benchmark JSON ({e})"
    ctx = doc.get("context", {})
    row = {"peer": "archetype", "driver": "bench_" + model, "model": model, "batch": batch,
           "threads": int(ctx["threads"]) if str(ctx.get("threads", "")).isdigit() else None,
           "conv_algorithm": ctx.get("conv_algorithm"), "precision": ctx.get("precision"), "input": ctx.get("input"),
           "peak_source": ctx.get("peak_source"), "library_build_type": ctx.get("library_build_type")}
    try:
        row["forward_flops_per_image"] = int(ctx["forward_flops_per_image"])
    except (KeyError, ValueError):
        pass
    errors, rss = [], []
    for kind, prefix in bench_prefixes(model, batch).items():
        for field in ("img_s", "gflops", "pct_peak", "steps", "seconds", "setup_s", "p50_ms", "p99_ms", "rss_mb"):
            row[f"{kind}_{field}"] = None
        if kind == "train" and not train:
            continue
        b = next((b for b in doc.get("benchmarks", [])
                  if b.get("run_type", "iteration") == "iteration" and b.get("name", "").startswith(prefix)), None)
        if b is None:
            errors.append(f"{prefix.rstrip('/')}: no result")
            continue
        if b.get("error_occurred"):
            errors.append(f"{prefix.rstrip('/')}: {b.get('error_message', 'error')}")
            continue
        row[f"{kind}_img_s"] = b.get("img/s")
        row[f"{kind}_gflops"] = b.get("GFLOP/s")
        row[f"{kind}_pct_peak"] = b.get("%peak")
        row[f"{kind}_steps"] = b.get("iterations")
        row[f"{kind}_p50_ms"] = b.get("p50_ms")  # absent from executables built before these counters
        row[f"{kind}_p99_ms"] = b.get("p99_ms")
        if b.get("iterations") and b.get("real_time") is not None:
            row[f"{kind}_seconds"] = b["iterations"] * b["real_time"] * TIME_UNIT_S.get(b.get("time_unit", "ns"), 1e-9)
        row[f"{kind}_setup_s"] = b.get("setup_s")  # building the executable (fastest: timing both)
        row[f"{kind}_images_per_pass"] = b.get("images_per_pass")  # inference: the batch in passes
        if b.get("peak_rss_MB") is not None:
            row[f"{kind}_rss_mb"] = b["peak_rss_MB"]
            rss.append(b["peak_rss_MB"])
    row["peak_rss_mb"] = max(rss) if rss else None
    if row["train_img_s"] is None and row["infer_img_s"] is None:
        return None, "; ".join(errors)
    return row, "; ".join(errors)


def run_one(cmd, env=None, timeout=None, parse=None):
    """Runs one process; returns (row or None, error text). `parse(stdout)` makes the row;
    by default the last line of stdout that is a JSON object."""
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    exe = Path(cmd[0])
    if not (exe.exists() if exe.is_absolute() else shutil.which(cmd[0])):
        return None, f"{rel(exe)} not found"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
    except OSError as e:
        return None, str(e)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, f"timed out after {timeout:g} s (--timeout): {tail(err)}"
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {tail(p.stderr or p.stdout)}"
    usage = process_usage(before, resource.getrusage(resource.RUSAGE_CHILDREN))
    if parse is not None:
        row, err = parse(p.stdout)
        if err:
            err += f" (stderr: {tail(p.stderr, 300)})" if p.stderr.strip() else ""
        if row is not None:
            row["process"] = usage
        return row, err
    rows = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not rows:
        return None, f"exit {p.returncode}, no JSON row: {tail(p.stderr or p.stdout)}"
    row = json.loads(rows[-1])
    row["process"] = usage
    return row, ""


def process_usage(before, after):
    """What one finished child process used, from getrusage(RUSAGE_CHILDREN) before and after it:
    CPU seconds in user mode and in the kernel, and minor page faults (a page first touched,
    e.g. memory mapped anew by an allocator that returned it to the kernel)."""
    return {"user_s": after.ru_utime - before.ru_utime, "sys_s": after.ru_stime - before.ru_stime,
            "minor_faults": after.ru_minflt - before.ru_minflt}


# --- Compile cost.

def timed_compile(args, cwd, timeout, time_file):
    """Runs one compile command under /usr/bin/time -f '%e %M'; returns {'seconds', 'peak_mb',
    'error'}."""
    out = {"seconds": None, "peak_mb": None, "error": None}
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(time_file), *args], cwd=cwd,
                           capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        out["error"] = str(e)
        return out
    try:
        last = Path(time_file).read_text().strip().splitlines()[-1].split()
        out["seconds"], out["peak_mb"] = float(last[0]), int(last[1]) / 1024
    except (OSError, IndexError, ValueError):
        pass
    if p.returncode != 0:
        out["error"] = f"exit {p.returncode}: {tail(p.stderr or p.stdout)}"
    return out


def compile_args(entry, obj):
    """The arguments of a compile_commands.json entry, writing `obj` and no dependency file."""
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out, skip = [], False
    for i, x in enumerate(args):
        if skip:
            skip = False
            continue
        if x == "-o" or x in DEP_FLAGS_WITH_VALUE:
            if x == "-o":
                out += ["-o", str(obj)]
            skip = True
            continue
        if x in DEP_FLAGS or any(x.startswith(f) and len(x) > len(f) for f in DEP_FLAGS_WITH_VALUE):
            continue
        if x.startswith("-o") and len(x) > 2:
            out.append(f"-o{obj}")
            continue
        out.append(x)
    return out


def output_of(entry):
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    for i, x in enumerate(args):
        if x == "-o" and i + 1 < len(args):
            return args[i + 1]
        if x.startswith("-o") and len(x) > 2:
            return x[2:]
    return entry.get("output", "")


def registry_source(model):
    """The registry translation unit that instantiates `model`'s network type, and the names
    of all the models it holds."""
    pattern = re.compile(r'make_entry<.*>\("([a-z0-9_]+)"')
    for src in sorted((ROOT / "architectures" / "src").glob("registry*.cpp")):
        names = pattern.findall(src.read_text(errors="replace"))
        if model in names:
            return src, names
    return None, []


def compile_costs(a, models):
    """Seconds and peak MB of each compile that bench_<model> needs on its own, run one at a
    time. Returns {'load_before', 'rows': [{executable, model, role, source, seconds, peak_mb,
    error, shared_by}]}."""
    build_dir = a.bench_dir.parent
    cc_path = build_dir / "compile_commands.json"
    result = {"compile_commands": cc_path, "load_before": sh(["cat", "/proc/loadavg"]), "rows": []}
    try:
        entries = json.loads(cc_path.read_text())
    except (OSError, ValueError) as e:
        result["error"] = f"{rel(cc_path)}: {e}"
        return result
    done = {}
    with tempfile.TemporaryDirectory(prefix="compare_compile_") as tmp:
        for model in models:
            target = f"CMakeFiles/bench_{model}.dir/"
            own = [e for e in entries if target in output_of(e)]
            reg_src, reg_models = registry_source(model)
            reg = [e for e in entries if reg_src is not None and Path(e["file"]).resolve() == reg_src.resolve()
                   and "archetype_registry.dir/" in output_of(e)]
            jobs = [("own", e, []) for e in own] + [("network type", e, reg_models) for e in reg]
            if not own:
                result["rows"].append({"executable": f"bench_{model}", "model": model, "role": "own",
                                       "source": None, "seconds": None, "peak_mb": None, "shared_by": [],
                                       "error": f"no compile command of bench_{model} in {rel(cc_path)}"})
            if reg_src is None or not reg:
                result["rows"].append({"executable": f"bench_{model}", "model": model, "role": "network type",
                                       "source": reg_src, "seconds": None, "peak_mb": None, "shared_by": [],
                                       "error": "no registry translation unit found for " + model})
            for role, e, shared in jobs:
                src = Path(e["file"])
                if src not in done:
                    print(f"compile: {rel(src)}", file=sys.stderr, flush=True)
                    obj = Path(tmp) / f"{len(done)}.o"
                    done[src] = timed_compile(compile_args(e, obj), e.get("directory", build_dir),
                                              a.timeout, Path(tmp) / "time.txt")
                    c = done[src]
                    print(f"  {fmt(c['seconds'], '.2f')} s, {fmt(c['peak_mb'], ',.0f')} MB"
                          + (f"; {c['error']}" if c["error"] else ""), file=sys.stderr, flush=True)
                result["rows"].append({"executable": f"bench_{model}", "model": model, "role": role,
                                       "source": src, "shared_by": shared, **done[src]})
    result["load_after"] = sh(["cat", "/proc/loadavg"])
    return result


# --- dlib.

def setup_dlib(a):
    """Compiles dlib_peer.cpp into build/dlib_peer/dlib_peer where dlib is installed.
    Returns {'installed', 'note', 'label', 'version', 'exe', 'build': timed_compile result,
    'command'}."""
    if a.no_dlib:
        return {"installed": False, "note": "dlib column: skipped (--no-dlib)"}
    if not a.dlib_peer.exists():
        return {"installed": False, "note": f"dlib column: {rel(a.dlib_peer)} not found"}
    ok = shutil.which("pkg-config") and subprocess.run(["pkg-config", "--exists", "dlib-1"]).returncode == 0
    if not ok:
        return {"installed": False, "note": DLIB_NOT_INSTALLED}
    version = sh(["pkg-config", "--modversion", "dlib-1"]) or "unknown"
    exe = ROOT / "build" / "dlib_peer" / "dlib_peer"
    exe.parent.mkdir(parents=True, exist_ok=True)
    cmd = [os.environ.get("CXX", "g++"), "-O3", "-march=native", "-std=c++17",
           *shlex.split(sh(["pkg-config", "--cflags", "dlib-1"])), str(a.dlib_peer), "-o", str(exe),
           *shlex.split(sh(["pkg-config", "--libs", "dlib-1"]))]
    print("dlib: $ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="compare_dlib_") as tmp:
        build = timed_compile(cmd, ROOT, a.timeout, Path(tmp) / "time.txt")
    print(f"  {fmt(build['seconds'], '.1f')} s, {fmt(build['peak_mb'], ',.0f')} MB"
          + (f"; {build['error']}" if build["error"] else ""), file=sys.stderr, flush=True)
    d = {"installed": True, "version": version, "label": "dlib " + ".".join(version.split(".")[:2]),
         "exe": exe, "build": build, "command": " ".join(shlex.quote(c) for c in cmd)}
    if build["error"]:
        d["note"] = f"dlib column: {rel(a.dlib_peer)} did not build ({build['error']})"
    return d


# --- Machine, summary, report.

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def setup_ort(a, models):
    """Exports the PyTorch peer's definition of each model to ONNX once (build/peer_onnx/) where
    node and npm onnxruntime-node are installed; fills ORT."""
    if a.no_ort:
        ORT["note"] = "ONNX Runtime column: skipped (--no-ort)"
        return
    package = ROOT / "tests" / "export" / "node_modules" / "onnxruntime-node" / "package.json"
    if not shutil.which("node") or not package.exists():
        ORT["note"] = ("ONNX Runtime column: node or npm onnxruntime-node not installed "
                       "(scripts/setup.sh installs both)")
        return
    ORT["version"] = json.loads(package.read_text()).get("version", "unknown")
    out_dir = ROOT / "build" / "peer_onnx"
    for model in models:
        row, err = run_one([a.python, str(ROOT / "bench" / "peers" / "onnx_export.py"), "--models", model,
                            "--out", str(out_dir)], timeout=a.timeout)
        if row is None:
            print(f"  ONNX export of {model} failed: {err}", file=sys.stderr, flush=True)
            continue
        ORT["models"][model] = {"path": row["path"], "input": row["input"]}
    ORT["installed"] = bool(ORT["models"])
    ORT["note"] = (f"ONNX Runtime (npm onnxruntime-node {ORT['version']}, CPU execution provider, graph "
                   f"optimisation \"all\", {a.threads} intra-op threads) on the PyTorch peer's models exported "
                   f"by `bench/peers/onnx_export.py` (opset 13, `{rel(out_dir)}`) for "
                   f"{', '.join(ORT['models']) or 'no model'}")


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
    gxx = sh(["g++", "--version"])
    return {
        "cpu": lscpu.get("Model name", "unknown"),
        "cpus": lscpu.get("CPU(s)", ""),
        "cores": cores,
        "threads_per_core": lscpu.get("Thread(s) per core", ""),
        "nproc": sh(["nproc"]),
        "flags_avx512": "avx512f" in lscpu.get("Flags", ""),
        "bf16": any(f in lscpu.get("Flags", "").split() for f in ("avx512_bf16", "amx_bf16")),
        "gxx": gxx.splitlines()[0] if gxx else "unknown",
        "onednn": sh(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"]) or "unknown",
        "google_benchmark": sh(["dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"]) or "unknown",
        "loadavg": sh(["cat", "/proc/loadavg"]),
    }


def best(rows, field):
    values = [r[field] for r in rows if r.get(field) is not None]
    return max(values) if values else None


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def ratio(v, spec=".2f"):
    return "–" if v is None else format(v, spec) + "x"


def sys_pct(row):
    """The share of a finished process's CPU time spent in the kernel, in %."""
    u = (row or {}).get("process")
    return None if not u or u["user_s"] + u["sys_s"] <= 0 else 100 * u["sys_s"] / (u["user_s"] + u["sys_s"])


def summarize_rows(key, rows, f):
    """One configuration at one batch over the rounds: best train and inference img/s, the
    latency of the round with the lowest median, the kernel share and faults of the best round,
    largest peak RSS, GFLOP/s and % of peak from the analytic forward FLOPs `f`."""
    ok = [r for r in rows if r is not None]
    if not ok:
        return None
    train, infer = best(ok, "train_img_s"), best(ok, "infer_img_s")
    steps = {k: [r.get(f"{k}_steps") for r in ok if r.get(f"{k}_steps") is not None]
             for k in ("train", "infer")}
    if key == DLIB_KEY:  # one --iters for both
        steps = {k: [r["iters"] for r in ok if r.get("iters") is not None] for k in ("train", "infer")}
    lat = min((r for r in ok if r.get("infer_p50_ms") is not None), key=lambda r: r["infer_p50_ms"], default={})
    best_train = max((r for r in ok if r.get("train_img_s")), key=lambda r: r["train_img_s"], default=None)
    best_infer = max((r for r in ok if r.get("infer_img_s")), key=lambda r: r["infer_img_s"], default=None)
    rss = [r["peak_rss_mb"] for r in ok if r.get("peak_rss_mb") is not None]
    # bench_<model> rows only; the others' whole process, a bound above
    infer_rss = [r.get("infer_rss_mb") or r["peak_rss_mb"] for r in ok
                 if (r.get("infer_rss_mb") or r.get("peak_rss_mb")) is not None]
    return {
        "train_img_s": train,
        "infer_img_s": infer,
        "peak_rss_mb": max(rss, default=None),
        # the process's peak RSS when its inference ended: bench_<model> runs it before training
        "infer_rss_mb": max(infer_rss, default=None),
        "params": ok[0].get("params"),
        "rounds": len(ok),
        "driver": ok[0].get("driver") or ok[0].get("peer"),
        "train_gflops": 3 * f * train / 1e9 if f and train else None,
        "infer_gflops": f * infer / 1e9 if f and infer else None,
        "setup_s": min((r["train_setup_s"] for r in ok if r.get("train_setup_s") is not None), default=None),
        "infer_setup_s": min((r["infer_setup_s"] for r in ok if r.get("infer_setup_s") is not None), default=None),
        "train_steps_min": min(steps["train"], default=None),
        "infer_steps_min": min(steps["infer"], default=None),
        "infer_images_per_pass": ok[0].get("infer_images_per_pass"),
        "infer_p50_ms": lat.get("infer_p50_ms"),
        "infer_p99_ms": lat.get("infer_p99_ms"),
        "train_sys_pct": sys_pct(best_train),
        "train_minor_faults": (best_train or {}).get("process", {}).get("minor_faults"),
        "infer_sys_pct": sys_pct(best_infer),
    }


def summarize(results, flops):
    """{model: {batch: {configuration: summarize_rows(...) or None}}}."""
    return {model: {batch: {key: summarize_rows(key, rows, flops.get(model)) for key, rows in per_config.items()}
                    for batch, per_config in per_batch.items()}
            for model, per_batch in results.items()}


def best_of(s, keys, field):
    """(key, value) of the configuration among `keys` with the largest `field`; (None, None)."""
    have = [(k, s[k][field]) for k in keys if s.get(k) and s[k].get(field)]
    return max(have, key=lambda kv: kv[1]) if have else (None, None)


OURS_FP32 = [k for k in CONV_ALGORITHM if k not in PRECISION]


def targets(model, batch, s):
    """The issue-31 targets at one model and batch, from its summary `s`: ours' best fp32
    configuration against ONNX Runtime and PyTorch's best (inference, training), the
    PyTorch process's kernel share, and peak RSS."""
    ours_i_key, ours_i = best_of(s, OURS_FP32, "infer_img_s")
    ours_t_key, ours_t = best_of(s, OURS_FP32, "train_img_s")
    pt_i_key, pt_i = best_of(s, PEER_ARGS, "infer_img_s")
    pt_t_key, pt_t = best_of(s, PEER_ARGS, "train_img_s")
    ort = s.get(ORT_KEY) or {}
    ort_i = ort.get("infer_img_s")
    t = {"ours_infer_key": ours_i_key, "ours_infer": ours_i, "ours_train_key": ours_t_key, "ours_train": ours_t,
         "pytorch_infer_key": pt_i_key, "pytorch_infer": pt_i, "pytorch_train_key": pt_t_key, "pytorch_train": pt_t,
         "ort_infer": ort_i,
         "vs_ort": ours_i / ort_i if ours_i and ort_i else None,
         "vs_pytorch_infer": ours_i / pt_i if ours_i and pt_i else None,
         "vs_pytorch_train": ours_t / pt_t if ours_t and pt_t else None,
         "pytorch_train_sys_pct": s[pt_t_key]["train_sys_pct"] if pt_t_key else None,
         "pytorch_train_minor_faults": s[pt_t_key]["train_minor_faults"] if pt_t_key else None}
    t["ort_target"] = ORT_TARGET if model in ORT_TARGET_MODELS and batch in ORT_TARGET_BATCHES else None
    t["ort_met"] = None if t["ort_target"] is None or t["vs_ort"] is None else t["vs_ort"] >= t["ort_target"]
    t["train_target"] = TRAIN_TARGET if model in TRAIN_TARGET_MODELS else None
    t["train_met"] = (None if t["train_target"] is None or t["vs_pytorch_train"] is None
                      else t["vs_pytorch_train"] >= t["train_target"])
    # Peak RSS: where training is measured, ours and PyTorch's processes ran both, so they are
    # compared whole, and ONNX Runtime (inference only) with ours after its inference.
    trained = ours_t_key is not None
    ours_key = ours_t_key if trained else ours_i_key
    pt_key = pt_t_key if trained else pt_i_key
    t["rss_ours"] = s[ours_key]["peak_rss_mb"] if ours_key else None
    t["rss_ours_infer"] = s[ours_i_key]["infer_rss_mb"] if ours_i_key else None
    t["rss_pytorch"] = s[pt_key]["peak_rss_mb"] if pt_key else None
    t["rss_ort"] = ort.get("peak_rss_mb")
    checks = []
    if t["rss_ours"] is not None and t["rss_pytorch"] is not None:
        checks.append(t["rss_ours"] <= t["rss_pytorch"])
    if t["rss_ours_infer"] is not None and t["rss_ort"] is not None:
        checks.append(t["rss_ours_infer"] <= t["rss_ort"])
    t["rss_met"] = all(checks) if checks else None
    return t


def write_compile_section(w, a, meta):
    cc = meta.get("compile")
    dlib = meta["dlib"]
    w("")
    w("## Compile cost of the benchmark executables")
    w("")
    if cc is None:
        w("Not measured (`--no-compile-times`).")
    elif cc.get("error"):
        w(f"Not measured: {cc['error']}.")
    else:
        w(f"Each compile command of the executable, from `{rel(cc['compile_commands'])}`, re-run alone under "
          "`/usr/bin/time -f '%e %M'` (wall seconds; peak RSS of the compiler), the object written to a "
          "temporary file; one at a time, before the throughput runs. A bench_<model> is one generated "
          "`main()` that links `archetype_bench_models`; the model's network type is instantiated in the "
          "registry translation unit of its family (library `archetype_registry`, linked by every "
          "bench_<model> and by `archetype`), which holds several models, so its cost is shared by them; "
          "it is compiled once here and its figures repeated for each of its models. Linking is not "
          f"counted. Load average before: {cc['load_before']}; after: {cc.get('load_after', '')}.")
        w("")
        w("| executable | translation unit | what | wall s | peak MB |")
        w("|---|---|---|---:|---:|")
        for r in cc["rows"]:
            what = "its own (generated `main`)" if r["role"] == "own" else (
                "the network type" + (f" (with {len(r['shared_by']) - 1} other models: "
                                      f"{', '.join(m for m in r['shared_by'] if m != r['model'])})"
                                      if len(r["shared_by"]) > 1 else ""))
            src = f"`{rel(r['source'])}`" if r["source"] else "–"
            if r["error"] and r["seconds"] is None:
                w(f"| bench_{r['model']} | {src} | {what} | failed: {tail(r['error'], 160).replace('|', '/')} | |")
            else:
                failed = f" (failed: {tail(r['error'], 120).replace('|', '/')})" if r["error"] else ""
                w(f"| bench_{r['model']} | {src} | {what}{failed} | {fmt(r['seconds'], '.2f')} | "
                  f"{fmt(r['peak_mb'], ',.0f')} |")
    if dlib.get("installed") and dlib.get("build"):
        b = dlib["build"]
        w("")
        w(f"For comparison, the dlib peer built by this run (`{rel(dlib['exe'])}`, one translation unit "
          f"with lenet5, resnet20 and resnet20_b: 5 network types; `-O3 -march=native`): "
          f"{fmt(b['seconds'], '.1f')} s, {fmt(b['peak_mb'], ',.0f')} MB peak"
          + (f", failed: {tail(b['error'], 200)}" if b["error"] else "") + ".")


def dlib_iters_text(a):
    if a.dlib_iters:
        return f"--dlib-iters {a.dlib_iters}"
    return "the larger of --steps and its own default: " + ", ".join(f"{m} {n}" for m, n in DLIB_MODELS.items())


def write_rounds(w, per_config, dlib, train=True):
    """Every round of every configuration of one model at one batch, with what its process spent
    in the kernel: the spread between rounds, and whether a slow round went into page faults."""
    if not any(per_config.values()):
        return

    def each(rows, value):
        return " / ".join("–" if r is None or value(r) is None else value(r) for r in rows)

    w("")
    w("Each round (in round order), and what each configuration's process spent in the kernel: its "
      "share of the process's CPU time in system mode, and its minor page faults (`getrusage` of the "
      "finished process: setup, warm-up and " + ("both measurements)." if train else "the measurement)."))
    w("")
    w(("| configuration | train img/s " if train else "| configuration ")
      + "| inference img/s | CPU time in the kernel | minor page faults |")
    w("|---|---:|---:|---:|" + ("---:|" if train else ""))
    for key, rows in per_config.items():
        w(f"| {label_of(key, dlib)} | "
          + (f"{each(rows, lambda r: fmt(r.get('train_img_s'), ',.0f'))} | " if train else "")
          + f"{each(rows, lambda r: fmt(r.get('infer_img_s'), ',.0f'))} | "
          f"{each(rows, lambda r: fmt(sys_pct(r), '.0f') + '%' if sys_pct(r) is not None else None)} | "
          f"{each(rows, lambda r: r.get('process') and format(r['process']['minor_faults'], ','))} |")


def yes_no(met):
    return "–" if met is None else ("**yes**" if met else "no")


def short_label(key, dlib):
    return {"archetype-direct": "direct", "archetype-fastest": "fastest", "pytorch-nchw": "NCHW",
            "pytorch-cl": "channels-last"}.get(key, label_of(key, dlib) if key else "–")


def write_targets(w, a, meta, summary, plan):
    dlib = meta["dlib"]
    w("")
    w("## Targets (issue 31)")
    w("")
    w(f"fp32, this run: our best configuration (the faster of direct and fastest, per model, batch and "
      f"pass) against ONNX Runtime and against PyTorch's best (the faster of NCHW and channels-last). "
      f"Targets: inference >= {ORT_TARGET:.2f}x ONNX Runtime at batch {', '.join(map(str, sorted(ORT_TARGET_BATCHES)))} "
      f"for {', '.join(sorted(ORT_TARGET_MODELS))}; training >= {TRAIN_TARGET:.1f}x PyTorch's best for "
      f"{', '.join(sorted(TRAIN_TARGET_MODELS))}; peak RSS at or below both peers' (\"–\": no target "
      "at this model and batch, or a side not measured). Beside every training ratio, the PyTorch process's "
      "share of its CPU time in the kernel (and its minor page faults): where its allocator's page faults "
      "are costly the ratio grows with them (issue 31: 13% of kernel time on one machine, 18–34% on "
      "another, and PyTorch half as fast), so read the ratio with it.")
    w("")
    w(f"| model | batch | inference: ours best, img/s | vs ONNX Runtime | >= {ORT_TARGET:.2f}x | vs PyTorch best | "
      f"training: ours best, img/s | vs PyTorch best | PyTorch: CPU in kernel, minor faults | >= {TRAIN_TARGET:.1f}x | "
      "peak RSS MB: ours / PyTorch / ONNX Runtime | RSS at or below both |")
    w("|---|---:|---:|---:|:-:|---:|---:|---:|---:|:-:|---:|:-:|")
    for model, batches in plan.items():
        for batch, train in batches:
            t = targets(model, batch, summary[model][batch])
            ours_i = (f"{fmt(t['ours_infer'], ',.1f')} ({short_label(t['ours_infer_key'], dlib)})"
                      if t["ours_infer"] else "–")
            ours_t = (f"{fmt(t['ours_train'], ',.1f')} ({short_label(t['ours_train_key'], dlib)})"
                      if t["ours_train"] else ("not measured at this batch" if not train else "–"))
            kernel = (f"{fmt(t['pytorch_train_sys_pct'], '.0f')}%, {fmt(t['pytorch_train_minor_faults'], ',')}"
                      if t["pytorch_train_sys_pct"] is not None else "–")
            rss = f"{fmt(t['rss_ours'], ',.0f')} / {fmt(t['rss_pytorch'], ',.0f')} / {fmt(t['rss_ort'], ',.0f')}"
            if train and t["rss_ours_infer"] not in (None, t["rss_ours"]) and t["rss_ort"] is not None:
                rss += f" (ours after inference: {t['rss_ours_infer']:,.0f})"
            w(f"| {model} | {batch} | {ours_i} | {ratio(t['vs_ort'])} | "
              f"{yes_no(t['ort_met']) if t['ort_target'] else '–'} | {ratio(t['vs_pytorch_infer'])} | "
              f"{ours_t} | {ratio(t['vs_pytorch_train'])} | {kernel} | "
              f"{yes_no(t['train_met']) if t['train_target'] else '–'} | {rss} | {yes_no(t['rss_met'])} |")
    w("")
    w("Peak RSS is `getrusage` `ru_maxrss` of each side's process (the largest of the rounds), for the "
      "configuration in the ratio. Where training is measured, ours and PyTorch's processes ran training and "
      "inference, ONNX Runtime's inference only: ONNX Runtime is then compared with ours' peak when its "
      "inference ended (bench_<model> runs inference first), given in brackets.")


def write_bf16(w, a, meta, summary, plan):
    w("")
    w("## bf16: ours in bf16 against ONNX Runtime in fp32")
    w("")
    if "archetype-bf16" in SKIPPED:
        w(f"Not measured: {SKIPPED['archetype-bf16']}.")
        return
    w("Not the same precision: ours runs bfloat16 activations and weights (`--precision bf16`, direct "
      "convolutions; this CPU " + ("has" if meta["machine"].get("bf16") else "does not list")
      + " AVX-512 BF16 or AMX-BF16 in its flags), ONNX Runtime the exported fp32 model (its CPU execution "
      "provider has no bf16 convolutions). The fp32 targets above do not use these rows.")
    w("")
    w("| model | batch | ours bf16 img/s | p50 / p99 ms | ONNX Runtime fp32 img/s | p50 / p99 ms | "
      "ours bf16 / ONNX Runtime fp32 | ours bf16 / ours fp32 best |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model, batches in plan.items():
        for batch, _ in batches:
            s = summary[model][batch]
            b, o = s.get("archetype-bf16") or {}, s.get(ORT_KEY) or {}
            _, ours = best_of(s, OURS_FP32, "infer_img_s")
            bi, oi = b.get("infer_img_s"), o.get("infer_img_s")
            w(f"| {model} | {batch} | {fmt(bi, ',.1f')} | {fmt(b.get('infer_p50_ms'), '.2f')} / "
              f"{fmt(b.get('infer_p99_ms'), '.2f')} | {fmt(oi, ',.1f')} | {fmt(o.get('infer_p50_ms'), '.2f')} / "
              f"{fmt(o.get('infer_p99_ms'), '.2f')} | {ratio(bi / oi if bi and oi else None)} | "
              f"{ratio(bi / ours if bi and ours else None)} |")


def write_batch_table(w, a, model, batch, train, s, d, errors, dlib):
    """The table of one model at one batch: every configuration, training columns where `train`."""
    peak = a.peak_gflops
    pt_t = best_of(s, PEER_ARGS, "train_img_s")[1]
    pt_i = best_of(s, PEER_ARGS, "infer_img_s")[1]
    ort_i = (s.get(ORT_KEY) or {}).get("infer_img_s")
    train_head = ("train img/s | vs PyTorch best | train GFLOP/s | % peak | CPU in kernel (train round) | "
                  if train else "")
    w(f"| configuration | {train_head}inference img/s | vs PyTorch best | vs ONNX Runtime | inference GFLOP/s | "
      "% peak | inference p50 / p99 ms | setup s (" + ("train / inference" if train else "inference") + ") | peak RSS MB |")
    w("|---|" + "---:|" * ((5 if train else 0) + 8))
    ncols = (5 if train else 0) + 8
    for key in s:
        r = s.get(key)
        label = label_of(key, dlib)
        if key in CONV_ALGORITHM and d["driver"] != "bench":
            label += " [`archetype bench`]"
        if r is None:
            e = " ".join(errors.get((model, batch, key), "no result").split()).replace("|", "/")[:160]
            w(f"| {label} | failed: {e} |" + " |" * (ncols - 1))
            continue
        ri = r["infer_img_s"] / pt_i if pt_i and r["infer_img_s"] else None
        ro = r["infer_img_s"] / ort_i if ort_i and r["infer_img_s"] and key != ORT_KEY else None
        ig = r["infer_gflops"]
        cells = [label]
        if train:
            rt = r["train_img_s"] / pt_t if pt_t and r["train_img_s"] else None
            tg = r["train_gflops"]
            cells += [fmt(r["train_img_s"], ",.1f"), ratio(rt), fmt(tg, ".1f"),
                      fmt(tg and 100 * tg / peak, ".1f"),
                      fmt(r["train_sys_pct"], ".0f") + ("%" if r["train_sys_pct"] is not None else "")]
        setup = (f"{fmt(r['setup_s'], '.2f')} / {fmt(r['infer_setup_s'], '.2f')}" if train
                 else fmt(r["infer_setup_s"], ".2f"))
        cells += [fmt(r["infer_img_s"], ",.1f"), ratio(ri), ratio(ro), fmt(ig, ".1f"),
                  fmt(ig and 100 * ig / peak, ".1f"),
                  f"{fmt(r['infer_p50_ms'], '.2f')} / {fmt(r['infer_p99_ms'], '.2f')}", setup,
                  fmt(r["peak_rss_mb"], ",.0f")]
        w("| " + " | ".join(cells) + " |")


def write_report(a, path, meta, summary, errors, results, plan):
    lines = []
    w = lines.append
    peak = a.peak_gflops
    dlib = meta["dlib"]
    m = meta["machine"]
    w("# Performance: Archetype vs PyTorch and ONNX Runtime on the CPU")
    w("")
    w(f"Written by `bench/compare.py` on {meta['date']}. Every figure below was measured by that run; "
      "a ratio compares two measurements of the same run.")
    w("")
    w("## Machine and versions")
    w("")
    w(f"- CPU: {m['cpu']}; cores: {m['cores']}; CPU(s): {m['cpus']} (threads per core: "
      f"{m['threads_per_core']}); `nproc`: {m['nproc']}")
    w(f"- Load average when the run started: {meta['loadavg_start']}; when it ended: {meta['loadavg_end']} "
      "(other work on the machine lowers every figure)")
    w(f"- Compiler: {m['gxx']}")
    w(f"- oneDNN (`dpkg-query -W libdnnl-dev`): {m['onednn']}")
    w(f"- Google Benchmark (`dpkg-query -W libbenchmark-dev`): {m['google_benchmark']}"
      + (f"; its library reports build type `{meta['gb_build_type']}`" if meta.get("gb_build_type") else ""))
    w(f"- PyTorch (from the peer's rows): {meta['torch'] or 'unknown'}")
    if dlib.get("installed"):
        w(f"- dlib (`pkg-config --modversion dlib-1`): {dlib['version']}; BLAS (from its rows): "
          f"{meta.get('dlib_blas') or 'unknown'}; `{rel(dlib['exe'])}` compiled by this run: "
          f"`{dlib['command']}`" + (f". {dlib['note']}" if dlib.get("note") else ""))
    else:
        w(f"- {dlib['note']}")
    w(f"- {ORT['note']}")
    drivers = [(mo, b, d) for mo, per in meta["drivers"].items() for b, d in per.items()]
    bench_models = sorted({mo for mo, b, d in drivers if d["driver"] == "bench"}, key=list(plan).index)
    fallback = [f"{mo} at batch {b}" for mo, b, d in drivers if d["driver"] != "bench"]
    w("- Our executables: "
      + (f"`{rel(a.bench_dir)}/bench_<model>` (Google Benchmark) for {', '.join(bench_models)}"
         if bench_models else f"no usable `{rel(a.bench_dir)}/bench_<model>`")
      + "; " + (f"`{rel(a.archetype)} bench` for {', '.join(fallback)} (why: under its table)" if fallback
                else "no fallback to `archetype bench` needed"))
    w("")
    w("## Command")
    w("")
    w("```")
    w(meta["command"])
    w("```")
    w("")
    w("Batches (training measured where marked *): " + "; ".join(
        f"{mo} " + ", ".join(f"{b}{'*' if t else ''}" for b, t in bs) for mo, bs in plan.items()) + ". "
      f"{a.threads} threads, fp32 (and our bf16 rows), {a.rounds} round(s). PyTorch, ONNX Runtime (and "
      f"`archetype bench` where it stands in): each measurement at least {a.steps} steps and at least "
      f"{a.min_time:g} s after 2 warm-up steps; bench_<model>: `--benchmark_min_time={a.min_time:g}`, so "
      f"Google Benchmark chooses the number of steps (shown under each table); dlib: a fixed number of steps "
      f"({dlib_iters_text(a)}). "
      + (f"% of peak is of {peak:g} GFLOP/s, the fp32 FMA peak `build/release/bench/bench_peak --threads "
         f"{a.threads}` measured before the rounds (after them: {meta['peak_measured'][-1]:.1f}); the "
         "executables' own %peak counters use the same figure."
         if meta.get("peak_measured") else
         f"% of peak is of {peak:g} GFLOP/s (`--peak-gflops`)."))
    write_targets(w, a, meta, summary, plan)
    write_bf16(w, a, meta, summary, plan)
    write_compile_section(w, a, meta)
    w("")
    w("## Results")
    for model, batches in plan.items():
        f = meta["flops"].get(model)
        w("")
        title = f"### {model}"
        if model in FASHION_MNIST_MODELS:
            title += " (1x28x28 inputs; ours through its PadTo adapter)"
        w(title)
        if f:
            w("")
            w(f"Analytic forward FLOPs per image: {f:,} (a training step counts 3x).")
        for batch, train in batches:
            s = summary[model][batch]
            d = meta["drivers"][model][batch]
            w("")
            w(f"#### {model}, batch {batch}: " + ("training and inference" if train else "inference"))
            w("")
            write_batch_table(w, a, model, batch, train, s, d, errors, dlib)
            w("")
            if d["driver"] == "bench":
                steps = "; ".join(
                    f"{k.removeprefix('archetype-')} "
                    + (f"{fmt(s[k]['train_steps_min'], 'd')} / " if train else "")
                    + fmt(s[k]["infer_steps_min"], "d")
                    for k in CONV_ALGORITHM if s.get(k))
                passes = "; ".join(
                    f"{k.removeprefix('archetype-')} {fmt(s[k]['infer_images_per_pass'], '.0f')}"
                    for k in CONV_ALGORITHM
                    if s.get(k) and (s[k].get("infer_images_per_pass") or batch) < batch)
                w(f"Ours: `{rel(d['exe'])}`; timed steps per measurement ("
                  + ("train / inference, " if train else "")
                  + f"fewest of the rounds): {steps or '–'}."
                  + (f" Inference ran the batch as passes of (images): {passes} "
                     "(`onednn::Options::images_per_pass`: as many as keep the largest layer "
                     "in the last-level cache, 8 at least)." if passes else ""))
            else:
                w(f"Ours: `{rel(a.archetype)} bench`, because {d['reason']}.")
            for k, precision in PRECISION.items():
                lo, hi = s.get("archetype-direct"), s.get(k)
                if lo and hi:
                    bt = hi["train_img_s"] / lo["train_img_s"] if lo["train_img_s"] and hi["train_img_s"] else None
                    bi = hi["infer_img_s"] / lo["infer_img_s"] if lo["infer_img_s"] and hi["infer_img_s"] else None
                    w("")
                    w(f"{precision} against our fp32 (both direct conv): "
                      + (f"training {ratio(bt)}, " if train else "") + f"inference {ratio(bi)}. "
                      "Its % of peak is of the fp32 peak; its ratios to the peers compare with them in fp32.")
            if dlib.get("installed") and train:
                w("")
                if model not in DLIB_MODELS:
                    w(f"{dlib['label']}: not in the dlib peer (it has {', '.join(DLIB_MODELS)}).")
                elif s.get(DLIB_KEY):
                    r = s[DLIB_KEY]
                    ours_t = best_of(s, OURS_FP32, "train_img_s")[1]
                    ours_i = best_of(s, OURS_FP32, "infer_img_s")[1]
                    dt = r["train_img_s"] / ours_t if ours_t and r["train_img_s"] else None
                    di = r["infer_img_s"] / ours_i if ours_i and r["infer_img_s"] else None
                    w(f"{dlib['label']} relative to ours (the faster Archetype configuration): training "
                      f"{ratio(dt, '.3f')}, inference {ratio(di, '.3f')} ({fmt(r['train_steps_min'], 'd')} timed steps)"
                      + ("; its LeNet-5 takes the classic 1x32x32 input (valid first convolution): the same "
                         "parameters and FLOPs." if model == "lenet5" else "."))
            write_rounds(w, results.get(model, {}).get(batch, {}), dlib, train)
    w("")
    w("## How measured")
    w("")
    w("All sides run the same measurement on the same synthetic batch shape: one fixed batch of "
      "random inputs and labels; a training step is forward, softmax cross-entropy, backward and an SGD "
      "update (lr 0.01, momentum 0.9, weight decay 5e-4); inference is a forward pass in inference mode "
      "(running BatchNorm statistics; PyTorch: `eval()` under `no_grad()`; dlib: its deployment network "
      "with `affine` layers in place of `bn_con`). Each model is measured at each of its batches; training "
      "only at the batch marked for it (`--train-batch`), the other batches inference only (PyTorch and "
      "`archetype bench` with `--mode inference`, bench_<model> filtered to its inference benchmark). Each "
      "configuration of each model and batch runs in its own process, and the runs are interleaved model "
      "by model and batch by batch, the order of the configurations alternating between rounds; each "
      "configuration keeps its best round for training and for inference separately (peak RSS: the largest "
      "seen; latency: the round with the lowest median).")
    w("")
    w("Ours runs in the Google Benchmark executable `bench_<model>` (one per registry model, "
      "`bench/CMakeLists.txt`; inference at batch 1, 32 and 128, training at 128), filtered to the "
      "benchmarks of the batch: `--benchmark_filter=^<model>/(inference|train_step)/batch:<batch>/ "
      "--benchmark_format=json --benchmark_min_time=<--min-time>` with `--threads`, `--conv-algorithm`, "
      "`--peak-gflops` (and `--fashion-mnist` for lenet5). Each benchmark builds its workload and runs 2 "
      "warm-up steps untimed, then Google Benchmark times growing numbers of steps until one run lasts at "
      "least `--min-time` and reports that run; the counters `img/s` (wall clock), `p50_ms`/`p99_ms` (the "
      "median and 99th percentile of that run's per-step wall times) and `peak_rss_MB` give the row. Both "
      "benchmarks run in one process, inference then training, each workload released before the next is "
      "built, and `peak_rss_MB` is `getrusage` `ru_maxrss` of the process so far, so the larger of the two "
      "is that model's peak RSS, training and inference together (the same quantity as `archetype bench` "
      "and the peers report). Its counter `setup_s` is the time to build the executable (for \"fastest\", "
      "timing Winograd against direct per layer, then both whole plans); `archetype bench M --json`, which the script falls back to when "
      "bench_<model> is missing or lacks the batch (the row is then marked; it gives no latency), reports it "
      "and times at least `--steps` steps and at least `--min-time`, like the PyTorch peer.")
    w("")
    w("PyTorch runs both with NCHW and channels-last tensors and the faster of the two counts as the "
      "peer (\"vs PyTorch best\"); its p50/p99 are of its timed steps (`time.perf_counter` around each). "
      "The dlib peer (`bench/peers/dlib/dlib_peer.cpp`, where `libdlib-dev` "
      "is installed; at the training batch only) is compiled by this run as its `build.sh` does and run with "
      "`OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=<--threads>`: 2 warm-up steps, then a fixed number of "
      "timed steps; training is `dnn_trainer::train_one_step`; its peak RSS also holds the deployment "
      "network it builds from the trained one. Its ratio to ours is given under each table. "
      "ONNX Runtime (npm `onnxruntime-node`, what a deployment of the exported model would run) "
      "times inference only: `bench/peers/onnxruntime_peer.mjs` on the PyTorch peer's model exported "
      "by `torch.onnx.export` (opset 13), graph optimisation \"all\", `--threads` intra-op threads, "
      "2 warm-up runs then at least `--steps` runs and `--min-time`; its img/s is the batch over the "
      "mean run time, its p50/p99 those of the per-run times. Every p50/p99 is the nearest rank below "
      "(sorted times at floor(q x n)). "
      "GFLOP/s are analytic: forward FLOPs = 2 x the "
      "multiply-accumulates of convolutions and linear layers (`archetype describe`), a training step "
      "counted as 3 x forward; the peers' rows use the same count, as the models are the same. "
      "\"fastest\" lets Archetype pick Winograd or direct per 3x3 stride-1 layer by timing both when the "
      "executable is built (setup time), then keeps that plan only if one whole step of it times "
      "at least 3% faster than one of the direct plan (so it is never slower than direct, up to "
      "the noise of that measurement); Winograd rounds differently from direct, and does fewer "
      "multiplications than the analytic count, so its % of peak can exceed 100.")
    w("")
    w(f"Raw rows of every round: `{Path(path).with_suffix('.json').name}`.")
    if errors:
        w("")
        w("## Failures")
        w("")
        for (model, batch, key), e in errors.items():
            w(f"- {model}, batch {batch}, {key}: " + " ".join(e.split()).replace("`", "'"))
    # The GPU section (bench/gpu_report.py, from a device call) is not this run's: keep it.
    previous = Path(path).read_text() if Path(path).exists() else ""
    gpu = re.search(r"<!-- gpu:begin -->.*?<!-- gpu:end -->", previous, flags=re.S)
    if gpu:
        w("")
        w(gpu.group(0))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--batch", type=int, default=None,
                    help="one batch for every model, training and inference (instead of --batches)")
    ap.add_argument("--batches", default=None,
                    help="batches of every model, e.g. 1,128 (default: 1,32 for the 224x224 models "
                         "resnet50, mobilenet_v2, efficientnet_b0; 1,128 for the others)")
    ap.add_argument("--train-batch", type=int, default=128,
                    help="the batch training is measured at, where it is one of the model's batches "
                         "(0: none); the others are inference only")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10,
                    help="timed steps per measurement, at least (PyTorch, `archetype bench`, dlib)")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement, at least")
    ap.add_argument("--bench-dir", default="build/release/bench",
                    help="where the bench_<model> executables are; compile_commands.json is in its parent")
    ap.add_argument("--archetype", default="build/release/tools/archetype",
                    help="`archetype bench`, for the models without a usable bench_<model>")
    ap.add_argument("--peer", default="bench/peers/pytorch_cpu.py")
    ap.add_argument("--dlib-peer", default="bench/peers/dlib/dlib_peer.cpp")
    ap.add_argument("--dlib-iters", type=int, default=0,
                    help="dlib's timed steps per measurement (default: the larger of --steps and its own default)")
    ap.add_argument("--no-dlib", action="store_true", help="no dlib column even where dlib is installed")
    ap.add_argument("--no-ort", action="store_true", help="no ONNX Runtime column even where it is installed")
    ap.add_argument("--no-compile-times", action="store_true",
                    help="skip re-running the compile commands of the bench_<model> executables")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--peak-gflops", type=float, default=None,
                    help="fp32 peak for the %% of peak (default: measured by bench_peak in this run, "
                         "before and after the rounds, the larger of the two)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per process, at most")
    ap.add_argument("--out", default="reports/performance.md")
    a = ap.parse_args()
    absolute = lambda p: Path(p) if os.path.isabs(p) else (ROOT / p).resolve()  # noqa: E731
    a.archetype, a.peer, a.bench_dir, a.dlib_peer = (absolute(p) for p in (a.archetype, a.peer, a.bench_dir, a.dlib_peer))
    out = Path(a.out) if os.path.isabs(a.out) else Path.cwd() / a.out
    if not a.peer.exists():
        sys.exit(f"compare.py: peer {a.peer} not found")
    models = [m for m in a.models.split(",") if m]
    if a.batch is not None and a.batches is not None:
        sys.exit("compare.py: --batch and --batches exclude each other (--batch B is --batches B "
                 "--train-batch B)")
    if a.batch is not None and a.batch < 1:
        sys.exit(f"compare.py: --batch expects a positive integer, got {a.batch}")
    try:
        a.batches = parse_batches(a.batches, "--batches") if a.batches is not None else None
    except ValueError as e:
        sys.exit(f"compare.py: {e}")
    plan = batch_plan(a, models)

    # The fp32 peak, measured (bench_peak: AVX-512 FMA on --threads threads) unless given.
    peak_exe = a.bench_dir / "bench_peak"
    peaks = []

    def measure_peak():
        if a.peak_gflops is not None and not peaks:
            return
        if not peak_exe.exists():
            sys.exit(f"compare.py: {peak_exe} not found: build it, or give --peak-gflops")
        row, err = run_one([str(peak_exe), "--threads", str(a.threads), "--json"], timeout=120,
                           parse=lambda out: (json.loads(out), ""))
        if err or row is None:
            sys.exit(f"compare.py: bench_peak failed: {err}")
        peaks.append(float(row["fp32_peak_gflops"]))
        print(f"fp32 peak (bench_peak --threads {a.threads}): {peaks[-1]:.1f} GFLOP/s", file=sys.stderr, flush=True)

    measured = a.peak_gflops is None
    measure_peak()
    if measured:
        a.peak_gflops = round(peaks[0], 1)

    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(x) for x in [sys.executable, *sys.argv]),
        "machine": machine(),
        "batches": {mo: [b for b, _ in bs] for mo, bs in plan.items()},
        "train_batches": {mo: [b for b, t in bs if t] for mo, bs in plan.items()},
        "threads": a.threads, "rounds": a.rounds, "steps": a.steps,
        "min_time": a.min_time, "peak_gflops": a.peak_gflops,
        "flops": {}, "torch": None,
    }
    meta["loadavg_start"] = meta["machine"]["loadavg"]
    if not meta["machine"]["bf16"]:
        SKIPPED["archetype-bf16"] = ("this CPU lists neither AVX-512 BF16 nor AMX-BF16 in its flags, "
                                     "and ours runs bf16 only where oneDNN has native bf16 kernels")
        print(f"archetype-bf16: skipped: {SKIPPED['archetype-bf16']}", file=sys.stderr, flush=True)
    listings = {mo: list_benchmarks(a, mo) for mo in models}
    meta["drivers"] = {mo: {b: choose_driver(a, mo, b, t, listings[mo]) for b, t in bs} for mo, bs in plan.items()}
    for mo, per in meta["drivers"].items():
        for b, d in per.items():
            if d["driver"] != "bench":
                print(f"{mo}, batch {b}: ours through `archetype bench`: {d['reason']}", file=sys.stderr, flush=True)
    if any(d["driver"] != "bench" for per in meta["drivers"].values() for d in per.values()) \
            and not a.archetype.exists():
        print(f"compare.py: {a.archetype} not found either: build it (cmake --build --preset release "
              "--target archetype)", file=sys.stderr)

    # Compiles first, one at a time, so that they neither slow nor are slowed by the measurements.
    meta["compile"] = None if a.no_compile_times else compile_costs(a, models)
    dlib = setup_dlib(a)
    meta["dlib"] = dlib
    setup_ort(a, models)
    meta["ort"] = ORT
    print(ORT["note"], file=sys.stderr, flush=True)
    print(dlib.get("note") or f"dlib: {dlib['label']} built", file=sys.stderr, flush=True)

    results = {mo: {b: {c[0]: [] for c in configs_for(mo, dlib, t)} for b, t in bs} for mo, bs in plan.items()}
    raw, errors = [], {}
    for rnd in range(a.rounds):
        for model in models:
            for batch, train in plan[model]:
                order = [c[0] for c in configs_for(model, dlib, train)]
                if rnd % 2 == 1:
                    order.reverse()
                print(f"round {rnd + 1}/{a.rounds}: {model}, batch {batch}"
                      + ("" if train else " (inference)"), file=sys.stderr, flush=True)
                driver = meta["drivers"][model][batch]
                for key in order:
                    cmd, env = command_for(a, key, model, batch, train, driver, dlib)
                    if key == DLIB_KEY and dlib["build"]["error"]:
                        row, err = None, f"build failed: {dlib['build']['error']}"
                    else:
                        parse = None
                        if key in CONV_ALGORITHM and driver["driver"] == "bench":
                            parse = lambda out, model=model, batch=batch, train=train: \
                                row_from_benchmark(out, model, batch, train)  # noqa: E731
                        row, err = run_one(cmd, env=env, timeout=a.timeout, parse=parse)
                    if err:
                        errors[(model, batch, key)] = err
                        print(f"  failed: {err}", file=sys.stderr, flush=True)
                    if row is not None:
                        if key == ORT_KEY:  # its latency is of inference runs
                            row.setdefault("infer_p50_ms", row.get("p50_ms"))
                            row.setdefault("infer_p99_ms", row.get("p99_ms"))
                        if row.get("forward_flops_per_image"):
                            meta["flops"][model] = row["forward_flops_per_image"]
                        if row.get("torch"):
                            meta["torch"] = row["torch"]
                        if row.get("blas"):
                            meta["dlib_blas"] = row["blas"]
                        if row.get("library_build_type"):
                            meta["gb_build_type"] = row["library_build_type"]
                        print(f"  {key}: train {fmt(row.get('train_img_s'), '.1f')} img/s, "
                              f"infer {fmt(row.get('infer_img_s'), '.1f')} img/s, "
                              f"p50 {fmt(row.get('infer_p50_ms'), '.2f')} ms, "
                              f"rss {fmt(row.get('peak_rss_mb'), '.0f')} MB", file=sys.stderr, flush=True)
                    results[model][batch][key].append(row)
                    raw.append({"round": rnd + 1, "model": model, "batch": batch, "train": train, "config": key,
                                "command": cmd, "row": row, "error": err or None})
    meta["loadavg_end"] = sh(["cat", "/proc/loadavg"])
    if measured:
        measure_peak()  # again after the rounds: the report gives both
    meta["peak_measured"] = peaks if measured else None
    summary = summarize(results, meta["flops"])
    write_report(a, out, meta, summary, errors, results, plan)
    json_path = out.with_suffix(".json")
    json_path.write_text(json.dumps({"meta": meta, "best": summary, "rows": raw,
                                     "targets": {mo: {b: targets(mo, b, summary[mo][b]) for b, _ in bs}
                                                 for mo, bs in plan.items()}},
                                    indent=1, default=str) + "\n")
    print(f"wrote {out} and {json_path}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
