#!/usr/bin/env python3
"""Data-parallel training on 2 processes (mpirun on loopback, one thread each) against one
process with the same global batch: after 5 SGD steps the parameters agree within 1e-5
(relative, over the whole parameter block; 1e-3 in any one tensor); a checkpoint resumes
at another number of processes. Cases: ResNet-20 with --sync-bn, LeNet-5; ResNet-20 without
--sync-bn must differ (per-process statistics: the check can fail). Also the errors: a
global batch that does not split, and a rank that hangs (rank 0 names it, no hang).

usage: exactness.py ARCHETYPE MPIRUN WORKDIR [case ...]   (resnet20 lenet5 resume bench errors)
"""
import json
import math
import os
import struct
import subprocess
import sys
import time


def read_parameters(path):
    """The tensors of a parameter file (runtime/parameters_file.hpp), name -> floats."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"ARCHPARM":
        raise SystemExit(f"{path}: not a parameter file")
    _version, count = struct.unpack_from("<II", data, 8)
    at = 16
    tensors = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, at)
        at += 2
        name = data[at:at + length].decode()
        at += length
        ndim = data[at]
        at += 1
        dims = struct.unpack_from(f"<{ndim}q", data, at)
        at += 8 * ndim
        n = math.prod(dims)
        tensors[name] = struct.unpack_from(f"<{n}f", data, at)
        at += 4 * n
    return tensors


def global_relative(a, b):
    """||a - b|| / ||b|| over every tensor together (the whole parameter and buffer block)."""
    diff = sum((x - y) ** 2 for name in b for x, y in zip(a[name], b[name]))
    norm = sum(y * y for name in b for y in b[name])
    return math.sqrt(diff / norm)


def worst_relative(a, b):
    """The largest per-tensor ||a - b|| / ||b|| and its tensor."""
    worst, where = 0.0, ""
    for name, want in b.items():
        got = a[name]
        diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(got, want)))
        norm = math.sqrt(sum(y * y for y in want)) or 1.0
        if diff / norm > worst:
            worst, where = diff / norm, name
    return worst, where


def environment():
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl="self,vader,tcp", OMPI_MCA_btl_tcp_if_include="lo",
               OMPI_MCA_oob_tcp_if_include="lo", OMPI_MCA_rmaps_base_oversubscribe="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    env.pop("ARCHETYPE_FAULT_STALL", None)
    return env


def run(command, env, timeout=240):
    started = time.monotonic()
    r = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    return r, time.monotonic() - started


def train_args(archetype, model, save, extra):
    return [archetype, "train", model, "--data", "synthetic", "--epochs", "1", "--batch", "8",
            "--max-steps", "5", "--limit-test", "64", "--threads", "1", "--schedule", "constant",
            "--lr", os.environ.get("EXACT_LR", "0.01"), "--save", save] + extra


def mpi(mpirun, n, args):
    return [mpirun, "-np", str(n), "--oversubscribe", "--bind-to", "none"] + args


def exactness(archetype, mpirun, work, model, extra, expect_equal):
    env = environment()
    tag = model + "".join(extra)
    one, two = os.path.join(work, f"{tag}-1.params"), os.path.join(work, f"{tag}-2.params")
    for command, out in ((train_args(archetype, model, one, extra), one),
                         (mpi(mpirun, 2, train_args(archetype, model, two, extra)), two)):
        r, _ = run(command, env)
        if r.returncode != 0:
            print(" ".join(command), "\n", r.stdout[-3000:], r.stderr[-3000:])
            return False
    a, b = read_parameters(two), read_parameters(one)
    worst, where = worst_relative(a, b)
    whole = global_relative(a, b)
    label = (f"{model} {' '.join(extra)}: 2 processes vs 1, relative difference {whole:.3g} over every "
             f"parameter, at most {worst:.3g} in one tensor ({where})")
    # Equal: 1e-5 over the whole block, and no tensor off by more than 1e-3 (a BatchNorm bias
    # starts at 0 and its gradient, a sum of terms that cancel, carries the summation order's
    # rounding: one process on 1 and on 2 threads differ as much). Different: above 1e-3.
    ok = (whole <= 1e-5 and worst <= 1e-3) if expect_equal else whole > 1e-3
    print(label, "ok" if ok else ("FAILED: want <= 1e-5 (1e-3 per tensor)" if expect_equal else "FAILED: want > 1e-3"))
    return ok


def resume(archetype, mpirun, work):
    """A checkpoint written by 2 processes resumed by 1 (and one of 1 by 2) reaches what one
    process reaches without stopping: the global batch and the data order do not depend on
    the number of processes."""
    env = environment()
    ok = True

    def args(save, epochs, extra):
        a = train_args(archetype, "lenet5", save, extra)
        i = a.index("--max-steps")
        del a[i:i + 2]  # whole epochs of 256 images: 32 steps each
        a[a.index("--epochs") + 1] = str(epochs)
        return a + ["--limit-train", "256"]

    straight = os.path.join(work, "straight.params")
    r, _ = run(args(straight, 2, []), env)
    ok &= r.returncode == 0
    for first, second in ((2, 1), (1, 2)):
        directory = os.path.join(work, f"checkpoint-{first}-{second}")
        save = os.path.join(work, f"resumed-{first}-{second}.params")
        for n, epochs, extra in ((first, 1, []), (second, 2, ["--resume"])):
            command = args(save, epochs, ["--checkpoint", directory] + extra)
            r, _ = run(mpi(mpirun, n, command) if n > 1 else command, env)
            if r.returncode != 0:
                print(" ".join(command), r.stderr[-2000:])
                return False
        whole = global_relative(read_parameters(save), read_parameters(straight))
        good = whole <= 1e-5
        print(f"resume: epoch 1 on {first} process(es), epoch 2 on {second}: relative difference {whole:.3g}",
              "ok" if good else "FAILED: want <= 1e-5")
        ok &= good
    return ok


def bench(archetype, mpirun, work):
    """`archetype bench --mode train` under mpirun reports the gradient all-reduce per step:
    2 processes, the buckets, in-flight time split into overlapped and exposed."""
    del work
    command = mpi(mpirun, 2, [archetype, "bench", "resnet20", "--mode", "train", "--batch", "2",
                              "--steps", "2", "--threads", "1", "--bucket-mb", "0.1", "--json"])
    r, _ = run(command, environment())
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or len(rows) != 1:  # rank 0 alone prints
        print("bench: FAILED, rc", r.returncode, r.stdout[-2000:], r.stderr[-2000:])
        return False
    row = rows[0]
    ok = (row.get("processes") == 2 and row.get("allreduce_buckets", 0) > 5
          and 0 <= row["allreduce_overlapped_ms"] <= row["allreduce_ms"] + 1e-9
          and row["allreduce_exposed_ms"] >= 0 and row["train_img_s"] > 0)
    print(f"bench: {row.get('allreduce_buckets')} buckets, all-reduce {row.get('allreduce_ms', 0):.2f} ms, "
          f"overlapped {row.get('allreduce_overlapped_ms', 0):.2f}, exposed {row.get('allreduce_exposed_ms', 0):.2f}",
          "ok" if ok else "FAILED")
    return ok


def errors(archetype, mpirun, work):
    env = environment()
    ok = True
    # A global batch that does not split over the processes.
    args = train_args(archetype, "lenet5", os.path.join(work, "never.params"), [])
    args[args.index("--batch") + 1] = "7"
    r, _ = run(mpi(mpirun, 2, args), env)
    want = "--batch 7 (the global batch) does not split evenly over 2 processes: use a multiple of 2"
    if r.returncode == 0 or want not in r.stderr:
        print("uneven batch: FAILED, rc", r.returncode, r.stderr[-2000:])
        ok = False
    else:
        print("uneven batch: ok")
    # Rank 1 hangs at step 2: rank 0 names it after the timeout and the job ends.
    env["ARCHETYPE_FAULT_STALL"] = "1:2"
    args = train_args(archetype, "lenet5", os.path.join(work, "never.params"), ["--collective-timeout", "3"])
    r, seconds = run(mpi(mpirun, 2, args), env, timeout=120)
    want = "not answering: rank 1 (last heard at step 1)"
    if r.returncode == 0 or want not in r.stderr:
        print("hanging rank: FAILED, rc", r.returncode, r.stderr[-2000:])
        ok = False
    else:
        print(f"hanging rank: ok, the job ended after {seconds:.0f} s")
    return ok


# Why 1e-5 over the whole block and not per tensor: ResNet-20 at batch 8 is chaotic in its
# first steps; one process on 1 thread and on 2 threads (other oneDNN summation orders)
# differ by 5e-9 after one step and by 2e-3 after five (0.3 in a BatchNorm bias). Two
# processes against one differ by 3e-6 after five steps at --lr 0.01, LeNet-5 by 6e-9.


def main():
    archetype, mpirun, work = sys.argv[1:4]
    cases = sys.argv[4:] or ["resnet20", "lenet5", "resume", "bench", "errors"]
    os.makedirs(work, exist_ok=True)
    ok = True
    for case in cases:
        if case == "resnet20":
            ok &= exactness(archetype, mpirun, work, "resnet20", ["--sync-bn"], True)
            # 40 KB buckets: about 30 all-reduces in flight during the backward pass,
            # between the synchronised BatchNorms' own.
            ok &= exactness(archetype, mpirun, work, "resnet20", ["--sync-bn", "--bucket-mb", "0.04"], True)
            ok &= exactness(archetype, mpirun, work, "resnet20", [], False)
        elif case == "lenet5":
            ok &= exactness(archetype, mpirun, work, "lenet5", [], True)
        elif case == "bench":
            ok &= bench(archetype, mpirun, work)
        elif case == "resume":
            ok &= resume(archetype, mpirun, work)
        elif case == "errors":
            ok &= errors(archetype, mpirun, work)
        else:
            raise SystemExit(f"unknown case {case}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
