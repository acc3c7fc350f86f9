#!/usr/bin/env bash
# The main job: installs what is missing, builds bm-opt, and runs it on the
# checked-in BM matmul example, printing the IR and the contraction report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh" bm-opt
echo "== bm-opt examples/matmul.mlir --canonicalize --bm-report"
"$build/bin/bm-opt" "$root/examples/matmul.mlir" --canonicalize --bm-report
