// bm-lower-to-nvvm: bm ops on tensors -> LLVM host code + gpu.binary (PTX
// with format=isa). All element math is integer (ArithNumerics): no float8
// conversion, no float log2/exp2, so the GPU computes the CPU's bits.
// Functions are in destination-passing style on memrefs (device pointers).
// RUN: bm-opt %s --bm-lower-to-nvvm > %t.mlir
// RUN: FileCheck %s --check-prefix=HOST < %t.mlir
// RUN: %python %S/extract_gpu_binaries.py %t.mlir | FileCheck %s
// RUN: %python %S/extract_gpu_binaries.py %t.mlir | FileCheck %s --check-prefix=NOF8
// Without tensor cores the e2m3 matmul is the scalar kernel.
// RUN: bm-opt %s --bm-lower-to-nvvm=mma=false | %python %S/extract_gpu_binaries.py | FileCheck %s --check-prefix=NOMMA
// RUN: bm-opt %s --bm-lower-to-nvvm=mma-kernel=direct | %python %S/extract_gpu_binaries.py | FileCheck %s --check-prefix=DIRECT

// The host side: LLVM dialect only; kernels launched through gpu.launch_func
// (translated to mgpuLaunchKernel), device temporaries from mgpuMemAlloc.
// HOST-NOT: func.func
// HOST: llvm.func @quantize_nearest(
// HOST: llvm.call @mgpuMemAlloc
// HOST: gpu.launch_func @quantize_nearest_kernel::@quantize_nearest_kernel
// HOST: llvm.call @mgpuMemFree
// HOST: gpu.binary @quantize_nearest_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, properties = {{.*}}, assembly = "
// HOST: llvm.func @bm6_matmul(
// HOST: gpu.launch_func @bm6_matmul_kernel_{{[0-9]+}}::@bm6_matmul_kernel

// NOF8-NOT: {{cvt[.a-z0-9]*\.(e4m3|e5m2|e2m3|e3m2|e2m1|ue8m0)}}
// NOF8-NOT: {{(lg2|ex2)\.approx}}
// NOF8-NOT: {{\.f8}}

// Quantize: block maximum, bias from the exponent field / clz, integer
// rounding with shifts.
// (Kernels are checked in order: fill, block maximum, biases, codes.)
// CHECK: // gpu.binary @quantize_nearest_kernel
// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK: .entry quantize_nearest_kernel
// CHECK: // gpu.binary @quantize_nearest_kernel
// CHECK: max.u32
// CHECK: // gpu.binary @quantize_nearest_kernel
// CHECK: clz.b32
// CHECK: // gpu.binary @quantize_nearest_kernel
// CHECK: {{shr|shl}}.b{{32|64}}
func.func @quantize_nearest(%x: memref<96x128xf32>, %codes: memref<96x128xi8>,
                            %biases: memref<2x3xi8>) {
  %t = bufferization.to_tensor %x restrict : memref<96x128xf32> to tensor<96x128xf32>
  %q = bm.quantize %t nearest
      : tensor<96x128xf32> -> !bm.tensor<96x128xe2m3, block = [48, 48]>
  %c, %b = bm.unpack %q : !bm.tensor<96x128xe2m3, block = [48, 48]>
      -> tensor<96x128xi8>, tensor<2x3xi8>
  bufferization.materialize_in_destination %c in restrict writable %codes
      : (tensor<96x128xi8>, memref<96x128xi8>) -> ()
  bufferization.materialize_in_destination %b in restrict writable %biases
      : (tensor<2x3xi8>, memref<2x3xi8>) -> ()
  return
}

// Stochastic rounding: Philox4x32-10's 32x32->64-bit multiplies.
// CHECK: // gpu.binary @quantize_stochastic_kernel
// CHECK: // gpu.binary @quantize_stochastic_kernel
// CHECK: // gpu.binary @quantize_stochastic_kernel
// CHECK: // gpu.binary @quantize_stochastic_kernel
// CHECK-COUNT-10: mul.lo.s64
func.func @quantize_stochastic(%x: memref<96x128xf32>, %seed: i64,
                               %codes: memref<96x128xi8>, %biases: memref<2x3xi8>) {
  %t = bufferization.to_tensor %x restrict : memref<96x128xf32> to tensor<96x128xf32>
  %q = bm.quantize %t stochastic seed %seed
      : tensor<96x128xf32> -> !bm.tensor<96x128xe2m3, block = [48, 48]>
  %c, %b = bm.unpack %q : !bm.tensor<96x128xe2m3, block = [48, 48]>
      -> tensor<96x128xi8>, tensor<2x3xi8>
  bufferization.materialize_in_destination %c in restrict writable %codes
      : (tensor<96x128xi8>, memref<96x128xi8>) -> ()
  bufferization.materialize_in_destination %b in restrict writable %biases
      : (tensor<2x3xi8>, memref<2x3xi8>) -> ()
  return
}

// Dequantize: one kernel, integer assembly of the float bits (stores b32).
// CHECK: // gpu.binary @dequantize_kernel
// CHECK: .entry dequantize_kernel
// CHECK: st.global.b32
func.func @dequantize(%codes: memref<96x128xi8>, %biases: memref<2x3xi8>,
                      %y: memref<96x128xf32>) {
  %c = bufferization.to_tensor %codes restrict : memref<96x128xi8> to tensor<96x128xi8>
  %b = bufferization.to_tensor %biases restrict : memref<2x3xi8> to tensor<2x3xi8>
  %q = bm.pack %c, %b : tensor<96x128xi8>, tensor<2x3xi8>
      -> !bm.tensor<96x128xe2m3, block = [48, 48]>
  %d = bm.dequantize %q : !bm.tensor<96x128xe2m3, block = [48, 48]> -> tensor<96x128xf32>
  bufferization.materialize_in_destination %d in restrict writable %y
      : (tensor<96x128xf32>, memref<96x128xf32>) -> ()
  return
}

// BM6 matmul (e2m3 x e2m3, 48-term runs): the run sums are int8 tensor-core
// MMAs with s32 accumulators; each run is converted once. (Kernels: decode
// A, decode B, scales A, scales B, the contraction.) The contraction
// (mma-kernel=tiled) stages both operands in two 4 x 128 x 48-byte
// shared-memory rings with cp.async (16 bytes per thread and operand;
// 3 stages in flight before the loop), waits for all but the newest 2
// groups, passes a barrier, and reads fragments with ldmatrix.x4. The exact
// integer routine (clz, for runs with extreme scales or a non-finite block)
// comes before the MMAs, the fast conversion after them: float(P) as
// bits(1.5 * 2^23) + P minus 1.5 * 2^23, and one FMA with 2^(sA + sB)
// built from bits. The canonical NaN is stored.
// CHECK: // gpu.binary @bm6_matmul_kernel
// CHECK: .shared .align {{[0-9]+}} .b8 [[SA:__wg_bm6_matmul_kernel_[0-9]+]][24576];
// CHECK: .shared .align {{[0-9]+}} .b8 [[SB:__wg_bm6_matmul_kernel_[0-9]+]][24576];
// CHECK-COUNT-6: cp.async.cg.shared.global [{{%rd[0-9]+(\+[0-9]+)?}}], [{{%rd[0-9]+}}], 16;
// CHECK: cp.async.commit_group;
// CHECK: clz.b{{32|64}}
// CHECK: add.rn.f32
// CHECK: cp.async.wait_group 2;
// CHECK-NEXT: bar.sync 0;
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// CHECK: add.s32 [[BITS:%r[0-9]+]], {{%r[0-9]+}}, 1262485504;
// CHECK-NEXT: add.rn.f32 [[VALUE:%r[0-9]+]], [[BITS]], 0fCB400000;
// CHECK: fma.rn.f32 {{%r[0-9]+}}, [[VALUE]], {{%r[0-9]+}}, {{%r[0-9]+}};
// CHECK: cp.async.wait_group 0;
// CHECK: selp.{{f32|b32}} {{%r[0-9]+}}, 0f7FC00000
// CHECK: // gpu.binary @bm8_matmul_kernel
// The direct kernel: fragments loaded from global memory, no shared memory.
// DIRECT: // gpu.binary @bm6_matmul_kernel
// DIRECT-NOT: .shared
// DIRECT-NOT: ldmatrix
// DIRECT: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// DIRECT-NOT: cp.async
// DIRECT: fma.rn.f32
// DIRECT: // gpu.binary @bm8_matmul_kernel
// Without tensor cores: exact 16x16->32-bit products, summed in 32 bits.
// NOMMA: // gpu.binary @bm6_matmul_kernel
// NOMMA-NOT: mma.sync
// NOMMA: mul.wide.s16
// NOMMA-NOT: mma.sync
func.func @bm6_matmul(%ca: memref<128x96xi8>, %ba: memref<3x2xi8>,
                      %cb: memref<96x64xi8>, %bb: memref<2x2xi8>,
                      %c: memref<128x64xf32>) {
  %tca = bufferization.to_tensor %ca restrict : memref<128x96xi8> to tensor<128x96xi8>
  %tba = bufferization.to_tensor %ba restrict : memref<3x2xi8> to tensor<3x2xi8>
  %tcb = bufferization.to_tensor %cb restrict : memref<96x64xi8> to tensor<96x64xi8>
  %tbb = bufferization.to_tensor %bb restrict : memref<2x2xi8> to tensor<2x2xi8>
  %init = bufferization.to_tensor %c restrict writable : memref<128x64xf32> to tensor<128x64xf32>
  %a = bm.pack %tca, %tba : tensor<128x96xi8>, tensor<3x2xi8>
      -> !bm.tensor<128x96xe2m3, block = [48, 48]>
  %b = bm.pack %tcb, %tbb : tensor<96x64xi8>, tensor<2x2xi8>
      -> !bm.tensor<96x64xe2m3, block = [48, 48]>
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<128x96xe2m3, block = [48, 48]>,
        !bm.tensor<96x64xe2m3, block = [48, 48]>, tensor<128x64xf32>
      -> tensor<128x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %c
      : (tensor<128x64xf32>, memref<128x64xf32>) -> ()
  return
}

// BM8-style e4m3 (i32 integer forms, 43-bit Kulisch sums): the scalar
// kernel, one thread per output, exact 64-bit integer multiply-adds.
// CHECK-NOT: mma.sync
// CHECK: mul.wide.s32
// CHECK: add.s64
// CHECK-NOT: mma.sync
// CHECK: add.rn.f32
// CHECK-NOT: mma.sync
func.func @bm8_matmul(%ca: memref<64x96xi8>, %ba: memref<2x2xi8>,
                      %cb: memref<96x64xi8>, %bb: memref<2x2xi8>,
                      %c: memref<64x64xf32>) {
  %tca = bufferization.to_tensor %ca restrict : memref<64x96xi8> to tensor<64x96xi8>
  %tba = bufferization.to_tensor %ba restrict : memref<2x2xi8> to tensor<2x2xi8>
  %tcb = bufferization.to_tensor %cb restrict : memref<96x64xi8> to tensor<96x64xi8>
  %tbb = bufferization.to_tensor %bb restrict : memref<2x2xi8> to tensor<2x2xi8>
  %init = bufferization.to_tensor %c restrict writable : memref<64x64xf32> to tensor<64x64xf32>
  %a = bm.pack %tca, %tba : tensor<64x96xi8>, tensor<2x2xi8>
      -> !bm.tensor<64x96xe4m3, block = [48, 48]>
  %b = bm.pack %tcb, %tbb : tensor<96x64xi8>, tensor<2x2xi8>
      -> !bm.tensor<96x64xe4m3, block = [48, 48]>
  %y = bm.matmul %a, %b, %init
      : !bm.tensor<64x96xe4m3, block = [48, 48]>,
        !bm.tensor<96x64xe4m3, block = [48, 48]>, tensor<64x64xf32>
      -> tensor<64x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %c
      : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
  return
}
