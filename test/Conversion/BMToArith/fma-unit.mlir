// RUN: bm-opt %s --convert-bm-to-arith -split-input-file | FileCheck %s

// The FMA unit in integers: sign-extend the integer forms to the
// accumulator's storage type (19 bits -> i32), multiply, add.
// CHECK-LABEL: func.func @fma
// CHECK-SAME: (%[[A:.*]]: i8, %[[B:.*]]: i16) -> i32
// CHECK: %[[Z:.*]] = arith.constant 0 : i32
// CHECK: %[[XA:.*]] = arith.extsi %[[A]] : i8 to i32
// CHECK: %[[XB:.*]] = arith.extsi %[[B]] : i16 to i32
// CHECK: %[[P:.*]] = arith.muli %[[XA]], %[[XB]] : i32
// CHECK: %[[S:.*]] = arith.addi %[[Z]], %[[P]] : i32
// CHECK: return %[[S]] : i32
func.func @fma(%a: i8, %b: i16) -> !bm.kulisch<19> {
  %z = bm.kulisch.zero : !bm.kulisch<19>
  %r = bm.fma %z, %a, %b formats(e2m3, e3m2) : !bm.kulisch<19>, i8, i16
  return %r : !bm.kulisch<19>
}

// -----

// 33 bits need an i64 accumulator.
// CHECK-LABEL: func.func @wide
// CHECK-SAME: -> i64
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: arith.muli %{{.*}} : i64
func.func @wide(%a: i32, %b: i16) -> !bm.kulisch<33> {
  %z = bm.kulisch.zero : !bm.kulisch<33>
  %r = bm.fma %z, %a, %b formats(e4m3, e2m5) : !bm.kulisch<33>, i32, i16
  return %r : !bm.kulisch<33>
}

// -----

// decode: sign, exponent field and fraction by shifts and masks.
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[C:.*]]: i8) -> i16
// CHECK: arith.extui %[[C]] : i8 to i32
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: arith.shli
// CHECK: arith.subi
// CHECK: arith.select
// CHECK-NOT: bm.decode
func.func @decode(%c: i8) -> i16 {
  %q = bm.decode %c format(e3m2) : i8 -> i16
  return %q : i16
}

// -----

// to_f32 rounds acc * 2^scale once with integer operations only: the
// leading-one position (ctlz), a round-to-nearest-even shift, and the bits
// assembled and bitcast. No float multiply by a power of two.
// CHECK-LABEL: func.func @to_f32
// CHECK-SAME: (%[[A:.*]]: i32, %[[S:.*]]: i32) -> f32
// CHECK: arith.extsi %[[A]] : i32 to i64
// CHECK: math.ctlz %{{.*}} : i64
// CHECK: arith.shrui %{{.*}} : i64
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK-NOT: arith.mulf
// CHECK-NOT: math.exp2
func.func @to_f32(%acc: !bm.kulisch<19>, %scale: i32) -> f32 {
  %f = bm.kulisch.to_f32 %acc, %scale : !bm.kulisch<19>
  return %f : f32
}

// -----

// Kulisch values inside tensors, linalg regions and loops become integers.
// CHECK-LABEL: func.func @structure
// CHECK: tensor.empty() : tensor<4x8xi32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x8xi32>)
// CHECK: ^bb0(%{{.*}}: i8, %{{.*}}: i32):
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (i32)
// CHECK-NOT: !bm.kulisch
func.func @structure(%x: tensor<4x8xi8>, %n: index) -> tensor<4x8x!bm.kulisch<20>> {
  %e = tensor.empty() : tensor<4x8x!bm.kulisch<20>>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xi8>) outs(%e : tensor<4x8x!bm.kulisch<20>>) {
  ^bb0(%a: i8, %o: !bm.kulisch<20>):
    %z = bm.kulisch.zero : !bm.kulisch<20>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (!bm.kulisch<20>) {
      %q = bm.fma %acc, %a, %a formats(e2m3, e2m3) : !bm.kulisch<20>, i8, i8
      scf.yield %q : !bm.kulisch<20>
    }
    linalg.yield %s : !bm.kulisch<20>
  } -> tensor<4x8x!bm.kulisch<20>>
  return %r : tensor<4x8x!bm.kulisch<20>>
}
