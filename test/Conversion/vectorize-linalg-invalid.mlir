// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg{min-parallel-elements=0}))" -verify-diagnostics
// The same option of the CPU pipeline:
// RUN: bm-opt %s --bm-lower-to-cpu="min-parallel-elements=0" -verify-diagnostics

// expected-error @below {{bm-vectorize-linalg: min-parallel-elements must be at least 1, got 0}}
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
