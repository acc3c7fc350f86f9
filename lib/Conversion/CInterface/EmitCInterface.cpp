//===- EmitCInterface.cpp - Export C wrappers of public functions ---------===//
//
// Implements bm-emit-c-interface (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMEMITCINTERFACE
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

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
