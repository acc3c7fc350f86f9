// bm-emit-c-interface on functions of every kind: only public func.func
// definitions are marked, and only their tensor arguments (ranked, dynamic,
// unranked, zero-size) get bufferization.writable = false. Declarations,
// private functions, llvm.func and functions of nested modules are left
// untouched.
// RUN: bm-opt %s --bm-emit-c-interface | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu=emit-c-interface=true | FileCheck %s --check-prefix=LOWER

// CHECK: func.func private @declaration(tensor<4xf32>) -> tensor<4xf32>{{$}}
func.func private @declaration(tensor<4xf32>) -> tensor<4xf32>

// CHECK: func.func @public(%{{.*}}: tensor<*xf32> {bufferization.writable = false},
// CHECK-SAME: %{{.*}}: tensor<?xf32> {bufferization.writable = false},
// CHECK-SAME: %{{.*}}: memref<4xf32>,
// CHECK-SAME: %{{.*}}: tensor<0xf32> {bufferization.writable = false}, %{{.*}}: i64)
// CHECK-SAME: attributes {llvm.emit_c_interface}
// LOWER: llvm.func @_mlir_ciface_public
func.func @public(%a: tensor<*xf32>, %b: tensor<?xf32>, %c: memref<4xf32>, %d: tensor<0xf32>, %e: i64) {
  return
}

// CHECK: func.func private @private(%{{.*}}: tensor<4xf32>) {
// LOWER-NOT: _mlir_ciface_private
func.func private @private(%a: tensor<4xf32>) { return }

// CHECK: llvm.func @llvm_function() {
llvm.func @llvm_function() { llvm.return }

// CHECK: func.func @nested(%{{.*}}: tensor<4xf32>) {
module @inner {
  func.func @nested(%a: tensor<4xf32>) { return }
}
