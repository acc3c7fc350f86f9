//===- BMToLinalg.cpp - BM tensor ops to linalg ---------------------------===//
//
// A BM tensor is lowered to its two runtime parts: codes (one integer per
// element) and biases (one i8 per block). Element math comes from
// ArithNumerics; contractions are built from the FMA-unit ops (bm.decode,
// bm.fma, bm.kulisch.*) so that the IR keeps the hardware's structure.
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/BMToLinalg/BMToLinalg.h"
#include "Common.h"
#include "bm/Codegen/CPU/CpuTarget.h"
#include "bm/Codegen/CPU/MatmulKernel.h"
#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Transforms/Passes.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bm {
#define GEN_PASS_DEF_CONVERTBMTOLINALG
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using ::bm::numerics::Format;
using utils::IteratorType;

BMToLinalgTypeConverter::BMToLinalgTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion(
      [](BMTensorType type, SmallVectorImpl<Type> &results) -> LogicalResult {
        results.push_back(type.getCodesType());
        results.push_back(type.getBiasesType());
        return success();
      });
}

using namespace mlir::bm::detail;
using namespace mlir::bm::lowering;

namespace mlir::bm::detail {

/// (d0, ..., dn) -> (d0 floordiv b0, ..., dn floordiv bn): element -> block.
AffineMap getBlockMap(MLIRContext *context, ArrayRef<int64_t> block) {
  SmallVector<AffineExpr> exprs;
  for (auto [i, b] : llvm::enumerate(block))
    exprs.push_back(getAffineDimExpr(i, context).floorDiv(b));
  return AffineMap::get(block.size(), 0, exprs, context);
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value value) {
  Value empty = emptyTensor(b, loc, shape, value.getType());
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

/// kulisch.to_f32(acc, scaleA + scaleB), added to `acc32`; NaN if either
/// scale is the non-finite marker.
Value flushRun(OpBuilder &b, Location loc, Value kulisch, Value scaleA,
               Value scaleB, Value acc32) {
  Value nonFinite = eitherNonFinite(b, loc, scaleA, scaleB);
  Value scale = arith::AddIOp::create(b, loc, scaleA, scaleB);
  Value term = KulischToF32Op::create(b, loc, b.getF32Type(), kulisch, scale);
  return accumulateTerm(b, loc, acc32, term, nonFinite);
}

} // namespace mlir::bm::detail

namespace {

//===----------------------------------------------------------------------===//
// bm.quantize
//===----------------------------------------------------------------------===//

struct QuantizeLowering : public OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    BMTensorType type = op.getType();
    Format format = type.getFormat().getNumerics();
    Value input = adaptor.getInput().front();
    int64_t rank = type.getRank();
    ArrayRef<int64_t> shape = type.getShape();
    SmallVector<int64_t> grid = type.getBlockGridShape();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap blockMap = getBlockMap(context, type.getBlock());

    // 1. Largest |x| bit pattern per block (section 2). The order of the
    //    bit patterns with the sign cleared is the order of |x|, with NaN
    //    and Inf above every finite value.
    Value zero = constI32(rewriter, loc, 0);
    Value maxInit = filledTensor(rewriter, loc, grid, zero);
    SmallVector<IteratorType> allReduction(rank, IteratorType::reduction);
    Value maxAbs =
        linalg::GenericOp::create(
            rewriter, loc, maxInit.getType(), ValueRange{input},
            ValueRange{maxInit}, ArrayRef<AffineMap>{identity, blockMap},
            allReduction,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(),
                                                    args[0]);
              Value abs = arith::AndIOp::create(
                  b, loc, bits, constI32(b, loc, 0x7fffffff));
              Value max = arith::MaxUIOp::create(b, loc, abs, args[1]);
              linalg::YieldOp::create(b, loc, max);
            })
            .getResult(0);

    // 2. The biases, by the op's scale rule.
    ::bm::numerics::ScaleRule scaleRule = toNumerics(op.getScale());
    AffineMap gridIdentity = rewriter.getMultiDimIdentityMap(grid.size());
    SmallVector<IteratorType> gridParallel(grid.size(),
                                           IteratorType::parallel);
    Value biasInit = emptyTensor(rewriter, loc, grid, rewriter.getI8Type());
    Value biases =
        linalg::GenericOp::create(
            rewriter, loc, biasInit.getType(), ValueRange{maxAbs},
            ValueRange{biasInit},
            ArrayRef<AffineMap>{gridIdentity, gridIdentity}, gridParallel,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  b, loc, emitBlockBeta(b, loc, args[0], format, scaleRule));
            })
            .getResult(0);

    // 3. The codes (section 3). Stochastic rounding draws the random word
    //    of the element's row-major linear index.
    ::bm::numerics::Rounding rounding = toNumerics(op.getRounding());
    Value seed = op.getSeed() ? adaptor.getSeed().front() : Value();
    RankedTensorType codesType = type.getCodesType();
    Value codesInit =
        emptyTensor(rewriter, loc, shape, codesType.getElementType());
    SmallVector<IteratorType> parallel(rank, IteratorType::parallel);
    auto codesOp =
        linalg::GenericOp::create(
            rewriter, loc, codesType, ValueRange{input, biases},
            ValueRange{codesInit},
            ArrayRef<AffineMap>{identity, blockMap, identity}, parallel,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(),
                                                    args[0]);
              Value word;
              if (seed) {
                Value linear = constIndex(b, loc, 0);
                SmallVector<Value> indices = loopIndices(b, loc, rank);
                for (int64_t i = 0; i < rank; ++i) {
                  linear = arith::MulIOp::create(
                      b, loc, linear, constIndex(b, loc, shape[i]));
                  linear = arith::AddIOp::create(b, loc, linear, indices[i]);
                }
                Value index64 = arith::IndexCastUIOp::create(
                    b, loc, b.getI64Type(), linear);
                word = emitRandomWord(b, loc, seed, index64);
              }
              linalg::YieldOp::create(
                  b, loc,
                  emitQuantizeElement(b, loc, bits, args[1], format, rounding,
                                      word));
            });
    // What bm-vectorize-quantize (CPU) needs to rebuild the three ops as
    // vector loops; the GPU lowering maps the generics as they are.
    context->getLoadedDialect<BMDialect>()->getQuantCodesAttrHelper().setAttr(
        codesOp, QuantCodesAttr::get(context, type.getFormat(), type.getBlock(),
                                     op.getRounding(), op.getScale()));
    Value codes = codesOp.getResult(0);

    rewriter.replaceOpWithMultiple(op, {{codes, biases}});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// bm.dequantize
//===----------------------------------------------------------------------===//

struct DequantizeLowering : public OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DequantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    BMTensorType type = op.getInput().getType();
    Format format = type.getFormat().getNumerics();
    Value codes = adaptor.getInput()[0], biases = adaptor.getInput()[1];
    int64_t rank = type.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap blockMap = getBlockMap(op.getContext(), type.getBlock());
    Value init =
        emptyTensor(rewriter, loc, type.getShape(), rewriter.getF32Type());
    SmallVector<IteratorType> parallel(rank, IteratorType::parallel);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, op.getType(), ValueRange{codes, biases},
            ValueRange{init},
            ArrayRef<AffineMap>{identity, blockMap, identity}, parallel,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  b, loc,
                  emitDequantizeElement(b, loc, args[0], args[1], format));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// bm.transpose, bm.pack, bm.unpack
//===----------------------------------------------------------------------===//

struct TransposeLowering : public OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(TransposeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    BMTensorType result = op.getType();
    SmallVector<Value> parts;
    for (auto [value, type] :
         llvm::zip_equal(adaptor.getInput(),
                         SmallVector<RankedTensorType>{
                             result.getCodesType(), result.getBiasesType()})) {
      Value init = emptyTensor(rewriter, loc, type.getShape(),
                               type.getElementType());
      parts.push_back(linalg::TransposeOp::create(rewriter, loc, value, init,
                                                  op.getPermutation())
                          .getResult()
                          .front());
    }
    rewriter.replaceOpWithMultiple(op, {parts});
    return success();
  }
};

struct PackLowering : public OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithMultiple(
        op, {{adaptor.getCodes().front(), adaptor.getBiases().front()}});
    return success();
  }
};

struct UnpackLowering : public OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnpackOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// bm.matmul
//===----------------------------------------------------------------------===//

/// Lowers an exact BM matmul (numerics.md section 5) in four steps:
///  1. decode each operand once and lay it out run by run: A as
///     [batch, M, runs, L] and B as [batch, runs, L, N], zero past a run's
///     end (L = longest run);
///  2. the unit exponent of each (row, run) of A and (run, column) of B;
///  3. per (m, n, run): one exact Kulisch sum of L bm.fma products;
///  4. per (m, n): init + each run's term, converted once, in run order.
struct MatmulLowering : public OpConversionPattern<MatmulOp> {
  MatmulLowering(const TypeConverter &converter, MLIRContext *context,
                 const BMToLinalgKernelOptions &options)
      : OpConversionPattern(converter, context), options(options) {}
  BMToLinalgKernelOptions options;

  LogicalResult
  matchAndRewrite(MatmulOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    MatmulGeometry g(op);
    BMTensorType lhsType = g.lhsType, rhsType = g.rhsType;
    Format fa = g.fa, fb = g.fb;
    IntegerType formA = getIntegerFormType(context, fa);
    IntegerType formB = getIntegerFormType(context, fb);
    Value init = adaptor.getInit().front();
    int64_t K = g.K;
    if (K == 0) {
      rewriter.replaceOp(op, init);
      return success();
    }
    if (!formA || !formB)
      return rewriter.notifyMatchFailure(op, "integer forms exceed 64 bits");

    Value codesA = adaptor.getLhs()[0], biasesA = adaptor.getLhs()[1];
    Value codesB = adaptor.getRhs()[0], biasesB = adaptor.getRhs()[1];
    if (options.vectorKernels) {
      cpu::MatmulKernelOptions kernel;
      kernel.target = options.cpuTarget;
      FailureOr<Value> result = cpu::buildMatmulKernel(
          rewriter, op, {codesA, biasesA, codesB, biasesB, init}, kernel);
      if (succeeded(result)) {
        rewriter.replaceOp(op, *result);
        return success();
      }
    }
    bool batched = g.batched;
    int64_t nb = g.nb;
    int64_t M = g.M, N = g.N;
    const std::vector<::bm::numerics::ReductionRun> &runs = g.runs;
    int64_t R = runs.size();
    int64_t L = g.maxRun;
    auto [startTable, lengthTable] = runTables(rewriter, loc, g);
    auto withBatch = [&](ArrayRef<int64_t> dims) { return g.withBatch(dims); };

    // Step 1: run-major integer forms: A as [batch?, M, R, L], B as
    // [batch?, R, L, N].
    Value runsA = buildRunForms(rewriter, loc, g, /*isA=*/true, codesA, formA,
                                {0, 1, 2}, L, startTable, lengthTable);
    Value runsB = buildRunForms(rewriter, loc, g, /*isA=*/false, codesB, formB,
                                {2, 0, 1}, L, startTable, lengthTable);

    // Step 2: unit exponents per (row, run) of A and (run, column) of B.
    Value scalesA = buildRunScales(rewriter, loc, g, /*isA=*/true, biasesA,
                                   /*outerFirst=*/true, startTable);
    Value scalesB = buildRunScales(rewriter, loc, g, /*isA=*/false, biasesB,
                                   /*outerFirst=*/false, startTable);

    // Step 3: exact run sums in Kulisch accumulators.
    auto kulischType = KulischType::get(context, op.getKulischWidth());
    SmallVector<int64_t> pShape = withBatch({M, N, R});
    unsigned pLoops = pShape.size();
    Value pEmpty = emptyTensor(rewriter, loc, pShape, kulischType);
    Value pZero =
        linalg::GenericOp::create(
            rewriter, loc, pEmpty.getType(), ValueRange{}, ValueRange{pEmpty},
            ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(pLoops)},
            SmallVector<IteratorType>(pLoops, IteratorType::parallel),
            [&](OpBuilder &b, Location loc, ValueRange) {
              linalg::YieldOp::create(
                  b, loc, Value(KulischZeroOp::create(b, loc, kulischType)));
            })
            .getResult(0);
    // Loops (batch?, m, n, r, j).
    unsigned loops = nb + 4;
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    SmallVector<AffineExpr> bExpr;
    if (batched)
      bExpr.push_back(d(0));
    auto map = [&](ArrayRef<unsigned> dims) {
      SmallVector<AffineExpr> exprs(bExpr);
      for (unsigned i : dims)
        exprs.push_back(d(nb + i));
      return AffineMap::get(loops, 0, exprs, context);
    };
    SmallVector<IteratorType> pIters(loops - 1, IteratorType::parallel);
    pIters.push_back(IteratorType::reduction);
    FormatAttr faAttr = lhsType.getFormat(), fbAttr = rhsType.getFormat();
    Value sums =
        linalg::GenericOp::create(
            rewriter, loc, pZero.getType(), ValueRange{runsA, runsB},
            ValueRange{pZero},
            ArrayRef<AffineMap>{map({0, 2, 3}), map({2, 3, 1}),
                                map({0, 1, 2})},
            pIters,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value acc = FmaOp::create(b, loc, kulischType, args[2], args[0],
                                        args[1], faAttr, fbAttr);
              linalg::YieldOp::create(b, loc, acc);
            },
            ArrayRef<NamedAttribute>{NamedAttribute(
                context->getLoadedDialect<BMDialect>()
                    ->getRunSumsAttrHelper()
                    .getName(),
                rewriter.getUnitAttr())})
            .getResult(0);

    // Step 4: convert each run once and add in run order. The run loop is
    // the innermost reduction, so loops keep ascending order.
    unsigned fLoops = nb + 3; // (batch?, m, n, r)
    auto fmap = [&](ArrayRef<unsigned> dims) {
      SmallVector<AffineExpr> exprs(bExpr);
      for (unsigned i : dims)
        exprs.push_back(d(nb + i));
      return AffineMap::get(fLoops, 0, exprs, context);
    };
    SmallVector<IteratorType> fIters(fLoops - 1, IteratorType::parallel);
    fIters.push_back(IteratorType::reduction);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ValueRange{sums, scalesA, scalesB},
            ValueRange{init},
            ArrayRef<AffineMap>{fmap({0, 1, 2}), fmap({0, 2}), fmap({2, 1}),
                                fmap({0, 1})},
            fIters,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(
                  b, loc, flushRun(b, loc, args[0], args[1], args[2], args[3]));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

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
    // Same runs as an im2col matmul: let the matmul kernel do it.
    if (options.vectorKernels && convLowersAsMatmul(op))
      if (Value result = emitConvAsMatmul(
              rewriter, loc, op, adaptor.getInput()[0], adaptor.getInput()[1],
              adaptor.getFilter()[0], adaptor.getFilter()[1], init)) {
        rewriter.replaceOp(op, result);
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
                 SmallVector<IteratorType>(grid.size(),
                                           IteratorType::parallel),
                 [&](OpBuilder &b, Location loc, ValueRange args) {
                   linalg::YieldOp::create(
                       b, loc,
                       unitExponentOrMarker(b, loc, args[0], format));
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
              SmallVector<Value> initState = {zeroK,     noBlock,  noBlock,
                                              args[0],   zeroScale, zeroScale};
              auto loop = scf::ForOp::create(
                  b, loc, ci(0), ci(C * KH * KW), ci(1), initState,
                  [&](OpBuilder &b, Location loc, Value t, ValueRange state) {
                    Value kacc = state[0], curIn = state[1], curF = state[2];
                    Value acc = state[3], scaleIn = state[4],
                          scaleF = state[5];
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
                        ValueRange{div(f, fb[0]), div(c, fb[1]),
                                   div(kh, fb[2]), div(kw, fb[3])});
                    SmallVector<Value> next = {
                        sel(inside, summed, kacc), sel(inside, bIn, curIn),
                        sel(inside, bF, curF),     newAcc,
                        sel(inside, sIn, scaleIn), sel(inside, sF, scaleF)};
                    scf::YieldOp::create(b, loc, next);
                  });
              ValueRange finalState = loop.getResults();
              Value started = cmp(arith::CmpIPredicate::ne, finalState[1],
                                  noBlock);
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

struct ConvertBMToLinalgPass
    : public mlir::bm::impl::ConvertBMToLinalgBase<ConvertBMToLinalgPass> {
  using Base::Base;

  /// The CPU target of `cpu` and `x86-avx2`, or a diagnostic on the module.
  FailureOr<cpu::CpuTarget> getTarget() {
    std::optional<cpu::CpuTarget> target = cpu::resolveCpuTarget(cpu);
    if (!target)
      return getOperation().emitError()
             << "convert-bm-to-linalg: unknown CPU target '" << cpu
             << "'; use " << cpu::kCpuTargetChoices;
    if (!x86Avx2)
      return *target;
    // x86-avx2=true is cpu=avx2 (generic being the default of cpu).
    if (*target != cpu::CpuTarget::Generic &&
        *target != cpu::CpuTarget::Avx2)
      return getOperation().emitError()
             << "convert-bm-to-linalg: x86-avx2=true means cpu=avx2, but "
                "cpu="
             << cpu << " was given; give only cpu=...";
    return cpu::CpuTarget::Avx2;
  }
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    BMToLinalgTypeConverter converter;
    RewritePatternSet patterns(context);
    BMToLinalgKernelOptions kernels;
    kernels.vectorKernels = vectorKernels;
    FailureOr<cpu::CpuTarget> cpuTarget = getTarget();
    if (failed(cpuTarget))
      return signalPassFailure();
    kernels.cpuTarget = *cpuTarget;
    populateBMToLinalgConversionPatterns(converter, patterns, kernels);

    ConversionTarget target(*context);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           tensor::TensorDialect, scf::SCFDialect,
                           math::MathDialect>();
    target.addLegalOp<DecodeOp, FmaOp, KulischZeroOp, KulischToF32Op>();
    target.addIllegalOp<QuantizeOp, DequantizeOp, MatmulOp, Conv2DOp,
                        TransposeOp, PackOp, UnpackOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return converter.isLegal(op); });
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                         target);
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return converter.isLegal(op); });

    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::bm::populateBMToLinalgConversionPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const BMToLinalgKernelOptions &options) {
  MLIRContext *context = patterns.getContext();
  patterns.add<QuantizeLowering, DequantizeLowering, TransposeLowering,
               PackLowering, UnpackLowering>(converter, context);
  patterns.add<MatmulLowering, Conv2DLowering>(converter, context, options);
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
  populateReturnOpTypeConversionPattern(patterns, converter);
  populateCallOpTypeConversionPattern(patterns, converter);
}
