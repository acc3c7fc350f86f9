//===- VectorizeRunSums.cpp - Vectorize exact integer run sums ------------===//

#include "bm/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMVECTORIZERUNSUMS
#include "bm/Codegen/CPU/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {

/// Longest run vectorized whole, and the chunk of longer ones.
constexpr int64_t kMaxRunTile = 256;
constexpr int64_t kRunChunk = 64;

/// Largest power of two <= limit that divides n (n itself if n <= limit).
int64_t chooseTile(int64_t n, int64_t limit) {
  if (n <= limit)
    return n;
  int64_t tile = 1;
  while (tile * 2 <= limit && n % (tile * 2) == 0)
    tile *= 2;
  return tile;
}

struct BMVectorizeRunSumsPass
    : public mlir::bm::impl::BMVectorizeRunSumsBase<BMVectorizeRunSumsPass> {
  using Base::Base;

  void runOnOperation() override {
    BMDialect::RunSumsAttrHelper runSums =
        getContext().getLoadedDialect<BMDialect>()->getRunSumsAttrHelper();
    SmallVector<linalg::GenericOp> targets;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (runSums.isAttrPresent(op) && op.hasPureTensorSemantics())
        targets.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : targets) {
      // Loops: (batch..., m, n, r, j); j is the only reduction.
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      unsigned loops = ranges.size();
      if (loops < 4 || llvm::any_of(ranges, ShapedType::isDynamic))
        continue;
      // An empty iteration space has nothing to vectorize (and its tile
      // sizes would be 0, which the tiler does not accept).
      if (llvm::is_contained(ranges, 0))
        continue;
      SmallVector<int64_t> sizes(loops, 1);
      sizes[loops - 3] = chooseTile(ranges[loops - 3], tileN);
      // Keep a run in one tile up to kMaxRunTile terms; a longer run (e.g. a
      // weight-gradient convolution's 48 x 14 x 14) is summed in chunks:
      // the Kulisch sum is exact in any order, and whole-run vectors would
      // unroll into huge code.
      int64_t run = ranges[loops - 1];
      sizes[loops - 1] = run <= kMaxRunTile ? 0 : chooseTile(run, kRunChunk);
      scf::SCFTilingOptions options;
      options.setTileSizes(
          getAsIndexOpFoldResult(&getContext(), ArrayRef<int64_t>(sizes)));
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitRemark("bm-vectorize-run-sums: could not tile; left scalar");
        continue;
      }
      rewriter.replaceOp(op, tiled->replacements);
      for (Operation *tiledOp : tiled->tiledOps) {
        rewriter.setInsertionPoint(tiledOp);
        FailureOr<linalg::VectorizationResult> vectorized =
            linalg::vectorize(rewriter, tiledOp);
        if (failed(vectorized)) {
          tiledOp->emitRemark(
              "bm-vectorize-run-sums: could not vectorize; left scalar");
          continue;
        }
        rewriter.replaceOp(tiledOp, vectorized->replacements);
      }
    }
  }
};

} // namespace
