// bm-report on IR it has nothing to say about, or little: unregistered and
// other ops, dynamic shapes, unranked tensors, zero-size dimensions, and the
// largest shapes a BM tensor may have (the byte counts used to overflow
// int64, undefined behavior). The IR is never changed.
// RUN: bm-opt %s --allow-unregistered-dialect --bm-report 2>%t.report | FileCheck %s --check-prefix=IR
// RUN: FileCheck %s --check-prefix=REPORT < %t.report

// IR-LABEL: func.func @other_ops
// IR: "foo.op"
// IR: math.sqrt
// REPORT-NOT: @other_ops
func.func @other_ops(%x: tensor<?xf32>, %u: tensor<*xf32>) -> tensor<?xf32> {
  "foo.op"(%u) : (tensor<*xf32>) -> ()
  %y = math.sqrt %x : tensor<?xf32>
  return %y : tensor<?xf32>
}

// IR-LABEL: func.func @zero_sizes
// IR-COUNT-2: bm.matmul
// IR: bm.conv2d
// REPORT: bm-report: @zero_sizes: 3 BM contractions
// REPORT: bm.matmul  e2m3 [4x1]             e2m3 [1x3]                    0       13    i16            0            0  -
// REPORT: bm.matmul  e2m3 [1x5]             e2m3 [5x3]                    5       16    i16           60           16  -
// REPORT: bm.conv2d  e2m3 [1x2x1x1]         e2m3 [3x2x1x1]                2       14    i16           24            7  -
// REPORT: operand memory: 84 bytes as f32, 23 bytes as BM (3.65x smaller)
func.func @zero_sizes(%a: !bm.tensor<4x0xe2m3>, %b: !bm.tensor<0x3xe2m3>, %c: tensor<4x3xf32>,
                      %a0: !bm.tensor<0x5xe2m3>, %b0: !bm.tensor<5x3xe2m3>, %c0: tensor<0x3xf32>,
                      %x: !bm.tensor<1x2x0x0xe2m3>, %w: !bm.tensor<3x2x1x1xe2m3>, %i: tensor<1x3x2x2xf32>) {
  %r0 = bm.matmul %a, %b, %c : !bm.tensor<4x0xe2m3>, !bm.tensor<0x3xe2m3>, tensor<4x3xf32> -> tensor<4x3xf32>
  %r1 = bm.matmul %a0, %b0, %c0 : !bm.tensor<0x5xe2m3>, !bm.tensor<5x3xe2m3>, tensor<0x3xf32> -> tensor<0x3xf32>
  %r2 = bm.conv2d %x, %w, %i {padding = array<i64: 1, 1>} : !bm.tensor<1x2x0x0xe2m3>, !bm.tensor<3x2x1x1xe2m3>, tensor<1x3x2x2xf32> -> tensor<1x3x2x2xf32>
  return
}

// 2^62 + 2^32 elements per operand: the byte counts exceed int64.
// IR-LABEL: func.func @huge
// REPORT: bm-report: @huge: 1 BM contraction
// REPORT: bm.matmul  e2m3 [48x48]           e2m3 [48x1]                  48       19    i32 18446744078004518912 4613687619432451072  -
func.func @huge(%a: !bm.tensor<4294967296x1073741824xe2m3, block = [48, 48]>,
                %b: !bm.tensor<1073741824x1xe2m3, block = [48, 1]>,
                %c: tensor<4294967296x1xf32>) -> tensor<4294967296x1xf32> {
  %r = bm.matmul %a, %b, %c : !bm.tensor<4294967296x1073741824xe2m3, block = [48, 48]>,
       !bm.tensor<1073741824x1xe2m3, block = [48, 1]>, tensor<4294967296x1xf32> -> tensor<4294967296x1xf32>
  return %r : tensor<4294967296x1xf32>
}
