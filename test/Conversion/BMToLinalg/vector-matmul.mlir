// RUN: bm-opt %s --bm-conv-to-matmul --convert-bm-to-linalg=min-parallel-macs=0 -split-input-file | FileCheck %s
// RUN: bm-opt %s --convert-bm-to-linalg=vector-kernels=false -split-input-file \
// RUN:   | FileCheck %s --check-prefix=GENERIC

// The register-tiled CPU kernel of bm.matmul (lib/Codegen/CPU), for the
// generic target (the pass's default). BM6 with 48-wide K blocks: every run
// starts and ends on an even k, so the packed layout position of k is k
// (no run tables in the packing). A (stored [M, K]) is packed row by row in vector code as
// [M, K/2] i32 (a pair of k per i32: 32 codes read, decoded arithmetically
// into 16 words at a time), B (20 columns,
// zero-padded to 32) as [N/16, K/2, 16] i32 (each column's pair of k), in
// vector code as B is stored [K, N]: per row of words (two rows of k), the
// 8-column chunks of both rows are read, decoded arithmetically and
// combined into words; the last panel (columns 16 to 31, of which 20 and
// up do not exist) reads past N, where code 0 gives form 0.

// CHECK-LABEL: func.func @bm6_even_runs
// No decode table: both operands are decoded arithmetically.
// CHECK-NOT:   tensor<64xi16>
// CHECK-DAG:   arith.constant dense<[0, 24]> : tensor<2xi64>
// CHECK:       %[[A:.*]] = scf.for %[[M:.*]] = %{{.*}} to %c12 {{.*}} -> (tensor<12x48xi32>)
// CHECK:         %[[AROW:.*]] = tensor.extract_slice %{{.*}}[%[[M]], 0] [1, 48] [1, 1] : tensor<12x48xi32> to tensor<48xi32>
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[AROW]]) -> (tensor<48xi32>)
// CHECK:           vector.transfer_read %arg0[%[[M]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<12x96xi8>, vector<32xi8>
// CHECK:           arith.shli {{.*}} : vector<32xi32>
// CHECK:           arith.trunci {{.*}} : vector<32xi32> to vector<32xi16>
// CHECK:           vector.bitcast {{.*}} : vector<32xi16> to vector<16xi32>
// CHECK:           vector.transfer_write {{.*}} : vector<16xi32>, tensor<48xi32>
// CHECK:       %[[B:.*]] = scf.for %[[W:.*]] = %{{.*}} to %c48 {{.*}} -> (tensor<2x48x16xi32>)
// CHECK:         %[[ROW:.*]] = tensor.extract_slice %{{.*}}[0, %[[W]], 0] [2, 1, 16] [1, 1, 1] : tensor<2x48x16xi32> to tensor<2x16xi32>
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[ROW]]) -> (tensor<2x16xi32>)
// CHECK:           vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<96x20xi8>, vector<8xi8>
// CHECK:           arith.shli {{.*}} : vector<8xi32>
// CHECK:           arith.andi {{.*}} : vector<8xi32>
// CHECK:           vector.transfer_read %{{.*}} {in_bounds = [true]} : tensor<96x20xi8>, vector<8xi8>
// CHECK:           arith.ori {{.*}} : vector<8xi32>
// CHECK:           vector.transfer_write {{.*}} : vector<8xi32>, tensor<2x16xi32>
// CHECK:         vector.transfer_read %{{.*}}], %{{[a-z0-9_]+}} : tensor<96x20xi8>, vector<8xi8>
// CHECK:         tensor.insert_slice {{.*}} into %{{.*}}[0, %[[W]], 0] [2, 1, 16] [1, 1, 1]
// The init is zero-padded to 12x32; 2 x 2 tiles of 6 x 16.
// The unit exponents sA per (row, run) and sB per (run, column), the
// exponent bits (sB + 127) << 23 per (run, column); the range of each
// tile's row (column) scales per run, for the fast-path test: [2 panels,
// 2 runs, min/max] for A (6 rows each) and B (16 columns); sA << 23 per
// (row panel, run, row).
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<12x2xi32>)
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<2x32xi32>)
// CHECK:       %[[BITSB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x32xi32>)
// CHECK:         arith.addi %{{.*}}, %c127_i32 : i32
// CHECK:         arith.shli %{{.*}}, %c23_i32 : i32
// CHECK:       %[[RANGEA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x2xi32>)
// CHECK-COUNT-5: arith.maxsi
// CHECK:         arith.select
// CHECK:       %[[RANGEB:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x2xi32>)
// CHECK-COUNT-15: arith.maxsi
// CHECK:         arith.select
// CHECK:       %[[BITSA:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x6xi32>)
// CHECK:         arith.shli %{{.*}}, %c23_i32 : i32
// The output is padded to 32 columns; each tile copies its part of the
// init (%arg4) in, with masked reads (no in_bounds: zeros past column 20).
// CHECK-NOT:   tensor.pad
// CHECK:       %[[INIT:.*]] = tensor.empty() : tensor<12x32xf32>
// CHECK:       %[[RES:.*]] = scf.forall (%[[MT:.*]], %[[NT:.*]]) in (2, 2) shared_outs(%[[OUT:.*]] = %[[INIT]])
// CHECK:         %[[TILE:.*]] = tensor.extract_slice %[[OUT]]{{.*}} [6, 16] [1, 1] : tensor<12x32xf32> to tensor<6x16xf32>
// CHECK-COUNT-12: vector.transfer_read %arg4[%{{.*}}, %{{.*}}], %{{.*}} : tensor<12x20xf32>, vector<8xf32>
// One loop over the runs, one over a run's pairs of k with 12 i32 vectors.
// CHECK:         scf.for {{.*}} -> (tensor<6x16xf32>)
// CHECK:           scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
// CHECK:             %[[BWORDS:.*]] = vector.transfer_read %[[B]][%[[NT]], %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<2x48x16xi32>, vector<8xi32>
// CHECK:             vector.bitcast %[[BWORDS]] : vector<8xi32> to vector<16xi16>
// CHECK:             vector.shuffle %{{.*}} [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xi16>, vector<16xi16>
// CHECK:             vector.shuffle %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xi16>, vector<16xi16>
// CHECK:             %[[PAIR:.*]] = tensor.extract %[[A]][%{{.*}}, %{{.*}}] : tensor<12x48xi32>
// CHECK:             %[[WIDE:.*]] = vector.broadcast %[[PAIR]] : i32 to vector<8xi32>
// CHECK:             vector.bitcast %[[WIDE]] : vector<8xi32> to vector<16xi16>
// CHECK:             arith.extsi %{{.*}} : vector<8xi16> to vector<8xi32>
// CHECK:             %[[EVEN:.*]] = arith.muli %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK:             %[[ODD:.*]] = arith.muli %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK:             %[[SUM:.*]] = arith.addi %[[EVEN]], %[[ODD]] : vector<8xi32>
// CHECK:             arith.addi %{{.*}}, %[[SUM]] : vector<8xi32>
// Per run: is every sA + sB of the tile in [-126, 96] (a test on the
// ranges; a non-finite block's marker fails it)?
// CHECK-DAG:       %[[LOA:.*]] = tensor.extract %[[RANGEA]][%[[MT]], %[[R:.*]], %c0{{.*}}]
// CHECK-DAG:       %[[HIA:.*]] = tensor.extract %[[RANGEA]][%[[MT]], %[[R]], %c1{{.*}}]
// CHECK-DAG:       %[[LOB:.*]] = tensor.extract %[[RANGEB]][%[[NT]], %[[R]], %c0{{.*}}]
// CHECK-DAG:       %[[HIB:.*]] = tensor.extract %[[RANGEB]][%[[NT]], %[[R]], %c1{{.*}}]
// CHECK-DAG:       arith.addi %[[LOA]], %[[LOB]] : i32
// CHECK-DAG:       arith.addi %[[HIA]], %[[HIB]] : i32
// CHECK-DAG:       arith.constant -126 : i32
// CHECK-DAG:       arith.constant 96 : i32
// Fast: acc + sitofp(P) * 2^(sA + sB), contractible into one FMA.
// CHECK:           scf.if
// CHECK:             vector.transfer_read %[[BITSB]]
// CHECK:             tensor.extract %[[BITSA]][%[[MT]], %[[R]], %{{.*}}]
// CHECK:             arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK:             arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : vector<8xf32>
// CHECK:             arith.addf %{{.*}}, %{{.*}} fastmath<contract> : vector<8xf32>
// CHECK:             vector.transfer_write
// CHECK:           } else {
// CHECK:             scf.for
// CHECK:               vector.extract %{{.*}}[%{{.*}}] : i32 from vector<8xi32>
// CHECK:               math.ctlz
// CHECK:               vector.insert %{{.*}}, %{{.*}} [%{{.*}}] : f32 into vector<8xf32>
// CHECK:             arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK:             vector.transfer_write
// After the last run, if the tile holds a NaN, every NaN becomes
// 0x7fc00000 (on the bits).
// CHECK-DAG:     %[[CANON:.*]] = arith.constant dense<2143289344> : vector<8xi32>
// CHECK:         arith.cmpi ugt
// CHECK:         vector.reduction <or>
// CHECK:         scf.if
// CHECK:           arith.select %{{.*}}, %[[CANON]], %{{.*}} : vector<8xi1>, vector<8xi32>
// CHECK:         scf.forall.in_parallel
// CHECK:           tensor.parallel_insert_slice %{{.*}} into %[[OUT]]
// CHECK:       tensor.extract_slice %[[RES]][0, 0] [12, 20] [1, 1] : tensor<12x32xf32> to tensor<12x20xf32>

// GENERIC-LABEL: func.func @bm6_even_runs
// GENERIC-NOT:   scf.forall
// GENERIC:       bm.fma
func.func @bm6_even_runs(%a: !bm.tensor<12x96xe2m3, block = [48, 48]>,
                         %b: !bm.tensor<96x20xe2m3, block = [48, 48]>,
                         %init: tensor<12x20xf32>) -> tensor<12x20xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<12x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x20xe2m3, block = [48, 48]>, tensor<12x20xf32>
      -> tensor<12x20xf32>
  return %y : tensor<12x20xf32>
}

// -----

// Runs of odd length (blocks of 5 along K): run r owns pairs [3r, 3r + 3)
// of the packed operands, zero past its 5 terms; positions come from the
// run tables. e3m2 x e2m5 (BM8-style backward) stays within i16 forms and
// a 32-bit Kulisch accumulator. M = 8 is a multiple of 4, not of 6: tiles
// of 4 rows, no padding: the output starts empty and each tile copies its
// part of the init (%arg4) in. A row's runs are packed in vector code, a
// slot of 3 words (6 codes read at the run's start, code 0 from its 6th
// lane on) per run. N = 16: one 16-column chunk of 8 lanes per tile row.

// CHECK-LABEL: func.func @odd_runs
// CHECK-DAG:   arith.constant dense<[0, 5, 10, 15]> : tensor<4xi64>
// CHECK-DAG:   arith.constant dense<[0, 3, 6, 9]> : tensor<4xi64>
// CHECK:       scf.for {{.*}} -> (tensor<8x12xi32>)
// CHECK:         scf.for {{.*}} -> (tensor<12xi32>)
// CHECK:           vector.transfer_read %arg0[%{{.*}}, %{{.*}}], %{{.*}} : tensor<8x20xi8>, vector<6xi8>
// CHECK:           vector.step : vector<6xindex>
// CHECK:           arith.cmpi ult, %{{.*}}, %{{.*}} : vector<6xindex>
// CHECK:           vector.bitcast {{.*}} : vector<6xi16> to vector<3xi32>
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<1x12x16xi32>)
// CHECK:       %[[OUT:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (2, 1) shared_outs(%{{.*}} = %[[OUT]])
// CHECK-COUNT-8: vector.transfer_read %arg4
// CHECK:         scf.for {{.*}} -> (vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>, vector<8xi32>)
func.func @odd_runs(%a: !bm.tensor<8x20xe3m2, block = [8, 5]>,
                    %b: !bm.tensor<20x16xe2m5, block = [5, 16]>,
                    %init: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<8x20xe3m2, block = [8, 5]>,
        !bm.tensor<20x16xe2m5, block = [5, 16]>, tensor<8x16xf32>
      -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// -----

// Batched and transposed: the batch is the outermost forall dimension.
// Both operands are packed in vector code. A stored [K, M]: per (batch,
// word column), the word's two rows of k are read as vectors over m (16
// lanes, 8 of them past M: a masked read, code 0), decoded arithmetically,
// combined into words and written into row w of [batch, K/2, M]
// (contiguous; the kernel reads A in that layout). B
// stored [N, K]: per (batch, panel), each column's k are read as one row
// (32 codes), decoded into 16 words and written down the column of the
// panel's [K/2, 16] words (a transfer_write along dimension 0).

// CHECK-DAG:   #[[DOWN:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @batched_transposed
// CHECK-NOT:   linalg.generic
// CHECK:       scf.for %[[ABI:[a-z0-9_]+]] = {{.*}} -> (tensor<2x16x8xi32>)
// CHECK:         scf.for %[[AW:[a-z0-9_]+]] = {{.*}} -> (tensor<2x16x8xi32>)
// CHECK:           %[[ACOL:.*]] = tensor.extract_slice %{{.*}}[%[[ABI]], %[[AW]], 0] [1, 1, 8] [1, 1, 1] : tensor<2x16x8xi32> to tensor<8xi32>
// CHECK-COUNT-2:   vector.transfer_read %arg0[%[[ABI]], %{{.*}}, %{{.*}}], %{{.*}} : tensor<2x32x8xi8>, vector<16xi8>
// CHECK:           vector.transfer_write %{{.*}}, %[[ACOL]][%{{.*}}] : vector<16xi32>, tensor<8xi32>
// CHECK:       scf.for %[[BI:[a-z0-9_]+]] = {{.*}} -> (tensor<2x1x16x16xi32>)
// CHECK:         scf.for %[[NT:[a-z0-9_]+]] = {{.*}} -> (tensor<2x1x16x16xi32>)
// CHECK:           %[[PANEL:.*]] = tensor.extract_slice %{{.*}}[%[[BI]], %[[NT]], 0, 0] [1, 1, 16, 16] [1, 1, 1, 1] : tensor<2x1x16x16xi32> to tensor<16x16xi32>
// CHECK:           scf.for %[[J:[a-z0-9_]+]] = %{{.*}} to %c16 {{.*}} iter_args(%{{.*}} = %[[PANEL]]) -> (tensor<16x16xi32>)
// CHECK:             vector.transfer_read %arg2[%[[BI]], %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<2x16x32xi8>, vector<32xi8>
// CHECK:             vector.bitcast {{.*}} : vector<32xi16> to vector<16xi32>
// CHECK:             vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %[[J]]] {in_bounds = [true], permutation_map = #[[DOWN]]} : vector<16xi32>, tensor<16x16xi32>
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (2, 2, 1)
func.func @batched_transposed(%a: !bm.tensor<2x32x8xe2m3, block = [1, 16, 8]>,
                              %b: !bm.tensor<2x16x32xe2m3, block = [1, 16, 16]>,
                              %init: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %y = bm.matmul %a, %b, %init {transpose_lhs, transpose_rhs}
      : !bm.tensor<2x32x8xe2m3, block = [1, 16, 8]>,
        !bm.tensor<2x16x32xe2m3, block = [1, 16, 16]>, tensor<2x8x16xf32>
      -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// Outside the kernel's domain: e4m3 integer forms need 18 bits and the
// accumulator 40. The generic lowering (bm.fma into !bm.kulisch<40>) stays.

// CHECK-LABEL: func.func @wide_forms
// CHECK-NOT:   scf.forall
// CHECK:       bm.fma {{.*}} : !bm.kulisch<40>, i32, i32
func.func @wide_forms(%a: !bm.tensor<4x8xe4m3, block = [4, 8]>,
                      %b: !bm.tensor<8x4xe4m3, block = [8, 4]>,
                      %init: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<4x8xe4m3, block = [4, 8]>,
        !bm.tensor<8x4xe4m3, block = [8, 4]>, tensor<4x4xf32>
      -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

// A convolution whose input blocks span H, W and filter blocks span KH, KW
// (the training rewrite's default blocking) has the runs of an im2col
// matmul: channel blocks times 3x3 taps. bm-conv-to-matmul makes it bm.pack
// of an im2col copy of the input codes (zero padding = code 0) and of the
// reshaped filter, and a bm.matmul with transpose_rhs, which takes the
// kernel above (test/Transforms/conv-to-matmul.mlir checks the rewrite).

// CHECK-LABEL: func.func @conv_im2col
// CHECK:       %[[PAD:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:       %[[COLS:.*]] = linalg.generic {{.*}} ins(%[[PAD]] : tensor<2x16x10x10xi8>) outs(%{{.*}} : tensor<2x8x8x16x3x3xi8>)
// CHECK:       tensor.collapse_shape %[[COLS]] {{.*}} into tensor<128x144xi8>
// CHECK:       linalg.transpose
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (32, 1)
// CHECK:       tensor.expand_shape {{.*}} into tensor<2x8x8x4xf32>
// CHECK:       linalg.transpose {{.*}} permutation = [0, 3, 1, 2]

// The scan stays where a window can lie in the padding only (padding 3 of
// a 3x3 kernel: output row 0 reads rows -3..-1), or blocks cut H/W.
// CHECK-LABEL: func.func @conv_scan
// CHECK-NOT:   scf.forall
// CHECK:       bm.fma
// CHECK-NOT:   scf.forall
// CHECK:       bm.fma
// CHECK-NOT:   scf.forall

// GENERIC-LABEL: func.func @conv_im2col
// GENERIC-NOT:   scf.forall
// GENERIC:       bm.fma
func.func @conv_im2col(%x: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
                       %w: !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>,
                       %init: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 1, 1>}
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x8x8xf32>
      -> tensor<2x4x8x8xf32>
  return %y : tensor<2x4x8x8xf32>
}
func.func @conv_scan(%x: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
                     %w: !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>,
                     %init: tensor<2x4x12x12xf32>,
                     %xc: !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 4, 8]>,
                     %init2: tensor<2x4x6x6xf32>)
    -> (tensor<2x4x12x12xf32>, tensor<2x4x6x6xf32>) {
  %y = bm.conv2d %x, %w, %init {padding = array<i64: 3, 3>}
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 8, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x12x12xf32>
      -> tensor<2x4x12x12xf32>
  %z = bm.conv2d %xc, %w, %init2
      : !bm.tensor<2x16x8x8xe2m3, block = [1, 16, 4, 8]>,
        !bm.tensor<4x16x3x3xe2m3, block = [4, 16, 3, 3]>, tensor<2x4x6x6xf32>
      -> tensor<2x4x6x6xf32>
  return %y, %z : tensor<2x4x12x12xf32>, tensor<2x4x6x6xf32>
}
