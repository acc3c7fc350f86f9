//===- TileParallel.cpp - Tile marked linalg ops into scf.forall ----------===//
//
// bm-tile-parallel: the operand packing of the CPU matmul kernel is a few
// large linalg.generics that run before the kernel's parallel tile loop.
// With the parallel CPU pipeline they are tiled into scf.forall too (one
// tile per index of their leading dimensions), so that they also run on
// every core. Only ops the lowering marked are touched: tiling every small
// elementwise op would cost more in task overhead than it gains.
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "Common.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMTILEPARALLEL
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {
struct BMTileParallelPass
    : public mlir::bm::impl::BMTileParallelBase<BMTileParallelPass> {
  void runOnOperation() override {
    auto *dialect = getContext().getLoadedDialect<BMDialect>();
    BMDialect::TileParallelAttrHelper tileParallel =
        dialect->getTileParallelAttrHelper();
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> marked;
    bool bad = false;
    getOperation().walk([&](linalg::LinalgOp op) {
      Attribute mark = op->getAttr(tileParallel.getName());
      if (!mark)
        return;
      // The dialect's check, also when the input was parsed before the bm
      // dialect was loaded (and so was not verified).
      if (failed(dialect->verifyOperationAttribute(
              op, NamedAttribute(tileParallel.getName(), mark)))) {
        bad = true;
        return;
      }
      marked.push_back(std::make_pair(op, tileParallel.getAttr(op).getInt()));
    });
    if (bad)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (auto [op, dims] : marked) {
      tileParallel.removeAttr(op);
      auto tileable = cast<TilingInterface>(op.getOperation());
      unsigned loops = op.getNumLoops();
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      // Tiles of size 1 over the leading `dims` loops, when parallel; the
      // rest whole.
      SmallVector<OpFoldResult> sizes(loops, rewriter.getIndexAttr(0));
      bool any = false;
      for (int64_t d = 0; d < dims && d < static_cast<int64_t>(loops); ++d)
        if (iterators[d] == utils::IteratorType::parallel) {
          sizes[d] = rewriter.getIndexAttr(1);
          any = true;
        }
      if (!any)
        continue;
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, tileable, options);
      // An op that cannot be tiled stays as it is (in order).
      if (failed(tiled))
        continue;
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};
} // namespace
