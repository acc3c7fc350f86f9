// RUN: bm-opt %s --bm-quantize-training="preset=bm4 model-input=fp32" -verify-diagnostics | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training="preset=bm4 loss-grad=bm" | FileCheck %s --check-prefix=DEFAULT
// RUN: bm-opt %s --bm-quantize-training="preset=bm4 loss-grad=bm model-input=bm" | FileCheck %s --check-prefix=DEFAULT

// model-input=fp32 keeps the contractions that read the model's input
// itself (the argument marked activation, here through a transpose and a
// zero pad) in FP32: the first layer's forward matmul (#0) and its weight
// gradient (#4, x^T dh). h, computed from x, is not the input: the second
// layer stays BM. By default (model-input=bm) every contraction is BM.

// CHECK:     linalg.matmul
// CHECK:     bm.matmul {{.*}}bm.index = 1
// CHECK:     linalg.matmul
// CHECK:     linalg.matmul
// CHECK:     linalg.matmul
// CHECK-NOT: bm.matmul

// DEFAULT-COUNT-5: bm.matmul
// DEFAULT-NOT:     linalg.matmul

func.func @step(%x: tensor<64x96xf32> {bm.role = #bm.role<activation>},
                %w1: tensor<96x48xf32> {bm.role = #bm.role<weight>},
                %w2: tensor<48x16xf32> {bm.role = #bm.role<weight>},
                %seed: i64 {bm.role = #bm.role<seed>})
    -> (tensor<96x48xf32>, tensor<48x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<64x48xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  // expected-remark @+1 {{bm-quantize-training: contraction #0 kept in FP32: it reads the model input (model-input=fp32)}}
  %h = linalg.matmul ins(%x, %w1 : tensor<64x96xf32>, tensor<96x48xf32>) outs(%z0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  %e1 = tensor.empty() : tensor<64x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<64x48xf32>, tensor<48x16xf32>) outs(%z1 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %dy = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"], bm.grad_seed}
      ins(%y : tensor<64x16xf32>) outs(%e1 : tensor<64x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.015625 : f32
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<64x16xf32>
  %et = tensor.empty() : tensor<48x64xf32>
  %ht = linalg.transpose ins(%h : tensor<64x48xf32>) outs(%et : tensor<48x64xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<48x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<48x16xf32>) -> tensor<48x16xf32>
  // expected-remark @+1 {{bm-quantize-training: contraction #2 kept in FP32: it reads the loss gradient (loss-grad=auto)}}
  %dw2 = linalg.matmul ins(%ht, %dy : tensor<48x64xf32>, tensor<64x16xf32>) outs(%z2 : tensor<48x16xf32>) -> tensor<48x16xf32>
  %ew = tensor.empty() : tensor<16x48xf32>
  %w2t = linalg.transpose ins(%w2 : tensor<48x16xf32>) outs(%ew : tensor<16x48xf32>) permutation = [1, 0]
  // expected-remark @+1 {{bm-quantize-training: contraction #3 kept in FP32: it reads the loss gradient (loss-grad=auto)}}
  %dh = linalg.matmul ins(%dy, %w2t : tensor<64x16xf32>, tensor<16x48xf32>) outs(%z0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  // dW1 = x^T dh, x through a transpose and a zero pad of nothing.
  %ex = tensor.empty() : tensor<96x64xf32>
  %xt = linalg.transpose ins(%x : tensor<64x96xf32>) outs(%ex : tensor<96x64xf32>) permutation = [1, 0]
  %xp = tensor.pad %xt low[0, 0] high[0, 0] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<96x64xf32> to tensor<96x64xf32>
  %e3 = tensor.empty() : tensor<96x48xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  // expected-remark @+1 {{bm-quantize-training: contraction #4 kept in FP32: it reads the model input (model-input=fp32)}}
  %dw1 = linalg.matmul ins(%xp, %dh : tensor<96x64xf32>, tensor<64x48xf32>) outs(%z3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  return %dw1, %dw2 : tensor<96x48xf32>, tensor<48x16xf32>
}
