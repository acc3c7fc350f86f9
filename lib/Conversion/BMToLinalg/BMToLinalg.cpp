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

struct ConvertBMToLinalgPass
    : public mlir::bm::impl::ConvertBMToLinalgBase<ConvertBMToLinalgPass> {
  using Base::Base;

  /// The CPU target of `cpu` and `x86-avx2`, or a diagnostic on the module.
  FailureOr<cpu::CpuTarget> getTarget() {
    std::optional<cpu::CpuTarget> target = cpu::resolveCpuTarget(cpu);
    if (!target)
      return getOperation().emitError()
             << "convert-bm-to-linalg: unknown CPU target '" << cpu << "'; use "
             << cpu::kCpuTargetChoices;
    if (!x86Avx2)
      return *target;
    // x86-avx2=true is cpu=avx2 (generic being the default of cpu).
    if (*target != cpu::CpuTarget::Generic && *target != cpu::CpuTarget::Avx2)
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
    if (vectorQuantizeBits != 0 && vectorQuantizeBits != 256 &&
        vectorQuantizeBits != 512) {
      getOperation().emitError()
          << "convert-bm-to-linalg: vector-quantize-bits must be 0, 256 or "
             "512, not "
          << static_cast<unsigned>(vectorQuantizeBits);
      return signalPassFailure();
    }
    kernels.vectorQuantizeBits = vectorQuantizeBits;
    if (minParallelMacs < 0) {
      getOperation().emitError()
          << "convert-bm-to-linalg: min-parallel-macs must be 0 or more, "
             "not "
          << static_cast<int64_t>(minParallelMacs);
      return signalPassFailure();
    }
    kernels.minParallelMacs = minParallelMacs;
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
  populateQuantizeLoweringPatterns(converter, patterns, options);
  populateLayoutLoweringPatterns(converter, patterns);
  populateMatmulLoweringPatterns(converter, patterns, options);
  populateConvLoweringPatterns(converter, patterns, options);
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
  populateReturnOpTypeConversionPattern(patterns, converter);
  populateCallOpTypeConversionPattern(patterns, converter);
}
