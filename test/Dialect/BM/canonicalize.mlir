// RUN: bm-opt %s -canonicalize -split-input-file | FileCheck %s

// dequantize(quantize(x)) rounds x: it must never fold away.
// CHECK-LABEL: func.func @dequantize_of_quantize_stays
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[Q:.*]] = bm.quantize %[[X]] nearest
// CHECK: %[[D:.*]] = bm.dequantize %[[Q]]
// CHECK: return %[[D]]
func.func @dequantize_of_quantize_stays(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %q = bm.quantize %x nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  %d = bm.dequantize %q : !bm.tensor<4x8xe2m3, block = [2, 4]> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// -----

// Also with stochastic rounding, and also when the result is unused except
// by a contraction.
// CHECK-LABEL: func.func @stochastic_quantize_stays
// CHECK: bm.quantize %{{.*}} stochastic seed
// CHECK: bm.dequantize
func.func @stochastic_quantize_stays(%x: tensor<4x8xf32>, %s: i64) -> tensor<4x8xf32> {
  %q = bm.quantize %x stochastic seed %s : tensor<4x8xf32> -> !bm.tensor<4x8xe4m3>
  %d = bm.dequantize %q : !bm.tensor<4x8xe4m3> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// -----

// quantize(dequantize(q)) to the same type is lossless and folds to q.
// CHECK-LABEL: func.func @quantize_of_dequantize_folds
// CHECK-SAME: (%[[Q:.*]]: !bm.tensor
// CHECK-NEXT: return %[[Q]]
func.func @quantize_of_dequantize_folds(%q: !bm.tensor<4x8xe2m3, block = [2, 4]>)
    -> !bm.tensor<4x8xe2m3, block = [2, 4]> {
  %d = bm.dequantize %q : !bm.tensor<4x8xe2m3, block = [2, 4]> -> tensor<4x8xf32>
  %r = bm.quantize %d nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  return %r : !bm.tensor<4x8xe2m3, block = [2, 4]>
}

// -----

// Also under the fit scale rule, in every mode: the values of q are on the
// grids of its blocks, where neither rule moves them (numerics.md
// section 2; checked element by element in PropertyTest's
// RequantizingKeepsTheValuesUnderEitherRule).
// CHECK-LABEL: func.func @quantize_fit_of_dequantize_folds
// CHECK-SAME: (%[[Q:.*]]: !bm.tensor<4x8xe2m1, block = [2, 4]>, %{{.*}}: i64)
// CHECK-NEXT: return %[[Q]], %[[Q]]
func.func @quantize_fit_of_dequantize_folds(%q: !bm.tensor<4x8xe2m1, block = [2, 4]>, %s: i64)
    -> (!bm.tensor<4x8xe2m1, block = [2, 4]>, !bm.tensor<4x8xe2m1, block = [2, 4]>) {
  %d = bm.dequantize %q : !bm.tensor<4x8xe2m1, block = [2, 4]> -> tensor<4x8xf32>
  %r = bm.quantize %d nearest scale(fit) : tensor<4x8xf32> -> !bm.tensor<4x8xe2m1, block = [2, 4]>
  %t = bm.quantize %d stochastic seed %s scale(fit) : tensor<4x8xf32> -> !bm.tensor<4x8xe2m1, block = [2, 4]>
  return %r, %t : !bm.tensor<4x8xe2m1, block = [2, 4]>, !bm.tensor<4x8xe2m1, block = [2, 4]>
}

// -----

// dequantize(quantize(x)) with the fit rule is a rounding too: it stays.
// CHECK-LABEL: func.func @dequantize_of_quantize_fit_stays
// CHECK: %[[Q:.*]] = bm.quantize %{{.*}} nearest scale(fit)
// CHECK: %[[D:.*]] = bm.dequantize %[[Q]]
// CHECK: return %[[D]]
func.func @dequantize_of_quantize_fit_stays(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %q = bm.quantize %x nearest scale(fit) : tensor<4x8xf32> -> !bm.tensor<4x8xe3m0, block = [2, 4]>
  %d = bm.dequantize %q : !bm.tensor<4x8xe3m0, block = [2, 4]> -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// -----

// A different block shape or format requantizes: no fold.
// CHECK-LABEL: func.func @requantize_other_type_stays
// CHECK: bm.dequantize
// CHECK: bm.quantize {{.*}} -> !bm.tensor<4x8xe2m3, block = [4, 8]>
// CHECK: bm.quantize {{.*}} -> !bm.tensor<4x8xe3m2, block = [2, 4]>
func.func @requantize_other_type_stays(%q: !bm.tensor<4x8xe2m3, block = [2, 4]>)
    -> (!bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<4x8xe3m2, block = [2, 4]>) {
  %d = bm.dequantize %q : !bm.tensor<4x8xe2m3, block = [2, 4]> -> tensor<4x8xf32>
  %r = bm.quantize %d nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe2m3, block = [4, 8]>
  %s = bm.quantize %d nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe3m2, block = [2, 4]>
  return %r, %s : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<4x8xe3m2, block = [2, 4]>
}

// -----

// e8m23 values at the largest biases fall below float32's subnormals, so
// dequantize is not exact for this format and the pair must stay.
// CHECK-LABEL: func.func @inexact_format_stays
// CHECK: bm.dequantize
// CHECK: bm.quantize
func.func @inexact_format_stays(%q: !bm.tensor<4x8xe8m23>) -> !bm.tensor<4x8xe8m23> {
  %d = bm.dequantize %q : !bm.tensor<4x8xe8m23> -> tensor<4x8xf32>
  %r = bm.quantize %d nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe8m23>
  return %r : !bm.tensor<4x8xe8m23>
}

// -----

// Transposes are exact: an identity or a round trip folds.
// CHECK-LABEL: func.func @transpose_round_trip
// CHECK-SAME: (%[[Q:.*]]: !bm.tensor
// CHECK-NEXT: return %[[Q]], %[[Q]]
func.func @transpose_round_trip(%q: !bm.tensor<4x8xe2m3, block = [2, 4]>)
    -> (!bm.tensor<4x8xe2m3, block = [2, 4]>, !bm.tensor<4x8xe2m3, block = [2, 4]>) {
  %t = bm.transpose %q [1, 0] : !bm.tensor<4x8xe2m3, block = [2, 4]> -> !bm.tensor<8x4xe2m3, block = [4, 2]>
  %u = bm.transpose %t [1, 0] : !bm.tensor<8x4xe2m3, block = [4, 2]> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  %i = bm.transpose %q [0, 1] : !bm.tensor<4x8xe2m3, block = [2, 4]> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  return %u, %i : !bm.tensor<4x8xe2m3, block = [2, 4]>, !bm.tensor<4x8xe2m3, block = [2, 4]>
}

// -----

// A transpose that does not undo the first one stays.
// CHECK-LABEL: func.func @transpose_3d_stays
// CHECK: bm.transpose %{{.*}} [1, 2, 0]
// CHECK: bm.transpose %{{.*}} [1, 2, 0]
func.func @transpose_3d_stays(%q: !bm.tensor<2x3x4xe2m3>) -> !bm.tensor<4x2x3xe2m3> {
  %t = bm.transpose %q [1, 2, 0] : !bm.tensor<2x3x4xe2m3> -> !bm.tensor<3x4x2xe2m3>
  %u = bm.transpose %t [1, 2, 0] : !bm.tensor<3x4x2xe2m3> -> !bm.tensor<4x2x3xe2m3>
  return %u : !bm.tensor<4x2x3xe2m3>
}

// -----

// pack/unpack are bit moves: round trips fold.
// CHECK-LABEL: func.func @pack_unpack_round_trip
// CHECK-SAME: (%[[Q:.*]]: !bm.tensor<4x8xe2m3, block = [2, 4]>, %[[C:.*]]: tensor<4x8xi8>, %[[B:.*]]: tensor<2x2xi8>)
// CHECK-NEXT: return %[[Q]], %[[C]], %[[B]]
func.func @pack_unpack_round_trip(%q: !bm.tensor<4x8xe2m3, block = [2, 4]>,
                                  %codes: tensor<4x8xi8>, %biases: tensor<2x2xi8>)
    -> (!bm.tensor<4x8xe2m3, block = [2, 4]>, tensor<4x8xi8>, tensor<2x2xi8>) {
  %c, %b = bm.unpack %q : !bm.tensor<4x8xe2m3, block = [2, 4]> -> tensor<4x8xi8>, tensor<2x2xi8>
  %p = bm.pack %c, %b : tensor<4x8xi8>, tensor<2x2xi8> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  %r = bm.pack %codes, %biases : tensor<4x8xi8>, tensor<2x2xi8> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  %c2, %b2 = bm.unpack %r : !bm.tensor<4x8xe2m3, block = [2, 4]> -> tensor<4x8xi8>, tensor<2x2xi8>
  return %p, %c2, %b2 : !bm.tensor<4x8xe2m3, block = [2, 4]>, tensor<4x8xi8>, tensor<2x2xi8>
}

// -----

// Unused pure BM ops are dead code.
// CHECK-LABEL: func.func @dead_code
// CHECK-NOT: bm.
// CHECK: return
func.func @dead_code(%x: tensor<4x8xf32>) {
  %q = bm.quantize %x nearest : tensor<4x8xf32> -> !bm.tensor<4x8xe2m3>
  %d = bm.dequantize %q : !bm.tensor<4x8xe2m3> -> tensor<4x8xf32>
  return
}
