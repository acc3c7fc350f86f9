// bm-lower-to-cpu on IR beyond what it lowers: it either produces LLVM
// dialect or fails with a diagnostic. Dynamic shapes without bm ops lower;
// zero-size BM ops lower (zero-size M and N used to crash the tiler in
// bm-vectorize-run-sums); vector FMA-unit ops, unregistered ops holding BM
// values and unranked values that cannot be bufferized are diagnosed.
// RUN: not bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --bm-lower-to-cpu 2>&1 | FileCheck %s
// RUN: not bm-opt %s -split-input-file --allow-unregistered-dialect \
// RUN:   --bm-lower-to-cpu=parallel=true 2>&1 | FileCheck %s

// CHECK-LABEL: llvm.func @dynamic
func.func @dynamic(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %c: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>) outs(%c : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// CHECK-LABEL: llvm.func @zero_sizes
func.func @zero_sizes(%a: tensor<0x8xf32>, %b: tensor<8x0xf32>, %c: tensor<0x0xf32>,
                      %x: tensor<1x2x0x0xf32>, %w: tensor<3x2x1x1xf32>, %i: tensor<1x3x2x2xf32>)
    -> (tensor<0x0xf32>, tensor<1x3x2x2xf32>) {
  %qa = bm.quantize %a nearest : tensor<0x8xf32> -> !bm.tensor<0x8xe2m3>
  %qb = bm.quantize %b nearest : tensor<8x0xf32> -> !bm.tensor<8x0xe2m3>
  %r = bm.matmul %qa, %qb, %c : !bm.tensor<0x8xe2m3>, !bm.tensor<8x0xe2m3>, tensor<0x0xf32> -> tensor<0x0xf32>
  %qx = bm.quantize %x nearest : tensor<1x2x0x0xf32> -> !bm.tensor<1x2x0x0xe2m3>
  %qw = bm.quantize %w nearest : tensor<3x2x1x1xf32> -> !bm.tensor<3x2x1x1xe2m3>
  %y = bm.conv2d %qx, %qw, %i {padding = array<i64: 1, 1>}
      : !bm.tensor<1x2x0x0xe2m3>, !bm.tensor<3x2x1x1xe2m3>, tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  return %r, %y : tensor<0x0xf32>, tensor<1x3x2x2xf32>
}

// -----

// Only one of M and N empty, and an empty batch of a whole-image conv (an
// im2col matmul): the vector kernel has no tile to cut and returns init.
// CHECK-LABEL: llvm.func @half_empty
func.func @half_empty(%a: !bm.tensor<0x8xe2m3, block = [4, 4]>,
                      %b: !bm.tensor<8x5xe2m3, block = [4, 4]>,
                      %i0: tensor<0x5xf32>,
                      %c: !bm.tensor<3x8xe2m3, block = [4, 4]>,
                      %d: !bm.tensor<8x0xe2m3, block = [4, 4]>,
                      %i1: tensor<3x0xf32>,
                      %x: !bm.tensor<0x4x5x5xe2m3, block = [1, 4, 0, 0]>,
                      %w: !bm.tensor<2x4x3x3xe2m3, block = [2, 4, 0, 0]>,
                      %i2: tensor<0x2x5x5xf32>)
    -> (tensor<0x5xf32>, tensor<3x0xf32>, tensor<0x2x5x5xf32>) {
  %r0 = bm.matmul %a, %b, %i0 : !bm.tensor<0x8xe2m3, block = [4, 4]>,
      !bm.tensor<8x5xe2m3, block = [4, 4]>, tensor<0x5xf32> -> tensor<0x5xf32>
  %r1 = bm.matmul %c, %d, %i1 : !bm.tensor<3x8xe2m3, block = [4, 4]>,
      !bm.tensor<8x0xe2m3, block = [4, 4]>, tensor<3x0xf32> -> tensor<3x0xf32>
  %r2 = bm.conv2d %x, %w, %i2 {padding = array<i64: 1, 1>}
      : !bm.tensor<0x4x5x5xe2m3, block = [1, 4, 0, 0]>,
        !bm.tensor<2x4x3x3xe2m3, block = [2, 4, 0, 0]>, tensor<0x2x5x5xf32>
      -> tensor<0x2x5x5xf32>
  return %r0, %r1, %r2 : tensor<0x5xf32>, tensor<3x0xf32>, tensor<0x2x5x5xf32>
}

// -----

func.func @vector_fma(%a: vector<4xi8>, %b: vector<4xi8>) -> !bm.kulisch<16> {
  %z = bm.kulisch.zero : !bm.kulisch<16>
  // CHECK: error: 'bm.fma' op with vector operands is not supported by convert-bm-to-arith yet
  %r = bm.fma %z, %a, %b formats(e2m3, e2m3) : !bm.kulisch<16>, vector<4xi8>, vector<4xi8>
  return %r : !bm.kulisch<16>
}

// -----

func.func @unregistered(%x: tensor<4xf32>) {
  %q = bm.quantize %x nearest : tensor<4xf32> -> !bm.tensor<4xe2m3>
  // CHECK: error: failed to legalize operation 'foo.use'
  "foo.use"(%q) : (!bm.tensor<4xe2m3>) -> ()
  return
}

// -----

func.func @unranked(%a: tensor<*xf32>) -> tensor<*xf32> {
  // CHECK: error: op was not bufferized
  %b = "foo.op"(%a) : (tensor<*xf32>) -> tensor<*xf32>
  return %b : tensor<*xf32>
}
