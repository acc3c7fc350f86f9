// RUN: bm-opt %s --bm-quantize-training=preset=bm5 -verify-diagnostics | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training="preset=bm6 loss-grad=fp32" -verify-diagnostics | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training="preset=bm4 loss-grad=bm" | FileCheck %s --check-prefix=QUANTIZED
// RUN: bm-opt %s --bm-quantize-training=preset=bm6 | FileCheck %s --check-prefix=QUANTIZED
// Explicit formats: auto means bm.
// RUN: bm-opt %s --bm-quantize-training="forward=e2m2 backward=e3m1" | FileCheck %s --check-prefix=QUANTIZED

// The two contractions that read the loss gradient itself (dy, the result
// of the bm.grad_seed op, directly and through a transpose) stay in FP32
// with loss-grad=fp32, and by default (auto) for the bm5 and bm4 presets,
// whose backward formats (e3m1, e3m0) clip the gradient's largest entries
// (docs/training.md). The other three become bm.matmul.

// CHECK:     bm.matmul {{.*}}bm.index = 0
// CHECK:     bm.matmul {{.*}}bm.index = 1
// CHECK:     linalg.matmul
// CHECK:     linalg.matmul
// CHECK:     bm.matmul {{.*}}bm.index = 4
// CHECK-NOT: bm.matmul

// QUANTIZED-COUNT-5: bm.matmul
// QUANTIZED-NOT:     linalg.matmul


func.func @step(%x: tensor<64x96xf32> {bm.role = #bm.role<activation>},
                %w1: tensor<96x48xf32> {bm.role = #bm.role<weight>},
                %w2: tensor<48x16xf32> {bm.role = #bm.role<weight>},
                %seed: i64 {bm.role = #bm.role<seed>})
    -> (tensor<96x48xf32>, tensor<48x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<64x48xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<64x48xf32>) -> tensor<64x48xf32>
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
  // dW2 = h^T dy
  %et = tensor.empty() : tensor<48x64xf32>
  %ht = linalg.transpose ins(%h : tensor<64x48xf32>) outs(%et : tensor<48x64xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<48x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<48x16xf32>) -> tensor<48x16xf32>
  // expected-remark @+1 {{bm-quantize-training: contraction #2 kept in FP32: it reads the loss gradient}}
  %dw2 = linalg.matmul ins(%ht, %dy : tensor<48x64xf32>, tensor<64x16xf32>) outs(%z2 : tensor<48x16xf32>) -> tensor<48x16xf32>
  // dh = dy W2^T, reading dy through a transpose of a transpose
  %ew = tensor.empty() : tensor<16x48xf32>
  %w2t = linalg.transpose ins(%w2 : tensor<48x16xf32>) outs(%ew : tensor<16x48xf32>) permutation = [1, 0]
  %edt = tensor.empty() : tensor<16x64xf32>
  %dyt = linalg.transpose ins(%dy : tensor<64x16xf32>) outs(%edt : tensor<16x64xf32>) permutation = [1, 0]
  %edd = tensor.empty() : tensor<64x16xf32>
  %dytt = linalg.transpose ins(%dyt : tensor<16x64xf32>) outs(%edd : tensor<64x16xf32>) permutation = [1, 0]
  // expected-remark @+1 {{bm-quantize-training: contraction #3 kept in FP32: it reads the loss gradient}}
  %dh = linalg.matmul ins(%dytt, %w2t : tensor<64x16xf32>, tensor<16x48xf32>) outs(%z0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  // dW1 = x^T dh: dh is an error, but not the loss gradient itself.
  %ex = tensor.empty() : tensor<96x64xf32>
  %xt = linalg.transpose ins(%x : tensor<64x96xf32>) outs(%ex : tensor<96x64xf32>) permutation = [1, 0]
  %e3 = tensor.empty() : tensor<96x48xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  %dw1 = linalg.matmul ins(%xt, %dh : tensor<96x64xf32>, tensor<64x48xf32>) outs(%z3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  return %dw1, %dw2 : tensor<96x48xf32>, tensor<48x16xf32>
}
