//===- ResultsToOutParams.cpp - Results into caller-allocated buffers -----===//
//
// Implements bm-results-to-out-params (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMRESULTSTOOUTPARAMS
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {
/// Upstream hoists a returned static allocation into its out-param, but it
/// rewrites the calls only after every function: a function that returns
/// what a call computed (bm-outline-kernels' kernels) keeps
/// `%a = memref.alloc(); call @k(..., %a); memref.copy %a, %out; return`.
/// When the copies into out-params end the function, `%out` has no other
/// use and `%a` has `%out`'s type, computing into `%out` directly is the
/// same: nothing writes `%a` after the copy, and nothing else touches `%out`.
void computeIntoOutParams(func::FuncOp func) {
  if (func.isExternal())
    return;
  Block &entry = func.front();
  Operation *terminator = entry.getTerminator();
  SmallVector<memref::CopyOp> copies;
  for (Operation *op = terminator->getPrevNode(); op; op = op->getPrevNode()) {
    auto copy = dyn_cast<memref::CopyOp>(op);
    if (!copy)
      break;
    copies.push_back(copy);
  }
  for (memref::CopyOp copy : copies) {
    auto out = dyn_cast<BlockArgument>(copy.getTarget());
    auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
    if (!out || out.getOwner() != &entry || !out.hasOneUse() || !alloc ||
        alloc->getBlock() != &entry || alloc.getType() != out.getType())
      continue;
    copy.erase();
    alloc.replaceAllUsesWith(out);
    alloc.erase();
  }
}

struct BMResultsToOutParamsPass
    : public mlir::bm::impl::BMResultsToOutParamsBase<
          BMResultsToOutParamsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!mlir::bm::usesOutParams(module, mode))
      return markAllAnalysesPreserved();
    bufferization::BufferResultsToOutParamsOpts options;
    options.hoistStaticAllocs = true;
    options.modifyPublicFunctions = true;
    if (failed(bufferization::promoteBufferResultsToOutParams(module, options)))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      computeIntoOutParams(func);
  }
};
} // namespace
