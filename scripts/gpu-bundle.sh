#!/usr/bin/env bash
# Builds the cuDNN backend's GPU tests on this machine (which has the CUDA toolkit, cuDNN,
# oneDNN and every other dependency, but no GPU) and gathers what a GPU machine needs to run
# them into .gpu/ (ignored by git through .git/info/exclude; well under the 64 MiB a device
# call carries): the test executables, the oneDNN-side parity fixtures and run.sh, which
# runs them there. The GPU machines have no oneDNN and cuDNN only as a pip wheel: the
# executables find libcudnn.so.9 through LD_LIBRARY_PATH (run.sh sets it from python3's
# nvidia.cudnn), cudart and cuBLAS in /usr/local/cuda or the pip wheels likewise.
#
# Usage: scripts/gpu-bundle.sh [BUILD_DIR]   (default build/cuda; configured when missing)
# Then, from the session, the device tool: run(command="bash .gpu/run.sh", carry=[".gpu"]).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build/cuda}"
cd "$repo"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DARCHETYPE_WERROR=ON
fi
grep -q "CUDA backend ON\|ARCHETYPE_CUDNN_LIBRARY:FILEPATH=/" "$build/CMakeCache.txt" ||
  { echo "gpu-bundle: $build has no CUDA backend (see cmake/ArchetypeCuda.cmake)" >&2; exit 1; }
targets=(archetype_gpu_device_query archetype_gpu_gradcheck_tests archetype_gpu_cudnn_tests
         archetype_gpu_parity_tests archetype_gpu_parity_fixture_files bench_cuda)
nice -n 10 ninja -C "$build" -j "${ARCHETYPE_JOBS:-2}" "${targets[@]}"

grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/parity
for t in archetype_gpu_device_query archetype_gpu_gradcheck_tests archetype_gpu_cudnn_tests archetype_gpu_parity_tests; do
  cp "$build/tests/gpu/$t" .gpu/
  strip --strip-debug .gpu/$t
done
cp "$build"/tests/gpu/parity/*.f32 .gpu/parity/
cp "$build/bench/bench_cuda" .gpu/ && strip --strip-debug .gpu/bench_cuda
cp bench/pytorch_gpu.py .gpu/
cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine (scripts/gpu-bundle.sh made this folder): every gpu test, with
# its log in $OUT when the device tool gives one.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$here/out}"; mkdir -p "$out"
# Every lib/ folder of python3's nvidia.* wheels (nvidia/cudnn/lib, nvidia/cu13/lib, ...).
libs="$(python3 -c "import nvidia; print(':'.join(nvidia.__path__))" 2>/dev/null | tr ':' '\n' |
        while read -r d; do [[ -n "$d" ]] && find "$d" -maxdepth 3 -type d -name lib; done | paste -sd: -)"
export LD_LIBRARY_PATH="${libs:+$libs:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
export ARCHETYPE_GPU_PARITY_DIR="$here/parity"
nvidia-smi -L || true
status=0
for t in archetype_gpu_device_query archetype_gpu_cudnn_tests archetype_gpu_gradcheck_tests archetype_gpu_parity_tests; do
  echo "=== $t"
  ldd "$here/$t" | grep -E "not found" && status=1
  "$here/$t" "$@" 2>&1 | tee "$out/$t.log"
  rc=${PIPESTATUS[0]}
  echo "=== $t: exit $rc"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
RUN
chmod +x .gpu/run.sh
cat > .gpu/bench.sh <<'BENCH'
#!/usr/bin/env bash
# Runs on the GPU machine: the cuDNN backend (bench_cuda) and the PyTorch peer
# (pytorch_gpu.py) on the same GPU, in the same run, training and inference at batch 128
# and 256: fp32, TF32, and the peer with bf16 autocast and channels-last. JSON lines in
# $OUT/bench.jsonl. Arguments: the models (default: the issue's).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$here/out}"; mkdir -p "$out"
models="${1:-resnet20,resnet18_cifar,resnet50}"
# Every lib/ folder of python3's nvidia.* wheels (nvidia/cudnn/lib, nvidia/cu13/lib, ...).
libs="$(python3 -c "import nvidia; print(':'.join(nvidia.__path__))" 2>/dev/null | tr ':' '\n' |
        while read -r d; do [[ -n "$d" ]] && find "$d" -maxdepth 3 -type d -name lib; done | paste -sd: -)"
export LD_LIBRARY_PATH="${libs:+$libs:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv || true
{
  "$here/bench_cuda" --models "$models" --batch 128,256 --json
  "$here/bench_cuda" --models "$models" --batch 128,256 --json --tf32
  "$here/bench_cuda" --models "$models" --batch 128,256 --json --no-graph
  python3 "$here/pytorch_gpu.py" --models "$models" --batch 128,256 --json -
  python3 "$here/pytorch_gpu.py" --models "$models" --batch 128,256 --json - --tf32
  python3 "$here/pytorch_gpu.py" --models "$models" --batch 128,256 --json - --amp bf16 --channels-last
} 2>&1 | tee "$out/bench.jsonl"
BENCH
chmod +x .gpu/bench.sh
du -sh .gpu
echo "gpu-bundle: .gpu/ is ready; with the device tool: command 'bash .gpu/run.sh' (tests) or 'bash .gpu/bench.sh' (benchmarks), carry ['.gpu']"
