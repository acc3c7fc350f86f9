// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file | FileCheck %s

// A convolution fed by a zero tensor.pad of H and W: the pad becomes the
// op's padding and the unpadded input is quantized. Inputs use the conv
// block (1, 48, whole, whole), filters (48, 48, whole, whole).
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x3x8x8xf32>
// CHECK: %[[QX:.*]] = bm.quantize %[[X]] nearest : tensor<2x3x8x8xf32> -> !bm.tensor<2x3x8x8xe2m3, block = [1, 3, 8, 8]>
// CHECK: %[[QW:.*]] = bm.quantize %{{.*}} nearest : tensor<4x3x3x3xf32> -> !bm.tensor<4x3x3x3xe2m3, block = [4, 3, 3, 3]>
// CHECK: bm.conv2d %[[QX]], %[[QW]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
// CHECK-NOT: linalg.conv_2d
func.func @conv(%x: tensor<2x3x8x8xf32> {bm.role = #bm.role<activation>},
                %w: tensor<4x3x3x3xf32> {bm.role = #bm.role<weight>},
                %init: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<2x3x8x8xf32> to tensor<2x3x10x10xf32>
  %y = linalg.conv_2d_nchw_fchw {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>}
      ins(%p, %w : tensor<2x3x10x10xf32>, tensor<4x3x3x3xf32>) outs(%init : tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  return %y : tensor<2x4x4x4xf32>
}

// -----

// A pad that is not zeros, or not symmetric, stays a tensor.pad in front
// of a padding-free BM convolution.
// CHECK-LABEL: func.func @conv_other_pad
// CHECK: %[[P:.*]] = tensor.pad
// CHECK: bm.quantize %[[P]] nearest : tensor<1x1x7x6xf32>
// CHECK: bm.conv2d
// CHECK-NOT: padding
func.func @conv_other_pad(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf32> {bm.role = #bm.role<weight>},
                          %init: tensor<1x1x5x4xf32>) -> tensor<1x1x5x4xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 0] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x1x5x5xf32> to tensor<1x1x7x6xf32>
  %y = linalg.conv_2d_nchw_fchw ins(%p, %w : tensor<1x1x7x6xf32>, tensor<1x1x3x3xf32>) outs(%init : tensor<1x1x5x4xf32>) -> tensor<1x1x5x4xf32>
  return %y : tensor<1x1x5x4xf32>
}

// -----

// batch_matmul: batch entries are blocked one by one, then 48x48.
// CHECK-LABEL: func.func @batch
// CHECK: bm.quantize %{{.*}} nearest : tensor<4x64x96xf32> -> !bm.tensor<4x64x96xe2m3, block = [1, 48, 48]>
// CHECK: bm.matmul {{.*}} : !bm.tensor<4x64x96xe2m3, block = [1, 48, 48]>, !bm.tensor<4x96x8xe2m3, block = [1, 48, 8]>, tensor<4x64x8xf32> -> tensor<4x64x8xf32>
func.func @batch(%a: tensor<4x64x96xf32>, %b: tensor<4x96x8xf32>, %c: tensor<4x64x8xf32>) -> tensor<4x64x8xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<4x64x96xf32>, tensor<4x96x8xf32>) outs(%c : tensor<4x64x8xf32>) -> tensor<4x64x8xf32>
  return %r : tensor<4x64x8xf32>
}

// -----

// linalg.matmul with transposing indexing maps, and a linalg.generic that
// is a matmul-like contraction, both become bm.matmul with transpose flags.
// CHECK-LABEL: func.func @transposed_forms
// CHECK: bm.matmul {{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>], transpose_rhs}
// CHECK: bm.matmul {{.*}} {bm.index = 1 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>], transpose_lhs}
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.generic
func.func @transposed_forms(%a: tensor<16x32xf32>, %bt: tensor<8x32xf32>, %at: tensor<32x16xf32>,
                            %b: tensor<32x8xf32>, %c: tensor<16x8xf32>) -> (tensor<16x8xf32>, tensor<16x8xf32>) {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %bt : tensor<16x32xf32>, tensor<8x32xf32>) outs(%c : tensor<16x8xf32>) -> tensor<16x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%at, %b : tensor<32x16xf32>, tensor<32x8xf32>) outs(%c : tensor<16x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  return %r, %g : tensor<16x8xf32>, tensor<16x8xf32>
}

// -----

// What is not an f32 contraction of static shape stays as it is: f64,
// dynamic shapes, and generics that are not contractions.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: bm.
// CHECK: linalg.matmul ins(%{{.*}} : tensor<4x4xf64>, tensor<4x4xf64>)
// CHECK: linalg.matmul ins(%{{.*}} : tensor<?x4xf32>, tensor<4x4xf32>)
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @untouched(%a: tensor<4x4xf64>, %c: tensor<4x4xf64>, %d: tensor<?x4xf32>,
                     %e: tensor<4x4xf32>, %f: tensor<?x4xf32>) -> (tensor<4x4xf64>, tensor<?x4xf32>, tensor<4x4xf32>) {
  %r = linalg.matmul ins(%a, %a : tensor<4x4xf64>, tensor<4x4xf64>) outs(%c : tensor<4x4xf64>) -> tensor<4x4xf64>
  %s = linalg.matmul ins(%d, %e : tensor<?x4xf32>, tensor<4x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e, %e : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s2 = arith.maximumf %acc, %p : f32
    linalg.yield %s2 : f32
  } -> tensor<4x4xf32>
  return %r, %s, %m : tensor<4x4xf64>, tensor<?x4xf32>, tensor<4x4xf32>
}
