// RUN: bm-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(bm-distinct-results))' \
// RUN:   | FileCheck %s
// RUN: bm-opt %s --split-input-file --bm-lower-to-cpu=out-params=true \
// RUN:   | FileCheck %s --check-prefix=OUT

// A value returned twice (two gradients CSE found equal): the repeat is a
// copy, so that each result gets its own buffer.
// CHECK-LABEL: func.func @twice
// CHECK:         %[[R:.*]] = linalg.generic
// CHECK:         %[[C:.*]] = bufferization.alloc_tensor() copy(%[[R]])
// CHECK:         return %[[R]], %[[C]], %{{.*}} :
// `buffer-results-to-out-params` used to crash on it; the code now writes
// the result into the first out-param and copies it into the second.
// OUT-LABEL: llvm.func @twice(
// OUT-SAME:    %arg10: !llvm.ptr, %arg11: !llvm.ptr, %arg12: i64, %arg13: i64, %arg14: i64) -> f32
// OUT:         "llvm.intr.memcpy"
// OUT-NOT:     "llvm.intr.memcpy"
// OUT:         llvm.return %{{.*}} : f32
func.func @twice(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, f32) {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  %c0 = arith.constant 0 : index
  %s = tensor.extract %r[%c0] : tensor<4xf32>
  return %r, %r, %s : tensor<4xf32>, tensor<4xf32>, f32
}

// -----

// Distinct results are left alone; an argument returned twice is copied
// for its repeat like any other value.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT:     bufferization.alloc_tensor
// CHECK:         return %arg0, %arg1
func.func @distinct(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @argument_twice
// CHECK:         %[[C:.*]] = bufferization.alloc_tensor() copy(%arg0)
// CHECK:         return %arg0, %[[C]]
func.func @argument_twice(%a: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %a, %a : tensor<?xf32>, tensor<?xf32>
}
