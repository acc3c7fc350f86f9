// RUN: bm-opt %s --convert-bm-to-linalg="cpu=avx2 min-parallel-macs=0" -split-input-file | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-linalg="x86-avx2=true min-parallel-macs=0" -split-input-file | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-linalg -split-input-file | FileCheck %s --check-prefix=NOAVX2

// The u8 x s8 step of the CPU matmul kernel (cpu=avx2; x86-avx2=true is its
// former spelling). e2m3 forms lie in [-60, 60]: A is packed as form + 60
// (unsigned bytes, four k per i32; row by row in vector code: 64 codes
// decoded into 16 words at a time), B as the signed forms (each column's
// four k in one i32), and each step
// sums eight k: two llvm.x86.avx2.pmadd.ub.sw, an i16 add, and
// llvm.x86.avx2.pmadd.wd by ones into the i32 run sums, which start from
// -60 times the run's column sums of B. Tiles are 4 x 16.

// CHECK-DAG:   func.func private @llvm.x86.avx2.pmadd.wd(vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// CHECK-DAG:   func.func private @llvm.x86.avx2.pmadd.ub.sw(vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK-LABEL: func.func @bm6
// No decode tables: both operands are decoded arithmetically.
// CHECK-NOT:   tensor<64xi8>
// CHECK:       %[[A:.*]] = scf.for {{.*}} -> (tensor<12x24xi32>)
// CHECK:         scf.for {{.*}} -> (tensor<24xi32>)
// CHECK:           vector.transfer_read %arg0[%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<12x96xi8>, vector<64xi8>
// CHECK:           %[[SIXTY:.*]] = arith.constant dense<60> : vector<64xi32>
// CHECK:           arith.addi %{{.*}}, %[[SIXTY]] : vector<64xi32>
// CHECK:           arith.trunci %{{.*}} : vector<64xi32> to vector<64xi8>
// CHECK:           vector.bitcast %{{.*}} : vector<64xi8> to vector<16xi32>
// CHECK:         vector.transfer_read %arg0[%{{.*}}, %{{.*}}], %{{.*}} : tensor<12x96xi8>, vector<64xi8>
// B in vector code (stored [K, N]): per row of words, four rows of k
// decoded and combined, the form of row 3 in the top byte.
// CHECK:       %[[B:.*]] = scf.for {{.*}} -> (tensor<2x24x16xi32>)
// CHECK:         vector.transfer_read {{.*}} : tensor<96x20xi8>, vector<8xi8>
// CHECK:         arith.andi %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK:         arith.shli %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK:         vector.transfer_write {{.*}} : vector<8xi32>, tensor<2x16xi32>
// Minus 60 times each run's column sums, from packed B (0 past column 20):
// per column panel and run, pmaddubsw of ones with each word of B, pmaddwd
// by ones. (Little work: a sequential loop over the panels; from 2^17
// elements of packed B it is an scf.forall.)
// CHECK:       %[[SUMS:.*]] = scf.for %[[PNT:[a-z0-9_]+]] = {{.*}} -> (tensor<2x32xi32>)
// CHECK:         scf.for {{.*}} -> (tensor<2x16xi32>)
// CHECK:           scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>)
// CHECK:             %[[BW:.*]] = vector.transfer_read %[[B]][%[[PNT]], %{{.*}}, %{{.*}}]{{.*}} : tensor<2x24x16xi32>, vector<8xi32>
// CHECK:             %[[BV:.*]] = vector.bitcast %[[BW]] : vector<8xi32> to vector<32xi8>
// CHECK:             %[[PAIRS:.*]] = func.call @llvm.x86.avx2.pmadd.ub.sw(%{{.*}}, %[[BV]])
// CHECK:             func.call @llvm.x86.avx2.pmadd.wd(%[[PAIRS]], %{{.*}})
// CHECK:           arith.muli %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK:         tensor.insert_slice
// CHECK:       scf.forall (%[[MT:.*]], %[[NT:.*]]) in (3, 2)
// CHECK:         scf.for %[[R:[a-z0-9_]+]] = {{.*}} -> (tensor<4x16xf32>)
// CHECK:           %[[INIT0:.*]] = vector.transfer_read %[[SUMS]][%[[R]], %{{.*}}]{{.*}} : tensor<2x32xi32>, vector<8xi32>
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[INIT0]], {{.*}}) -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// CHECK:             vector.transfer_read %[[B]][%[[NT]], %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<2x24x16xi32>, vector<8xi32>
// CHECK:             %[[WORD:.*]] = tensor.extract %[[A]][%{{.*}}, %{{.*}}] : tensor<12x24xi32>
// CHECK:             %[[BC:.*]] = vector.broadcast %[[WORD]] : i32 to vector<8xi32>
// CHECK:             vector.bitcast %[[BC]] : vector<8xi32> to vector<32xi8>
// CHECK:             %[[P0:.*]] = func.call @llvm.x86.avx2.pmadd.ub.sw(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK:             %[[P1:.*]] = func.call @llvm.x86.avx2.pmadd.ub.sw(%{{.*}}, %{{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK:             %[[S16:.*]] = arith.addi %[[P0]], %[[P1]] : vector<16xi16>
// CHECK:             %[[W:.*]] = func.call @llvm.x86.avx2.pmadd.wd(%[[S16]], %{{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// CHECK:             arith.addi %{{.*}}, %[[W]] : vector<8xi32>

// Without x86-avx2: the portable i16 step, no intrinsic.
// NOAVX2-NOT:  llvm.x86
// NOAVX2-LABEL: func.func @bm6
// NOAVX2:      tensor<2x48x16xi32>
func.func @bm6(%a: !bm.tensor<12x96xe2m3, block = [48, 48]>,
               %b: !bm.tensor<96x20xe2m3, block = [48, 48]>,
               %init: tensor<12x20xf32>) -> tensor<12x20xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<12x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x20xe2m3, block = [48, 48]>, tensor<12x20xf32>
      -> tensor<12x20xf32>
  return %y : tensor<12x20xf32>
}

// -----

// Runs of 7 (B blocks of 7 along K) are not multiples of eight: each run
// gets a zero-padded slot of one step (two words).
// CHECK-LABEL: func.func @unaligned_runs
// CHECK:       scf.for {{.*}} -> (tensor<4x6xi32>)
// CHECK:         vector.transfer_read {{.*}} : tensor<4x21xi8>, vector<8xi8>
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<1x6x16xi32>)
// CHECK:       func.call @llvm.x86.avx2.pmadd.ub.sw
func.func @unaligned_runs(%a: !bm.tensor<4x21xe2m3, block = [4, 21]>,
                          %b: !bm.tensor<21x16xe2m3, block = [7, 16]>,
                          %init: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<4x21xe2m3, block = [4, 21]>,
        !bm.tensor<21x16xe2m3, block = [7, 16]>, tensor<4x16xf32>
      -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Forms too wide for the bound 4 * 2 maxA * maxB <= 32767 keep the i16
// step: BM8 (e2m5, forms up to 252) and the backward pair e3m2 x e2m3
// (448 x 60).
// CHECK-LABEL: func.func @bm8
// CHECK-NOT:   llvm.x86
// CHECK:       tensor<1x8x16xi32>
// CHECK-LABEL: func.func @backward
// CHECK-NOT:   llvm.x86
// CHECK:       return
func.func @bm8(%a: !bm.tensor<4x16xe2m5, block = [4, 16]>,
               %b: !bm.tensor<16x16xe2m5, block = [16, 16]>,
               %init: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<4x16xe2m5, block = [4, 16]>,
        !bm.tensor<16x16xe2m5, block = [16, 16]>, tensor<4x16xf32>
      -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
func.func @backward(%a: !bm.tensor<4x16xe3m2, block = [4, 16]>,
                    %b: !bm.tensor<16x16xe2m3, block = [16, 16]>,
                    %init: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<4x16xe3m2, block = [4, 16]>,
        !bm.tensor<16x16xe2m3, block = [16, 16]>, tensor<4x16xf32>
      -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
