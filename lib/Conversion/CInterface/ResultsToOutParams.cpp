//===- ResultsToOutParams.cpp - Results into caller-allocated buffers -----===//
//
// Implements bm-results-to-out-params (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMRESULTSTOOUTPARAMS
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {
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
  }
};
} // namespace
