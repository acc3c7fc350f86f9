// RUN: bm-opt %s --convert-bm-to-linalg -split-input-file | FileCheck %s

// A !bm.tensor becomes its codes and biases everywhere: arguments, results,
// calls and returns.
// CHECK-LABEL: func.func @callee
// CHECK-SAME: (%[[C:.*]]: tensor<64x96xi8>, %[[B:.*]]: tensor<2x2xi8>) -> (tensor<64x96xi8>, tensor<2x2xi8>)
// CHECK: return %[[C]], %[[B]] : tensor<64x96xi8>, tensor<2x2xi8>
func.func @callee(%q: !bm.tensor<64x96xe2m3, block = [48, 48]>) -> !bm.tensor<64x96xe2m3, block = [48, 48]> {
  return %q : !bm.tensor<64x96xe2m3, block = [48, 48]>
}
// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[C:.*]]: tensor<64x96xi8>, %[[B:.*]]: tensor<2x2xi8>)
// CHECK: %[[R:.*]]:2 = call @callee(%[[C]], %[[B]]) : (tensor<64x96xi8>, tensor<2x2xi8>) -> (tensor<64x96xi8>, tensor<2x2xi8>)
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @caller(%q: !bm.tensor<64x96xe2m3, block = [48, 48]>) -> !bm.tensor<64x96xe2m3, block = [48, 48]> {
  %r = call @callee(%q) : (!bm.tensor<64x96xe2m3, block = [48, 48]>) -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  return %r : !bm.tensor<64x96xe2m3, block = [48, 48]>
}

// -----

// pack and unpack only forward the parts; wide formats store i16/i32 codes.
// CHECK-LABEL: func.func @pack_unpack
// CHECK-SAME: (%[[C:.*]]: tensor<5x7xi16>, %[[B:.*]]: tensor<3x1xi8>)
// CHECK-NEXT: return %[[C]], %[[B]]
func.func @pack_unpack(%codes: tensor<5x7xi16>, %biases: tensor<3x1xi8>) -> (tensor<5x7xi16>, tensor<3x1xi8>) {
  %q = bm.pack %codes, %biases : tensor<5x7xi16>, tensor<3x1xi8> -> !bm.tensor<5x7xe5m10, block = [2, 7]>
  %c, %b = bm.unpack %q : !bm.tensor<5x7xe5m10, block = [2, 7]> -> tensor<5x7xi16>, tensor<3x1xi8>
  return %c, %b : tensor<5x7xi16>, tensor<3x1xi8>
}

// -----

// Transposes move codes and biases together.
// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[C:.*]]: tensor<64x96xi8>, %[[B:.*]]: tensor<2x3xi8>)
// CHECK: %[[TC:.*]] = linalg.transpose ins(%[[C]] : tensor<64x96xi8>) outs(%{{.*}} : tensor<96x64xi8>) permutation = [1, 0]
// CHECK: %[[TB:.*]] = linalg.transpose ins(%[[B]] : tensor<2x3xi8>) outs(%{{.*}} : tensor<3x2xi8>) permutation = [1, 0]
// CHECK: return %[[TC]], %[[TB]]
func.func @transpose(%q: !bm.tensor<64x96xe2m3, block = [48, 32]>) -> !bm.tensor<96x64xe2m3, block = [32, 48]> {
  %t = bm.transpose %q [1, 0] : !bm.tensor<64x96xe2m3, block = [48, 32]> -> !bm.tensor<96x64xe2m3, block = [32, 48]>
  return %t : !bm.tensor<96x64xe2m3, block = [32, 48]>
}

// -----

// BM tensors carried through scf loops are converted too.
// CHECK-LABEL: func.func @loop
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<4x4xi8>, tensor<1x1xi8>)
func.func @loop(%q: !bm.tensor<4x4xe2m3>, %n: index) -> !bm.tensor<4x4xe2m3> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%a = %q) -> (!bm.tensor<4x4xe2m3>) {
    %t = bm.transpose %a [1, 0] : !bm.tensor<4x4xe2m3> -> !bm.tensor<4x4xe2m3>
    scf.yield %t : !bm.tensor<4x4xe2m3>
  }
  return %r : !bm.tensor<4x4xe2m3>
}
