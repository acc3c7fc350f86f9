// RUN: bm-opt %s --convert-bm-to-linalg=vector-kernels=false --convert-bm-to-arith --bm-vectorize-run-sums | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-linalg=vector-kernels=false --convert-bm-to-arith --bm-vectorize-run-sums=tile-n=8 | FileCheck %s --check-prefix=TILE8

// The run sums (marked bm.run_sums) are tiled to one row, 16 columns and
// one run, and vectorized: the 48 products of a run are multiplied and
// reduced as vectors. The float32 run accumulation stays a scalar loop
// nest in run order.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.for
// CHECK: scf.for {{.*}} step %c16
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} vector<1x16x1x48xi8>
// CHECK: arith.extsi {{.*}} : vector<1x16x1x48xi8> to vector<1x16x1x48xi32>
// CHECK: arith.muli {{.*}} : vector<1x16x1x48xi32>
// CHECK: vector.multi_reduction <add>, {{.*}} [3] : vector<1x16x1x48xi32> to vector<1x16x1xi32>
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.addf
// TILE8: scf.for {{.*}} step %c8
// TILE8: vector.multi_reduction <add>, {{.*}} [3] : vector<1x8x1x48xi32> to vector<1x8x1xi32>
func.func @matmul(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
                  %b: !bm.tensor<96x32xe2m3, block = [48, 48]>,
                  %init: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %c = bm.matmul %a, %b, %init : !bm.tensor<64x96xe2m3, block = [48, 48]>,
         !bm.tensor<96x32xe2m3, block = [48, 32]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %c : tensor<64x32xf32>
}
