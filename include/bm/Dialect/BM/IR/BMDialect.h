//===- BMDialect.h - Block Minifloat dialect --------------------*- C++ -*-===//

#ifndef BM_DIALECT_BM_IR_BMDIALECT_H
#define BM_DIALECT_BM_IR_BMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

// The typed helpers of the dialect's discardable attributes name its
// attribute classes.
#include "bm/Dialect/BM/IR/BMTypes.h"

#include "bm/Dialect/BM/IR/BMOpsDialect.h.inc"

#endif // BM_DIALECT_BM_IR_BMDIALECT_H
