// bm-report reports an output file it cannot create on the module (given
// explicitly here: an implicit module has no line to expect the error on).
// RUN: bm-opt %s --bm-report=output=%t.missing/dir/report.txt -verify-diagnostics -o /dev/null

// expected-error @+1 {{bm-report: cannot open '}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
