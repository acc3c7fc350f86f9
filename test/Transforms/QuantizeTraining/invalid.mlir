// RUN: bm-opt %s --bm-quantize-training -split-input-file -verify-diagnostics

// expected-error @+1 {{bm-quantize-training: stochastic rounding needs a seed; mark an i64 argument (e.g. the step number) with {bm.role = #bm.role<seed>}, or use rounding=nearest}}
func.func @no_seed(%a: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// expected-error @+1 {{bm-quantize-training: the seed argument #1 must be an i64, not 'i32'}}
func.func @bad_seed(%a: tensor<4x4xf32>, %s: i32 {bm.role = #bm.role<seed>}, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// Two errors multiplied together: no BM role covers it; it stays FP32.
func.func @error_by_error(%e: tensor<4x4xf32> {bm.role = #bm.role<error>}, %s: i64 {bm.role = #bm.role<seed>},
                          %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-warning @+1 {{bm-quantize-training: both operands of contraction #0 are errors, which no BM training role covers; kept in FP32. Mark the arguments' roles if this is wrong}}
  %r = linalg.matmul ins(%e, %e : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
