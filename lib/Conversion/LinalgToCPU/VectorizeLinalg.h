//===- VectorizeLinalg.h - Shared parts of bm-vectorize-linalg --*- C++ -*-===//
//
// Internal to lib/Conversion/LinalgToCPU. bm-vectorize-linalg is the pass
// and its tiling (VectorizeLinalg.cpp), its float32 contractions
// (FloatContractions.cpp: matmuls as register tiles, convolutions as
// im2col and a matmul, batch matmuls as matmuls) and its copies of flipped
// filters as reversed rows (ReversedRows.cpp). This is what they share.
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_CONVERSION_LINALGTOCPU_VECTORIZELINALG_H
#define BM_LIB_CONVERSION_LINALGTOCPU_VECTORIZELINALG_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/DenseMap.h"

#include <cstdint>
#include <optional>

namespace mlir::bm::vectorize_linalg {

/// Elements of one vector tile: four 512-bit registers of f32.
constexpr int64_t kVectorElements = 64;
/// Forall tasks to aim for when only a vectorized dimension can be split.
constexpr int64_t kMinChunks = 8;
constexpr int64_t kMaxChunks = 64;

/// The tile of a loop of `extent` iterations vectorized with at most `limit`
/// lanes: the whole loop if it fits, else the largest divisor <= limit that
/// is a multiple of 8 (whole registers), else the largest divisor <= limit.
/// Always divides `extent`, so every tile has a static shape.
int64_t chooseVectorTile(int64_t extent, int64_t limit);

/// Tiles `op` by `sizes` (0: not tiled) into an scf.forall or scf.for
/// nest, replaces it, and returns the tiled op inside; failure leaves `op`.
FailureOr<Operation *> tileOp(RewriterBase &rewriter, Operation *op,
                              ArrayRef<int64_t> sizes, bool forall);

/// An affine expression as `sum(coefficient * dim) + constant`, or nullopt
/// if it is not linear (floordiv, mod, symbols).
struct LinearForm {
  llvm::SmallDenseMap<unsigned, int64_t, 4> coefficients;
  int64_t constant = 0;
};
std::optional<LinearForm> linearForm(AffineExpr expr);

//===----------------------------------------------------------------------===//
// Float32 contractions (FloatContractions.cpp)
//===----------------------------------------------------------------------===//

/// Whether `op` is a float32 `linalg.matmul` with static shapes and the
/// default (row-major, untransposed) maps: the ones tiled as register tiles.
bool isPlainF32Matmul(Operation *op);

/// Computes a plain float32 matmul as register tiles of outer products, on
/// all cores from `minParallel` multiply-adds.
void tileMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                int64_t minParallel);

/// A float32 NCHW convolution with static shapes as im2col and a matmul;
/// failure leaves it.
LogicalResult convAsIm2colMatmul(RewriterBase &rewriter,
                                 linalg::Conv2DNchwFchwOp conv);

/// A float32 batch matmul as one plain matmul per batch; failure leaves it.
LogicalResult batchMatmulAsMatmuls(RewriterBase &rewriter,
                                   linalg::BatchMatmulOp op);

//===----------------------------------------------------------------------===//
// Flips (ReversedRows.cpp)
//===----------------------------------------------------------------------===//

/// A copy generic that flips the trailing dimensions of its input (a
/// filter's flip for a data gradient) as reversed vector rows; failure
/// leaves it to the tiler.
LogicalResult flipAsReversedRows(RewriterBase &rewriter, linalg::GenericOp op,
                                 int64_t minParallel);

} // namespace mlir::bm::vectorize_linalg

#endif // BM_LIB_CONVERSION_LINALGTOCPU_VECTORIZELINALG_H
