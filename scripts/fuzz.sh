#!/usr/bin/env bash
# Builds the libFuzzer target fuzz/bm-fuzz with clang 22 (ASan + UBSan +
# coverage on all bm code, linked against the installed libMLIR.so) in
# ${BM_FUZZ_BUILD_DIR:-build-fuzz}, seeds a corpus from the .mlir files under
# test/ and examples/, and fuzzes. See docs/reliability.md.
#
#   scripts/fuzz.sh                    # build, then fuzz for 1200 s on 2 workers
#   BM_FUZZ_SECONDS=600 BM_FUZZ_JOBS=1 scripts/fuzz.sh
#   scripts/fuzz.sh build              # only build
#   scripts/fuzz.sh run CRASH_FILE     # re-run one input (prints diagnostics)
#
# Crashes are written to $BM_FUZZ_WORK/crashes (default build-fuzz/work).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_FUZZ_BUILD_DIR:-$root/build-fuzz}
work=${BM_FUZZ_WORK:-$build/work}
seconds=${BM_FUZZ_SECONDS:-1200}
jobs=${BM_FUZZ_JOBS:-2}

if ! command -v clang++-22 >/dev/null || [ ! -e /usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
  echo "fuzz.sh: installing clang-22 and its runtimes (libclang-rt-22-dev)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-22 libclang-rt-22-dev
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DBM_ENABLE_FUZZER=ON -DBM_ENABLE_TESTS=OFF
fi
ninja -C "$build" -j "${BM_JOBS:-2}" bm-fuzz
[ "${1:-}" = build ] && exit 0

# LeakSanitizer is off: MLIR keeps process-lifetime allocations (registries,
# uniqued storage) that are not leaks of an input. allow_user_poisoning=0:
# LLVM's BumpPtrAllocator poisons its free space when the code that inlines
# it is built with ASan (bm) and does not unpoison what the uninstrumented
# libMLIR.so allocates from the same slab -- a false use-after-poison.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allow_user_poisoning=0}
if [ "${1:-}" = run ]; then
  shift
  BM_FUZZ_VERBOSE=1 "$build/bin/bm-fuzz" "$@"
  exit
fi

mkdir -p "$work/corpus" "$work/crashes" "$work/seeds"
/usr/bin/python3 "$root/fuzz/make_corpus.py" "$root" "$work/seeds"
cd "$work"
# -fork: a crash is saved and the campaign goes on (-ignore_crashes), so
# one run finds more than the first crash.
"$build/bin/bm-fuzz" corpus seeds -dict="$root/fuzz/bm.dict" \
  -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -max_len=8192 \
  -artifact_prefix="$work/crashes/" -print_final_stats=1 2>&1 | tee "$work/fuzz.log"
echo "fuzz.sh: crashes: $(ls "$work/crashes" | grep -cE "^(crash|oom|timeout)-" || true) (in $work/crashes; slow-unit-* files are slow inputs, not failures)"
