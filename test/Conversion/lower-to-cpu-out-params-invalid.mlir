// With out-params every caller allocates the results of its callees, so a
// call of a function whose result has a dynamic size cannot be converted.
// RUN: bm-opt %s --bm-lower-to-cpu=out-params=true -verify-diagnostics -o /dev/null

#id = affine_map<(d0) -> (d0)>
func.func private @twice(%a: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %d = tensor.cast %a : tensor<4xf32> to tensor<?xf32>
  // expected-error @+1 {{cannot create out param for dynamically shaped result}}
  %r = call @twice(%d) : (tensor<?xf32>) -> tensor<?xf32>
  %s = tensor.cast %r : tensor<?xf32> to tensor<4xf32>
  return %s : tensor<4xf32>
}
