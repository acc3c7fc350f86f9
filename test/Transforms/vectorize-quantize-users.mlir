// RUN: bm-opt %s --convert-bm-to-linalg=min-parallel-macs=0 --convert-bm-to-arith --bm-vectorize-quantize 2>&1 | FileCheck %s

// The biases of a quantize are read by later ops, some from inside their
// regions (the matmul's unit-exponent generics extract them in their
// bodies): the quantize is still vectorized (no remark, no quantize
// generic left). Such nested reads used to make the pass leave every
// quantize feeding a matmul scalar, e.g. in the training steps.
// CHECK-NOT:   remark
// CHECK-LABEL: func.func @feeds_matmul
// CHECK-NOT:   bm.quant_codes
// CHECK:       scf.for
// CHECK:         vector.transfer_write {{.*}} : vector<8xi8>
// CHECK:       scf.forall
// CHECK-NOT:   bm.quant_codes
// CHECK:       return
func.func @feeds_matmul(%x: tensor<96x96xf32>, %w: tensor<96x32xf32>,
                        %init: tensor<96x32xf32>) -> tensor<96x32xf32> {
  %qx = bm.quantize %x nearest : tensor<96x96xf32> -> !bm.tensor<96x96xe2m3, block = [48, 48]>
  %qw = bm.quantize %w nearest : tensor<96x32xf32> -> !bm.tensor<96x32xe2m3, block = [48, 48]>
  %y = bm.matmul %qx, %qw, %init
      : !bm.tensor<96x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x32xe2m3, block = [48, 48]>, tensor<96x32xf32>
      -> tensor<96x32xf32>
  return %y : tensor<96x32xf32>
}
