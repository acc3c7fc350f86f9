//===- WarpEmulation.h - Warp-synchronous kernels on the CPU ----*- C++ -*-===//

#ifndef BM_LIB_CONVERSION_BMTOGPU_WARPEMULATION_H
#define BM_LIB_CONVERSION_BMTOGPU_WARPEMULATION_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bm::gpu_lowering {

/// Whether `launch` uses warp-level NVVM ops (nvvm.mma.sync), so that its
/// threads cannot run one after the other.
bool needsWarpEmulation(gpu::LaunchOp launch);

/// Replaces `launch` with CPU loops that run each warp's 32 lanes in
/// lockstep, nvvm.mma.sync emulated with the PTX fragment layouts.
LogicalResult emulateWarps(RewriterBase &rewriter, gpu::LaunchOp launch);

} // namespace mlir::bm::gpu_lowering

#endif // BM_LIB_CONVERSION_BMTOGPU_WARPEMULATION_H
