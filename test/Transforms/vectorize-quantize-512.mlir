// RUN: bm-opt %s --convert-bm-to-linalg --convert-bm-to-arith --bm-vectorize-quantize=vector-bits=512 -split-input-file | FileCheck %s

// vector-bits=512 (bm-lower-to-cpu's AVX-512 targets): the same loops as in
// vectorize-quantize.mlir on 16 lanes. 50 columns in blocks of 20: one
// 16-lane step and four scalar elements per full block row.
// CHECK-LABEL: func.func @nearest
// CHECK: vector.transfer_read {{.*}} : tensor<100x1x50xf32>, vector<16xf32>
// CHECK: arith.maxui {{.*}} : vector<16xi32>
// CHECK: vector.reduction <maxui>
// CHECK: arith.mulf {{.*}} : vector<16xf32>
// CHECK: arith.fptosi {{.*}} : vector<16xf32> to vector<16xi32>
// CHECK: vector.transfer_write {{.*}} : vector<16xi8>, tensor<?x1x50xi8>
// CHECK-NOT: vector<8x
func.func @nearest(%x: tensor<100x50xf32>) -> !bm.tensor<100x50xe2m3, block = [48, 20]> {
  %q = bm.quantize %x nearest : tensor<100x50xf32> -> !bm.tensor<100x50xe2m3, block = [48, 20]>
  return %q : !bm.tensor<100x50xe2m3, block = [48, 20]>
}

// -----

// Stochastic: one Philox4x32-10 block per 4 elements, 16 blocks per 64
// words; the four words of each block are interleaved into element order
// (lanes of words 0 and 1, then pairs of lanes of the two results). The
// row buffer holds 64 words (40 + 3 rounded up to 64).
// CHECK-LABEL: func.func @stochastic
// CHECK: tensor.empty() : tensor<64xi32>
// CHECK-COUNT-20: arith.muli {{.*}} : vector<16xi64>
// CHECK-NOT: arith.mului_extended
// CHECK-COUNT-4: arith.trunci {{.*}} : vector<16xi64> to vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23] : vector<16xi32>, vector<16xi32>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31] : vector<16xi32>, vector<16xi32>
// CHECK: vector.transfer_write {{.*}} : vector<16xi32>, tensor<64xi32>
// CHECK: vector.transfer_read {{.*}} : tensor<64xi32>, vector<16xi32>
// CHECK: vector.transfer_write {{.*}} : vector<16xi16>, tensor<2x6x40xi16>
func.func @stochastic(%x: tensor<4x6x40xf32>, %seed: i64) -> !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<4x6x40xf32> -> !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]>
  return %q : !bm.tensor<4x6x40xe3m5, block = [2, 3, 16]>
}
