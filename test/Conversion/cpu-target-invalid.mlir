// Every error of the CPU target options, as a diagnostic on the module.
// RUN: split-file %s %t
// RUN: bm-opt %t/unknown.mlir --convert-bm-to-linalg=cpu=avx512 -verify-diagnostics
// RUN: bm-opt %t/unknown.mlir --bm-lower-to-cpu=cpu=avx512 -verify-diagnostics
// RUN: bm-opt %t/both.mlir --convert-bm-to-linalg="cpu=avx512-vnni x86-avx2=true" -verify-diagnostics
// RUN: bm-opt %t/both.mlir --bm-lower-to-cpu="cpu=avx512-vnni x86-avx2=true" -verify-diagnostics
// RUN: bm-opt %t/bits.mlir --bm-vectorize-quantize=vector-bits=384 -verify-diagnostics
// RUN: bm-opt %t/quantize-bits.mlir --convert-bm-to-linalg=vector-quantize-bits=128 -verify-diagnostics
// RUN: bm-opt %t/macs.mlir --convert-bm-to-linalg=min-parallel-macs=-1 -verify-diagnostics
// RUN: bm-opt %t/macs.mlir --bm-lower-to-cpu="parallel=true min-parallel-macs=-1" -verify-diagnostics

//--- unknown.mlir
// expected-error @+1 {{convert-bm-to-linalg: unknown CPU target 'avx512'; use host, avx512-vnni, avx-vnni, avx2 or generic}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- both.mlir
// expected-error @+1 {{convert-bm-to-linalg: x86-avx2=true means cpu=avx2, but cpu=avx512-vnni was given; give only cpu=...}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- bits.mlir
// expected-error @+1 {{bm-vectorize-quantize: vector-bits must be 256 or 512, not 384}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- quantize-bits.mlir
// expected-error @+1 {{convert-bm-to-linalg: vector-quantize-bits must be 0, 256 or 512, not 128}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}

//--- macs.mlir
// expected-error @+1 {{convert-bm-to-linalg: min-parallel-macs must be 0 or more, not -1}}
module {
  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
    return %x : tensor<4xf32>
  }
}
