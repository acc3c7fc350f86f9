//===- BMDialect.h - Block Minifloat dialect --------------------*- C++ -*-===//

#ifndef BM_DIALECT_BM_IR_BMDIALECT_H
#define BM_DIALECT_BM_IR_BMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "bm/Dialect/BM/IR/BMOpsDialect.h.inc"

#endif // BM_DIALECT_BM_IR_BMDIALECT_H
