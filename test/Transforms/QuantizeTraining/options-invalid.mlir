// The option errors of bm-quantize-training that depend on the values
// together (formats, block shapes), as diagnostics. They are reported on the
// module, so each case spells its module out (an implicit module has no line
// to expect the error on). The enum options are checked by the option
// parser: options-enum-invalid.test.
// RUN: split-file %s %t
// RUN: bm-opt %t/format.mlir --bm-quantize-training="forward=e9m2 backward=e3m2" -verify-diagnostics
// RUN: bm-opt %t/format-preset.mlir --bm-quantize-training="preset=bm6 backward=e3" -verify-diagnostics
// RUN: bm-opt %t/block.mlir --bm-quantize-training=block=48 -verify-diagnostics
// RUN: bm-opt %t/conv-block.mlir --bm-quantize-training=conv-block=1,48 -verify-diagnostics
// A format pair whose exact sums do not fit 64 bits is refused with the
// verifier's advice, on the contraction it would have replaced.
// RUN: bm-opt %t/wide.mlir --bm-quantize-training="forward=e5m6 backward=e5m6 block=0,0" -verify-diagnostics

//--- format.mlir
// expected-error @+1 {{bm-quantize-training: 'e9m2' is not a valid format; write eXmY, e.g. e2m3}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- format-preset.mlir
// expected-error @+1 {{bm-quantize-training: 'e3' is not a valid format; write eXmY, e.g. e2m3}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- block.mlir
// expected-error @+1 {{bm-quantize-training: block needs 2 sizes, conv-block and filter-block 4 each}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- conv-block.mlir
// expected-error @+1 {{bm-quantize-training: block needs 2 sizes, conv-block and filter-block 4 each}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- wide.mlir
func.func @wide(%x: tensor<64x96xf32> {bm.role = #bm.role<activation>},
                %w: tensor<96x48xf32> {bm.role = #bm.role<weight>},
                %seed: i64 {bm.role = #bm.role<seed>}) -> tensor<64x48xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x48xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x48xf32>) -> tensor<64x48xf32>
  // expected-error @+1 {{'bm.matmul' op needs a 82-bit exact accumulator for e5m6 x e5m6 runs of up to 96 terms, more than the 64 bits supported; use narrower formats or smaller blocks along the reduction}}
  %h = linalg.matmul ins(%x, %w : tensor<64x96xf32>, tensor<96x48xf32>) outs(%z : tensor<64x48xf32>) -> tensor<64x48xf32>
  return %h : tensor<64x48xf32>
}
