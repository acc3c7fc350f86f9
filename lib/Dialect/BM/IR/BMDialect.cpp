//===- BMDialect.cpp - Block Minifloat dialect ----------------------------===//

#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/IR/BMTypes.h"

using namespace mlir;
using namespace mlir::bm;

#include "bm/Dialect/BM/IR/BMOpsDialect.cpp.inc"

void BMDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "bm/Dialect/BM/IR/BMOps.cpp.inc"
      >();
}
