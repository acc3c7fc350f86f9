// RUN: bm-opt %s --bm-export-signatures -verify-diagnostics -o /dev/null
// RUN: not bm-opt %s --bm-export-signatures=output=%t.missing-dir/s.json -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNWRITABLE
// RUN: not bm-opt %s --bm-export-signatures=out-params=maybe -o /dev/null 2>&1 | FileCheck %s --check-prefix=MODE

// expected-error @+1 {{bm-export-signatures: give the file to write the signatures to, e.g. output=signatures.json}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

// UNWRITABLE: error: bm-export-signatures: cannot write '{{.*}}missing-dir/s.json'
// MODE: for the --out-params option: Cannot find option named 'maybe'!
