//===- Common.h - Shared helpers of the bm GPU lowering ---------*- C++ -*-===//
//
// Private to lib/Conversion/BMToGPU: the run-term helpers that both the
// scalar reference bodies (convert-bm-to-gpu) and the tensor-core kernel
// (bm-map-to-gpu) use, so that both add the same terms in the same way as
// the CPU lowering (numerics.md section 5).
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_CONVERSION_BMTOGPU_COMMON_H
#define BM_LIB_CONVERSION_BMTOGPU_COMMON_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include "bm/Conversion/Utils/MatmulOperands.h"
#include "bm/Numerics/Format.h"

#include <cstdint>
#include <limits>

namespace mlir::bm::gpu_lowering {

/// Attribute marking a fused matmul generic whose int8 operands the
/// tensor-core kernel may compute (set by convert-bm-to-gpu, read by
/// bm-map-to-gpu).
constexpr llvm::StringLiteral kMmaAttrName = "bm.gpu.mma";
/// Attribute marking every fused matmul generic (scalar or mma).
constexpr llvm::StringLiteral kFusedMatmulAttrName = "bm.gpu.fused_matmul";

/// K padding of the tensor-core layout: one m16n8k32 step.
constexpr int64_t kMmaK = 32;

} // namespace mlir::bm::gpu_lowering

#endif // BM_LIB_CONVERSION_BMTOGPU_COMMON_H
