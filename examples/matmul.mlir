// A BM6 forward matmul: quantize two float32 matrices to e2m3 with 48x48
// blocks (one shared exponent bias per 2304 values), then multiply them
// exactly, summing each 48-term run in a 19-bit Kulisch accumulator.
//
//   bm-opt examples/matmul.mlir --canonicalize --bm-report
func.func @bm6_matmul(%x: tensor<64x96xf32>, %w: tensor<96x32xf32>,
                      %seed: i64) -> tensor<64x32xf32> {
  %qx = bm.quantize %x stochastic seed %seed
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %qw = bm.quantize %w nearest
      : tensor<96x32xf32> -> !bm.tensor<96x32xe2m3, block = [48, 48]>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<64x32xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<64x32xf32>) -> tensor<64x32xf32>
  %y = bm.matmul %qx, %qw, %init
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x32xe2m3, block = [48, 32]>, tensor<64x32xf32>
      -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}
