#!/usr/bin/env bash
# bm GPU device check. Run it on a machine with an NVIDIA GPU (sm_90: H100 /
# H200), its driver, a CUDA toolkit (headers and libcuda), CMake, a C/C++
# compiler and Python 3 with numpy and PyTorch -- no MLIR -- from the
# artifact folder that scripts/prepare-device-check.sh made:
#
#   ARTIFACTS/run_on_device.sh [--no-bench] [--binary ptx|cubin]
#
# Steps (about 3-6 minutes in all; every step has a timeout):
#   1. environment report (nvidia-smi, nvcc, torch);
#   2. builds the runtime library (runtime/cuda, CMake; a direct compiler
#      call or the prebuilt copy if that fails);
#   3. links the compiled bm kernels (objects/<binary>/*.o, host code with
#      the GPU code embedded: PTX, JIT-compiled by the driver, or sm_90
#      cubins) into libbm_kernels.so;
#   4. golden vectors: the quantize (floor and fit scale rules), matmul and
#      random-cross-check modules of test/Integration/CPU, compiled for the
#      GPU, run, and their printed results compared bit for bit with
#      gen_vector_tests.py compare;
#   5. device_check.py: cross-checks of larger random cases against the
#      compiled CPU code's outputs (expected/*.npz), bit for bit, then the
#      benchmarks (BM6 matmul 8192^3, quantize 8192^2 vs cuBLAS / memcpy).
# Ends with "device check: N passed, M failed"; exit status 0 iff none failed.
# Logs and results go to ARTIFACTS/results/ (or $BM_DEVICE_RESULTS).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=1
binary=${BM_BINARY:-auto}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-bench) bench=0 ;;
    --binary) binary=$2; shift ;;
    --binary=*) binary=${1#--binary=} ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run_on_device.sh: unknown option $1"; exit 2 ;;
  esac
  shift
done

start=$(date +%s)
budget=${BM_DEVICE_BUDGET:-470}   # seconds for everything
results=${BM_DEVICE_RESULTS:-$here/results}
work=$results/work
mkdir -p "$work"
passed=0
failed=0
note() { echo "== $*"; }
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
left() { echo $((budget - ($(date +%s) - start))); }
finish() {
  echo "device check: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# -- 1. environment -----------------------------------------------------------
note "environment"
uname -m
if [ "$(uname -m)" != "x86_64" ]; then
  fail "the host objects were compiled for x86_64, this is $(uname -m)"
  finish
fi
if ! command -v nvidia-smi > /dev/null; then
  fail "no nvidia-smi: no NVIDIA driver"
  finish
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
  --format=csv,noheader || true
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
cuda_home=${CUDA_HOME:-${CUDA_PATH:-}}
if [ -z "$cuda_home" ]; then
  if command -v nvcc > /dev/null; then
    cuda_home=$(dirname "$(dirname "$(command -v nvcc)")")
  else
    cuda_home=/usr/local/cuda
  fi
fi
echo "CUDA toolkit: $cuda_home"
"$cuda_home/bin/nvcc" --version 2> /dev/null | tail -1 || echo "(no nvcc)"
python=${PYTHON:-python3}
$python -c "import torch, numpy; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'numpy', numpy.__version__)" \
  || { fail "python3 with torch and numpy is needed"; finish; }
sed 's/^/  /' "$here/MANIFEST.txt" 2> /dev/null

# -- 2. runtime library -------------------------------------------------------
note "runtime library (runtime/cuda)"
rt=$work/rt
rtlib=""
if command -v cmake > /dev/null &&
   timeout 120 cmake -S "$here/runtime/cuda" -B "$rt/build" \
     -DCMAKE_BUILD_TYPE=Release -DCUDAToolkit_ROOT="$cuda_home" \
     > "$work/runtime-cmake.log" 2>&1 &&
   timeout 120 cmake --build "$rt/build" > "$work/runtime-build.log" 2>&1; then
  rtlib=$rt/build/lib/libbm_cuda_runtime.so
elif timeout 120 "${CXX:-c++}" -std=c++17 -O2 -shared -fPIC -fvisibility=hidden \
     -I"$cuda_home/include" "$here/runtime/cuda/CudaRuntime.cpp" \
     -o "$rt/libbm_cuda_runtime.so" \
     -L"$cuda_home/lib64" -L"$cuda_home/lib64/stubs" -lcuda \
     > "$work/runtime-cxx.log" 2>&1; then
  rtlib=$rt/libbm_cuda_runtime.so
  echo "(built with a direct compiler call; see $work/runtime-cmake.log)"
else
  rtlib=$here/runtime/prebuilt/libbm_cuda_runtime.so
  echo "(could not build it here, using the prebuilt copy; see $work/runtime-*.log)"
fi
if [ -f "$rtlib" ]; then
  pass "runtime library: $rtlib"
else
  fail "runtime library: none"
  finish
fi
rtdir=$(dirname "$rtlib")

# -- 3. kernels ---------------------------------------------------------------
if [ "$binary" = auto ]; then
  # Cubins from the CUDA 13 ptxas need a CUDA 13 driver (580+); PTX 8.0 is
  # JIT-compiled by any driver since CUDA 12.0.
  major=${driver%%.*}
  if [ -d "$here/objects/cubin" ] && { [ ! -d "$here/objects/ptx" ] ||
      [ "${major:-0}" -ge 580 ] 2> /dev/null; }; then
    binary=cubin
  else
    binary=ptx
  fi
fi
objects=$here/objects/$binary
note "kernels: $binary ($objects)"
cc=${CC:-cc}
cxx=${CXX:-c++}
if $cxx -shared -o "$work/libbm_kernels.so" "$objects"/bm_kernels*.o \
     -Wl,--no-as-needed -L"$rtdir" -lbm_cuda_runtime -Wl,-rpath,"$rtdir" > "$work/link.log" 2>&1; then
  pass "link libbm_kernels.so"
else
  cat "$work/link.log"
  fail "link libbm_kernels.so"
  finish
fi

# -- 4. golden vectors --------------------------------------------------------
for kind in quantize quantize-fit matmul random; do
  note "golden vectors: $kind"
  obj=$objects/vectors_$kind.o
  exe=$work/vectors_$kind
  if ! $cc -O1 -o "$exe" "$obj" "$here/vectors_main.c" -L"$rtdir" \
       -lbm_cuda_runtime -Wl,-rpath,"$rtdir" > "$work/vectors_$kind.link.log" 2>&1; then
    cat "$work/vectors_$kind.link.log"
    fail "vectors $kind: link"
    continue
  fi
  t=$(left)
  [ "$t" -gt 240 ] && t=240
  if [ "$t" -lt 20 ]; then fail "vectors $kind: out of time"; continue; fi
  timeout "$t" "$exe" > "$work/vectors_$kind.out" 2> "$work/vectors_$kind.err"
  status=$?
  [ -s "$work/vectors_$kind.err" ] && head -20 "$work/vectors_$kind.err"
  if $python "$here/gen_vector_tests.py" compare -q "$here/vectors/$kind.expected" \
       "$work/vectors_$kind.out" > "$work/vectors_$kind.compare" 2>&1 &&
     [ "$status" -eq 0 ]; then
    pass "vectors $kind: $(tail -1 "$work/vectors_$kind.compare")"
  else
    tail -25 "$work/vectors_$kind.compare"
    fail "vectors $kind (exit status $status)"
  fi
done

# -- 5. cross-checks and benchmarks -------------------------------------------
note "cross-checks$([ $bench = 1 ] && echo ' and benchmarks')"
t=$(left)
if [ "$t" -lt 60 ]; then
  fail "device_check.py: out of time"
  finish
fi
args=(--lib "$work/libbm_kernels.so" --runtime "$rtlib" --expected "$here/expected"
      --deadline $((t - 15)) --json "$results/device_check.json")
[ "$bench" = 1 ] && args+=(--bench)
timeout "$t" "$python" "$here/device_check.py" "${args[@]}" 2>&1 | tee "$work/device_check.log"
line=$(grep -E '^device check: [0-9]+ passed, [0-9]+ failed' "$work/device_check.log" | tail -1)
if [ -n "$line" ]; then
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
  passed=$((passed + p))
  failed=$((failed + f))
else
  fail "device_check.py did not finish"
fi
echo "total time: $(( $(date +%s) - start )) s; logs in $results"
finish
