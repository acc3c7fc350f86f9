// RUN: bm-opt %s | FileCheck %s
// Round trip: the printed form parses back to the same IR.
// RUN: bm-opt %s | bm-opt | FileCheck %s
// RUN: bm-opt %s --mlir-print-op-generic | bm-opt | FileCheck %s

// CHECK-LABEL: func.func private @formats
// CHECK-SAME: !bm.tensor<4x8xe2m3, block = [2, 4]>
// CHECK-SAME: !bm.tensor<4x8xe4m3, block = [4, 8]>
// CHECK-SAME: !bm.tensor<4x8xe0m7, block = [1, 8]>
// CHECK-SAME: !bm.tensor<4x8xe8m23, block = [4, 8]>
// CHECK-SAME: !bm.tensor<4x8xe1m0, block = [4, 8]>
func.func private @formats(!bm.tensor<4x8xe2m3, block = [2, 4]>,
                           !bm.tensor<4x8xe4m3, block = [4, 8]>,
                           !bm.tensor<4x8xe0m7, block = [1, 8]>,
                           !bm.tensor<4x8xe8m23, block = [4, 8]>,
                           !bm.tensor<4x8xe1m0, block = [4, 8]>)

// A block size of 0 or -1, one larger than the dimension, or no block at
// all means the whole dimension; the type stores the normalized size.
// CHECK-LABEL: func.func private @normalized_blocks
// CHECK-SAME: !bm.tensor<64x10xe2m3, block = [48, 10]>
// CHECK-SAME: !bm.tensor<64x10xe2m3, block = [64, 10]>
// CHECK-SAME: !bm.tensor<64x10xe2m3, block = [64, 10]>
// CHECK-SAME: !bm.tensor<64x10xe2m3, block = [64, 10]>
func.func private @normalized_blocks(!bm.tensor<64x10xe2m3, block = [48, 48]>,
                                     !bm.tensor<64x10xe2m3, block = [0, -1]>,
                                     !bm.tensor<64x10xe2m3>,
                                     !bm.tensor<64x10xe2m3, block = [100, 10]>)

// CHECK-LABEL: func.func private @ranks
// CHECK-SAME: !bm.tensor<e2m3, block = []>
// CHECK-SAME: !bm.tensor<7xe3m2, block = [3]>
// CHECK-SAME: !bm.tensor<2x3x5x5xe2m3, block = [1, 3, 5, 5]>
// CHECK-SAME: !bm.tensor<0x4xe2m3, block = [1, 4]>
func.func private @ranks(!bm.tensor<e2m3>, !bm.tensor<7xe3m2, block = [3]>,
                         !bm.tensor<2x3x5x5xe2m3, block = [1, 0, 0, 0]>,
                         !bm.tensor<0x4xe2m3, block = [0, 4]>)

// CHECK-LABEL: func.func private @accumulators
// CHECK-SAME: !bm.kulisch<19>, !bm.kulisch<2>, !bm.kulisch<64>
func.func private @accumulators(!bm.kulisch<19>, !bm.kulisch<2>, !bm.kulisch<64>)

// CHECK-LABEL: func.func private @attributes
// CHECK-SAME: test.f = #bm.format<e2m3>
// CHECK-SAME: test.r = #bm.rounding<stochastic>
// CHECK-SAME: test.role = #bm.role<weight>
// CHECK-SAME: test.s = #bm.scale<fit>
func.func private @attributes() attributes {test.f = #bm.format<e2m3>, test.r = #bm.rounding<stochastic>, test.role = #bm.role<weight>, test.s = #bm.scale<fit>}
