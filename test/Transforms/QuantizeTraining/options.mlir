// Option errors: options-invalid.mlir.
// RUN: bm-opt %s --bm-quantize-training=keep-fp32=0 2>&1 | FileCheck %s --check-prefix=KEEP
// RUN: bm-opt %s --bm-quantize-training=min-macs=100000 2>&1 | FileCheck %s --check-prefix=MACS

// Contraction #0 (64x96x48 = 294912 MACs) stays FP32 when asked; #1
// (64x48x16 = 49152 MACs) is below min-macs=100000.
// KEEP: remark: bm-quantize-training: contraction #0 kept in FP32 (keep-fp32)
// KEEP: linalg.matmul
// KEEP: bm.matmul {{.*}}bm.index = 1
// MACS: remark: bm-quantize-training: contraction #1 kept in FP32: 49152 MACs < min-macs
// MACS: bm.matmul {{.*}}bm.index = 0
// MACS: linalg.matmul

func.func @two_layers(%x: tensor<64x96xf32> {bm.role = #bm.role<activation>},
                      %w1: tensor<96x48xf32> {bm.role = #bm.role<weight>},
                      %w2: tensor<48x16xf32> {bm.role = #bm.role<weight>},
                      %seed: i64 {bm.role = #bm.role<seed>}) -> tensor<64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<64x48xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<64x96xf32>, tensor<96x48xf32>) outs(%z0 : tensor<64x48xf32>) -> tensor<64x48xf32>
  %e1 = tensor.empty() : tensor<64x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<64x48xf32>, tensor<48x16xf32>) outs(%z1 : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %y : tensor<64x16xf32>
}
