//===- ConvToMatmul.cpp - bm.conv2d as an im2col bm.matmul ----------------===//
//
// A BM convolution whose input blocks span all of H and W and whose filter
// blocks span all of KH and KW changes blocks only with the channel: its
// runs (numerics.md section 5) are the channel blocks times KH x KW, in
// ascending channel order. That is exactly the run structure of the matmul
//
//   im2col(input) [N*OH*OW, C*KH*KW]  x  filter [F, C*KH*KW]^T
//
// with K blocks of (channel block) * KH * KW, provided every run of every
// output reads at least one tap inside the image: the convolution skips
// padding taps and a run of padding only does not exist there, while the
// matmul would add its (zero) term. So the rewrite also requires that every
// output window overlaps the image in both dimensions; then the two give
// the same bits, and the matmul can use the CPU kernel.
//
// Taps that read padding for every output (a 3x3 kernel with padding 1 on
// a 1x1 image: all but the centre) add only zero terms to every run, so
// they are left out of K: the filter's codes are sliced to the taps that
// reach the image, each run keeps its blocks, its order and its exact sum,
// and the input is padded only as far as the remaining taps read.
//
// The im2col operand is built on codes (bm.unpack; zero padding is code 0,
// value 0) and packed again (bm.pack); biases are reshaped, not copied:
// input biases [N/bn, C/bc, 1, 1] are the im2col operand's
// [N*OH*OW / (bn*OH*OW), C*KH*KW / (bc*KH*KW)] grid. Implements
// bm-conv-to-matmul (see Passes.td), which the CPU and GPU pipelines run
// before their lowerings, so that convolutions use their matmul kernels.
//
//===----------------------------------------------------------------------===//

#include "bm/Dialect/BM/Transforms/Passes.h"

#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Utils/ConvTaps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMCONVTOMATMUL
#include "bm/Dialect/BM/Transforms/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {

/// Whether every output position along one dimension has a tap inside the
/// input: some k with 0 <= o*stride - pad + k*dilation < size.
bool everyWindowOverlaps(int64_t outSize, int64_t size, int64_t kernel,
                         int64_t stride, int64_t pad, int64_t dilation) {
  for (int64_t o = 0; o < outSize; ++o) {
    bool overlaps = false;
    for (int64_t k = 0; k < kernel && !overlaps; ++k) {
      int64_t i = o * stride - pad + k * dilation;
      overlaps = i >= 0 && i < size;
    }
    if (!overlaps)
      return false;
  }
  return true;
}

/// The live taps of one dimension (ConvTaps.h) and the padding the im2col
/// copy still needs below and above the input for them.
struct TapWindow {
  int64_t first = 0, last = 0, padLow = 0, padHigh = 0;
};

TapWindow tapWindow(int64_t outSize, int64_t size, int64_t kernel,
                    int64_t stride, int64_t pad, int64_t dilation) {
  LiveTaps live = liveTaps(outSize, size, kernel, stride, pad, dilation);
  TapWindow t{live.first, live.last, 0, 0};
  // Rows read: from -pad + first * dilation to (outSize - 1) * stride - pad
  // + (last - 1) * dilation.
  t.padLow = std::max<int64_t>(0, pad - t.first * dilation);
  t.padHigh = std::max<int64_t>(0, (outSize - 1) * stride - pad +
                                       (t.last - 1) * dilation - (size - 1));
  return t;
}

SmallVector<ReassociationIndices> groups(ArrayRef<ArrayRef<int64_t>> dims) {
  SmallVector<ReassociationIndices> result;
  for (ArrayRef<int64_t> g : dims)
    result.push_back(ReassociationIndices(g.begin(), g.end()));
  return result;
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, shape, elementType);
}

Value transpose(OpBuilder &b, Location loc, Value source,
                ArrayRef<int64_t> permutation) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : permutation)
    shape.push_back(type.getDimSize(p));
  Value init = emptyTensor(b, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(b, loc, source, init, permutation)
      .getResult()[0];
}

/// Whether bm.conv2d `op` has the run structure of an im2col matmul: input
/// blocks span H and W, filter blocks span KH and KW, and every output
/// window overlaps the image.
bool convLowersAsMatmul(Conv2DOp op) {
  BMTensorType inType = op.getInput().getType();
  BMTensorType fType = op.getFilter().getType();
  if (inType.getNumElements() == 0 || fType.getNumElements() == 0)
    return false;
  ArrayRef<int64_t> is = inType.getShape(), fs = fType.getShape();
  ArrayRef<int64_t> ib = inType.getBlock(), fb = fType.getBlock();
  if (ib[2] != is[2] || ib[3] != is[3] || fb[2] != fs[2] || fb[3] != fs[3])
    return false;
  // The matmul takes the vector kernel where its formats allow, else its
  // generic form, whose run sums are vectorized: either beats the scalar
  // scan.
  ArrayRef<int64_t> os = op.getType().getShape();
  if (os[2] == 0 || os[3] == 0)
    return false;
  ArrayRef<int64_t> st = op.getStrides(), pd = op.getPadding(),
                    dl = op.getDilations();
  return everyWindowOverlaps(os[2], is[2], fs[2], st[0], pd[0], dl[0]) &&
         everyWindowOverlaps(os[3], is[3], fs[3], st[1], pd[1], dl[1]);
}

/// The convolution as bm.unpack, an im2col copy of the input codes,
/// bm.pack and bm.matmul (transpose_rhs), with the layout transposes of init
/// and result. Requires convLowersAsMatmul(op).
Value emitConvAsMatmul(OpBuilder &b, Location loc, Conv2DOp op) {
  MLIRContext *context = op.getContext();
  BMTensorType inType = op.getInput().getType();
  BMTensorType fType = op.getFilter().getType();
  auto unpackIn = UnpackOp::create(b, loc, inType.getCodesType(),
                                   inType.getBiasesType(), op.getInput());
  auto unpackF = UnpackOp::create(b, loc, fType.getCodesType(),
                                  fType.getBiasesType(), op.getFilter());
  Value codesIn = unpackIn.getCodes(), biasesIn = unpackIn.getBiases();
  Value codesF = unpackF.getCodes(), biasesF = unpackF.getBiases();
  Value init = op.getInit();
  ArrayRef<int64_t> is = inType.getShape(), fs = fType.getShape();
  ArrayRef<int64_t> ib = inType.getBlock(), fb = fType.getBlock();
  ArrayRef<int64_t> os = op.getType().getShape();
  int64_t N = is[0], C = is[1], F = fs[0];
  int64_t OH = os[2], OW = os[3];
  int64_t sh = op.getStrides()[0], sw = op.getStrides()[1];
  int64_t ph = op.getPadding()[0], pw = op.getPadding()[1];
  int64_t dh = op.getDilations()[0], dw = op.getDilations()[1];

  // The taps that reach the input; the filter's codes sliced to them.
  TapWindow th = tapWindow(OH, is[2], fs[2], sh, ph, dh);
  TapWindow tw = tapWindow(OW, is[3], fs[3], sw, pw, dw);
  int64_t KH = th.last - th.first, KW = tw.last - tw.first;
  if (KH != fs[2] || KW != fs[3]) {
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(0),
                                      b.getIndexAttr(th.first),
                                      b.getIndexAttr(tw.first)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(F), b.getIndexAttr(C),
                                    b.getIndexAttr(KH), b.getIndexAttr(KW)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    codesF =
        tensor::ExtractSliceOp::create(b, loc, codesF, offsets, sizes, strides);
  }

  // Zero-padded input codes (as far as the live taps read).
  Value padded = codesIn;
  auto codesType = cast<RankedTensorType>(codesIn.getType());
  Type codeType = codesType.getElementType();
  if (th.padLow || th.padHigh || tw.padLow || tw.padHigh) {
    SmallVector<int64_t> shape{N, C, is[2] + th.padLow + th.padHigh,
                               is[3] + tw.padLow + tw.padHigh};
    SmallVector<OpFoldResult> low{b.getIndexAttr(0), b.getIndexAttr(0),
                                  b.getIndexAttr(th.padLow),
                                  b.getIndexAttr(tw.padLow)};
    SmallVector<OpFoldResult> high{b.getIndexAttr(0), b.getIndexAttr(0),
                                   b.getIndexAttr(th.padHigh),
                                   b.getIndexAttr(tw.padHigh)};
    Value zero =
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(codeType, 0));
    padded =
        tensor::PadOp::create(b, loc, RankedTensorType::get(shape, codeType),
                              codesIn, low, high, zero);
  }

  // im2col codes [N, OH, OW, C, KH, KW] -> [N*OH*OW, C*KH*KW]: output row
  // oh, live tap kh reads padded row oh * sh + (first + kh) * dh - ph +
  // padLow (>= 0: padLow covers the rows above the input that are read).
  auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
  int64_t offH = th.first * dh - ph + th.padLow;
  int64_t offW = tw.first * dw - pw + tw.padLow;
  AffineMap read = AffineMap::get(
      6, 0,
      {d(0), d(3), d(1) * sh + d(4) * dh + offH, d(2) * sw + d(5) * dw + offW},
      context);
  Value colsInit = emptyTensor(b, loc, {N, OH, OW, C, KH, KW}, codeType);
  Value cols =
      linalg::GenericOp::create(
          b, loc, colsInit.getType(), ValueRange{padded}, ValueRange{colsInit},
          ArrayRef<AffineMap>{read, b.getMultiDimIdentityMap(6)},
          SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            linalg::YieldOp::create(b, loc, args[0]);
          })
          .getResult(0);
  int64_t rows = N * OH * OW, depth = C * KH * KW;
  Value lhsCodes = tensor::CollapseShapeOp::create(
      b, loc, cols, groups({{0, 1, 2}, {3, 4, 5}}));
  Value lhsBiases = tensor::CollapseShapeOp::create(b, loc, biasesIn,
                                                    groups({{0}, {1, 2, 3}}));
  Value rhsCodes =
      tensor::CollapseShapeOp::create(b, loc, codesF, groups({{0}, {1, 2, 3}}));
  Value rhsBiases = tensor::CollapseShapeOp::create(b, loc, biasesF,
                                                    groups({{0}, {1, 2, 3}}));

  auto lhsType = BMTensorType::get({rows, depth}, inType.getFormat(),
                                   {ib[0] * OH * OW, ib[1] * KH * KW});
  auto rhsType = BMTensorType::get({F, depth}, fType.getFormat(),
                                   {fb[0], fb[1] * KH * KW});
  // The reshaped biases are the operands' block grids: ceil(N*OH*OW /
  // (bn*OH*OW)) = ceil(N / bn), and so on.
  assert(lhsType.getBiasesType() == lhsBiases.getType() &&
         rhsType.getBiasesType() == rhsBiases.getType() &&
         "im2col operands: bias grids differ");
  Value lhs = PackOp::create(b, loc, lhsType, lhsCodes, lhsBiases);
  Value rhs = PackOp::create(b, loc, rhsType, rhsCodes, rhsBiases);

  // init [N, F, OH, OW] -> [N*OH*OW, F]; the result back.
  Value init2 = tensor::CollapseShapeOp::create(
      b, loc, transpose(b, loc, init, {0, 2, 3, 1}), groups({{0, 1, 2}, {3}}));
  auto resultType = RankedTensorType::get({rows, F}, b.getF32Type());
  auto product = MatmulOp::create(b, loc, resultType, lhs, rhs, init2,
                                  /*transpose_lhs=*/false,
                                  /*transpose_rhs=*/true, op.getRelaxed());
  // The convolution's discardable attributes (bm.roles, bm.index: input
  // and filter are lhs and rhs in that order).
  for (NamedAttribute attr : op->getDiscardableAttrs())
    product->setAttr(attr.getName(), attr.getValue());
  Value expanded = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({N, OH, OW, F}, b.getF32Type()), product,
      groups({{0, 1, 2}, {3}}));
  return transpose(b, loc, expanded, {0, 3, 1, 2});
}

struct BMConvToMatmulPass
    : public mlir::bm::impl::BMConvToMatmulBase<BMConvToMatmulPass> {
  void runOnOperation() override {
    SmallVector<Conv2DOp> convs;
    getOperation().walk([&](Conv2DOp op) {
      if (convLowersAsMatmul(op))
        convs.push_back(op);
    });
    OpBuilder b(&getContext());
    for (Conv2DOp op : convs) {
      b.setInsertionPoint(op);
      op.getResult().replaceAllUsesWith(emitConvAsMatmul(b, op.getLoc(), op));
      op.erase();
    }
  }
};

} // namespace
