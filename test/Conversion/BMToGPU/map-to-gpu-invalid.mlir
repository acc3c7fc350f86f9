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
