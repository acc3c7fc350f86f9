// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file -verify-diagnostics
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

// Every linalg contraction or convolution that bm-quantize-training leaves
// in FP32 gets a remark that says why; nothing is skipped silently. The
// index is the op's place in program order among all of them (as in
// keep-fp32 and the report).

// Indices count every contraction; bm-report lists the ones left in FP32
// with the reason, above the BM table.
// REPORT-LABEL: bm-report: @mixed: 1 BM contraction, 1 in FP32
// REPORT-NEXT: fp32 linalg.depthwise_conv_2d_nhwc_hwc: not rewritable: it is a grouped or depthwise convolution
// REPORT-NEXT: op lhs rhs
// REPORT-NEXT: bm.conv2d e2m3 [1x4x8x8] e2m3 [2x4x3x3] {{.*}} linalg.conv_2d_nhwc_fhwc
// A function with FP32 contractions only still gets its lines.
// REPORT-LABEL: bm-report: @depthwise: 0 BM contractions, 1 in FP32
// REPORT-NEXT: fp32 linalg.depthwise_conv_2d_nhwc_hwc: not rewritable
// REPORT-NOT: op lhs rhs
func.func @mixed(%x: tensor<1x8x8x4xf32>, %dw: tensor<3x3x4xf32>, %w: tensor<2x3x3x4xf32>,
                 %i0: tensor<1x6x6x4xf32>, %i1: tensor<1x6x6x2xf32>) -> (tensor<1x6x6x4xf32>, tensor<1x6x6x2xf32>) {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.depthwise_conv_2d_nhwc_hwc) kept in FP32: it is a grouped or depthwise convolution}}
  %y0 = linalg.depthwise_conv_2d_nhwc_hwc ins(%x, %dw : tensor<1x8x8x4xf32>, tensor<3x3x4xf32>) outs(%i0 : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  %y1 = linalg.conv_2d_nhwc_fhwc ins(%x, %w : tensor<1x8x8x4xf32>, tensor<2x3x3x4xf32>) outs(%i1 : tensor<1x6x6x2xf32>) -> tensor<1x6x6x2xf32>
  return %y0, %y1 : tensor<1x6x6x4xf32>, tensor<1x6x6x2xf32>
}

// -----

// Depthwise and grouped convolutions: bm.conv2d sums over every input channel.
func.func @depthwise(%x: tensor<1x8x8x4xf32>, %w: tensor<3x3x4xf32>, %i: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.depthwise_conv_2d_nhwc_hwc) kept in FP32: it is a grouped or depthwise convolution (some channels are not summed over); bm.conv2d sums over all input channels}}
  %y = linalg.depthwise_conv_2d_nhwc_hwc ins(%x, %w : tensor<1x8x8x4xf32>, tensor<3x3x4xf32>) outs(%i : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  return %y : tensor<1x6x6x4xf32>
}

// -----

func.func @grouped(%x: tensor<1x2x4x8x8xf32>, %w: tensor<4x2x4x3x3xf32>, %i: tensor<1x2x4x6x6xf32>) -> tensor<1x2x4x6x6xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.conv_2d_ngchw_fgchw) kept in FP32: it is a grouped or depthwise convolution (some channels are not summed over); bm.conv2d sums over all input channels}}
  %y = linalg.conv_2d_ngchw_fgchw ins(%x, %w : tensor<1x2x4x8x8xf32>, tensor<4x2x4x3x3xf32>) outs(%i : tensor<1x2x4x6x6xf32>) -> tensor<1x2x4x6x6xf32>
  return %y : tensor<1x2x4x6x6xf32>
}

// -----

// Convolutions that are not 2-D.
func.func @conv1d(%x: tensor<1x8x4xf32>, %w: tensor<3x4x2xf32>, %i: tensor<1x6x2xf32>) -> tensor<1x6x2xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.conv_1d_nwc_wcf) kept in FP32: it is a 1-D convolution; bm.conv2d is 2-D}}
  %y = linalg.conv_1d_nwc_wcf ins(%x, %w : tensor<1x8x4xf32>, tensor<3x4x2xf32>) outs(%i : tensor<1x6x2xf32>) -> tensor<1x6x2xf32>
  return %y : tensor<1x6x2xf32>
}

// -----

func.func @conv3d(%x: tensor<1x4x4x4x2xf32>, %w: tensor<3x3x3x2x2xf32>, %i: tensor<1x2x2x2x2xf32>) -> tensor<1x2x2x2x2xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.conv_3d_ndhwc_dhwcf) kept in FP32: it is a 3-D convolution; bm.conv2d is 2-D}}
  %y = linalg.conv_3d_ndhwc_dhwcf ins(%x, %w : tensor<1x4x4x4x2xf32>, tensor<3x3x3x2x2xf32>) outs(%i : tensor<1x2x2x2x2xf32>) -> tensor<1x2x2x2x2xf32>
  return %y : tensor<1x2x2x2x2xf32>
}

// -----

// A pooling op is a convolution by its maps, but not a product of two tensors.
func.func @pooling(%x: tensor<1x8x8x4xf32>, %win: tensor<2x2xf32>, %i: tensor<1x7x7x4xf32>) -> tensor<1x7x7x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.pooling_nhwc_sum) kept in FP32: it is a pooling or another window reduction, not a multiply-add of two tensors}}
  %y = linalg.pooling_nhwc_sum ins(%x, %win : tensor<1x8x8x4xf32>, tensor<2x2xf32>) outs(%i : tensor<1x7x7x4xf32>) -> tensor<1x7x7x4xf32>
  return %y : tensor<1x7x7x4xf32>
}

// -----

// 2-D convolutions in other layouts, named or generic.
func.func @conv_2d_plain(%x: tensor<8x8xf32>, %w: tensor<3x3xf32>, %i: tensor<6x6xf32>) -> tensor<6x6xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.conv_2d) kept in FP32: its layout is not one that bm.conv2d reads; the named linalg.conv_2d_nchw_fchw, linalg.conv_2d_nhwc_fhwc and linalg.conv_2d_nhwc_hwcf are rewritten}}
  %y = linalg.conv_2d ins(%x, %w : tensor<8x8xf32>, tensor<3x3xf32>) outs(%i : tensor<6x6xf32>) -> tensor<6x6xf32>
  return %y : tensor<6x6xf32>
}

// -----

// Integer convolution with zero points (already quantized).
func.func @conv_q(%x: tensor<1x4x8x8xi8>, %w: tensor<2x4x3x3xi8>, %z: i32, %i: tensor<1x2x6x6xi32>) -> tensor<1x2x6x6xi32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.conv_2d_nchw_fchw_q) kept in FP32: it has 4 input(s) and 1 output(s); a BM contraction has two inputs and one output}}
  %y = linalg.conv_2d_nchw_fchw_q ins(%x, %w, %z, %z : tensor<1x4x8x8xi8>, tensor<2x4x3x3xi8>, i32, i32) outs(%i : tensor<1x2x6x6xi32>) -> tensor<1x2x6x6xi32>
  return %y : tensor<1x2x6x6xi32>
}

// -----

func.func @generic_conv(%x: tensor<1x4x8x8xf32>, %w: tensor<2x4x3x3xf32>, %i: tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.generic) kept in FP32: it is a convolution written as linalg.generic; the named linalg.conv_2d_nchw_fchw, linalg.conv_2d_nhwc_fhwc and linalg.conv_2d_nhwc_hwcf are rewritten}}
  %y = linalg.generic {indexing_maps = [affine_map<(n, f, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>, affine_map<(n, f, h, w, c, kh, kw) -> (f, c, kh, kw)>, affine_map<(n, f, h, w, c, kh, kw) -> (n, f, h, w)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x4x8x8xf32>, tensor<2x4x3x3xf32>) outs(%i : tensor<1x2x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// Operand types: not f32, or not static.
func.func @bf16(%a: tensor<4x8xbf16>, %b: tensor<8x4xbf16>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.matmul) kept in FP32: operand #0 is tensor<4x8xbf16>, not f32 (BM quantizes f32 tensors)}}
  %r = linalg.matmul ins(%a, %b : tensor<4x8xbf16>, tensor<8x4xbf16>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @dynamic(%a: tensor<?x8xf32>, %b: tensor<8x4xf32>, %c: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.matmul) kept in FP32: operand #0 has a dynamic shape (tensor<?x8xf32>); BM tensors have static shapes}}
  %r = linalg.matmul ins(%a, %b : tensor<?x8xf32>, tensor<8x4xf32>) outs(%c : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

// A body other than acc + a * b (here -a * b) would be lost.
func.func @negated(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.generic) kept in FP32: its body is not exactly a multiply-add of its two operands}}
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %nx = arith.negf %x : f32
    %p = arith.mulf %nx, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// No M and N pair: matrix-vector and dot products, and an operand
// broadcast along an output dim that the other does not read either.
func.func @matvec(%a: tensor<4x8xf32>, %v: tensor<8xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.matvec) kept in FP32: no output dim is read by operand #1 alone: a matrix-vector or dot product (bm.matmul needs an M and an N dim)}}
  %r = linalg.matvec ins(%a, %v : tensor<4x8xf32>, tensor<8xf32>) outs(%c : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func @dot(%a: tensor<8xf32>, %b: tensor<8xf32>, %c: tensor<f32>) -> tensor<f32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.dot) kept in FP32: no output dim is read by operand #0 alone: a matrix-vector or dot product (bm.matmul needs an M and an N dim)}}
  %r = linalg.dot ins(%a, %b : tensor<8xf32>, tensor<8xf32>) outs(%c : tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}

// -----

func.func @row_broadcast(%a: tensor<8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.matmul) kept in FP32: its output dim d0 is read by neither operand (the product is broadcast along it)}}
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// Layouts bm.matmul cannot read with collapses and a transpose only.
func.func @batch_reduce(%a: tensor<2x4x8xf32>, %b: tensor<2x8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.batch_reduce_matmul) kept in FP32: operand #0 has dims (d0, d1, d3); with batch (), M (d1), N (d2), K (d0, d3) it must be [batch, M or N, K] or [batch, K, M or N] for bm.matmul}}
  %r = linalg.batch_reduce_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @mmt4d(%a: tensor<2x4x8x2xf32>, %b: tensor<3x4x8x2xf32>, %c: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.mmt4d) kept in FP32: its output dims (d0, d1) in front of M and N are not batch dims: an operand reads only some of them}}
  %r = linalg.mmt4d ins(%a, %b : tensor<2x4x8x2xf32>, tensor<3x4x8x2xf32>) outs(%c : tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32>
  return %r : tensor<2x3x8x8xf32>
}

// -----

func.func @batch_not_leading(%a: tensor<8x2x16xf32>, %b: tensor<2x16x4xf32>, %c: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.contract) kept in FP32: operand #0 has dims (d1, d0, d3); with batch (d0), M (d1), N (d2), K (d3) it must be [batch, M or N, K] or [batch, K, M or N] for bm.matmul}}
  %r = linalg.contract indexing_maps = [affine_map<(b, m, n, k) -> (m, b, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%a, %b : tensor<8x2x16xf32>, tensor<2x16x4xf32>) outs(%c : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %r : tensor<2x8x4xf32>
}

// -----

func.func @k_orders(%a: tensor<4x2x3xf32>, %b: tensor<3x2x5xf32>, %c: tensor<4x5xf32>) -> tensor<4x5xf32> {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.contract) kept in FP32: its reduction dims are ordered (d2, d3) in one operand and (d3, d2) in the other; bm.matmul reads one K order}}
  %r = linalg.contract indexing_maps = [affine_map<(m, n, i, j) -> (m, i, j)>, affine_map<(m, n, i, j) -> (j, i, n)>, affine_map<(m, n, i, j) -> (m, n)>]
      ins(%a, %b : tensor<4x2x3xf32>, tensor<3x2x5xf32>) outs(%c : tensor<4x5xf32>) -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// After bufferization.
func.func @buffers(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  // expected-remark @+1 {{bm-quantize-training: contraction #0 (linalg.matmul) kept in FP32: it works on buffers; run bm-quantize-training on tensors, before bufferization}}
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
