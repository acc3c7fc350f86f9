// Host code that would touch GPU memory is rejected with the op's name, at
// the tensor level (convert-bm-to-gpu) or, for code written on buffers, after
// the mapping (bm-map-to-gpu). host-shared=true (managed memory) allows it
// (host-shared.mlir).
// RUN: bm-opt %s --split-input-file --bm-lower-to-nvvm -verify-diagnostics

func.func @first_element(%x: tensor<64x96xf32>) -> f32 {
  %q = bm.quantize %x nearest
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %d = bm.dequantize %q
      : !bm.tensor<64x96xe2m3, block = [48, 48]> -> tensor<64x96xf32>
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'tensor.extract' reads tensor elements on the host, which bm-lower-to-nvvm cannot do}}
  %v = tensor.extract %d[%c0, %c0] : tensor<64x96xf32>
  return %v : f32
}

// -----

func.func private @consume(tensor<2x2xi8>)

func.func @external_call(%x: tensor<64x96xf32>) {
  %q = bm.quantize %x nearest
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %codes, %biases = bm.unpack %q
      : !bm.tensor<64x96xe2m3, block = [48, 48]> -> tensor<64x96xi8>, tensor<2x2xi8>
  // expected-error @+1 {{'func.call' passes tensors or buffers to an external function, which runs on the host}}
  func.call @consume(%biases) : (tensor<2x2xi8>) -> ()
  return
}

// -----

func.func @host_store(%codes: memref<4x4xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : i8
  // expected-error @+1 {{'memref.store' writes tensor elements on the host}}
  memref.store %c1, %codes[%c0, %c0] : memref<4x4xi8>
  return
}
