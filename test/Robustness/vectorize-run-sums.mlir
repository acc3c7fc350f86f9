// bm-vectorize-run-sums on run-sum ops it cannot or need not vectorize:
// dynamic shapes, fewer than four loops, memrefs, and an empty iteration
// space (zero-size M/N; used to crash in the tiler with a tile size of 0).
// Each is left untouched.
// RUN: bm-opt %s -split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(bm-vectorize-run-sums))' | FileCheck %s

#map3 = affine_map<(m, n, r, j) -> (m, r, j)>
#mapB = affine_map<(m, n, r, j) -> (r, j, n)>
#mapC = affine_map<(m, n, r, j) -> (m, n, r)>

// CHECK-LABEL: func.func @empty_mn
// CHECK-NOT: vector.
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-SAME: bm.run_sums
func.func @empty_mn(%a: tensor<0x1x8xi8>, %b: tensor<1x8x0xi8>, %c: tensor<0x0x1xi32>) -> tensor<0x0x1xi32> {
  %r = linalg.generic {indexing_maps = [#map3, #mapB, #mapC],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<0x1x8xi8>, tensor<1x8x0xi8>) outs(%c : tensor<0x0x1xi32>) attrs = {bm.run_sums} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<0x0x1xi32>
  return %r : tensor<0x0x1xi32>
}

// -----

#map3 = affine_map<(m, n, r, j) -> (m, r, j)>
#mapB = affine_map<(m, n, r, j) -> (r, j, n)>
#mapC = affine_map<(m, n, r, j) -> (m, n, r)>

// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK-SAME: bm.run_sums
func.func @dynamic(%a: tensor<?x1x8xi8>, %b: tensor<1x8x?xi8>, %c: tensor<?x?x1xi32>) -> tensor<?x?x1xi32> {
  %r = linalg.generic {indexing_maps = [#map3, #mapB, #mapC],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x1x8xi8>, tensor<1x8x?xi8>) outs(%c : tensor<?x?x1xi32>) attrs = {bm.run_sums} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x?x1xi32>
  return %r : tensor<?x?x1xi32>
}

// -----

// CHECK-LABEL: func.func @three_loops
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK-SAME: bm.run_sums
func.func @three_loops(%a: tensor<4x8xi8>, %c: tensor<4xi32>) -> tensor<4xi32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, j) -> (m, j)>, affine_map<(m, j) -> (m)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xi8>) outs(%c : tensor<4xi32>) attrs = {bm.run_sums} {
  ^bb0(%x: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %s = arith.addi %acc, %xe : i32
    linalg.yield %s : i32
  } -> tensor<4xi32>
  return %r : tensor<4xi32>
}

// -----

#map3 = affine_map<(m, n, r, j) -> (m, r, j)>
#mapB = affine_map<(m, n, r, j) -> (r, j, n)>
#mapC = affine_map<(m, n, r, j) -> (m, n, r)>

// CHECK-LABEL: func.func @memrefs
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK-SAME: bm.run_sums
func.func @memrefs(%a: memref<2x1x8xi8>, %b: memref<1x8x4xi8>, %c: memref<2x4x1xi32>) {
  linalg.generic {indexing_maps = [#map3, #mapB, #mapC],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<2x1x8xi8>, memref<1x8x4xi8>) outs(%c : memref<2x4x1xi32>) attrs = {bm.run_sums} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}
