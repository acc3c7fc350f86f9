// RUN: bm-opt %s | FileCheck %s
// RUN: bm-opt %s | bm-opt | FileCheck %s

// Every discardable attribute the bm dialect declares (BMDialect.td), with
// the kind of value it holds, round-trips where it belongs.

// CHECK-LABEL: func.func @roles
// CHECK-SAME: %{{.*}}: tensor<4x8xf32> {bm.name = "fc.weight", bm.role = #bm.role<weight>}
// CHECK-SAME: %{{.*}}: tensor<2x4xf32> {bm.role = #bm.role<activation>}
// CHECK-SAME: %{{.*}}: i64 {bm.role = #bm.role<seed>}
// CHECK-SAME: -> (tensor<f32> {bm.name = "loss", bm.role = #bm.role<loss>})
func.func @roles(%w: tensor<4x8xf32> {bm.name = "fc.weight", bm.role = #bm.role<weight>},
                 %x: tensor<2x4xf32> {bm.role = #bm.role<activation>},
                 %seed: i64 {bm.role = #bm.role<seed>})
    -> (tensor<f32> {bm.name = "loss", bm.role = #bm.role<loss>}) {
  // CHECK: tensor.empty() {bm.data_movement, bm.grad_seed}
  %e = tensor.empty() {bm.grad_seed, bm.data_movement} : tensor<f32>
  return %e : tensor<f32>
}

// CHECK-LABEL: func.func @contraction
// CHECK: bm.matmul
// CHECK-SAME: {bm.index = 3 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
func.func @contraction(%a: !bm.tensor<4x8xe2m3, block = [4, 8]>,
                       %b: !bm.tensor<8x4xe2m3, block = [8, 4]>,
                       %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = bm.matmul %a, %b, %c {bm.index = 3 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
      : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<8x4xe2m3, block = [8, 4]>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @lowering_marks
// CHECK: bm.quant_codes = #bm.quant_codes<e2m1, block = [1, 8], rounding = stochastic, scale = fit>
// CHECK: bm.run_sums
// CHECK: bm.tile_parallel = 2 : i64
// CHECK: {bm.gpu_fused_matmul, bm.gpu_mma}
func.func @lowering_marks(%x: tensor<4x8xi32>) -> tensor<4x8xi32> {
  %0 = tensor.empty() {bm.quant_codes = #bm.quant_codes<e2m1, block = [1, 8], rounding = stochastic, scale = fit>} : tensor<4x8xi32>
  %1 = tensor.empty() {bm.run_sums} : tensor<4x8xi32>
  %2 = tensor.empty() {bm.tile_parallel = 2 : i64} : tensor<4x8xi32>
  %3 = tensor.empty() {bm.gpu_mma, bm.gpu_fused_matmul} : tensor<4x8xi32>
  return %x : tensor<4x8xi32>
}
