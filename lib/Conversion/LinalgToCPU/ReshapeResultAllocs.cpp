//===- ReshapeResultAllocs.cpp - Allocate returned reshapes directly ------===//
//
// Implements bm-reshape-result-allocs (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMRESHAPERESULTALLOCS
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {

/// `value` seen through `scf.for` results that forward their iteration
/// argument (bufferized loops carry their buffers until canonicalization).
Value skipForwardingLoops(Value value) {
  while (auto loop = value.getDefiningOp<scf::ForOp>()) {
    unsigned i = cast<OpResult>(value).getResultNumber();
    if (skipForwardingLoops(loop.getYieldedValues()[i]) !=
        loop.getRegionIterArgs()[i])
      break;
    value = loop.getInitArgs()[i];
  }
  return value;
}

memref::AllocOp getAllocation(Value value) {
  return skipForwardingLoops(value).getDefiningOp<memref::AllocOp>();
}

/// `%a = alloc : A; %r = expand_shape/collapse_shape %a : B` -> `%r = alloc
/// : B; %a' = collapse_shape/expand_shape %r : A`, uses of %a now use %a'.
/// Same buffer, same bytes; only which of the two views is the allocation
/// changes.
template <typename ReshapeOp, typename InverseOp>
bool reshapeAllocation(OpBuilder &builder, ReshapeOp reshape) {
  memref::AllocOp alloc = getAllocation(reshape.getSrc());
  MemRefType allocType = alloc ? alloc.getType() : MemRefType();
  MemRefType resultType = reshape.getType();
  if (!alloc || !allocType.hasStaticShape() ||
      !allocType.getLayout().isIdentity() ||
      !resultType.getLayout().isIdentity() || !alloc.getDynamicSizes().empty())
    return false;
  builder.setInsertionPoint(alloc);
  auto newAlloc = memref::AllocOp::create(builder, alloc.getLoc(), resultType,
                                          alloc.getAlignmentAttr());
  auto view = InverseOp::create(builder, alloc.getLoc(), allocType, newAlloc,
                                reshape.getReassociationIndices());
  alloc.getResult().replaceAllUsesWith(view.getResult());
  // The reshape of the (forwarded) allocation is the new allocation.
  builder.setInsertionPoint(reshape);
  reshape.getResult().replaceAllUsesWith(newAlloc.getResult());
  reshape->erase();
  alloc->erase();
  return true;
}

struct BMReshapeResultAllocsPass
    : public mlir::bm::impl::BMReshapeResultAllocsBase<
          BMReshapeResultAllocsPass> {
  void runOnOperation() override {
    OpBuilder builder(&getContext());
    SmallVector<Operation *> reshapes;
    getOperation().walk([&](func::ReturnOp ret) {
      for (OpOperand &operand : ret->getOpOperands()) {
        // A loop that only forwards an allocation returns the allocation;
        // so does a reshape of a reshape back to the allocation's type.
        Value value = skipForwardingLoops(operand.get());
        if (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp>(
                value.getDefiningOp())) {
          Value inner =
              skipForwardingLoops(value.getDefiningOp()->getOperand(0));
          if (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp>(
                  inner.getDefiningOp())) {
            Value base = inner.getDefiningOp()->getOperand(0);
            if (base.getType() == value.getType() &&
                base.getDefiningOp<memref::AllocOp>())
              value = base;
          }
        }
        if (value.getDefiningOp<memref::AllocOp>())
          operand.set(value);
        else if (isa_and_nonnull<memref::ExpandShapeOp,
                                 memref::CollapseShapeOp>(
                     value.getDefiningOp()))
          reshapes.push_back(value.getDefiningOp());
      }
    });
    for (Operation *op : reshapes) {
      if (auto expand = dyn_cast<memref::ExpandShapeOp>(op))
        reshapeAllocation<memref::ExpandShapeOp, memref::CollapseShapeOp>(
            builder, expand);
      else if (auto collapse = dyn_cast<memref::CollapseShapeOp>(op))
        reshapeAllocation<memref::CollapseShapeOp, memref::ExpandShapeOp>(
            builder, collapse);
    }
  }
};
} // namespace
