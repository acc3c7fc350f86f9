// The README's example parses, verifies and reports as documented.
// RUN: bm-opt %bm_src_root/examples/matmul.mlir --canonicalize --bm-report 2>&1 | FileCheck %s
// CHECK: bm-report: @bm6_matmul: 1 BM contraction
// CHECK: bm.matmul e2m3 [48x48] e2m3 [48x32] 48 19 i32
// CHECK: func.func @bm6_matmul
// CHECK: bm.quantize %{{.*}} stochastic seed
// CHECK: bm.quantize %{{.*}} nearest
// CHECK: bm.matmul
