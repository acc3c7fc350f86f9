// RUN: bm-opt %s --convert-bm-to-arith | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// convert-bm-to-arith, the last bm pass of both pipelines, drops the
// #bm.role marks of arguments and results (bm.name strings stay), so that
// tools without the bm dialect can read the lowered code.

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {bm.name = "w"}, %{{.*}}: i64 {bm.name = "seed"})
// CHECK-SAME: -> (tensor<4xf32> {bm.name = "w"})
// CHECK-NOT: bm.role
// LLVM: define {{.*}} @step(
func.func @step(%w: tensor<4xf32> {bm.name = "w", bm.role = #bm.role<weight>},
                %seed: i64 {bm.name = "seed", bm.role = #bm.role<seed>})
    -> (tensor<4xf32> {bm.name = "w", bm.role = #bm.role<weight>}) {
  return %w : tensor<4xf32>
}
