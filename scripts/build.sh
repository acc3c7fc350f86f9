#!/usr/bin/env bash
# Configures (once) and builds bm into ${BM_BUILD_DIR:-build}.
#   BM_BUILD_TYPE   CMake build type (default Release)
#   BM_CMAKE_ARGS   extra CMake arguments, e.g. -DBM_ENABLE_SANITIZERS=ON
#   BM_JOBS         parallel jobs (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE="${BM_BUILD_TYPE:-Release}" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    ${BM_CMAKE_ARGS:-}
fi
ninja -C "$build" -j "${BM_JOBS:-2}" "$@"
