// RUN: bm-opt %s --convert-bm-to-linalg --convert-bm-to-arith --bm-vectorize-quantize | FileCheck %s

// The fit scale rule (numerics.md section 2) survives vectorization: the
// band's biases compare each block maximum's normalized significand with
// e2m1's threshold (3 << 22 = 12582912: a maximum above 1.5 * 2^s raises
// s), and no generic is left. (The bits are checked by vectors-quantize-fit.test
// and vectorize-quantize-run.test.)
// CHECK-LABEL: func.func @fit
// CHECK: vector.reduction <maxui>
// CHECK-DAG: arith.constant 12582912 : i32
// CHECK-DAG: math.ctlz
// CHECK: arith.cmpi ugt, %{{.*}}, %{{.*}} : i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK-NOT: linalg.generic
func.func @fit(%x: tensor<16x32xf32>) -> !bm.tensor<16x32xe2m1, block = [16, 16]> {
  %q = bm.quantize %x nearest scale(fit) : tensor<16x32xf32> -> !bm.tensor<16x32xe2m1, block = [16, 16]>
  return %q : !bm.tensor<16x32xe2m1, block = [16, 16]>
}

