//===- BMTypes.cpp - Block Minifloat attributes and types -----------------===//

#include "bm/Dialect/BM/IR/BMTypes.h"
#include "bm/Dialect/BM/IR/BMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::bm;

#include "bm/Dialect/BM/IR/BMEnums.cpp.inc"

// `e2m3` in an attribute's assembly (custom<ElementFormat>).
static ParseResult parseElementFormat(AsmParser &parser, FormatAttr &format);
static void printElementFormat(AsmPrinter &printer, FormatAttr format);

#define GET_ATTRDEF_CLASSES
#include "bm/Dialect/BM/IR/BMAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "bm/Dialect/BM/IR/BMOpsTypes.cpp.inc"

void BMDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "bm/Dialect/BM/IR/BMAttrs.cpp.inc"
      >();
}

void BMDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "bm/Dialect/BM/IR/BMOpsTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// FormatAttr
//===----------------------------------------------------------------------===//

/// Parses the single token `eXmY` (a declarative format cannot split it).
static FailureOr<FormatAttr> parseFormatKeyword(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return parser.emitError(loc, "expected an element format such as "
                                 "'e2m3' (e exponent bits, m mantissa bits)");
  unsigned e = 0, m = 0;
  StringRef rest = keyword;
  bool wellFormed =
      rest.consume_front("e") && !rest.empty() && llvm::isDigit(rest.front());
  if (wellFormed) {
    size_t mPos = rest.find('m');
    wellFormed = mPos != StringRef::npos &&
                 !rest.take_front(mPos).getAsInteger(10, e) &&
                 !rest.drop_front(mPos + 1).empty() &&
                 !rest.drop_front(mPos + 1).getAsInteger(10, m);
  }
  if (!wellFormed)
    return parser.emitError(loc, "'")
           << keyword
           << "' is not an element format; write eXmY with X exponent bits "
              "and Y mantissa bits, e.g. e2m3";
  FormatAttr attr = FormatAttr::getChecked(
      [&] { return parser.emitError(loc); }, parser.getContext(), e, m);
  if (!attr)
    return failure();
  return attr;
}

static ParseResult parseElementFormat(AsmParser &parser, FormatAttr &format) {
  FailureOr<FormatAttr> parsed = parseFormatKeyword(parser);
  if (failed(parsed))
    return failure();
  format = *parsed;
  return success();
}

static void printElementFormat(AsmPrinter &printer, FormatAttr format) {
  printer << format.getName();
}

Attribute FormatAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<FormatAttr> attr = parseFormatKeyword(parser);
  if (failed(attr) || parser.parseGreater())
    return {};
  return *attr;
}

void FormatAttr::print(AsmPrinter &printer) const {
  printer << '<' << getName() << '>';
}

LogicalResult FormatAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 unsigned exponentBits, unsigned mantissaBits) {
  std::string problem = ::bm::numerics::Format::validate(
      static_cast<int>(exponentBits), static_cast<int>(mantissaBits));
  if (!problem.empty())
    return emitError() << problem;
  return success();
}

//===----------------------------------------------------------------------===//
// QuantCodesAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantCodesAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       FormatAttr format, ArrayRef<int64_t> block,
                       Rounding rounding, ScaleRule scale) {
  if (!format)
    return emitError() << "#bm.quant_codes needs an element format";
  if (block.empty() || llvm::any_of(block, [](int64_t b) { return b < 1; }))
    return emitError() << "#bm.quant_codes block sizes must be positive, got ["
                       << block << "]";
  return success();
}

//===----------------------------------------------------------------------===//
// BMTensorType
//===----------------------------------------------------------------------===//

SmallVector<int64_t>
BMTensorType::normalizeBlockShape(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> block) {
  SmallVector<int64_t> normalized(block);
  if (block.size() != shape.size())
    return normalized; // The verifier reports the mismatch.
  for (auto [b, dim] : llvm::zip_equal(normalized, shape)) {
    if (ShapedType::isDynamic(dim))
      continue; // The verifier reports it.
    // A zero-size dimension has no blocks; keep a size of 1 so that the
    // block-grid arithmetic stays well defined.
    int64_t whole = std::max<int64_t>(dim, 1);
    if (b <= 0 || b > whole)
      b = whole;
  }
  return normalized;
}

LogicalResult BMTensorType::verify(function_ref<InFlightDiagnostic()> emitError,
                                   ArrayRef<int64_t> shape, FormatAttr format,
                                   ArrayRef<int64_t> block) {
  if (!format)
    return emitError() << "a BM tensor needs an element format";
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (ShapedType::isDynamic(dim))
      return emitError() << "dimension " << i
                         << " is dynamic; BM tensors need a static shape";
    if (dim < 0)
      return emitError() << "dimension " << i << " has negative size " << dim;
  }
  // Element and byte counts are int64_t everywhere (lowering, report).
  int64_t elements = 1;
  for (int64_t dim : shape)
    if (llvm::MulOverflow(elements, dim, elements))
      return emitError() << "a BM tensor has at most 2^63 - 1 elements; "
                            "this shape has more";
  if (block.size() != shape.size())
    return emitError() << "block shape has " << block.size()
                       << " sizes but the tensor has rank " << shape.size()
                       << "; give one block size per dimension (0 means the "
                          "whole dimension)";
  for (auto [i, b] : llvm::enumerate(block)) {
    int64_t whole = std::max<int64_t>(shape[i], 1);
    if (b < 1 || b > whole)
      return emitError() << "block size " << b << " of dimension " << i
                         << " must be in [1, " << whole
                         << "] (use 0 for the whole dimension)";
  }
  return success();
}

Type BMTensorType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/true,
                                /*withTrailingX=*/true))
    return {};
  for (auto [i, dim] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(dim)) {
      parser.emitError(loc) << "dimension " << i
                            << " is dynamic ('?'); BM tensors need a "
                               "static shape";
      return {};
    }
  FailureOr<FormatAttr> format = parseFormatKeyword(parser);
  if (failed(format))
    return {};

  SmallVector<int64_t> block(shape.size(), 0);
  if (succeeded(parser.parseOptionalComma())) {
    SMLoc blockLoc = parser.getCurrentLocation();
    block.clear();
    if (parser.parseKeyword("block") || parser.parseEqual() ||
        parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                       [&]() -> ParseResult {
                                         int64_t b;
                                         if (parser.parseInteger(b))
                                           return failure();
                                         block.push_back(b);
                                         return success();
                                       }))
      return {};
    for (int64_t b : block)
      if (b < -1) {
        parser.emitError(blockLoc)
            << "block size " << b
            << " is invalid; use a positive size, or 0 or -1 for the whole "
               "dimension";
        return {};
      }
  }
  if (parser.parseGreater())
    return {};
  return BMTensorType::getChecked([&] { return parser.emitError(loc); }, shape,
                                  *format, block);
}

void BMTensorType::print(AsmPrinter &printer) const {
  printer << '<';
  for (int64_t dim : getShape())
    printer << dim << 'x';
  printer << getFormat().getName() << ", block = [";
  llvm::interleaveComma(getBlock(), printer);
  printer << "]>";
}

int64_t BMTensorType::getNumElements() const {
  int64_t n = 1;
  for (int64_t dim : getShape())
    n *= dim;
  return n;
}

SmallVector<int64_t> BMTensorType::getBlockGridShape() const {
  SmallVector<int64_t> grid;
  for (auto [dim, b] : llvm::zip_equal(getShape(), getBlock()))
    grid.push_back(llvm::divideCeil(dim, b));
  return grid;
}

int64_t BMTensorType::getNumBlocks() const {
  int64_t n = 1;
  for (int64_t g : getBlockGridShape())
    n *= g;
  return n;
}

unsigned BMTensorType::getCodeBitWidth() const {
  return getFormat().getNumerics().storageBits();
}

RankedTensorType BMTensorType::getCodesType() const {
  return RankedTensorType::get(
      getShape(), IntegerType::get(getContext(), getCodeBitWidth()));
}

RankedTensorType BMTensorType::getBiasesType() const {
  return RankedTensorType::get(getBlockGridShape(),
                               IntegerType::get(getContext(), 8));
}

BMTensorType BMTensorType::getTransposed(ArrayRef<int64_t> permutation) const {
  SmallVector<int64_t> shape, block;
  for (int64_t p : permutation) {
    shape.push_back(getShape()[p]);
    block.push_back(getBlock()[p]);
  }
  return BMTensorType::get(shape, getFormat(), block);
}

//===----------------------------------------------------------------------===//
// KulischType
//===----------------------------------------------------------------------===//

LogicalResult KulischType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  unsigned width) {
  if (width < 2 || width > 64)
    return emitError() << "Kulisch accumulator width must be between 2 and "
                          "64 bits, got "
                       << width
                       << "; split longer sums into shorter runs or use "
                          "narrower formats";
  return success();
}

IntegerType KulischType::getStorageType() const {
  return IntegerType::get(getContext(),
                          ::bm::numerics::kulischStorageBits(getWidth()));
}
