// bm-quantize-training fails with a diagnostic (never a crash) when the
// options are wrong or the BM contraction it would build is not valid.
// RUN: bm-opt %s -split-input-file -verify-diagnostics \
// RUN:   --bm-quantize-training="forward=e8m23 backward=e8m23 rounding=nearest"
// (The option errors are in Transforms/QuantizeTraining/options-invalid.mlir.)

// e8m23 x e8m23 needs a 560+-bit accumulator: the new bm.matmul fails to verify.
func.func @too_wide(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.matmul' op needs a 560-bit exact accumulator for e8m23 x e8m23 runs of up to 8 terms}}
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
