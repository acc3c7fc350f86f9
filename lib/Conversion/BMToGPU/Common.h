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

/// K padding of the tensor-core layout: one m16n8k32 step.
constexpr int64_t kMmaK = 32;

} // namespace mlir::bm::gpu_lowering

#endif // BM_LIB_CONVERSION_BMTOGPU_COMMON_H
