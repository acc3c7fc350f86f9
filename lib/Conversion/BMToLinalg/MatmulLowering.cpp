//===- MatmulLowering.cpp - bm.matmul to linalg ---------------------------===//
//
// The vector kernel of the CPU target where it applies (Codegen/CPU), else
// the generic form from the FMA-unit ops (numerics.md section 5).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "bm/Codegen/CPU/MatmulKernel.h"
#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::detail;
using namespace mlir::bm::lowering;
using ::bm::numerics::Format;
using utils::IteratorType;

namespace {

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
      kernel.minParallelMacs = options.minParallelMacs;
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
            ArrayRef<AffineMap>{map({0, 2, 3}), map({2, 3, 1}), map({0, 1, 2})},
            pIters,
            [&](OpBuilder &b, Location loc, ValueRange args) {
              Value acc = FmaOp::create(b, loc, kulischType, args[2], args[0],
                                        args[1], faAttr, fbAttr);
              linalg::YieldOp::create(b, loc, acc);
            },
            ArrayRef<NamedAttribute>{
                NamedAttribute(context->getLoadedDialect<BMDialect>()
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

} // namespace

void mlir::bm::detail::populateMatmulLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const BMToLinalgKernelOptions &options) {
  patterns.add<MatmulLowering>(converter, patterns.getContext(), options);
}
