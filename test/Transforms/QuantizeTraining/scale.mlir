// RUN: bm-opt %s --bm-quantize-training=scale=fit | FileCheck %s --check-prefix=FIT
// RUN: bm-opt %s --bm-quantize-training=backward-scale=fit | FileCheck %s --check-prefix=ERRORS
// RUN: bm-opt %s --bm-quantize-training=forward-scale=fit | FileCheck %s --check-prefix=FORWARD
// RUN: bm-opt %s --bm-quantize-training="scale=fit backward-scale=floor" | FileCheck %s --check-prefix=FORWARD
// RUN: bm-opt %s --bm-quantize-training="scale=fit forward-scale=floor backward-scale=fit" | FileCheck %s --check-prefix=ERRORS
// RUN: bm-opt %s --bm-quantize-training=scale=floor | FileCheck %s --check-prefix=FLOOR
// RUN: bm-opt %s --bm-quantize-training="preset=bm4 backward-scale=fit" --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// The rewrite then lowers and runs like any other BM step.
// RUN: bm-opt %s --bm-quantize-training="preset=bm4 scale=fit" --bm-lower-to-cpu -o /dev/null

// The scale rule of bm-quantize-training (numerics.md section 2): `scale`
// for every quantize, `forward-scale` (weights, activations) and
// `backward-scale` (errors) per role. The step is mlp.mlir's: x, W1, W2 and
// h are forward operands, dy and dh errors.

// FIT-LABEL: func.func @step
// FIT-COUNT-6: bm.quantize {{.*}} scale(fit)
// FIT-NOT: bm.quantize

// Only the errors (e3m2) take fit.
// ERRORS-LABEL: func.func @step
// ERRORS-DAG: bm.quantize %arg0 stochastic seed %{{[0-9]+}} : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3
// ERRORS-DAG: bm.quantize %arg1 stochastic seed %{{[0-9]+}} : tensor<96x48xf32> -> !bm.tensor<96x48xe2m3
// ERRORS-DAG: bm.quantize %arg2 stochastic seed %{{[0-9]+}} : tensor<48x16xf32> -> !bm.tensor<48x16xe2m3
// ERRORS: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} : tensor<64x48xf32> -> !bm.tensor<64x48xe2m3
// ERRORS: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} scale(fit) : tensor<64x16xf32> -> !bm.tensor<64x16xe3m2
// ERRORS: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} scale(fit) : tensor<64x48xf32> -> !bm.tensor<64x48xe3m2
// ERRORS-NOT: bm.quantize

// Only the forward operands (e2m3) take fit.
// FORWARD-LABEL: func.func @step
// FORWARD-DAG: bm.quantize %arg0 stochastic seed %{{[0-9]+}} scale(fit) : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3
// FORWARD-DAG: bm.quantize %arg1 stochastic seed %{{[0-9]+}} scale(fit) : tensor<96x48xf32> -> !bm.tensor<96x48xe2m3
// FORWARD-DAG: bm.quantize %arg2 stochastic seed %{{[0-9]+}} scale(fit) : tensor<48x16xf32> -> !bm.tensor<48x16xe2m3
// FORWARD: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} scale(fit) : tensor<64x48xf32> -> !bm.tensor<64x48xe2m3
// FORWARD: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} : tensor<64x16xf32> -> !bm.tensor<64x16xe3m2
// FORWARD: bm.quantize %{{.*}} stochastic seed %{{[0-9]+}} : tensor<64x48xf32> -> !bm.tensor<64x48xe3m2
// FORWARD-NOT: bm.quantize

// FLOOR-LABEL: func.func @step
// FLOOR-NOT: scale(

// The report names the rule of each operand's quantize. BM4 with
// loss-grad=auto keeps the two contractions reading dy in FP32.
// REPORT: bm-report: @step: 3 BM contractions, 2 in FP32
// REPORT-NEXT: fp32 linalg.matmul: rewritable form (kept by keep-fp32, min-macs, loss-grad or roles)
// REPORT-NEXT: fp32 linalg.matmul: rewritable form (kept by keep-fp32, min-macs, loss-grad or roles)
// REPORT-NEXT: op lhs rhs max-run kulisch acc f32-bytes bm-bytes roles scale from
// REPORT-NEXT: bm.matmul e2m1 [48x48] e2m1 [48x48] {{.*}} activation*weight floor*floor
// REPORT-NEXT: bm.matmul e2m1 [48x48] e2m1 [48x16] {{.*}} activation*weight floor*floor
// REPORT-NEXT: bm.matmul e2m1 [48x48] e3m0 [48x48] {{.*}} activation*error floor*fit
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
