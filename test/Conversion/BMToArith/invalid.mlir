// RUN: bm-opt %s --convert-bm-to-arith -split-input-file -verify-diagnostics

func.func @vector_fma(%a: vector<4xi8>, %b: vector<4xi8>) -> !bm.kulisch<16> {
  %z = bm.kulisch.zero : !bm.kulisch<16>
  // expected-error @+1 {{'bm.fma' op with vector operands is not supported by convert-bm-to-arith yet; unroll it to scalar ops first}}
  %r = bm.fma %z, %a, %b formats(e2m3, e2m3) : !bm.kulisch<16>, vector<4xi8>, vector<4xi8>
  return %r : !bm.kulisch<16>
}

// -----

func.func @vector_decode(%c: vector<4xi8>) -> vector<4xi8> {
  // expected-error @+1 {{'bm.decode' op with vector operands is not supported by convert-bm-to-arith yet}}
  %q = bm.decode %c format(e2m3) : vector<4xi8> -> vector<4xi8>
  return %q : vector<4xi8>
}
