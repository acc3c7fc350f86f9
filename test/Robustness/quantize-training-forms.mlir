// The new forms of bm-quantize-training on edge shapes: zero-size channels
// in an NHWC convolution, an empty batch under a broadcast operand (the
// broadcast is to zero entries, not dropped), a collapse read through
// onto a zero-size tensor. Each is rewritten, and the result lowers.
// RUN: bm-opt %s -split-input-file --bm-quantize-training=rounding=nearest | FileCheck %s
// RUN: bm-opt %s -split-input-file --bm-quantize-training=rounding=nearest --bm-lower-to-cpu -o /dev/null

// CHECK-LABEL: func.func @zero_channels_nhwc
// CHECK: bm.conv2d {{.*}} : !bm.tensor<1x0x4x4xe2m3, block = [1, 1, 4, 4]>, !bm.tensor<2x0x3x3xe2m3, block = [2, 1, 3, 3]>
func.func @zero_channels_nhwc(%x: tensor<1x4x4x0xf32>, %w: tensor<2x3x3x0xf32>, %i: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %y = linalg.conv_2d_nhwc_fhwc ins(%x, %w : tensor<1x4x4x0xf32>, tensor<2x3x3x0xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @empty_batch_broadcast
// CHECK: bm.pack {{.*}} -> !bm.tensor<0x4x8xe2m3, block = [1, 4, 8]>
// CHECK: bm.matmul {{.*}} : !bm.tensor<0x4x8xe2m3, block = [1, 4, 8]>, !bm.tensor<0x8x3xe2m3, block = [1, 8, 3]>, tensor<0x4x3xf32> -> tensor<0x4x3xf32>
func.func @empty_batch_broadcast(%w: tensor<4x8xf32>, %x: tensor<0x8x3xf32>, %c: tensor<0x4x3xf32>) -> tensor<0x4x3xf32> {
  %r = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%w, %x : tensor<4x8xf32>, tensor<0x8x3xf32>) outs(%c : tensor<0x4x3xf32>) -> tensor<0x4x3xf32>
  return %r : tensor<0x4x3xf32>
}

// -----

// CHECK-LABEL: func.func @collapse_to_zero_rows
// CHECK: bm.matmul {{.*}} : !bm.tensor<0x8xe2m3, block = [1, 8]>
func.func @collapse_to_zero_rows(%x: tensor<2x0x8xf32>, %w: tensor<8x3xf32>, %c: tensor<0x3xf32>) -> tensor<0x3xf32> {
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x0x8xf32> into tensor<0x8xf32>
  %r = linalg.matmul ins(%x2, %w : tensor<0x8xf32>, tensor<8x3xf32>) outs(%c : tensor<0x3xf32>) -> tensor<0x3xf32>
  return %r : tensor<0x3xf32>
}
