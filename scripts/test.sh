#!/usr/bin/env bash
# Sets Archetype up if needed (scripts/setup.sh --no-run) and runs the whole test suite
# with ctest: everything that needs no GPU, and the gpu-labelled tests too when
# `nvidia-smi -L` finds a GPU. CI=true selects the `ci` preset (warnings as errors).
#
# Usage: scripts/test.sh [--preset NAME] [-j N] [extra ctest arguments...]
#   Environment: CI, ARCHETYPE_PRESET, ARCHETYPE_JOBS, ARCHETYPE_SKIP_APT (see setup.sh).
# Exit status: ctest's.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if [[ "${CI:-}" == "true" ]]; then
  preset="${ARCHETYPE_PRESET:-ci}"
else
  preset="${ARCHETYPE_PRESET:-release}"
fi
jobs="${ARCHETYPE_JOBS:-2}"
ctest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) [[ $# -ge 2 ]] || { echo "test.sh: --preset needs a name" >&2; exit 2; }
              preset="$2"; shift ;;
    --preset=*) preset="${1#--preset=}" ;;
    -j) [[ $# -ge 2 ]] || { echo "test.sh: -j needs a number" >&2; exit 2; }
        jobs="$2"; shift ;;
    -j*) jobs="${1#-j}" ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

"$repo_root/scripts/setup.sh" --no-run --preset "$preset" -j "$jobs"

if nvidia-smi -L >/dev/null 2>&1; then
  echo "test.sh: GPU found (nvidia-smi -L): running every test, gpu label included"
else
  echo "test.sh: no GPU (nvidia-smi -L failed): excluding tests labelled gpu"
  ctest_args=(-LE gpu "${ctest_args[@]}")
fi

exec ctest --test-dir "build/$preset" --output-on-failure --no-tests=error -j "$jobs" \
  "${ctest_args[@]}"
