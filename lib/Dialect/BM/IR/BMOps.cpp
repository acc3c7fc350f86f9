//===- BMOps.cpp - Block Minifloat operations -----------------------------===//

#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::bm;

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

static ParseResult parseRoundingKeyword(OpAsmParser &parser,
                                        RoundingAttr &rounding) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseOptionalKeyword(&keyword))
    return parser.emitError(loc, "expected a rounding mode: nearest, "
                                 "stochastic or zero");
  std::optional<Rounding> mode = symbolizeRounding(keyword);
  if (!mode)
    return parser.emitError(loc, "unknown rounding mode '")
           << keyword << "'; expected nearest, stochastic or zero";
  rounding = RoundingAttr::get(parser.getContext(), *mode);
  return success();
}

static void printRoundingKeyword(OpAsmPrinter &printer, Operation *,
                                 RoundingAttr rounding) {
  printer << stringifyRounding(rounding.getValue());
}

/// `scale(floor)` or `scale(fit)`, optional; the default, floor, is
/// elided when printing.
static ParseResult parseScaleRuleKeyword(OpAsmParser &parser,
                                         ScaleRuleAttr &scale) {
  if (parser.parseOptionalKeyword("scale"))
    return success(); // the default
  if (parser.parseLParen())
    return failure();
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseOptionalKeyword(&keyword))
    return parser.emitError(loc, "expected a scale rule in scale(...): "
                                 "floor or fit");
  std::optional<ScaleRule> rule = symbolizeScaleRule(keyword);
  if (!rule)
    return parser.emitError(loc, "unknown scale rule '")
           << keyword << "'; expected floor or fit";
  scale = ScaleRuleAttr::get(parser.getContext(), *rule);
  return parser.parseRParen();
}

static void printScaleRuleKeyword(OpAsmPrinter &printer, Operation *,
                                  ScaleRuleAttr scale) {
  if (scale && scale.getValue() != ScaleRule::floor)
    printer << "scale(" << stringifyScaleRule(scale.getValue()) << ")";
}

static ParseResult parseFormatKeyword(OpAsmParser &parser, FormatAttr &format) {
  // Reuse the attribute parser's body: `<e2m3>` without the brackets.
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<::bm::numerics::Format> parsed =
      ::bm::numerics::Format::parse(keyword);
  if (!parsed) {
    // Distinguish "not eXmY" from "eXmY out of range" for the user.
    return parser.emitError(loc, "'")
           << keyword
           << "' is not a valid element format; write eXmY with "
              "0 <= X <= 8 exponent bits, 0 <= Y <= 23 mantissa bits and "
              "X + Y >= 1, e.g. e2m3";
  }
  format = FormatAttr::get(parser.getContext(), parsed->e, parsed->m);
  return success();
}

static void printFormatKeyword(OpAsmPrinter &printer, Operation *,
                               FormatAttr format) {
  printer << format.getName();
}

#define GET_OP_CLASSES
#include "bm/Dialect/BM/IR/BMOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << '?';
        else
          os << d;
      },
      "x");
  return s;
}

static LogicalResult verifyKulischWidth(Operation *op, FormatAttr a,
                                        FormatAttr b, int64_t maxRun) {
  if (maxRun <= 0)
    return success();
  int width =
      ::bm::numerics::kulischWidth(a.getNumerics(), b.getNumerics(), maxRun);
  if (width > 64)
    return op->emitOpError("needs a ")
           << width << "-bit exact accumulator for " << a.getName() << " x "
           << b.getName() << " runs of up to " << maxRun
           << " terms, more than the 64 bits supported; use narrower "
              "formats or smaller blocks along the reduction";
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  auto resultType = getResult().getType();
  if (getInput().getType().getShape() != resultType.getShape())
    return emitOpError("input shape ")
           << shapeString(getInput().getType().getShape())
           << " differs from result shape "
           << shapeString(resultType.getShape())
           << "; quantize keeps the shape";
  bool stochastic = getRounding() == Rounding::stochastic;
  if (stochastic && !getSeed())
    return emitOpError("stochastic rounding needs a seed: add `seed %s` "
                       "with an i64 value");
  if (!stochastic && getSeed())
    return emitOpError("rounding '")
           << stringifyRounding(getRounding())
           << "' takes no seed; remove `seed` or use stochastic rounding";
  return success();
}

/// True if every value of `format` with a bias that bm.quantize can produce
/// is exact in float32, so that dequantize followed by quantize to the same
/// type gives back the same values.
static bool dequantizeIsExact(FormatAttr format) {
  ::bm::numerics::Format f = format.getNumerics();
  // Smallest magnitude: one unit at beta = 127, i.e. 2^(emax - 127 + c);
  // float32's smallest subnormal is 2^-149. The largest magnitude,
  // 2^s * (2 - 2^-m) with s = emax - beta <= 127, is always finite.
  return f.emax() - 127 + f.c() >= -149;
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  // quantize(dequantize(%q)) -> %q: every value of %q is on the grid of its
  // own format and block, so it rounds to itself in every mode, under
  // either scale rule. The requantized block maximum M' has at most m+1
  // significant bits (m for e = 0) and is at most qmax * 2^(s+c), so it
  // never exceeds the largest magnitude of its own binade: `fit` raises no
  // block, and both rules pick floor(log2 M') <= s, a grid on which every
  // value of the block is exact. (A block whose maximum rounded down out
  // of its top binade, as under fit, may come back with a smaller bias and
  // the same values.) The reverse order is a rounding and is never folded.
  auto dequantize = getInput().getDefiningOp<DequantizeOp>();
  if (!dequantize || dequantize.getInput().getType() != getType())
    return {};
  if (!dequantizeIsExact(getType().getFormat()))
    return {};
  return dequantize.getInput();
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  if (getInput().getType().getShape() != getResult().getType().getShape())
    return emitOpError("result shape ")
           << shapeString(getResult().getType().getShape())
           << " differs from input shape "
           << shapeString(getInput().getType().getShape())
           << "; dequantize keeps the shape";
  return success();
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

int64_t MatmulOp::getReductionSize() {
  BMTensorType lhs = getLhs().getType();
  int64_t rank = lhs.getRank();
  return getTransposeLhs() ? lhs.getShape()[rank - 2]
                           : lhs.getShape()[rank - 1];
}

std::pair<int64_t, int64_t> MatmulOp::getReductionBlockSizes() {
  BMTensorType lhs = getLhs().getType(), rhs = getRhs().getType();
  int64_t rank = lhs.getRank();
  int64_t a =
      getTransposeLhs() ? lhs.getBlock()[rank - 2] : lhs.getBlock()[rank - 1];
  int64_t b =
      getTransposeRhs() ? rhs.getBlock()[rank - 1] : rhs.getBlock()[rank - 2];
  return {a, b};
}

int64_t MatmulOp::getMaxRunLength() {
  auto [a, b] = getReductionBlockSizes();
  return ::bm::numerics::maxRunLength(getReductionSize(), a, b);
}

int MatmulOp::getKulischWidth() {
  return ::bm::numerics::kulischWidth(
      getLhs().getType().getFormat().getNumerics(),
      getRhs().getType().getFormat().getNumerics(), getMaxRunLength());
}

LogicalResult MatmulOp::verify() {
  BMTensorType lhs = getLhs().getType(), rhs = getRhs().getType();
  auto init = getInit().getType();
  int64_t rank = lhs.getRank();
  if (rank != 2 && rank != 3)
    return emitOpError("expects rank-2 operands, or rank-3 for a batched "
                       "matmul; lhs has rank ")
           << rank;
  if (rhs.getRank() != rank || init.getRank() != rank)
    return emitOpError("lhs, rhs and init must have the same rank; got ")
           << rank << ", " << rhs.getRank() << " and " << init.getRank();

  ArrayRef<int64_t> ls = lhs.getShape(), rs = rhs.getShape();
  bool tl = getTransposeLhs(), tr = getTransposeRhs();
  int64_t m = tl ? ls[rank - 1] : ls[rank - 2];
  int64_t kl = tl ? ls[rank - 2] : ls[rank - 1];
  int64_t kr = tr ? rs[rank - 1] : rs[rank - 2];
  int64_t n = tr ? rs[rank - 2] : rs[rank - 1];
  if (kl != kr)
    return emitOpError("contracted dimensions differ: lhs has K = ")
           << kl << " but rhs has K = " << kr
           << (tl || tr ? " (after the requested transposes)" : "");
  SmallVector<int64_t> expected;
  if (rank == 3) {
    if (ls[0] != rs[0])
      return emitOpError("batch sizes differ: lhs has ")
             << ls[0] << ", rhs has " << rs[0];
    expected.push_back(ls[0]);
  }
  expected.append({m, n});
  if (init.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("init has shape ")
           << shapeString(init.getShape()) << " but the product has shape "
           << shapeString(expected);
  if (getResult().getType() != init)
    return emitOpError("result type must equal the init type ") << init;
  return verifyKulischWidth(*this, lhs.getFormat(), rhs.getFormat(),
                            getMaxRunLength());
}

//===----------------------------------------------------------------------===//
// Conv2DOp
//===----------------------------------------------------------------------===//

int64_t Conv2DOp::getMaxRunLength() {
  BMTensorType input = getInput().getType(), filter = getFilter().getType();
  ArrayRef<int64_t> fs = filter.getShape(), fb = filter.getBlock();
  ArrayRef<int64_t> ib = input.getBlock();
  ArrayRef<int64_t> dil = getDilations();
  // A run stays inside one filter block: at most its (c, kh, kw) volume.
  int64_t filterBound = fb[1] * fb[2] * fb[3];
  // ... and inside one input block: a block of height bh holds the taps of
  // at most (bh - 1) / dh + 1 filter rows (likewise for columns).
  int64_t rows = std::min(fs[2], (ib[2] - 1) / dil[0] + 1);
  int64_t cols = std::min(fs[3], (ib[3] - 1) / dil[1] + 1);
  int64_t inputBound = ib[1] * rows * cols;
  return std::min({filterBound, inputBound, fs[1] * fs[2] * fs[3]});
}

int Conv2DOp::getKulischWidth() {
  return ::bm::numerics::kulischWidth(
      getInput().getType().getFormat().getNumerics(),
      getFilter().getType().getFormat().getNumerics(), getMaxRunLength());
}

LogicalResult Conv2DOp::verify() {
  BMTensorType input = getInput().getType(), filter = getFilter().getType();
  auto init = getInit().getType();
  if (input.getRank() != 4 || filter.getRank() != 4 || init.getRank() != 4)
    return emitOpError("expects a rank-4 NCHW input, FCHW filter and NFHW "
                       "init; got ranks ")
           << input.getRank() << ", " << filter.getRank() << " and "
           << init.getRank();
  for (auto [name, attr] :
       {std::pair<StringRef, ArrayRef<int64_t>>{"strides", getStrides()},
        {"padding", getPadding()},
        {"dilations", getDilations()}}) {
    if (attr.size() != 2)
      return emitOpError() << name << " must have 2 entries [h, w], got "
                           << attr.size();
    int64_t least = name == "padding" ? 0 : 1;
    for (int64_t v : attr)
      if (v < least)
        return emitOpError()
               << name << " must be >= " << least << ", got " << v;
  }
  ArrayRef<int64_t> is = input.getShape(), fs = filter.getShape();
  if (is[1] != fs[1])
    return emitOpError("input has ")
           << is[1] << " channels but the filter expects " << fs[1];
  SmallVector<int64_t> expected = {is[0], fs[0]};
  for (int i = 0; i < 2; ++i) {
    int64_t padded = is[2 + i] + 2 * getPadding()[i];
    int64_t extent = getDilations()[i] * (fs[2 + i] - 1) + 1;
    if (extent > padded)
      return emitOpError("the dilated filter spans ")
             << extent << " pixels but the padded input has only " << padded
             << " along " << (i == 0 ? "H" : "W")
             << "; add padding or use a smaller filter";
    expected.push_back((padded - extent) / getStrides()[i] + 1);
  }
  if (init.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("init has shape ")
           << shapeString(init.getShape()) << " but the convolution produces "
           << shapeString(expected);
  if (getResult().getType() != init)
    return emitOpError("result type must equal the init type ") << init;
  return verifyKulischWidth(*this, input.getFormat(), filter.getFormat(),
                            getMaxRunLength());
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  BMTensorType input = getInput().getType();
  ArrayRef<int64_t> perm = getPermutation();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOpError("permutation has ")
           << perm.size() << " entries but the input has rank "
           << input.getRank();
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return emitOpError("permutation must list each dimension 0..")
             << input.getRank() - 1 << " exactly once";
    seen[p] = true;
  }
  BMTensorType expected = input.getTransposed(perm);
  if (getResult().getType() != expected)
    return emitOpError("result type must be ")
           << expected
           << " (the input with its dimensions and blocks permuted)";
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return getInput();
  // transpose(transpose(x, p), q) == x when q undoes p; both are exact.
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> innerPerm = inner.getPermutation();
    bool identity = true;
    for (auto [i, p] : llvm::enumerate(perm))
      identity &= innerPerm[p] == static_cast<int64_t>(i);
    if (identity)
      return inner.getInput();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// PackOp / UnpackOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyParts(Operation *op, BMTensorType type,
                                 RankedTensorType codes,
                                 RankedTensorType biases) {
  if (codes != type.getCodesType())
    return op->emitOpError("codes must have type ")
           << type.getCodesType() << " for " << type << ", got " << codes;
  if (biases != type.getBiasesType())
    return op->emitOpError("biases must have type ")
           << type.getBiasesType() << " (one i8 per block) for " << type
           << ", got " << biases;
  return success();
}

LogicalResult PackOp::verify() {
  return verifyParts(*this, getResult().getType(), getCodes().getType(),
                     getBiases().getType());
}

OpFoldResult PackOp::fold(FoldAdaptor) {
  auto unpack = getCodes().getDefiningOp<UnpackOp>();
  if (unpack && getBiases().getDefiningOp<UnpackOp>() == unpack &&
      unpack.getCodes() == getCodes() && unpack.getBiases() == getBiases() &&
      unpack.getInput().getType() == getType())
    return unpack.getInput();
  return {};
}

LogicalResult UnpackOp::verify() {
  return verifyParts(*this, getInput().getType(), getCodes().getType(),
                     getBiases().getType());
}

LogicalResult UnpackOp::fold(FoldAdaptor,
                             SmallVectorImpl<OpFoldResult> &results) {
  auto pack = getInput().getDefiningOp<PackOp>();
  if (!pack)
    return failure();
  results.push_back(pack.getCodes());
  results.push_back(pack.getBiases());
  return success();
}

//===----------------------------------------------------------------------===//
// FmaOp
//===----------------------------------------------------------------------===//

/// Narrowest signed integer width holding an integer form of `format`, or 0
/// if it needs more than 64 bits.
static unsigned integerFormBits(FormatAttr format) {
  int bits = format.getNumerics().qmaxBits() + 1;
  for (unsigned w : {8u, 16u, 32u, 64u})
    if (bits <= static_cast<int>(w))
      return w;
  return 0;
}

LogicalResult DecodeOp::verify() {
  FormatAttr format = getFormat();
  unsigned codeBits = getElementTypeOrSelf(getCode()).getIntOrFloatBitWidth();
  if (static_cast<int>(codeBits) < format.getNumerics().codeBits())
    return emitOpError() << format.getName() << " codes need "
                         << format.getNumerics().codeBits()
                         << " bits, but the code type has " << codeBits;
  unsigned needed = format.getNumerics().qmaxBits() + 1;
  unsigned have = getElementTypeOrSelf(getResult()).getIntOrFloatBitWidth();
  if (have < needed)
    return emitOpError() << format.getName() << " integer forms need " << needed
                         << " bits with the sign, but the result type has "
                         << have << "; use i" << integerFormBits(format);
  return success();
}

LogicalResult FmaOp::verify() {
  Type lhsType = getLhs().getType(), rhsType = getRhs().getType();
  auto lhsVector = dyn_cast<VectorType>(lhsType);
  auto rhsVector = dyn_cast<VectorType>(rhsType);
  if (static_cast<bool>(lhsVector) != static_cast<bool>(rhsVector) ||
      (lhsVector && lhsVector.getShape() != rhsVector.getShape()))
    return emitOpError("lhs and rhs must both be scalars or vectors of the "
                       "same shape; got ")
           << lhsType << " and " << rhsType;
  for (auto [side, type, format] :
       {std::tuple<StringRef, Type, FormatAttr>{"lhs", lhsType, getLhsFormat()},
        {"rhs", rhsType, getRhsFormat()}}) {
    unsigned needed = format.getNumerics().qmaxBits() + 1;
    unsigned have = getElementTypeOrSelf(type).getIntOrFloatBitWidth();
    if (have < needed)
      return emitOpError() << side << " holds " << format.getName()
                           << " integer forms, which need " << needed
                           << " bits with the sign, but its element type has "
                           << have;
  }
  int64_t terms = lhsVector ? lhsVector.getNumElements() : 1;
  int width = ::bm::numerics::kulischWidth(getLhsFormat().getNumerics(),
                                           getRhsFormat().getNumerics(), terms);
  unsigned have = getAcc().getType().getWidth();
  if (width > static_cast<int>(have))
    return emitOpError("adding ")
           << terms << " " << getLhsFormat().getName() << " x "
           << getRhsFormat().getName() << " products needs a " << width
           << "-bit accumulator but it has " << have
           << " bits; use !bm.kulisch<" << width << "> or wider";
  return success();
}
