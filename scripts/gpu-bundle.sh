#!/usr/bin/env bash
# Builds the cuDNN backend's GPU tests, bench_cuda and the `archetype` command line on this
# machine (which has the CUDA toolkit, cuDNN, oneDNN and every other dependency, but no GPU)
# and gathers what a GPU machine needs to run them into .gpu/ (ignored by git through
# .git/info/exclude; the device tool carries at most 64 MiB, so the executables travel
# gzipped, about 35 MB in all with Fashion-MNIST). The GPU machines have no oneDNN and cuDNN
# only as a pip wheel: env.sh unpacks the executables, puts the carried oneDNN (libdnnl,
# libOpenCL, libgomp: the command line links oneDNN for --device cpu) and every lib/ folder
# of python3's nvidia.* wheels (cuDNN, cuBLAS, cudart) on LD_LIBRARY_PATH.
#
# Usage: scripts/gpu-bundle.sh [BUILD_DIR]   (default build/release; configured when missing)
# Then, from the session, the device tool, carry [".gpu"]:
#   bash .gpu/run.sh [gtest args]      every gpu test executable, logs in $OUT
#   bash .gpu/bench.sh [MODELS]        bench_cuda and bench/pytorch_gpu.py in the same run
#   bash .gpu/train.sh ARGS...         archetype train ARGS --device cuda (Fashion-MNIST is
#                                      carried: --data fashion-mnist:.gpu/data is added)
#   bash .gpu/study.sh NAME ARGS...    archetype experiment NAME ARGS --device cuda (the
#                                      training studies; report and metrics in $OUT/reports;
#                                      the GPU machines have no gnuplot: here, copy them into
#                                      reports/ and run `archetype experiment NAME --draw`)
#   bash .gpu/all.sh                   run.sh then bench.sh, within BUDGET seconds (480)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build/release}"
cd "$repo"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DARCHETYPE_WERROR=ON
fi
grep -q "CUDA backend ON\|ARCHETYPE_CUDNN_LIBRARY:FILEPATH=/" "$build/CMakeCache.txt" ||
  { echo "gpu-bundle: $build has no CUDA backend (see cmake/ArchetypeCuda.cmake)" >&2; exit 1; }
tests=(archetype_gpu_device_query archetype_gpu_cudnn_tests archetype_gpu_gradcheck_tests archetype_gpu_parity_tests archetype_gpu_bf16_tests)
# The backend contract's typed suite (tests/backends/contract): its CuDnn.* cases are the
# gpu.backends.* tests; it links oneDNN, whose libraries travel for the command line anyway.
contract=archetype_backend_contract_tests
nice -n 10 ninja -C "$build" -j "${ARCHETYPE_JOBS:-2}" "${tests[@]}" "$contract" archetype_gpu_parity_fixture_files bench_cuda archetype archetype_cudnn_plugin bench_lenet5

# .gpu/ stays out of git: the repository's info/exclude (a worktree's .git is a file; git
# says where its exclude file is). Outside a git checkout there is nothing to exclude from.
if exclude="$(git rev-parse --git-path info/exclude 2>/dev/null)"; then
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
fi
rm -rf .gpu && mkdir -p .gpu/parity .gpu/bin .gpu/lib .gpu/data
pack() {  # pack EXECUTABLE: stripped and gzipped into .gpu/bin
  local name; name="$(basename "$1")"
  strip --strip-all -o ".gpu/bin/$name" "$1"
  gzip -6 ".gpu/bin/$name"
}
for t in "${tests[@]}"; do pack "$build/tests/backends/cudnn/$t"; done
pack "$build/tests/backends/contract/$contract"
pack "$build/bench/bench_cuda"
pack "$build/tools/archetype"
# One bench_<model> (it links both backends), for gpu.bench.lenet5_cuda's check.
pack "$build/bench/bench_lenet5"
cp tests/bench/check_model_cuda.cmake tests/bench/benchmark_list.cmake .gpu/
# The cuDNN backend is a plug-in the executables look for beside themselves first.
pack "$build/lib/libarchetype_cudnn_plugin.so"
for lib in libdnnl.so.2 libOpenCL.so.1 libgomp.so.1 libbenchmark.so.1debian; do
  path="$(ldd "$build/tools/archetype" "$build/bench/bench_lenet5" "$build/tests/backends/contract/$contract" | awk -v l="$lib" '$1 == l { print $3 }' | head -1)"
  [[ -n "$path" ]] && gzip -6 -c "$(readlink -f "$path")" > ".gpu/lib/$lib.gz"
done
cp "$build"/tests/backends/cudnn/parity/*.f32 .gpu/parity/
cp bench/pytorch_gpu.py .gpu/
fmnist=/usr/share/datasets/fashion-mnist
[[ -d "$fmnist" ]] && cp "$fmnist"/*-ubyte.gz .gpu/data/

cat > .gpu/env.sh <<'ENV'
# Sourced by the scripts below on the GPU machine: unpacks the executables and libraries
# into /tmp/archetype-gpu and sets LD_LIBRARY_PATH, ARCHETYPE_GPU_PARITY_DIR, $bin, $out.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$here/out}"; mkdir -p "$out"
bin=/tmp/archetype-gpu/bin; lib=/tmp/archetype-gpu/lib
mkdir -p "$bin" "$lib"
for f in "$here"/bin/*.gz; do n="$(basename "$f" .gz)"; gunzip -c "$f" > "$bin/$n"; chmod +x "$bin/$n"; done
for f in "$here"/lib/*.gz; do [[ -e "$f" ]] && gunzip -c "$f" > "$lib/$(basename "$f" .gz)"; done
# Every lib/ folder of python3's nvidia.* wheels (nvidia/cudnn/lib, nvidia/cu13/lib, ...).
libs="$(python3 -c "import nvidia; print(':'.join(nvidia.__path__))" 2>/dev/null | tr ':' '\n' |
        while read -r d; do [[ -n "$d" ]] && find "$d" -maxdepth 3 -type d -name lib; done | paste -sd: -)"
export LD_LIBRARY_PATH="${libs:+$libs:}/usr/local/cuda/lib64:$lib:${LD_LIBRARY_PATH:-}"
export ARCHETYPE_GPU_PARITY_DIR="$here/parity"
ENV

cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# Every gpu test executable, each under a timeout (TEST_TIMEOUT, 200 s), logs in $OUT;
# extra arguments go to every executable (e.g. --gtest_filter=Parity.*). TESTS picks some.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv 2>&1 | tee "$out/machine.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cudnn', torch.backends.cudnn.version())" 2>&1 | tee -a "$out/machine.txt"
status=0
for t in ${TESTS:-archetype_gpu_device_query archetype_gpu_cudnn_tests archetype_backend_contract_tests archetype_gpu_gradcheck_tests archetype_gpu_parity_tests archetype_gpu_bf16_tests}; do
  ldd "$bin/$t" "$bin/libarchetype_cudnn_plugin.so" | grep "not found" && status=1
  echo "=== $t"
  ARCHETYPE_GPU_PARITY_OUT="$out/parity" timeout -k 5 "${TEST_TIMEOUT:-200}" "$bin/$t" "$@" > "$out/$t.log" 2>&1
  rc=$?
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |Failure|^\[gpu parity\]|SKIP" "$out/$t.log" | head -60
  echo "=== $t: exit $rc"
  [[ $rc -eq 0 ]] || status=1
done
if [[ -z "${TESTS:-}" ]]; then  # gpu.bench.lenet5_cuda: bench_<model> --device cuda
  echo "=== bench_lenet5 --device cuda"
  timeout -k 5 "${TEST_TIMEOUT:-200}" cmake -DBENCH="$bin/bench_lenet5" -P "$here/check_model_cuda.cmake" > "$out/bench_lenet5.log" 2>&1
  rc=$?
  tail -8 "$out/bench_lenet5.log"
  echo "=== bench_lenet5: exit $rc"
  [[ $rc -eq 0 ]] || status=1
fi
exit $status
RUN

cat > .gpu/bench.sh <<'BENCH'
#!/usr/bin/env bash
# The cuDNN backend (bench_cuda: fp32, bf16, TF32, eager) and the PyTorch peer (pytorch_gpu.py:
# fp32, TF32, bf16 autocast + channels-last) on the same GPU in the same run, training and
# inference at batch 128 and 256; JSON lines in $OUT/bench.jsonl. Argument: the models.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
m="${1:-resnet20,resnet18_cifar,resnet50}"
common=(--models "$m" --batch 128,256 --min-time 1 --steps 20)
run() { echo "=== $*"; timeout -k 5 "${BENCH_TIMEOUT:-150}" "$@" 2>&1 | tee -a "$out/bench.jsonl"; }
run "$bin/bench_cuda" "${common[@]}" --json
run python3 "$here/pytorch_gpu.py" "${common[@]}" --json - --amp bf16 --channels-last
run "$bin/bench_cuda" "${common[@]}" --json --bf16
run "$bin/bench_cuda" "${common[@]}" --json --tf32
run python3 "$here/pytorch_gpu.py" "${common[@]}" --json -
run python3 "$here/pytorch_gpu.py" "${common[@]}" --json - --tf32
run "$bin/bench_cuda" "${common[@]}" --json --no-graph
BENCH

cat > .gpu/train.sh <<'TRAIN'
#!/usr/bin/env bash
# archetype train ARGS --device cuda --data fashion-mnist:<carried copy>; ARGS must name the
# model first. The log goes to $OUT/${LOG:-train-<model>}.log.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$bin/archetype" train "$@" --device cuda --data "fashion-mnist:$here/data" 2>&1 | tee "$out/${LOG:-train-$1}.log"
exit "${PIPESTATUS[0]}"
TRAIN

cat > .gpu/study.sh <<'STUDY'
#!/usr/bin/env bash
# archetype experiment NAME ARGS --device cuda --data fashion-mnist:<carried copy>, report and
# raw metrics into $OUT/reports (checkpoints in $OUT/runs: a cut run continues with --resume
# where $OUT came back), the log to $OUT/study-NAME.log. Plots are left as data and scripts:
# draw them on the CPU machine with `archetype experiment NAME --draw --out DIR`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$bin/archetype" experiment "$@" --device cuda --data "fashion-mnist:$here/data" \
  --out "$out/reports" --checkpoints "$out/runs" 2>&1 | tee "$out/study-$1.log"
exit "${PIPESTATUS[0]}"
STUDY

cat > .gpu/all.sh <<'ALL'
#!/usr/bin/env bash
# run.sh, then bench.sh, inside BUDGET seconds (480).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t0=$SECONDS
bash "$here/run.sh"
left=$(( ${BUDGET:-480} - (SECONDS - t0) ))
(( left > 60 )) && BENCH_TIMEOUT=$(( left / 6 )) bash "$here/bench.sh" "${MODELS:-resnet20,resnet18_cifar,resnet50}"
ALL
chmod +x .gpu/*.sh
du -sh .gpu
echo "gpu-bundle: .gpu/ is ready; device tool: run(command='bash .gpu/run.sh' | 'bash .gpu/bench.sh' | 'bash .gpu/train.sh MODEL ARGS' | 'bash .gpu/study.sh NAME ARGS' | 'bash .gpu/all.sh', carry=['.gpu'])"
