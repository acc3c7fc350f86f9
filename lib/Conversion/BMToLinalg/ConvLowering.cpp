//===- ConvLowering.cpp - bm.conv2d to linalg -----------------------------===//
//
// As im2col + bm.matmul where the run structure allows (ConvAsMatmul.cpp),
// else as a scan of each output's reduction (numerics.md section 5).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::detail;
using namespace mlir::bm::lowering;
using ::bm::numerics::Format;
using utils::IteratorType;

namespace {

//===----------------------------------------------------------------------===//
// bm.conv2d
//===----------------------------------------------------------------------===//

/// Lowers an exact BM convolution (numerics.md section 5): operands are
/// decoded once; then each output element scans its reduction (c, kh, kw)
/// in row-major order, summing products exactly in a Kulisch accumulator and
/// flushing a converted term whenever the input block or the filter block
/// changes. Taps in the zero padding change nothing.
struct Conv2DLowering : public OpConversionPattern<Conv2DOp> {
  Conv2DLowering(const TypeConverter &converter, MLIRContext *context,
                 const BMToLinalgKernelOptions &options)
      : OpConversionPattern(converter, context), options(options) {}
  BMToLinalgKernelOptions options;

  LogicalResult
  matchAndRewrite(Conv2DOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    BMTensorType inType = op.getInput().getType();
    BMTensorType fType = op.getFilter().getType();
    Format fi = inType.getFormat().getNumerics();
    Format ff = fType.getFormat().getNumerics();
    IntegerType formI = getIntegerFormType(context, fi);
    IntegerType formF = getIntegerFormType(context, ff);
    if (!formI || !formF)
      return rewriter.notifyMatchFailure(op, "integer forms exceed 64 bits");
    Value init = adaptor.getInit().front();
    // An empty input or filter leaves no term that reads an element: every
    // tap is padding (H or W is 0) or there is none, so the result is init.
    // (The scan below would clamp coordinates into an empty dimension.)
    if (inType.getNumElements() == 0 || fType.getNumElements() == 0) {
      rewriter.replaceOp(op, init);
      return success();
    }
    // Decode both operands and the block unit exponents once.
    auto decodeAll = [&](Value codes, BMTensorType type, IntegerType form) {
      int64_t rank = type.getRank();
      AffineMap id = rewriter.getMultiDimIdentityMap(rank);
      Value initT = emptyTensor(rewriter, loc, type.getShape(), form);
      FormatAttr formatAttr = type.getFormat();
      return linalg::GenericOp::create(
                 rewriter, loc, initT.getType(), ValueRange{codes},
                 ValueRange{initT}, ArrayRef<AffineMap>{id, id},
                 SmallVector<IteratorType>(rank, IteratorType::parallel),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   linalg::YieldOp::create(
                       b, loc,
                       Value(DecodeOp::create(b, loc, form, args[0],
                                              formatAttr)));
                 })
          .getResult(0);
    };
    auto unitsAll = [&](Value biases, BMTensorType type) {
      SmallVector<int64_t> grid = type.getBlockGridShape();
      AffineMap id = rewriter.getMultiDimIdentityMap(grid.size());
      Value initT = emptyTensor(rewriter, loc, grid, rewriter.getI32Type());
      Format format = type.getFormat().getNumerics();
      return linalg::GenericOp::create(
                 rewriter, loc, initT.getType(), ValueRange{biases},
                 ValueRange{initT}, ArrayRef<AffineMap>{id, id},
                 SmallVector<IteratorType>(grid.size(), IteratorType::parallel),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   linalg::YieldOp::create(
                       b, loc, unitExponentOrMarker(b, loc, args[0], format));
                 })
          .getResult(0);
    };
    Value qIn = decodeAll(adaptor.getInput()[0], inType, formI);
    Value qF = decodeAll(adaptor.getFilter()[0], fType, formF);
    Value unitsIn = unitsAll(adaptor.getInput()[1], inType);
    Value unitsF = unitsAll(adaptor.getFilter()[1], fType);

    ArrayRef<int64_t> is = inType.getShape(), fs = fType.getShape();
    ArrayRef<int64_t> ib = inType.getBlock(), fb = fType.getBlock();
    int64_t C = fs[1], KH = fs[2], KW = fs[3], H = is[2], W = is[3];
    int64_t sh = op.getStrides()[0], sw = op.getStrides()[1];
    int64_t ph = op.getPadding()[0], pw = op.getPadding()[1];
    int64_t dh = op.getDilations()[0], dw = op.getDilations()[1];
    SmallVector<int64_t> gridIn = inType.getBlockGridShape();
    SmallVector<int64_t> gridF = fType.getBlockGridShape();
    auto kulischType = KulischType::get(context, op.getKulischWidth());
    FormatAttr fiAttr = inType.getFormat(), ffAttr = fType.getFormat();

    AffineMap id4 = rewriter.getMultiDimIdentityMap(4);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ValueRange{}, ValueRange{init},
            ArrayRef<AffineMap>{id4},
            SmallVector<IteratorType>(4, IteratorType::parallel),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              SmallVector<Value> idx = loopIndices(b, loc, 4);
              Value n = idx[0], f = idx[1], oh = idx[2], ow = idx[3];
              auto ci = [&](int64_t v) { return constIndex(b, loc, v); };
              auto add = [&](Value x, Value y) {
                return arith::AddIOp::create(b, loc, x, y).getResult();
              };
              auto mul = [&](Value x, int64_t y) {
                return arith::MulIOp::create(b, loc, x, ci(y)).getResult();
              };
              auto div = [&](Value x, int64_t y) {
                return arith::DivSIOp::create(b, loc, x, ci(y)).getResult();
              };
              auto rem = [&](Value x, int64_t y) {
                return arith::RemSIOp::create(b, loc, x, ci(y)).getResult();
              };
              auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
                return arith::CmpIOp::create(b, loc, p, x, y).getResult();
              };
              auto sel = [&](Value c, Value x, Value y) {
                return arith::SelectOp::create(b, loc, c, x, y).getResult();
              };
              Value ohBase = add(mul(oh, sh), ci(-ph));
              Value owBase = add(mul(ow, sw), ci(-pw));
              Value zeroK = KulischZeroOp::create(b, loc, kulischType);
              Value noBlock = ci(-1);
              Value zeroScale = constI32(b, loc, 0);
              SmallVector<Value> initState = {zeroK,   noBlock,   noBlock,
                                              args[0], zeroScale, zeroScale};
              auto loop = scf::ForOp::create(
                  b, loc, ci(0), ci(C * KH * KW), ci(1), initState,
                  [&](OpBuilder &b, Location loc, Value t, ValueRange state) {
                    Value kacc = state[0], curIn = state[1], curF = state[2];
                    Value acc = state[3], scaleIn = state[4], scaleF = state[5];
                    Value c = div(t, KH * KW);
                    Value kh = rem(div(t, KW), KH);
                    Value kw = rem(t, KW);
                    Value ih = add(ohBase, mul(kh, dh));
                    Value iw = add(owBase, mul(kw, dw));
                    using P = arith::CmpIPredicate;
                    Value inside = arith::AndIOp::create(
                        b, loc,
                        arith::AndIOp::create(b, loc, cmp(P::sge, ih, ci(0)),
                                              cmp(P::slt, ih, ci(H))),
                        arith::AndIOp::create(b, loc, cmp(P::sge, iw, ci(0)),
                                              cmp(P::slt, iw, ci(W))));
                    // Clamped coordinates keep padding reads in bounds;
                    // their results are discarded below.
                    Value ihC = arith::MinSIOp::create(
                        b, loc, arith::MaxSIOp::create(b, loc, ih, ci(0)),
                        ci(H - 1));
                    Value iwC = arith::MinSIOp::create(
                        b, loc, arith::MaxSIOp::create(b, loc, iw, ci(0)),
                        ci(W - 1));
                    Value bIn = add(
                        mul(add(mul(div(c, ib[1]), gridIn[2]), div(ihC, ib[2])),
                            gridIn[3]),
                        div(iwC, ib[3]));
                    Value bF = add(
                        mul(add(mul(div(c, fb[1]), gridF[2]), div(kh, fb[2])),
                            gridF[3]),
                        div(kw, fb[3]));
                    Value changed = arith::OrIOp::create(
                        b, loc, cmp(P::ne, bIn, curIn), cmp(P::ne, bF, curF));
                    Value started = cmp(P::ne, curIn, noBlock);
                    Value flush = arith::AndIOp::create(
                        b, loc, arith::AndIOp::create(b, loc, changed, started),
                        inside);
                    Value flushed =
                        flushRun(b, loc, kacc, scaleIn, scaleF, acc);
                    Value newAcc = sel(flush, flushed, acc);
                    Value base = sel(changed, zeroK, kacc);
                    Value a = tensor::ExtractOp::create(
                        b, loc, qIn, ValueRange{n, c, ihC, iwC});
                    Value w = tensor::ExtractOp::create(
                        b, loc, qF, ValueRange{f, c, kh, kw});
                    Value summed = FmaOp::create(b, loc, kulischType, base, a,
                                                 w, fiAttr, ffAttr);
                    Value sIn = tensor::ExtractOp::create(
                        b, loc, unitsIn,
                        ValueRange{div(n, ib[0]), div(c, ib[1]),
                                   div(ihC, ib[2]), div(iwC, ib[3])});
                    Value sF = tensor::ExtractOp::create(
                        b, loc, unitsF,
                        ValueRange{div(f, fb[0]), div(c, fb[1]), div(kh, fb[2]),
                                   div(kw, fb[3])});
                    SmallVector<Value> next = {
                        sel(inside, summed, kacc), sel(inside, bIn, curIn),
                        sel(inside, bF, curF),     newAcc,
                        sel(inside, sIn, scaleIn), sel(inside, sF, scaleF)};
                    scf::YieldOp::create(b, loc, next);
                  });
              ValueRange finalState = loop.getResults();
              Value started =
                  cmp(arith::CmpIPredicate::ne, finalState[1], noBlock);
              Value flushed = flushRun(b, loc, finalState[0], finalState[4],
                                       finalState[5], finalState[3]);
              linalg::YieldOp::create(b, loc,
                                      sel(started, flushed, finalState[3]));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::bm::detail::populateConvLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const BMToLinalgKernelOptions &options) {
  patterns.add<Conv2DLowering>(converter, patterns.getContext(), options);
}
