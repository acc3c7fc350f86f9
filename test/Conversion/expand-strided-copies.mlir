// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-expand-strided-copies))" | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu | FileCheck %s --check-prefix=LLVM

// bm-expand-strided-copies rewrites a copy between static memrefs that the
// LLVM lowering cannot copy with one memcpy into loops over the outer
// dimensions around row copies (or loads and stores when the innermost
// dimension is strided); contiguous and dynamic copies stay.

// The kernel's padded result: rows of 784 out of 800.
// CHECK-LABEL: func.func @padded_rows
// CHECK-SAME:    (%[[SRC:.*]]: memref<256x800xf32>, %[[DST:.*]]: memref<256x784xf32>)
// CHECK:         %[[SUB:.*]] = memref.subview %[[SRC]][0, 0] [256, 784] [1, 1]
// CHECK:         scf.for %[[I:.*]] = %c0 to %c256 step %c1 {
// CHECK:           %[[A:.*]] = memref.subview %[[SUB]][%[[I]], 0] [1, 784] [1, 1] : memref<256x784xf32, strided<[800, 1]>> to memref<784xf32, strided<[1], offset: ?>>
// CHECK:           %[[B:.*]] = memref.subview %[[DST]][%[[I]], 0] [1, 784] [1, 1] : memref<256x784xf32> to memref<784xf32, strided<[1], offset: ?>>
// CHECK:           memref.copy %[[A]], %[[B]]
// CHECK:         }
// CHECK-NOT:     memref.copy
// In bm-lower-to-cpu: memcpy per row, not the runtime's generic copy.
// LLVM-LABEL: llvm.func @padded_rows
// LLVM-NOT:     llvm.call @memrefCopy
// LLVM:         "llvm.intr.memcpy"
// LLVM-NOT:     llvm.call @memrefCopy
// LLVM-LABEL: llvm.func @trailing_block
func.func @padded_rows(%src: memref<256x800xf32>, %dst: memref<256x784xf32>) {
  %sub = memref.subview %src[0, 0] [256, 784] [1, 1] : memref<256x800xf32> to memref<256x784xf32, strided<[800, 1]>>
  memref.copy %sub, %dst : memref<256x784xf32, strided<[800, 1]>> to memref<256x784xf32>
  return
}

// Contiguous over the two trailing dimensions: one loop, 2-D row copies.
// CHECK-LABEL: func.func @trailing_block
// CHECK:         scf.for %[[I:.*]] = %c0 to %c3 step %c1 {
// CHECK-NOT:       scf.for
// CHECK:           memref.copy %{{.*}}, %{{.*}} : memref<4x8xi8, strided<[8, 1], offset: ?>> to memref<4x8xi8, strided<[8, 1], offset: ?>>
func.func @trailing_block(%src: memref<6x4x8xi8>, %dst: memref<3x4x8xi8>) {
  %sub = memref.subview %src[1, 0, 0] [3, 4, 8] [2, 1, 1] : memref<6x4x8xi8> to memref<3x4x8xi8, strided<[64, 8, 1], offset: 32>>
  memref.copy %sub, %dst : memref<3x4x8xi8, strided<[64, 8, 1], offset: 32>> to memref<3x4x8xi8>
  return
}

// A strided innermost dimension: element by element.
// CHECK-LABEL: func.func @column
// CHECK:         scf.for %[[I:.*]] = %c0 to %c5 step %c1 {
// CHECK:           %[[V:.*]] = memref.load %{{.*}}[%[[I]]] : memref<5xf32, strided<[7]>>
// CHECK:           memref.store %[[V]], %{{.*}}[%[[I]]] : memref<5xf32>
// CHECK-NOT:     memref.copy
func.func @column(%src: memref<5x7xf32>, %dst: memref<5xf32>) {
  %col = memref.subview %src[0, 0] [5, 1] [1, 1] : memref<5x7xf32> to memref<5xf32, strided<[7]>>
  memref.copy %col, %dst : memref<5xf32, strided<[7]>> to memref<5xf32>
  return
}

// The dynamic copy is left to the runtime's copy.
// LLVM-LABEL: llvm.func @unchanged
// LLVM:         llvm.call @memrefCopy
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT:     scf.for
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<1x8xf32, strided<[8, 1], offset: ?>> to memref<1x8xf32>
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<?x8xf32, strided<[16, 1]>> to memref<?x8xf32>
func.func @unchanged(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<4x8xf32>,
                     %d: memref<1x8xf32>, %e: memref<?x16xf32>, %f: memref<?x8xf32>,
                     %i: index, %n: index) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  %row = memref.subview %c[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  memref.copy %row, %d : memref<1x8xf32, strided<[8, 1], offset: ?>> to memref<1x8xf32>
  %dyn = memref.subview %e[0, 0] [%n, 8] [1, 1] : memref<?x16xf32> to memref<?x8xf32, strided<[16, 1]>>
  memref.copy %dyn, %f : memref<?x8xf32, strided<[16, 1]>> to memref<?x8xf32>
  return
}
