// The ordering rules of the pipelines (BMDialect.td, "Discardable
// attributes"; docs/lowering.md, "Contracts between passes").
//
// On the CPU, none for bm.quantize: convert-bm-to-linalg emits the
// vectorized quantize kernel straight from the op, in the vector width of
// the CPU target; no bm-vectorize-quantize, no bm.quant_codes generics.
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx2 --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CPU
// RUN: bm-opt %s --bm-lower-to-cpu="cpu=avx512-vnni parallel=true" --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CPU512
//
// bm-conv-to-matmul runs before bm-vectorize-linalg, which then tiles and
// vectorizes the im2col copy and the transposes it makes; both after
// bm-outline-kernels, so once per convolution form.
// CPU:        bm-outline-kernels
// CPU:        bm-conv-to-matmul
// CPU:        bm-vectorize-linalg
// CPU-NOT:    bm-vectorize-quantize
// CPU:        convert-bm-to-linalg{cpu=avx2 min-parallel-macs=16777216 vector-kernels=true vector-quantize-bits=256
// CPU-NOT:    bm-vectorize-quantize
// CPU512:     convert-bm-to-linalg{cpu=avx512-vnni min-parallel-macs=16777216 vector-kernels=true vector-quantize-bits=512
// RUN: bm-opt %s --pass-pipeline='builtin.module(convert-bm-to-linalg{cpu=avx2 vector-quantize-bits=256})' \
// RUN:   | FileCheck %s --check-prefix=KERNEL
// KERNEL-NOT:  bm.quant_codes
// KERNEL:      vector.transfer_read {{.*}} vector<8xf32>
// KERNEL-NOT:  bm.quant_codes
//
// ... and so the pipeline's quantize is vectorized, stochastic rounding
// included.
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx2 2>&1 | FileCheck %s --check-prefix=LOWERED
// LOWERED-NOT: left scalar
// LOWERED:     llvm.func @quantize
// LOWERED:     llvm.load {{.*}} -> vector<8xf32>
// LOWERED-NOT: left scalar
//
// On the GPU, from convert-bm-to-gpu, which marks the tensor-core generics
// bm.gpu_mma, to bufferization only the bm lowerings and cse run on
// tensors, so that bm-map-to-gpu finds every operand of the kernel
// (test/Conversion/BMToGPU/map-to-gpu-invalid.mlir: the error it reports
// for a generic that lost some).
// RUN: bm-opt %s --bm-lower-to-gpu --dump-pass-pipeline -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=GPU
// GPU:      convert-bm-to-gpu{
// GPU-NEXT: convert-bm-to-linalg{
// GPU-NEXT: convert-bm-to-arith,
// GPU-NEXT: cse,
// GPU-NEXT: eliminate-empty-tensors,
// GPU-NEXT: one-shot-bufferize{
// GPU:      bm-map-to-gpu{

func.func @quantize(%x: tensor<8x32xf32>, %seed: i64) -> !bm.tensor<8x32xe2m3, block = [8, 32]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<8x32xf32> -> !bm.tensor<8x32xe2m3, block = [8, 32]>
  return %q : !bm.tensor<8x32xe2m3, block = [8, 32]>
}
