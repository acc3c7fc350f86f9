// RUN: bm-opt %s --bm-quantize-training | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training --canonicalize --cse | FileCheck %s --check-prefix=SEEDS
// RUN: bm-opt %s --bm-quantize-training=preset=bm8 | FileCheck %s --check-prefix=BM8
// RUN: bm-opt %s --bm-quantize-training="forward=e2m2 backward=e3m1 rounding=nearest block=32,32" | FileCheck %s --check-prefix=EXPLICIT
// RUN: bm-opt %s --bm-quantize-training --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// A two-layer MLP step without biases: forward, the loss gradient (the op
// marked bm.grad_seed), and the three backward GEMMs.
//   h = x W1; y = h W2; dy = seed(y); dW2 = h^T dy; dh = dy W2^T; dW1 = x^T dh
// Every tensor is quantized once: h serves the forward GEMM and (through
// transpose_lhs) the weight-gradient GEMM; dy serves both of its GEMMs; W2
// serves the forward GEMM and (through transpose_rhs) the data gradient.

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:[^:]*]]: tensor<64x96xf32> {bm.role = #bm.role<activation>}, %[[W1:[^:]*]]: tensor<96x48xf32> {bm.role = #bm.role<weight>}, %[[W2:[^:]*]]: tensor<48x16xf32> {bm.role = #bm.role<weight>}, %[[SEED:[^:]*]]: i64 {bm.role = #bm.role<seed>})
// Arguments are quantized at the top, each with its own stream (seed << 16) + i.
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X]] stochastic seed %{{.*}} : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
// CHECK-DAG: %[[QW1:.*]] = bm.quantize %[[W1]] stochastic seed %{{.*}} : tensor<96x48xf32> -> !bm.tensor<96x48xe2m3, block = [48, 48]>
// CHECK-DAG: %[[QW2:.*]] = bm.quantize %[[W2]] stochastic seed %{{.*}} : tensor<48x16xf32> -> !bm.tensor<48x16xe2m3, block = [48, 16]>
// CHECK: %[[H:.*]] = bm.matmul %[[QX]], %[[QW1]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>]}
// CHECK: %[[QH:.*]] = bm.quantize %[[H]] stochastic seed %{{.*}} : tensor<64x48xf32> -> !bm.tensor<64x48xe2m3, block = [48, 48]>
// CHECK: %[[Y:.*]] = bm.matmul %[[QH]], %[[QW2]], %{{.*}} {bm.index = 1 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>]}
// CHECK: %[[DY:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<64x16xf32>)
// CHECK: bm.grad_seed
// Errors use the backward format.
// CHECK: %[[QDY:.*]] = bm.quantize %[[DY]] stochastic seed %{{.*}} : tensor<64x16xf32> -> !bm.tensor<64x16xe3m2, block = [48, 16]>
// CHECK: bm.matmul %[[QH]], %[[QDY]], %{{.*}} {bm.index = 2 : i64, bm.roles = [#bm.role<activation>, #bm.role<error>], transpose_lhs}
// CHECK: %[[DH:.*]] = bm.matmul %[[QDY]], %[[QW2]], %{{.*}} {bm.index = 3 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>], transpose_rhs}
// CHECK: %[[QDH:.*]] = bm.quantize %[[DH]] stochastic seed %{{.*}} : tensor<64x48xf32> -> !bm.tensor<64x48xe3m2, block = [48, 48]>
// CHECK: bm.matmul %[[QX]], %[[QDH]], %{{.*}} {bm.index = 4 : i64, bm.roles = [#bm.role<activation>, #bm.role<error>], transpose_lhs}
// CHECK-NOT: linalg.matmul

// Six tensors, six quantize ops, six distinct streams (seed << 16) + 0..5.
// SEEDS-LABEL: func.func @step
// SEEDS-DAG: arith.constant 16 : i64
// SEEDS-DAG: arith.constant 1 : i64
// SEEDS-DAG: arith.constant 2 : i64
// SEEDS-DAG: arith.constant 3 : i64
// SEEDS-DAG: arith.constant 4 : i64
// SEEDS-DAG: arith.constant 5 : i64
// SEEDS-COUNT-6: bm.quantize
// SEEDS-NOT: bm.quantize

// Preset bm8 is e2m5 forward, e4m3 backward.
// BM8-DAG: !bm.tensor<64x96xe2m5, block = [48, 48]>
// BM8-DAG: !bm.tensor<64x16xe4m3, block = [48, 16]>

// EXPLICIT-LABEL: func.func @step
// EXPLICIT-NOT: stochastic
// EXPLICIT: bm.quantize %{{.*}} nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe2m2, block = [32, 32]>
// EXPLICIT: !bm.tensor<64x16xe3m1, block = [32, 16]>

// REPORT: bm-report: @step: 5 BM contractions
// REPORT-NEXT: op lhs rhs max-run kulisch acc f32-bytes bm-bytes roles
// REPORT-NEXT: bm.matmul e2m3 [48x48] e2m3 [48x48] 48 19 i32 {{[0-9]+}} {{[0-9]+}} activation*weight
// REPORT-NEXT: bm.matmul e2m3 [48x48] e2m3 [48x16] 48 19 i32 {{[0-9]+}} {{[0-9]+}} activation*weight
// The weight gradient: activation (e2m3) x error (e3m2): 6 + 9 + 6 + 1 bits.
// REPORT-NEXT: bm.matmul e2m3 [48x48] e3m2 [48x16] 48 22 i32 {{[0-9]+}} {{[0-9]+}} activation*error
// The data gradient: K = 16 is the run: 9 + 6 + 4 + 1 bits.
// REPORT-NEXT: bm.matmul e3m2 [48x16] e2m3 [48x16] 16 20 i32 {{[0-9]+}} {{[0-9]+}} error*weight
// REPORT-NEXT: bm.matmul e2m3 [48x48] e3m2 [48x48] 48 22 i32 {{[0-9]+}} {{[0-9]+}} activation*error
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
  // The loss gradient (a stand-in: dy = y / 64).
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
  %dw2 = linalg.matmul ins(%ht, %dy : tensor<48x64xf32>, tensor<64x16xf32>) outs(%z2 : tensor<48x16xf32>) -> tensor<48x16xf32>
  // dh = dy W2^T
  %ew = tensor.empty() : tensor<16x48xf32>
  %w2t = linalg.transpose ins(%w2 : tensor<48x16xf32>) outs(%ew : tensor<16x48xf32>) permutation = [1, 0]
  %dh = linalg.matmul ins(%dy, %w2t : tensor<64x16xf32>, tensor<16x48xf32>) outs(%z0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  // dW1 = x^T dh
  %ex = tensor.empty() : tensor<96x64xf32>
  %xt = linalg.transpose ins(%x : tensor<64x96xf32>) outs(%ex : tensor<96x64xf32>) permutation = [1, 0]
  %e3 = tensor.empty() : tensor<96x48xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  %dw1 = linalg.matmul ins(%xt, %dh : tensor<96x64xf32>, tensor<64x48xf32>) outs(%z3 : tensor<96x48xf32>) -> tensor<96x48xf32>
  return %dw1, %dw2 : tensor<96x48xf32>, tensor<48x16xf32>
}
