// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// The GPU lowering takes the new data movement too (bm.transpose, bm.pack
// and bm.unpack of broadcast codes).
// RUN: bm-opt %s --bm-quantize-training=rounding=nearest -split-input-file --bm-lower-to-gpu -o /dev/null

// Matmul-like contractions in the forms front ends emit: explicit indexing
// maps (transposed or broadcast operands), linalg.contract, and more than
// one batch (or M, N, K) dim. Groups of dims are collapsed exactly
// (tensor.collapse_shape, a view) into a rank-2 or rank-3 bm.matmul and
// the result is expanded back.

// linalg.matmul whose maps transpose both operands: C = A^T B^T.
// CHECK-LABEL: func.func @matmul_maps_transposed
// CHECK-SAME: (%[[AT:[^:]*]]: tensor<32x16xf32>, %[[BT:[^:]*]]: tensor<8x32xf32>
// CHECK-DAG: %[[QA:.*]] = bm.quantize %[[AT]] nearest : tensor<32x16xf32>
// CHECK-DAG: %[[QB:.*]] = bm.quantize %[[BT]] nearest : tensor<8x32xf32>
// CHECK: bm.matmul %[[QA]], %[[QB]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>], transpose_lhs, transpose_rhs}
// REPORT-LABEL: bm-report: @matmul_maps_transposed: 1 BM contraction
// REPORT: bm.matmul {{.*}} activation*activation floor*floor linalg.matmul
func.func @matmul_maps_transposed(%at: tensor<32x16xf32>, %bt: tensor<8x32xf32>, %c: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%at, %bt : tensor<32x16xf32>, tensor<8x32xf32>) outs(%c : tensor<16x8xf32>) -> tensor<16x8xf32>
  return %r : tensor<16x8xf32>
}

// -----

// batch_matmul with a broadcast rhs (a weight shared by every batch entry):
// the batch dim is a second M dim, so [B, M, K] collapses to [B*M, K] and
// the weight is quantized once, as a matrix.
// CHECK-LABEL: func.func @batch_matmul_broadcast_rhs
// CHECK-SAME: (%[[X:[^:]*]]: tensor<4x12x96xf32>, %[[W:[^:]*]]: tensor<96x16xf32> {bm.role = #bm.role<weight>}, %[[C:[^:]*]]: tensor<4x12x16xf32>)
// CHECK-DAG: %[[QW:.*]] = bm.quantize %[[W]] nearest : tensor<96x16xf32> -> !bm.tensor<96x16xe2m3, block = [48, 16]>
// CHECK-DAG: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<4x12x96xf32> into tensor<48x96xf32>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X2]] nearest : tensor<48x96xf32> -> !bm.tensor<48x96xe2m3, block = [48, 48]>
// CHECK: %[[C2:.*]] = tensor.collapse_shape %[[C]] {{\[\[}}0, 1], [2]] : tensor<4x12x16xf32> into tensor<48x16xf32>
// CHECK: %[[R:.*]] = bm.matmul %[[QX]], %[[QW]], %[[C2]] {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>]} : {{.*}} -> tensor<48x16xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[R]] {{\[\[}}0, 1], [2]] output_shape [4, 12, 16] : tensor<48x16xf32> into tensor<4x12x16xf32>
// CHECK: return %[[E]]
func.func @batch_matmul_broadcast_rhs(%x: tensor<4x12x96xf32>, %w: tensor<96x16xf32> {bm.role = #bm.role<weight>},
                                      %c: tensor<4x12x16xf32>) -> tensor<4x12x16xf32> {
  %r = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%x, %w : tensor<4x12x96xf32>, tensor<96x16xf32>) outs(%c : tensor<4x12x16xf32>) -> tensor<4x12x16xf32>
  return %r : tensor<4x12x16xf32>
}

// -----

// batch_matmul with a broadcast lhs: no collapse fits ([B, K, N] keeps B
// apart from N), so the lhs is quantized once as a matrix and broadcast in
// BM (codes and biases; the new dim has block size 1).
// CHECK-LABEL: func.func @batch_matmul_broadcast_lhs
// CHECK-SAME: (%[[W:[^:]*]]: tensor<16x96xf32> {bm.role = #bm.role<weight>}, %[[X:[^:]*]]: tensor<4x96x8xf32>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %[[W]] nearest : tensor<16x96xf32> -> !bm.tensor<16x96xe2m3, block = [16, 48]>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X]] nearest : tensor<4x96x8xf32> -> !bm.tensor<4x96x8xe2m3, block = [1, 48, 8]>
// CHECK: %[[CODES:.*]], %[[BIASES:.*]] = bm.unpack %[[QW]] : !bm.tensor<16x96xe2m3, block = [16, 48]> -> tensor<16x96xi8>, tensor<1x2xi8>
// CHECK: %[[BC:.*]] = linalg.broadcast ins(%[[CODES]] : tensor<16x96xi8>) outs(%{{.*}} : tensor<4x16x96xi8>) dimensions = [0]
// CHECK: %[[BB:.*]] = linalg.broadcast ins(%[[BIASES]] : tensor<1x2xi8>) outs(%{{.*}} : tensor<4x1x2xi8>) dimensions = [0]
// CHECK: %[[PW:.*]] = bm.pack %[[BC]], %[[BB]] : tensor<4x16x96xi8>, tensor<4x1x2xi8> -> !bm.tensor<4x16x96xe2m3, block = [1, 16, 48]>
// CHECK: bm.matmul %[[PW]], %[[QX]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<weight>, #bm.role<activation>]}
func.func @batch_matmul_broadcast_lhs(%w: tensor<16x96xf32> {bm.role = #bm.role<weight>}, %x: tensor<4x96x8xf32>,
                                      %c: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %r = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%w, %x : tensor<16x96xf32>, tensor<4x96x8xf32>) outs(%c : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %r : tensor<4x16x8xf32>
}

// -----

// A broadcast rhs whose lhs is stored [B, K, M]: the batch dim cannot join
// M (it is not next to it), so the rhs is broadcast in BM.
// CHECK-LABEL: func.func @batch_matmul_transposed_lhs_broadcast_rhs
// CHECK-DAG: %[[QX:.*]] = bm.quantize %{{.*}} nearest : tensor<4x96x12xf32> -> !bm.tensor<4x96x12xe2m3, block = [1, 48, 12]>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %{{.*}} nearest : tensor<96x16xf32> -> !bm.tensor<96x16xe2m3, block = [48, 16]>
// CHECK: bm.unpack %[[QW]]
// CHECK: %[[PW:.*]] = bm.pack {{.*}} -> !bm.tensor<4x96x16xe2m3, block = [1, 48, 16]>
// CHECK: bm.matmul %[[QX]], %[[PW]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_lhs}
func.func @batch_matmul_transposed_lhs_broadcast_rhs(%x: tensor<4x96x12xf32>, %w: tensor<96x16xf32> {bm.role = #bm.role<weight>},
                                                     %c: tensor<4x12x16xf32>) -> tensor<4x12x16xf32> {
  %r = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, k, m)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%x, %w : tensor<4x96x12xf32>, tensor<96x16xf32>) outs(%c : tensor<4x12x16xf32>) -> tensor<4x12x16xf32>
  return %r : tensor<4x12x16xf32>
}

// -----

// A weight stored [N, K] broadcast and transposed by one linalg.generic
// (output element (b, k, n) = w[n, k]): read through, quantized once as
// [N, K] and read transposed, the batch joining M.
// CHECK-LABEL: func.func @generic_moved_weight
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x4x8xf32>, %[[W:[^:]*]]: tensor<3x8xf32> {bm.role = #bm.role<weight>}
// CHECK-DAG: %[[QW:.*]] = bm.quantize %[[W]] nearest : tensor<3x8xf32>
// CHECK-DAG: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x4x8xf32> into tensor<8x8xf32>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X2]]
// CHECK: bm.matmul %[[QX]], %[[QW]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs} : {{.*}} -> tensor<8x3xf32>
func.func @generic_moved_weight(%x: tensor<2x4x8xf32>, %w: tensor<3x8xf32> {bm.role = #bm.role<weight>}, %c: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %e0 = tensor.empty() : tensor<2x8x3xf32>
  %wb = linalg.generic {indexing_maps = [affine_map<(b, k, n) -> (n, k)>, affine_map<(b, k, n) -> (b, k, n)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%w : tensor<3x8xf32>) outs(%e0 : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x8x3xf32>
  %r = linalg.batch_matmul ins(%x, %wb : tensor<2x4x8xf32>, tensor<2x8x3xf32>) outs(%c : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  return %r : tensor<2x4x3xf32>
}

// -----

// linalg.contract (MLIR 22): a linear layer on [B, S, E] tokens,
// "bse,fe->bsf" (the weight stored [F, E], as torch.nn.Linear does).
// CHECK-LABEL: func.func @contract_linear
// CHECK-DAG: %[[X2:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x10x32xf32> into tensor<20x32xf32>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X2]] nearest : tensor<20x32xf32>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %{{.*}} nearest : tensor<24x32xf32>
// CHECK: bm.matmul %[[QX]], %[[QW]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs}
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, 10, 24]
// REPORT-LABEL: bm-report: @contract_linear: 1 BM contraction
// REPORT: bm.matmul {{.*}} activation*weight floor*floor linalg.contract
func.func @contract_linear(%x: tensor<2x10x32xf32>, %w: tensor<24x32xf32> {bm.role = #bm.role<weight>},
                           %c: tensor<2x10x24xf32>) -> tensor<2x10x24xf32> {
  %r = linalg.contract indexing_maps = [affine_map<(b, s, f, e) -> (b, s, e)>, affine_map<(b, s, f, e) -> (f, e)>, affine_map<(b, s, f, e) -> (b, s, f)>]
      ins(%x, %w : tensor<2x10x32xf32>, tensor<24x32xf32>) outs(%c : tensor<2x10x24xf32>) -> tensor<2x10x24xf32>
  return %r : tensor<2x10x24xf32>
}

// -----

// linalg.contract with two batch dims and a transposed rhs, as attention
// scores on [B, H, S, D]: "bhsd,bhtd->bhst". Batch dims collapse to one.
// CHECK-LABEL: func.func @contract_two_batch_dims
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x3x8x16xf32>, %[[K:[^:]*]]: tensor<2x3x8x16xf32>, %[[C:[^:]*]]: tensor<2x3x8x8xf32>)
// CHECK-DAG: %[[Q3:.*]] = tensor.collapse_shape %[[Q]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x8x16xf32> into tensor<6x8x16xf32>
// CHECK-DAG: %[[K3:.*]] = tensor.collapse_shape %[[K]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x8x16xf32> into tensor<6x8x16xf32>
// CHECK-DAG: %[[QQ:.*]] = bm.quantize %[[Q3]] nearest : tensor<6x8x16xf32> -> !bm.tensor<6x8x16xe2m3, block = [1, 8, 16]>
// CHECK-DAG: %[[QK:.*]] = bm.quantize %[[K3]] nearest : tensor<6x8x16xf32> -> !bm.tensor<6x8x16xe2m3, block = [1, 8, 16]>
// CHECK: %[[C3:.*]] = tensor.collapse_shape %[[C]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x8x8xf32> into tensor<6x8x8xf32>
// CHECK: %[[S:.*]] = bm.matmul %[[QQ]], %[[QK]], %[[C3]] {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>], transpose_rhs}
// CHECK: tensor.expand_shape %[[S]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 8, 8] : tensor<6x8x8xf32> into tensor<2x3x8x8xf32>
func.func @contract_two_batch_dims(%q: tensor<2x3x8x16xf32>, %k: tensor<2x3x8x16xf32>, %c: tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32> {
  %r = linalg.contract indexing_maps = [affine_map<(b, h, s, t, d) -> (b, h, s, d)>, affine_map<(b, h, s, t, d) -> (b, h, t, d)>, affine_map<(b, h, s, t, d) -> (b, h, s, t)>]
      ins(%q, %k : tensor<2x3x8x16xf32>, tensor<2x3x8x16xf32>) outs(%c : tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32>
  return %r : tensor<2x3x8x8xf32>
}

// -----

// A linalg.generic with two K dims ("mab,abn->mn", a flattened-feature
// linear layer): the K group collapses to one dim in both operands.
// CHECK-LABEL: func.func @generic_two_k_dims
// CHECK-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<8x4x12xf32> into tensor<8x48xf32>
// CHECK-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<4x12x5xf32> into tensor<48x5xf32>
// CHECK: bm.matmul %{{.*}}, %{{.*}}, %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>]} : !bm.tensor<8x48xe2m3, block = [8, 48]>, !bm.tensor<48x5xe2m3, block = [48, 5]>, tensor<8x5xf32> -> tensor<8x5xf32>
func.func @generic_two_k_dims(%a: tensor<8x4x12xf32>, %b: tensor<4x12x5xf32>, %c: tensor<8x5xf32>) -> tensor<8x5xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, i, j) -> (m, i, j)>, affine_map<(m, n, i, j) -> (i, j, n)>, affine_map<(m, n, i, j) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b : tensor<8x4x12xf32>, tensor<4x12x5xf32>) outs(%c : tensor<8x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x5xf32>
  return %r : tensor<8x5xf32>
}

// -----

// An output laid out [N, M] is computed as B^T A^T: the operand that
// owns the output's leading group becomes the lhs ("kn,mk->nm").
// CHECK-LABEL: func.func @output_transposed
// CHECK-SAME: (%[[B:[^:]*]]: tensor<32x8xf32> {bm.role = #bm.role<weight>}, %[[A:[^:]*]]: tensor<16x32xf32>
// CHECK-DAG: %[[QB:.*]] = bm.quantize %[[B]]
// CHECK-DAG: %[[QA:.*]] = bm.quantize %[[A]]
// CHECK: bm.matmul %[[QB]], %[[QA]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<weight>, #bm.role<activation>], transpose_lhs, transpose_rhs} : {{.*}} -> tensor<8x16xf32>
func.func @output_transposed(%b: tensor<32x8xf32> {bm.role = #bm.role<weight>}, %a: tensor<16x32xf32>, %c: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, m)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%b, %a : tensor<32x8xf32>, tensor<16x32xf32>) outs(%c : tensor<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// Operands are read through the data movement that front ends put in
// front of a matmul: a 3-D linalg.transpose, a collapse of a transpose of
// the last two dims, a linalg.broadcast of a weight, a copy. Each source
// is quantized once per shape and shared.
// CHECK-LABEL: func.func @read_through
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x16x8xf32>, %[[W:[^:]*]]: tensor<8x8xf32> {bm.role = #bm.role<weight>}, %[[K4:[^:]*]]: tensor<2x2x16x8xf32>
// CHECK-DAG: %[[QW:.*]] = bm.quantize %[[W]] nearest : tensor<8x8xf32>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X]] nearest : tensor<2x16x8xf32>
// CHECK-DAG: %[[X2:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x16x8xf32> into tensor<32x8xf32>
// CHECK-DAG: %[[QX2:.*]] = bm.quantize %[[X2]] nearest : tensor<32x8xf32>
// CHECK-DAG: %[[K3:.*]] = tensor.collapse_shape %[[K4]] {{\[\[}}0, 1], [2], [3]] : tensor<2x2x16x8xf32> into tensor<4x16x8xf32>
// CHECK-DAG: %[[QK:.*]] = bm.quantize %[[K3]] nearest : tensor<4x16x8xf32>
// x^T x (through a 3-D transpose): one quantized x, read transposed.
// CHECK: bm.matmul %[[QX]], %[[QX]], %{{.*}} {bm.index = 0 : i64, {{.*}}transpose_lhs}
// x W, W broadcast over the batch by the front end: W is quantized as a
// matrix and the batch dim joins M.
// CHECK: bm.matmul %[[QX2]], %[[QW]], %{{.*}} {bm.index = 1 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>]} : {{.*}} -> tensor<32x8xf32>
// K K^T with K^T = collapse(transpose(K4)), and K through a copy.
// CHECK: bm.matmul %[[QK]], %[[QK]], %{{.*}} {bm.index = 2 : i64, {{.*}}transpose_rhs}
// CHECK-NOT: bm.quantize
func.func @read_through(%x: tensor<2x16x8xf32>, %w: tensor<8x8xf32> {bm.role = #bm.role<weight>}, %k4: tensor<2x2x16x8xf32>,
                        %c0: tensor<2x8x8xf32>, %c1: tensor<2x16x8xf32>, %c2: tensor<4x16x16xf32>)
    -> (tensor<2x8x8xf32>, tensor<2x16x8xf32>, tensor<4x16x16xf32>) {
  %e0 = tensor.empty() : tensor<2x8x16xf32>
  %xt = linalg.transpose ins(%x : tensor<2x16x8xf32>) outs(%e0 : tensor<2x8x16xf32>) permutation = [0, 2, 1]
  %r0 = linalg.batch_matmul ins(%xt, %x : tensor<2x8x16xf32>, tensor<2x16x8xf32>) outs(%c0 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %e1 = tensor.empty() : tensor<2x8x8xf32>
  %wb = linalg.broadcast ins(%w : tensor<8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) dimensions = [0]
  %r1 = linalg.batch_matmul ins(%x, %wb : tensor<2x16x8xf32>, tensor<2x8x8xf32>) outs(%c1 : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %e2 = tensor.empty() : tensor<2x2x8x16xf32>
  %kt4 = linalg.transpose ins(%k4 : tensor<2x2x16x8xf32>) outs(%e2 : tensor<2x2x8x16xf32>) permutation = [0, 1, 3, 2]
  %kt3 = tensor.collapse_shape %kt4 [[0, 1], [2], [3]] : tensor<2x2x8x16xf32> into tensor<4x8x16xf32>
  %k3 = tensor.collapse_shape %k4 [[0, 1], [2], [3]] : tensor<2x2x16x8xf32> into tensor<4x16x8xf32>
  %e3 = tensor.empty() : tensor<4x16x8xf32>
  %k3c = linalg.copy ins(%k3 : tensor<4x16x8xf32>) outs(%e3 : tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %r2 = linalg.batch_matmul ins(%k3c, %kt3 : tensor<4x16x8xf32>, tensor<4x8x16xf32>) outs(%c2 : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  return %r0, %r1, %r2 : tensor<2x8x8xf32>, tensor<2x16x8xf32>, tensor<4x16x16xf32>
}
