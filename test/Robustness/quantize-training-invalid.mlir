// bm-quantize-training fails with a diagnostic (never a crash) when the
// options are wrong or the BM contraction it would build is not valid.
// RUN: bm-opt %s -split-input-file -verify-diagnostics \
// RUN:   --bm-quantize-training="forward=e8m23 backward=e8m23 rounding=nearest"
// RUN: not bm-opt %s --bm-quantize-training="preset=bm7" 2>&1 | FileCheck %s --check-prefix=PRESET
// RUN: not bm-opt %s --bm-quantize-training="rounding=up" 2>&1 | FileCheck %s --check-prefix=ROUNDING
// RUN: not bm-opt %s --bm-quantize-training="forward=e9m1 rounding=nearest" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not bm-opt %s --bm-quantize-training="block=4 rounding=nearest" 2>&1 | FileCheck %s --check-prefix=BLOCK

// PRESET: bm-quantize-training: unknown preset 'bm7'
// ROUNDING: bm-quantize-training: unknown rounding 'up'; use nearest, stochastic or zero
// FORMAT: bm-quantize-training: 'e9m1' is not a valid format; write eXmY, e.g. e2m3
// BLOCK: bm-quantize-training: block needs 2 sizes, conv-block and filter-block 4 each

// e8m23 x e8m23 needs a 560+-bit accumulator: the new bm.matmul fails to verify.
func.func @too_wide(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.matmul' op needs a 560-bit exact accumulator for e8m23 x e8m23 runs of up to 8 terms}}
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
