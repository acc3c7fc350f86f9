// RUN: bm-opt %s --convert-bm-to-linalg="cpu=avx512-vnni min-parallel-macs=0" -split-input-file | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-linalg=cpu=avx512-vnni -split-input-file | FileCheck %s --check-prefix=SEQ

// Narrow outputs take narrow register tiles (KernelPlan.cpp): with 8
// columns, the AVX-512 VNNI kernel works on 8 lanes (the 256-bit vpdpbusd
// of AVX512-VL) and one vector per tile row, so nothing is padded: the
// output is not a zero-padded copy of the init, and the tile grid is one
// column of tiles wide. (A 32-column tile would compute and convert 24
// columns of padding for each of the 8.) This is the shape of a first
// convolution layer: 8 filters over 9 taps of one channel.
//
// By default a kernel this small (24 x 8 x 12 padded multiply-adds, below
// min-parallel-macs) runs its tiles in order: scf.for loops, no scf.forall
// (ParallelLoops.h).

// SEQ-LABEL: func.func @eight_columns
// SEQ-NOT:   scf.forall
// SEQ:       scf.for %{{.*}} = %{{.*}} to %c4 step %{{.*}} iter_args(%{{.*}}) -> (tensor<24x8xf32>)
// SEQ:         scf.for {{.*}} -> (tensor<24x8xf32>)
// SEQ:           func.call @llvm.x86.avx512.vpdpbusd.256
// SEQ-NOT:   scf.forall
// SEQ-LABEL: func.func @sixteen_columns

// CHECK-LABEL: func.func @eight_columns
// CHECK-NOT:   tensor.pad
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (4, 1)
// CHECK:         func.call @llvm.x86.avx512.vpdpbusd.256(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
// CHECK-NOT:     vpdpbusd.512
// CHECK:       return
func.func @eight_columns(%a: !bm.tensor<24x9xe2m3, block = [24, 9]>,
                         %b: !bm.tensor<8x9xe2m3, block = [8, 9]>,
                         %init: tensor<24x8xf32>) -> tensor<24x8xf32> {
  %y = bm.matmul %a, %b, %init {transpose_rhs}
      : !bm.tensor<24x9xe2m3, block = [24, 9]>,
        !bm.tensor<8x9xe2m3, block = [8, 9]>, tensor<24x8xf32>
      -> tensor<24x8xf32>
  return %y : tensor<24x8xf32>
}

// -----

// 16 columns: one 512-bit vector per tile row (16 x 1 instead of 16 x 2).

// CHECK-LABEL: func.func @sixteen_columns
// CHECK-NOT:   tensor.pad
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (4, 1)
// CHECK:         func.call @llvm.x86.avx512.vpdpbusd.512(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK:       return
func.func @sixteen_columns(%a: !bm.tensor<16x96xe2m3, block = [16, 48]>,
                           %b: !bm.tensor<96x16xe2m3, block = [48, 16]>,
                           %init: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<16x96xe2m3, block = [16, 48]>,
        !bm.tensor<96x16xe2m3, block = [48, 16]>, tensor<16x16xf32>
      -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}
