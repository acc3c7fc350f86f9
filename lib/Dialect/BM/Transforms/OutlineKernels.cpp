//===- OutlineKernels.cpp - One private function per bm op form -----------===//
//
// Implements bm-outline-kernels (see Passes.td). The CPU lowering expands
// each bm.quantize, bm.matmul and bm.conv2d into a kernel of its own:
// vector loops, packing and tables, hundreds of operations. A training step
// uses few distinct forms many times (ResNet-18: 118 quantizes in 42 forms,
// 62 convolutions in 34), so outlining each form once and calling it keeps
// the lowered module, and the time to compile it, in proportion to the
// forms rather than the uses.
//
//===----------------------------------------------------------------------===//

#include "bm/Dialect/BM/Transforms/Passes.h"

#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/DenseMap.h"

#include <tuple>

namespace mlir::bm {
#define GEN_PASS_DEF_BMOUTLINEKERNELS
#include "bm/Dialect/BM/Transforms/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {

/// What makes two ops compute the same function of their operands: the op,
/// its operand and result types, and its attributes without `bm.index`
/// (which only names the op in reports). All three are uniqued.
using FormKey = std::tuple<const void *, const void *, const void *>;

/// Only ops with statically shaped results are outlined: a function with a
/// dynamically shaped result would change what `out-params=auto` decides
/// (bm-export-signatures decides on the functions as they come in).
bool hasStaticResults(Operation *op) {
  return llvm::all_of(op->getResultTypes(), [](Type type) {
    if (auto bmType = dyn_cast<BMTensorType>(type))
      return llvm::none_of(bmType.getShape(), ShapedType::isDynamic);
    auto shaped = dyn_cast<ShapedType>(type);
    return shaped && shaped.hasStaticShape();
  });
}

struct BMOutlineKernelsPass
    : public mlir::bm::impl::BMOutlineKernelsBase<BMOutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    StringAttr indexName =
        ctx->getOrLoadDialect<BMDialect>()->getIndexAttrHelper().getName();

    // The ops, in order, before any function is added.
    SmallVector<Operation *> ops;
    for (auto func : module.getOps<func::FuncOp>())
      func.walk([&](Operation *op) {
        if (isa<QuantizeOp, MatmulOp, Conv2DOp>(op) && hasStaticResults(op))
          ops.push_back(op);
      });
    if (ops.empty())
      return markAllAnalysesPreserved();

    SymbolTable symbols(module);
    llvm::DenseMap<FormKey, func::FuncOp> kernels;
    llvm::DenseMap<OperationName, unsigned> counts;
    OpBuilder moduleBuilder = OpBuilder::atBlockEnd(module.getBody());
    for (Operation *op : ops) {
      NamedAttrList attrs(op->getAttrDictionary());
      attrs.erase(indexName);
      DictionaryAttr form = attrs.getDictionary(ctx);
      auto type = FunctionType::get(ctx, op->getOperandTypes(),
                                    op->getResultTypes());
      FormKey key{op->getName().getAsOpaquePointer(),
                  type.getAsOpaquePointer(), form.getAsOpaquePointer()};

      func::FuncOp &kernel = kernels[key];
      if (!kernel) {
        std::string name =
            ("__bm_kernel_" + op->getName().stripDialect() + "_" +
             Twine(counts[op->getName()]++))
                .str();
        std::replace(name.begin(), name.end(), '.', '_');
        kernel = func::FuncOp::create(moduleBuilder, op->getLoc(), name, type);
        kernel.setPrivate();
        // Internal in the lowered object too (convert-func-to-llvm reads
        // `llvm.linkage`): two modules linked into one program each have
        // their own __bm_kernel_quantize_0.
        kernel->setAttr("llvm.linkage",
                        LLVM::LinkageAttr::get(
                            ctx, LLVM::linkage::Linkage::Internal));
        symbols.insert(kernel);
        Block *entry = kernel.addEntryBlock();
        OpBuilder b = OpBuilder::atBlockEnd(entry);
        IRMapping mapping;
        mapping.map(op->getOperands(), entry->getArguments());
        Operation *clone = b.clone(*op, mapping);
        clone->setAttrs(form);
        func::ReturnOp::create(b, op->getLoc(), clone->getResults());
      }

      OpBuilder b(op);
      auto call = func::CallOp::create(b, op->getLoc(), kernel,
                                       op->getOperands());
      op->replaceAllUsesWith(call.getResults());
      op->erase();
    }
  }
};

} // namespace
