// convert-bm-to-gpu lowers bm.matmul to run-major decoded operands and one
// fused linalg.generic over the outputs (all parallel: one GPU thread per
// output element) whose body walks the runs in order: an exact Kulisch sum
// per run, one conversion, one float32 add. int8 integer forms (e2m3) get
// the tensor-core layout (runs padded to 32, B n-major) and bm.gpu_mma;
// wider forms (e4m3 -> i32) the scalar layout (B run-major, n innermost).
// RUN: bm-opt %s --convert-bm-to-gpu | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-gpu=mma=false | FileCheck %s --check-prefix=NOMMA

// CHECK-LABEL: func.func @bm6
// CHECK-DAG: %[[CA:.*]], %[[BA:.*]] = bm.unpack %arg0
// CHECK-DAG: %[[CB:.*]], %[[BB:.*]] = bm.unpack %arg1
// Runs of 48 padded to 64, zero past the run's end.
// CHECK: %[[RA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2x64xi8>)
// CHECK: bm.decode %{{.*}} format(e2m3) : i8 -> i8
// CHECK: %[[RB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<40x2x64xi8>)
// CHECK: %[[SA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2xi32>)
// CHECK: %[[SB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<40x2xi32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[RA]], %[[RB]], %[[SA]], %[[SB]] :
// CHECK-SAME: outs(%arg2 : tensor<64x40xf32>) attrs = {bm.gpu_fused_matmul, bm.gpu_mma}
// The runs, in order, then the products of one run.
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK: bm.kulisch.zero : !bm.kulisch<19>
// CHECK: scf.for {{.*}} -> (!bm.kulisch<19>)
// CHECK: bm.fma {{.*}} formats(e2m3, e2m3) : !bm.kulisch<19>, i8, i8
// CHECK: bm.kulisch.to_f32 {{.*}} : !bm.kulisch<19>
// CHECK: arith.addf
// CHECK-NOT: bm.matmul
// NOMMA-LABEL: func.func @bm6
// NOMMA: tensor<64x2x48xi8>
// NOMMA: tensor<2x48x40xi8>
// NOMMA: attrs = {bm.gpu_fused_matmul}
func.func @bm6(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
               %b: !bm.tensor<96x40xe2m3, block = [48, 32]>,
               %init: tensor<64x40xf32>) -> tensor<64x40xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x40xe2m3, block = [48, 32]>, tensor<64x40xf32>
      -> tensor<64x40xf32>
  return %y : tensor<64x40xf32>
}

// CHECK-LABEL: func.func @bm8
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2x48xi32>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x48x40xi32>)
// CHECK: attrs = {bm.gpu_fused_matmul} {
// CHECK: bm.fma {{.*}} formats(e4m3, e4m3) : !bm.kulisch<43>, i32, i32
func.func @bm8(%a: !bm.tensor<64x96xe4m3, block = [48, 48]>,
               %b: !bm.tensor<96x40xe4m3, block = [48, 32]>,
               %init: tensor<64x40xf32>) -> tensor<64x40xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe4m3, block = [48, 48]>,
        !bm.tensor<96x40xe4m3, block = [48, 32]>, tensor<64x40xf32>
      -> tensor<64x40xf32>
  return %y : tensor<64x40xf32>
}

// Batched, both operands transposed, blocks cutting K at 16 and 24: runs
// 16, 8, 8, 8 (padded to 32); the batch is the leading loop.
// CHECK-LABEL: func.func @batched_transposed
// CHECK: tensor<2x24x4x32xi8>
// CHECK: tensor<2x12x4x32xi8>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins
// CHECK-SAME: attrs = {bm.gpu_fused_matmul, bm.gpu_mma}
func.func @batched_transposed(%a: !bm.tensor<2x40x24xe2m1, block = [1, 16, 24]>,
                              %b: !bm.tensor<2x12x40xe3m0, block = [1, 12, 24]>,
                              %init: tensor<2x24x12xf32>) -> tensor<2x24x12xf32> {
  %y = bm.matmul %a, %b, %init {transpose_lhs, transpose_rhs}
      : !bm.tensor<2x40x24xe2m1, block = [1, 16, 24]>,
        !bm.tensor<2x12x40xe3m0, block = [1, 12, 24]>, tensor<2x24x12xf32>
      -> tensor<2x24x12xf32>
  return %y : tensor<2x24x12xf32>
}

// K = 0: the result is init.
// CHECK-LABEL: func.func @empty_k
// CHECK-NOT: linalg.generic
// CHECK: return %arg2
func.func @empty_k(%a: !bm.tensor<4x0xe2m3, block = [4, 1]>,
                   %b: !bm.tensor<0x4xe2m3, block = [1, 4]>,
                   %init: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<4x0xe2m3, block = [4, 1]>, !bm.tensor<0x4xe2m3, block = [1, 4]>,
        tensor<4x4xf32> -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
