// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg{min-parallel-elements=131072}))" | FileCheck %s
// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg{tile-matmuls=false min-parallel-elements=131072}))" | FileCheck %s --check-prefix=NOMM
// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-vectorize-linalg{im2col-convs=false min-parallel-elements=131072}))" | FileCheck %s --check-prefix=NOCONV

// bm-vectorize-linalg: the float32 linalg ops of a training step, fused,
// tiled and vectorized on tensors.

// NOMM-LABEL: func.func @matmul
// NOMM:         linalg.matmul


// The add and the ReLU fused into one op over the collapsed 2048 elements,
// 64 lanes per step; no linalg op is left.
// CHECK-LABEL: func.func @bias_relu
// CHECK-NOT:     linalg.
// CHECK:         tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2, 3]] : tensor<16x8x4x4xf32> into tensor<2048xf32>
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:           %[[X:.*]] = vector.transfer_read %{{.*}}[%[[I]]], %{{.*}} {in_bounds = [true]} : tensor<2048xf32>, vector<64xf32>
// CHECK:           %[[B:.*]] = vector.transfer_read %{{.*}}[%[[I]]], %{{.*}} {in_bounds = [true]} : tensor<2048xf32>, vector<64xf32>
// CHECK:           %[[S:.*]] = arith.addf %[[X]], %[[B]] : vector<64xf32>
// CHECK:           %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : vector<64xf32>
// CHECK:           vector.transfer_write %[[R]]
// CHECK-NOT:     linalg.
// CHECK:         tensor.expand_shape
// Elementwise chain: relu(x + b) fused into one op, collapsed, 64-wide.
func.func @bias_relu(%x: tensor<16x8x4x4xf32>, %b: tensor<16x8x4x4xf32>) -> tensor<16x8x4x4xf32> {
  %e = tensor.empty() : tensor<16x8x4x4xf32>
  %z = arith.constant 0.0 : f32
  %s = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %b : tensor<16x8x4x4xf32>, tensor<16x8x4x4xf32>) outs(%e : tensor<16x8x4x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  } -> tensor<16x8x4x4xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<16x8x4x4xf32>) outs(%e : tensor<16x8x4x4xf32>) {
  ^bb0(%p: f32, %o: f32):
    %r = arith.maximumf %p, %z : f32
    linalg.yield %r : f32
  } -> tensor<16x8x4x4xf32>
  return %m : tensor<16x8x4x4xf32>
}

// Tiles of 4 rows x 10 columns, each reduced along its rows.
// CHECK-LABEL: func.func @row_sum
// CHECK-NOT:     linalg.
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:           %[[T:.*]] = vector.transfer_read %{{.*}}[%[[I]], %{{.*}}], %{{.*}} {in_bounds = [true, true]} : tensor<64x10xf32>, vector<4x10xf32>
// CHECK:           vector.multi_reduction <add>, %[[T]], %{{.*}} [1] : vector<4x10xf32> to vector<4xf32>
// Row sums of a 64x10 block.
func.func @row_sum(%x: tensor<64x10xf32>) -> tensor<64xf32> {
  %e = tensor.empty() : tensor<64xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<64x10xf32>) outs(%f : tensor<64xf32>) {
  ^bb0(%p: f32, %o: f32):
    %a = arith.addf %p, %o : f32
    linalg.yield %a : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// 16 x 16 tiles, an scf.forall over the 49 row blocks (200704 elements).
// CHECK-LABEL: func.func @transpose
// CHECK-NOT:     linalg.
// CHECK:         scf.forall (%{{.*}}) = (0) to (784) step (16)
// CHECK:           scf.for
// CHECK:             vector.transfer_read {{.*}} permutation_map = #{{.*}}} : tensor<256x784xf32>, vector<16x16xf32>
func.func @transpose(%x: tensor<256x784xf32>) -> tensor<784x256xf32> {
  %e = tensor.empty() : tensor<784x256xf32>
  %t = linalg.transpose ins(%x : tensor<256x784xf32>) outs(%e : tensor<784x256xf32>) permutation = [1, 0]
  return %t : tensor<784x256xf32>
}

// A unit dimension does not hide contiguity: [512, 512, 1] -> [512, 1, 512]
// is a copy of 262144 contiguous elements (unit loops dropped, the rest
// collapsed), in vectors of 64, not a 16 x 16 transpose or a gather.
// CHECK-LABEL: func.func @unit_dim_layout
// CHECK-NOT:     permutation_map
// CHECK:         tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<512x512x1xf32> into tensor<512x512xf32>
// CHECK:         scf.forall (%{{.*}}) = (0) to (262144) step (32768)
// CHECK:           vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<262144xf32>, vector<64xf32>
// CHECK-NOT:     permutation_map
// CHECK:         tensor.expand_shape %{{.*}} into tensor<512x1x512xf32>
func.func @unit_dim_layout(%x: tensor<512x512x1xf32>) -> tensor<512x1x512xf32> {
  %e = tensor.empty() : tensor<512x1x512xf32>
  %t = linalg.transpose ins(%x : tensor<512x512x1xf32>) outs(%e : tensor<512x1x512xf32>) permutation = [0, 2, 1]
  return %t : tensor<512x1x512xf32>
}

// Register tiles of 4 x 32 results: the accumulator is read before the k
// loop, carried as a vector through it (one broadcast and FMA per row and
// k), and written after it.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.matmul
// CHECK:         scf.forall (%[[M:.*]]) = (0) to (64) step (4)
// CHECK:           scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[C:.*]] = %{{.*}})
// CHECK:             %[[ACC:.*]] = vector.transfer_read %[[C]][%{{.*}}, %[[N]]], %{{.*}} {in_bounds = [true, true]} : tensor<4x256xf32>, vector<4x32xf32>
// CHECK:             %[[K:.*]]:2 = scf.for %[[KI:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[C]], %[[V:.*]] = %[[ACC]]) -> (tensor<4x256xf32>, vector<4x32xf32>)
// CHECK:               %[[A:.*]] = vector.transfer_read %{{.*}}[%[[M]], %[[KI]]], {{.*}} : tensor<64x784xf32>, vector<4x1xf32>
// CHECK:               %[[BROW:.*]] = vector.transfer_read %{{.*}}[%[[KI]], %[[N]]], {{.*}} : tensor<784x256xf32>, vector<32xf32>
// CHECK:               %[[A0:.*]] = vector.extract %[[A]][0, 0]
// CHECK:               %[[A0V:.*]] = vector.broadcast %[[A0]] : f32 to vector<32xf32>
// CHECK:               %[[V0:.*]] = vector.extract %[[V]][0]
// CHECK:               vector.fma %[[A0V]], %[[BROW]], %[[V0]] : vector<32xf32>
// CHECK-COUNT-3:       vector.fma
// CHECK:               scf.yield
// CHECK:             vector.transfer_write %[[K]]#1, %[[K]]#0[%{{.*}}, %[[N]]]
func.func @matmul(%a: tensor<64x784xf32>, %b: tensor<784x256xf32>, %c: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x784xf32>, tensor<784x256xf32>) outs(%c : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %r : tensor<64x256xf32>
}

// The window loops tiled to one; each tile takes a row of the window (14
// lanes, stride 2) as one read of the 27 contiguous elements it spans and a
// shuffle of every other lane (a read of the strided slice itself would
// become one masked broadcast per element).
// CHECK-LABEL: func.func @maxpool
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     [1, 1, 1, 2]
// CHECK:         %[[ROW:.*]] = vector.transfer_read %arg0[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<16x8x28x28xf32>, vector<27xf32>
// CHECK:         %[[WIN:.*]] = vector.shuffle %[[ROW]], %[[ROW]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26] : vector<27xf32>, vector<27xf32>
// CHECK:         arith.maximumf %[[WIN]], %{{.*}} : vector<14xf32>
// 2x2 max pooling, stride 2: the window loops read through strided slices.
func.func @maxpool(%x: tensor<16x8x28x28xf32>) -> tensor<16x8x14x14xf32> {
  %e = tensor.empty() : tensor<16x8x14x14xf32>
  %w = tensor.empty() : tensor<2x2xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<16x8x14x14xf32>) -> tensor<16x8x14x14xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, c, h, w, kh, kw) -> (n, c, h * 2 + kh, w * 2 + kw)>, affine_map<(n, c, h, w, kh, kw) -> (kh, kw)>, affine_map<(n, c, h, w, kh, kw) -> (n, c, h, w)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : tensor<16x8x28x28xf32>, tensor<2x2xf32>) outs(%f : tensor<16x8x14x14xf32>) {
  ^bb0(%p: f32, %u: f32, %o: f32):
    %m = arith.maximumf %p, %o : f32
    linalg.yield %m : f32
  } -> tensor<16x8x14x14xf32>
  return %r : tensor<16x8x14x14xf32>
}

// A transposed, flipped filter (the data gradient's): the 3 x 3 taps are
// one row of 9 in both, read backwards whole: per (c, f), a vector read, a
// reversing shuffle and a vector write; the outermost loop is distributed
// (512 tasks), not every element.
// CHECK-LABEL: func.func @flip_transpose
// CHECK:         %[[IN:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<512x512x3x3xf32> into tensor<512x512x9xf32>
// CHECK:         scf.forall (%[[C:.*]]) in (512)
// CHECK:           scf.for %[[F:.*]] = %c0 to %c512 step %c1
// CHECK:             %[[ROW:.*]] = vector.transfer_read %[[IN]][%[[F]], %[[C]], %c0]{{.*}} : tensor<512x512x9xf32>, vector<9xf32>
// CHECK:             vector.shuffle %[[ROW]], %[[ROW]] [8, 7, 6, 5, 4, 3, 2, 1, 0]
// CHECK:             vector.transfer_write {{.*}}[%c0, %[[F]], %c0]
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [512, 512, 3, 3]
func.func @flip_transpose(%w: tensor<512x512x3x3xf32>) -> tensor<512x512x3x3xf32> {
  %e = tensor.empty() : tensor<512x512x3x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, -d2 + 2, -d3 + 2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%w : tensor<512x512x3x3xf32>) outs(%e : tensor<512x512x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<512x512x3x3xf32>
  return %r : tensor<512x512x3x3xf32>
}

// A static float32 batch matmul: per batch, a plain matmul of slices as
// register tiles; with B transposed (attention's Q K^T) the B slice is
// transposed into [K, N] first.
// CHECK-LABEL: func.func @batch_matmuls
// CHECK:         scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(%{{.*}}) -> (tensor<8x16x32xf32>)
// CHECK-NOT:       linalg.batch_matmul
// CHECK:           vector.fma {{.*}} : vector<32xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args(%{{.*}}) -> (tensor<8x16x32xf32>)
// CHECK:           vector.transfer_read {{.*}} : tensor<8x32x24xf32>, vector<8x16xf32>
// CHECK:           vector.fma {{.*}} : vector<32xf32>
// CHECK-NOT:     linalg.batch_matmul
func.func @batch_matmuls(%a: tensor<8x16x24xf32>, %b: tensor<8x24x32xf32>, %bt: tensor<8x32x24xf32>, %c: tensor<8x16x32xf32>) -> (tensor<8x16x32xf32>, tensor<8x16x32xf32>) {
  %0 = linalg.batch_matmul ins(%a, %b : tensor<8x16x24xf32>, tensor<8x24x32xf32>) outs(%c : tensor<8x16x32xf32>) -> tensor<8x16x32xf32>
  %1 = linalg.batch_matmul indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>] ins(%a, %bt : tensor<8x16x24xf32>, tensor<8x32x24xf32>) outs(%c : tensor<8x16x32xf32>) -> tensor<8x16x32xf32>
  return %0, %1 : tensor<8x16x32xf32>, tensor<8x16x32xf32>
}

// CHECK-LABEL: func.func @left_alone
// CHECK:         linalg.generic
// CHECK:         linalg.batch_matmul
// CHECK:         linalg.conv_2d_nhwc_hwcf
// Left alone: dynamic shapes (a batch matmul among them), transposed
// matmuls, convolutions other than NCHW / FCHW.
func.func @left_alone(%x: tensor<?x8xf32>, %a: tensor<?x8x8xf32>, %i: tensor<1x6x6x1xf32>, %k: tensor<3x3x1x1xf32>, %o: tensor<1x4x4x1xf32>) -> (tensor<?x8xf32>, tensor<?x8x8xf32>, tensor<1x4x4x1xf32>) {
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x8xf32>) outs(%x : tensor<?x8xf32>) {
  ^bb0(%p: f32, %q: f32):
    %r = arith.negf %p : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  %b = linalg.batch_matmul ins(%a, %a : tensor<?x8x8xf32>, tensor<?x8x8xf32>) outs(%a : tensor<?x8x8xf32>) -> tensor<?x8x8xf32>
  %v = linalg.conv_2d_nhwc_hwcf ins(%i, %k : tensor<1x6x6x1xf32>, tensor<3x3x1x1xf32>) outs(%o : tensor<1x4x4x1xf32>) -> tensor<1x4x4x1xf32>
  return %n, %b, %v : tensor<?x8xf32>, tensor<?x8x8xf32>, tensor<1x4x4x1xf32>
}

// An NCHW / FCHW convolution (stride 2): im2col with strided window reads,
// then the filter [F, C*KH*KW] times the columns as a register tile, summed
// over k = (c, kh, kw) in order with FMAs. Here 16 output pixels per image,
// fewer than the register tile's 32 columns: the im2col is [C, KH, KW, N,
// OH, OW] and one matmul covers both images, (F x 27) x (27 x N*16), with
// the init and the result transposed to and from [F, N, 16].
// CHECK-LABEL: func.func @conv_im2col
// CHECK-NOT:     linalg.conv
// CHECK:         %[[W:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<4x3x3x3xf32> into tensor<4x27xf32>
// CHECK:         tensor.extract_slice %{{.*}} [1, 1, 4, 4] [1, 1, 2, 2] : tensor<1x1x7x7xf32> to tensor<4x4xf32>
// CHECK:         %[[COL:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<3x3x3x2x4x4xf32> into tensor<27x32xf32>
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<4x2x16xf32> into tensor<4x32xf32>
// CHECK:         scf.for %[[K:.*]] = %c0 to %c27 step %c1
// CHECK:           vector.transfer_read %[[W]][%c0, %[[K]]]
// CHECK:           vector.transfer_read %[[COL]][%[[K]], %c0]
// CHECK-COUNT-4:   vector.fma
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 2, 16]
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [2, 4, 4, 4]
// 14 x 14 = 196 pixels: no tile of whole 8-lane vectors divides them (28
// would), so both images go into one matmul of 392 columns (tiles of 8).
// CHECK-LABEL: func.func @conv_im2col_odd_pixels
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x3x3x2x14x14xf32> into tensor<18x392xf32>
// CHECK:         vector.fma {{.*}} : vector<8xf32>
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [2, 4, 14, 14]
// NOCONV-LABEL: func.func @conv_im2col
// NOCONV:         linalg.conv_2d_nchw_fchw
func.func @conv_im2col(%i: tensor<2x3x9x9xf32>, %k: tensor<4x3x3x3xf32>, %o: tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32> {
  %v = linalg.conv_2d_nchw_fchw {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%i, %k : tensor<2x3x9x9xf32>, tensor<4x3x3x3xf32>) outs(%o : tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
  return %v : tensor<2x4x4x4xf32>
}

// 64 output pixels per image: one matmul per image, (F x 27) x (27 x 64),
// computed in the NCHW result directly.
// CHECK-LABEL: func.func @conv_im2col_per_image
// CHECK-NOT:     linalg.conv
// CHECK:         %[[W2:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<4x3x3x3xf32> into tensor<4x27xf32>
// CHECK:         %[[COL2:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3], [4, 5]] : tensor<2x3x3x3x8x8xf32> into tensor<2x27x64xf32>
// CHECK:         scf.for %[[N2:.*]] = %c0 to %c2 step %c1 iter_args(%{{.*}}) -> (tensor<2x4x64xf32>)
// CHECK:           scf.for %[[K2:.*]] = %c0 to %c27 step %c1
// CHECK:             vector.transfer_read %[[W2]][%c0, %[[K2]]]
// CHECK:             vector.transfer_read %[[COL2]][%[[N2]], %[[K2]], %{{.*}}]
// CHECK-COUNT-4:     vector.fma
// CHECK:         tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] output_shape [2, 4, 8, 8]
func.func @conv_im2col_odd_pixels(%i: tensor<2x2x16x16xf32>, %k: tensor<4x2x3x3xf32>, %o: tensor<2x4x14x14xf32>) -> tensor<2x4x14x14xf32> {
  %v = linalg.conv_2d_nchw_fchw {strides = dense<1> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%i, %k : tensor<2x2x16x16xf32>, tensor<4x2x3x3xf32>) outs(%o : tensor<2x4x14x14xf32>) -> tensor<2x4x14x14xf32>
  return %v : tensor<2x4x14x14xf32>
}

func.func @conv_im2col_per_image(%i: tensor<2x3x17x17xf32>, %k: tensor<4x3x3x3xf32>, %o: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %v = linalg.conv_2d_nchw_fchw {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%i, %k : tensor<2x3x17x17xf32>, tensor<4x3x3x3xf32>) outs(%o : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %v : tensor<2x4x8x8xf32>
}

// A 3x3 kernel on a 1x1 image padded by 1 (a late ResNet stage): only the
// centre tap reads data, so the filter is sliced to it and K is C = 8, not
// C x 9 (the other taps would only add zero products).
// CHECK-LABEL: func.func @conv_live_taps
// CHECK:         tensor.extract_slice %{{.*}}[0, 0, 1, 1] [4, 8, 1, 1] [1, 1, 1, 1] : tensor<4x8x3x3xf32> to tensor<4x8x1x1xf32>
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<4x8x1x1xf32> into tensor<4x8xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c8 step %c1
// CHECK-NOT:     linalg.conv
func.func @conv_live_taps(%x: tensor<2x8x1x1xf32>, %k: tensor<4x8x3x3xf32>, %o: tensor<2x4x1x1xf32>) -> tensor<2x4x1x1xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<2x8x1x1xf32> to tensor<2x8x3x3xf32>
  %v = linalg.conv_2d_nchw_fchw {strides = dense<1> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%p, %k : tensor<2x8x3x3xf32>, tensor<4x8x3x3xf32>) outs(%o : tensor<2x4x1x1xf32>) -> tensor<2x4x1x1xf32>
  return %v : tensor<2x4x1x1xf32>
}

// A pad becomes a fill and a copy into the interior; the strided insertion
// of pooling's backward a copy into the strided slice (bufferized in place,
// no memref.copy through a strided view).
// CHECK-LABEL: func.func @pad_and_upsample
// CHECK-NOT:     tensor.pad
// CHECK:         %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [2, 3, 7, 7] [1, 1, 2, 2] : tensor<2x3x13x13xf32> to tensor<2x3x7x7xf32>
// CHECK:         %[[C:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[S]])
// CHECK:         %[[U:.*]] = tensor.insert_slice %[[C]] into %{{.*}}[0, 0, 0, 0] [2, 3, 7, 7] [1, 1, 2, 2]
// CHECK:         %[[I:.*]] = tensor.extract_slice %{{.*}}[0, 0, 1, 1] [2, 3, 13, 13] [1, 1, 1, 1] : tensor<2x3x15x15xf32> to tensor<2x3x13x13xf32>
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[I]])
// CHECK:           vector.transfer_read %[[U]]
// CHECK:         return
func.func @pad_and_upsample(%g: tensor<2x3x7x7xf32>) -> tensor<2x3x15x15xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x13x13xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x3x13x13xf32>) -> tensor<2x3x13x13xf32>
  %u = tensor.insert_slice %g into %f[0, 0, 0, 0] [2, 3, 7, 7] [1, 1, 2, 2] : tensor<2x3x7x7xf32> into tensor<2x3x13x13xf32>
  %p = tensor.pad %u low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %z : f32
  } : tensor<2x3x13x13xf32> to tensor<2x3x15x15xf32>
  return %p : tensor<2x3x15x15xf32>
}

// A flip that reads a 3x3 window of 5x5 trailing dimensions is not a
// reversed row (the rows are not contiguous): tiled as before.
// CHECK-LABEL: func.func @flip_of_a_window
// CHECK-NOT:     vector.shuffle
// CHECK:         vector.transfer_read {{.*}} : tensor<4x4x5x5xf32>, vector<f32>
func.func @flip_of_a_window(%w: tensor<4x4x5x5xf32>) -> tensor<4x4x3x3xf32> {
  %e = tensor.empty() : tensor<4x4x3x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d0, -d2 + 2, -d3 + 2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%w : tensor<4x4x5x5xf32>) outs(%e : tensor<4x4x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x4x3x3xf32>
  return %r : tensor<4x4x3x3xf32>
}
