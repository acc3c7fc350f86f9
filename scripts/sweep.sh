#!/usr/bin/env bash
# The numerics sweeps of docs/reliability.md, on the build in
# ${BM_BUILD_DIR:-build} (built first if needed).
#
#   scripts/sweep.sh exhaustive   # all 2^32 float32 patterns x e2m3, e3m2,
#                                 # e2m5, e4m3 x (single-element blocks, a
#                                 # block with max 1.0) vs the independent
#                                 # formulation; ~20-25 min on 2 cores
#   scripts/sweep.sh compiled     # 2^25 patterns per format and block size
#                                 # ([1] and [16]) through the lowered
#                                 # quantize/dequantize vs the C++ reference
#   scripts/sweep.sh              # both
#
# Extra arguments after the mode go to the tool, e.g.
#   scripts/sweep.sh exhaustive --contexts self,1.0,1e-45,3e38 --threads 2
#   scripts/sweep.sh compiled --scale fit --formats e2m1,e3m0,e0m3,e1m4
# Exits non-zero on any mismatch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
mode=${1:-all}
[ $# -gt 0 ] && shift
"$root/scripts/build.sh" bm-sweep bm-opt >/dev/null

if [ "$mode" = all ] && [ $# -gt 0 ]; then
  echo "sweep.sh: extra arguments need a mode (exhaustive or compiled)" >&2; exit 2
fi
status=0
if [ "$mode" = exhaustive ] || [ "$mode" = all ]; then
  time "$build/bin/bm-sweep" exhaustive --threads "${BM_JOBS:-2}" "$@" || status=1
fi
if [ "$mode" = compiled ] || [ "$mode" = all ]; then
  time env BM_OPT="$build/bin/bm-opt" /usr/bin/python3 \
    "$root/tools/bm-sweep/compiled_sweep.py" --bm-sweep "$build/bin/bm-sweep" \
    --count $((1 << 25)) --blocks 1,16 "$@" || status=1
fi
exit $status
