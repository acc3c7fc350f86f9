// convert-bm-to-arith on IR outside its scope: bm ops it does not lower
// (left alone), !bm.kulisch values in unregistered ops (used to dereference
// a null dialect) and in dynamic and zero-size tensors (converted), other
// function kinds such as llvm.func (used to hit cast<FunctionType> on
// LLVMFunctionType), and unranked tensors.
// RUN: bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --convert-bm-to-arith | FileCheck %s

// CHECK-LABEL: func.func @unregistered
// CHECK: "foo.make"() : () -> i32
// CHECK: "foo.take"(%{{.*}}) : (tensor<?xi32>) -> ()
func.func @unregistered(%t: tensor<?x!bm.kulisch<19>>) {
  %k = "foo.make"() : () -> !bm.kulisch<19>
  "foo.take"(%t) : (tensor<?x!bm.kulisch<19>>) -> ()
  return
}

// -----

// Ranked tensors of accumulators are converted whatever their shape.
// CHECK-LABEL: func.func @shapes
// CHECK-SAME: (%{{.*}}: tensor<?x4xi32>, %{{.*}}: tensor<0xi16>) -> tensor<?x4xi32>
func.func @shapes(%a: tensor<?x4x!bm.kulisch<19>>, %b: tensor<0x!bm.kulisch<9>>) -> tensor<?x4x!bm.kulisch<19>> {
  return %a : tensor<?x4x!bm.kulisch<19>>
}

// -----

// CHECK-LABEL: llvm.func @llvm_function
// CHECK-LABEL: func.func @beside_llvm
// CHECK: arith.constant 0 : i16
llvm.func @llvm_function(%x: i32) -> i32 {
  llvm.return %x : i32
}
func.func @beside_llvm() -> !bm.kulisch<12> {
  %z = bm.kulisch.zero : !bm.kulisch<12>
  return %z : !bm.kulisch<12>
}

// -----

// bm ops of other passes and unranked tensors are not this pass's business.
// CHECK-LABEL: func.func @not_fma_unit
// CHECK: bm.quantize
// CHECK: bm.dequantize
func.func @not_fma_unit(%x: tensor<4xf32>, %u: tensor<*xf32>) -> tensor<4xf32> {
  %q = bm.quantize %x nearest : tensor<4xf32> -> !bm.tensor<4xe2m3>
  %y = bm.dequantize %q : !bm.tensor<4xe2m3> -> tensor<4xf32>
  "foo.op"(%u) : (tensor<*xf32>) -> ()
  return %y : tensor<4xf32>
}
