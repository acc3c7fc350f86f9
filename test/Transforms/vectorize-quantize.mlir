// RUN: bm-opt %s --convert-bm-to-linalg --convert-bm-to-arith --bm-vectorize-quantize -split-input-file | FileCheck %s

// Nearest, 2-D, partial edge blocks (100 = 2 * 48 + 4 rows, 50 = 2 * 20 + 10
// columns): one loop over bands of block rows; in each, 8-lane block
// maxima (two vector steps and a horizontal maximum per full block row, one
// step and two scalar elements for the partial one), the band's biases, then
// its codes, 8 lanes at a time, into its slice of the codes (48 rows, 4 in
// the last band); no generic is left. 5000 elements are too few for tasks:
// the band loop is an scf.for (see @large for the scf.forall).
// CHECK-LABEL: func.func @nearest
// CHECK-SAME: (%[[X:.*]]: tensor<100x50xf32>) -> (tensor<100x50xi8>, tensor<3x3xi8>)
// CHECK: %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [100, 1, 50]
// CHECK: scf.for %[[G0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[SB:.*]] = %{{.*}}, %[[SC:.*]] = %{{.*}}) -> (tensor<3x1x3xi8>, tensor<100x1x50xi8>)
// CHECK: %[[BAND:.*]] = tensor.extract_slice %[[SC]][%{{.*}}, 0, 0] [%{{.*}}, 1, 50] [1, 1, 1] : tensor<100x1x50xi8> to tensor<?x1x50xi8>
// CHECK: scf.for
// CHECK: vector.transfer_read %[[X3]]{{.*}} : tensor<100x1x50xf32>, vector<8xf32>
// CHECK: arith.maxui {{.*}} : vector<8xi32>
// CHECK: vector.transfer_read %[[X3]]{{.*}} : tensor<100x1x50xf32>, vector<8xf32>
// CHECK: arith.maxui {{.*}} : vector<8xi32>
// CHECK: vector.reduction <maxui>
// CHECK: math.ctlz
// Nearest: finite blocks of a usual scale round with float32 arithmetic
// (|x| * 2^-(s+c), then add and subtract a magic power of two), the others
// with the integer math.
// CHECK: scf.if
// CHECK: arith.mulf {{.*}} : vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: arith.subf {{.*}} : vector<8xf32>
// CHECK: arith.fptosi {{.*}} : vector<8xf32> to vector<8xi32>
// CHECK: } else {
// CHECK: arith.sitofp {{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: arith.select {{.*}} : vector<8xi1>, vector<8xi32>
// CHECK: arith.trunci {{.*}} : vector<8xi32> to vector<8xi8>
// CHECK: vector.transfer_write {{.*}} : vector<8xi8>, tensor<?x1x50xi8>
// CHECK: tensor.insert_slice %{{.*}} into %[[SB]][%[[G0]], 0, 0] [1, 1, 3]
// CHECK: tensor.insert_slice %{{.*}} into %[[SC]][%{{.*}}, 0, 0] [%{{.*}}, 1, 50]
// CHECK-NOT: linalg.generic
// CHECK: tensor.collapse_shape {{.*}} {{\[}}[0], [1, 2]] : tensor<3x1x3xi8> into tensor<3x3xi8>
// CHECK-NOT: linalg.generic
func.func @nearest(%x: tensor<100x50xf32>) -> !bm.tensor<100x50xe2m3, block = [48, 20]> {
  %q = bm.quantize %x nearest : tensor<100x50xf32> -> !bm.tensor<100x50xe2m3, block = [48, 20]>
  return %q : !bm.tensor<100x50xe2m3, block = [48, 20]>
}

// -----

// Stochastic: each row's random words come from one Philox4x32-10 block per
// 4 elements, 8 blocks (ten rounds of two 8-lane 32x32->64 multiplies) per
// 32 words, interleaved into element order and stored in a row buffer (one
// per band). Bands of 2 rows divide 4: static band slices. Each word is
// carried in the low half of an i64 lane (the key words too), so that a
// product is one multiply of the masked low halves.
// CHECK-LABEL: func.func @stochastic
// CHECK-SAME: (%[[X:.*]]: tensor<4x6x40xf32>, %[[S:.*]]: i64)
// CHECK: vector.broadcast %[[S]] : i64 to vector<8xi64>
// CHECK: %[[HIGH:.*]] = arith.shrui %[[S]], %{{.*}} : i64
// CHECK: vector.broadcast %[[HIGH]] : i64 to vector<8xi64>
// CHECK: scf.for
// CHECK: tensor.extract_slice {{.*}} : tensor<4x6x40xi16> to tensor<2x6x40xi16>
// CHECK: tensor.empty() : tensor<64xi32>
// CHECK-COUNT-20: arith.muli {{.*}} : vector<8xi64>
// CHECK-NOT: arith.muli {{.*}} : vector<8xi64>
// CHECK-NOT: arith.mului_extended
// CHECK-COUNT-4: arith.trunci {{.*}} : vector<8xi64> to vector<8xi32>
// CHECK: vector.shuffle
// CHECK: vector.transfer_write {{.*}} : vector<8xi32>, tensor<64xi32>
// CHECK: vector.transfer_read {{.*}} : tensor<64xi32>, vector<8xi32>
// CHECK: vector.transfer_write {{.*}} : vector<8xi16>, tensor<2x6x40xi16>
// CHECK-NOT: linalg.generic
func.func @stochastic(%x: tensor<4x6x40xf32>, %seed: i64) -> !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<4x6x40xf32> -> !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]>
  return %q : !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]>
}

// -----

// Rank 4 is viewed as [D0, D1 * D2, D3]; rank 1 as [1, 1, N].
// CHECK-LABEL: func.func @rank4
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<2x3x4x16xf32> into tensor<2x12x16xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3]] output_shape [2, 3, 4, 16] : tensor<2x12x16xi8> into tensor<2x3x4x16xi8>
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @rank1
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1, 2]] output_shape [1, 1, 1000] : tensor<1000xf32> into tensor<1x1x1000xf32>
// CHECK-NOT: linalg.generic
func.func @rank4(%x: tensor<2x3x4x16xf32>) -> !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 3, 8]> {
  %q = bm.quantize %x zero : tensor<2x3x4x16xf32> -> !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 3, 8]>
  return %q : !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 3, 8]>
}
func.func @rank1(%x: tensor<1000xf32>) -> !bm.tensor<1000xe2m3, block = [64]> {
  %q = bm.quantize %x nearest : tensor<1000xf32> -> !bm.tensor<1000xe2m3, block = [64]>
  return %q : !bm.tensor<1000xe2m3, block = [64]>
}

// -----

// Trailing dimensions that one block spans whole are merged into the last
// (the conv activation layout [N, C, H, W] in [1, C, H, W] blocks): rows of
// 8 * 14 * 14 = 1568 elements, one block each, instead of rows of 14. The
// biases are reshaped the same way ([16, 1, 1, 1] -> [16, 1] -> [16, 1, 1]).
// CHECK-LABEL: func.func @merged
// CHECK: %[[M:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<16x8x14x14xf32> into tensor<16x1568xf32>
// CHECK: tensor.expand_shape %[[M]] {{\[}}[0], [1, 2]] output_shape [16, 1, 1568] : tensor<16x1568xf32> into tensor<16x1x1568xf32>
// CHECK-NOT: linalg.generic
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<16x1x1568xi8> into tensor<16x1568xi8>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2, 3]] output_shape [16, 8, 14, 14] : tensor<16x1568xi8> into tensor<16x8x14x14xi8>
// Partly merged: [2, 3, 4, 40] in [1, 2, 4, 40] blocks is [2, 480] in
// [1, 320] blocks (the last one partial).
// CHECK-LABEL: func.func @merged_partial
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<2x3x4x40xf32> into tensor<2x480xf32>
// CHECK-NOT: linalg.generic
// A dimension that several blocks divide stops the merge: [2, 3, 4, 16]
// in [1, 2, 2, 16] blocks is [2, 3, 64] in [1, 2, 32] blocks.
// CHECK-LABEL: func.func @not_merged
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<2x3x4x16xf32> into tensor<2x3x64xf32>
func.func @merged(%x: tensor<16x8x14x14xf32>, %seed: i64) -> !bm.tensor<16x8x14x14xe2m3, block = [1, 8, 14, 14]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<16x8x14x14xf32> -> !bm.tensor<16x8x14x14xe2m3, block = [1, 8, 14, 14]>
  return %q : !bm.tensor<16x8x14x14xe2m3, block = [1, 8, 14, 14]>
}
func.func @merged_partial(%x: tensor<2x3x4x40xf32>) -> !bm.tensor<2x3x4x40xe2m3, block = [1, 2, 4, 40]> {
  %q = bm.quantize %x nearest : tensor<2x3x4x40xf32> -> !bm.tensor<2x3x4x40xe2m3, block = [1, 2, 4, 40]>
  return %q : !bm.tensor<2x3x4x40xe2m3, block = [1, 2, 4, 40]>
}
func.func @not_merged(%x: tensor<2x3x4x16xf32>) -> !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 2, 16]> {
  %q = bm.quantize %x nearest : tensor<2x3x4x16xf32> -> !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 2, 16]>
  return %q : !bm.tensor<2x3x4x16xe2m3, block = [1, 2, 2, 16]>
}

// -----

// 512 x 512 elements (at least 2^17): the bands are an scf.forall, so that
// bm-lower-to-cpu{parallel=true} runs them as tasks; each writes its row of
// the biases and its 48 (last: 32) rows of the codes.
// CHECK-LABEL: func.func @large
// CHECK: scf.forall (%[[G0:.*]]) in (11) shared_outs(%[[SB:.*]] = %{{.*}}, %[[SC:.*]] = %{{.*}}) -> (tensor<11x1x11xi8>, tensor<512x1x512xi8>)
// CHECK: tensor.extract_slice %[[SC]][%{{.*}}, 0, 0] [%{{.*}}, 1, 512] [1, 1, 1] : tensor<512x1x512xi8> to tensor<?x1x512xi8>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[SB]][%[[G0]], 0, 0] [1, 1, 11]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[SC]][%{{.*}}, 0, 0] [%{{.*}}, 1, 512]
func.func @large(%x: tensor<512x512xf32>) -> !bm.tensor<512x512xe2m3, block = [48, 48]> {
  %q = bm.quantize %x nearest : tensor<512x512xf32> -> !bm.tensor<512x512xe2m3, block = [48, 48]>
  return %q : !bm.tensor<512x512xe2m3, block = [48, 48]>
}
