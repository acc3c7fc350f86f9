//===- DistinctResults.cpp - One value per function result ----------------===//
//
// Implements bm-distinct-results (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMDISTINCTRESULTS
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {
struct BMDistinctResultsPass
    : public mlir::bm::impl::BMDistinctResultsBase<BMDistinctResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      llvm::SmallDenseSet<Value> seen;
      OpBuilder builder(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value value = operand.get();
        auto type = dyn_cast<RankedTensorType>(value.getType());
        if (!type || seen.insert(value).second)
          continue;
        // The copy gives the shape: no dynamic sizes.
        operand.set(bufferization::AllocTensorOp::create(
            builder, ret.getLoc(), type, /*dynamicSizes=*/ValueRange(),
            /*copy=*/value));
      }
    });
  }
};
} // namespace
