// bm-quantize-training on IR it does not handle: dynamic shapes, unranked
// tensors, unregistered ops, non-f32 and memref contractions, contractions
// it does not match (matvec) -- all left untouched -- and zero-size
// dimensions, which are rewritten to BM ops that then lower (zero-size M/N
// used to crash bm-vectorize-run-sums inside bm-lower-to-cpu).
// RUN: bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --bm-quantize-training=rounding=nearest | FileCheck %s
// RUN: not bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --bm-quantize-training=rounding=nearest --bm-lower-to-cpu 2>&1 \
// RUN:   | FileCheck %s --check-prefix=LOWER

// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: bm.
// CHECK: linalg.matmul
// LOWER-LABEL: llvm.func @dynamic
func.func @dynamic(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %c: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>) outs(%c : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func.func @unranked
// CHECK-NOT: bm.
// CHECK: "foo.op"
// LOWER: error: op was not bufferized
func.func @unranked(%a: tensor<*xf32>) -> tensor<*xf32> {
  %b = "foo.op"(%a) : (tensor<*xf32>) -> tensor<*xf32>
  return %b : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @not_matched
// CHECK-NOT: bm.
// CHECK: linalg.matvec
// CHECK: linalg.matmul {{.*}}f16
// LOWER-LABEL: llvm.func @not_matched
func.func @not_matched(%a: tensor<4x4xf32>, %v: tensor<4xf32>, %c: tensor<4xf32>,
                       %h: tensor<4x4xf16>, %hc: tensor<4x4xf16>) -> (tensor<4xf32>, tensor<4x4xf16>) {
  %r = linalg.matvec ins(%a, %v : tensor<4x4xf32>, tensor<4xf32>) outs(%c : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.matmul ins(%h, %h : tensor<4x4xf16>, tensor<4x4xf16>) outs(%hc : tensor<4x4xf16>) -> tensor<4x4xf16>
  return %r, %s : tensor<4xf32>, tensor<4x4xf16>
}

// -----

// CHECK-LABEL: func.func @memrefs
// CHECK-NOT: bm.
// CHECK: linalg.matmul
func.func @memrefs(%a: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %a : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @zero_mn
// CHECK: bm.matmul {{.*}} -> tensor<0x0xf32>
// LOWER-LABEL: llvm.func @zero_mn
func.func @zero_mn(%a: tensor<0x8xf32>, %b: tensor<8x0xf32>, %c: tensor<0x0xf32>) -> tensor<0x0xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<0x8xf32>, tensor<8x0xf32>) outs(%c : tensor<0x0xf32>) -> tensor<0x0xf32>
  return %r : tensor<0x0xf32>
}

// -----

// CHECK-LABEL: func.func @zero_k
// CHECK: bm.matmul {{.*}} -> tensor<4x3xf32>
// LOWER-LABEL: llvm.func @zero_k
func.func @zero_k(%a: tensor<4x0xf32>, %b: tensor<0x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x0xf32>, tensor<0x3xf32>) outs(%c : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @zero_channels
// CHECK: bm.conv2d {{.*}} -> tensor<1x2x2x2xf32>
// LOWER-LABEL: llvm.func @zero_channels
func.func @zero_channels(%x: tensor<1x0x4x4xf32>, %w: tensor<2x0x3x3xf32>, %c: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %r = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x0x4x4xf32>, tensor<2x0x3x3xf32>) outs(%c : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %r : tensor<1x2x2x2xf32>
}
