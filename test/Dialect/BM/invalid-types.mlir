// RUN: bm-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{format e9m3: exponent width e = 9 is out of range; use 0 <= e <= 8}}
func.func private @e_too_large(!bm.tensor<4x4xe9m3>)

// -----

// expected-error @+1 {{format e2m24: mantissa width m = 24 is out of range; use 0 <= m <= 23}}
func.func private @m_too_large(!bm.tensor<4x4xe2m24>)

// -----

// expected-error @+1 {{format e0m0 has no exponent or mantissa bits; use e + m >= 1}}
func.func private @no_bits(!bm.tensor<4x4xe0m0>)

// -----

// expected-error @+1 {{'f32' is not an element format; write eXmY}}
func.func private @not_a_format(!bm.tensor<4x4xf32>)

// -----

// expected-error @+1 {{'e2' is not an element format}}
func.func private @half_a_format(!bm.tensor<4x4xe2>)

// -----

// expected-error @+1 {{dimension 0 is dynamic ('?'); BM tensors need a static shape}}
func.func private @dynamic(!bm.tensor<?x4xe2m3>)

// -----

// expected-error @+1 {{block shape has 1 sizes but the tensor has rank 2; give one block size per dimension}}
func.func private @block_rank(!bm.tensor<4x4xe2m3, block = [2]>)

// -----

// expected-error @+1 {{block size -2 is invalid; use a positive size, or 0 or -1 for the whole dimension}}
func.func private @block_negative(!bm.tensor<4x4xe2m3, block = [-2, 2]>)

// -----

// expected-error @+1 {{Kulisch accumulator width must be between 2 and 64 bits, got 65}}
func.func private @kulisch_wide(!bm.kulisch<65>)

// -----

// expected-error @+1 {{Kulisch accumulator width must be between 2 and 64 bits, got 1}}
func.func private @kulisch_narrow(!bm.kulisch<1>)

// -----

// expected-error @+1 {{format e3m99: mantissa width m = 99 is out of range; use 0 <= m <= 23}}
func.func private @format_attr() attributes {test.f = #bm.format<e3m99>}

// -----

// expected-error @+2 {{expected ::mlir::bm::Rounding to be one of: nearest, stochastic, zero}}
// expected-error @+1 {{failed to parse BM_RoundingAttr parameter 'value'}}
func.func private @rounding_attr() attributes {test.r = #bm.rounding<upward>}
