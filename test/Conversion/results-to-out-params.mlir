// RUN: bm-opt %s -split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --bm-results-to-out-params=mode=auto | FileCheck %s --check-prefix=AUTO
// RUN: bm-opt %s -split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --bm-results-to-out-params=mode=true | FileCheck %s --check-prefix=ON
// RUN: not bm-opt %s --bm-results-to-out-params=mode=maybe -o /dev/null 2>&1 | FileCheck %s --check-prefix=MODE

// Statically shaped results become out-params after the arguments, in
// public functions too; the allocation of the result is replaced by the
// caller's buffer.
// AUTO-LABEL: func.func @twice(
// AUTO-SAME: %{{.*}}: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>) {
// AUTO-NOT: memref.alloc
// AUTO: linalg.generic
// AUTO-SAME: outs(%[[OUT]] : memref<4xf32>)
// AUTO: return{{$}}
#id = affine_map<(d0) -> (d0)>
func.func @twice(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// auto: one dynamic result anywhere in the module keeps every result
// returned, so the caller does not have to know which functions changed.
// AUTO-LABEL: func.func @stat(
// AUTO-SAME: -> memref<4xf32>
// AUTO-LABEL: func.func @dyn(
// AUTO-SAME: -> memref<?xf32>
// mode=true converts every function it can, as upstream's
// buffer-results-to-out-params does (a caller then has to know the size).
// ON-LABEL: func.func @stat(%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>) {
// ON-LABEL: func.func @dyn(%{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>) {
func.func @stat(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
func.func @dyn(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}
// MODE: Cannot find option named 'maybe'!
