// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-reshape-result-allocs))" | FileCheck %s

// bm-reshape-result-allocs: a returned reshape of an allocation (the result
// of an op whose loops bm-vectorize-linalg collapsed) is allocated in the
// result's shape; the other uses see it through the inverse reshape.

// CHECK-LABEL: func.func @expanded
// CHECK:         %[[A:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x8xf32>
// CHECK:         %[[V:.*]] = memref.collapse_shape %[[A]] {{\[\[}}0, 1]] : memref<2x8xf32> into memref<16xf32>
// CHECK:         memref.copy %{{.*}}, %[[V]] : memref<16xf32> to memref<16xf32>
// CHECK-NOT:     memref.expand_shape
// CHECK:         return %[[A]] : memref<2x8xf32>
func.func @expanded(%x: memref<2x8xf32>) -> memref<2x8xf32> {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  %c = memref.collapse_shape %x [[0, 1]] : memref<2x8xf32> into memref<16xf32>
  memref.copy %c, %a : memref<16xf32> to memref<16xf32>
  %r = memref.expand_shape %a [[0, 1]] output_shape [2, 8] : memref<16xf32> into memref<2x8xf32>
  return %r : memref<2x8xf32>
}

// A reshape of a function argument is not an allocation: left alone.
// CHECK-LABEL: func.func @argument
// CHECK:         %[[R:.*]] = memref.expand_shape %arg0
// CHECK:         return %[[R]]
func.func @argument(%x: memref<16xf32>) -> memref<2x8xf32> {
  %r = memref.expand_shape %x [[0, 1]] output_shape [2, 8] : memref<16xf32> into memref<2x8xf32>
  return %r : memref<2x8xf32>
}
