// RUN: bm-opt %s --bm-report -o /dev/null 2>&1 | FileCheck %s
// RUN: bm-opt %s --bm-report=output=%t.txt -o /dev/null && FileCheck %s < %t.txt
// The report leaves the IR as it was.
// RUN: bm-opt %s --bm-report 2>/dev/null | FileCheck %s --check-prefix=IR
// (The error for an output that cannot be created: report-invalid.mlir.)

// CHECK-LABEL: bm-report: @layer: 2 BM contractions
// CHECK-NEXT: op lhs rhs max-run kulisch acc f32-bytes bm-bytes roles
// e2m3 x e2m3 over 48-term runs: 6 + 6 + 6 + 1 = 19 bits, held in i32.
// Operands: (64*96 + 96*32) * 4 f32 bytes; 9216 codes + 4 + 2 biases.
// (A 48x48 block on a 96x32 tensor is a 48x32 block.)
// CHECK-NEXT: bm.matmul e2m3 [48x48] e2m3 [48x32] 48 19 i32 36864 9222 -
// e3m2 x e2m3 with K blocks 48 and 32: runs of 32 and 16 terms -> 9+6+5+1.
// CHECK-NEXT: bm.matmul e3m2 [64x48] e2m3 [32x32] 32 21 i32 36864 9221
// CHECK-NEXT: operand memory: 73728 bytes as f32, 18443 bytes as BM (4.00x smaller)
// The paper's BM8 backward pair: e4m3 x e2m5 over 48 terms needs 33 bits.
// CHECK-LABEL: bm-report: @bm8_backward: 1 BM contraction
// CHECK: bm.matmul e4m3 [48x48] e2m5 [48x48] 48 33 i64
// CHECK-NOT: @no_contractions

// IR: func.func @layer
// IR: bm.matmul
// IR: bm.matmul


func.func @layer(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
                 %b: !bm.tensor<96x32xe2m3, block = [48, 48]>,
                 %e: !bm.tensor<64x96xe3m2, block = [64, 48]>,
                 %w: !bm.tensor<96x32xe2m3, block = [32, 32]>,
                 %init: tensor<64x32xf32>) -> (tensor<64x32xf32>, tensor<64x32xf32>) {
  %0 = bm.matmul %a, %b, %init : !bm.tensor<64x96xe2m3, block = [48, 48]>,
         !bm.tensor<96x32xe2m3, block = [48, 48]>, tensor<64x32xf32> -> tensor<64x32xf32>
  %1 = bm.matmul %e, %w, %init : !bm.tensor<64x96xe3m2, block = [64, 48]>,
         !bm.tensor<96x32xe2m3, block = [32, 32]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %0, %1 : tensor<64x32xf32>, tensor<64x32xf32>
}

func.func @bm8_backward(%e: !bm.tensor<96x96xe4m3, block = [48, 48]>,
                        %x: !bm.tensor<96x96xe2m5, block = [48, 48]>,
                        %init: tensor<96x96xf32>) -> tensor<96x96xf32> {
  %0 = bm.matmul %e, %x, %init : !bm.tensor<96x96xe4m3, block = [48, 48]>,
         !bm.tensor<96x96xe2m5, block = [48, 48]>, tensor<96x96xf32> -> tensor<96x96xf32>
  return %0 : tensor<96x96xf32>
}

func.func @no_contractions(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
