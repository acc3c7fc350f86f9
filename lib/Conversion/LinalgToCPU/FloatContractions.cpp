//===- FloatContractions.cpp - Float32 contractions of bm-vectorize-linalg
//-===//
//
// Part of bm-vectorize-linalg (VectorizeLinalg.h): float32 linalg.matmul
// as register tiles of outer products, float32 NCHW convolutions as im2col
// and a matmul, batch matmuls as one matmul per batch. Every result is
// summed in order of k, as the scalar loops do.
//
//===----------------------------------------------------------------------===//

#include "VectorizeLinalg.h"

#include "bm/Dialect/BM/Utils/ConvTaps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

using namespace mlir;
using namespace mlir::bm;

namespace mlir::bm::vectorize_linalg {

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

/// Whether every type is a statically shaped, non-empty float32 tensor (the
/// operands the float32 convolution and batch matmul rewrites accept).
static bool allStaticF32(TypeRange types) {
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
static Value buildIm2col(RewriterBase &rewriter, Location loc, Value input,
                         ArrayRef<int64_t> shape, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> dilations,
                         ArrayRef<int64_t> firstTaps, bool imagesInside) {
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
static SmallVector<int64_t>
liveTapsOfPaddedInput(linalg::Conv2DNchwFchwOp conv) {
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
static Value swapOuterDims(RewriterBase &rewriter, Location loc, Value value) {
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

} // namespace mlir::bm::vectorize_linalg
