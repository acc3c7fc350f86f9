// convert-bm-to-linalg on what it does not lower: unregistered ops and
// scf.execute_region holding !bm.tensor values (fail with a diagnostic),
// ops of other dialects on dynamic and unranked tensors (untouched), and on
// zero-size and rank-0 BM tensors (lowered). A convolution whose input has
// zero height and width used to be lowered to a scan that clamps indices
// into the empty dimension (an out-of-bounds read at run time); it now
// returns init, as every tap is padding.
// RUN: not bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --convert-bm-to-linalg 2>&1 | FileCheck %s

// CHECK: error: failed to legalize operation 'foo.use'
func.func @unregistered_user(%x: tensor<4xf32>) {
  %q = bm.quantize %x nearest : tensor<4xf32> -> !bm.tensor<4xe2m3>
  "foo.use"(%q) : (!bm.tensor<4xe2m3>) -> ()
  return
}

// -----

// CHECK: error: failed to legalize unresolved materialization
func.func @execute_region(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = scf.execute_region -> !bm.tensor<4xe2m3> {
    %a = bm.quantize %x nearest : tensor<4xf32> -> !bm.tensor<4xe2m3>
    scf.yield %a : !bm.tensor<4xe2m3>
  }
  %y = bm.dequantize %q : !bm.tensor<4xe2m3> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @other_dialects
// CHECK-NEXT: math.sqrt %{{.*}} : tensor<?xf32>
// CHECK-NEXT: "foo.op"(%{{.*}}) : (tensor<*xf32>) -> ()
func.func @other_dialects(%x: tensor<?xf32>, %u: tensor<*xf32>) -> tensor<?xf32> {
  %y = math.sqrt %x : tensor<?xf32>
  "foo.op"(%u) : (tensor<*xf32>) -> ()
  return %y : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @zero_and_rank0
// CHECK-SAME: (%{{.*}}: tensor<0x4xf32>, %{{.*}}: tensor<f32>, %{{.*}}: i64)
// CHECK-NOT: bm.quantize
// CHECK-NOT: bm.dequantize
// CHECK: return
func.func @zero_and_rank0(%x: tensor<0x4xf32>, %s: tensor<f32>, %seed: i64) -> (tensor<0x4xf32>, tensor<f32>) {
  %q = bm.quantize %x stochastic seed %seed : tensor<0x4xf32> -> !bm.tensor<0x4xe4m3, block = [1, 2]>
  %y = bm.dequantize %q : !bm.tensor<0x4xe4m3, block = [1, 2]> -> tensor<0x4xf32>
  %r = bm.quantize %s nearest : tensor<f32> -> !bm.tensor<e2m3>
  %t = bm.dequantize %r : !bm.tensor<e2m3> -> tensor<f32>
  return %y, %t : tensor<0x4xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @conv_empty_input
// CHECK-SAME: %[[INIT:[a-z0-9]+]]: tensor<1x3x2x2xf32>
// CHECK-NOT: scf.for
// CHECK-NOT: bm.fma
// CHECK: return %[[INIT]]
func.func @conv_empty_input(%x: !bm.tensor<1x2x0x0xe2m3>, %w: !bm.tensor<3x2x1x1xe2m3>,
                            %init: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
  %r = bm.conv2d %x, %w, %init {padding = array<i64: 1, 1>}
      : !bm.tensor<1x2x0x0xe2m3>, !bm.tensor<3x2x1x1xe2m3>, tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  return %r : tensor<1x3x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_empty
// CHECK-SAME: %[[INIT:[a-z0-9]+]]: tensor<4x3xf32>
// CHECK-NOT: bm.fma
// CHECK: return %[[INIT]]
func.func @matmul_empty(%a: !bm.tensor<4x0xe2m3>, %b: !bm.tensor<0x3xe2m3>, %init: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = bm.matmul %a, %b, %init : !bm.tensor<4x0xe2m3>, !bm.tensor<0x3xe2m3>, tensor<4x3xf32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// The widest format lowers too (its codes are i32).
// CHECK-LABEL: func.func @widest_format
// CHECK-NOT: bm.quantize
// CHECK: return
func.func @widest_format(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = bm.quantize %x nearest : tensor<4xf32> -> !bm.tensor<4xe8m23>
  %y = bm.dequantize %q : !bm.tensor<4xe8m23> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
