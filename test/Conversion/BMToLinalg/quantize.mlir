// RUN: bm-opt %s --convert-bm-to-linalg -split-input-file | FileCheck %s

// quantize = block-max reduction over the float bits (an element -> block
// map), exact biases, then elementwise rounding against its block's bias.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BLK:.*]] = affine_map<(d0, d1) -> (d0 floordiv 48, d1 floordiv 32)>
// CHECK-LABEL: func.func @quantize_nearest
// CHECK-SAME: (%[[X:.*]]: tensor<64x96xf32>) -> (tensor<64x96xi8>, tensor<2x3xi8>)
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<2x3xi32>)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[BLK]]], iterator_types = ["reduction", "reduction"]} ins(%[[X]] : tensor<64x96xf32>) outs(%[[Z]] : tensor<2x3xi32>)
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.maxui
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%[[MAX]] : tensor<2x3xi32>) outs(%{{.*}} : tensor<2x3xi8>)
// The exponent comes from the bits (ctlz for subnormals), never a log2.
// CHECK: math.ctlz
// CHECK-NOT: math.log2
// CHECK: %[[CODES:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[BLK]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[BIAS]] : tensor<64x96xf32>, tensor<2x3xi8>) outs(%{{.*}} : tensor<64x96xi8>)
// CHECK-NOT: arith.mului_extended
// CHECK: return %[[CODES]], %[[BIAS]]
func.func @quantize_nearest(%x: tensor<64x96xf32>) -> !bm.tensor<64x96xe2m3, block = [48, 32]> {
  %q = bm.quantize %x nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 32]>
  return %q : !bm.tensor<64x96xe2m3, block = [48, 32]>
}

// -----

// The fit scale rule (numerics.md section 2): the biases generic compares
// the block maximum's significand, normalized to 24 bits, with the
// format's threshold (e2m1: 3 << 22 = 12582912, i.e. 1.5 * 2^23) and adds
// one to floor(log2 M) above it; the codes generic is the floor one. The
// rule travels to bm-vectorize-quantize in the codes op's bm.quant_codes.
// CHECK-LABEL: func.func @quantize_fit
// CHECK: linalg.generic
// CHECK: %[[BIAS:.*]] = linalg.generic
// CHECK-DAG: arith.constant 12582912 : i32
// CHECK-DAG: math.ctlz
// CHECK: arith.cmpi ugt
// CHECK: arith.extui %{{.*}} : i1 to i32
// CHECK: linalg.yield %{{.*}} : i8
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[BIAS]] : tensor<8x16xf32>, tensor<1x2xi8>)
// CHECK: bm.quant_codes = #bm.quant_codes<e2m1, block = [8, 8], rounding = nearest, scale = fit>
func.func @quantize_fit(%x: tensor<8x16xf32>) -> !bm.tensor<8x16xe2m1, block = [8, 8]> {
  %q = bm.quantize %x nearest scale(fit) : tensor<8x16xf32> -> !bm.tensor<8x16xe2m1, block = [8, 8]>
  return %q : !bm.tensor<8x16xe2m1, block = [8, 8]>
}

// -----

// Under floor (the default) there is no threshold compare.
// CHECK-LABEL: func.func @quantize_floor
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: arith.cmpi ugt
// CHECK: linalg.yield %{{.*}} : i8
// CHECK: bm.quant_codes = #bm.quant_codes<e2m1, block = [8, 8], rounding = nearest, scale = floor>
func.func @quantize_floor(%x: tensor<8x16xf32>) -> !bm.tensor<8x16xe2m1, block = [8, 8]> {
  %q = bm.quantize %x nearest : tensor<8x16xf32> -> !bm.tensor<8x16xe2m1, block = [8, 8]>
  return %q : !bm.tensor<8x16xe2m1, block = [8, 8]>
}

// -----

// Stochastic rounding runs Philox4x32-10 (ten rounds of two 32x32->64
// multiplies) on the element's row-major linear index and the seed.
// CHECK-LABEL: func.func @quantize_stochastic
// CHECK-SAME: (%[[X:.*]]: tensor<4x6xf32>, %[[S:.*]]: i64)
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-DAG: %[[I:.*]] = linalg.index 0 : index
// CHECK-DAG: %[[J:.*]] = linalg.index 1 : index
// CHECK: arith.trunci %[[S]] : i64 to i32
// CHECK-COUNT-20: arith.mului_extended
// CHECK-NOT: arith.mului_extended
// CHECK: linalg.yield %{{.*}} : i16
func.func @quantize_stochastic(%x: tensor<4x6xf32>, %seed: i64) -> !bm.tensor<4x6xe3m5, block = [2, 3]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<4x6xf32> -> !bm.tensor<4x6xe3m5, block = [2, 3]>
  return %q : !bm.tensor<4x6xe3m5, block = [2, 3]>
}

// -----

// dequantize reads each element's block bias through the block map.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BLK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1 floordiv 2, d2 floordiv 5)>
// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%[[C:.*]]: tensor<3x4x5xi8>, %[[B:.*]]: tensor<3x2x1xi8>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BLK]], #[[ID]]], {{.*}}} ins(%[[C]], %[[B]] : tensor<3x4x5xi8>, tensor<3x2x1xi8>) outs(%{{.*}} : tensor<3x4x5xf32>)
// CHECK: arith.bitcast %{{.*}} : i32 to f32
func.func @dequantize(%q: !bm.tensor<3x4x5xe2m3, block = [1, 2, 5]>) -> tensor<3x4x5xf32> {
  %x = bm.dequantize %q : !bm.tensor<3x4x5xe2m3, block = [1, 2, 5]> -> tensor<3x4x5xf32>
  return %x : tensor<3x4x5xf32>
}
