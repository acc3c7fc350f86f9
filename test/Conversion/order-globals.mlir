// RUN: bm-opt %s --split-input-file --bm-order-globals | FileCheck %s

// The constant globals come first, in the order of their first read, named
// as one-shot-bufferize names them in that order; the readers follow.
// Other symbols stay as they are.
// CHECK-LABEL: module
// CHECK-NEXT:    memref.global "private" constant @__constant_2xi64 : memref<2xi64> = dense<[0, 12]>
// CHECK-NEXT:    memref.global "private" constant @__constant_4xi8 : memref<4xi8> = dense<7>
// CHECK-NEXT:    memref.global "private" constant @__constant_2xi64_0 : memref<2xi64> = dense<[0, 24]>
// CHECK-NEXT:    memref.global "private" constant @__constant_2xi64_1 : memref<2xi64> = dense<[0, 48]>
// CHECK-NEXT:    memref.global "private" @__constant_2xi64_9 : memref<2xi64>
// CHECK-NEXT:    memref.global "private" constant @table
// CHECK:       func.func @f
// CHECK-NEXT:    memref.get_global @__constant_2xi64 :
// CHECK-NEXT:    memref.get_global @__constant_4xi8 :
// CHECK-NEXT:    memref.get_global @table :
// CHECK-NEXT:    memref.get_global @__constant_2xi64 :
// CHECK:       func.func @g
// CHECK-NEXT:    memref.get_global @__constant_2xi64_0 :
// CHECK-NEXT:    memref.get_global @__constant_2xi64_1 :
// CHECK-NEXT:    memref.get_global @__constant_2xi64_9 :
module {
  memref.global "private" constant @__constant_2xi64_1 : memref<2xi64> = dense<[0, 24]>
  memref.global "private" constant @__constant_2xi64 : memref<2xi64> = dense<[0, 48]>
  memref.global "private" @__constant_2xi64_9 : memref<2xi64>
  memref.global "private" constant @table : memref<2xi64> = dense<[1, 2]>
  memref.global "private" constant @__constant_4xi8 : memref<4xi8> = dense<7>
  memref.global "private" constant @__constant_2xi64_0 : memref<2xi64> = dense<[0, 12]>
  func.func @f() {
    %a = memref.get_global @__constant_2xi64_0 : memref<2xi64>
    %b = memref.get_global @__constant_4xi8 : memref<4xi8>
    %c = memref.get_global @table : memref<2xi64>
    %d = memref.get_global @__constant_2xi64_0 : memref<2xi64>
    return
  }
  func.func @g() {
    %a = memref.get_global @__constant_2xi64_1 : memref<2xi64>
    %b = memref.get_global @__constant_2xi64 : memref<2xi64>
    %c = memref.get_global @__constant_2xi64_9 : memref<2xi64>
    return
  }
}

// -----

// A constant global that nothing reads goes after the read ones.
// CHECK-LABEL: module
// CHECK-NEXT:    memref.global "private" constant @__constant_1xi32 : memref<1xi32> = dense<2>
// CHECK-NEXT:    memref.global "private" constant @__constant_1xi32_0 : memref<1xi32> = dense<1>
// CHECK:         memref.get_global @__constant_1xi32 :
module {
  memref.global "private" constant @__constant_1xi32 : memref<1xi32> = dense<1>
  memref.global "private" constant @__constant_1xi32_0 : memref<1xi32> = dense<2>
  func.func @f() {
    %a = memref.get_global @__constant_1xi32_0 : memref<1xi32>
    return
  }
}
