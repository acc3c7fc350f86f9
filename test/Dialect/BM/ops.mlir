// RUN: bm-opt %s | FileCheck %s
// RUN: bm-opt %s | bm-opt | FileCheck %s
// RUN: bm-opt %s --mlir-print-op-generic | bm-opt | FileCheck %s

// CHECK-LABEL: func.func @quantize
// CHECK-SAME: (%[[X:.*]]: tensor<64x96xf32>, %[[S:.*]]: i64)
func.func @quantize(%x: tensor<64x96xf32>, %seed: i64)
    -> (!bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<64x96xe3m2, block = [48, 48]>,
        !bm.tensor<64x96xe0m7, block = [1, 96]>) {
  // CHECK: bm.quantize %[[X]] nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %a = bm.quantize %x nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  // CHECK: bm.quantize %[[X]] stochastic seed %[[S]] : tensor<64x96xf32> -> !bm.tensor<64x96xe3m2, block = [48, 48]>
  %b = bm.quantize %x stochastic seed %seed : tensor<64x96xf32> -> !bm.tensor<64x96xe3m2, block = [48, 48]>
  // CHECK: bm.quantize %[[X]] zero : tensor<64x96xf32> -> !bm.tensor<64x96xe0m7, block = [1, 96]>
  %c = bm.quantize %x zero : tensor<64x96xf32> -> !bm.tensor<64x96xe0m7, block = [1, 0]>
  return %a, %b, %c : !bm.tensor<64x96xe2m3, block = [48, 48]>,
                      !bm.tensor<64x96xe3m2, block = [48, 48]>,
                      !bm.tensor<64x96xe0m7, block = [1, 96]>
}

// The scale rule (numerics.md section 2): `fit` is printed, the default
// `floor` is elided, also when written out or given in generic form.
// CHECK-LABEL: func.func @quantize_scale
// CHECK-SAME: (%[[X:.*]]: tensor<8x8xf32>, %[[S:.*]]: i64)
func.func @quantize_scale(%x: tensor<8x8xf32>, %seed: i64)
    -> (!bm.tensor<8x8xe2m1>, !bm.tensor<8x8xe3m0>, !bm.tensor<8x8xe2m3>,
        !bm.tensor<8x8xe0m3>) {
  // CHECK: bm.quantize %[[X]] nearest scale(fit) : tensor<8x8xf32> -> !bm.tensor<8x8xe2m1, block = [8, 8]>
  %a = bm.quantize %x nearest scale(fit) : tensor<8x8xf32> -> !bm.tensor<8x8xe2m1>
  // CHECK: bm.quantize %[[X]] stochastic seed %[[S]] scale(fit) : tensor<8x8xf32> -> !bm.tensor<8x8xe3m0, block = [8, 8]>
  %b = bm.quantize %x stochastic seed %seed scale(fit) : tensor<8x8xf32> -> !bm.tensor<8x8xe3m0>
  // CHECK: bm.quantize %[[X]] zero : tensor<8x8xf32> -> !bm.tensor<8x8xe2m3, block = [8, 8]>
  %c = bm.quantize %x zero scale(floor) : tensor<8x8xf32> -> !bm.tensor<8x8xe2m3>
  // CHECK: bm.quantize %[[X]] nearest scale(fit) : tensor<8x8xf32> -> !bm.tensor<8x8xe0m3, block = [8, 8]>
  %d = "bm.quantize"(%x) <{rounding = #bm.rounding<nearest>, scale = #bm.scale<fit>}>
       : (tensor<8x8xf32>) -> !bm.tensor<8x8xe0m3>
  return %a, %b, %c, %d : !bm.tensor<8x8xe2m1>, !bm.tensor<8x8xe3m0>, !bm.tensor<8x8xe2m3>,
                          !bm.tensor<8x8xe0m3>
}

// CHECK-LABEL: func.func @dequantize
func.func @dequantize(%q: !bm.tensor<64x96xe2m3, block = [48, 48]>) -> tensor<64x96xf32> {
  // CHECK: bm.dequantize %{{.*}} : !bm.tensor<64x96xe2m3, block = [48, 48]> -> tensor<64x96xf32>
  %x = bm.dequantize %q : !bm.tensor<64x96xe2m3, block = [48, 48]> -> tensor<64x96xf32>
  return %x : tensor<64x96xf32>
}

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: !bm.tensor<64x96xe2m3, block = [48, 48]>, %[[B:.*]]: !bm.tensor<96x32xe3m2, block = [48, 32]>, %[[C:.*]]: tensor<64x32xf32>)
func.func @matmul(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
                  %b: !bm.tensor<96x32xe3m2, block = [48, 32]>,
                  %init: tensor<64x32xf32>) -> tensor<64x32xf32> {
  // CHECK: bm.matmul %[[A]], %[[B]], %[[C]] : !bm.tensor<64x96xe2m3, block = [48, 48]>, !bm.tensor<96x32xe3m2, block = [48, 32]>, tensor<64x32xf32> -> tensor<64x32xf32>
  %c = bm.matmul %a, %b, %init : !bm.tensor<64x96xe2m3, block = [48, 48]>,
         !bm.tensor<96x32xe3m2, block = [48, 32]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %c : tensor<64x32xf32>
}

// CHECK-LABEL: func.func @matmul_transposed
func.func @matmul_transposed(%a: !bm.tensor<96x64xe2m3, block = [48, 48]>,
                             %b: !bm.tensor<32x96xe2m3, block = [32, 16]>,
                             %init: tensor<64x32xf32>) -> tensor<64x32xf32> {
  // CHECK: bm.matmul %{{.*}}, %{{.*}}, %{{.*}} {relaxed, transpose_lhs, transpose_rhs} :
  %c = bm.matmul %a, %b, %init {transpose_lhs, transpose_rhs, relaxed}
         : !bm.tensor<96x64xe2m3, block = [48, 48]>,
           !bm.tensor<32x96xe2m3, block = [32, 16]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %c : tensor<64x32xf32>
}

// CHECK-LABEL: func.func @batch_matmul
func.func @batch_matmul(%a: !bm.tensor<4x8x16xe2m5, block = [1, 8, 16]>,
                        %b: !bm.tensor<4x16x8xe4m3, block = [1, 16, 8]>,
                        %init: tensor<4x8x8xf32>) -> tensor<4x8x8xf32> {
  // CHECK: bm.matmul {{.*}} : !bm.tensor<4x8x16xe2m5, block = [1, 8, 16]>, !bm.tensor<4x16x8xe4m3, block = [1, 16, 8]>, tensor<4x8x8xf32> -> tensor<4x8x8xf32>
  %c = bm.matmul %a, %b, %init : !bm.tensor<4x8x16xe2m5, block = [1, 8, 16]>,
         !bm.tensor<4x16x8xe4m3, block = [1, 16, 8]>, tensor<4x8x8xf32> -> tensor<4x8x8xf32>
  return %c : tensor<4x8x8xf32>
}

// CHECK-LABEL: func.func @conv2d
func.func @conv2d(%x: !bm.tensor<2x3x9x9xe2m3, block = [1, 3, 9, 9]>,
                  %w: !bm.tensor<4x3x3x3xe2m3, block = [4, 3, 3, 3]>,
                  %init: tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32> {
  // CHECK: bm.conv2d %{{.*}}, %{{.*}}, %{{.*}} {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : !bm.tensor<2x3x9x9xe2m3, block = [1, 3, 9, 9]>, !bm.tensor<4x3x3x3xe2m3, block = [4, 3, 3, 3]>, tensor<2x4x5x5xf32> -> tensor<2x4x5x5xf32>
  %y = bm.conv2d %x, %w, %init {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>}
         : !bm.tensor<2x3x9x9xe2m3, block = [1, 3, 9, 9]>,
           !bm.tensor<4x3x3x3xe2m3, block = [4, 3, 3, 3]>, tensor<2x4x5x5xf32> -> tensor<2x4x5x5xf32>
  return %y : tensor<2x4x5x5xf32>
}

// CHECK-LABEL: func.func @conv2d_dilated
func.func @conv2d_dilated(%x: !bm.tensor<1x2x8x8xe3m2, block = [1, 2, 4, 4]>,
                          %w: !bm.tensor<2x2x3x3xe2m3, block = [2, 2, 3, 3]>,
                          %init: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK: bm.conv2d {{.*}} {dilations = array<i64: 2, 2>}
  %y = bm.conv2d %x, %w, %init {dilations = array<i64: 2, 2>}
         : !bm.tensor<1x2x8x8xe3m2, block = [1, 2, 4, 4]>,
           !bm.tensor<2x2x3x3xe2m3, block = [2, 2, 3, 3]>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// CHECK-LABEL: func.func @transpose
func.func @transpose(%q: !bm.tensor<64x96xe2m3, block = [48, 32]>) -> !bm.tensor<96x64xe2m3, block = [32, 48]> {
  // CHECK: bm.transpose %{{.*}} [1, 0] : !bm.tensor<64x96xe2m3, block = [48, 32]> -> !bm.tensor<96x64xe2m3, block = [32, 48]>
  %t = bm.transpose %q [1, 0] : !bm.tensor<64x96xe2m3, block = [48, 32]> -> !bm.tensor<96x64xe2m3, block = [32, 48]>
  return %t : !bm.tensor<96x64xe2m3, block = [32, 48]>
}

// CHECK-LABEL: func.func @pack_unpack
func.func @pack_unpack(%codes: tensor<64x96xi8>, %biases: tensor<2x2xi8>,
                       %q16: !bm.tensor<5x7xe4m3, block = [2, 7]>)
    -> (!bm.tensor<64x96xe2m3, block = [48, 48]>, tensor<5x7xi8>, tensor<3x1xi8>) {
  // CHECK: bm.pack %{{.*}}, %{{.*}} : tensor<64x96xi8>, tensor<2x2xi8> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %q = bm.pack %codes, %biases : tensor<64x96xi8>, tensor<2x2xi8> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  // CHECK: bm.unpack %{{.*}} : !bm.tensor<5x7xe4m3, block = [2, 7]> -> tensor<5x7xi8>, tensor<3x1xi8>
  %c, %b = bm.unpack %q16 : !bm.tensor<5x7xe4m3, block = [2, 7]> -> tensor<5x7xi8>, tensor<3x1xi8>
  return %q, %c, %b : !bm.tensor<64x96xe2m3, block = [48, 48]>, tensor<5x7xi8>, tensor<3x1xi8>
}

// CHECK-LABEL: func.func @wide_codes
func.func @wide_codes(%q: !bm.tensor<3x3xe5m10>, %r: !bm.tensor<3x3xe8m23>)
    -> (tensor<3x3xi16>, tensor<3x3xi32>) {
  // CHECK: -> tensor<3x3xi16>, tensor<1x1xi8>
  %c, %b = bm.unpack %q : !bm.tensor<3x3xe5m10> -> tensor<3x3xi16>, tensor<1x1xi8>
  // CHECK: -> tensor<3x3xi32>, tensor<1x1xi8>
  %d, %e = bm.unpack %r : !bm.tensor<3x3xe8m23> -> tensor<3x3xi32>, tensor<1x1xi8>
  return %c, %d : tensor<3x3xi16>, tensor<3x3xi32>
}

// CHECK-LABEL: func.func @fma
func.func @fma(%ca: vector<48xi8>, %cb: vector<48xi8>, %x: i8, %y: i8, %scale: i32) -> f32 {
  // CHECK: %[[QA:.*]] = bm.decode %{{.*}} format(e2m3) : vector<48xi8> -> vector<48xi8>
  %a = bm.decode %ca format(e2m3) : vector<48xi8> -> vector<48xi8>
  %b = bm.decode %cb format(e2m3) : vector<48xi8> -> vector<48xi8>
  // CHECK: %[[Z:.*]] = bm.kulisch.zero : !bm.kulisch<19>
  %zero = bm.kulisch.zero : !bm.kulisch<19>
  // CHECK: %[[A1:.*]] = bm.fma %[[Z]], %[[QA]], %{{.*}} formats(e2m3, e2m3) : !bm.kulisch<19>, vector<48xi8>, vector<48xi8>
  %acc = bm.fma %zero, %a, %b formats(e2m3, e2m3) : !bm.kulisch<19>, vector<48xi8>, vector<48xi8>
  // CHECK: bm.kulisch.to_f32 %[[A1]], %{{.*}} : !bm.kulisch<19>
  %f = bm.kulisch.to_f32 %acc, %scale : !bm.kulisch<19>
  // Scalars of mixed formats and integer-form widths.
  // CHECK: bm.decode %{{.*}} format(e3m2) : i8 -> i16
  %qx = bm.decode %x format(e3m2) : i8 -> i16
  %qy = bm.decode %y format(e2m5) : i8 -> i16
  %z2 = bm.kulisch.zero : !bm.kulisch<32>
  // CHECK: bm.fma %{{.*}}, %{{.*}}, %{{.*}} formats(e3m2, e2m5) : !bm.kulisch<32>, i16, i16
  %acc2 = bm.fma %z2, %qx, %qy formats(e3m2, e2m5) : !bm.kulisch<32>, i16, i16
  return %f : f32
}

// The same wide formats as invalid.mlir's @matmul_kulisch_from_blocks fit in
// 64 bits once the K blocks are 1024 terms long (22 + 22 + 10 + 1 = 55 bits),
// and a filter blocked per input channel bounds a convolution's runs.
// CHECK-LABEL: func.func @kulisch_fits_with_blocks
func.func @kulisch_fits_with_blocks(
    %a: !bm.tensor<2x1048576xe4m7, block = [2, 1024]>,
    %b: !bm.tensor<1048576x2xe4m7, block = [1024, 2]>, %c: tensor<2x2xf32>,
    %x: !bm.tensor<1x64x9x9xe5m3>, %w: !bm.tensor<4x64x3x3xe4m5, block = [4, 1, 3, 3]>,
    %i: tensor<1x4x7x7xf32>) -> (tensor<2x2xf32>, tensor<1x4x7x7xf32>) {
  // CHECK: bm.matmul
  %r = bm.matmul %a, %b, %c : !bm.tensor<2x1048576xe4m7, block = [2, 1024]>,
         !bm.tensor<1048576x2xe4m7, block = [1024, 2]>, tensor<2x2xf32> -> tensor<2x2xf32>
  // CHECK: bm.conv2d
  %y = bm.conv2d %x, %w, %i : !bm.tensor<1x64x9x9xe5m3>,
         !bm.tensor<4x64x3x3xe4m5, block = [4, 1, 3, 3]>, tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  return %r, %y : tensor<2x2xf32>, tensor<1x4x7x7xf32>
}
