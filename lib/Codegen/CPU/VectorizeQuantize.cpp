//===- VectorizeQuantize.cpp - Quantize generics as the CPU kernel --------===//
//
// Replaces the three linalg.generic ops of a bm.quantize lowered in its
// generic form (block maximum, biases, codes; the codes generic tagged
// `bm.quant_codes` by convert-bm-to-linalg) by the CPU quantize kernel
// (Codegen/CPU/QuantizeKernel.h). bm-lower-to-cpu does not need this: its
// convert-bm-to-linalg emits the kernel directly (vector-quantize-bits).
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/Passes.h"

#include "bm/Codegen/CPU/QuantizeKernel.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMVECTORIZEQUANTIZE
#include "bm/Codegen/CPU/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using ::bm::numerics::Format;

namespace {

struct QuantizeMatch {
  linalg::GenericOp maxOp, biasOp, codesOp;
  cpu::QuantizeKernelSpec spec;
};

/// The quantize that convert-bm-to-linalg marked on its codes generic
/// (bm.quant_codes) and the two generics before it.
FailureOr<QuantizeMatch> matchQuantize(linalg::GenericOp codesOp,
                                       QuantCodesAttr attr) {
  if (!codesOp.hasPureTensorSemantics() || codesOp.getNumDpsInputs() != 2 ||
      codesOp->getNumResults() != 1)
    return failure();
  QuantizeMatch match;
  match.codesOp = codesOp;
  cpu::QuantizeKernelSpec &spec = match.spec;
  spec.format = attr.getFormat().getNumerics();
  spec.rounding = toNumerics(attr.getRounding());
  spec.scale = toNumerics(attr.getScale());
  spec.block.assign(attr.getBlock().begin(), attr.getBlock().end());
  spec.input = codesOp.getDpsInputs()[0];
  auto inputType = dyn_cast<RankedTensorType>(spec.input.getType());
  if (!inputType || !cpu::isQuantizeKernelSupported(inputType, spec.block))
    return failure();
  spec.codesType = cast<RankedTensorType>(codesOp->getResult(0).getType());

  match.biasOp = codesOp.getDpsInputs()[1].getDefiningOp<linalg::GenericOp>();
  if (!match.biasOp || !match.biasOp.hasPureTensorSemantics() ||
      match.biasOp.getNumDpsInputs() != 1 || match.biasOp->getNumResults() != 1)
    return failure();
  spec.biasesType =
      cast<RankedTensorType>(match.biasOp->getResult(0).getType());
  match.maxOp =
      match.biasOp.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!match.maxOp || !match.maxOp.hasPureTensorSemantics() ||
      match.maxOp.getNumDpsInputs() != 1 ||
      match.maxOp.getDpsInputs()[0] != spec.input)
    return failure();
  // The new ops go where the codes generic is; every other user of the
  // biases must come after it (directly or nested in an op after it, e.g. a
  // tensor.extract in the body of a matmul's scales generic).
  for (Operation *user : match.biasOp->getResult(0).getUsers()) {
    if (user == codesOp)
      continue;
    Operation *ancestor = codesOp->getBlock()->findAncestorOpInBlock(*user);
    if (!ancestor || ancestor == codesOp || !codesOp->isBeforeInBlock(ancestor))
      return failure();
  }

  if (spec.rounding == ::bm::numerics::Rounding::Stochastic) {
    // The seed is the only i64 the codes body reads from above.
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(codesOp.getRegion(), above);
    for (Value v : above) {
      if (!v.getType().isInteger(64))
        continue;
      if (spec.seed)
        return failure();
      spec.seed = v;
    }
    if (!spec.seed)
      return failure();
  }
  return match;
}

struct BMVectorizeQuantizePass
    : public mlir::bm::impl::BMVectorizeQuantizeBase<BMVectorizeQuantizePass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorBits != 256 && vectorBits != 512) {
      getOperation()->emitError()
          << "bm-vectorize-quantize: vector-bits must be 256 or 512, not "
          << static_cast<unsigned>(vectorBits);
      return signalPassFailure();
    }
    BMDialect::QuantCodesAttrHelper quantCodes =
        getContext().getLoadedDialect<BMDialect>()->getQuantCodesAttrHelper();
    SmallVector<std::pair<linalg::GenericOp, QuantCodesAttr>> targets;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (QuantCodesAttr attr = quantCodes.getAttr(op))
        targets.push_back({op, attr});
    });
    IRRewriter rewriter(&getContext());
    for (auto [codesOp, attr] : targets) {
      FailureOr<QuantizeMatch> match = matchQuantize(codesOp, attr);
      if (failed(match)) {
        codesOp.emitRemark(
            "bm-vectorize-quantize: unexpected quantize form; left scalar");
        continue;
      }
      rewriter.setInsertionPoint(codesOp);
      auto [codes, biases] = cpu::emitQuantizeKernel(rewriter, codesOp.getLoc(),
                                                     match->spec, vectorBits);
      rewriter.replaceAllUsesWith(match->biasOp->getResult(0), biases);
      rewriter.replaceOp(codesOp, codes);
      if (match->biasOp->use_empty())
        rewriter.eraseOp(match->biasOp);
      if (match->maxOp->use_empty())
        rewriter.eraseOp(match->maxOp);
    }
  }
};

} // namespace
