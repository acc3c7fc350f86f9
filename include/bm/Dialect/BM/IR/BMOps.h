//===- BMOps.h - Block Minifloat operations ---------------------*- C++ -*-===//

#ifndef BM_DIALECT_BM_IR_BMOPS_H
#define BM_DIALECT_BM_IR_BMOPS_H

#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/IR/BMTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "bm/Dialect/BM/IR/BMOps.h.inc"

#endif // BM_DIALECT_BM_IR_BMOPS_H
