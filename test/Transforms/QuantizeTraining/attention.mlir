// RUN: bm-opt %s --bm-quantize-training | FileCheck %s
// RUN: bm-opt %s --bm-quantize-training --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: bm-opt %s --bm-quantize-training=preset=bm5 --bm-report -o /dev/null 2>&1 | FileCheck %s --check-prefix=BM5

// One multi-head attention step, forward and backward, in the shape a
// PyTorch front end emits it (python/tests/test_training_rewrite.py runs
// it): projections as 2-D matmuls on [B*S, E] tokens with the weights
// transposed (torch.nn.Linear); heads split by expand_shape and a
// transpose to [B, H, S, D]; q k^T and p v as batch_matmuls on
// [B*H, ., .] views (torch.matmul's decomposition), k^T as a 4-D
// transpose; the backward of each bmm as bmm's autograd formula writes it
// (dA = dC B^T, dB = A^T dC, transposes of the 3-D views).
// B = 2, S = 8, E = 16, H = 2, D = 8.
//
// Every operand has its role from the dataflow: q, k, v, p are
// activations, dy and everything computed from it errors; q k^T and p v
// are activation x activation (forward formats), and the four attention
// gradients are error x activation, in both operand orders. Each tensor is
// quantized once: the backward bmms read the forward's quantized q, k, v
// and p through the transposes and collapses (k from k^T's transpose of a
// collapse of a transpose), and each error serves both of its GEMMs.

// CHECK-LABEL: func.func @step
// CHECK-DAG: %[[WQ:.*]] = bm.quantize %arg1 {{.*}} -> !bm.tensor<16x16xe2m3
// CHECK-DAG: %[[WK:.*]] = bm.quantize %arg2 {{.*}} -> !bm.tensor<16x16xe2m3
// CHECK-DAG: %[[WV:.*]] = bm.quantize %arg3 {{.*}} -> !bm.tensor<16x16xe2m3
// CHECK-DAG: %[[WO:.*]] = bm.quantize %arg4 {{.*}} -> !bm.tensor<16x16xe2m3
// CHECK-DAG: %[[X2:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
// CHECK-DAG: %[[QX:.*]] = bm.quantize %[[X2]]
// Projections: x W^T.
// CHECK: bm.matmul %[[QX]], %[[WQ]], %{{.*}} {bm.index = 0 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs}
// CHECK: %[[QQ:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe2m3, block = [1, 8, 8]>
// CHECK: bm.matmul %[[QX]], %[[WK]], %{{.*}} {bm.index = 1 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs}
// CHECK: %[[QK:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe2m3, block = [1, 8, 8]>
// CHECK: bm.matmul %[[QX]], %[[WV]], %{{.*}} {bm.index = 2 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs}
// CHECK: %[[QV:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe2m3, block = [1, 8, 8]>
// scores = q k^T: k quantized as [B*H, S, D] and read transposed.
// CHECK: bm.matmul %[[QQ]], %[[QK]], %{{.*}} {bm.index = 3 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>], transpose_rhs}
// CHECK: %[[QP:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe2m3, block = [1, 8, 8]>
// o = p v
// CHECK: bm.matmul %[[QP]], %[[QV]], %{{.*}} {bm.index = 4 : i64, bm.roles = [#bm.role<activation>, #bm.role<activation>]}
// CHECK: %[[QO:.*]] = bm.quantize %{{.*}} : tensor<16x16xf32> -> !bm.tensor<16x16xe2m3
// CHECK: bm.matmul %[[QO]], %[[WO]], %{{.*}} {bm.index = 5 : i64, bm.roles = [#bm.role<activation>, #bm.role<weight>], transpose_rhs}
// The loss gradient, in the backward format.
// CHECK: %[[QDY:.*]] = bm.quantize %{{.*}} : tensor<16x16xf32> -> !bm.tensor<16x16xe3m2
// CHECK: bm.matmul %[[QDY]], %[[QO]], %{{.*}} {bm.index = 6 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>], transpose_lhs}
// CHECK: bm.matmul %[[QDY]], %[[WO]], %{{.*}} {bm.index = 7 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
// CHECK: %[[QDO:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe3m2, block = [1, 8, 8]>
// dp = do v^T, dv = p^T do
// CHECK: bm.matmul %[[QDO]], %[[QV]], %{{.*}} {bm.index = 8 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>], transpose_rhs}
// CHECK: bm.matmul %[[QP]], %[[QDO]], %{{.*}} {bm.index = 9 : i64, bm.roles = [#bm.role<activation>, #bm.role<error>], transpose_lhs}
// CHECK: %[[QDS:.*]] = bm.quantize %{{.*}} : tensor<4x8x8xf32> -> !bm.tensor<4x8x8xe3m2, block = [1, 8, 8]>
// dq = ds k (k^T transposed back), dk^T = q^T ds
// CHECK: bm.matmul %[[QDS]], %[[QK]], %{{.*}} {bm.index = 10 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>]}
// CHECK: bm.matmul %[[QQ]], %[[QDS]], %{{.*}} {bm.index = 11 : i64, bm.roles = [#bm.role<activation>, #bm.role<error>], transpose_lhs}
// CHECK: %[[QDQ:.*]] = bm.quantize %{{.*}} : tensor<16x16xf32> -> !bm.tensor<16x16xe3m2
// CHECK: %[[QDK:.*]] = bm.quantize %{{.*}} : tensor<16x16xf32> -> !bm.tensor<16x16xe3m2
// CHECK: %[[QDV:.*]] = bm.quantize %{{.*}} : tensor<16x16xf32> -> !bm.tensor<16x16xe3m2
// Weight gradients d^T x and data gradients d W, each error shared.
// CHECK: bm.matmul %[[QDQ]], %[[QX]], %{{.*}} {bm.index = 12 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>], transpose_lhs}
// CHECK: bm.matmul %[[QDK]], %[[QX]], %{{.*}} {bm.index = 13 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>], transpose_lhs}
// CHECK: bm.matmul %[[QDV]], %[[QX]], %{{.*}} {bm.index = 14 : i64, bm.roles = [#bm.role<error>, #bm.role<activation>], transpose_lhs}
// CHECK: bm.matmul %[[QDQ]], %[[WQ]], %{{.*}} {bm.index = 15 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
// CHECK: bm.matmul %[[QDK]], %[[WK]], %{{.*}} {bm.index = 16 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
// CHECK: bm.matmul %[[QDV]], %[[WV]], %{{.*}} {bm.index = 17 : i64, bm.roles = [#bm.role<error>, #bm.role<weight>]}
// CHECK-NOT: bm.quantize
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.batch_matmul

// REPORT: bm-report: @step: 18 BM contractions
// REPORT-NEXT: op lhs rhs max-run kulisch acc f32-bytes bm-bytes roles scale from
// REPORT-COUNT-3: bm.matmul e2m3 [16x16] e2m3 [16x16] {{.*}} activation*weight floor*floor linalg.matmul
// REPORT-NEXT: bm.matmul e2m3 [1x8x8] e2m3 [1x8x8] {{.*}} activation*activation floor*floor linalg.batch_matmul
// REPORT-NEXT: bm.matmul e2m3 [1x8x8] e2m3 [1x8x8] {{.*}} activation*activation floor*floor linalg.batch_matmul
// REPORT-NEXT: bm.matmul e2m3 [16x16] e2m3 [16x16] {{.*}} activation*weight floor*floor linalg.matmul
// REPORT-NEXT: bm.matmul e3m2 [16x16] e2m3 [16x16] {{.*}} error*activation floor*floor linalg.matmul
// REPORT-NEXT: bm.matmul e3m2 [16x16] e2m3 [16x16] {{.*}} error*weight floor*floor linalg.matmul
// REPORT-NEXT: bm.matmul e3m2 [1x8x8] e2m3 [1x8x8] {{.*}} error*activation floor*floor linalg.batch_matmul
// REPORT-NEXT: bm.matmul e2m3 [1x8x8] e3m2 [1x8x8] {{.*}} activation*error floor*floor linalg.batch_matmul
// REPORT-NEXT: bm.matmul e3m2 [1x8x8] e2m3 [1x8x8] {{.*}} error*activation floor*floor linalg.batch_matmul
// REPORT-NEXT: bm.matmul e2m3 [1x8x8] e3m2 [1x8x8] {{.*}} activation*error floor*floor linalg.batch_matmul

// The two contractions that read the loss gradient stay FP32 for BM5 (see
// loss-grad.mlir); the report lists them as forms it could rewrite.
// BM5: remark: bm-quantize-training: contraction #6 kept in FP32: it reads the loss gradient
// BM5: remark: bm-quantize-training: contraction #7 kept in FP32: it reads the loss gradient
// BM5-NOT: remark
// BM5: bm-report: @step: 16 BM contractions, 2 in FP32
// BM5-NEXT: fp32 linalg.matmul: rewritable form (kept by keep-fp32, min-macs, loss-grad or roles)
// BM5-NEXT: fp32 linalg.matmul: rewritable form (kept by keep-fp32, min-macs, loss-grad or roles)
// BM5-NEXT: op lhs rhs

#id2 = affine_map<(i, j) -> (i, j)>
#id3 = affine_map<(i, j, k) -> (i, j, k)>
#rows = affine_map<(i, j, k) -> (i, j)>
func.func @step(%x: tensor<2x8x16xf32> {bm.role = #bm.role<activation>},
                %wq: tensor<16x16xf32> {bm.role = #bm.role<weight>}, %wk: tensor<16x16xf32> {bm.role = #bm.role<weight>},
                %wv: tensor<16x16xf32> {bm.role = #bm.role<weight>}, %wo: tensor<16x16xf32> {bm.role = #bm.role<weight>},
                %seed: i64 {bm.role = #bm.role<seed>})
    -> (tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<2x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.353553385 : f32
  // Forward: q, k, v = x Wq^T, x Wk^T, x Wv^T on [B*S, E] tokens, heads split
  // to [B, H, S, D].
  %x2 = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  %wqt_e = tensor.empty() : tensor<16x16xf32>
  %wqt = linalg.transpose ins(%wq : tensor<16x16xf32>) outs(%wqt_e : tensor<16x16xf32>) permutation = [1, 0]
  %q2_z_e = tensor.empty() : tensor<16x16xf32>
  %q2_z = linalg.fill ins(%zero : f32) outs(%q2_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %q2 = linalg.matmul ins(%x2, %wqt : tensor<16x16xf32>, tensor<16x16xf32>) outs(%q2_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %q4 = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<16x16xf32> into tensor<2x8x2x8xf32>
  %qh_e = tensor.empty() : tensor<2x2x8x8xf32>
  %qh = linalg.transpose ins(%q4 : tensor<2x8x2x8xf32>) outs(%qh_e : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  %wkt_e = tensor.empty() : tensor<16x16xf32>
  %wkt = linalg.transpose ins(%wk : tensor<16x16xf32>) outs(%wkt_e : tensor<16x16xf32>) permutation = [1, 0]
  %k2_z_e = tensor.empty() : tensor<16x16xf32>
  %k2_z = linalg.fill ins(%zero : f32) outs(%k2_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %k2 = linalg.matmul ins(%x2, %wkt : tensor<16x16xf32>, tensor<16x16xf32>) outs(%k2_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %k4 = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<16x16xf32> into tensor<2x8x2x8xf32>
  %kh_e = tensor.empty() : tensor<2x2x8x8xf32>
  %kh = linalg.transpose ins(%k4 : tensor<2x8x2x8xf32>) outs(%kh_e : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  %wvt_e = tensor.empty() : tensor<16x16xf32>
  %wvt = linalg.transpose ins(%wv : tensor<16x16xf32>) outs(%wvt_e : tensor<16x16xf32>) permutation = [1, 0]
  %v2_z_e = tensor.empty() : tensor<16x16xf32>
  %v2_z = linalg.fill ins(%zero : f32) outs(%v2_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %v2 = linalg.matmul ins(%x2, %wvt : tensor<16x16xf32>, tensor<16x16xf32>) outs(%v2_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %v4 = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<16x16xf32> into tensor<2x8x2x8xf32>
  %vh_e = tensor.empty() : tensor<2x2x8x8xf32>
  %vh = linalg.transpose ins(%v4 : tensor<2x8x2x8xf32>) outs(%vh_e : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  // scores = q k^T: k^T as the transpose of [B, H, S, D] and both viewed
  // as [B*H, ., .], as torch.matmul's decomposition does.
  %kt_e = tensor.empty() : tensor<2x2x8x8xf32>
  %kt = linalg.transpose ins(%kh : tensor<2x2x8x8xf32>) outs(%kt_e : tensor<2x2x8x8xf32>) permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %qh [[0, 1], [2], [3]] : tensor<2x2x8x8xf32> into tensor<4x8x8xf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<2x2x8x8xf32> into tensor<4x8x8xf32>
  %s3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %s3_z = linalg.fill ins(%zero : f32) outs(%s3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%s3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %ss_e = tensor.empty() : tensor<4x8x8xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s3 : tensor<4x8x8xf32>) outs(%ss_e : tensor<4x8x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %m = arith.mulf %a0, %scale : f32
    linalg.yield %m : f32
  } -> tensor<4x8x8xf32>
  // softmax over the last dim
  %ex_e = tensor.empty() : tensor<4x8x8xf32>
  %ex = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ss : tensor<4x8x8xf32>) outs(%ex_e : tensor<4x8x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %m = math.exp %a0 : f32
    linalg.yield %m : f32
  } -> tensor<4x8x8xf32>
  %den_z_e = tensor.empty() : tensor<4x8xf32>
  %den_z = linalg.fill ins(%zero : f32) outs(%den_z_e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %den = linalg.generic {indexing_maps = [#id3, #rows], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ex : tensor<4x8x8xf32>) outs(%den_z : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %r = arith.addf %o, %a0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %p3_e = tensor.empty() : tensor<4x8x8xf32>
  %p3 = linalg.generic {indexing_maps = [#id3, #rows, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ex, %den : tensor<4x8x8xf32>, tensor<4x8xf32>) outs(%p3_e : tensor<4x8x8xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %m = arith.divf %a0, %a1 : f32
    linalg.yield %m : f32
  } -> tensor<4x8x8xf32>
  %v3 = tensor.collapse_shape %vh [[0, 1], [2], [3]] : tensor<2x2x8x8xf32> into tensor<4x8x8xf32>
  // o = p v
  %o3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %o3_z = linalg.fill ins(%zero : f32) outs(%o3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %o3 = linalg.batch_matmul ins(%p3, %v3 : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%o3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %o4 = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [2, 2, 8, 8] : tensor<4x8x8xf32> into tensor<2x2x8x8xf32>
  %ot_e = tensor.empty() : tensor<2x8x2x8xf32>
  %ot = linalg.transpose ins(%o4 : tensor<2x2x8x8xf32>) outs(%ot_e : tensor<2x8x2x8xf32>) permutation = [0, 2, 1, 3]
  %o2 = tensor.collapse_shape %ot [[0, 1], [2, 3]] : tensor<2x8x2x8xf32> into tensor<16x16xf32>
  %wot_e = tensor.empty() : tensor<16x16xf32>
  %wot = linalg.transpose ins(%wo : tensor<16x16xf32>) outs(%wot_e : tensor<16x16xf32>) permutation = [1, 0]
  // y = o Wo^T
  %y_z_e = tensor.empty() : tensor<16x16xf32>
  %y_z = linalg.fill ins(%zero : f32) outs(%y_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %y = linalg.matmul ins(%o2, %wot : tensor<16x16xf32>, tensor<16x16xf32>) outs(%y_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  // The loss gradient (a stand-in: dy = y / 16).
  %dy_e = tensor.empty() : tensor<16x16xf32>
  %dy = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"], bm.grad_seed}
      ins(%y : tensor<16x16xf32>) outs(%dy_e : tensor<16x16xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %c = arith.constant 0.0625 : f32
    %m = arith.mulf %a0, %c : f32
    linalg.yield %m : f32
  } -> tensor<16x16xf32>
  // Backward of y = o Wo^T: dWo = dy^T o, do = dy Wo.
  %dyt_e = tensor.empty() : tensor<16x16xf32>
  %dyt = linalg.transpose ins(%dy : tensor<16x16xf32>) outs(%dyt_e : tensor<16x16xf32>) permutation = [1, 0]
  %dwo_z_e = tensor.empty() : tensor<16x16xf32>
  %dwo_z = linalg.fill ins(%zero : f32) outs(%dwo_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dwo = linalg.matmul ins(%dyt, %o2 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dwo_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %do2_z_e = tensor.empty() : tensor<16x16xf32>
  %do2_z = linalg.fill ins(%zero : f32) outs(%do2_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %do2 = linalg.matmul ins(%dy, %wo : tensor<16x16xf32>, tensor<16x16xf32>) outs(%do2_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %do4 = tensor.expand_shape %do2 [[0, 1], [2, 3]] output_shape [2, 8, 2, 8] : tensor<16x16xf32> into tensor<2x8x2x8xf32>
  %doh_e = tensor.empty() : tensor<2x2x8x8xf32>
  %doh = linalg.transpose ins(%do4 : tensor<2x8x2x8xf32>) outs(%doh_e : tensor<2x2x8x8xf32>) permutation = [0, 2, 1, 3]
  %do3 = tensor.collapse_shape %doh [[0, 1], [2], [3]] : tensor<2x2x8x8xf32> into tensor<4x8x8xf32>
  // Backward of o = p v (bmm): dp = do v^T, dv = p^T do.
  %v3t_e = tensor.empty() : tensor<4x8x8xf32>
  %v3t = linalg.transpose ins(%v3 : tensor<4x8x8xf32>) outs(%v3t_e : tensor<4x8x8xf32>) permutation = [0, 2, 1]
  %dp3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %dp3_z = linalg.fill ins(%zero : f32) outs(%dp3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %dp3 = linalg.batch_matmul ins(%do3, %v3t : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%dp3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %p3t_e = tensor.empty() : tensor<4x8x8xf32>
  %p3t = linalg.transpose ins(%p3 : tensor<4x8x8xf32>) outs(%p3t_e : tensor<4x8x8xf32>) permutation = [0, 2, 1]
  %dv3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %dv3_z = linalg.fill ins(%zero : f32) outs(%dv3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %dv3 = linalg.batch_matmul ins(%p3t, %do3 : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%dv3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  // Backward of the softmax and the scale: ds = p (dp - sum(dp p)) / sqrt(D).
  %dpp_e = tensor.empty() : tensor<4x8x8xf32>
  %dpp = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dp3, %p3 : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%dpp_e : tensor<4x8x8xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %m = arith.mulf %a0, %a1 : f32
    linalg.yield %m : f32
  } -> tensor<4x8x8xf32>
  %rs_z_e = tensor.empty() : tensor<4x8xf32>
  %rs_z = linalg.fill ins(%zero : f32) outs(%rs_z_e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %rs = linalg.generic {indexing_maps = [#id3, #rows], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%dpp : tensor<4x8x8xf32>) outs(%rs_z : tensor<4x8xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %r = arith.addf %o, %a0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ds3_e = tensor.empty() : tensor<4x8x8xf32>
  %ds3 = linalg.generic {indexing_maps = [#id3, #id3, #rows, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%p3, %dp3, %rs : tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<4x8xf32>) outs(%ds3_e : tensor<4x8x8xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %d = arith.subf %a1, %a2 : f32
    %m = arith.mulf %a0, %d : f32
    %r = arith.mulf %m, %scale : f32
    linalg.yield %r : f32
  } -> tensor<4x8x8xf32>
  // Backward of scores = q k^T (bmm on the [B*H, ., .] views): dq = ds (k^T)^T,
  // dk^T = q^T ds.
  %kt3t_e = tensor.empty() : tensor<4x8x8xf32>
  %kt3t = linalg.transpose ins(%kt3 : tensor<4x8x8xf32>) outs(%kt3t_e : tensor<4x8x8xf32>) permutation = [0, 2, 1]
  %dq3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %dq3_z = linalg.fill ins(%zero : f32) outs(%dq3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %dq3 = linalg.batch_matmul ins(%ds3, %kt3t : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%dq3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %q3t_e = tensor.empty() : tensor<4x8x8xf32>
  %q3t = linalg.transpose ins(%q3 : tensor<4x8x8xf32>) outs(%q3t_e : tensor<4x8x8xf32>) permutation = [0, 2, 1]
  %dkt3_z_e = tensor.empty() : tensor<4x8x8xf32>
  %dkt3_z = linalg.fill ins(%zero : f32) outs(%dkt3_z_e : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  %dkt3 = linalg.batch_matmul ins(%q3t, %ds3 : tensor<4x8x8xf32>, tensor<4x8x8xf32>) outs(%dkt3_z : tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  // Heads back to [B*S, E] tokens.
  %dq4 = tensor.expand_shape %dq3 [[0, 1], [2], [3]] output_shape [2, 2, 8, 8] : tensor<4x8x8xf32> into tensor<2x2x8x8xf32>
  %dqs_e = tensor.empty() : tensor<2x8x2x8xf32>
  %dqs = linalg.transpose ins(%dq4 : tensor<2x2x8x8xf32>) outs(%dqs_e : tensor<2x8x2x8xf32>) permutation = [0, 2, 1, 3]
  %dq2 = tensor.collapse_shape %dqs [[0, 1], [2, 3]] : tensor<2x8x2x8xf32> into tensor<16x16xf32>
  %dkt4 = tensor.expand_shape %dkt3 [[0, 1], [2], [3]] output_shape [2, 2, 8, 8] : tensor<4x8x8xf32> into tensor<2x2x8x8xf32>
  %dks_e = tensor.empty() : tensor<2x8x2x8xf32>
  %dks = linalg.transpose ins(%dkt4 : tensor<2x2x8x8xf32>) outs(%dks_e : tensor<2x8x2x8xf32>) permutation = [0, 3, 1, 2]
  %dk2 = tensor.collapse_shape %dks [[0, 1], [2, 3]] : tensor<2x8x2x8xf32> into tensor<16x16xf32>
  %dv4 = tensor.expand_shape %dv3 [[0, 1], [2], [3]] output_shape [2, 2, 8, 8] : tensor<4x8x8xf32> into tensor<2x2x8x8xf32>
  %dvs_e = tensor.empty() : tensor<2x8x2x8xf32>
  %dvs = linalg.transpose ins(%dv4 : tensor<2x2x8x8xf32>) outs(%dvs_e : tensor<2x8x2x8xf32>) permutation = [0, 2, 1, 3]
  %dv2 = tensor.collapse_shape %dvs [[0, 1], [2, 3]] : tensor<2x8x2x8xf32> into tensor<16x16xf32>
  // Backward of the projections: dW = d^T x, dx = sum of d W.
  %dq2t_e = tensor.empty() : tensor<16x16xf32>
  %dq2t = linalg.transpose ins(%dq2 : tensor<16x16xf32>) outs(%dq2t_e : tensor<16x16xf32>) permutation = [1, 0]
  %dwq_z_e = tensor.empty() : tensor<16x16xf32>
  %dwq_z = linalg.fill ins(%zero : f32) outs(%dwq_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dwq = linalg.matmul ins(%dq2t, %x2 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dwq_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dk2t_e = tensor.empty() : tensor<16x16xf32>
  %dk2t = linalg.transpose ins(%dk2 : tensor<16x16xf32>) outs(%dk2t_e : tensor<16x16xf32>) permutation = [1, 0]
  %dwk_z_e = tensor.empty() : tensor<16x16xf32>
  %dwk_z = linalg.fill ins(%zero : f32) outs(%dwk_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dwk = linalg.matmul ins(%dk2t, %x2 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dwk_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dv2t_e = tensor.empty() : tensor<16x16xf32>
  %dv2t = linalg.transpose ins(%dv2 : tensor<16x16xf32>) outs(%dv2t_e : tensor<16x16xf32>) permutation = [1, 0]
  %dwv_z_e = tensor.empty() : tensor<16x16xf32>
  %dwv_z = linalg.fill ins(%zero : f32) outs(%dwv_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dwv = linalg.matmul ins(%dv2t, %x2 : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dwv_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxq_z_e = tensor.empty() : tensor<16x16xf32>
  %dxq_z = linalg.fill ins(%zero : f32) outs(%dxq_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxq = linalg.matmul ins(%dq2, %wq : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dxq_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxk_z_e = tensor.empty() : tensor<16x16xf32>
  %dxk_z = linalg.fill ins(%zero : f32) outs(%dxk_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxk = linalg.matmul ins(%dk2, %wk : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dxk_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxv_z_e = tensor.empty() : tensor<16x16xf32>
  %dxv_z = linalg.fill ins(%zero : f32) outs(%dxv_z_e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dxv = linalg.matmul ins(%dv2, %wv : tensor<16x16xf32>, tensor<16x16xf32>) outs(%dxv_z : tensor<16x16xf32>) -> tensor<16x16xf32>
  %dx_e = tensor.empty() : tensor<16x16xf32>
  %dx2 = linalg.generic {indexing_maps = [#id2, #id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%dxq, %dxk, %dxv : tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) outs(%dx_e : tensor<16x16xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %s0 = arith.addf %a0, %a1 : f32
    %s1 = arith.addf %s0, %a2 : f32
    linalg.yield %s1 : f32
  } -> tensor<16x16xf32>
  %dx = tensor.expand_shape %dx2 [[0, 1], [2]] output_shape [2, 8, 16] : tensor<16x16xf32> into tensor<2x8x16xf32>
  return %dwq, %dwk, %dwv, %dwo, %dx : tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<2x8x16xf32>
}
