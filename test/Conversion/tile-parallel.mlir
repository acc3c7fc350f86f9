// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-tile-parallel))" | FileCheck %s

// bm-tile-parallel tiles linalg ops marked bm.tile_parallel = N into an
// scf.forall over their first N loops (tiles of size 1; reductions are not
// tiled) and drops the mark; unmarked ops stay as they are.

#id = affine_map<(d0, d1) -> (d0, d1)>
#pack = affine_map<(d0, d1, d2) -> (d0 * 4 + d2, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @marked
// CHECK:       scf.forall (%[[I:.*]]) in (3) shared_outs(%[[S:.*]] = %{{.*}}) -> (tensor<3x8x4xi32>)
// CHECK:         %[[IN:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [4, 8] [1, 1] : tensor<12x8xi8> to tensor<4x8xi8>
// CHECK:         %[[T:.*]] = linalg.generic {{.*}} ins(%[[IN]] : tensor<4x8xi8>) outs(%{{.*}} : tensor<1x8x4xi32>)
// CHECK-NOT:       bm.tile_parallel
// CHECK:         tensor.parallel_insert_slice %[[T]] into %[[S]][%[[I]], 0, 0] [1, 8, 4]
func.func @marked(%codes: tensor<12x8xi8>) -> tensor<3x8x4xi32> {
  %e = tensor.empty() : tensor<3x8x4xi32>
  %r = linalg.generic {indexing_maps = [#pack, #out],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%codes : tensor<12x8xi8>) outs(%e : tensor<3x8x4xi32>)
      attrs = {bm.tile_parallel = 1 : i64} {
  ^bb0(%c: i8, %o: i32):
    %w = arith.extsi %c : i8 to i32
    linalg.yield %w : i32
  } -> tensor<3x8x4xi32>
  return %r : tensor<3x8x4xi32>
}

// Two marked loops, the second a reduction: only the first is tiled.
// CHECK-LABEL: func.func @reduction
// CHECK:       scf.forall (%{{.*}}) in (6) shared_outs
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<1xi32>)
// CHECK-NOT:   scf.forall (
func.func @reduction(%x: tensor<6x10xi32>, %init: tensor<6xi32>) -> tensor<6xi32> {
  %r = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x10xi32>) outs(%init : tensor<6xi32>)
      attrs = {bm.tile_parallel = 2 : i64} {
  ^bb0(%a: i32, %acc: i32):
    %s = arith.addi %a, %acc : i32
    linalg.yield %s : i32
  } -> tensor<6xi32>
  return %r : tensor<6xi32>
}

// CHECK-LABEL: func.func @unmarked
// CHECK-NOT:   scf.forall (
// CHECK:       linalg.generic
func.func @unmarked(%x: tensor<6x10xi32>) -> tensor<6x10xi32> {
  %e = tensor.empty() : tensor<6x10xi32>
  %r = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<6x10xi32>) outs(%e : tensor<6x10xi32>) {
  ^bb0(%a: i32, %o: i32):
    linalg.yield %a : i32
  } -> tensor<6x10xi32>
  return %r : tensor<6x10xi32>
}
