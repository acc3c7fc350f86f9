// bm-lower-to-cpu{out-params=true}: results become memref arguments after
// the function's own, and the kernel computes straight into the caller's
// buffer (no allocation of the result, no copy into it), also when the
// kernel is a function of its own that the caller calls.
// RUN: bm-opt %s --bm-lower-to-cpu=out-params=true \
// RUN:   --mlir-print-ir-after=bm-results-to-out-params -o /dev/null 2>&1 \
// RUN: | FileCheck %s
// RUN: bm-opt %s --bm-lower-to-cpu="out-params=true emit-c-interface=true" \
// RUN: | FileCheck %s --check-prefix=LLVM

// CHECK-LABEL: func.func @bm6_matmul(
// CHECK-SAME: %{{.*}}: memref<64x96xf32>, %{{.*}}: memref<96x32xf32>, %{{.*}}: memref<64x32xf32>, %{{.*}}: i64,
// CHECK-SAME: %[[OUT:.*]]: memref<64x32xf32>) {
// CHECK-NOT: memref.alloc() {{.*}}: memref<64x32xf32>
// CHECK-NOT: memref.copy {{.*}}, %[[OUT]]
// CHECK: call @__bm_kernel_matmul_0(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[OUT]])
// CHECK-NOT: memref.copy
// CHECK: return{{$}}
// CHECK-LABEL: func.func @pass_through(
// CHECK-SAME: %[[A:.*]]: memref<8xf32>, %[[R:.*]]: memref<8xf32>) {
// CHECK: memref.copy %[[A]], %[[R]]
// CHECK: return{{$}}
// The outlined kernel (bm-outline-kernels) takes its result as an out-param
// too, and the caller passes its own out-param on.
// CHECK-LABEL: func.func private @__bm_kernel_matmul_0(
// CHECK-SAME: %[[KOUT:[^:]*]]: memref<64x32xf32>) attributes {llvm.linkage = #llvm.linkage<internal>} {
// CHECK-NOT: memref.alloc() {{.*}}: memref<64x32xf32>
// The tile loop (in order: a kernel this small) carries the out-param.
// CHECK: scf.for {{.*}} iter_args(%[[TILES:.*]] = %[[KOUT]]) -> (memref<64x32xf32>)
// CHECK: memref.subview %[[TILES]]
// CHECK: return{{$}}

// LLVM: llvm.func @_mlir_ciface_bm6_matmul(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: !llvm.ptr) attributes

func.func @bm6_matmul(%x: tensor<64x96xf32>, %w: tensor<96x32xf32>,
                      %init: tensor<64x32xf32>, %seed: i64) -> tensor<64x32xf32> {
  %qx = bm.quantize %x stochastic seed %seed
      : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
  %qw = bm.quantize %w nearest
      : tensor<96x32xf32> -> !bm.tensor<96x32xe2m3, block = [48, 48]>
  %y = bm.matmul %qx, %qw, %init
      : !bm.tensor<64x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x32xe2m3, block = [48, 32]>, tensor<64x32xf32>
      -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}

// A returned argument is copied into the out-param.
func.func @pass_through(%a: tensor<8xf32>) -> tensor<8xf32> {
  return %a : tensor<8xf32>
}
