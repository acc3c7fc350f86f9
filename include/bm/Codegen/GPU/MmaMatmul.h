//===- MmaMatmul.h - int8 tensor-core kernel of a fused matmul --*- C++ -*-===//

#ifndef BM_CODEGEN_GPU_MMAMATMUL_H
#define BM_CODEGEN_GPU_MMAMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <cstdint>

namespace mlir::bm::gpu_lowering {

/// K padding of the tensor-core layout: one m16n8k32 step. convert-bm-to-gpu
/// pads the runs of a bm.gpu_mma matmul to it; the kernel steps by it.
constexpr int64_t kMmaK = 32;

/// The tensor-core kernels (MmaMatmul.cpp).
enum class MmaKernel {
  /// 128x128 block tiles, operands staged in shared memory by cp.async,
  /// fragments read with ldmatrix.
  Tiled,
  /// 64x32 block tiles, fragments loaded from global memory.
  Direct,
};

/// Replaces `op`, a bufferized fused matmul generic marked `bm.gpu_mma` by
/// convert-bm-to-gpu, with a gpu.launch that computes it with
/// nvvm.mma.sync m16n8k32 (s8 x s8 -> s32): every run of every output is
/// summed exactly in an s32 accumulator, converted once and added to the
/// float32 accumulator in ascending run order.
LogicalResult emitMmaMatmul(RewriterBase &rewriter, linalg::GenericOp op,
                            MmaKernel kernel);

} // namespace mlir::bm::gpu_lowering

#endif // BM_CODEGEN_GPU_MMAMATMUL_H
