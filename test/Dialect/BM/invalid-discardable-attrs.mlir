// RUN: bm-opt %s -split-input-file -verify-diagnostics

// The bm dialect verifies its discardable attributes (BMDialect.td). Each
// case uses a bm type or attribute, so that the dialect is loaded when the
// file is parsed.

// expected-error @+1 {{'bm.tile' is not an attribute of the bm dialect; it declares bm.role, bm.name (on function arguments and results), bm.grad_seed, bm.data_movement, bm.roles, bm.index, bm.quant_codes, bm.run_sums, bm.tile_parallel, bm.gpu_fused_matmul and bm.gpu_mma (on operations)}}
func.func private @unknown() attributes {bm.tile = 1 : i64, test.role = #bm.role<weight>}

// -----

// expected-error @+1 {{'bm.rol' of argument #0 is not an attribute of the bm dialect}}
func.func private @unknown_arg(tensor<4xf32> {bm.rol = #bm.role<weight>})

// -----

// expected-error @+1 {{'bm.role' of argument #1 must be a #bm.role<...> value (activation, weight, error, seed, state, label, loss or grad), e.g. {bm.role = #bm.role<weight>}; got "weight"}}
func.func private @role_string(i64 {bm.role = #bm.role<seed>}, tensor<4xf32> {bm.role = "weight"})

// -----

// expected-error @+1 {{'bm.role' of result #0 must be a #bm.role<...> value}}
func.func private @result_role(i64 {bm.role = #bm.role<seed>}) -> (tensor<f32> {bm.role = #bm.rounding<nearest>})

// -----

// expected-error @+1 {{'bm.name' of argument #0 must be a string (the tensor's name); got 3 : i64}}
func.func private @name_int(tensor<4xf32> {bm.name = 3 : i64, bm.role = #bm.role<weight>})

// -----

// expected-error @+1 {{'bm.role' belongs on a function argument or result, not on an operation}}
func.func private @role_on_op() attributes {bm.role = #bm.role<weight>}

// -----

// expected-error @+1 {{'bm.grad_seed' of argument #0 belongs on an operation, not on a function argument}}
func.func private @grad_seed_on_arg(tensor<4xf32> {bm.grad_seed, bm.role = #bm.role<error>})

// -----

// expected-error @+1 {{'bm.run_sums' of result #0 belongs on an operation, not on a function result}}
func.func private @run_sums_on_result(i64 {bm.role = #bm.role<seed>}) -> (tensor<4xi32> {bm.run_sums})

// -----

func.func @grad_seed_value(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.grad_seed' is a unit attribute (a mark with no value); write {bm.grad_seed}, not true}}
  %e = tensor.empty() {bm.grad_seed = true} : tensor<f32>
  return
}

// -----

func.func @data_movement_value(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.data_movement' is a unit attribute (a mark with no value); write {bm.data_movement}, not "yes"}}
  %e = tensor.empty() {bm.data_movement = "yes"} : tensor<f32>
  return
}

// -----

func.func @gpu_mma_value(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.gpu_mma' is a unit attribute}}
  %e = tensor.empty() {bm.gpu_mma = 1 : i64} : tensor<f32>
  return
}

// -----

func.func @gpu_fused_matmul_value(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.gpu_fused_matmul' is a unit attribute}}
  %e = tensor.empty() {bm.gpu_fused_matmul = 1 : i64} : tensor<f32>
  return
}

// -----

func.func @tile_parallel_zero(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.tile_parallel' must be a positive integer: the number of loops to tile into scf.forall, e.g. 1 : i64; got 0 : i64}}
  %e = tensor.empty() {bm.tile_parallel = 0 : i64} : tensor<4xi32>
  return
}

// -----

func.func @tile_parallel_string(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.tile_parallel' must be a positive integer: the number of loops to tile into scf.forall, e.g. 1 : i64; got "rows"}}
  %e = tensor.empty() {bm.tile_parallel = "rows"} : tensor<4xi32>
  return
}

// -----

func.func @quant_codes_dictionary(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.quant_codes' must be a #bm.quant_codes<...> value (the format, block, rounding and scale of the quantize whose codes the op computes); got {e = 2 : i64, m = 1 : i64, rounding = "nearest"}}}
  %e = tensor.empty() {bm.quant_codes = {e = 2 : i64, m = 1 : i64, rounding = "nearest"}} : tensor<4xi32>
  return
}

// -----

func.func @quant_codes_block(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{#bm.quant_codes block sizes must be positive, got [8, 0]}}
  %e = tensor.empty() {bm.quant_codes = #bm.quant_codes<e2m1, block = [8, 0], rounding = nearest, scale = floor>} : tensor<4xi32>
  return
}

// -----

func.func @run_sums_value(%x: !bm.tensor<4x8xe2m3, block = [4, 8]>) {
  // expected-error @+1 {{'bm.run_sums' is a unit attribute (a mark with no value); write {bm.run_sums}, not 1 : i64}}
  %e = tensor.empty() {bm.run_sums = 1 : i64} : tensor<4xi32>
  return
}

// -----

func.func @roles_strings(%a: !bm.tensor<4x8xe2m3, block = [4, 8]>,
                         %b: !bm.tensor<8x4xe2m3, block = [8, 4]>,
                         %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.roles' must be the roles of the two operands, e.g. [#bm.role<error>, #bm.role<weight>], each activation, weight or error; got ["error", "weight"]}}
  %r = bm.matmul %a, %b, %c {bm.roles = ["error", "weight"]}
      : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<8x4xe2m3, block = [8, 4]>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @roles_seed(%a: !bm.tensor<4x8xe2m3, block = [4, 8]>,
                      %b: !bm.tensor<8x4xe2m3, block = [8, 4]>,
                      %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.roles' must be the roles of the two operands}}
  %r = bm.matmul %a, %b, %c {bm.roles = [#bm.role<seed>, #bm.role<weight>]}
      : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<8x4xe2m3, block = [8, 4]>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @roles_three(%a: !bm.tensor<4x8xe2m3, block = [4, 8]>,
                       %b: !bm.tensor<8x4xe2m3, block = [8, 4]>,
                       %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.roles' must be the roles of the two operands}}
  %r = bm.matmul %a, %b, %c {bm.roles = [#bm.role<error>, #bm.role<weight>, #bm.role<weight>]}
      : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<8x4xe2m3, block = [8, 4]>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @index_negative(%a: !bm.tensor<4x8xe2m3, block = [4, 8]>,
                          %b: !bm.tensor<8x4xe2m3, block = [8, 4]>,
                          %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'bm.index' must be a non-negative i64: the contraction's number in its function; got -1 : i64}}
  %r = bm.matmul %a, %b, %c {bm.index = -1 : i64}
      : !bm.tensor<4x8xe2m3, block = [4, 8]>, !bm.tensor<8x4xe2m3, block = [8, 4]>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// expected-error @+2 {{expected ::mlir::bm::Role to be one of: activation, weight, error, seed, state, label, loss, grad}}
// expected-error @+1 {{failed to parse BM_RoleAttr parameter 'value'}}
func.func private @role_unknown(tensor<4xf32> {bm.role = #bm.role<bias>})
