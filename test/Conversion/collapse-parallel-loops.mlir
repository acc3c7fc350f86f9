// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-collapse-parallel-loops))" | FileCheck %s

// bm-collapse-parallel-loops numbers the iterations of a multi-dimensional
// scf.parallel with one index and recovers the original indices by
// division and remainder; one-dimensional loops and loops with reductions
// stay as they are.

// CHECK-LABEL: func.func @two_dims
// CHECK:       scf.parallel (%[[I:.*]]) = (%c0) to (%c96) step (%c1) {
// CHECK-DAG:     %[[R:.*]] = arith.remsi %[[I]], %c4
// CHECK-DAG:     %[[Q:.*]] = arith.divsi %[[I]], %c4
// CHECK:         memref.store %{{.*}}, %{{.*}}[%[[Q]], %[[R]]] : memref<24x4xi32>
// CHECK-NOT:   scf.parallel
func.func @two_dims(%m: memref<24x4xi32>, %v: i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c24 = arith.constant 24 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c24, %c4) step (%c1, %c1) {
    memref.store %v, %m[%i, %j] : memref<24x4xi32>
    scf.reduce
  }
  return
}

// Non-unit steps and lower bounds are normalized first.
// CHECK-LABEL: func.func @three_dims_strided
// CHECK:       scf.parallel (%{{.*}}) = (%c0) to (%c128) step (%c1) {
// CHECK-COUNT-2: arith.remsi
// CHECK:         affine.apply
// CHECK:         affine.apply
// CHECK:         affine.apply
// CHECK-NOT:   scf.parallel
func.func @three_dims_strided(%m: memref<8x9x10xi32>, %v: i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %c9 = arith.constant 9 : index
  %c10 = arith.constant 10 : index
  scf.parallel (%i, %j, %k) = (%c0, %c1, %c0) to (%c8, %c9, %c10) step (%c2, %c1, %c3) {
    memref.store %v, %m[%i, %j, %k] : memref<8x9x10xi32>
    scf.reduce
  }
  return
}

// CHECK-LABEL: func.func @one_dim
// CHECK:       scf.parallel (%{{.*}}) = (%c0) to (%c24) step (%c1) {
func.func @one_dim(%m: memref<24xi32>, %v: i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c24 = arith.constant 24 : index
  scf.parallel (%i) = (%c0) to (%c24) step (%c1) {
    memref.store %v, %m[%i] : memref<24xi32>
    scf.reduce
  }
  return
}

// CHECK-LABEL: func.func @with_reduction
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c24, %c4) step (%c1, %c1) init
func.func @with_reduction(%m: memref<24x4xi32>) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c24 = arith.constant 24 : index
  %z = arith.constant 0 : i32
  %s = scf.parallel (%i, %j) = (%c0, %c0) to (%c24, %c4) step (%c1, %c1) init (%z) -> i32 {
    %x = memref.load %m[%i, %j] : memref<24x4xi32>
    scf.reduce(%x : i32) {
    ^bb0(%a: i32, %b: i32):
      %t = arith.addi %a, %b : i32
      scf.reduce.return %t : i32
    }
  }
  return %s : i32
}
