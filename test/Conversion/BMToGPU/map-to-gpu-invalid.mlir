// What bm-map-to-gpu cannot put on the GPU is reported with the op's name.
// RUN: bm-opt %s --split-input-file --bm-map-to-gpu -verify-diagnostics

// A host read of a device buffer (arguments are device memory).
func.func @host_load(%x: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' reads GPU memory on the host, which bm-lower-to-nvvm cannot do}}
  %v = memref.load %x[%c0] : memref<8xf32>
  return %v : f32
}

// -----

memref.global "private" @state : memref<4xi32> = dense<0>

// A mutable global has one copy per device; only constants are copied.
func.func @mutable_global(%y: memref<4xi32>) {
  // expected-error @+1 {{'memref.get_global' op of a non-constant global is read by a GPU kernel}}
  %g = memref.get_global @state : memref<4xi32>
  linalg.copy ins(%g : memref<4xi32>) outs(%y : memref<4xi32>)
  return
}

// -----

// Parallel loops with reductions (results) are not mapped.
func.func @parallel_reduce(%x: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'scf.parallel' op with reductions cannot be mapped to the GPU by bm-map-to-gpu}}
  %s = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %v = arith.constant 1.0 : f32
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %t = arith.addf %a, %b : f32
      scf.reduce.return %t : f32
    }
  }
  return %s : f32
}

// -----

// A fused matmul generic marked for the tensor-core kernel must still carry
// its four run buffers (A, B and the two scale tables) when it reaches
// bm-map-to-gpu: a pass that drops inputs in between (a canonicalize before
// bufferization, say) gets an error, never a kernel that reads the wrong
// operands.
#mk = affine_map<(m, n, r) -> (m, r)>
#nk = affine_map<(m, n, r) -> (n, r)>
#mn = affine_map<(m, n, r) -> (m, n)>
func.func @mma_missing_run_buffers(%a: memref<16x1xi8>, %b: memref<8x1xi8>,
                                   %c: memref<16x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma does not have the fused matmul operands}}
  linalg.generic {indexing_maps = [#mk, #nk, #mn],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x1xi8>, memref<8x1xi8>) outs(%c : memref<16x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i8, %y: i8, %o: f32):
    linalg.yield %o : f32
  }
  return
}

// -----

// The run buffers must be static and i8 (the forms the tensor cores multiply).
#a4 = affine_map<(m, n, r, l) -> (m, r, l)>
#b4 = affine_map<(m, n, r, l) -> (n, r, l)>
#sa4 = affine_map<(m, n, r, l) -> (m, r)>
#sb4 = affine_map<(m, n, r, l) -> (n, r)>
#c4 = affine_map<(m, n, r, l) -> (m, n)>
func.func @mma_not_i8(%a: memref<16x1x32xi16>, %b: memref<8x1x32xi16>,
    %sa: memref<16x1xi32>, %sb: memref<8x1xi32>, %c: memref<16x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma needs static i8 run buffers}}
  linalg.generic {indexing_maps = [#a4, #b4, #sa4, #sb4, #c4],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b, %sa, %sb : memref<16x1x32xi16>, memref<8x1x32xi16>, memref<16x1xi32>, memref<8x1xi32>)
      outs(%c : memref<16x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i16, %y: i16, %s: i32, %t: i32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
// -----

// Runs are padded to the MMA's K of 32.
#a4 = affine_map<(m, n, r, l) -> (m, r, l)>
#b4 = affine_map<(m, n, r, l) -> (n, r, l)>
#sa4 = affine_map<(m, n, r, l) -> (m, r)>
#sb4 = affine_map<(m, n, r, l) -> (n, r)>
#c4 = affine_map<(m, n, r, l) -> (m, n)>
func.func @mma_run_length(%a: memref<16x1x48xi8>, %b: memref<8x1x48xi8>,
    %sa: memref<16x1xi32>, %sb: memref<8x1xi32>, %c: memref<16x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma has run buffers of mismatched shapes}}
  linalg.generic {indexing_maps = [#a4, #b4, #sa4, #sb4, #c4],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b, %sa, %sb : memref<16x1x48xi8>, memref<8x1x48xi8>, memref<16x1xi32>, memref<8x1xi32>)
      outs(%c : memref<16x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i8, %y: i8, %s: i32, %t: i32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
// -----

// 32-bit fragment loads and 16-byte copies need aligned rows: identity layouts only.
#a4 = affine_map<(m, n, r, l) -> (m, r, l)>
#b4 = affine_map<(m, n, r, l) -> (n, r, l)>
#sa4 = affine_map<(m, n, r, l) -> (m, r)>
#sb4 = affine_map<(m, n, r, l) -> (n, r)>
#c4 = affine_map<(m, n, r, l) -> (m, n)>
func.func @mma_strided(%a: memref<16x1x32xi8, strided<[64, 32, 1]>>, %b: memref<8x1x32xi8>,
    %sa: memref<16x1xi32>, %sb: memref<8x1xi32>, %c: memref<16x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma needs identity-layout run buffers}}
  linalg.generic {indexing_maps = [#a4, #b4, #sa4, #sb4, #c4],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b, %sa, %sb : memref<16x1x32xi8, strided<[64, 32, 1]>>, memref<8x1x32xi8>, memref<16x1xi32>, memref<8x1xi32>)
      outs(%c : memref<16x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i8, %y: i8, %s: i32, %t: i32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
// -----

// |P| <= 128 * 128 * 131072 = 2^31 does not fit the s32 accumulators.
#a4 = affine_map<(m, n, r, l) -> (m, r, l)>
#b4 = affine_map<(m, n, r, l) -> (n, r, l)>
#sa4 = affine_map<(m, n, r, l) -> (m, r)>
#sb4 = affine_map<(m, n, r, l) -> (n, r)>
#c4 = affine_map<(m, n, r, l) -> (m, n)>
func.func @mma_long_runs(%a: memref<16x1x131072xi8>, %b: memref<8x1x131072xi8>,
    %sa: memref<16x1xi32>, %sb: memref<8x1xi32>, %c: memref<16x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma has runs too long for 32-bit run sums}}
  linalg.generic {indexing_maps = [#a4, #b4, #sa4, #sb4, #c4],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b, %sa, %sb : memref<16x1x131072xi8>, memref<8x1x131072xi8>, memref<16x1xi32>, memref<8x1xi32>)
      outs(%c : memref<16x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i8, %y: i8, %s: i32, %t: i32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
// -----

// Grid y counts 128-row tiles and is limited to 65535.
#a4 = affine_map<(m, n, r, l) -> (m, r, l)>
#b4 = affine_map<(m, n, r, l) -> (n, r, l)>
#sa4 = affine_map<(m, n, r, l) -> (m, r)>
#sb4 = affine_map<(m, n, r, l) -> (n, r)>
#c4 = affine_map<(m, n, r, l) -> (m, n)>
func.func @mma_too_many_rows(%a: memref<8388608x1x32xi8>, %b: memref<8x1x32xi8>,
    %sa: memref<8388608x1xi32>, %sb: memref<8x1xi32>, %c: memref<8388608x8xf32>) {
  // expected-error @+1 {{'linalg.generic' op marked bm.gpu_mma is too large for one launch of the tensor-core kernel (grid y and z are limited to 65535)}}
  linalg.generic {indexing_maps = [#a4, #b4, #sa4, #sb4, #c4],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b, %sa, %sb : memref<8388608x1x32xi8>, memref<8x1x32xi8>, memref<8388608x1xi32>, memref<8x1xi32>)
      outs(%c : memref<8388608x8xf32>)
      attrs = {bm.gpu_mma, bm.gpu_fused_matmul} {
  ^bb0(%x: i8, %y: i8, %s: i32, %t: i32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
