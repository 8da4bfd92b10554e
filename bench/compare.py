#!/usr/bin/python3
"""Archetype vs the PyTorch and ONNX Runtime peers (and dlib where it builds): training and inference throughput on this machine's CPU.

Usage: bench/compare.py [--models lenet5,resnet20,resnet18_cifar,vgg16_cifar] [--batch 128]
       [--threads 2] [--rounds 2] [--steps 10] [--min-time 2] [--bench-dir build/release/bench]
       [--archetype build/release/tools/archetype] [--peer bench/peers/pytorch_cpu.py]
       [--dlib-peer bench/peers/dlib/dlib_peer.cpp] [--dlib-iters N] [--no-dlib] [--no-ort]
       [--no-compile-times] [--python /usr/bin/python3] [--peak-gflops G] [--timeout 3600]
       [--out reports/performance.md]

First, unless --no-compile-times, re-runs the compile commands of each measured model's
benchmark executable bench_<model> (from compile_commands.json next to --bench-dir: its own
generated translation unit, and the registry translation unit that instantiates the model's
network type) one at a time under `/usr/bin/time -f '%e %M'`, objects to a temporary folder.
Where `pkg-config --exists dlib-1` succeeds (and not --no-dlib), compiles the dlib peer
(`g++ -O3 -march=native -std=c++17`, as its build.sh) into build/dlib_peer/dlib_peer, once,
timed the same way.

Then, for every model and round, runs these configurations, each in its own process (so the
peak RSS is one model's), interleaved model by model and in alternating order from round to
round:
  archetype --conv-algorithm direct      `bench_<model> --benchmark_filter=<the training and
  archetype --conv-algorithm fastest      inference benchmarks of --batch> --benchmark_format=json`
                                         (falls back to `archetype bench M --json` when
                                         bench_<model> is missing or has no such benchmark)
  pytorch NCHW                           `pytorch_cpu.py --models M --json -`
  pytorch channels-last                  the same with --channels-last
  dlib (lenet5, resnet20)                `dlib_peer M --batch B --iters N --json`, with
                                         OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=--threads
  ONNX Runtime (inference)               `node bench/peers/onnxruntime_peer.mjs --onnx F ...` on
                                         the PyTorch peer's model exported once by
                                         bench/peers/onnx_export.py into build/peer_onnx/ (where
                                         node and npm onnxruntime-node are installed, not --no-ort)
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


def configs_for(model, dlib):
    out = list(CONFIGS)
    if dlib.get("installed") and model in DLIB_MODELS:
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


# --- Our driver: bench_<model> (Google Benchmark), else `archetype bench`.

def bench_prefixes(model, batch):
    return {"train": f"{model}/train_step/batch:{batch}/", "infer": f"{model}/inference/batch:{batch}/"}


def choose_driver(a, model):
    """Which executable measures our side of `model`: {'driver': 'bench' | 'archetype',
    'exe': path, 'reason': why not bench_<model> (empty when it is)}."""
    exe = a.bench_dir / f"bench_{model}"
    if not exe.exists():
        reason = f"{rel(exe)} not found"
    else:
        try:
            p = subprocess.run([str(exe), "--benchmark_list_tests"], capture_output=True, text=True,
                               cwd=ROOT, timeout=120)
            names, failed = p.stdout.split(), (f"exit {p.returncode}: {tail(p.stderr or p.stdout)}"
                                               if p.returncode != 0 else "")
        except (OSError, subprocess.TimeoutExpired) as e:
            names, failed = [], str(e)
        if failed:
            reason = f"`{exe.name} --benchmark_list_tests` failed ({failed})"
        else:
            missing = [kind for kind, prefix in (("training", bench_prefixes(model, a.batch)["train"]),
                                                 ("inference", bench_prefixes(model, a.batch)["infer"]))
                       if not any(n.startswith(prefix) for n in names)]
            if not missing:
                return {"driver": "bench", "exe": exe, "reason": ""}
            have = {}
            for n in names:
                parts = n.split("/")
                if len(parts) >= 3 and parts[2].startswith("batch:") and parts[2][6:].isdigit():
                    have.setdefault(parts[1], set()).add(int(parts[2][6:]))
            have_text = "; ".join(f"{kind} at batch {'/'.join(str(b) for b in sorted(bs))}"
                                  for kind, bs in have.items())
            reason = (f"{exe.name} has no {' or '.join(missing)} benchmark at batch {a.batch} "
                      f"(it has {have_text or 'none'})")
    return {"driver": "archetype", "exe": a.archetype, "reason": reason}


def command_for(a, key, model, drivers, dlib):
    """The command and its environment (None: inherited) of one configuration."""
    common = ["--batch", str(a.batch), "--threads", str(a.threads), "--steps", str(a.steps),
              "--min-time", str(a.min_time)]
    if key in CONV_ALGORITHM:
        d = drivers[model]
        algo = ["--conv-algorithm", CONV_ALGORITHM[key]]
        if key in PRECISION:
            algo += ["--precision", PRECISION[key]]
        fm = ["--fashion-mnist"] if model in FASHION_MNIST_MODELS else []
        if d["driver"] == "bench":
            return [str(d["exe"]), "--threads", str(a.threads), *algo, "--peak-gflops", str(a.peak_gflops),
                    *fm, f"--benchmark_filter=^{model}/(inference|train_step)/batch:{a.batch}/",
                    "--benchmark_format=json", f"--benchmark_min_time={a.min_time:g}"], None
        return [str(a.archetype), "bench", model, *common, "--peak-gflops", str(a.peak_gflops), "--json",
                *algo, *fm], None
    if key == ORT_KEY:
        m = ORT["models"][model]
        return ["node", str(ROOT / "bench" / "peers" / "onnxruntime_peer.mjs"), "--onnx", m["path"],
                "--model", model, "--input", ",".join(str(x) for x in m["input"]), "--batch", str(a.batch),
                "--threads", str(a.threads), "--steps", str(a.steps), "--min-time", str(a.min_time)], None
    if key == DLIB_KEY:
        iters = a.dlib_iters or max(a.steps, DLIB_MODELS[model])
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
        return [str(dlib["exe"]), model, "--batch", str(a.batch), "--iters", str(iters), "--json"], env
    return [a.python, str(a.peer), "--models", model, *common, "--json", "-", *PEER_ARGS[key]], None


TIME_UNIT_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def row_from_benchmark(stdout, model, batch):
    """The row of one bench_<model> run (Google Benchmark JSON), in the keys of
    `archetype bench --json`; returns (row or None, error text)."""
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
        b = next((b for b in doc.get("benchmarks", [])
                  if b.get("run_type", "iteration") == "iteration" and b.get("name", "").startswith(prefix)), None)
        for field in ("img_s", "gflops", "pct_peak", "steps", "seconds", "setup_s"):
            row[f"{kind}_{field}"] = None
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
        if b.get("iterations") and b.get("real_time") is not None:
            row[f"{kind}_seconds"] = b["iterations"] * b["real_time"] * TIME_UNIT_S.get(b.get("time_unit", "ns"), 1e-9)
        row[f"{kind}_setup_s"] = b.get("setup_s")  # building the executable (fastest: timing both)
        if b.get("peak_rss_MB") is not None:
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
            steps = {k: [r.get(f"{k}_steps") for r in ok if r.get(f"{k}_steps") is not None]
                     for k in ("train", "infer")}
            if key == DLIB_KEY:  # one --iters for both
                steps = {k: [r["iters"] for r in ok if r.get("iters") is not None] for k in ("train", "infer")}
            s = {
                "train_img_s": train,
                "infer_img_s": infer,
                "peak_rss_mb": max((r["peak_rss_mb"] for r in ok if r.get("peak_rss_mb") is not None), default=None),
                "params": ok[0].get("params"),
                "rounds": len(ok),
                "driver": ok[0].get("driver") or ok[0].get("peer"),
                "train_gflops": 3 * f * train / 1e9 if f and train else None,
                "infer_gflops": f * infer / 1e9 if f and infer else None,
                "setup_s": min((r["train_setup_s"] for r in ok if r.get("train_setup_s") is not None), default=None),
                "infer_setup_s": min((r["infer_setup_s"] for r in ok if r.get("infer_setup_s") is not None), default=None),
                "train_steps_min": min(steps["train"], default=None),
                "infer_steps_min": min(steps["infer"], default=None),
            }
            out[model][key] = s
    return out


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


def write_rounds(w, per_config, dlib):
    """Every round of every configuration of one model, with what its process spent in the
    kernel: the spread between rounds, and whether a slow round went into page faults."""
    if not any(per_config.values()):
        return

    def each(rows, value):
        return " / ".join("–" if r is None or value(r) is None else value(r) for r in rows)

    def sys_share(r):
        u = r.get("process")
        return None if not u or u["user_s"] + u["sys_s"] <= 0 else \
            f"{100 * u['sys_s'] / (u['user_s'] + u['sys_s']):.0f}%"

    w("")
    w("Each round (in round order), and what each configuration's process spent in the kernel: its "
      "share of the process's CPU time in system mode, and its minor page faults (`getrusage` of the "
      "finished process: setup, warm-up and both measurements).")
    w("")
    w("| configuration | train img/s | inference img/s | CPU time in the kernel | minor page faults |")
    w("|---|---:|---:|---:|---:|")
    for key, rows in per_config.items():
        w(f"| {label_of(key, dlib)} | "
          f"{each(rows, lambda r: fmt(r.get('train_img_s'), ',.0f'))} | "
          f"{each(rows, lambda r: fmt(r.get('infer_img_s'), ',.0f'))} | "
          f"{each(rows, sys_share)} | "
          f"{each(rows, lambda r: r.get('process') and format(r['process']['minor_faults'], ','))} |")


def write_report(a, path, meta, summary, errors, results):
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
    bench_models = [mo for mo, d in meta["drivers"].items() if d["driver"] == "bench"]
    fallback = [mo for mo in meta["drivers"] if mo not in bench_models]
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
    w(f"Batch {a.batch}, {a.threads} threads, fp32, {a.rounds} round(s). PyTorch (and `archetype bench` "
      f"where it stands in): each measurement at least {a.steps} steps and at least {a.min_time:g} s after "
      f"2 warm-up steps; bench_<model>: `--benchmark_min_time={a.min_time:g}`, so Google Benchmark "
      f"chooses the number of steps (shown under each table); dlib: a fixed number of steps "
      f"({dlib_iters_text(a)}). "
      + (f"% of peak is of {peak:g} GFLOP/s, the fp32 FMA peak `build/release/bench/bench_peak --threads "
         f"{a.threads}` measured before the rounds (after them: {meta['peak_measured'][-1]:.1f}); the "
         "executables' own %peak counters use the same figure."
         if meta.get("peak_measured") else
         f"% of peak is of {peak:g} GFLOP/s (`--peak-gflops`)."))
    write_compile_section(w, a, meta)
    w("")
    w("## Results")
    for model in summary:
        s = summary[model]
        f = meta["flops"].get(model)
        d = meta["drivers"][model]
        w("")
        title = f"### {model}"
        if model in FASHION_MNIST_MODELS:
            title += " (1x28x28 inputs; ours through its PadTo adapter)"
        w(title)
        w("")
        if f:
            w(f"Analytic forward FLOPs per image: {f:,} (a training step counts 3x).")
            w("")
        peer_train = max((s[k]["train_img_s"] for k in PEER_ARGS if s.get(k) and s[k]["train_img_s"]), default=None)
        peer_infer = max((s[k]["infer_img_s"] for k in PEER_ARGS if s.get(k) and s[k]["infer_img_s"]), default=None)
        w("| configuration | train img/s | vs peer best | train GFLOP/s | % peak | "
          "inference img/s | vs peer best | inference GFLOP/s | % peak | setup s (train / inference) | peak RSS MB |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for key in s:
            r = s.get(key)
            label = label_of(key, dlib)
            if key in CONV_ALGORITHM and d["driver"] != "bench":
                label += " [`archetype bench`]"
            if r is None:
                e = " ".join(errors.get((model, key), "no result").split()).replace("|", "/")[:160]
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
        if d["driver"] == "bench":
            steps = "; ".join(
                f"{k.removeprefix('archetype-')} {fmt(s[k]['train_steps_min'], 'd')} / {fmt(s[k]['infer_steps_min'], 'd')}"
                for k in CONV_ALGORITHM if s.get(k))
            w(f"Ours: `{rel(d['exe'])}`; timed steps per measurement (train / inference, fewest of the rounds): "
              f"{steps or '–'}.")
        else:
            w(f"Ours: `{rel(a.archetype)} bench`, because {d['reason']}.")
        for k, precision in PRECISION.items():
            lo, hi = s.get("archetype-direct"), s.get(k)
            if lo and hi:
                bt = hi["train_img_s"] / lo["train_img_s"] if lo["train_img_s"] and hi["train_img_s"] else None
                bi = hi["infer_img_s"] / lo["infer_img_s"] if lo["infer_img_s"] and hi["infer_img_s"] else None
                w("")
                w(f"{precision} against our fp32 (both direct conv): training {fmt(bt, '.2f')}x, inference "
                  f"{fmt(bi, '.2f')}x. Its % of peak is of the fp32 peak; its ratio to the peer compares with "
                  f"PyTorch in fp32.")
        if dlib.get("installed"):
            w("")
            if model not in DLIB_MODELS:
                w(f"{dlib['label']}: not in the dlib peer (it has {', '.join(DLIB_MODELS)}).")
            elif s.get(DLIB_KEY):
                r = s[DLIB_KEY]
                ours_t = max((s[k]["train_img_s"] for k in CONV_ALGORITHM if k not in PRECISION and s.get(k) and s[k]["train_img_s"]), default=None)
                ours_i = max((s[k]["infer_img_s"] for k in CONV_ALGORITHM if k not in PRECISION and s.get(k) and s[k]["infer_img_s"]), default=None)
                dt = r["train_img_s"] / ours_t if ours_t and r["train_img_s"] else None
                di = r["infer_img_s"] / ours_i if ours_i and r["infer_img_s"] else None
                w(f"{dlib['label']} relative to ours (the faster Archetype configuration): training "
                  f"{fmt(dt, '.3f')}x, inference {fmt(di, '.3f')}x ({fmt(r['train_steps_min'], 'd')} timed steps)"
                  + ("; its LeNet-5 takes the classic 1x32x32 input (valid first convolution): the same "
                     "parameters and FLOPs." if model == "lenet5" else "."))
        if s.get(ORT_KEY):
            r = s[ORT_KEY]
            ours_i = max((s[k]["infer_img_s"] for k in CONV_ALGORITHM if k not in PRECISION and s.get(k)
                          and s[k]["infer_img_s"]), default=None)
            ri = ours_i / r["infer_img_s"] if ours_i and r["infer_img_s"] else None
            lat = [x for x in results.get(model, {}).get(ORT_KEY, []) if x is not None]
            p50 = min((x["p50_ms"] for x in lat if x.get("p50_ms") is not None), default=None)
            p99 = min((x["p99_ms"] for x in lat if x.get("p99_ms") is not None), default=None)
            w("")
            w(f"Inference against ONNX Runtime: ours (the faster fp32 configuration) {fmt(ri, '.2f')}x; "
              f"ONNX Runtime's per-run latency at batch {a.batch}: p50 {fmt(p50, '.2f')} ms, p99 "
              f"{fmt(p99, '.2f')} ms (best round).")
        write_rounds(w, results.get(model, {}), dlib)
    w("")
    w("## How measured")
    w("")
    w("All sides run the same measurement on the same synthetic batch shape: one fixed batch of "
      "random inputs and labels; a training step is forward, softmax cross-entropy, backward and an SGD "
      "update (lr 0.01, momentum 0.9, weight decay 5e-4); inference is a forward pass in inference mode "
      "(running BatchNorm statistics; PyTorch: `eval()` under `no_grad()`; dlib: its deployment network "
      "with `affine` layers in place of `bn_con`). Each configuration of each model runs in its own process, "
      "and the runs are interleaved model by model, the order of the configurations alternating between "
      "rounds; each configuration keeps its best round for training and for inference separately (peak "
      "RSS: the largest seen).")
    w("")
    w("Ours runs in the Google Benchmark executable `bench_<model>` (one per registry model, "
      "`bench/CMakeLists.txt`), filtered to the training step and the inference benchmark of the batch: "
      "`--benchmark_filter=^<model>/(inference|train_step)/batch:<batch>/ --benchmark_format=json "
      "--benchmark_min_time=<--min-time>` with `--threads`, `--conv-algorithm`, `--peak-gflops` (and "
      "`--fashion-mnist` for lenet5). Each benchmark builds its workload and runs 2 warm-up steps "
      "untimed, then Google Benchmark times growing numbers of steps until one run lasts at least "
      "`--min-time` and reports that run; the counters `img/s` (wall clock) and `peak_rss_MB` give the "
      "row. Both benchmarks run in one process, inference then training, each workload released "
      "before the next is built, and `peak_rss_MB` is `getrusage` `ru_maxrss` of the process so far, "
      "so the larger of the two is that model's peak RSS, training and inference together (the same "
      "quantity as `archetype bench` and the peers report). Its counter `setup_s` is the time to build "
      "the executable (for \"fastest\", timing Winograd against direct per layer, then both whole plans); `archetype bench M --json`, which the script falls back to when bench_<model> is "
      "missing or lacks the batch (the row is then marked), reports it and times at least `--steps` "
      "steps and at least `--min-time`, like the PyTorch peer.")
    w("")
    w("PyTorch runs both with NCHW and channels-last tensors and the faster of the two counts as the "
      "peer (\"vs peer best\"). The dlib peer (`bench/peers/dlib/dlib_peer.cpp`, where `libdlib-dev` "
      "is installed) is compiled by this run as its `build.sh` does and run with "
      "`OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=<--threads>`: 2 warm-up steps, then a fixed number of "
      "timed steps; training is `dnn_trainer::train_one_step`; its peak RSS also holds the deployment "
      "network it builds from the trained one. Its ratio to ours is given under each table. "
      "ONNX Runtime (npm `onnxruntime-node`, what a deployment of the exported model would run) "
      "times inference only: `bench/peers/onnxruntime_peer.mjs` on the PyTorch peer's model exported "
      "by `torch.onnx.export` (opset 13), graph optimisation \"all\", `--threads` intra-op threads, "
      "2 warm-up runs then at least `--steps` runs and `--min-time`; its img/s is the batch over the "
      "mean run time, its p50/p99 those of the per-run times. "
      "GFLOP/s are analytic: forward FLOPs = 2 x the "
      "multiply-accumulates of convolutions and linear layers (`archetype describe`), a training step "
      "counted as 3 x forward; the peers' rows use the same count, as the models are the same. "
      "\"fastest\" lets Archetype pick Winograd or direct per 3x3 stride-1 layer by timing both when the "
      "executable is built (setup time), then keeps that plan only if one whole step of it times faster "
      "than one of the direct plan (so it is never slower than direct, up to the noise of that "
      "measurement); Winograd rounds differently from direct, and does fewer "
      "multiplications than the analytic count, so its % of peak can exceed 100.")
    w("")
    w(f"Raw rows of every round: `{Path(path).with_suffix('.json').name}`.")
    if errors:
        w("")
        w("## Failures")
        w("")
        for (model, key), e in errors.items():
            w(f"- {model}, {key}: " + " ".join(e.split()).replace("`", "'"))
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
    ap.add_argument("--models", default="lenet5,resnet20,resnet18_cifar,vgg16_cifar")
    ap.add_argument("--batch", type=int, default=128)
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
        "batch": a.batch, "threads": a.threads, "rounds": a.rounds, "steps": a.steps,
        "min_time": a.min_time, "peak_gflops": a.peak_gflops,
        "flops": {}, "torch": None,
    }
    meta["loadavg_start"] = meta["machine"]["loadavg"]
    meta["drivers"] = {m: choose_driver(a, m) for m in models}
    for m, d in meta["drivers"].items():
        if d["driver"] != "bench":
            print(f"{m}: ours through `archetype bench`: {d['reason']}", file=sys.stderr, flush=True)
    if any(d["driver"] != "bench" for d in meta["drivers"].values()) and not a.archetype.exists():
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

    results = {m: {c[0]: [] for c in configs_for(m, dlib)} for m in models}
    raw, errors = [], {}
    for rnd in range(a.rounds):
        for model in models:
            order = [c[0] for c in configs_for(model, dlib)]
            if rnd % 2 == 1:
                order.reverse()
            print(f"round {rnd + 1}/{a.rounds}: {model}", file=sys.stderr, flush=True)
            for key in order:
                cmd, env = command_for(a, key, model, meta["drivers"], dlib)
                if key == DLIB_KEY and dlib["build"]["error"]:
                    row, err = None, f"build failed: {dlib['build']['error']}"
                else:
                    parse = None
                    if key in CONV_ALGORITHM and meta["drivers"][model]["driver"] == "bench":
                        parse = lambda out, model=model: row_from_benchmark(out, model, a.batch)  # noqa: E731
                    row, err = run_one(cmd, env=env, timeout=a.timeout, parse=parse)
                if err:
                    errors[(model, key)] = err
                    print(f"  failed: {err}", file=sys.stderr, flush=True)
                if row is not None:
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
                          f"rss {fmt(row.get('peak_rss_mb'), '.0f')} MB", file=sys.stderr, flush=True)
                results[model][key].append(row)
                raw.append({"round": rnd + 1, "model": model, "config": key, "command": cmd, "row": row,
                            "error": err or None})
    meta["loadavg_end"] = sh(["cat", "/proc/loadavg"])
    if measured:
        measure_peak()  # again after the rounds: the report gives both
    meta["peak_measured"] = peaks if measured else None
    summary = summarize(results, meta["flops"])
    write_report(a, out, meta, summary, errors, results)
    json_path = out.with_suffix(".json")
    json_path.write_text(json.dumps({"meta": meta, "best": summary, "rows": raw}, indent=1,
                                    default=str) + "\n")
    print(f"wrote {out} and {json_path}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
