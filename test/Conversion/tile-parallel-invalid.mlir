// RUN: bm-opt %s --pass-pipeline="builtin.module(func.func(bm-tile-parallel))" -split-input-file -verify-diagnostics

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @not_an_integer(%x: tensor<6x10xi32>) -> tensor<6x10xi32> {
  %e = tensor.empty() : tensor<6x10xi32>
  // expected-error @below {{'bm.tile_parallel' must be a positive integer: the number of loops to tile into scf.forall, e.g. 1 : i64; got "rows"}}
  %r = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<6x10xi32>) outs(%e : tensor<6x10xi32>)
      attrs = {bm.tile_parallel = "rows"} {
  ^bb0(%a: i32, %o: i32):
    linalg.yield %a : i32
  } -> tensor<6x10xi32>
  return %r : tensor<6x10xi32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @zero(%x: tensor<6x10xi32>) -> tensor<6x10xi32> {
  %e = tensor.empty() : tensor<6x10xi32>
  // expected-error @below {{'bm.tile_parallel' must be a positive integer: the number of loops to tile into scf.forall, e.g. 1 : i64; got 0 : i64}}
  %r = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<6x10xi32>) outs(%e : tensor<6x10xi32>)
      attrs = {bm.tile_parallel = 0 : i64} {
  ^bb0(%a: i32, %o: i32):
    linalg.yield %a : i32
  } -> tensor<6x10xi32>
  return %r : tensor<6x10xi32>
}
