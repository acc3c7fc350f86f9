//===- Passes.td - GPU code generation passes of bm --------*- tablegen -*-===//
//
// The buffer-level part of the GPU lowering: linalg on device buffers to
// gpu.launch kernels, with the int8 tensor-core kernel of the fused matmuls
// that convert-bm-to-gpu builds.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_GPU_PASSES_TD
#define BM_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def BMMapToGPU : Pass<"bm-map-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Map bufferized linalg code to gpu.launch kernels and device memory";
  let description = [{
    Runs on bufferized host functions (memrefs), after
    `convert-bm-to-linalg` and `convert-bm-to-arith`:

    * `memref.copy` becomes `linalg.copy`;
    * a reduction-only `linalg.generic` whose output is indexed by
      `(d0 floordiv b0, ...)` (a block reduction) becomes a parallel loop
      over the blocks, each scanning its block in row-major order (the
      original order restricted to the block); when the combining op is
      idempotent, associative and commutative (max, min, and, or: quantize's
      block maximum) one thread per (block, index along the last blocked
      dimension) computes a partial result and a second loop combines them;
    * a `bm.gpu_mma` matmul (see `convert-bm-to-gpu`) becomes an int8
      tensor-core kernel unless `mma=false`: `mma-kernel=tiled` (default)
      stages 128x128 block tiles in shared memory with cp.async and reads
      fragments with ldmatrix, `mma-kernel=direct` loads them from global
      memory;
    * every other linalg op becomes `scf.parallel` over its parallel
      dimensions with sequential `scf.for` loops for its reductions inside;
      a loop nest without parallel dimensions runs as one GPU thread;
    * each outermost `scf.parallel` becomes a `gpu.launch` of
      `ceildiv(trip count, block-size)` blocks of `block-size` threads, the
      iteration space linearized row-major (consecutive threads take
      consecutive innermost indices);
    * `memref.alloc`/`memref.dealloc` become `gpu.alloc`/`gpu.dealloc`
      (device memory, or `host_shared` managed memory with `host-shared`);
    * `memref.get_global` used by a kernel is cloned into it, so that
      `gpu-kernel-outlining` copies the global into the GPU module.

    Unless `host-shared`, any remaining host access to buffer elements is
    reported as an error naming the op.
  }];
  let options = [
    Option<"blockSize", "block-size", "unsigned", /*default=*/"256",
           "Threads per block of the elementwise kernels">,
    Option<"hostShared", "host-shared", "bool", /*default=*/"false",
           "Allocate host-shared (managed) memory; allow host accesses">,
    Option<"mma", "mma", "bool", /*default=*/"true",
           "Emit the tensor-core kernel for bm.gpu_mma matmuls">,
    Option<"mmaKernel", "mma-kernel", "::mlir::bm::gpu_lowering::MmaKernel",
           /*default=*/"::mlir::bm::gpu_lowering::MmaKernel::Tiled",
           "Which tensor-core kernel",
           [{::llvm::cl::values(
             clEnumValN(::mlir::bm::gpu_lowering::MmaKernel::Tiled, "tiled",
                        "128x128 block tiles staged in shared memory "
                        "(cp.async, ldmatrix)"),
             clEnumValN(::mlir::bm::gpu_lowering::MmaKernel::Direct, "direct",
                        "64x32 block tiles, fragments loaded from global "
                        "memory"))}]>
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::affine::AffineDialect",
    "::mlir::vector::VectorDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::bm::BMDialect"
  ];
}

//===----------------------------------------------------------------------===//
// The FP32 linalg ops of a step on the CPU (lib/Conversion/LinalgToCPU)
//===----------------------------------------------------------------------===//

#endif // BM_CODEGEN_GPU_PASSES_TD
