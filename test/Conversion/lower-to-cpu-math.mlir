// Math functions that have no LLVM intrinsic become libm calls (math.erf,
// e.g. of an exact GELU); the others stay intrinsics, and no math op is
// left for mlir-translate.
// RUN: bm-opt %s --bm-lower-to-cpu | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// CHECK-DAG: llvm.func @erff(f32) -> f32
// CHECK-LABEL: llvm.func @gelu_parts
// CHECK-NOT: math.
// CHECK: llvm.call @erff
// CHECK: llvm.intr.exp
// CHECK: llvm.intr.sqrt
// CHECK-NOT: math.
// LLVMIR: call float @erff(float
func.func @gelu_parts(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = math.erf %a : f32
    %1 = math.exp %0 : f32
    %2 = math.sqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
