// REQUIRES: llc-x86
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=generic | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 \
// RUN: | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu="parallel=true min-parallel-macs=0" | FileCheck %s --check-prefix=PARALLEL
// RUN: bm-opt %s --bm-lower-to-cpu=parallel=true | FileCheck %s --check-prefix=SMALL
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx2 | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 \
// RUN: | FileCheck %s --check-prefix=U8
// RUN: bm-opt %s --bm-lower-to-cpu=cpu=avx2 | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 | not grep "call.*pmadd"
// x86-avx2=true, the former spelling of cpu=avx2, gives the same kernel.
// RUN: bm-opt %s --bm-lower-to-cpu=x86-avx2=true | mlir-translate --mlir-to-llvmir \
// RUN: | llc -O3 -mtriple=x86_64-pc-linux-gnu -mcpu=znver3 \
// RUN: | FileCheck %s --check-prefix=U8

// The instructions LLVM selects for the bm.matmul CPU kernel on an AVX2
// x86 CPU (the generic target's portable IR, compiled for Zen 3): the exact
// run sums of two k per step are vpmaddwd (16 i16
// products, pairwise added into 8 i32 lanes) into vpaddd accumulators; the
// per-run conversion is vcvtdq2ps and a fused multiply-add of the run sum,
// the power of two 2^(sA + sB) and the float32 tile (exact: the product is 0
// or normal in the fast range, so the one rounding is vcvtdq2ps's). No
// float32 arithmetic touches the products before that.

// CHECK-LABEL: bm6:
// CHECK:       vpbroadcastd
// CHECK:       vpmaddwd
// CHECK:       vpaddd
// CHECK:       vcvtdq2ps
// CHECK:       vfmadd213ps

// With cpu=avx2, BM6 takes the u8 x s8 step: per row and column
// chunk, two vpmaddubsw (32 u8 x s8 products into 16 i16 pair sums), a
// vpaddw, a vpmaddwd by ones and a vpaddd; the declarations named after
// the intrinsics become the instructions (no call).
// U8-LABEL: bm6:
// U8:       vpmaddubsw
// U8:       vpaddw
// U8:       vpmaddwd
// U8:       vpaddd
// U8:       vcvtdq2ps
// U8:       vfmadd213ps

// With parallel=true the tiles run as async tasks of the MLIR async runtime
// (min-parallel-macs=0: every kernel); a kernel this small (96^3
// multiply-adds, below the default min-parallel-macs) runs in order.
// PARALLEL: llvm.call @mlirAsyncRuntimeCreateGroup
// PARALLEL: llvm.call @mlirAsyncRuntimeAwaitAllInGroup
// SMALL-NOT: llvm.call @mlirAsyncRuntimeCreateGroup
func.func @bm6(%a: !bm.tensor<96x96xe2m3, block = [48, 48]>,
               %b: !bm.tensor<96x96xe2m3, block = [48, 48]>,
               %init: tensor<96x96xf32>) -> tensor<96x96xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<96x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x96xe2m3, block = [48, 48]>, tensor<96x96xf32>
      -> tensor<96x96xf32>
  return %y : tensor<96x96xf32>
}
