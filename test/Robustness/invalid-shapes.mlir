// A BM tensor whose element count does not fit int64 is rejected by the type
// verifier (it used to reach int64 overflow in bm-report and the lowering).
// RUN: bm-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{a BM tensor has at most 2^63 - 1 elements; this shape has more}}
func.func @too_many(%a: !bm.tensor<4294967296x4294967296xe2m3, block = [48, 48]>) {
  return
}

// -----

// expected-error @+1 {{a BM tensor has at most 2^63 - 1 elements; this shape has more}}
func.func @too_many_3d(%a: !bm.tensor<3x3074457345618258603x1xe4m3>) {
  return
}

// -----

// The largest count that fits is accepted.
func.func @largest(%a: !bm.tensor<9223372036854775807xe4m3, block = [48]>) {
  return
}
