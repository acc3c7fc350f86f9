//===- WarpEmulation.h - Warp-synchronous kernels on the CPU ----*- C++ -*-===//

#ifndef BM_TEST_LIB_GPU_WARPEMULATION_H
#define BM_TEST_LIB_GPU_WARPEMULATION_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bm::test {

inline Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

inline Value constI32(OpBuilder &b, Location loc, int32_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
}

/// Whether `launch` uses warp-level NVVM ops (nvvm.mma.sync), so that its
/// threads cannot run one after the other.
bool needsWarpEmulation(gpu::LaunchOp launch);

/// Replaces `launch` with CPU loops that run each warp's 32 lanes in
/// lockstep, nvvm.mma.sync emulated with the PTX fragment layouts.
LogicalResult emulateWarps(RewriterBase &rewriter, gpu::LaunchOp launch);

} // namespace mlir::bm::test

#endif // BM_TEST_LIB_GPU_WARPEMULATION_H
