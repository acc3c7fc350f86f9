//===- Passes.h - bm dialect passes -----------------------------*- C++ -*-===//

#ifndef BM_DIALECT_BM_TRANSFORMS_PASSES_H
#define BM_DIALECT_BM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "bm/Dialect/BM/IR/BMDialect.h"

namespace mlir::bm {

/// The `preset` option of bm-quantize-training: a pair of forward and
/// backward formats.
enum class FormatPreset { bm8, bm6, bm5, bm4 };

/// The `loss-grad` option of bm-quantize-training.
enum class LossGradMode { automatic, fp32, bm };

/// The `model-input` option of bm-quantize-training.
enum class ModelInputMode { bm, fp32 };

/// The `forward-scale` and `backward-scale` options of bm-quantize-training:
/// a scale rule, or `same` to follow its `scale` option.
enum class ScaleOverride { same, floor, fit };

#define BM_SCALE_OVERRIDE_VALUES                                               \
  ::llvm::cl::values(                                                          \
      clEnumValN(::mlir::bm::ScaleOverride::same, "same",                      \
                 "follow the scale option"),                                   \
      clEnumValN(::mlir::bm::ScaleOverride::floor, "floor",                    \
                 "the paper's rule"),                                          \
      clEnumValN(::mlir::bm::ScaleOverride::fit, "fit",                        \
                 "one scale up for a block whose maximum would saturate"))

#define GEN_PASS_DECL
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

} // namespace mlir::bm

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_H
