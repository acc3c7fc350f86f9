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

/// Marker of a non-finite block in the per-run scale tensors (the same value
/// as the CPU lowering's).
constexpr int32_t kNonFiniteScale = std::numeric_limits<int32_t>::min();

Value constI32(OpBuilder &b, Location loc, int32_t v);
Value constIndex(OpBuilder &b, Location loc, int64_t v);

/// Unit exponent (s + c) of a block bias (i8), or kNonFiniteScale.
Value unitExponentOrMarker(OpBuilder &b, Location loc, Value beta,
                           ::bm::numerics::Format format);

/// acc + (nonFinite ? NaN : term), any NaN made the canonical one.
Value accumulateTerm(OpBuilder &b, Location loc, Value acc, Value term,
                     Value nonFinite);

/// True (i1) iff either scale is the non-finite marker.
Value eitherNonFinite(OpBuilder &b, Location loc, Value scaleA, Value scaleB);

} // namespace mlir::bm::gpu_lowering

#endif // BM_LIB_CONVERSION_BMTOGPU_COMMON_H
