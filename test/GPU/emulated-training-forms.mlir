// The data movement bm-quantize-training adds for the new forms (NHWC
// operands quantized in their own layout and permuted by bm.transpose; a
// broadcast operand's codes and biases broadcast between bm.unpack and
// bm.pack; collapsed batch dims), through the GPU lowering run on the CPU
// (bm-gpu-launch-to-loops), gives the same bits as the CPU lowering, whose
// results python/tests/test_training_forms.py checks against the numpy
// reference. Stochastic rounding, so the seeds and the order of the random
// words count too.
// RUN: bm-opt %s --bm-quantize-training --bm-lower-to-cpu \
// RUN: | mlir-runner -e main --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils > %t.cpu
// RUN: bm-opt %s --bm-quantize-training --bm-lower-to-gpu="host-shared=true" --bm-gpu-launch-to-loops \
// RUN:   --convert-scf-to-cf --expand-strided-metadata --lower-affine --convert-to-llvm \
// RUN:   --reconcile-unrealized-casts \
// RUN: | mlir-runner -e main --entry-point-result=void \
// RUN:   --shared-libs=%mlir_c_runner_utils,%mlir_runner_utils > %t.gpu
// Same bits (the printed buffer addresses aside).
// RUN: sed -e 's/base@ = 0x[0-9a-f]*//' %t.cpu > %t.cpu.bits
// RUN: sed -e 's/base@ = 0x[0-9a-f]*//' %t.gpu > %t.gpu.bits
// RUN: diff %t.cpu.bits %t.gpu.bits
// RUN: FileCheck %s < %t.cpu
// Three results printed.
// CHECK-COUNT-3: Unranked Memref {{.*}} sizes = [{{.*}}] strides
// CHECK-NOT: Unranked

#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>
#id3 = affine_map<(a, b, c) -> (a, b, c)>
#id2 = affine_map<(a, b) -> (a, b)>

// NHWC x FHWC, zero pad 1, stride 2.
func.func @nhwc(%x: tensor<2x7x7x56xf32>, %w: tensor<8x3x3x56xf32> {bm.role = #bm.role<weight>},
                %init: tensor<2x4x4x8xf32>, %seed: i64 {bm.role = #bm.role<seed>}) -> tensor<2x4x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<2x7x7x56xf32> to tensor<2x9x9x56xf32>
  %y = linalg.conv_2d_nhwc_fhwc {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>}
      ins(%p, %w : tensor<2x9x9x56xf32>, tensor<8x3x3x56xf32>) outs(%init : tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %y : tensor<2x4x4x8xf32>
}

// NHWC x HWCF.
func.func @hwcf(%x: tensor<2x7x7x56xf32>, %w: tensor<3x3x56x8xf32> {bm.role = #bm.role<weight>},
                %init: tensor<2x5x5x8xf32>, %seed: i64 {bm.role = #bm.role<seed>}) -> tensor<2x5x5x8xf32> {
  %y = linalg.conv_2d_nhwc_hwcf ins(%x, %w : tensor<2x7x7x56xf32>, tensor<3x3x56x8xf32>) outs(%init : tensor<2x5x5x8xf32>) -> tensor<2x5x5x8xf32>
  return %y : tensor<2x5x5x8xf32>
}

// A weight broadcast over two batch dims (collapsed to one) of a
// transposed rhs: "mk,bhnk->bhmn".
func.func @bcast(%w: tensor<12x56xf32> {bm.role = #bm.role<weight>}, %x: tensor<2x3x10x56xf32>,
                 %init: tensor<2x3x12x10xf32>, %seed: i64 {bm.role = #bm.role<seed>}) -> tensor<2x3x12x10xf32> {
  %r = linalg.contract indexing_maps = [affine_map<(b, h, m, n, k) -> (m, k)>, affine_map<(b, h, m, n, k) -> (b, h, n, k)>, affine_map<(b, h, m, n, k) -> (b, h, m, n)>]
      ins(%w, %x : tensor<12x56xf32>, tensor<2x3x10x56xf32>) outs(%init : tensor<2x3x12x10xf32>) -> tensor<2x3x12x10xf32>
  return %r : tensor<2x3x12x10xf32>
}

// Deterministic inputs: ((linear index * 7919 + salt) mod 101 - 50) / 16;
// results printed as their bits.
func.func @main() {
  %c7919 = arith.constant 7919 : index
  %c101 = arith.constant 101 : index
  %c50 = arith.constant 50 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  %sixteenth = arith.constant 0.0625 : f32
  %seed = arith.constant 12345 : i64
  %e1 = tensor.empty() : tensor<5488xf32>
  %v2 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e1 : tensor<5488xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c1 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<5488xf32>
  %x3 = tensor.expand_shape %v2 [[0, 1, 2, 3]] output_shape [2, 7, 7, 56] : tensor<5488xf32> into tensor<2x7x7x56xf32>
  %e4 = tensor.empty() : tensor<4032xf32>
  %v5 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e4 : tensor<4032xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c2 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<4032xf32>
  %x6 = tensor.expand_shape %v5 [[0, 1, 2, 3]] output_shape [8, 3, 3, 56] : tensor<4032xf32> into tensor<8x3x3x56xf32>
  %e7 = tensor.empty() : tensor<256xf32>
  %v8 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e7 : tensor<256xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c3 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<256xf32>
  %x9 = tensor.expand_shape %v8 [[0, 1, 2, 3]] output_shape [2, 4, 4, 8] : tensor<256xf32> into tensor<2x4x4x8xf32>
  %r10 = func.call @nhwc(%x3, %x6, %x9, %seed) : (tensor<2x7x7x56xf32>, tensor<8x3x3x56xf32>, tensor<2x4x4x8xf32>, i64) -> tensor<2x4x4x8xf32>
  %e11 = tensor.empty() : tensor<2x4x4x8xi32>
  %bits12 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%r10 : tensor<2x4x4x8xf32>) outs(%e11 : tensor<2x4x4x8xi32>) {
  ^bb0(%in: f32, %o: i32):
    %r = arith.bitcast %in : f32 to i32
    linalg.yield %r : i32
  } -> tensor<2x4x4x8xi32>
  %m13 = bufferization.to_buffer %bits12 : tensor<2x4x4x8xi32> to memref<2x4x4x8xi32>
  %u14 = memref.cast %m13 : memref<2x4x4x8xi32> to memref<*xi32>
  func.call @printMemrefI32(%u14) : (memref<*xi32>) -> ()
  %e15 = tensor.empty() : tensor<4032xf32>
  %v16 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e15 : tensor<4032xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c4 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<4032xf32>
  %x17 = tensor.expand_shape %v16 [[0, 1, 2, 3]] output_shape [3, 3, 56, 8] : tensor<4032xf32> into tensor<3x3x56x8xf32>
  %e18 = tensor.empty() : tensor<400xf32>
  %v19 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e18 : tensor<400xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c5 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<400xf32>
  %x20 = tensor.expand_shape %v19 [[0, 1, 2, 3]] output_shape [2, 5, 5, 8] : tensor<400xf32> into tensor<2x5x5x8xf32>
  %r21 = func.call @hwcf(%x3, %x17, %x20, %seed) : (tensor<2x7x7x56xf32>, tensor<3x3x56x8xf32>, tensor<2x5x5x8xf32>, i64) -> tensor<2x5x5x8xf32>
  %e22 = tensor.empty() : tensor<2x5x5x8xi32>
  %bits23 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%r21 : tensor<2x5x5x8xf32>) outs(%e22 : tensor<2x5x5x8xi32>) {
  ^bb0(%in: f32, %o: i32):
    %r = arith.bitcast %in : f32 to i32
    linalg.yield %r : i32
  } -> tensor<2x5x5x8xi32>
  %m24 = bufferization.to_buffer %bits23 : tensor<2x5x5x8xi32> to memref<2x5x5x8xi32>
  %u25 = memref.cast %m24 : memref<2x5x5x8xi32> to memref<*xi32>
  func.call @printMemrefI32(%u25) : (memref<*xi32>) -> ()
  %e26 = tensor.empty() : tensor<672xf32>
  %v27 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e26 : tensor<672xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c6 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<672xf32>
  %x28 = tensor.expand_shape %v27 [[0, 1]] output_shape [12, 56] : tensor<672xf32> into tensor<12x56xf32>
  %e29 = tensor.empty() : tensor<3360xf32>
  %v30 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e29 : tensor<3360xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c7 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<3360xf32>
  %x31 = tensor.expand_shape %v30 [[0, 1, 2, 3]] output_shape [2, 3, 10, 56] : tensor<3360xf32> into tensor<2x3x10x56xf32>
  %e32 = tensor.empty() : tensor<720xf32>
  %v33 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%e32 : tensor<720xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %a = arith.muli %i, %c7919 : index
    %a2 = arith.addi %a, %c8 : index
    %b = arith.remui %a2, %c101 : index
    %c = arith.subi %b, %c50 : index
    %d = arith.index_cast %c : index to i32
    %f = arith.sitofp %d : i32 to f32
    %r = arith.mulf %f, %sixteenth : f32
    linalg.yield %r : f32
  } -> tensor<720xf32>
  %x34 = tensor.expand_shape %v33 [[0, 1, 2, 3]] output_shape [2, 3, 12, 10] : tensor<720xf32> into tensor<2x3x12x10xf32>
  %r35 = func.call @bcast(%x28, %x31, %x34, %seed) : (tensor<12x56xf32>, tensor<2x3x10x56xf32>, tensor<2x3x12x10xf32>, i64) -> tensor<2x3x12x10xf32>
  %e36 = tensor.empty() : tensor<2x3x12x10xi32>
  %bits37 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%r35 : tensor<2x3x12x10xf32>) outs(%e36 : tensor<2x3x12x10xi32>) {
  ^bb0(%in: f32, %o: i32):
    %r = arith.bitcast %in : f32 to i32
    linalg.yield %r : i32
  } -> tensor<2x3x12x10xi32>
  %m38 = bufferization.to_buffer %bits37 : tensor<2x3x12x10xi32> to memref<2x3x12x10xi32>
  %u39 = memref.cast %m38 : memref<2x3x12x10xi32> to memref<*xi32>
  func.call @printMemrefI32(%u39) : (memref<*xi32>) -> ()
  return
}
func.func private @printMemrefI32(memref<*xi32>)
