// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg))" | FileCheck %s
// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg{min-parallel-elements=131072}))" | FileCheck %s --check-prefix=LOW

// When bm-vectorize-linalg distributes an op over the cores: from
// min-parallel-elements (2^20) iterations, where an iteration whose body
// has an op that becomes a libm call or a long sequence (erf, exp, log,
// tanh, pow, sqrt, rsqrt, divf) counts as 9. An op of a few flops per
// element is bound by memory, one that calls erff by the calls.

#id = affine_map<(d0, d1) -> (d0, d1)>

// 2^17 iterations of erf: 9 * 2^17 >= 2^20, on all cores.
// CHECK-LABEL: func.func @erf_parallel
// CHECK:         scf.forall
// CHECK:           math.erf %{{.*}} : vector<64xf32>
// LOW-LABEL:   func.func @erf_parallel
// LOW:           scf.forall
func.func @erf_parallel(%x: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = math.erf %a : f32
    linalg.yield %y : f32
  } -> tensor<256x512xf32>
  return %r : tensor<256x512xf32>
}

// The same iterations of a multiply-add: in order (below 2^20), unless
// min-parallel-elements is lowered.
// CHECK-LABEL: func.func @fma_sequential
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
// CHECK:           arith.addf %{{.*}} : vector<64xf32>
// CHECK:       return
// LOW-LABEL:   func.func @fma_sequential
// LOW:           scf.forall
func.func @fma_sequential(%x: tensor<256x512xf32>, %y: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %e = tensor.empty() : tensor<256x512xf32>
  %c = arith.constant 0.5 : f32
  %r = linalg.generic {indexing_maps = [#id, #id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<256x512xf32>, tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    %s = arith.addf %m, %b : f32
    linalg.yield %s : f32
  } -> tensor<256x512xf32>
  return %r : tensor<256x512xf32>
}

// Too few iterations even at 9 each (9 * 2^15 < 2^20): in order.
// CHECK-LABEL: func.func @exp_small
// CHECK-NOT:     scf.forall
// CHECK:         math.exp %{{.*}} : vector<64xf32>
// CHECK:       return
func.func @exp_small(%x: tensor<64x512xf32>) -> tensor<64x512xf32> {
  %e = tensor.empty() : tensor<64x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x512xf32>) outs(%e : tensor<64x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = math.exp %a : f32
    linalg.yield %y : f32
  } -> tensor<64x512xf32>
  return %r : tensor<64x512xf32>
}
