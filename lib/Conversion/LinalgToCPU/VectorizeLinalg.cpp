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
//===----------------------------------------------------------------------===//

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

namespace {

/// Elements of one vector tile: four 512-bit registers of f32.
constexpr int64_t kVectorElements = 64;
/// Side of the square tile of a transpose-like op (one operand contiguous
/// along another loop than the rest).
constexpr int64_t kTransposeSide = 16;
/// Forall tasks to aim for when only a vectorized dimension can be split.
constexpr int64_t kMinChunks = 8;
constexpr int64_t kMaxChunks = 64;
/// Forall iterations beyond which further loops are not distributed.
constexpr int64_t kMaxTasks = 256;
/// Iterations that an op of the body which becomes a libm call or a long
/// instruction sequence adds to each iteration (see iterationCost).
constexpr int64_t kSlowOpCost = 8;

//===----------------------------------------------------------------------===//
// Choosing the tiles
//===----------------------------------------------------------------------===//

/// The tile of a loop of `extent` iterations vectorized with at most `limit`
/// lanes: the whole loop if it fits, else the largest divisor <= limit that
/// is a multiple of 8 (whole registers), else the largest divisor <= limit.
/// Always divides `extent`, so every tile has a static shape.
int64_t chooseVectorTile(int64_t extent, int64_t limit) {
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
    if (isa<math::ErfOp, math::ExpOp, math::Exp2Op, math::ExpM1Op,
            math::LogOp, math::Log1pOp, math::Log2Op, math::TanhOp,
            math::PowFOp, math::SqrtOp, math::RsqrtOp, arith::DivFOp>(inner))
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

/// An affine expression as `sum(coefficient * dim) + constant`, or nullopt
/// if it is not linear (floordiv, mod, symbols).
struct LinearForm {
  llvm::SmallDenseMap<unsigned, int64_t, 4> coefficients;
  int64_t constant = 0;
};

std::optional<LinearForm> linearForm(AffineExpr expr) {
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

/// Tiles `op` by `sizes` (0: not tiled) into an scf.forall or scf.for
/// nest, replaces it, and returns the tiled op inside; failure leaves `op`.
FailureOr<Operation *> tileOp(RewriterBase &rewriter, Operation *op,
                              ArrayRef<int64_t> sizes, bool forall) {
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

//===----------------------------------------------------------------------===//
// Float32 matmuls
//===----------------------------------------------------------------------===//

/// Register tile of the float32 matmul: kMatmulRows x kMatmulCols
/// accumulators (8 512-bit or 16 256-bit registers), one step of k each.
constexpr int64_t kMatmulRows = 4;
constexpr int64_t kMatmulCols = 32;

/// Whether `op` is a float32 `linalg.matmul` with static shapes and the
/// default (row-major, untransposed) maps: the ones tiled as register tiles.
bool isPlainF32Matmul(Operation *op) {
  auto matmul = dyn_cast<linalg::MatmulOp>(op);
  if (!matmul || matmul.hasUserDefinedMaps() ||
      !matmul.hasPureTensorSemantics())
    return false;
  auto linalgOp = cast<linalg::LinalgOp>(op);
  SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
  return !llvm::any_of(ranges, ShapedType::isDynamic) &&
         !llvm::is_contained(ranges, 0) &&
         llvm::all_of(op->getOperandTypes(), [](Type t) {
           return cast<ShapedType>(t).getElementType().isF32();
         });
}

/// C[m, n] += A[m, k] * B[k, n] as register tiles: an scf.forall over
/// blocks of rows when the matmul is large, then for each tile of
/// kMatmulRows x kMatmulCols results a loop over k whose body is one
/// outer product (vector.contract of k = 1); the accumulator tile is read
/// before the k loop and written after it (loop-invariant subset hoisting
/// below). Each result is summed in order of k, as the scalar loops do.
void tileMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                int64_t minParallel) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t m = ranges[0], n = ranges[1], k = ranges[2];
  Operation *current = op.getOperation();
  int64_t rows = chooseVectorTile(m, kMatmulRows);
  if (m * n * k >= minParallel) {
    // Blocks of whole row tiles, at least two per core of a 2-core machine
    // and at most kMaxChunks.
    int64_t tiles = m / rows;
    int64_t chunks = 0;
    for (int64_t c = std::min(tiles, kMaxChunks); c >= 2; --c)
      if (tiles % c == 0 && (c <= 16 || tiles / c >= 2)) {
        chunks = c;
        break;
      }
    if (chunks >= 2) {
      FailureOr<Operation *> tiled =
          tileOp(rewriter, current, {m / chunks, 0, 0}, /*forall=*/true);
      if (succeeded(tiled)) {
        current = *tiled;
        m /= chunks;
      }
    }
  }
  SmallVector<int64_t> sizes = {rows, chooseVectorTile(n, kMatmulCols), 1};
  if (k == 1)
    sizes[2] = 0;
  FailureOr<Operation *> tiled =
      tileOp(rewriter, current, sizes, /*forall=*/false);
  if (failed(tiled))
    return;
  current = *tiled;
  rewriter.setInsertionPoint(current);
  FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
      rewriter, current, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
      /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
      /*assumeDynamicDimsMatchVecSizes=*/false,
      /*createNamedContraction=*/true);
  if (succeeded(vectorized))
    rewriter.replaceOp(current, vectorized->replacements);
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

/// Whether every type is a statically shaped, non-empty float32 tensor (the
/// operands the float32 convolution and batch matmul rewrites accept).
bool allStaticF32(TypeRange types) {
  return llvm::all_of(types, [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.hasStaticShape() &&
           tensor.getElementType().isF32() &&
           !llvm::is_contained(tensor.getShape(), 0);
  });
}

/// The im2col of an NCHW `input`: a copy generic into `shape` reading
/// input[n, c, oh * sh + (kh + firstTaps[0]) * dh, ...], then collapsed. With
/// `imagesInside`, `shape` is [C, KH, KW, N, OH, OW] and the result
/// [C*KH*KW, N*OH*OW] (one matmul for all images); else [N, C, KH, KW, OH,
/// OW] and [N, C*KH*KW, OH*OW] (one matmul per image).
Value buildIm2col(RewriterBase &rewriter, Location loc, Value input,
                  ArrayRef<int64_t> shape, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> dilations, ArrayRef<int64_t> firstTaps,
                  bool imagesInside) {
  MLIRContext *ctx = rewriter.getContext();
  AffineExpr d0, d1, d2, d3, d4, d5;
  bindDims(ctx, d0, d1, d2, d3, d4, d5);
  AffineExpr dn = d0, dc = d1, dkh = d2, dkw = d3, doh = d4, dow = d5;
  if (imagesInside) {
    dc = d0;
    dkh = d1;
    dkw = d2;
    dn = d3;
  }
  AffineMap readMap = AffineMap::get(
      6, 0,
      {dn, dc, doh * strides[0] + (dkh + firstTaps[0]) * dilations[0],
       dow * strides[1] + (dkw + firstTaps[1]) * dilations[1]},
      ctx);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(6, ctx);
  Value init =
      tensor::EmptyOp::create(rewriter, loc, shape, rewriter.getF32Type());
  auto im2col = linalg::GenericOp::create(
      rewriter, loc, init.getType(), ValueRange{input}, ValueRange{init},
      ArrayRef<AffineMap>{readMap, identity},
      SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
      [](OpBuilder &b, Location loc, ValueRange args) {
        linalg::YieldOp::create(b, loc, args[0]);
      });
  if (imagesInside)
    return tensor::CollapseShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(
            {shape[0] * shape[1] * shape[2], shape[3] * shape[4] * shape[5]},
            rewriter.getF32Type()),
        im2col.getResult(0),
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
  auto type = RankedTensorType::get(
      {shape[0], shape[1] * shape[2] * shape[3], shape[4] * shape[5]},
      rewriter.getF32Type());
  return tensor::CollapseShapeOp::create(
      rewriter, loc, type, im2col.getResult(0),
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}, {4, 5}});
}

/// The taps [first, last) of each spatial dimension of `conv` that read
/// its input outside a zero tensor.pad for some output, as {firstH,
/// firstW, lastH, lastW}: all of them unless the input is such a pad.
SmallVector<int64_t> liveTapsOfPaddedInput(linalg::Conv2DNchwFchwOp conv) {
  auto fType = cast<RankedTensorType>(conv.getInputs()[1].getType());
  auto outType = cast<RankedTensorType>(conv.getOutputs()[0].getType());
  SmallVector<int64_t> all = {0, 0, fType.getDimSize(2), fType.getDimSize(3)};
  auto pad = conv.getInputs()[0].getDefiningOp<tensor::PadOp>();
  if (!pad || !pad.getSourceType().hasStaticShape() ||
      pad.getStaticLow().size() != 4 ||
      ShapedType::isDynamic(pad.getStaticLow()[2]) ||
      ShapedType::isDynamic(pad.getStaticLow()[3]))
    return all;
  Value padValue = pad.getConstantPaddingValue();
  auto zero = padValue ? padValue.getDefiningOp<arith::ConstantOp>() : nullptr;
  auto zeroAttr = zero ? dyn_cast<FloatAttr>(zero.getValue()) : nullptr;
  if (!zeroAttr || !zeroAttr.getValue().isZero())
    return all;
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  SmallVector<int64_t> live = all;
  for (int i = 0; i < 2; ++i) {
    // Rows of the padded input from `low` on hold the source's data.
    LiveTaps taps = liveTaps(
        outType.getDimSize(2 + i), pad.getSourceType().getDimSize(2 + i),
        all[2 + i], strides[i], pad.getStaticLow()[2 + i], dilations[i]);
    // No tap reads data (an empty image): keep them all.
    if (taps.last == 0)
      return all;
    live[i] = taps.first;
    live[2 + i] = taps.last;
  }
  return live;
}

/// `value` [A, B, P] as [B, A, P] (a linalg.transpose, tiled below).
Value swapOuterDims(RewriterBase &rewriter, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape = {type.getDimSize(1), type.getDimSize(0),
                                type.getDimSize(2)};
  Value init =
      tensor::EmptyOp::create(rewriter, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, value, init,
                                     ArrayRef<int64_t>{1, 0, 2})
      .getResult()[0];
}

/// A float32 `linalg.conv_2d_nchw_fchw` with static shapes as im2col and
/// one plain matmul per image (tiled as register tiles below):
///
///   col[n, c, kh, kw, oh, ow] = in[n, c, oh * sh + kh * dh, ow * sw + kw * dw]
///   out[n] (F x OH*OW) += filter (F x C*KH*KW) * col[n] (C*KH*KW x OH*OW)
///
/// or, when an image has fewer output pixels than the register tile has
/// columns (a late ResNet stage: 1 x 1 or 2 x 2; a weight gradient: KH x KW)
/// or a number that no tile of whole 8-lane vectors divides (14 x 14), one
/// matmul for all images, the init and result transposed to and from
/// [F, N, OH*OW]:
///
///   col[c, kh, kw, n, oh, ow] = in[n, c, ...]
///   out' (F x N*OH*OW) += filter (F x C*KH*KW) * col (C*KH*KW x N*OH*OW)
///
/// The im2col is a copy generic with window reads (tiled and vectorized
/// like pooling's). Each result is summed in the order of (c, kh, kw), as
/// the convolution's own loops do (as fused multiply-adds).
LogicalResult convAsIm2colMatmul(RewriterBase &rewriter,
                                 linalg::Conv2DNchwFchwOp conv) {
  if (!conv.hasPureTensorSemantics())
    return failure();
  if (!allStaticF32(conv->getOperandTypes()))
    return failure();
  auto fType = cast<RankedTensorType>(conv.getInputs()[1].getType());
  auto outType = cast<RankedTensorType>(conv.getOutputs()[0].getType());
  int64_t n = outType.getDimSize(0), f = outType.getDimSize(1);
  int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
  int64_t c = fType.getDimSize(1), kh = fType.getDimSize(2),
          kw = fType.getDimSize(3);
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  Location loc = conv.getLoc();
  rewriter.setInsertionPoint(conv);
  // Taps that read the zero padding for every output (a 3x3 kernel on a
  // padded 1x1 image: all but the centre) are left out: their products are
  // zeros, and the other products are summed in the same order.
  SmallVector<int64_t> firstTaps = liveTapsOfPaddedInput(conv);
  SmallVector<int64_t> lastTaps = {firstTaps[2], firstTaps[3]};
  firstTaps.resize(2);
  Value filterTaps = conv.getInputs()[1];
  if (firstTaps[0] != 0 || firstTaps[1] != 0 || lastTaps[0] != kh ||
      lastTaps[1] != kw) {
    kh = lastTaps[0] - firstTaps[0];
    kw = lastTaps[1] - firstTaps[1];
    auto attr = [&](int64_t v) -> OpFoldResult {
      return rewriter.getIndexAttr(v);
    };
    filterTaps = tensor::ExtractSliceOp::create(
        rewriter, loc, filterTaps,
        ArrayRef<OpFoldResult>{attr(0), attr(0), attr(firstTaps[0]),
                               attr(firstTaps[1])},
        ArrayRef<OpFoldResult>{attr(f), attr(c), attr(kh), attr(kw)},
        ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1), attr(1)});
  }
  int64_t ckk = c * kh * kw, pixels = oh * ow;
  Value filter = tensor::CollapseShapeOp::create(
      rewriter, loc, RankedTensorType::get({f, ckk}, rewriter.getF32Type()),
      filterTaps, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  SmallVector<ReassociationIndices> outGroups = {{0}, {1}, {2, 3}};
  auto flatOutType =
      RankedTensorType::get({n, f, pixels}, rewriter.getF32Type());
  Value acc = tensor::CollapseShapeOp::create(rewriter, loc, flatOutType,
                                              conv.getOutputs()[0], outGroups);

  // Per image only when an image's pixels fill whole register tiles of
  // whole vectors (196 pixels would be tiles of 28 lanes: 16 + 8 + 4, with
  // shuffles and spills).
  bool perImage =
      pixels >= kMatmulCols && chooseVectorTile(pixels, kMatmulCols) % 8 == 0;
  if (!perImage && n > 1) {
    // One matmul for all images.
    Value col =
        buildIm2col(rewriter, loc, conv.getInputs()[0], {c, kh, kw, n, oh, ow},
                    strides, dilations, firstTaps, /*imagesInside=*/true);
    SmallVector<ReassociationIndices> pairGroups = {{0}, {1, 2}};
    Value accT = tensor::CollapseShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({f, n * pixels}, rewriter.getF32Type()),
        swapOuterDims(rewriter, loc, acc), pairGroups);
    auto matmul = linalg::MatmulOp::create(
        rewriter, loc, ValueRange{filter, col}, ValueRange{accT});
    Value sum = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({f, n, pixels}, rewriter.getF32Type()),
        matmul.getResult(0), pairGroups);
    Value result = tensor::ExpandShapeOp::create(
        rewriter, loc, outType, swapOuterDims(rewriter, loc, sum), outGroups);
    rewriter.replaceOp(conv, result);
    return success();
  }

  Value col =
      buildIm2col(rewriter, loc, conv.getInputs()[0], {n, c, kh, kw, oh, ow},
                  strides, dilations, firstTaps, /*imagesInside=*/false);

  // One matmul per image.
  auto attr = [&](int64_t v) { return rewriter.getIndexAttr(v); };
  Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value ub = arith::ConstantIndexOp::create(rewriter, loc, n);
  Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto loop = scf::ForOp::create(
      rewriter, loc, lb, ub, step, ValueRange{acc},
      [&](OpBuilder &b, Location loc, Value img, ValueRange args) {
        auto colSlice = tensor::ExtractSliceOp::create(
            b, loc, RankedTensorType::get({ckk, pixels}, b.getF32Type()), col,
            ArrayRef<OpFoldResult>{img, attr(0), attr(0)},
            ArrayRef<OpFoldResult>{attr(1), attr(ckk), attr(pixels)},
            ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1)});
        auto outSlice = tensor::ExtractSliceOp::create(
            b, loc, RankedTensorType::get({f, pixels}, b.getF32Type()), args[0],
            ArrayRef<OpFoldResult>{img, attr(0), attr(0)},
            ArrayRef<OpFoldResult>{attr(1), attr(f), attr(pixels)},
            ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1)});
        auto matmul = linalg::MatmulOp::create(
            b, loc, ValueRange{filter, colSlice.getResult()},
            ValueRange{outSlice.getResult()});
        Value updated = tensor::InsertSliceOp::create(
            b, loc, matmul.getResult(0), args[0],
            ArrayRef<OpFoldResult>{img, attr(0), attr(0)},
            ArrayRef<OpFoldResult>{attr(1), attr(f), attr(pixels)},
            ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1)});
        scf::YieldOp::create(b, loc, updated);
      });
  Value result = tensor::ExpandShapeOp::create(rewriter, loc, outType,
                                               loop.getResult(0), outGroups);
  rewriter.replaceOp(conv, result);
  return success();
}

/// A float32 `linalg.batch_matmul` with static shapes, and the default maps
/// or B transposed (`(b, m, n, k) -> (b, n, k)`, attention's Q K^T), as a
/// loop over the batch of plain matmuls on slices (tiled as register tiles
/// below); a transposed B slice is copied into [K, N] first (a transpose,
/// tiled below). Each result is summed in order of k with fused
/// multiply-adds, as the matmul tiles do.
LogicalResult batchMatmulAsMatmuls(RewriterBase &rewriter,
                                   linalg::BatchMatmulOp op) {
  if (!op.hasPureTensorSemantics())
    return failure();
  if (!allStaticF32(op->getOperandTypes()))
    return failure();
  auto aType = cast<RankedTensorType>(op.getInputs()[0].getType());
  auto cType = cast<RankedTensorType>(op.getOutputs()[0].getType());
  MLIRContext *ctx = rewriter.getContext();
  AffineExpr db, dm, dn, dk;
  bindDims(ctx, db, dm, dn, dk);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(4, 0, results, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != map({db, dm, dk}) || maps[2] != map({db, dm, dn}))
    return failure();
  bool transposedB = maps[1] == map({db, dn, dk});
  if (!transposedB && maps[1] != map({db, dk, dn}))
    return failure();
  int64_t batch = cType.getDimSize(0), m = cType.getDimSize(1),
          n = cType.getDimSize(2), k = aType.getDimSize(2);

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type f32 = rewriter.getF32Type();
  auto attr = [&](int64_t v) -> OpFoldResult {
    return rewriter.getIndexAttr(v);
  };
  auto slice = [&](OpBuilder &b, Value source, Value index, int64_t rows,
                   int64_t cols) {
    return tensor::ExtractSliceOp::create(
               b, loc, RankedTensorType::get({rows, cols}, f32), source,
               ArrayRef<OpFoldResult>{index, attr(0), attr(0)},
               ArrayRef<OpFoldResult>{attr(1), attr(rows), attr(cols)},
               ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1)})
        .getResult();
  };
  Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value ub = arith::ConstantIndexOp::create(rewriter, loc, batch);
  Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto loop = scf::ForOp::create(
      rewriter, loc, lb, ub, step, ValueRange{op.getOutputs()[0]},
      [&](OpBuilder &b, Location loc, Value index, ValueRange args) {
        Value lhs = slice(b, op.getInputs()[0], index, m, k);
        Value rhs;
        if (transposedB) {
          Value init = tensor::EmptyOp::create(b, loc, {k, n}, f32);
          rhs = linalg::TransposeOp::create(
                    b, loc, slice(b, op.getInputs()[1], index, n, k), init,
                    ArrayRef<int64_t>{1, 0})
                    .getResult()[0];
        } else {
          rhs = slice(b, op.getInputs()[1], index, k, n);
        }
        auto matmul = linalg::MatmulOp::create(
            b, loc, ValueRange{lhs, rhs},
            ValueRange{slice(b, args[0], index, m, n)});
        Value updated = tensor::InsertSliceOp::create(
            b, loc, matmul.getResult(0), args[0],
            ArrayRef<OpFoldResult>{index, attr(0), attr(0)},
            ArrayRef<OpFoldResult>{attr(1), attr(m), attr(n)},
            ArrayRef<OpFoldResult>{attr(1), attr(1), attr(1)});
        scf::YieldOp::create(b, loc, updated);
      });
  rewriter.replaceOp(op, loop.getResults());
  return success();
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

//===----------------------------------------------------------------------===//
// Flips
//===----------------------------------------------------------------------===//

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
