//===- MmaMatmul.h - int8 tensor-core kernel of a fused matmul --*- C++ -*-===//

#ifndef BM_LIB_CONVERSION_BMTOGPU_MMAMATMUL_H
#define BM_LIB_CONVERSION_BMTOGPU_MMAMATMUL_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bm::gpu_lowering {

/// Replaces `op`, a bufferized fused matmul generic marked `bm.gpu_mma` by
/// convert-bm-to-gpu, with a gpu.launch that computes it with
/// nvvm.mma.sync m16n8k32 (s8 x s8 -> s32): every run of every output is
/// summed exactly in an s32 accumulator, converted once (integer numerics)
/// and added to the float32 accumulator in ascending run order.
LogicalResult emitMmaMatmul(RewriterBase &rewriter, linalg::GenericOp op);

} // namespace mlir::bm::gpu_lowering

#endif // BM_LIB_CONVERSION_BMTOGPU_MMAMATMUL_H
