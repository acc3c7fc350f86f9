//===- QuantizeLowering.cpp - bm.quantize and bm.dequantize to linalg -----===//
//
// The block scan of numerics.md sections 2-4: block maxima, shared biases,
// then element codes (or values) from ArithNumerics.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "bm/Codegen/CPU/QuantizeKernel.h"
#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/IR/BMOps.h"

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
// bm.quantize
//===----------------------------------------------------------------------===//

struct QuantizeLowering : public OpConversionPattern<QuantizeOp> {
  QuantizeLowering(const TypeConverter &converter, MLIRContext *context,
                   const BMToLinalgKernelOptions &options)
      : OpConversionPattern(converter, context), options(options) {}

  LogicalResult
  matchAndRewrite(QuantizeOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = op.getContext();
    BMTensorType type = op.getType();
    Format format = type.getFormat().getNumerics();
    Value input = adaptor.getInput().front();

    // The CPU kernel, straight from the op.
    auto inputType = cast<RankedTensorType>(input.getType());
    if (options.vectorQuantizeBits &&
        cpu::isQuantizeKernelSupported(inputType, type.getBlock())) {
      cpu::QuantizeKernelSpec spec;
      spec.input = input;
      spec.seed = op.getSeed() ? adaptor.getSeed().front() : Value();
      spec.format = format;
      spec.rounding = toNumerics(op.getRounding());
      spec.scale = toNumerics(op.getScale());
      spec.block.assign(type.getBlock().begin(), type.getBlock().end());
      spec.codesType = type.getCodesType();
      spec.biasesType = type.getBiasesType();
      auto [codes, biases] = cpu::emitQuantizeKernel(
          rewriter, loc, spec, options.vectorQuantizeBits);
      rewriter.replaceOpWithMultiple(op, {{codes, biases}});
      return success();
    }

    // The generic form: three linalg.generic ops.
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
              Value bits =
                  arith::BitcastOp::create(b, loc, b.getI32Type(), args[0]);
              Value abs = arith::AndIOp::create(b, loc, bits,
                                                constI32(b, loc, 0x7fffffff));
              Value max = arith::MaxUIOp::create(b, loc, abs, args[1]);
              linalg::YieldOp::create(b, loc, max);
            })
            .getResult(0);

    // 2. The biases, by the op's scale rule.
    ::bm::numerics::ScaleRule scaleRule = toNumerics(op.getScale());
    AffineMap gridIdentity = rewriter.getMultiDimIdentityMap(grid.size());
    SmallVector<IteratorType> gridParallel(grid.size(), IteratorType::parallel);
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
    auto codesOp = linalg::GenericOp::create(
        rewriter, loc, codesType, ValueRange{input, biases},
        ValueRange{codesInit},
        ArrayRef<AffineMap>{identity, blockMap, identity}, parallel,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value bits =
              arith::BitcastOp::create(b, loc, b.getI32Type(), args[0]);
          Value word;
          if (seed) {
            Value linear = constIndex(b, loc, 0);
            SmallVector<Value> indices = loopIndices(b, loc, rank);
            for (int64_t i = 0; i < rank; ++i) {
              linear = arith::MulIOp::create(b, loc, linear,
                                             constIndex(b, loc, shape[i]));
              linear = arith::AddIOp::create(b, loc, linear, indices[i]);
            }
            Value index64 =
                arith::IndexCastUIOp::create(b, loc, b.getI64Type(), linear);
            word = emitRandomWord(b, loc, seed, index64);
          }
          linalg::YieldOp::create(b, loc,
                                  emitQuantizeElement(b, loc, bits, args[1],
                                                      format, rounding, word));
        });
    // What bm-vectorize-quantize needs to rebuild the three ops as the CPU
    // kernel; the GPU lowering maps the generics as they are.
    context->getLoadedDialect<BMDialect>()->getQuantCodesAttrHelper().setAttr(
        codesOp, QuantCodesAttr::get(context, type.getFormat(), type.getBlock(),
                                     op.getRounding(), op.getScale()));
    Value codes = codesOp.getResult(0);

    rewriter.replaceOpWithMultiple(op, {{codes, biases}});
    return success();
  }

private:
  BMToLinalgKernelOptions options;
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
            ValueRange{init}, ArrayRef<AffineMap>{identity, blockMap, identity},
            parallel,
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

} // namespace

void mlir::bm::detail::populateQuantizeLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const BMToLinalgKernelOptions &options) {
  patterns.add<QuantizeLowering>(converter, patterns.getContext(), options);
  patterns.add<DequantizeLowering>(converter, patterns.getContext());
}
