//===- BMToArith.cpp - The BM FMA unit as integer arith -------------------===//

#include "bm/Conversion/BMToArith/BMToArith.h"
#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bm {
#define GEN_PASS_DEF_CONVERTBMTOARITH
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

BMToArithTypeConverter::BMToArithTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](KulischType type) -> Type { return type.getStorageType(); });
  addConversion([this](RankedTensorType type) -> Type {
    return type.clone(convertType(type.getElementType()));
  });
  addConversion([this](VectorType type) -> Type {
    return type.clone(convertType(type.getElementType()));
  });
  addConversion([this](MemRefType type) -> Type {
    return type.clone(convertType(type.getElementType()));
  });
}

namespace {

/// Rejects vector operands, which the scalar emitters do not handle yet.
LogicalResult requireScalars(Operation *op, PatternRewriter &rewriter) {
  for (Type type : op->getOperandTypes())
    if (isa<VectorType>(type))
      return rewriter.notifyMatchFailure(
          op, "vector operands are not supported yet; unroll to scalars");
  return success();
}

struct KulischZeroLowering : public OpConversionPattern<KulischZeroOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KulischZeroOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, type, rewriter.getIntegerAttr(type, 0));
    return success();
  }
};

struct DecodeLowering : public OpConversionPattern<DecodeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DecodeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireScalars(op, rewriter)))
      return failure();
    rewriter.replaceOp(op,
                       emitDecode(rewriter, op.getLoc(), adaptor.getCode(),
                                  op.getFormat().getNumerics(), op.getType()));
    return success();
  }
};

struct FmaLowering : public OpConversionPattern<FmaOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FmaOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireScalars(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    Type accType = getTypeConverter()->convertType(op.getType());
    auto widen = [&](Value v) -> Value {
      if (v.getType() == accType)
        return v;
      return arith::ExtSIOp::create(rewriter, loc, accType, v);
    };
    // |lhs * rhs| fits the accumulator: the verifier checked the width.
    Value lhs = widen(adaptor.getLhs());
    Value rhs = widen(adaptor.getRhs());
    Value product = arith::MulIOp::create(rewriter, loc, lhs, rhs);
    rewriter.replaceOpWithNewOp<arith::AddIOp>(op, adaptor.getAcc(), product);
    return success();
  }
};

struct KulischToF32Lowering : public OpConversionPattern<KulischToF32Op> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KulischToF32Op op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, emitScaledIntToFloat32(rewriter, op.getLoc(),
                                                  adaptor.getAcc(),
                                                  adaptor.getScale()));
    return success();
  }
};

/// Rebuilds any other op whose operand, result or region argument types
/// mention !bm.kulisch (linalg.generic and its yield, tensor.empty, scf
/// loops, arith.select, ...) with the converted types.
struct ConvertAnyOpTypes : public ConversionPattern {
  ConvertAnyOpTypes(const TypeConverter &converter, MLIRContext *context)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), /*benefit=*/0,
                          context) {}

  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    // Unregistered ops have no dialect; they are rebuilt like any other.
    Dialect *dialect = op->getDialect();
    if (isa<func::FuncOp>(op) || (dialect && dialect->getNamespace() == "bm"))
      return failure();
    SmallVector<Type> resultTypes;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(),
                                                resultTypes)))
      return failure();
    OperationState state(op->getLoc(), op->getName().getStringRef(), operands,
                         resultTypes, op->getAttrs(), op->getSuccessors());
    for (Region &region : op->getRegions()) {
      Region *newRegion = state.addRegion();
      rewriter.inlineRegionBefore(region, *newRegion, newRegion->begin());
      if (failed(rewriter.convertRegionTypes(newRegion, *getTypeConverter())))
        return failure();
    }
    Operation *newOp = rewriter.create(state);
    rewriter.replaceOp(op, newOp->getResults());
    return success();
  }
};

struct ConvertBMToArithPass
    : public mlir::bm::impl::ConvertBMToArithBase<ConvertBMToArithPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    // Say precisely what is unsupported before the conversion fails on it.
    WalkResult unsupported = getOperation().walk([](Operation *op) {
      if (!isa<DecodeOp, FmaOp>(op))
        return WalkResult::advance();
      if (llvm::any_of(op->getOperandTypes(), llvm::IsaPred<VectorType>)) {
        op->emitOpError("with vector operands is not supported by "
                        "convert-bm-to-arith yet; unroll it to scalar ops "
                        "first");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();

    BMToArithTypeConverter converter;
    RewritePatternSet patterns(context);
    populateBMToArithConversionPatterns(converter, patterns);
    ConversionTarget target(*context);
    target.addIllegalOp<DecodeOp, FmaOp, KulischZeroOp, KulischToF32Op>();
    target.markUnknownOpDynamicallyLegal([&](Operation *op) {
      // Functions typed by a builtin FunctionType (func.func, ...); others,
      // such as llvm.func, are checked like any op below.
      if (auto func = dyn_cast<FunctionOpInterface>(op))
        if (auto type = dyn_cast<FunctionType>(func.getFunctionType()))
          return converter.isSignatureLegal(type) &&
                 converter.isLegal(&func.getFunctionBody());
      if (!converter.isLegal(op))
        return false;
      for (Region &region : op->getRegions())
        if (!converter.isLegal(&region))
          return false;
      return true;
    });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns)))) {
      mlir::emitError(getOperation().getLoc(),
                      "convert-bm-to-arith: could not lower every FMA-unit "
                      "op (see the diagnostics above)");
      return signalPassFailure();
    }
    dropRoles();
  }

  /// The `bm.role` marks of function arguments and results end here: no
  /// pass after this one reads them, and tools without the bm dialect
  /// (mlir-translate, mlir-runner) cannot parse a #bm.role value.
  void dropRoles() {
    auto *dialect = getContext().getLoadedDialect<BMDialect>();
    if (!dialect)
      return;
    StringAttr role = dialect->getRoleAttrHelper().getName();
    getOperation().walk([&](FunctionOpInterface func) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        func.removeArgAttr(i, role);
      for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
        func.removeResultAttr(i, role);
    });
  }
};

} // namespace

void mlir::bm::populateBMToArithConversionPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<KulischZeroLowering, DecodeLowering, FmaLowering,
               KulischToF32Lowering, ConvertAnyOpTypes>(converter, context);
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
}
