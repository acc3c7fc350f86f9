#!/usr/bin/env bash
# Prepares the artifact folder of the GPU device check (docs/gpu.md): every
# bm program it runs, compiled here by bm-lower-to-nvvm to x86-64 host
# objects with their GPU code embedded, the expected outputs computed here
# by the compiled CPU code, the runtime library's source, and the scripts.
# The GPU machine then needs no MLIR:
#
#   scripts/prepare-device-check.sh [OUT]      # default: build/device-check
#   (copy OUT to the GPU machine)
#   OUT/run_on_device.sh                       # ends "device check: N passed, M failed"
#
#   BM_DEVICE_BINARY=ptx|cubin   only that kind of objects (default: both;
#                                each kind alone is about 20 MB smaller)
#
# Contents of OUT:
#   objects/ptx/    bm_kernels.o, bm_kernels_scalar.o, bm_kernels_direct.o,
#                   vectors_{quantize,quantize-fit,matmul,random}.o
#                   (format=isa: PTX 8.0 for sm_90, JIT-compiled by the driver)
#   objects/cubin/  the same with sm_90 cubins (format=bin, CUDA 13 ptxas;
#                   used with a 580+ driver), when ptxas is here
#   ptx/            the PTX of every kernel, for reading
#   expected/       <check>.npz: outputs of the compiled CPU code (and checked
#                   against the numpy reference python/bm/numerics.py)
#   vectors/        <kind>.expected of the golden-vector modules
#   runtime/        runtime/cuda sources, and prebuilt/libbm_cuda_runtime.so
#   run_on_device.sh, device_check.py, device_kernels.py, vectors_main.c,
#   gen_vector_tests.py, MANIFEST.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
out=${1:-$build/device-check}
tools=/usr/lib/llvm-22/bin
python=/usr/bin/python3
vectors=${BM_VECTORS_DIR:-$root/../shared/spec/vectors}
bmopt=$build/bin/bm-opt
gpu=$root/test/GPU
gen=$root/test/Integration/CPU/gen_vector_tests.py

step() { echo "== $*"; }

step "build"
"$root/scripts/build.sh" bm-opt
if grep -qiE '^BM_ENABLE_CUDA:BOOL=(ON|TRUE|YES|1)$' "$build/CMakeCache.txt"; then
  "$root/scripts/build.sh" bm_cuda_runtime
  have_runtime=1
else
  echo "(no CUDA toolkit here: the runtime is built on the GPU machine only)"
  have_runtime=0
fi
have_ptxas=0
[ -x /usr/local/cuda/bin/ptxas ] && have_ptxas=1

rm -rf "$out"
mkdir -p "$out"/{ptx,expected,vectors,runtime/prebuilt,tmp}
tmp=$out/tmp

# host code (LLVM dialect) -> x86-64 object, position independent
to_object() { # in.mlir out.o
  "$tools/mlir-translate" --mlir-to-llvmir "$1" -o "$1.ll"
  "$tools/llc" -O2 -filetype=obj -relocation-model=pic "$1.ll" -o "$2"
}

case "${BM_DEVICE_BINARY:-both}" in
  ptx) formats=(isa) ;;
  cubin)
    [ "$have_ptxas" = 1 ] || { echo "BM_DEVICE_BINARY=cubin needs ptxas"; exit 1; }
    formats=(bin) ;;
  both) formats=(isa); [ "$have_ptxas" = 1 ] && formats+=(bin) ;;
  *) echo "BM_DEVICE_BINARY must be ptx, cubin or both"; exit 1 ;;
esac
dir_of() { [ "$1" = isa ] && echo ptx || echo cubin; }
for f in "${formats[@]}"; do mkdir -p "$out/objects/$(dir_of "$f")"; done

step "kernels of the cross-checks and benchmarks (test/GPU/device_kernels.py)"
$python "$gpu/device_kernels.py" emit --variant gpu -o "$tmp/kernels.mlir"
$python "$gpu/device_kernels.py" emit --variant cpu -o "$tmp/kernels_cpu.mlir"
# The other kernels of some matmuls: the scalar kernel (mma=false) and the
# direct tensor-core kernel (mma-kernel=direct).
variants=(scalar:mma=false direct:mma-kernel=direct)
for v in "${variants[@]}"; do
  $python "$gpu/device_kernels.py" emit --variant "${v%%:*}" \
    -o "$tmp/kernels_${v%%:*}.mlir"
done
for f in "${formats[@]}"; do
  d=$out/objects/$(dir_of "$f")
  "$bmopt" "$tmp/kernels.mlir" \
    --bm-lower-to-nvvm="emit-c-interface=true format=$f" -o "$tmp/kernels.$f.mlir"
  to_object "$tmp/kernels.$f.mlir" "$d/bm_kernels.o"
  for v in "${variants[@]}"; do
    "$bmopt" "$tmp/kernels_${v%%:*}.mlir" \
      --bm-lower-to-nvvm="emit-c-interface=true format=$f ${v#*:}" \
      -o "$tmp/kernels_${v%%:*}.$f.mlir"
    to_object "$tmp/kernels_${v%%:*}.$f.mlir" "$d/bm_kernels_${v%%:*}.o"
  done
done
if [ -f "$tmp/kernels.isa.mlir" ]; then
  $python "$gpu/extract_gpu_binaries.py" "$tmp/kernels.isa.mlir" -o "$out/ptx"
  for v in "${variants[@]}"; do
    $python "$gpu/extract_gpu_binaries.py" "$tmp/kernels_${v%%:*}.isa.mlir" -o "$out/ptx"
  done
fi

step "expected outputs: the same functions compiled for the CPU"
"$bmopt" "$tmp/kernels_cpu.mlir" --bm-lower-to-cpu="emit-c-interface=true cpu=generic" \
  -o "$tmp/kernels_cpu.ll.mlir"
to_object "$tmp/kernels_cpu.ll.mlir" "$tmp/kernels_cpu.o"
c++ -shared "$tmp/kernels_cpu.o" -o "$tmp/libbm_kernels_cpu.so" \
  -L/usr/lib/llvm-22/lib -lmlir_c_runner_utils -Wl,-rpath,/usr/lib/llvm-22/lib
$python "$gpu/device_kernels.py" expected --lib "$tmp/libbm_kernels_cpu.so" \
  -o "$out/expected"
step "expected outputs vs the numpy reference (python/bm/numerics.py)"
$python "$gpu/device_kernels.py" verify --expected "$out/expected" \
  --python "$root/python"

step "golden vectors ($vectors)"
for kind in quantize quantize-fit matmul random; do
  if [ "$kind" = random ]; then
    $python "$gen" random -o "$tmp/v_$kind.mlir" -e "$out/vectors/$kind.expected"
  else
    $python "$gen" "$kind" "$vectors" -o "$tmp/v_$kind.mlir" \
      -e "$out/vectors/$kind.expected"
  fi
  sed -i 's/func\.func @main()/func.func @bm_vectors_main()/' "$tmp/v_$kind.mlir"
  for f in "${formats[@]}"; do
    "$bmopt" "$tmp/v_$kind.mlir" --bm-lower-to-nvvm="host-shared=true format=$f" \
      -o "$tmp/v_$kind.$f.mlir"
    to_object "$tmp/v_$kind.$f.mlir" "$out/objects/$(dir_of "$f")/vectors_$kind.o"
  done
done

step "runtime and scripts"
mkdir -p "$out/runtime/cuda"
cp "$root/runtime/cuda/CMakeLists.txt" "$root/runtime/cuda/CudaRuntime.cpp" \
  "$out/runtime/cuda/"
if [ "$have_runtime" = 1 ]; then
  cp "$build/lib/libbm_cuda_runtime.so" "$out/runtime/prebuilt/"
fi
cp "$gpu/run_on_device.sh" "$gpu/device_check.py" "$gpu/device_kernels.py" \
  "$gpu/vectors_main.c" "$gen" "$out/"
chmod +x "$out/run_on_device.sh"
{
  echo "bm device-check artifacts"
  echo "commit: $(git -C "$root" rev-parse HEAD 2> /dev/null || echo unknown)$(git -C "$root" diff --quiet 2> /dev/null || echo ' (+ local changes)')"
  echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
  echo "bm-lower-to-nvvm: chip=sm_90 features=+ptx80; binaries: ${formats[*]}"
  echo "ptxas: $([ "$have_ptxas" = 1 ] && /usr/local/cuda/bin/ptxas --version | tail -1 || echo none)"
  echo "vectors: $vectors"
} > "$out/MANIFEST.txt"
rm -rf "$tmp"
step "done: $out ($(du -sh "$out" | cut -f1)); on the GPU machine run $out/run_on_device.sh"
