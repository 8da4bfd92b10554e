#!/usr/bin/env bash
# Sets Archetype up on Debian 12: installs the Debian packages it needs (only the missing
# ones), configures and builds it with a CMake preset, then runs the main job: train
# LeNet-5 on Fashion-MNIST on the CPU after printing its compile-time summary.
#
# Usage: scripts/setup.sh [--no-run] [--skip-apt] [--preset NAME] [-j N] [-- TRAIN ARGS]
#   --no-run       set up and build only; do not run the main job
#   -- ARGS        extra arguments for `archetype train` (e.g. -- --epochs 2)
#   --skip-apt     do not install packages (same as ARCHETYPE_SKIP_APT=1), for machines
#                  without root where the packages are already there
#   --preset NAME  CMake preset (release, debug, asan, ci); default: ci when CI=true,
#                  release otherwise (or ARCHETYPE_PRESET)
#   -j N           parallel build jobs (default: ARCHETYPE_JOBS or the number of cores)
#
# Idempotent: a second run installs nothing (and does not call apt-get), and the build is
# incremental.
set -euo pipefail

# Every Debian package the project needs, and why (Debian 12 "bookworm" names).
PACKAGES=(
  build-essential        # g++ 12 (C++20: class-type template parameters, consteval) and make
  cmake                  # the build (3.25: CMakePresets.json version 6)
  ninja-build            # the generator every preset uses
  libboost-dev           # Boost.Hana, header-only, used inside dsl/detail
  libcli11-dev           # command-line parsing of the archetype tool
  nlohmann-json3-dev     # describe --json and metrics/report output
  zlib1g-dev             # reading gzip-compressed IDX data sets (Fashion-MNIST)
  libjpeg62-turbo-dev    # --data folder:DIR: decoding JPEG files (libjpeg-turbo, libjpeg API)
  libpng-dev             # --data folder:DIR: decoding PNG files (libpng 1.6)
  libgtest-dev           # unit tests
  libgmock-dev           # matchers for the unit tests
  libbenchmark-dev       # bench/: one Google Benchmark executable per architecture
  libdnnl-dev            # oneDNN 2.6, the CPU backend
  ocl-icd-opencl-dev     # OpenCL headers + loader: Debian's oneDNN is built with its OpenCL GPU
                         # runtime, and its dnnl-config.cmake fails without them (a mere
                         # Recommends of libdnnl-dev, which --no-install-recommends skips)
  doxygen                # docs/: API and architecture pages
  graphviz               # docs/: architecture diagrams (dot)
  gnuplot-nox            # experiments/: the studies' report plots (PNG, pngcairo)
  chromium               # tests/docs: headless screenshots of the documentation pages (slow test)
  dataset-fashion-mnist  # the default data set (IDX files under /usr/share)
  python3-torch          # PyTorch peer benchmarks and forward parity checks
  python3-torchvision    # reference models (parameter counts, weights) for parity checks
  libdlib-dev            # bench/compare.py: the dlib peer (the closest C++ peer, nets as types)
  libopenblas0-pthread   # the BLAS dlib's CPU layers run on
  libonnx-dev            # archetype export: ONNX's ModelProto, checker and shape inference (1.12)
  libprotobuf-dev        # protobuf headers and library the ONNX model is built and written with
  clang-19               # tests/fuzz: the readers' libFuzzer targets (ctest -L fuzz), built
                         # with clang++-19 -fsanitize=fuzzer,address,undefined
  libclang-rt-19-dev     # clang 19's libFuzzer and sanitizer runtimes
  libopenmpi-dev         # data-parallel training across processes (runtime/: MPI all-reduce,
                         # broadcast; the MPI build option, on where found)
  openmpi-bin            # mpirun: `mpirun -np N archetype train` and the 2-rank exactness test
)
# Node.js and npm run ONNX Runtime (npm onnxruntime-node) in the ONNX export tests; from
# Debian only where no npm is on the PATH (a Node.js from elsewhere serves as well).
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

run_main=1
train_args=()
skip_apt="${ARCHETYPE_SKIP_APT:-0}"
if [[ "${CI:-}" == "true" ]]; then
  preset="${ARCHETYPE_PRESET:-ci}"
else
  preset="${ARCHETYPE_PRESET:-release}"
fi
jobs="${ARCHETYPE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "setup.sh: error: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-run) run_main=0 ;;
    --skip-apt) skip_apt=1 ;;
    --preset) [[ $# -ge 2 ]] || die "--preset needs a name"; preset="$2"; shift ;;
    --preset=*) preset="${1#--preset=}" ;;
    -j) [[ $# -ge 2 ]] || die "-j needs a number"; jobs="$2"; shift ;;
    -j*) jobs="${1#-j}" ;;
    -h|--help) usage; exit 0 ;;
    --) shift; train_args=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive number, got '$jobs'"

# --- 1. Debian packages ------------------------------------------------------------------
is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if [[ "$skip_apt" == "1" ]]; then
  echo "setup.sh: skipping package installation (ARCHETYPE_SKIP_APT=1 / --skip-apt)"
else
  command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this script installs Debian packages (Debian 12); install the" \
        "packages listed in README.md by hand and rerun with ARCHETYPE_SKIP_APT=1"
  missing=()
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup.sh: all ${#PACKAGES[@]} Debian packages are installed"
  else
    echo "setup.sh: installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
    if [[ "$(id -u)" -eq 0 ]]; then
      as_root=()
    elif command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      die "missing packages (${missing[*]}) and not root, and sudo is not available;" \
          "run as root, install them yourself, or set ARCHETYPE_SKIP_APT=1"
    fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# --- 1b. ONNX Runtime for the ONNX export tests (npm) ------------------------------------
# tests/export/package-lock.json pins onnxruntime-node; `--ignore-scripts` because its install
# script downloads GPU binaries from a host these machines cannot reach (the CPU runtime
# ships in the package). Installed once into tests/export/node_modules (git-ignored).
ort_dir="$repo_root/tests/export"
ort_wanted="$(sed -n 's/.*"onnxruntime-node": *"\([0-9.]*\)".*/\1/p' "$ort_dir/package.json")"
ort_have="$(sed -n 's/^ *"version": *"\([0-9.]*\)".*/\1/p' \
              "$ort_dir/node_modules/onnxruntime-node/package.json" 2>/dev/null | head -n 1 || true)"
if [[ -n "$ort_wanted" && "$ort_have" == "$ort_wanted" ]]; then
  echo "setup.sh: onnxruntime-node $ort_have is installed in tests/export"
else
  command -v npm >/dev/null 2>&1 ||
    die "npm not found: install Node.js and npm (Debian: nodejs npm) for the ONNX export tests"
  echo "setup.sh: installing onnxruntime-node $ort_wanted into tests/export (npm ci --ignore-scripts)"
  (cd "$ort_dir" && npm ci --ignore-scripts --no-audit --no-fund) ||
    die "npm ci failed in tests/export (the npm registry must be reachable once)"
fi

# --- 2. Configure and build --------------------------------------------------------------
command -v cmake >/dev/null 2>&1 || die "cmake not found (Debian: cmake)"
echo "setup.sh: configuring and building preset '$preset' with $jobs job(s)"
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$jobs"

if [[ "$run_main" -eq 0 ]]; then
  echo "setup.sh: set up in build/$preset (--no-run: main job not run)"
  exit 0
fi

# --- 3. The main job ---------------------------------------------------------------------
# Train LeNet-5 on Fashion-MNIST (Debian's dataset-fashion-mnist) on the CPU with the
# oneDNN backend, after printing its compile-time summary; the metrics, a checkpoint and
# the final parameters go to runs/lenet5/. Extra arguments after `--` go to `archetype train`.
cli="build/$preset/tools/archetype"
[[ -x "$cli" ]] || die "the archetype command line was not built in build/$preset" \
                       "(is ARCHETYPE_BUILD_TOOLS off?)"
if ! "$cli" train --help >/dev/null 2>&1; then
  echo "setup.sh: this build has no training backend (oneDNN not found); showing the zoo instead"
  "$cli" list
  exit 0
fi
echo
echo "\$ archetype train lenet5 --data fashion-mnist --epochs 10 ${train_args[*]}"
"$cli" train lenet5 --data fashion-mnist --epochs 10 --batch 64 --lr 0.05 --schedule cosine \
  --checkpoint runs/lenet5 --metrics runs/lenet5/metrics.csv --save runs/lenet5/lenet5.params \
  "${train_args[@]}"
