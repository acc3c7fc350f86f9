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

#define GEN_PASS_DECL
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Dialect/BM/Transforms/Passes.h.inc"

} // namespace mlir::bm

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_H
