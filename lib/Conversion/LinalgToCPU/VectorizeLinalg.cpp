//===- VectorizeLinalg.cpp - Fuse, tile and vectorize FP32 linalg ops -----===//
//
// bm-vectorize-linalg: the linalg ops of a training step that are not bm
// ops (elementwise, reductions, pooling and their backward, batch-norm,
// transposes, fills, the SGD update, im2col copies) would otherwise become
// scalar loops (convert-linalg-to-loops). Here, on tensors:
//
// 1. producer/consumer fusion of elementwise generics (a producer with one
//    user is computed inside its consumer);
// 2. loop dimensions that are contiguous in every operand are collapsed
//    (an elementwise op on NxCxHxW becomes one loop);
// 3. each op is tiled: an scf.forall over its outer parallel dimensions when
//    it is large (tasks on every core with bm-lower-to-cpu{parallel=true}),
//    scf.for loops over the rest, and a small static tile along the
//    dimensions that are contiguous in memory;
// 4. each tile is vectorized (linalg::vectorize). Window accesses of
//    pooling and im2col (`oh * s + kh`) read through a strided slice once
//    the window loops are tiled to one.
//
// The pass runs before convert-bm-to-linalg, so every linalg op it sees is
// float32 (or index/integer) work of the step, or a copy of codes that
// bm-conv-to-matmul made (its im2col), never the exact integer arithmetic
// of a bm op. Floating-point reductions are reassociated within
// a tile (as any vectorized reduction is); elementwise results are exact.
//
// This file is the pass and its tiling; float32 matmuls, convolutions and
// batch matmuls are in FloatContractions.cpp, flipped filters copied as
// reversed rows in ReversedRows.cpp (VectorizeLinalg.h).
//
//===----------------------------------------------------------------------===//

#include "VectorizeLinalg.h"

#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/Utils/ConvTaps.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/AffineExprVisitor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#include "llvm/ADT/SmallBitVector.h"

#include <numeric>

namespace mlir::bm {
#define GEN_PASS_DEF_BMVECTORIZELINALG
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::vectorize_linalg;

namespace {

/// Side of the square tile of a transpose-like op (one operand contiguous
/// along another loop than the rest).
constexpr int64_t kTransposeSide = 16;
/// Forall iterations beyond which further loops are not distributed.
constexpr int64_t kMaxTasks = 256;
/// Iterations that an op of the body which becomes a libm call or a long
/// instruction sequence adds to each iteration (see iterationCost).
constexpr int64_t kSlowOpCost = 8;

//===----------------------------------------------------------------------===//
// Choosing the tiles
//===----------------------------------------------------------------------===//

} // namespace

int64_t vectorize_linalg::chooseVectorTile(int64_t extent, int64_t limit) {
  if (extent <= limit)
    return extent;
  for (int64_t d = limit - limit % 8; d >= 8; d -= 8)
    if (extent % d == 0)
      return d;
  for (int64_t d = limit; d > 1; --d)
    if (extent % d == 0)
      return d;
  return 1;
}

namespace {

/// The loop dimension along which the last dimension of an operand with
/// indexing `map` is walked: the dim of a plain `dN` result, else the dim of
/// largest extent in the result's expression (`oh * 2 + kh` -> oh).
std::optional<unsigned> contiguousLoop(AffineMap map,
                                       ArrayRef<int64_t> ranges) {
  for (AffineExpr result : llvm::reverse(map.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(result))
      return dim.getPosition();
    std::optional<unsigned> best;
    result.walk([&](AffineExpr e) {
      if (auto dim = dyn_cast<AffineDimExpr>(e))
        if (!best || ranges[dim.getPosition()] > ranges[*best])
          best = dim.getPosition();
    });
    if (best)
      return best;
    // A constant result (a unit dimension): look one dimension further out.
  }
  return std::nullopt;
}

std::optional<llvm::SmallBitVector> reversedLoops(linalg::LinalgOp op);

struct TilePlan {
  /// Per loop: the static tile size of the vectorized op.
  SmallVector<int64_t> vector;
  /// Per loop: the tile size of the scf.forall (0: not distributed).
  SmallVector<int64_t> forall;
};

int64_t numElements(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() ? type.getNumElements() : 1;
}

/// Iterations that one iteration of `op` counts as when deciding whether
/// to distribute it: 1, plus kSlowOpCost per op of its body that becomes a
/// libm call or a long instruction sequence. A loop of data movement or a
/// few flops per element is bound by memory: split over the cores it
/// mostly moves cache lines between them (the SGD update of a 256 x 784
/// weight, an im2col copy of codes); one that calls erff or expf per
/// element is bound by the calls.
int64_t iterationCost(linalg::LinalgOp op) {
  int64_t cost = 1;
  for (Operation &inner : op.getBlock()->without_terminator())
    if (isa<math::ErfOp, math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp,
            math::Log1pOp, math::Log2Op, math::TanhOp, math::PowFOp,
            math::SqrtOp, math::RsqrtOp, arith::DivFOp>(inner))
      cost += kSlowOpCost;
  return cost;
}

/// Tiles of `op`, or nullopt if it is left alone (dynamic shapes).
std::optional<TilePlan> planTiles(linalg::LinalgOp op, int64_t minParallel) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  std::optional<llvm::SmallBitVector> reversed = reversedLoops(op);
  if (llvm::any_of(ranges, ShapedType::isDynamic) ||
      llvm::is_contained(ranges, 0) || !reversed)
    return std::nullopt;
  unsigned loops = ranges.size();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  TilePlan plan;
  plan.vector.assign(loops, 1);
  plan.forall.assign(loops, 0);
  int64_t work = iterationCost(op);
  for (int64_t r : ranges)
    work *= r;
  if (loops == 0)
    return plan;

  // The operand with the most elements decides which loop is contiguous
  // (outputs first among equals: their writes cost more than reads).
  OpOperand *largest = nullptr;
  for (OpOperand &init : op.getDpsInitsMutable())
    if (!largest || numElements(init.get()) > numElements(largest->get()))
      largest = &init;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!largest || numElements(input->get()) > numElements(largest->get()))
      largest = input;
  std::optional<unsigned> primary;
  if (largest)
    primary = contiguousLoop(op.getMatchingIndexingMap(largest), ranges);
  if (!primary) {
    // Only scalars (0-d tensors): vectorized whole.
    plan.vector.assign(ranges.begin(), ranges.end());
    return plan;
  }

  // A large operand contiguous along another loop (a transpose): square
  // tiles over both loops.
  std::optional<unsigned> secondary;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<RankedTensorType>(operand.get().getType()) ||
        4 * numElements(operand.get()) < numElements(largest->get()))
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (map.getNumResults() == 0)
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (last && last.getPosition() != *primary &&
        ranges[last.getPosition()] > 1) {
      secondary = last.getPosition();
      break;
    }
  }
  if (secondary) {
    plan.vector[*primary] = chooseVectorTile(ranges[*primary], kTransposeSide);
    plan.vector[*secondary] =
        chooseVectorTile(ranges[*secondary], kTransposeSide);
  } else {
    plan.vector[*primary] = chooseVectorTile(ranges[*primary], kVectorElements);
    // Fill the rest of the budget along the next loop out of the largest
    // operand (a 64x10 softmax row block becomes 4x10 tiles).
    int64_t left = kVectorElements / plan.vector[*primary];
    AffineMap map = op.getMatchingIndexingMap(largest);
    if (left >= 2 && plan.vector[*primary] == ranges[*primary] &&
        map.getNumResults() >= 2)
      if (auto next = dyn_cast<AffineDimExpr>(
              map.getResults()[map.getNumResults() - 2]))
        if (next.getPosition() != *primary)
          plan.vector[next.getPosition()] =
              chooseVectorTile(ranges[next.getPosition()], left);
  }

  // The tiler's slices assume maps that grow with each loop: a loop read
  // backwards (a flip's `2 - kh`, a gradient window's `h + 1 - kh`) is
  // tiled to single iterations.
  for (unsigned d : reversed->set_bits())
    plan.vector[d] = 1;

  // Distribution over the cores: the parallel loops that are not
  // vectorized, one index per forall iteration, outermost first until there
  // are kMaxTasks iterations (the loops further in run in order inside each:
  // a forall over every loop of a flip costs a division per element once
  // collapsed), when there are enough of them; else chunks of the outermost
  // parallel vectorized loop.
  if (work < minParallel)
    return plan;
  int64_t outer = 1;
  for (unsigned d = 0; d < loops; ++d)
    if (iterators[d] == utils::IteratorType::parallel && plan.vector[d] == 1 &&
        ranges[d] > 1) {
      if (outer < kMaxTasks)
        plan.forall[d] = 1;
      outer *= ranges[d];
    }
  if (outer >= 4)
    return plan;
  plan.forall.assign(loops, 0);
  for (unsigned d = 0; d < loops; ++d) {
    if (iterators[d] != utils::IteratorType::parallel || ranges[d] == 1)
      continue;
    int64_t tiles = ranges[d] / plan.vector[d];
    for (int64_t chunks = kMinChunks; chunks <= std::min(tiles, kMaxChunks);
         ++chunks)
      if (tiles % chunks == 0) {
        plan.forall[d] = ranges[d] / chunks;
        return plan;
      }
  }
  return plan;
}

//===----------------------------------------------------------------------===//
// Window accesses
//===----------------------------------------------------------------------===//

} // namespace

std::optional<LinearForm> vectorize_linalg::linearForm(AffineExpr expr) {
  LinearForm form;
  bool ok = true;
  std::function<void(AffineExpr, int64_t)> visit = [&](AffineExpr e,
                                                       int64_t scale) {
    if (!ok)
      return;
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      form.constant += scale * c.getValue();
      return;
    }
    if (auto d = dyn_cast<AffineDimExpr>(e)) {
      form.coefficients[d.getPosition()] += scale;
      return;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    if (bin && bin.getKind() == AffineExprKind::Add) {
      visit(bin.getLHS(), scale);
      visit(bin.getRHS(), scale);
      return;
    }
    if (bin && bin.getKind() == AffineExprKind::Mul) {
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
        return visit(bin.getLHS(), scale * c.getValue());
      if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
        return visit(bin.getRHS(), scale * c.getValue());
    }
    ok = false;
  };
  visit(expr, 1);
  if (!ok)
    return std::nullopt;
  return form;
}

namespace {

/// The loops that some map reads backwards (a negative coefficient), or
/// nullopt if a map is not linear in the loops.
std::optional<llvm::SmallBitVector> reversedLoops(linalg::LinalgOp op) {
  llvm::SmallBitVector reversed(op.getNumLoops());
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr result : map.getResults()) {
      std::optional<LinearForm> form = linearForm(result);
      if (!form)
        return std::nullopt;
      for (auto [dim, coefficient] : form->coefficients)
        if (coefficient < 0)
          reversed.set(dim);
    }
  return reversed;
}

/// `expr` as `stride * d + offset` (stride >= 1, offset >= 0), or `offset`
/// alone (dim == -1); nullopt for anything else.
struct StridedAccess {
  int64_t dim = -1;
  int64_t stride = 0;
  int64_t offset = 0;
};

std::optional<StridedAccess> decompose(AffineExpr expr) {
  std::optional<LinearForm> form = linearForm(expr);
  if (!form || form->constant < 0)
    return std::nullopt;
  StridedAccess access;
  access.offset = form->constant;
  for (auto [dim, coefficient] : form->coefficients) {
    if (coefficient == 0)
      continue;
    if (coefficient < 0 || access.dim != -1)
      return std::nullopt;
    access.dim = dim;
    access.stride = coefficient;
  }
  return access;
}

/// A tiled generic whose maps are not projected permutations (pooling's
/// `oh * 2 + kh`, a gradient's `h + 1 - kh`) but whose window loops have one
/// iteration: the same generic without its unit loops, each operand read
/// through a (strided, rank-reducing) slice, so that every map is a
/// projected permutation and the vectorizer accepts it. Returns the
/// replacement values, or failure (nothing changed).
FailureOr<SmallVector<Value>> sliceWindowAccesses(RewriterBase &rewriter,
                                                  linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics())
    return failure();
  if (llvm::all_of(op.getIndexingMapsArray(),
                   [](AffineMap map) { return map.isProjectedPermutation(); }))
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return failure();
  unsigned loops = ranges.size();
  MLIRContext *ctx = op.getContext();

  // Loops kept and their new positions; unit loops are 0.
  SmallVector<int64_t> newPos(loops, -1);
  SmallVector<int64_t> keptRanges;
  SmallVector<utils::IteratorType> iterators;
  SmallVector<AffineExpr> substitution;
  unsigned kept = 0;
  for (unsigned d = 0; d < loops; ++d) {
    if (ranges[d] == 1) {
      substitution.push_back(getAffineConstantExpr(0, ctx));
      continue;
    }
    newPos[d] = kept;
    keptRanges.push_back(ranges[d]);
    substitution.push_back(getAffineDimExpr(kept, ctx));
    iterators.push_back(op.getIteratorTypesArray()[d]);
    ++kept;
  }

  struct OperandSlice {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> shape;
    AffineMap map;
    bool identity = true;
  };
  SmallVector<OperandSlice, 4> slices;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    OperandSlice slice;
    AffineMap substituted =
        map.replaceDimsAndSymbols(substitution, {}, kept, 0);
    if (!type) {
      if (substituted.getNumResults() != 0)
        return failure();
      slice.map = substituted;
      slices.push_back(slice);
      continue;
    }
    SmallVector<AffineExpr> results;
    llvm::SmallBitVector used(kept);
    for (auto [i, result] : llvm::enumerate(substituted.getResults())) {
      std::optional<StridedAccess> access =
          decompose(simplifyAffineExpr(result, kept, 0));
      if (!access)
        return failure();
      int64_t size = access->dim == -1 ? 1 : keptRanges[access->dim];
      int64_t stride = access->dim == -1 ? 1 : access->stride;
      if (access->offset + (size - 1) * stride >= type.getDimSize(i))
        return failure();
      slice.offsets.push_back(rewriter.getIndexAttr(access->offset));
      slice.sizes.push_back(rewriter.getIndexAttr(size));
      slice.strides.push_back(rewriter.getIndexAttr(stride));
      if (access->offset != 0 || stride != 1 || size != type.getDimSize(i))
        slice.identity = false;
      if (access->dim == -1) {
        // Dropped by the rank-reducing slice.
        slice.identity = false;
        continue;
      }
      if (used.test(access->dim))
        return failure();
      used.set(access->dim);
      slice.shape.push_back(size);
      results.push_back(getAffineDimExpr(access->dim, ctx));
    }
    slice.map = AffineMap::get(kept, 0, results, ctx);
    if (!slice.map.isProjectedPermutation())
      return failure();
    slices.push_back(slice);
  }

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto sliced = [&](Value source, OperandSlice &slice) -> Value {
    if (slice.identity)
      return source;
    auto type = cast<RankedTensorType>(source.getType());
    auto resultType = RankedTensorType::get(slice.shape, type.getElementType());
    return tensor::ExtractSliceOp::create(rewriter, loc, resultType, source,
                                          slice.offsets, slice.sizes,
                                          slice.strides);
  };
  SmallVector<Value> inputs, inits;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    OperandSlice &slice = slices[input->getOperandNumber()];
    inputs.push_back(isa<RankedTensorType>(input->get().getType())
                         ? sliced(input->get(), slice)
                         : input->get());
    maps.push_back(slice.map);
  }
  for (OpOperand &init : op.getDpsInitsMutable()) {
    OperandSlice &slice = slices[init.getOperandNumber()];
    inits.push_back(sliced(init.get(), slice));
    maps.push_back(slice.map);
  }
  auto generic =
      linalg::GenericOp::create(rewriter, loc, TypeRange(ValueRange(inits)),
                                inputs, inits, maps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), generic.getRegion(),
                              generic.getRegion().begin());
  // linalg.index of a unit loop is 0; the others are renumbered.
  SmallVector<linalg::IndexOp> indices(
      generic.getRegion().getOps<linalg::IndexOp>());
  for (linalg::IndexOp index : indices) {
    rewriter.setInsertionPoint(index);
    int64_t pos = newPos[index.getDim()];
    if (pos < 0)
      rewriter.replaceOp(index,
                         arith::ConstantIndexOp::create(rewriter, loc, 0));
    else
      rewriter.replaceOp(index, linalg::IndexOp::create(rewriter, loc, pos));
  }
  rewriter.setInsertionPointAfter(generic);
  SmallVector<Value> results;
  for (auto [i, init] : llvm::enumerate(op.getDpsInitsMutable())) {
    OperandSlice &slice = slices[init.getOperandNumber()];
    Value result = generic.getResult(i);
    if (!slice.identity)
      result = tensor::InsertSliceOp::create(rewriter, loc, result, init.get(),
                                             slice.offsets, slice.sizes,
                                             slice.strides);
    results.push_back(result);
  }
  return results;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Whether `v` is a slice of a larger tensor, possibly reshaped: a strided
/// view once bufferized.
bool isSliceView(Value v) {
  while (true) {
    if (auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>())
      v = collapse.getSrc();
    else if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>())
      v = expand.getSrc();
    else
      return static_cast<bool>(v.getDefiningOp<tensor::ExtractSliceOp>());
  }
}

/// Collapses runs of consecutive loops that are contiguous in every operand
/// (and of one iterator type). Returns the op to tile (the collapsed one, or
/// `op` unchanged).
linalg::LinalgOp collapseContiguousLoops(RewriterBase &rewriter,
                                         linalg::LinalgOp op) {
  if (!isa<linalg::GenericOp, linalg::CopyOp>(op.getOperation()) ||
      !op.hasPureTensorSemantics() || op.hasDynamicShape() ||
      // A slice of a larger tensor is a strided view once bufferized; its
      // dimensions do not collapse in memory (that would be a copy).
      llvm::any_of(op->getOperands(), isSliceView) ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return op;
  unsigned loops = op.getNumLoops();
  // Every operand spans its loops whole (a collapsed loop walks the
  // collapsed dimensions of each operand end to end).
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type)
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (auto [i, expr] : llvm::enumerate(map.getResults()))
      if (auto dim = dyn_cast<AffineDimExpr>(expr);
          dim && type.getDimSize(i) != ranges[dim.getPosition()])
        return op;
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < loops; ++d) {
    if (!groups.empty() && groups.back().back() == (int64_t)d - 1 &&
        iterators[d] == iterators[d - 1]) {
      ReassociationIndices candidate = groups.back();
      candidate.push_back(d);
      if (linalg::areDimSequencesPreserved(maps, {candidate})) {
        groups.back() = candidate;
        continue;
      }
    }
    groups.push_back({static_cast<int64_t>(d)});
  }
  SmallVector<ReassociationIndices> folded;
  for (ReassociationIndices &group : groups)
    if (group.size() > 1)
      folded.push_back(group);
  if (folded.empty())
    return op;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, folded, rewriter);
  if (failed(collapsed))
    return op;
  rewriter.replaceOp(op, collapsed->results);
  return collapsed->collapsedOp;
}

/// Vectorizes one tile; windowed generics first get sliced accesses.
void vectorizeTile(RewriterBase &rewriter, Operation *tile) {
  if (auto generic = dyn_cast<linalg::GenericOp>(tile)) {
    FailureOr<SmallVector<Value>> sliced =
        sliceWindowAccesses(rewriter, generic);
    if (succeeded(sliced)) {
      Operation *newOp = (*sliced).front().getDefiningOp();
      if (auto insert = dyn_cast_or_null<tensor::InsertSliceOp>(newOp))
        newOp = insert.getSource().getDefiningOp();
      rewriter.replaceOp(tile, *sliced);
      tile = newOp;
    }
  }
  rewriter.setInsertionPoint(tile);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, tile, /*inputVectorSizes=*/{},
                        /*inputScalableVecDims=*/{},
                        /*vectorizeNDExtract=*/true);
  if (succeeded(vectorized))
    rewriter.replaceOp(tile, vectorized->replacements);
}

} // namespace

FailureOr<Operation *> vectorize_linalg::tileOp(RewriterBase &rewriter,
                                                Operation *op,
                                                ArrayRef<int64_t> sizes,
                                                bool forall) {
  scf::SCFTilingOptions options;
  if (forall)
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op), options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  return tiled->tiledOps.front();
}

namespace {

/// Tiles `op` by `plan` and vectorizes each tile.
void tileAndVectorize(RewriterBase &rewriter, linalg::LinalgOp op,
                      const TilePlan &plan) {
  Operation *current = op.getOperation();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(plan.forall, [](int64_t t) { return t != 0; })) {
    FailureOr<Operation *> tiled =
        tileOp(rewriter, current, plan.forall, /*forall=*/true);
    if (succeeded(tiled)) {
      current = *tiled;
      for (auto [d, t] : llvm::enumerate(plan.forall))
        if (t)
          ranges[d] = t;
    }
  }
  SmallVector<int64_t> sizes(ranges.size(), 0);
  bool any = false;
  for (unsigned d = 0; d < ranges.size(); ++d)
    if (plan.vector[d] < ranges[d]) {
      sizes[d] = plan.vector[d];
      any = true;
    }
  if (any) {
    FailureOr<Operation *> tiled =
        tileOp(rewriter, current, sizes, /*forall=*/false);
    if (failed(tiled))
      return;
    current = *tiled;
  }
  vectorizeTile(rewriter, current);
}

/// `insert_slice %src into %dest[...]` (static, not rank-reducing, integer
/// or float elements) as `insert_slice (linalg.copy %src -> extract_slice
/// %dest[...]) into %dest[...]`.
void insertAsCopy(RewriterBase &rewriter, tensor::InsertSliceOp op) {
  RankedTensorType sourceType = op.getSourceType();
  if (!sourceType.hasStaticShape() || !op.getDestType().hasStaticShape() ||
      !sourceType.getElementType().isIntOrFloat() ||
      op.getSourceType().getRank() != op.getDestType().getRank() ||
      op.getSource().getDefiningOp<linalg::CopyOp>())
    return;
  rewriter.setInsertionPoint(op);
  Value slice = tensor::ExtractSliceOp::create(
      rewriter, op.getLoc(), sourceType, op.getDest(), op.getMixedOffsets(),
      op.getMixedSizes(), op.getMixedStrides());
  auto copy =
      linalg::CopyOp::create(rewriter, op.getLoc(), op.getSource(), slice);
  rewriter.modifyOpInPlace(
      op, [&] { op.getSourceMutable().assign(copy.getResult(0)); });
}

/// A 1-D read of a strided slice (the window reads of pooling with stride
/// s, `oh * 2 + kh`) as a read of the contiguous elements it spans and a
/// shuffle of every s-th: the read of a strided slice lowers to one masked
/// broadcast per element. Exact: the same elements, moved.
struct StridedSliceReadAsShuffle
    : public OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Longest contiguous read made (elements).
  static constexpr int64_t kMaxSpan = 128;

  LogicalResult matchAndRewrite(vector::TransferReadOp read,
                                PatternRewriter &rewriter) const override {
    VectorType vectorType = read.getVectorType();
    auto slice = read.getBase().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || vectorType.getRank() != 1 || read.getMask() ||
        !read.getPermutationMap().isMinorIdentity() ||
        read.getTransferRank() != 1 || !read.getInBoundsValues()[0] ||
        slice.getType().getRank() != 1 ||
        !llvm::all_of(read.getIndices(), [](Value v) {
          return isZeroInteger(getAsOpFoldResult(v));
        }))
      return failure();
    // Exactly one slice dim of more than one element: the vector's.
    int64_t n = vectorType.getDimSize(0);
    std::optional<unsigned> dim;
    for (auto [d, size] : llvm::enumerate(slice.getMixedSizes())) {
      std::optional<int64_t> value = getConstantIntValue(size);
      if (!value)
        return failure();
      if (*value == 1)
        continue;
      if (dim || *value != n)
        return failure();
      dim = d;
    }
    if (!dim)
      return failure();
    std::optional<int64_t> stride =
        getConstantIntValue(slice.getMixedStrides()[*dim]);
    int64_t span = stride ? (n - 1) * *stride + 1 : 0;
    if (!stride || *stride <= 1 || span > kMaxSpan)
      return failure();
    // The span lies inside the source: its first and last elements are the
    // slice's.
    Location loc = read.getLoc();
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    sizes[*dim] = rewriter.getIndexAttr(span);
    SmallVector<OpFoldResult> strides(sizes.size(), rewriter.getIndexAttr(1));
    auto spanType =
        RankedTensorType::get({span}, slice.getType().getElementType());
    Value contiguous = tensor::ExtractSliceOp::create(
        rewriter, loc, spanType, slice.getSource(), slice.getMixedOffsets(),
        sizes, strides);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value wide = vector::TransferReadOp::create(
        rewriter, loc, VectorType::get({span}, vectorType.getElementType()),
        contiguous, ValueRange{zero}, read.getPadding(), ArrayRef<bool>{true});
    SmallVector<int64_t> lanes;
    for (int64_t i = 0; i < n; ++i)
      lanes.push_back(i * *stride);
    rewriter.replaceOpWithNewOp<vector::ShuffleOp>(read, wide, wide, lanes);
    return success();
  }
};

/// Whether bm-vectorize-linalg leaves `op` to another lowering.
bool isLeftAlone(Operation *op, bool tileMatmuls) {
  if (isPlainF32Matmul(op))
    return !tileMatmuls;
  if (isa<linalg::MatmulOp, linalg::BatchMatmulOp,
          linalg::ConvolutionOpInterface>(op))
    return true;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return !linalgOp.hasPureTensorSemantics() ||
           isa<linalg::ConvolutionOpInterface>(op);
  return true;
}

struct BMVectorizeLinalgPass
    : public mlir::bm::impl::BMVectorizeLinalgBase<BMVectorizeLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    if (minParallelElements < 1) {
      func.emitError() << "bm-vectorize-linalg: min-parallel-elements must "
                          "be at least 1, got "
                       << static_cast<int64_t>(minParallelElements);
      return signalPassFailure();
    }

    // Pads become a fill and an insertion; insertions (of pads, and the
    // strided ones of pooling's backward) become a copy into the slice of
    // the destination, which bufferizes in place and is vectorized below
    // (the bufferized insertion would be a memref.copy into a strided view:
    // the runtime's element-by-element copy).
    IRRewriter rewriter(ctx);
    if (im2colConvs) {
      SmallVector<linalg::Conv2DNchwFchwOp> convs;
      func.walk([&](linalg::Conv2DNchwFchwOp op) { convs.push_back(op); });
      for (linalg::Conv2DNchwFchwOp conv : convs)
        (void)convAsIm2colMatmul(rewriter, conv);
    }
    if (tileMatmuls) {
      SmallVector<linalg::BatchMatmulOp> batched;
      func.walk([&](linalg::BatchMatmulOp op) { batched.push_back(op); });
      for (linalg::BatchMatmulOp op : batched)
        (void)batchMatmulAsMatmuls(rewriter, op);
    }
    {
      RewritePatternSet patterns(ctx);
      linalg::populateDecomposePadPatterns(patterns);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // Named elementwise ops (fill, copy, transpose, broadcast, ...) as
    // generics: they fuse and collapse like the others.
    SmallVector<linalg::LinalgOp> named;
    func.walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp>(op) && !isLeftAlone(op, tileMatmuls) &&
          !isa<linalg::ContractionOpInterface>(op.getOperation()))
        named.push_back(op);
    });
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }

    if (fuseElementwise) {
      RewritePatternSet patterns(ctx);
      linalg::populateElementwiseOpsFusionPatterns(
          patterns, [](OpOperand *fused) {
            Operation *producer = fused->get().getDefiningOp();
            return producer && producer->hasOneUse();
          });
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // Unit dimensions of the generics go (their operands are reshaped
    // around them): a loop of extent one would otherwise hide that the
    // loops beside it are contiguous, and a copy such as [M, N, 1] ->
    // [M, 1, N] would be tiled as a transpose, element by element.
    {
      RewritePatternSet patterns(ctx);
      linalg::ControlDropUnitDims control;
      control.controlFn = [&](Operation *op) -> SmallVector<unsigned> {
        auto generic = dyn_cast<linalg::GenericOp>(op);
        // Window accesses (`oh * s + kh`) keep their loops: with a unit
        // loop gone, such an operand would be read over less than its
        // extent, which the loop collapsing below does not expect.
        if (!generic || isLeftAlone(op, tileMatmuls) ||
            generic.hasDynamicShape() ||
            !llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap map) {
              return map.isProjectedPermutation();
            }))
          return {};
        return llvm::to_vector(llvm::seq<unsigned>(generic.getNumLoops()));
      };
      linalg::populateFoldUnitExtentDimsPatterns(patterns, control);
      if (failed(applyPatternsGreedily(func, std::move(patterns))))
        return signalPassFailure();
    }

    // (After fusion and generalization: the copies must stay copies.)
    SmallVector<tensor::InsertSliceOp> inserts;
    func.walk([&](tensor::InsertSliceOp op) { inserts.push_back(op); });
    for (tensor::InsertSliceOp op : inserts)
      insertAsCopy(rewriter, op);

    SmallVector<linalg::LinalgOp> targets;
    func.walk([&](linalg::LinalgOp op) {
      if (!isLeftAlone(op, tileMatmuls))
        targets.push_back(op);
    });
    for (linalg::LinalgOp op : targets) {
      if (isPlainF32Matmul(op)) {
        tileMatmul(rewriter, op, minParallelElements);
        continue;
      }
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (succeeded(
                flipAsReversedRows(rewriter, generic, minParallelElements)))
          continue;
      linalg::LinalgOp collapsed = collapseContiguousLoops(rewriter, op);
      std::optional<TilePlan> plan = planTiles(collapsed, minParallelElements);
      if (!plan)
        continue;
      tileAndVectorize(rewriter, collapsed, *plan);
    }

    // Reads and writes of slices become transfers of the whole tensor at
    // an offset (while the vectors still have the slices' shapes); then the
    // unit dimensions of the tiles' vectors go away.
    RewritePatternSet folding(ctx);
    folding.add<StridedSliceReadAsShuffle>(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(folding);
    linalg::populateLinalgTilingCanonicalizationPatterns(folding);
    if (failed(applyPatternsGreedily(func, std::move(folding))))
      return signalPassFailure();
    RewritePatternSet cleanup(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(cleanup);
    vector::populateVectorTransferDropUnitDimsPatterns(cleanup);
    vector::populateDropUnitDimWithShapeCastPatterns(cleanup);
    vector::populateCastAwayVectorLeadingOneDimPatterns(cleanup);
    vector::populateSinkVectorOpsPatterns(cleanup);
    vector::TransferReadOp::getCanonicalizationPatterns(cleanup, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(cleanup, ctx);
    if (failed(applyPatternsGreedily(func, std::move(cleanup))))
      return signalPassFailure();

    // The accumulator tile of a matmul lives in registers across its k loop
    // (innermost loops first), and each step is an outer product.
    SmallVector<scf::ForOp> loops;
    func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      (void)hoistLoopInvariantSubsets(
          rewriter, cast<LoopLikeOpInterface>(loop.getOperation()));
    RewritePatternSet contractions(ctx);
    vector::populateVectorContractLoweringPatterns(
        contractions, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorOuterProductLoweringPatterns(contractions);
    if (failed(applyPatternsGreedily(func, std::move(contractions))))
      return signalPassFailure();
  }
};
} // namespace
