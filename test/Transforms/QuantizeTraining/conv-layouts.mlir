// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-conv-to-matmul --convert-bm-to-linalg --canonicalize | FileCheck %s --check-prefix=LOWERED
// The GPU lowering takes the new data movement too (bm.transpose, bm.pack
// and bm.unpack of broadcast codes).
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-lower-to-gpu -o /dev/null

// Convolutions in the layouts other front ends emit (TOSA's tosa.conv2d
// lowers to linalg.conv_2d_nhwc_fhwc) become the NCHW x FCHW bm.conv2d.
// Each operand is quantized once, in its own layout, with the conv-block
// (1, 48, whole, whole) / filter-block (48, 48, whole, whole) placed on
// the same dims as in NCHW / FCHW: channels blocked by 48. The BM tensors
// are then permuted exactly (bm.transpose moves codes and biases, nothing
// is requantized); init and result are transposed in f32.

// CHECK-LABEL: func.func @nhwc_fhwc
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x8x8x64xf32> {bm.role = #bm.role<activation>}, %[[W:[^:]*]]: tensor<8x3x3x64xf32> {bm.role = #bm.role<weight>}, %[[INIT:[^:]*]]: tensor<2x4x4x8xf32>)
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X]] nearest : tensor<2x8x8x64xf32> -> !bm.tensor<2x8x8x64xe2m3, block = [1, 8, 8, 48]>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %[[W]] nearest : tensor<8x3x3x64xf32> -> !bm.tensor<8x3x3x64xe2m3, block = [8, 3, 3, 48]>
// CHECK-DAG: %[[TX:.*]] = bm.transpose %[[QX]] [0, 3, 1, 2] : !bm.tensor<2x8x8x64xe2m3, block = [1, 8, 8, 48]> -> !bm.tensor<2x64x8x8xe2m3, block = [1, 48, 8, 8]>
// CHECK-DAG: %[[TW:.*]] = bm.transpose %[[QW]] [0, 3, 1, 2] : !bm.tensor<8x3x3x64xe2m3, block = [8, 3, 3, 48]> -> !bm.tensor<8x64x3x3xe2m3, block = [8, 48, 3, 3]>
// CHECK: %[[TI:.*]] = linalg.transpose ins(%[[INIT]] : tensor<2x4x4x8xf32>) outs(%{{.*}} : tensor<2x8x4x4xf32>) permutation = [0, 3, 1, 2]
// CHECK: %[[Y:.*]] = bm.conv2d %[[TX]], %[[TW]], %[[TI]] {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
// CHECK-SAME: -> tensor<2x8x4x4xf32>
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[Y]] : tensor<2x8x4x4xf32>) outs(%{{.*}} : tensor<2x4x4x8xf32>) permutation = [0, 2, 3, 1]
// CHECK: return %[[R]]
// CHECK-NOT: linalg.conv_2d
// REPORT: bm-report: @nhwc_fhwc: 1 BM contraction
// On the CPU the convolution runs as an im2col matmul (bm-conv-to-matmul),
// which reads the init as [N*OH*OW, F] and writes the result so: with the
// transposes around it,
// the f32 data movement cancels; only codes (i8) are permuted.
// LOWERED-LABEL: func.func @nhwc_fhwc
// LOWERED-NOT: linalg.transpose ins(%{{.*}} : tensor<{{[0-9x]*}}xf32>)
// LOWERED: return
// REPORT: bm.conv2d e2m3 [1x48x8x8] e2m3 [8x48x3x3] {{.*}} activation*weight floor*floor linalg.conv_2d_nhwc_fhwc
func.func @nhwc_fhwc(%x: tensor<2x8x8x64xf32> {bm.role = #bm.role<activation>},
                     %w: tensor<8x3x3x64xf32> {bm.role = #bm.role<weight>},
                     %init: tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<2x8x8x64xf32> to tensor<2x10x10x64xf32>
  %y = linalg.conv_2d_nhwc_fhwc {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>}
      ins(%p, %w : tensor<2x10x10x64xf32>, tensor<8x3x3x64xf32>) outs(%init : tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %y : tensor<2x4x4x8xf32>
}

// -----

// NHWC input, HWCF filter (permuted by [3, 2, 0, 1] to FCHW), dilated.
// CHECK-LABEL: func.func @nhwc_hwcf
// CHECK-DAG: %[[QX:.*]] = bm.quantize %{{.*}} nearest : tensor<1x9x9x16xf32> -> !bm.tensor<1x9x9x16xe2m3, block = [1, 9, 9, 16]>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %{{.*}} nearest : tensor<3x3x16x4xf32> -> !bm.tensor<3x3x16x4xe2m3, block = [3, 3, 16, 4]>
// CHECK-DAG: %[[TX:.*]] = bm.transpose %[[QX]] [0, 3, 1, 2] : {{.*}} -> !bm.tensor<1x16x9x9xe2m3, block = [1, 16, 9, 9]>
// CHECK-DAG: %[[TW:.*]] = bm.transpose %[[QW]] [3, 2, 0, 1] : !bm.tensor<3x3x16x4xe2m3, block = [3, 3, 16, 4]> -> !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>
// CHECK: bm.conv2d %[[TX]], %[[TW]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], dilations = array<i64: 2, 2>}
// CHECK-NOT: padding
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 3, 1]
func.func @nhwc_hwcf(%x: tensor<1x9x9x16xf32>, %w: tensor<3x3x16x4xf32> {bm.role = #bm.role<weight>},
                     %init: tensor<1x5x5x4xf32>) -> tensor<1x5x5x4xf32> {
  %y = linalg.conv_2d_nhwc_hwcf {strides = dense<1> : tensor<2xi64>, dilations = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x9x9x16xf32>, tensor<3x3x16x4xf32>) outs(%init : tensor<1x5x5x4xf32>) -> tensor<1x5x5x4xf32>
  return %y : tensor<1x5x5x4xf32>
}

// -----

// The padding of an NHWC input is read from H and W (dims 1 and 2); a pad
// of C, or a one-sided pad, stays a tensor.pad in front of an unpadded
// convolution.
// CHECK-LABEL: func.func @nhwc_pads
// CHECK: bm.conv2d {{.*}}bm.index = 0 : i64{{.*}}padding = array<i64: 2, 1>
// CHECK: %[[P:.*]] = tensor.pad %{{.*}} low[0, 1, 0, 0] high[0, 0, 0, 0]
// CHECK: bm.quantize %[[P]] nearest : tensor<1x9x8x4xf32> -> !bm.tensor<1x9x8x4xe2m3, block = [1, 9, 8, 4]>
// CHECK: bm.conv2d {{.*}}bm.index = 1 : i64
// CHECK-NOT: padding
// CHECK: return
func.func @nhwc_pads(%x: tensor<1x8x8x4xf32>, %w: tensor<2x3x3x4xf32> {bm.role = #bm.role<weight>},
                     %i0: tensor<1x10x8x2xf32>, %i1: tensor<1x7x6x2xf32>) -> (tensor<1x10x8x2xf32>, tensor<1x7x6x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %p0 = tensor.pad %x low[0, 2, 1, 0] high[0, 2, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x12x10x4xf32>
  %y0 = linalg.conv_2d_nhwc_fhwc ins(%p0, %w : tensor<1x12x10x4xf32>, tensor<2x3x3x4xf32>) outs(%i0 : tensor<1x10x8x2xf32>) -> tensor<1x10x8x2xf32>
  %p1 = tensor.pad %x low[0, 1, 0, 0] high[0, 0, 0, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x9x8x4xf32>
  %y1 = linalg.conv_2d_nhwc_fhwc ins(%p1, %w : tensor<1x9x8x4xf32>, tensor<2x3x3x4xf32>) outs(%i1 : tensor<1x7x6x2xf32>) -> tensor<1x7x6x2xf32>
  return %y0, %y1 : tensor<1x10x8x2xf32>, tensor<1x7x6x2xf32>
}

// -----

// The NHWC weight gradient, as a front end writes it: the input transposed
// to CHWN is the convolution's "batch", the output gradient as an HWCF
// filter; roles follow the data (activation x error), formats with them.
// CHECK-LABEL: func.func @nhwc_weight_gradient
// CHECK-DAG: bm.quantize %{{.*}} nearest : tensor<4x6x6x2xf32> -> !bm.tensor<4x6x6x2xe2m3, block = [1, 6, 6, 2]>
// CHECK-DAG: bm.quantize %{{.*}} nearest : tensor<4x4x2x8xf32> -> !bm.tensor<4x4x2x8xe3m2, block = [4, 4, 2, 8]>
// CHECK: bm.conv2d {{.*}}bm.roles = [#bm.role<activation>, #bm.role<error>]
func.func @nhwc_weight_gradient(%x: tensor<2x6x6x4xf32>, %dy: tensor<2x4x4x8xf32> {bm.role = #bm.role<error>},
                                %init: tensor<4x3x3x8xf32>) -> tensor<4x3x3x8xf32> {
  %e0 = tensor.empty() : tensor<4x6x6x2xf32>
  %xt = linalg.transpose ins(%x : tensor<2x6x6x4xf32>) outs(%e0 : tensor<4x6x6x2xf32>) permutation = [3, 1, 2, 0]
  %e1 = tensor.empty() : tensor<4x4x2x8xf32>
  %dyt = linalg.transpose ins(%dy : tensor<2x4x4x8xf32>) outs(%e1 : tensor<4x4x2x8xf32>) permutation = [1, 2, 0, 3]
  %dw = linalg.conv_2d_nhwc_hwcf ins(%xt, %dyt : tensor<4x6x6x2xf32>, tensor<4x4x2x8xf32>) outs(%init : tensor<4x3x3x8xf32>) -> tensor<4x3x3x8xf32>
  return %dw : tensor<4x3x3x8xf32>
}
