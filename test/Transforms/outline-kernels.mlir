// RUN: bm-opt %s --bm-outline-kernels --split-input-file | FileCheck %s

// Ops of one form (op, types, attributes but bm.index) share a function;
// another rounding, format or shape is another form. The seed of a
// stochastic quantize is an operand, so quantizes that differ only in it
// share one.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[X:[^:]*]]: tensor<64x96xf32>, %[[Y:[^:]*]]: tensor<64x96xf32>, %[[S0:[^:]*]]: i64, %[[S1:[^:]*]]: i64
// CHECK: %[[QX:.*]] = call @__bm_kernel_quantize_0(%[[X]], %[[S0]]) : (tensor<64x96xf32>, i64) -> !bm.tensor<64x96xe2m3, block = [48, 48]>
// CHECK: %[[QY:.*]] = call @__bm_kernel_quantize_0(%[[Y]], %[[S1]])
// CHECK: call @__bm_kernel_quantize_1(%[[Y]])
// CHECK: call @__bm_kernel_quantize_2(%[[Y]])
// CHECK: call @__bm_kernel_matmul_0(%[[QX]], %[[QY]], %{{.*}})
// CHECK: call @__bm_kernel_matmul_0(%[[QY]], %[[QX]], %{{.*}})
// CHECK-NOT: bm.quantize
// CHECK-NOT: bm.matmul
// CHECK: return

// CHECK: func.func private @__bm_kernel_quantize_0(%[[A:.*]]: tensor<64x96xf32>, %[[S:.*]]: i64) -> !bm.tensor<64x96xe2m3, block = [48, 48]> attributes {llvm.linkage = #llvm.linkage<internal>} {
// CHECK-NEXT: %[[Q:.*]] = bm.quantize %[[A]] stochastic seed %[[S]] : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
// CHECK-NEXT: return %[[Q]]
// CHECK: func.func private @__bm_kernel_quantize_1(
// CHECK-NEXT: bm.quantize %{{.*}} nearest :
// CHECK: func.func private @__bm_kernel_quantize_2(
// CHECK-NEXT: bm.quantize %{{.*}} nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe3m2,
// CHECK: func.func private @__bm_kernel_matmul_0(
// CHECK-NEXT: bm.matmul %arg0, %arg1, %arg2 {transpose_rhs} :
// CHECK-NEXT: return
// CHECK-NOT: func.func private @__bm_kernel_matmul_1
func.func @step(%x: tensor<64x96xf32>, %y: tensor<64x96xf32>, %s0: i64,
                %s1: i64, %init: tensor<64x64xf32>)
    -> (tensor<64x64xf32>, tensor<64x64xf32>,
        !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<64x96xe3m2, block = [48, 48]>) {
  %qx = bm.quantize %x stochastic seed %s0 {bm.index = 0 : i64}
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %qy = bm.quantize %y stochastic seed %s1 {bm.index = 1 : i64}
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %ny = bm.quantize %y nearest
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %ey = bm.quantize %y nearest
      : tensor<64x96xf32> -> !bm.tensor<64x96xe3m2, block = [48, 48]>
  %a = bm.matmul %qx, %qy, %init {bm.index = 0 : i64, transpose_rhs}
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<64x96xe2m3, block = [48, 48]>, tensor<64x64xf32>
      -> tensor<64x64xf32>
  %b = bm.matmul %qy, %qx, %init {bm.index = 1 : i64, transpose_rhs}
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<64x96xe2m3, block = [48, 48]>, tensor<64x64xf32>
      -> tensor<64x64xf32>
  return %a, %b, %ny, %ey : tensor<64x64xf32>, tensor<64x64xf32>,
      !bm.tensor<64x96xe2m3, block = [48, 48]>,
      !bm.tensor<64x96xe3m2, block = [48, 48]>
}

// -----

// A name already taken gets a suffix; convolutions are outlined too.
// CHECK-LABEL: func.func @__bm_kernel_conv2d_0(
// CHECK-LABEL: func.func @conv(
// CHECK: %[[R:.*]] = call @[[K:__bm_kernel_conv2d_0_[0-9]+]](
// CHECK: return %[[R]]
// CHECK: func.func private @[[K]](
// CHECK-NEXT: bm.conv2d {{.*}}padding = array<i64: 1, 1>
func.func @__bm_kernel_conv2d_0() {
  return
}
func.func @conv(%x: !bm.tensor<2x4x8x8xe2m3, block = [1, 4, 8, 8]>,
                %w: !bm.tensor<4x4x3x3xe2m3, block = [4, 4, 3, 3]>,
                %init: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 1, 1>}
      : !bm.tensor<2x4x8x8xe2m3, block = [1, 4, 8, 8]>,
        !bm.tensor<4x4x3x3xe2m3, block = [4, 4, 3, 3]>, tensor<2x4x8x8xf32>
      -> tensor<2x4x8x8xf32>
  return %y : tensor<2x4x8x8xf32>
}
