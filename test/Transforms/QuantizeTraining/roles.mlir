// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training="rounding=nearest loss-grad=fp32" -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=LOSSGRAD

// Roles flow through the data movement front ends put between a weight (or
// the loss gradient) and its contraction, also where the rewrite does not
// read through it: zero padding, an insert into zeros, broadcasts and
// transposes written as linalg.generic.

// The data gradient of a dilated convolution (python/bm/frontend): the
// filter flipped by a generic tagged bm.data_movement, then spread into
// zeros by tensor.insert_slice. It is still the weight.
// CHECK-LABEL: func.func @dilated_data_gradient
// CHECK: bm.conv2d {{.*}}bm.roles = [#bm.role<error>, #bm.role<weight>]
func.func @dilated_data_gradient(%w: tensor<4x2x2x2xf32> {bm.role = #bm.role<weight>},
                                 %g: tensor<1x4x7x7xf32> {bm.role = #bm.role<error>},
                                 %init: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x2x2xf32>
  %flip = linalg.generic {indexing_maps = [affine_map<(c, f, i, j) -> (f, c, 1 - i, 1 - j)>, affine_map<(c, f, i, j) -> (c, f, i, j)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"], bm.data_movement}
      ins(%w : tensor<4x2x2x2xf32>) outs(%e : tensor<2x4x2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x2x2xf32>
  %ez = tensor.empty() : tensor<2x4x3x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%ez : tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %wd = tensor.insert_slice %flip into %z[0, 0, 0, 0] [2, 4, 2, 2] [1, 1, 2, 2] : tensor<2x4x2x2xf32> into tensor<2x4x3x3xf32>
  %dx = linalg.conv_2d_nchw_fchw ins(%g, %wd : tensor<1x4x7x7xf32>, tensor<2x4x3x3xf32>) outs(%init : tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  return %dx : tensor<1x2x5x5xf32>
}

// -----

// A weight padded with zeros is a weight.
// CHECK-LABEL: func.func @padded_filter
// CHECK: bm.conv2d {{.*}}bm.roles = [#bm.role<activation>, #bm.role<weight>]
func.func @padded_filter(%x: tensor<1x4x6x6xf32>, %w: tensor<2x4x2x2xf32> {bm.role = #bm.role<weight>},
                         %init: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %wp = tensor.pad %w low[0, 0, 0, 0] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<2x4x2x2xf32> to tensor<2x4x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw ins(%x, %wp : tensor<1x4x6x6xf32>, tensor<2x4x3x3xf32>) outs(%init : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Generics that broadcast or transpose, followed by a collapse that the
// rewrite cannot read through (the collapsed groups are not contiguous in
// the source): the operand is the collapsed tensor itself, and its role
// comes from the dataflow: a weight stays a weight, an error an error.
// CHECK-LABEL: func.func @generic_moves_then_collapse
// CHECK: %[[WB:.*]] = linalg.generic
// CHECK: %[[W2:.*]] = tensor.collapse_shape %[[WB]]
// CHECK: bm.quantize %[[W2]]
// CHECK: bm.matmul {{.*}}bm.roles = [#bm.role<activation>, #bm.role<weight>]
// CHECK: %[[DT:.*]] = linalg.generic
// CHECK: %[[D2:.*]] = tensor.collapse_shape %[[DT]]
// CHECK: %[[QD:.*]] = bm.quantize %[[D2]] nearest : tensor<6x4xf32> -> !bm.tensor<6x4xe3m2
// CHECK: bm.matmul %[[QD]], {{.*}}bm.roles = [#bm.role<error>, #bm.role<activation>]
func.func @generic_moves_then_collapse(%x: tensor<5x8xf32>, %w: tensor<4x3xf32> {bm.role = #bm.role<weight>},
                                       %d: tensor<2x3x4xf32> {bm.role = #bm.role<error>},
                                       %c: tensor<5x3xf32>, %c2: tensor<6x5xf32>) -> (tensor<5x3xf32>, tensor<6x5xf32>) {
  // w broadcast to [2, 4, 3], collapsed to [8, 3]: a broadcast under a
  // collapse is not read through.
  %e0 = tensor.empty() : tensor<2x4x3xf32>
  %wb = linalg.generic {indexing_maps = [affine_map<(b, k, n) -> (k, n)>, affine_map<(b, k, n) -> (b, k, n)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%w : tensor<4x3xf32>) outs(%e0 : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x3xf32>
  %w2 = tensor.collapse_shape %wb [[0, 1], [2]] : tensor<2x4x3xf32> into tensor<8x3xf32>
  %r0 = linalg.matmul ins(%x, %w2 : tensor<5x8xf32>, tensor<8x3xf32>) outs(%c : tensor<5x3xf32>) -> tensor<5x3xf32>
  // d transposed to [3, 2, 4] by a generic, collapsed to [6, 4]: dims 0, 1
  // of the transpose are dims 1, 0 of d, not contiguous in order.
  %e1 = tensor.empty() : tensor<3x2x4xf32>
  %dt = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (j, i, k)>, affine_map<(i, j, k) -> (i, j, k)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%d : tensor<2x3x4xf32>) outs(%e1 : tensor<3x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<3x2x4xf32>
  %d2 = tensor.collapse_shape %dt [[0, 1], [2]] : tensor<3x2x4xf32> into tensor<6x4xf32>
  %e2 = tensor.empty() : tensor<4x5xf32>
  %xs = tensor.extract_slice %x[0, 0] [5, 4] [1, 1] : tensor<5x8xf32> to tensor<5x4xf32>
  %xst = linalg.transpose ins(%xs : tensor<5x4xf32>) outs(%e2 : tensor<4x5xf32>) permutation = [1, 0]
  %r1 = linalg.matmul ins(%d2, %xst : tensor<6x4xf32>, tensor<4x5xf32>) outs(%c2 : tensor<6x5xf32>) -> tensor<6x5xf32>
  return %r0, %r1 : tensor<5x3xf32>, tensor<6x5xf32>
}

// -----

// The loss gradient broadcast by a generic and collapsed (not read
// through) is still the loss gradient: loss-grad=fp32 keeps its
// contraction.
// LOSSGRAD: remark: bm-quantize-training: contraction #1 kept in FP32: it reads the loss gradient
// LOSSGRAD-NOT: remark
func.func @loss_grad_moved(%x: tensor<8x4xf32>, %w: tensor<4x6xf32> {bm.role = #bm.role<weight>},
                           %v: tensor<5x12xf32>) -> tensor<5x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x6xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8x6xf32>) -> tensor<8x6xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x6xf32>) outs(%z : tensor<8x6xf32>) -> tensor<8x6xf32>
  %dy = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"], bm.grad_seed}
      ins(%y : tensor<8x6xf32>) outs(%e : tensor<8x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.125 : f32
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<8x6xf32>
  %e2 = tensor.empty() : tensor<2x6x6xf32>
  %ds = tensor.extract_slice %dy[0, 0] [6, 6] [1, 1] : tensor<8x6xf32> to tensor<6x6xf32>
  %db = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (i, j)>, affine_map<(b, i, j) -> (b, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ds : tensor<6x6xf32>) outs(%e2 : tensor<2x6x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x6x6xf32>
  %d2 = tensor.collapse_shape %db [[0, 1], [2]] : tensor<2x6x6xf32> into tensor<12x6xf32>
  %e3 = tensor.empty() : tensor<5x6xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<5x6xf32>) -> tensor<5x6xf32>
  %r = linalg.matmul ins(%v, %d2 : tensor<5x12xf32>, tensor<12x6xf32>) outs(%z3 : tensor<5x6xf32>) -> tensor<5x6xf32>
  return %r : tensor<5x6xf32>
}
