// RUN: bm-opt %s --convert-bm-to-linalg --convert-bm-to-arith --canonicalize --bm-vectorize-quantize 2>&1 | FileCheck %s

// After canonicalization the body's constants sit in the function, so the
// seed cannot be told apart from them: the pass says so and leaves the
// generics (scalar loops, same bits). bm-lower-to-cpu runs it before.
// CHECK: remark: bm-vectorize-quantize: unexpected quantize form; left scalar
// CHECK-LABEL: func.func @canonicalized_first
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @canonicalized_first(%x: tensor<4x16xf32>, %seed: i64) -> !bm.tensor<4x16xe2m3, block = [4, 16]> {
  %q = bm.quantize %x stochastic seed %seed : tensor<4x16xf32> -> !bm.tensor<4x16xe2m3, block = [4, 16]>
  return %q : !bm.tensor<4x16xe2m3, block = [4, 16]>
}
