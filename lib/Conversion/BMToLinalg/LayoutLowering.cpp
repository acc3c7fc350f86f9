//===- LayoutLowering.cpp - bm.transpose, bm.pack, bm.unpack to linalg ----===//
//
// Data movement of BM tensors: the codes move as the op says, and the
// biases with their blocks.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::detail;
using namespace mlir::bm::lowering;

namespace {

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
      Value init =
          emptyTensor(rewriter, loc, type.getShape(), type.getElementType());
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

} // namespace

void mlir::bm::detail::populateLayoutLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<TransposeLowering, PackLowering, UnpackLowering>(
      converter, patterns.getContext());
}
