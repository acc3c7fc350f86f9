#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (lit + FileCheck tests and the GoogleTest unit tests, through one lit run).
# Ends with the line "N passed, N failed".
#
#   scripts/test.sh                 # everything
#   scripts/test.sh Dialect         # only tests under test/Dialect
#   BM_VECTORS_DIR=/path scripts/test.sh   # check another golden vector set
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}

"$root/scripts/bootstrap.sh" || exit 1
"$root/scripts/build.sh" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

if [ -n "${BM_VECTORS_DIR:-}" ]; then
  lit_env=(--param "bm_vectors_dir=$BM_VECTORS_DIR")
else
  lit_env=()
fi

paths=()
if [ $# -eq 0 ]; then
  paths=("$build/test" "$build/test/Unit")
else
  for p in "$@"; do paths+=("$build/test/$p"); done
fi

log=$(mktemp)
/usr/bin/python3 /usr/lib/llvm-22/bin/lit -sv "${lit_env[@]}" "${paths[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The closing line, from lit's summary (scripts/lit-summary.py: every result
# category, whatever lit's padding). A lit that failed without a failed test
# in its summary (a configuration error, say) still counts as one failure.
summary=$(/usr/bin/python3 "$root/scripts/lit-summary.py" "$log")
rm -f "$log"
passed=${summary%% passed,*}
failed=${summary##*passed, }; failed=${failed%% failed}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
