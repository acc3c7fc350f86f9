// RUN: bm-opt %s --convert-bm-to-linalg=vector-kernels=false -split-input-file | FileCheck %s

// matmul: decode each operand once into run-major integer forms, sum each
// run exactly with bm.fma in a Kulisch accumulator sized from the formats
// and the run (e2m3 x e2m3 over 48 terms: 19 bits), then convert each run
// once and add the runs in order (the run loop is the innermost reduction).
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[AC:.*]]: tensor<64x96xi8>, %[[AB:.*]]: tensor<2x2xi8>, %[[BC:.*]]: tensor<96x32xi8>, %[[BB:.*]]: tensor<2x1xi8>, %[[INIT:.*]]: tensor<64x32xf32>)
// Run tables: starts and lengths.
// CHECK-DAG: arith.constant dense<[0, 48]> : tensor<2xi64>
// CHECK-DAG: arith.constant dense<48> : tensor<2xi64>
// CHECK: %[[RA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2x48xi8>)
// CHECK: tensor.extract %[[AC]]
// CHECK: bm.decode %{{.*}} format(e2m3) : i8 -> i8
// CHECK: %[[RB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x48x32xi8>)
// CHECK: bm.decode %{{.*}} format(e2m3) : i8 -> i8
// CHECK: %[[SA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<64x2xi32>)
// CHECK: %[[SB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x32xi32>)
// CHECK: bm.kulisch.zero : !bm.kulisch<19>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[RA]], %[[RB]] : tensor<64x2x48xi8>, tensor<2x48x32xi8>) outs(%{{.*}} : tensor<64x32x2x!bm.kulisch<19>>)
// CHECK: bm.fma %{{.*}}, %{{.*}}, %{{.*}} formats(e2m3, e2m3) : !bm.kulisch<19>, i8, i8
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]], %[[SA]], %[[SB]] : {{.*}}) outs(%[[INIT]] : tensor<64x32xf32>)
// CHECK: bm.kulisch.to_f32 %{{.*}}, %{{.*}} : !bm.kulisch<19>
// CHECK: arith.addf
// CHECK: return %[[R]]
func.func @matmul(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
                  %b: !bm.tensor<96x32xe2m3, block = [48, 48]>,
                  %init: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %c = bm.matmul %a, %b, %init : !bm.tensor<64x96xe2m3, block = [48, 48]>,
         !bm.tensor<96x32xe2m3, block = [48, 32]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %c : tensor<64x32xf32>
}

// -----

// Unequal K blocks (48 and 32): the runs are the common refinement
// [0,32) [32,48) [48,64) [64,96), padded to the longest run (32). e3m2
// forms need i16; e3m2 x e2m3 over 32 terms needs 9 + 6 + 5 + 1 = 21 bits.
// CHECK-LABEL: func.func @matmul_refined_runs
// CHECK-DAG: arith.constant dense<[0, 32, 48, 64]> : tensor<4xi64>
// CHECK-DAG: arith.constant dense<[32, 16, 16, 32]> : tensor<4xi64>
// CHECK: outs(%{{.*}} : tensor<8x4x32xi16>)
// CHECK: bm.decode %{{.*}} format(e3m2) : i8 -> i16
// CHECK: outs(%{{.*}} : tensor<4x32x16xi8>)
// CHECK: bm.fma %{{.*}}, %{{.*}}, %{{.*}} formats(e3m2, e2m3) : !bm.kulisch<21>, i16, i8
func.func @matmul_refined_runs(%a: !bm.tensor<8x96xe3m2, block = [8, 48]>,
                               %b: !bm.tensor<96x16xe2m3, block = [32, 16]>,
                               %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c = bm.matmul %a, %b, %init : !bm.tensor<8x96xe3m2, block = [8, 48]>,
         !bm.tensor<96x16xe2m3, block = [32, 16]>, tensor<8x16xf32> -> tensor<8x16xf32>
  return %c : tensor<8x16xf32>
}

// -----

// Batched and transposed operands keep the batch loop outermost and read
// the stored layout directly. The BM8 backward pair e4m3 x e2m5 over 16
// terms needs 18 + 8 + 4 + 1 = 31 bits.
// CHECK-LABEL: func.func @batch_matmul_transposed
// CHECK: outs(%{{.*}} : tensor<2x8x1x16xi32>)
// CHECK: outs(%{{.*}} : tensor<2x1x16x4xi16>)
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<2x8x4x1x!bm.kulisch<31>>)
// CHECK: bm.fma %{{.*}}, %{{.*}}, %{{.*}} formats(e4m3, e2m5) : !bm.kulisch<31>, i32, i16
func.func @batch_matmul_transposed(%a: !bm.tensor<2x16x8xe4m3, block = [1, 16, 8]>,
                                   %b: !bm.tensor<2x4x16xe2m5, block = [1, 4, 16]>,
                                   %init: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %c = bm.matmul %a, %b, %init {transpose_lhs, transpose_rhs}
         : !bm.tensor<2x16x8xe4m3, block = [1, 16, 8]>,
           !bm.tensor<2x4x16xe2m5, block = [1, 4, 16]>, tensor<2x8x4xf32> -> tensor<2x8x4xf32>
  return %c : tensor<2x8x4xf32>
}

// -----

// An empty reduction leaves the init untouched.
// CHECK-LABEL: func.func @matmul_empty_k
// CHECK-SAME: %[[INIT:[^:]*]]: tensor<4x4xf32>)
// CHECK-NEXT: return %[[INIT]]
func.func @matmul_empty_k(%a: !bm.tensor<4x0xe2m3>, %b: !bm.tensor<0x4xe2m3>,
                          %init: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %c = bm.matmul %a, %b, %init : !bm.tensor<4x0xe2m3>, !bm.tensor<0x4xe2m3>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %c : tensor<4x4xf32>
}

// -----

// conv2d: operands decoded once; each output scans (c, kh, kw) in order,
// carrying the Kulisch sum, the current blocks and their scales, and
// flushing a term when a block changes. Padding taps are masked out.
// CHECK-LABEL: func.func @conv2d
// CHECK: bm.decode %{{.*}} format(e2m3) : i8 -> i8
// CHECK: bm.decode %{{.*}} format(e3m2) : i8 -> i16
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%{{.*}} : tensor<1x2x4x4xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (!bm.kulisch<{{[0-9]+}}>, index, index, f32, i32, i32)
// CHECK: bm.kulisch.to_f32
// CHECK: bm.fma %{{.*}}, %{{.*}}, %{{.*}} formats(e2m3, e3m2)
// CHECK: scf.yield
// CHECK: bm.kulisch.to_f32
func.func @conv2d(%x: !bm.tensor<1x3x8x8xe2m3, block = [1, 3, 4, 4]>,
                  %w: !bm.tensor<2x3x3x3xe3m2, block = [2, 1, 3, 3]>,
                  %init: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %y = bm.conv2d %x, %w, %init {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>}
         : !bm.tensor<1x3x8x8xe2m3, block = [1, 3, 4, 4]>,
           !bm.tensor<2x3x3x3xe3m2, block = [2, 1, 3, 3]>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
