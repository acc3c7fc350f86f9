//===- BMToGPU.cpp - BM contractions in GPU shape -------------------------===//
//
// convert-bm-to-gpu: the tensor-level part of bm-lower-to-nvvm. It lowers
// bm.matmul to decode-once linalg ops plus one fused linalg.generic over the
// output elements (one GPU thread each), and rejects host-side element
// accesses that the device-memory lowering cannot run. Every other bm op is
// left to convert-bm-to-linalg.
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/GPU/MmaMatmul.h"
#include "bm/Conversion/Utils/MatmulOperands.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Utils/MatmulGeometry.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bm {
#define GEN_PASS_DEF_CONVERTBMTOGPU
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::gpu_lowering;
using namespace mlir::bm::lowering;
using ::bm::numerics::Format;
using utils::IteratorType;

namespace {

//===----------------------------------------------------------------------===//
// bm.matmul
//===----------------------------------------------------------------------===//

/// bm.matmul -> decode once (run-major, zero-padded), unit exponents per
/// (row, run) and (run, column), and one fused generic over the outputs
/// whose body sums each run exactly, converts it once and adds it, runs in
/// ascending order.
///
/// Layouts (L = longest run, padded to 32 for the tensor-core kernel):
///   A runs  [batch?, M, R, L]                 (both paths)
///   B runs  [batch?, R, L, N]  scalar path    (threads of a warp read
///                                              consecutive n: coalesced)
///           [batch?, N, R, L]  mma path       (k contiguous: the col-major
///                                              B fragment of mma.sync)
///   A scales [batch?, M, R];  B scales [batch?, R, N] / [batch?, N, R].
struct MatmulToGPU : public OpRewritePattern<MatmulOp> {
  MatmulToGPU(MLIRContext *context, bool mma)
      : OpRewritePattern(context), mma(mma) {}

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    MatmulGeometry g(op);
    BMTensorType lhsType = g.lhsType, rhsType = g.rhsType;
    Format fa = g.fa, fb = g.fb;
    IntegerType formA = getIntegerFormType(context, fa);
    IntegerType formB = getIntegerFormType(context, fb);
    Value init = op.getInit();
    int64_t K = g.K;
    if (K == 0) {
      rewriter.replaceOp(op, init);
      return success();
    }
    if (!formA || !formB)
      return rewriter.notifyMatchFailure(op, "integer forms exceed 64 bits");

    bool batched = g.batched;
    int64_t nb = g.nb;
    int64_t batch = g.batch, M = g.M, N = g.N;
    if (M == 0 || N == 0 || batch == 0) {
      rewriter.replaceOp(op, init);
      return success();
    }
    int64_t R = g.runs.size();
    int64_t L = g.maxRun;
    int kulischWidth = op.getKulischWidth();
    bool useMma = mma && formA.getWidth() == 8 && formB.getWidth() == 8 &&
                  kulischWidth <= 32;
    int64_t Lp = useMma ? llvm::alignTo(L, kMmaK) : L;

    auto [startTable, lengthTable] = runTables(rewriter, loc, g);

    auto unpackA = UnpackOp::create(rewriter, loc, lhsType.getCodesType(),
                                    lhsType.getBiasesType(), op.getLhs());
    auto unpackB = UnpackOp::create(rewriter, loc, rhsType.getCodesType(),
                                    rhsType.getBiasesType(), op.getRhs());

    // Step 1: run-major integer forms, zero past each run's end. Positions
    // of (outer, r, j) after the batch dim: A (m, r, j); B scalar (r, j, n),
    // mma (n, r, j).
    std::array<unsigned, 3> layoutA{0, 1, 2};
    std::array<unsigned, 3> layoutB = useMma ? std::array<unsigned, 3>{0, 1, 2}
                                             : std::array<unsigned, 3>{2, 0, 1};
    Value runsA =
        buildRunForms(rewriter, loc, g, /*isA=*/true, unpackA.getCodes(), formA,
                      layoutA, Lp, startTable, lengthTable);
    Value runsB =
        buildRunForms(rewriter, loc, g, /*isA=*/false, unpackB.getCodes(),
                      formB, layoutB, Lp, startTable, lengthTable);

    // Step 2: unit exponents per (row, run) of A and (run, column) of B.
    // A: [batch?, M, R]; B: [batch?, R, N] (scalar) or [batch?, N, R] (mma).
    bool scalesBOuterFirst = useMma;
    Value scalesA =
        buildRunScales(rewriter, loc, g, /*isA=*/true, unpackA.getBiases(),
                       /*outerFirst=*/true, startTable);
    Value scalesB =
        buildRunScales(rewriter, loc, g, /*isA=*/false, unpackB.getBiases(),
                       scalesBOuterFirst, startTable);

    // Step 3: the fused contraction, one output element per iteration. The
    // run tensors are inputs (with maps that read one element, unused) so
    // that bm-map-to-gpu finds them; the body reads them directly.
    unsigned loops = nb + 2; // (batch?, m, n)
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    AffineExpr zero = getAffineConstantExpr(0, context);
    auto map = [&](ArrayRef<AffineExpr> exprs) {
      SmallVector<AffineExpr> all;
      if (batched)
        all.push_back(d(0));
      all.append(exprs.begin(), exprs.end());
      return AffineMap::get(loops, 0, all, context);
    };
    AffineExpr m = d(nb), n = d(nb + 1);
    SmallVector<AffineMap> maps = {
        map({m, zero, zero}),
        useMma ? map({n, zero, zero}) : map({zero, zero, n}), map({m, zero}),
        useMma ? map({n, zero}) : map({zero, n}), map({m, n})};
    auto kulischType = KulischType::get(context, kulischWidth);
    FormatAttr faAttr = lhsType.getFormat(), fbAttr = rhsType.getFormat();
    // Marks of the fused matmul (BMDialect.td); bm-map-to-gpu reads
    // bm.gpu_mma and checks that the generic still has these operands.
    auto *dialect = context->getLoadedDialect<BMDialect>();
    SmallVector<NamedAttribute> attrs = {
        NamedAttribute(dialect->getGpuFusedMatmulAttrHelper().getName(),
                       rewriter.getUnitAttr())};
    if (useMma)
      attrs.push_back(NamedAttribute(dialect->getGpuMmaAttrHelper().getName(),
                                     rewriter.getUnitAttr()));
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(),
            ValueRange{runsA, runsB, scalesA, scalesB}, ValueRange{init}, maps,
            SmallVector<IteratorType>(loops, IteratorType::parallel),
            [&](OpBuilder &b, Location loc, ValueRange args) {
              SmallVector<Value> idx = loopIndices(b, loc, loops);
              Value bIdx = batched ? idx[0] : Value();
              Value mIdx = idx[nb], nIdx = idx[nb + 1];
              auto at = [&](ArrayRef<Value> rest) {
                SmallVector<Value> all;
                if (batched)
                  all.push_back(bIdx);
                all.append(rest.begin(), rest.end());
                return all;
              };
              auto runLoop = scf::ForOp::create(
                  b, loc, constIndex(b, loc, 0), constIndex(b, loc, R),
                  constIndex(b, loc, 1), ValueRange{args[4]},
                  [&](OpBuilder &b, Location loc, Value r, ValueRange acc) {
                    Value length = runTableEntry(b, loc, lengthTable, r);
                    Value zeroK = KulischZeroOp::create(b, loc, kulischType);
                    auto sum = scf::ForOp::create(
                        b, loc, constIndex(b, loc, 0), length,
                        constIndex(b, loc, 1), ValueRange{zeroK},
                        [&](OpBuilder &b, Location loc, Value j,
                            ValueRange kacc) {
                          Value qa = tensor::ExtractOp::create(
                              b, loc, runsA, at({mIdx, r, j}));
                          Value qb = tensor::ExtractOp::create(
                              b, loc, runsB,
                              useMma ? at({nIdx, r, j}) : at({r, j, nIdx}));
                          Value next =
                              FmaOp::create(b, loc, kulischType, kacc[0], qa,
                                            qb, faAttr, fbAttr);
                          scf::YieldOp::create(b, loc, next);
                        });
                    Value sA = tensor::ExtractOp::create(b, loc, scalesA,
                                                         at({mIdx, r}));
                    Value sB = tensor::ExtractOp::create(
                        b, loc, scalesB,
                        useMma ? at({nIdx, r}) : at({r, nIdx}));
                    Value nonFinite = eitherNonFinite(b, loc, sA, sB);
                    Value scale = arith::AddIOp::create(b, loc, sA, sB);
                    Value term = KulischToF32Op::create(
                        b, loc, b.getF32Type(), sum.getResult(0), scale);
                    scf::YieldOp::create(
                        b, loc,
                        accumulateTerm(b, loc, acc[0], term, nonFinite));
                  });
              linalg::YieldOp::create(b, loc, runLoop.getResult(0));
            },
            attrs)
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }

  bool mma;
};

//===----------------------------------------------------------------------===//
// Host element accesses
//===----------------------------------------------------------------------===//

bool isShaped(Type type) { return isa<ShapedType>(type); }

/// Why `op`, outside any linalg op, cannot run against device memory, or
/// nullptr if it can.
const char *hostAccessReason(Operation *op, SymbolTableCollection &symbols) {
  if (isa<tensor::ExtractOp, memref::LoadOp, vector::TransferReadOp,
          vector::LoadOp>(op))
    return "reads tensor elements on the host";
  if (isa<tensor::InsertOp, memref::StoreOp, vector::TransferWriteOp,
          vector::StoreOp>(op))
    return "writes tensor elements on the host";
  if (auto call = dyn_cast<func::CallOp>(op)) {
    auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (callee && callee.isExternal() &&
        llvm::any_of(call.getOperandTypes(), isShaped))
      return "passes tensors or buffers to an external function, which runs "
             "on the host";
  }
  return nullptr;
}

struct ConvertBMToGPUPass
    : public mlir::bm::impl::ConvertBMToGPUBase<ConvertBMToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!hostShared && failed(checkHostAccesses(module)))
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToGPU>(&getContext(), mma);
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
  }

  /// Element reads and writes outside linalg ops would run on the host
  /// against device memory.
  LogicalResult checkHostAccesses(ModuleOp module) {
    SymbolTableCollection symbols;
    bool failed = false;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
      // Code inside linalg ops runs in the kernels; GPU code is already
      // device code.
      if (isa<linalg::LinalgOp>(op) || isa<gpu::GPUModuleOp>(op) ||
          isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (const char *reason = hostAccessReason(op, symbols)) {
        op->emitError() << "'" << op->getName() << "' " << reason
                        << ", which bm-lower-to-nvvm cannot do: the data "
                           "lives in GPU memory; compute it inside a linalg "
                           "op, or lower with host-shared=true";
        failed = true;
      }
      return WalkResult::advance();
    });
    return failure(failed);
  }
};

} // namespace
