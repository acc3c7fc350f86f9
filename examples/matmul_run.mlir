// Quantize two small matrices to BM6 forward (e2m3, 2x4 blocks), multiply
// them exactly, and print the float32 result. Run with:
//
//   bm-opt examples/matmul_run.mlir --bm-lower-to-cpu | mlir-runner -e main \
//     --entry-point-result=void --shared-libs=<libmlir_c_runner_utils.so>,<libmlir_runner_utils.so>
func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -0.25, 0.125, 7.0]]> : tensor<2x4xf32>
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.1, -0.1]]> : tensor<4x2xf32>
  %qx = bm.quantize %x nearest : tensor<2x4xf32> -> !bm.tensor<2x4xe2m3, block = [1, 4]>
  %qw = bm.quantize %w nearest : tensor<4x2xf32> -> !bm.tensor<4x2xe2m3, block = [4, 2]>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<2x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = bm.matmul %qx, %qw, %init : !bm.tensor<2x4xe2m3, block = [1, 4]>,
         !bm.tensor<4x2xe2m3, block = [4, 2]>, tensor<2x2xf32> -> tensor<2x2xf32>
  %m = bufferization.to_buffer %y : tensor<2x2xf32> to memref<2x2xf32>
  %u = memref.cast %m : memref<2x2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
