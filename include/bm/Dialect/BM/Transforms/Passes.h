//===- Passes.h - bm dialect passes -----------------------------*- C++ -*-===//

#ifndef BM_DIALECT_BM_TRANSFORMS_PASSES_H
#define BM_DIALECT_BM_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::bm {

#define GEN_PASS_DECL
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

} // namespace mlir::bm

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_H
