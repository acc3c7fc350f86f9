// RUN: bm-opt %s --bm-export-signatures="output=- out-params=auto" -o /dev/null | FileCheck %s
// RUN: bm-opt %s --bm-export-signatures="output=%t.json out-params=true" -o /dev/null
// RUN: FileCheck %s --check-prefix=ON --input-file %t.json
// RUN: bm-opt %s --bm-export-signatures="output=%t.json" | FileCheck %s --check-prefix=IR
// RUN: FileCheck %s --check-prefix=OFF --input-file %t.json

// The signatures of the public functions with a body, as the C interface
// sees them; private and external functions are left out. With
// out-params=auto the dynamic result of @dyn keeps every result returned,
// and the JSON names it.

// CHECK: "format": "bm.signatures/1"
// CHECK-NEXT: "out_params": false
// CHECK-NEXT: "out_params_blocker": "@dyn returns tensor<?xf32>, which has a dynamic size"
// CHECK: "name": "step"
// CHECK-NEXT: "c_name": "_mlir_ciface_step"
// CHECK-NEXT: "arguments": [
// CHECK-NEXT: {
// CHECK-NEXT: "type": "tensor<4x8xf32>"
// CHECK-NEXT: "kind": "tensor"
// CHECK-NEXT: "element": "f32"
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 4,
// CHECK-NEXT: 8
// CHECK-NEXT: ]
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "type": "i64"
// CHECK-NEXT: "kind": "scalar"
// CHECK-NEXT: "element": "i64"
// CHECK-NEXT: },
// CHECK-NEXT: {
// CHECK-NEXT: "type": "!bm.tensor<4x8xe2m3, block = [4, 8]>"
// CHECK-NEXT: "kind": "other"
// CHECK-NEXT: }
// CHECK-NEXT: ],
// CHECK-NEXT: "results": [
// CHECK-NEXT: {
// CHECK-NEXT: "type": "memref<4xi8>"
// CHECK-NEXT: "kind": "memref"
// CHECK-NEXT: "element": "i8"
// CHECK: "name": "dyn"
// CHECK: "shape": [
// CHECK-NEXT: -1
// CHECK-NOT: "name": "helper"
// CHECK-NOT: "name": "external"

// Mode true: the lowering will take the results as out-params (and
// reject @dyn then); the blocker is still named.
// ON: "out_params": true
// ON-NEXT: "out_params_blocker": "@dyn

// OFF: "out_params": false

// The IR is not changed.
// IR: func.func @step(
// IR: func.func private @helper(

func.func @step(%x: tensor<4x8xf32>, %seed: i64,
                %q: !bm.tensor<4x8xe2m3, block = [4, 8]>) -> memref<4xi8> {
  %m = memref.alloc() : memref<4xi8>
  return %m : memref<4xi8>
}

func.func @dyn(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

func.func private @helper(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

func.func private @external(%x: tensor<?xf32>) -> tensor<?xf32>
