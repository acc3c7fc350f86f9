// The runnable example computes what the numerics give by hand: with a
// 4x2 block whose largest value is 1.0, e2m3's unit is 2^(0 + 2-4-3) =
// 1/32, so 0.1 rounds to 3/32 = 0.09375 and -0.1 to -0.09375; x's values
// are all exact. Row 0: 1 + 3 + 4 * 0.09375 = 4.375 and 2 + 3 - 0.375 =
// 4.625; row 1: 0.5 + 0.125 + 7 * 0.09375 = 1.28125 and
// -0.25 + 0.125 - 0.65625 = -0.78125.
// RUN: bm-opt %bm_src_root/examples/matmul_run.mlir --bm-lower-to-cpu \
// RUN:   | mlir-runner -e main --entry-point-result=void \
// RUN:       --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | FileCheck %s
// CHECK: [4.375, 4.625]
// CHECK-NEXT: [1.28125, -0.78125]
