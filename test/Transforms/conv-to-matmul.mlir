// RUN: bm-opt %s --bm-conv-to-matmul -split-input-file | FileCheck %s

// Input blocks span H and W, filter blocks KH and KW, and every window
// overlaps the image: the convolution becomes an im2col bm.matmul on the
// same blocks (K blocks of 16 channels x 3 x 3 taps), with its attributes.
// CHECK-LABEL: func.func @im2col
// CHECK-SAME:    (%[[X:.*]]: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>, %[[W:.*]]: !bm.tensor<4x16x3x3xe3m2, block = [4, 16, 3, 3]>, %[[INIT:.*]]: tensor<2x4x8x8xf32>)
// CHECK-DAG:   %[[XC:.*]], %[[XB:.*]] = bm.unpack %[[X]]
// CHECK-DAG:   %[[WC:.*]], %[[WB:.*]] = bm.unpack %[[W]]
// CHECK:       %[[PAD:.*]] = tensor.pad %[[XC]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:       %[[COLS:.*]] = linalg.generic {{.*}} ins(%[[PAD]] : tensor<2x16x10x10xi8>) outs(%{{.*}} : tensor<2x8x8x16x3x3xi8>)
// CHECK:       %[[LC:.*]] = tensor.collapse_shape %[[COLS]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<2x8x8x16x3x3xi8> into tensor<128x144xi8>
// CHECK:       %[[LB:.*]] = tensor.collapse_shape %[[XB]] {{\[\[}}0], [1, 2, 3]] : tensor<2x1x1x1xi8> into tensor<2x1xi8>
// CHECK:       %[[RC:.*]] = tensor.collapse_shape %[[WC]] {{\[\[}}0], [1, 2, 3]] : tensor<4x16x3x3xi8> into tensor<4x144xi8>
// CHECK:       %[[RB:.*]] = tensor.collapse_shape %[[WB]] {{\[\[}}0], [1, 2, 3]] : tensor<1x1x1x1xi8> into tensor<1x1xi8>
// CHECK:       %[[L:.*]] = bm.pack %[[LC]], %[[LB]] : tensor<128x144xi8>, tensor<2x1xi8> -> !bm.tensor<128x144xe2m3, block = [64, 144]>
// CHECK:       %[[R:.*]] = bm.pack %[[RC]], %[[RB]] : tensor<4x144xi8>, tensor<1x1xi8> -> !bm.tensor<4x144xe3m2, block = [4, 144]>
// CHECK:       %[[T:.*]] = linalg.transpose ins(%[[INIT]] : tensor<2x4x8x8xf32>) {{.*}} permutation = [0, 2, 3, 1]
// CHECK:       %[[I2:.*]] = tensor.collapse_shape %[[T]] {{.*}} into tensor<128x4xf32>
// CHECK:       %[[M:.*]] = bm.matmul %[[L]], %[[R]], %[[I2]] {bm.index = 3 : i64, transpose_rhs}
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[M]] {{.*}} into tensor<2x8x8x4xf32>
// CHECK:       %[[Y:.*]] = linalg.transpose ins(%[[E]] : tensor<2x8x8x4xf32>) {{.*}} permutation = [0, 3, 1, 2]
// CHECK:       return %[[Y]]
func.func @im2col(%x: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
                  %w: !bm.tensor<4x16x3x3xe3m2, block = [4, 16, 3, 3]>,
                  %init: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 1, 1>, bm.index = 3 : i64}
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
        !bm.tensor<4x16x3x3xe3m2, block = [4, 16, 3, 3]>, tensor<2x4x8x8xf32>
      -> tensor<2x4x8x8xf32>
  return %y : tensor<2x4x8x8xf32>
}

// -----

// Left as they are: a window in the padding only (padding 3 of a 3x3
// kernel: output row 0 reads rows -3..-1), input blocks that cut H, and
// filter blocks that cut KW.
// CHECK-LABEL: func.func @kept
// CHECK-NOT:   bm.matmul
// CHECK-COUNT-3: bm.conv2d
// CHECK-NOT:   bm.matmul
func.func @kept(%x: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
                %w: !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>,
                %init: tensor<2x4x12x12xf32>,
                %xc: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 4, 8]>,
                %init2: tensor<2x4x6x6xf32>,
                %wc: !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 1]>)
    -> (tensor<2x4x12x12xf32>, tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 3, 3>}
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x12x12xf32>
      -> tensor<2x4x12x12xf32>
  %z = bm.conv2d %xc, %w, %init2
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 4, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x6x6xf32>
      -> tensor<2x4x6x6xf32>
  %u = bm.conv2d %x, %wc, %init2
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 1]>, tensor<2x4x6x6xf32>
      -> tensor<2x4x6x6xf32>
  return %y, %z, %u : tensor<2x4x12x12xf32>, tensor<2x4x6x6xf32>,
      tensor<2x4x6x6xf32>
}

// -----

// Taps that read padding for every output are left out of K: a 3x3 kernel
// with padding 1 on a 1x1 image keeps its centre tap (no padding needed at
// all); stride 2 on a 2x2 image keeps taps 1..2 of each dimension, which
// read rows 0..1 (again no padding). K blocks are the channel blocks times
// the taps kept.
// CHECK-LABEL: func.func @live_taps
// CHECK:       %[[WC:.*]], %{{.*}} = bm.unpack %arg1
// CHECK:       %[[S:.*]] = tensor.extract_slice %[[WC]][0, 0, 1, 1] [4, 16, 1, 1] [1, 1, 1, 1] : tensor<4x16x3x3xi8> to tensor<4x16x1x1xi8>
// CHECK-NOT:   tensor.pad
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<2x1x1x16x1x1xi8>)
// CHECK:       tensor.collapse_shape %[[S]] {{\[\[}}0], [1, 2, 3]] : tensor<4x16x1x1xi8> into tensor<4x16xi8>
// CHECK:       bm.pack {{.*}} -> !bm.tensor<4x16xe2m3, block = [4, 16]>
// CHECK:       bm.matmul {{.*}} : !bm.tensor<2x16xe2m3, block = [1, 16]>, !bm.tensor<4x16xe2m3, block = [4, 16]>
// CHECK:       tensor.extract_slice %{{.*}}[0, 0, 1, 1] [4, 16, 2, 2] [1, 1, 1, 1] : tensor<4x16x3x3xi8> to tensor<4x16x2x2xi8>
// CHECK-NOT:   tensor.pad
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<2x1x1x16x2x2xi8>)
// CHECK:       bm.matmul {{.*}} : !bm.tensor<2x64xe2m3, block = [1, 64]>, !bm.tensor<4x64xe2m3, block = [4, 64]>
// The same kernel on a 3x3 image keeps every tap, padded on both sides.
// CHECK:       tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:       bm.matmul {{.*}} : !bm.tensor<18x144xe2m3, block = [9, 144]>, !bm.tensor<4x144xe2m3, block = [4, 144]>
func.func @live_taps(%x: !bm.tensor<2x16x1x1xe2m3, block = [1, 16, 1, 1]>,
                     %w: !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>,
                     %init: tensor<2x4x1x1xf32>,
                     %x2: !bm.tensor<2x16x2x2xe2m3, block = [1, 16, 2, 2]>,
                     %x3: !bm.tensor<2x16x3x3xe2m3, block = [1, 16, 3, 3]>,
                     %init3: tensor<2x4x3x3xf32>)
    -> (tensor<2x4x1x1xf32>, tensor<2x4x1x1xf32>, tensor<2x4x3x3xf32>) {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 1, 1>}
      : !bm.tensor<2x16x1x1xe2m3, block = [1, 16, 1, 1]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x1x1xf32>
      -> tensor<2x4x1x1xf32>
  %z = bm.conv2d %x2, %w, %init
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
      : !bm.tensor<2x16x2x2xe2m3, block = [1, 16, 2, 2]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x1x1xf32>
      -> tensor<2x4x1x1xf32>
  %u = bm.conv2d %x3, %w, %init3 {padding = array<i64: 1, 1>}
      : !bm.tensor<2x16x3x3xe2m3, block = [1, 16, 3, 3]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x3x3xf32>
      -> tensor<2x4x3x3xf32>
  return %y, %z, %u : tensor<2x4x1x1xf32>, tensor<2x4x1x1xf32>,
      tensor<2x4x3x3xf32>
}
