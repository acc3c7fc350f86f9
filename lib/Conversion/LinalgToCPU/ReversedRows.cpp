//===- ReversedRows.cpp - Flipped filters copied as reversed rows --------===//
//
// Part of bm-vectorize-linalg (VectorizeLinalg.h).
//
//===----------------------------------------------------------------------===//

#include "VectorizeLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bm;

namespace mlir::bm::vectorize_linalg {

/// A copy generic whose output is read in order and whose input is read
/// through a permutation of the leading loops and backwards along all the
/// trailing ones (a filter's flip for the data gradient of a convolution,
/// `(f, c, kh, kw) -> (c, f, KH-1-kh, KW-1-kw)`), as rows: the trailing
/// dimensions are one contiguous chunk in both, read backwards whole, so
/// each row is a vector read, a reversing shuffle and a vector write (the
/// tiler would copy it element by element: it tiles reversed loops to one).
/// Exact: the same elements, moved.
LogicalResult flipAsReversedRows(RewriterBase &rewriter, linalg::GenericOp op,
                                 int64_t minParallel) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || op.hasDynamicShape() ||
      op.getNumReductionLoops() != 0)
    return failure();
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 1 ||
      yield.getValues().front() != body.getArgument(0))
    return failure();
  OpOperand *input = op.getDpsInputOperand(0);
  AffineMap inMap = op.getMatchingIndexingMap(input);
  if (!op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned n = ranges.size();
  if (inMap.getNumResults() != n || n < 2)
    return failure();
  // The leading results: loops; the trailing ones: (range - 1) - loop, for
  // the trailing loops in order.
  unsigned lead = 0;
  SmallVector<unsigned> leadDims;
  for (; lead < n; ++lead) {
    auto dim = dyn_cast<AffineDimExpr>(inMap.getResult(lead));
    if (!dim)
      break;
    leadDims.push_back(dim.getPosition());
  }
  if (lead == 0 || lead == n)
    return failure();
  for (unsigned d = lead; d < n; ++d) {
    std::optional<LinearForm> form = linearForm(inMap.getResult(d));
    if (!form || form->constant != ranges[d] - 1 ||
        form->coefficients.size() != 1 || !form->coefficients.count(d) ||
        form->coefficients.lookup(d) != -1)
      return failure();
  }
  for (unsigned d : leadDims)
    if (d >= lead)
      return failure();
  // The trailing dimensions are read whole (collapsed into one row), and a
  // row is one vector of at most kVectorElements.
  auto inType = cast<RankedTensorType>(input->get().getType());
  int64_t rowLength = 1;
  for (unsigned d = lead; d < n; ++d) {
    if (inType.getDimSize(d) != ranges[d])
      return failure();
    rowLength *= ranges[d];
  }
  if (rowLength > kVectorElements)
    return failure();

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < lead; ++d)
    groups.push_back({static_cast<int64_t>(d)});
  groups.push_back({});
  for (unsigned d = lead; d < n; ++d)
    groups.back().push_back(d);
  int64_t chunk = rowLength;
  Value in =
      tensor::CollapseShapeOp::create(rewriter, loc, input->get(), groups);
  Value init = tensor::CollapseShapeOp::create(
      rewriter, loc, op.getDpsInitOperand(0)->get(), groups);
  auto initType = cast<RankedTensorType>(init.getType());
  auto vectorType = VectorType::get({chunk}, initType.getElementType());
  SmallVector<int64_t> backwards;
  for (int64_t i = chunk - 1; i >= 0; --i)
    backwards.push_back(i);
  auto idx = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<bool> inBounds{true};

  // Rows [i0, loops 1..lead-1] of `dest` (the whole output, or the slice
  // of one i0 in a forall task: `destOuter` is then 0).
  auto emitRows = [&](OpBuilder &b, Value i0, Value destOuter,
                      Value dest) -> Value {
    SmallVector<Value> ivs{i0};
    std::function<Value(OpBuilder &, unsigned, Value)> nest =
        [&](OpBuilder &b, unsigned d, Value acc) -> Value {
      if (d == lead) {
        SmallVector<Value> readAt;
        for (unsigned k = 0; k < lead; ++k)
          readAt.push_back(ivs[leadDims[k]]);
        readAt.push_back(idx(b, 0));
        Value zero = arith::ConstantOp::create(
            b, loc, b.getZeroAttr(initType.getElementType()));
        Value row = vector::TransferReadOp::create(b, loc, vectorType, in,
                                                   readAt, zero, inBounds);
        Value reversed = vector::ShuffleOp::create(b, loc, row, row, backwards);
        SmallVector<Value> writeAt{destOuter};
        writeAt.append(ivs.begin() + 1, ivs.end());
        writeAt.push_back(idx(b, 0));
        return vector::TransferWriteOp::create(b, loc, reversed, acc, writeAt,
                                               inBounds)
            .getResult();
      }
      auto loop = scf::ForOp::create(
          b, loc, idx(b, 0), idx(b, ranges[d]), idx(b, 1), ValueRange{acc},
          [&](OpBuilder &b, Location loc, Value iv, ValueRange args) {
            ivs.push_back(iv);
            Value next = nest(b, d + 1, args[0]);
            ivs.pop_back();
            scf::YieldOp::create(b, loc, next);
          });
      return loop.getResult(0);
    };
    return nest(b, 1, dest);
  };

  int64_t work = 1;
  for (int64_t r : ranges)
    work *= r;
  Value result;
  if (work >= minParallel && ranges[0] > 1) {
    SmallVector<int64_t> sliceShape(initType.getShape());
    sliceShape[0] = 1;
    auto sliceType =
        RankedTensorType::get(sliceShape, initType.getElementType());
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(ranges[0])},
        ValueRange{init}, std::nullopt,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value i0 = args[0], dest = args[1];
          SmallVector<OpFoldResult> offsets(initType.getRank(),
                                            b.getIndexAttr(0));
          offsets[0] = i0;
          SmallVector<OpFoldResult> sizes,
              strides(initType.getRank(), b.getIndexAttr(1));
          for (int64_t s : sliceShape)
            sizes.push_back(b.getIndexAttr(s));
          Value slice = tensor::ExtractSliceOp::create(b, loc, sliceType, dest,
                                                       offsets, sizes, strides);
          Value rows = emitRows(b, i0, idx(b, 0), slice);
          auto inParallel = scf::InParallelOp::create(b, loc);
          b.setInsertionPointToStart(inParallel.getBody());
          tensor::ParallelInsertSliceOp::create(b, loc, rows, dest, offsets,
                                                sizes, strides);
        });
    result = forall.getResult(0);
  } else {
    auto loop = scf::ForOp::create(
        rewriter, loc, idx(rewriter, 0), idx(rewriter, ranges[0]),
        idx(rewriter, 1), ValueRange{init},
        [&](OpBuilder &b, Location loc, Value i0, ValueRange args) {
          scf::YieldOp::create(b, loc, emitRows(b, i0, i0, args[0]));
        });
    result = loop.getResult(0);
  }
  rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
      op, op.getResultTypes().front(), result, groups);
  return success();
}

} // namespace mlir::bm::vectorize_linalg
