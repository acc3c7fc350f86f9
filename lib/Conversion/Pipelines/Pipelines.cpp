//===- Pipelines.cpp - bm lowering pipelines ------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMEMITCINTERFACE
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {
struct BMEmitCInterfacePass
    : public mlir::bm::impl::BMEmitCInterfaceBase<BMEmitCInterfacePass> {
  void runOnOperation() override {
    UnitAttr unit = UnitAttr::get(&getContext());
    BoolAttr readOnly = BoolAttr::get(&getContext(), false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), unit);
      // Callers own their buffers: bufferization must not write into them.
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isa<TensorType>(func.getArgument(i).getType()))
          func.setArgAttr(i, "bufferization.writable", readOnly);
    }
  }
};
} // namespace

void mlir::bm::buildLowerToCPUPipeline(OpPassManager &pm,
                                       const LowerToCPUOptions &options) {
  // The upstream part is spelled as a textual pipeline: it only names
  // registered passes, and reads like the equivalent bm-opt command line.
  std::string pipeline = options.emitCInterface ? "bm-emit-c-interface," : "";
  pipeline +=
      "convert-bm-to-linalg,convert-bm-to-arith,canonicalize,cse,"
      "func.func(bm-vectorize-run-sums),canonicalize,cse,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
      "convert-linalg-to-loops,convert-vector-to-scf{full-unroll=true},"
      "func.func(lower-vector-multi-reduction),convert-scf-to-cf,"
      "expand-strided-metadata,lower-affine,";
  pipeline += "convert-vector-to-llvm,convert-to-llvm,"
              "reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("bm-lower-to-cpu: bad built-in pipeline");
}

void mlir::bm::registerBMPipelines() {
  PassPipelineRegistration<LowerToCPUOptions>(
      "bm-lower-to-cpu",
      "Lower bm ops on tensors to the LLVM dialect for the CPU "
      "(convert-bm-to-linalg, convert-bm-to-arith, bufferization, loops, "
      "LLVM)",
      buildLowerToCPUPipeline);
}
