// RUN: bm-opt %s -split-input-file -verify-diagnostics

func.func @quantize_shape(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'bm.quantize' op input shape 4x4 differs from result shape 4x8; quantize keeps the shape}}
  %q = bm.quantize %x nearest : tensor<4x4xf32> -> !bm.tensor<4x8xe2m3>
  return
}

// -----

func.func @quantize_missing_seed(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{'bm.quantize' op stochastic rounding needs a seed: add `seed %s` with an i64 value}}
  %q = bm.quantize %x stochastic : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_extra_seed(%x: tensor<4x4xf32>, %s: i64) {
  // expected-error @+1 {{'bm.quantize' op rounding 'nearest' takes no seed; remove `seed` or use stochastic rounding}}
  %q = bm.quantize %x nearest seed %s : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_unknown_rounding(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{unknown rounding mode 'upward'; expected nearest, stochastic or zero}}
  %q = bm.quantize %x upward : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_unknown_scale(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{unknown scale rule 'ceil'; expected floor or fit}}
  %q = bm.quantize %x nearest scale(ceil) : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_scale_not_a_keyword(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{expected a scale rule in scale(...): floor or fit}}
  %q = bm.quantize %x nearest scale(1) : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_scale_without_parens(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{expected '('}}
  %q = bm.quantize %x nearest scale fit : tensor<4x4xf32> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_scale_wrong_attribute(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{Invalid attribute `scale` in property conversion: 1 : i32}}
  %q = "bm.quantize"(%x) <{rounding = #bm.rounding<nearest>, scale = 1 : i32}>
       : (tensor<4x4xf32>) -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @quantize_not_f32(%x: tensor<4x4xf16>) {
  // expected-error @+1 {{'bm.quantize' op operand #0 must be ranked tensor of 32-bit float values}}
  %q = bm.quantize %x nearest : tensor<4x4xf16> -> !bm.tensor<4x4xe2m3>
  return
}

// -----

func.func @dequantize_shape(%q: !bm.tensor<4x4xe2m3>) {
  // expected-error @+1 {{'bm.dequantize' op result shape 2x8 differs from input shape 4x4; dequantize keeps the shape}}
  %x = bm.dequantize %q : !bm.tensor<4x4xe2m3> -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_k_mismatch(%a: !bm.tensor<4x8xe2m3>, %b: !bm.tensor<6x4xe2m3>, %c: tensor<4x4xf32>) {
  // expected-error @+1 {{'bm.matmul' op contracted dimensions differ: lhs has K = 8 but rhs has K = 6}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<4x8xe2m3>, !bm.tensor<6x4xe2m3>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_k_mismatch_transposed(%a: !bm.tensor<4x8xe2m3>, %b: !bm.tensor<8x4xe2m3>, %c: tensor<8x8xf32>) {
  // expected-error @+1 {{'bm.matmul' op contracted dimensions differ: lhs has K = 4 but rhs has K = 8 (after the requested transposes)}}
  %r = bm.matmul %a, %b, %c {transpose_lhs} : !bm.tensor<4x8xe2m3>, !bm.tensor<8x4xe2m3>, tensor<8x8xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @matmul_rank(%a: !bm.tensor<2x2x4x8xe2m3>, %b: !bm.tensor<2x2x8x4xe2m3>, %c: tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{'bm.matmul' op expects rank-2 operands, or rank-3 for a batched matmul; lhs has rank 4}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<2x2x4x8xe2m3>, !bm.tensor<2x2x8x4xe2m3>, tensor<2x2x4x4xf32> -> tensor<2x2x4x4xf32>
  return
}

// -----

func.func @matmul_mixed_rank(%a: !bm.tensor<4x8xe2m3>, %b: !bm.tensor<1x8x4xe2m3>, %c: tensor<4x4xf32>) {
  // expected-error @+1 {{'bm.matmul' op lhs, rhs and init must have the same rank; got 2, 3 and 2}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<4x8xe2m3>, !bm.tensor<1x8x4xe2m3>, tensor<4x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: !bm.tensor<2x4x8xe2m3>, %b: !bm.tensor<3x8x4xe2m3>, %c: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'bm.matmul' op batch sizes differ: lhs has 2, rhs has 3}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<2x4x8xe2m3>, !bm.tensor<3x8x4xe2m3>, tensor<2x4x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @matmul_init_shape(%a: !bm.tensor<4x8xe2m3>, %b: !bm.tensor<8x4xe2m3>, %c: tensor<4x5xf32>) {
  // expected-error @+1 {{'bm.matmul' op init has shape 4x5 but the product has shape 4x4}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<4x8xe2m3>, !bm.tensor<8x4xe2m3>, tensor<4x5xf32> -> tensor<4x5xf32>
  return
}

// -----

func.func @matmul_result_type(%a: !bm.tensor<4x8xe2m3>, %b: !bm.tensor<8x4xe2m3>, %c: tensor<4x4xf32>) {
  // expected-error @+1 {{'bm.matmul' op result type must equal the init type 'tensor<4x4xf32>'}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<4x8xe2m3>, !bm.tensor<8x4xe2m3>, tensor<4x4xf32> -> tensor<2x8xf32>
  return
}

// -----

// Formats whose products alone overflow 64 bits: e5m2 integer forms have
// 33 bits, so 8-term runs need 33 + 33 + 3 + 1 = 70.
func.func @matmul_too_wide(%a: !bm.tensor<2x8xe5m2>, %b: !bm.tensor<8x2xe5m2>, %c: tensor<2x2xf32>) {
  // expected-error @+1 {{'bm.matmul' op needs a 70-bit exact accumulator for e5m2 x e5m2 runs of up to 8 terms, more than the 64 bits supported; use narrower formats or smaller blocks along the reduction}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<2x8xe5m2>, !bm.tensor<8x2xe5m2>, tensor<2x2xf32> -> tensor<2x2xf32>
  return
}

// -----

// The run length comes from the K blockings: whole-K blocks of 2^20 terms
// need 22 + 22 + 20 + 1 bits (ops.mlir shows the same operands with
// 1024-term blocks, which fit).
func.func @matmul_kulisch_from_blocks(%a: !bm.tensor<2x1048576xe4m7>, %b: !bm.tensor<1048576x2xe4m7>, %c: tensor<2x2xf32>) {
  // expected-error @+1 {{'bm.matmul' op needs a 65-bit exact accumulator for e4m7 x e4m7 runs of up to 1048576 terms}}
  %r = bm.matmul %a, %b, %c : !bm.tensor<2x1048576xe4m7>, !bm.tensor<1048576x2xe4m7>, tensor<2x2xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @conv_rank(%x: !bm.tensor<3x9x9xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<4x7x7xf32>) {
  // expected-error @+1 {{'bm.conv2d' op expects a rank-4 NCHW input, FCHW filter and NFHW init; got ranks 3, 4 and 3}}
  %y = bm.conv2d %x, %w, %c : !bm.tensor<3x9x9xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<4x7x7xf32> -> tensor<4x7x7xf32>
  return
}

// -----

func.func @conv_channels(%x: !bm.tensor<1x2x9x9xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<1x4x7x7xf32>) {
  // expected-error @+1 {{'bm.conv2d' op input has 2 channels but the filter expects 3}}
  %y = bm.conv2d %x, %w, %c : !bm.tensor<1x2x9x9xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @conv_output_shape(%x: !bm.tensor<1x3x9x9xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<1x4x9x9xf32>) {
  // expected-error @+1 {{'bm.conv2d' op init has shape 1x4x9x9 but the convolution produces 1x4x7x7}}
  %y = bm.conv2d %x, %w, %c : !bm.tensor<1x3x9x9xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<1x4x9x9xf32> -> tensor<1x4x9x9xf32>
  return
}

// -----

func.func @conv_filter_too_big(%x: !bm.tensor<1x3x2x2xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<1x4x1x1xf32>) {
  // expected-error @+1 {{'bm.conv2d' op the dilated filter spans 3 pixels but the padded input has only 2 along H; add padding or use a smaller filter}}
  %y = bm.conv2d %x, %w, %c : !bm.tensor<1x3x2x2xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<1x4x1x1xf32> -> tensor<1x4x1x1xf32>
  return
}

// -----

func.func @conv_strides(%x: !bm.tensor<1x3x9x9xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<1x4x7x7xf32>) {
  // expected-error @+1 {{'bm.conv2d' op strides must be >= 1, got 0}}
  %y = bm.conv2d %x, %w, %c {strides = array<i64: 0, 1>} : !bm.tensor<1x3x9x9xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @conv_padding_entries(%x: !bm.tensor<1x3x9x9xe2m3>, %w: !bm.tensor<4x3x3x3xe2m3>, %c: tensor<1x4x7x7xf32>) {
  // expected-error @+1 {{'bm.conv2d' op padding must have 2 entries [h, w], got 4}}
  %y = bm.conv2d %x, %w, %c {padding = array<i64: 1, 1, 1, 1>} : !bm.tensor<1x3x9x9xe2m3>, !bm.tensor<4x3x3x3xe2m3>, tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @conv_too_wide(%x: !bm.tensor<1x64x9x9xe5m3>, %w: !bm.tensor<4x64x3x3xe4m5>, %c: tensor<1x4x7x7xf32>) {
  // expected-error @+1 {{'bm.conv2d' op needs a 65-bit exact accumulator for e5m3 x e4m5 runs of up to 576 terms}}
  %y = bm.conv2d %x, %w, %c : !bm.tensor<1x64x9x9xe5m3>, !bm.tensor<4x64x3x3xe4m5>, tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @transpose_perm(%q: !bm.tensor<4x8xe2m3>) {
  // expected-error @+1 {{'bm.transpose' op permutation must list each dimension 0..1 exactly once}}
  %t = bm.transpose %q [1, 1] : !bm.tensor<4x8xe2m3> -> !bm.tensor<8x4xe2m3>
  return
}

// -----

func.func @transpose_perm_size(%q: !bm.tensor<4x8xe2m3>) {
  // expected-error @+1 {{'bm.transpose' op permutation has 3 entries but the input has rank 2}}
  %t = bm.transpose %q [1, 0, 2] : !bm.tensor<4x8xe2m3> -> !bm.tensor<8x4xe2m3>
  return
}

// -----

func.func @transpose_blocks(%q: !bm.tensor<4x8xe2m3, block = [2, 4]>) {
  // expected-error @+1 {{'bm.transpose' op result type must be '!bm.tensor<8x4xe2m3, block = [4, 2]>' (the input with its dimensions and blocks permuted)}}
  %t = bm.transpose %q [1, 0] : !bm.tensor<4x8xe2m3, block = [2, 4]> -> !bm.tensor<8x4xe2m3, block = [2, 4]>
  return
}

// -----

func.func @pack_codes(%c: tensor<4x8xi16>, %b: tensor<1x1xi8>) {
  // expected-error @+1 {{'bm.pack' op codes must have type 'tensor<4x8xi8>' for '!bm.tensor<4x8xe2m3, block = [4, 8]>', got 'tensor<4x8xi16>'}}
  %q = bm.pack %c, %b : tensor<4x8xi16>, tensor<1x1xi8> -> !bm.tensor<4x8xe2m3>
  return
}

// -----

func.func @pack_biases(%c: tensor<4x8xi8>, %b: tensor<1x1xi8>) {
  // expected-error @+1 {{'bm.pack' op biases must have type 'tensor<2x2xi8>' (one i8 per block) for '!bm.tensor<4x8xe2m3, block = [2, 4]>', got 'tensor<1x1xi8>'}}
  %q = bm.pack %c, %b : tensor<4x8xi8>, tensor<1x1xi8> -> !bm.tensor<4x8xe2m3, block = [2, 4]>
  return
}

// -----

func.func @unpack_codes(%q: !bm.tensor<4x8xe4m3>) {
  // expected-error @+1 {{'bm.unpack' op codes must have type 'tensor<4x8xi8>'}}
  %c, %b = bm.unpack %q : !bm.tensor<4x8xe4m3> -> tensor<4x8xi32>, tensor<1x1xi8>
  return
}

// -----

func.func @fma_narrow_acc(%a: vector<48xi8>, %b: vector<48xi8>) {
  %z = bm.kulisch.zero : !bm.kulisch<16>
  // expected-error @+1 {{'bm.fma' op adding 48 e2m3 x e2m3 products needs a 19-bit accumulator but it has 16 bits; use !bm.kulisch<19> or wider}}
  %r = bm.fma %z, %a, %b formats(e2m3, e2m3) : !bm.kulisch<16>, vector<48xi8>, vector<48xi8>
  return
}

// -----

func.func @fma_form_width(%a: i8, %b: i8) {
  %z = bm.kulisch.zero : !bm.kulisch<32>
  // expected-error @+1 {{'bm.fma' op lhs holds e3m2 integer forms, which need 10 bits with the sign, but its element type has 8}}
  %r = bm.fma %z, %a, %b formats(e3m2, e2m1) : !bm.kulisch<32>, i8, i8
  return
}

// -----

func.func @fma_shapes(%a: vector<4xi8>, %b: vector<8xi8>) {
  %z = bm.kulisch.zero : !bm.kulisch<32>
  // expected-error @+1 {{'bm.fma' op lhs and rhs must both be scalars or vectors of the same shape; got 'vector<4xi8>' and 'vector<8xi8>'}}
  %r = bm.fma %z, %a, %b formats(e2m3, e2m3) : !bm.kulisch<32>, vector<4xi8>, vector<8xi8>
  return
}

// -----

func.func @fma_bad_format(%a: i8, %b: i8) {
  %z = bm.kulisch.zero : !bm.kulisch<32>
  // expected-error @+1 {{'e9m1' is not a valid element format}}
  %r = bm.fma %z, %a, %b formats(e9m1, e2m1) : !bm.kulisch<32>, i8, i8
  return
}

// -----

func.func @decode_code_width(%c: i4) {
  // expected-error @+1 {{'bm.decode' op e2m5 codes need 8 bits, but the code type has 4}}
  %q = bm.decode %c format(e2m5) : i4 -> i16
  return
}

// -----

func.func @decode_form_width(%c: i8) {
  // expected-error @+1 {{'bm.decode' op e4m3 integer forms need 19 bits with the sign, but the result type has 16; use i32}}
  %q = bm.decode %c format(e4m3) : i8 -> i16
  return
}

// -----

func.func @decode_shape(%c: vector<4xi8>) {
  // expected-error @+1 {{'bm.decode' op requires the same shape for all operands and results}}
  %q = bm.decode %c format(e2m3) : vector<4xi8> -> vector<8xi8>
  return
}
