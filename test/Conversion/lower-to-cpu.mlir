// The whole CPU pipeline ends in the LLVM dialect only, and with
// emit-c-interface exports _mlir_ciface_ wrappers for callers in C/Python.
// RUN: bm-opt %s --bm-lower-to-cpu | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu=emit-c-interface=true | FileCheck %s --check-prefix=CIFACE
// RUN: bm-opt %s --bm-lower-to-cpu | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// CHECK-LABEL: llvm.func @bm6_matmul
// CHECK-NOT: bm.
// CHECK-NOT: linalg.
// CHECK-NOT: vector.transfer
// CHECK-NOT: memref.alloc
// CIFACE: llvm.func @_mlir_ciface_bm6_matmul
// LLVMIR: define {{.*}} @bm6_matmul
// The integer products of a run are vector multiplies.
// LLVMIR: mul <{{[0-9]+}} x i32>
func.func @bm6_matmul(%x: tensor<64x96xf32>, %w: tensor<96x32xf32>,
                      %init: tensor<64x32xf32>, %seed: i64) -> tensor<64x32xf32> {
  %qx = bm.quantize %x stochastic seed %seed
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %qw = bm.quantize %w nearest
      : tensor<96x32xf32> -> !bm.tensor<96x32xe2m3, block = [48, 48]>
  %y = bm.matmul %qx, %qw, %init
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x32xe2m3, block = [48, 32]>, tensor<64x32xf32>
      -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}
