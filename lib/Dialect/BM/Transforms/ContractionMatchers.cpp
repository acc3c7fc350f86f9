//===- ContractionMatchers.cpp - FP32 contractions as BM ops --------------===//
//
// One matcher per form (see ContractionMatchers.h and docs/training.md):
// matchConv2D for the named 2-D convolutions, matchMatmulLike for every
// contraction whose indexing maps are projected permutations, and
// matchContraction, which also names the reason for everything else.
//
//===----------------------------------------------------------------------===//

#include "ContractionMatchers.h"

#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::training;

SmallVector<int64_t> OperandPlan::getQuantizedShape() const {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(source.getType()).getShape();
  if (collapse.empty())
    return SmallVector<int64_t>(shape);
  SmallVector<int64_t> result;
  for (const ReassociationIndices &group : collapse) {
    int64_t size = 1;
    for (int64_t i : group)
      size *= shape[i];
    result.push_back(size);
  }
  return result;
}

namespace {

//===----------------------------------------------------------------------===//
// Checks shared by every form
//===----------------------------------------------------------------------===//

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

/// Why the op's operands are not static f32 tensors, or "".
std::string checkOperandTypes(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return "it works on buffers; run bm-quantize-training on tensors, "
           "before bufferization";
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return llvm::formatv("it has {0} input(s) and {1} output(s); a BM "
                         "contraction has two inputs and one output",
                         op.getNumDpsInputs(), op.getNumDpsInits());
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type)
      return llvm::formatv("operand #{0} is not a ranked tensor",
                           operand.getOperandNumber());
    if (!type.getElementType().isF32())
      return llvm::formatv("operand #{0} is {1}, not f32 (BM quantizes f32 "
                           "tensors)",
                           operand.getOperandNumber(), typeString(type));
    if (!type.hasStaticShape())
      return llvm::formatv("operand #{0} has a dynamic shape ({1}); BM "
                           "tensors have static shapes",
                           operand.getOperandNumber(), typeString(type));
  }
  return "";
}

/// Whether the body is exactly `acc + a * b` of the two inputs: anything
/// else (a negation, a cast, another reduction) would be dropped by the
/// rewrite.
bool isMulAddBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (!body || body->getNumArguments() != 3 ||
      body->getOperations().size() != 3)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield->getNumOperands() != 1)
    return false;
  auto add = yield->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != body)
    return false;
  Value a = body->getArgument(0), b = body->getArgument(1),
        acc = body->getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || mul->getBlock() != body)
    return false;
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// Checks common to all forms; "" when the op may be rewritten.
std::string checkCommon(linalg::LinalgOp op) {
  if (std::string why = checkOperandTypes(op); !why.empty())
    return why;
  if (!isMulAddBody(op))
    return "its body is not exactly a multiply-add of its two operands";
  return "";
}

int64_t countMacs(linalg::LinalgOp op) {
  int64_t macs = 1;
  for (int64_t size : op.getStaticLoopRanges())
    macs *= size;
  return macs;
}

SmallVector<ReassociationIndices> identityGroups(int64_t rank) {
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i)
    groups.push_back({i});
  return groups;
}

bool isIdentity(ArrayRef<ReassociationIndices> groups) {
  return llvm::all_of(
      groups, [](const ReassociationIndices &g) { return g.size() == 1; });
}

/// The groups `outer` (over the dims of collapse(x, inner)) as groups over
/// the dims of x.
SmallVector<ReassociationIndices>
composeGroups(ArrayRef<ReassociationIndices> inner,
              ArrayRef<ReassociationIndices> outer) {
  SmallVector<ReassociationIndices> result;
  for (const ReassociationIndices &group : outer) {
    ReassociationIndices merged;
    for (int64_t i : group)
      llvm::append_range(merged, inner[i]);
    result.push_back(merged);
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

/// A named 2-D convolution layout, as permutations to bm.conv2d's NCHW input,
/// FCHW filter and NFHW result (dim i of those = dim perm[i] of the op's
/// operand; empty = already so), and where H and W are in the input.
struct ConvLayout {
  SmallVector<int64_t> input, filter, output;
  std::array<unsigned, 2> spatial;
};

std::optional<ConvLayout> getConvLayout(Operation *op) {
  if (isa<linalg::Conv2DNchwFchwOp>(op))
    return ConvLayout{{}, {}, {}, {2, 3}};
  if (isa<linalg::Conv2DNhwcFhwcOp>(op))
    return ConvLayout{{0, 3, 1, 2}, {0, 3, 1, 2}, {0, 3, 1, 2}, {1, 2}};
  if (isa<linalg::Conv2DNhwcHwcfOp>(op))
    return ConvLayout{{0, 3, 1, 2}, {3, 2, 0, 1}, {0, 3, 1, 2}, {1, 2}};
  return std::nullopt;
}

/// A zero tensor.pad of the two spatial dims only, the same on both
/// sides, in front of a convolution input: its source and the padding.
std::optional<std::pair<Value, SmallVector<int64_t>>>
matchSpatialPad(Value input, std::array<unsigned, 2> spatial) {
  auto pad = input.getDefiningOp<tensor::PadOp>();
  if (!pad)
    return std::nullopt;
  ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
  Value padValue = pad.getConstantPaddingValue();
  bool zero = padValue && matchPattern(padValue, m_AnyZeroFloat()) &&
              !matchPattern(padValue, m_NegZeroFloat());
  if (!zero || low.size() != 4 || low != high ||
      !isa<RankedTensorType>(pad.getSource().getType()) ||
      !pad.getSourceType().hasStaticShape())
    return std::nullopt;
  for (unsigned i = 0; i < 4; ++i) {
    bool isSpatial = llvm::is_contained(spatial, i);
    if (ShapedType::isDynamic(low[i]) || (!isSpatial && low[i] != 0))
      return std::nullopt;
  }
  return std::make_pair(pad.getSource(),
                        SmallVector<int64_t>{low[spatial[0]], low[spatial[1]]});
}

/// Why a convolution other than the three named forms stays in FP32.
std::string convolutionReason(linalg::LinalgOp op) {
  if (std::string why = checkOperandTypes(op); !why.empty())
    return why;
  if (!isMulAddBody(op))
    return "it is a pooling or another window reduction, not a "
           "multiply-add of two tensors";
  FailureOr<linalg::ConvolutionDimensions> dims =
      linalg::inferConvolutionDims(op);
  if (succeeded(dims) && !dims->depth.empty())
    return "it is a grouped or depthwise convolution (some channels are "
           "not summed over); bm.conv2d sums over all input channels";
  if (succeeded(dims) && dims->outputImage.size() != 2)
    return llvm::formatv("it is a {0}-D convolution; bm.conv2d is 2-D",
                         dims->outputImage.size());
  return (Twine(isa<linalg::GenericOp>(op)
                    ? "it is a convolution written as linalg.generic"
                    : "its layout is not one that bm.conv2d reads") +
          "; the named linalg.conv_2d_nchw_fchw, linalg.conv_2d_nhwc_fhwc "
          "and linalg.conv_2d_nhwc_hwcf are rewritten")
      .str();
}

//===----------------------------------------------------------------------===//
// Matmul-like contractions
//===----------------------------------------------------------------------===//

/// An operand as collapse(source, collapse), up to a permutation of dims:
/// `dims[j]` is the loop dim that indexes dim j of collapse(source).
struct OperandView {
  Value source;
  SmallVector<ReassociationIndices> collapse;
  SmallVector<unsigned> dims;
};

std::optional<OperandView> directView(Value operand, AffineMap map) {
  OperandView view;
  view.source = operand;
  view.collapse = identityGroups(map.getNumResults());
  for (AffineExpr e : map.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d)
      return std::nullopt;
    view.dims.push_back(d.getPosition());
  }
  return view;
}

/// The permutation of a linalg.generic that only transposes its input
/// (result dim i = input dim perm[i]).
std::optional<SmallVector<int64_t>> transposeOf(linalg::GenericOp generic) {
  std::optional<AffineMap> in = getMovedInputMap(generic);
  if (!in || !in->isPermutation())
    return std::nullopt;
  SmallVector<int64_t> perm(in->getNumResults());
  for (auto [j, e] : llvm::enumerate(in->getResults()))
    perm[cast<AffineDimExpr>(e).getPosition()] = j;
  return perm;
}

/// Steps back over a transpose: view = collapse(T(u)) with T(u) dim i = u
/// dim perm[i]. Possible when each collapsed group reads consecutive u
/// dims in order; then view = collapse(u) permuted.
bool stepOverTranspose(OperandView &view, Value input, ArrayRef<int64_t> perm) {
  struct Run {
    int64_t start;
    unsigned group;
  };
  SmallVector<Run> runs;
  for (auto [j, group] : llvm::enumerate(view.collapse)) {
    int64_t start = perm[group.front()];
    for (auto [k, i] : llvm::enumerate(group))
      if (perm[i] != start + static_cast<int64_t>(k))
        return false;
    runs.push_back({start, static_cast<unsigned>(j)});
  }
  llvm::sort(runs,
             [](const Run &a, const Run &b) { return a.start < b.start; });
  SmallVector<ReassociationIndices> collapse;
  SmallVector<unsigned> dims(view.dims.size());
  for (auto [k, run] : llvm::enumerate(runs)) {
    ReassociationIndices group;
    for (size_t i = 0; i < view.collapse[run.group].size(); ++i)
      group.push_back(run.start + i);
    collapse.push_back(group);
    dims[k] = view.dims[run.group];
  }
  view.source = input;
  view.collapse = std::move(collapse);
  view.dims = std::move(dims);
  return true;
}

/// Steps back over a broadcast that added the dims `added` (only while
/// nothing is collapsed): the operand then lacks those loop dims.
void stepOverBroadcast(OperandView &view, Value input,
                       ArrayRef<int64_t> added) {
  SmallVector<unsigned> dims;
  for (auto [i, d] : llvm::enumerate(view.dims))
    if (!llvm::is_contained(added, static_cast<int64_t>(i)))
      dims.push_back(d);
  view.source = input;
  view.dims = std::move(dims);
  view.collapse = identityGroups(view.dims.size());
}

/// Steps back over a generic that moves its input by `map` (output element
/// d is input element map(d)), while nothing is collapsed: input dim j is
/// read by the loop dim that read operand dim map[j].
void stepOverMovingGeneric(OperandView &view, Value input, AffineMap map) {
  SmallVector<unsigned> dims;
  for (AffineExpr e : map.getResults())
    dims.push_back(view.dims[cast<AffineDimExpr>(e).getPosition()]);
  view.source = input;
  view.dims = std::move(dims);
  view.collapse = identityGroups(view.dims.size());
}

/// Reads an operand through data movement that BM can do exactly or
/// without a copy: linalg.copy, linalg.transpose (as a transposed
/// operand), tensor.collapse_shape (collapsed again), linalg.broadcast
/// (quantized once, broadcast in BM), and generics that are one of these.
/// The quantized tensor is then shared with the other readers of the
/// source.
OperandView lookThrough(OperandView view) {
  while (Operation *def = view.source.getDefiningOp()) {
    bool collapsed = !isIdentity(view.collapse);
    if (auto copy = dyn_cast<linalg::CopyOp>(def)) {
      view.source = copy.getInputs()[0];
      continue;
    }
    if (auto transpose = dyn_cast<linalg::TransposeOp>(def)) {
      if (stepOverTranspose(view, transpose.getInput(),
                            transpose.getPermutation()))
        continue;
      break;
    }
    if (auto broadcast = dyn_cast<linalg::BroadcastOp>(def)) {
      if (collapsed)
        break;
      stepOverBroadcast(view, broadcast.getInput(), broadcast.getDimensions());
      continue;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
      view.collapse =
          composeGroups(collapse.getReassociationIndices(), view.collapse);
      view.source = collapse.getSrc();
      continue;
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(def)) {
      std::optional<AffineMap> map = getMovedInputMap(generic);
      if (!map)
        break;
      Value input = generic.getDpsInputs()[0];
      if (!collapsed) {
        stepOverMovingGeneric(view, input, *map);
        continue;
      }
      // Under a collapse, only a transpose whose groups stay contiguous.
      if (std::optional<SmallVector<int64_t>> perm = transposeOf(generic))
        if (stepOverTranspose(view, input, *perm))
          continue;
      break;
    }
    break;
  }
  return view;
}

std::string dimList(ArrayRef<unsigned> dims) {
  std::string s = "(";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(dims, os, [&](unsigned d) { os << "d" << d; });
  os << ")";
  return s;
}

/// Groups of positions of `parts` (consecutive) laid out one after the
/// other; empty parts get no group.
SmallVector<ReassociationIndices>
consecutiveGroups(ArrayRef<ArrayRef<unsigned>> parts) {
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (ArrayRef<unsigned> part : parts) {
    if (part.empty())
      continue;
    ReassociationIndices group;
    for (size_t i = 0; i < part.size(); ++i)
      group.push_back(next++);
    groups.push_back(group);
  }
  return groups;
}

/// Whether `dims` is batch ++ first ++ second (false) or batch ++ second ++
/// first (true); nullopt if neither.
std::optional<bool> matchLayout(ArrayRef<unsigned> dims,
                                ArrayRef<unsigned> batch,
                                ArrayRef<unsigned> first,
                                ArrayRef<unsigned> second) {
  auto concat = [&](ArrayRef<unsigned> x, ArrayRef<unsigned> y) {
    SmallVector<unsigned> all(batch);
    llvm::append_range(all, x);
    llvm::append_range(all, y);
    return all;
  };
  if (ArrayRef<unsigned>(concat(first, second)) == dims)
    return false;
  if (ArrayRef<unsigned>(concat(second, first)) == dims)
    return true;
  return std::nullopt;
}

/// Plans a bm.matmul for two operand views; the reason when none fits.
ContractionMatch planMatmul(linalg::LinalgOp op, const OperandView &a,
                            const OperandView &b) {
  std::optional<OperandView> c = directView(
      op.getDpsInits()[0], op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
  if (!c)
    return ContractionMatch::failure("its output map is not a permutation");
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto in = [](const OperandView &v, unsigned d) {
    return llvm::is_contained(v.dims, d);
  };

  SmallVector<unsigned> k;
  for (unsigned d : a.dims)
    if (iterators[d] == utils::IteratorType::reduction)
      k.push_back(d);
  SmallVector<unsigned> kb;
  for (unsigned d : b.dims)
    if (iterators[d] == utils::IteratorType::reduction)
      kb.push_back(d);
  for (auto [d, iterator] : llvm::enumerate(iterators)) {
    bool reduction = iterator == utils::IteratorType::reduction;
    if (reduction && (!in(a, d) || !in(b, d)))
      return ContractionMatch::failure(llvm::formatv(
          "its reduction dim d{0} is not read by both operands", d));
    if (!reduction && !in(*c, d))
      return ContractionMatch::failure(
          llvm::formatv("its parallel dim d{0} is not in the output", d));
  }
  if (k.empty())
    return ContractionMatch::failure("it has no reduction dim (an "
                                     "elementwise or outer product)");
  // Output dims by the operands that read them: both (batch), one (M or
  // N), or neither (the product broadcast along them).
  bool onlyA = false, onlyB = false;
  for (unsigned d : c->dims) {
    if (!in(a, d) && !in(b, d))
      return ContractionMatch::failure(llvm::formatv(
          "its output dim d{0} is read by neither operand (the product is "
          "broadcast along it)",
          d));
    onlyA |= in(a, d) && !in(b, d);
    onlyB |= in(b, d) && !in(a, d);
  }
  if (!onlyA || !onlyB)
    return ContractionMatch::failure(llvm::formatv(
        "no output dim is read by operand #{0} alone: a matrix-vector or "
        "dot product (bm.matmul needs an M and an N dim)",
        onlyA ? 1 : 0));
  if (k != kb)
    return ContractionMatch::failure(llvm::formatv(
        "its reduction dims are ordered {0} in one operand and {1} in the "
        "other; bm.matmul reads one K order",
        dimList(k), dimList(kb)));

  // Each orientation (which operand gives M), and each split of the
  // output dims: N is the longest suffix read by the N operand only; M a
  // suffix of the run before it read by the M operand only (longest
  // first: a batch dim read by one operand only joins M rather than
  // broadcasting the other); batch the rest.
  std::string why;
  for (bool swapped : {false, true}) {
    const OperandView &x = swapped ? b : a; // the operand with the M group
    const OperandView &y = swapped ? a : b; // the operand with the N group
    ArrayRef<unsigned> cd = c->dims;
    size_t end = cd.size(), nBegin = end;
    while (nBegin > 0 && in(y, cd[nBegin - 1]) && !in(x, cd[nBegin - 1]))
      --nBegin;
    size_t mFirst = nBegin;
    while (mFirst > 0 && in(x, cd[mFirst - 1]) && !in(y, cd[mFirst - 1]))
      --mFirst;
    if (nBegin == end || mFirst == nBegin) {
      if (why.empty())
        why = llvm::formatv(
            "its output dims {0} do not end in a group read by one operand "
            "only (M) followed by a group read by the other only (N)",
            dimList(cd));
      continue;
    }
    for (size_t mBegin = mFirst; mBegin < nBegin; ++mBegin) {
      ArrayRef<unsigned> batch = cd.take_front(mBegin);
      ArrayRef<unsigned> m = cd.slice(mBegin, nBegin - mBegin);
      ArrayRef<unsigned> n = cd.drop_front(nBegin);
      auto count = [&](const OperandView &v) {
        return llvm::count_if(batch, [&](unsigned d) { return in(v, d); });
      };
      int64_t xb = count(x), yb = count(y), nb = batch.size();
      if ((xb != 0 && xb != nb) || (yb != 0 && yb != nb)) {
        why = llvm::formatv(
            "its output dims {0} in front of M and N are not batch dims: an "
            "operand reads only some of them",
            dimList(batch));
        continue;
      }
      ArrayRef<unsigned> batchX = xb ? batch : ArrayRef<unsigned>();
      ArrayRef<unsigned> batchY = yb ? batch : ArrayRef<unsigned>();
      std::optional<bool> transposeX = matchLayout(x.dims, batchX, m, k);
      std::optional<bool> transposeY = matchLayout(y.dims, batchY, k, n);
      if (!transposeX || !transposeY) {
        const OperandView &bad = transposeX ? y : x;
        why = llvm::formatv(
            "operand #{0} has dims {1}; with batch {2}, M {3}, N {4}, K {5} "
            "it must be [batch, M or N, K] or [batch, K, M or N] for "
            "bm.matmul",
            (&bad == &a) ? 0 : 1, dimList(bad.dims), dimList(batch), dimList(m),
            dimList(n), dimList(k));
        continue;
      }
      int64_t batchSize = 1;
      for (unsigned d : batch)
        batchSize *= ranges[d];

      auto operandPlan = [&](const OperandView &v, ArrayRef<unsigned> vBatch,
                             ArrayRef<unsigned> outer, bool transposed,
                             bool isRhs) {
        OperandPlan plan;
        plan.source = v.source;
        plan.operandNumber = (&v == &a) ? 0 : 1;
        // Stored layout: [batch, M, K] / [batch, K, N], or transposed.
        bool outerFirst = isRhs ? transposed : !transposed;
        SmallVector<ReassociationIndices> groups =
            outerFirst ? consecutiveGroups({vBatch, outer, k})
                       : consecutiveGroups({vBatch, k, outer});
        SmallVector<ReassociationIndices> collapse =
            composeGroups(v.collapse, groups);
        if (!isIdentity(collapse))
          plan.collapse = std::move(collapse);
        if (vBatch.empty() && !batch.empty())
          plan.broadcast = batchSize;
        return plan;
      };

      ContractionPlan plan;
      plan.kind = BMContractionKind::Matmul;
      plan.transposeLhs = *transposeX;
      plan.transposeRhs = *transposeY;
      plan.lhs = operandPlan(x, batchX, m, *transposeX, /*isRhs=*/false);
      plan.rhs = operandPlan(y, batchY, n, *transposeY, /*isRhs=*/true);
      SmallVector<ReassociationIndices> result =
          consecutiveGroups({batch, m, n});
      if (!isIdentity(result))
        plan.resultCollapse = std::move(result);
      plan.macs = countMacs(op);
      return ContractionMatch::success(std::move(plan));
    }
  }
  return ContractionMatch::failure(why);
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

std::optional<AffineMap>
mlir::bm::training::getMovedInputMap(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
      !generic.hasPureTensorSemantics())
    return std::nullopt;
  Block *body = generic.getBody();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (body->getOperations().size() != 1 || !yield ||
      yield->getNumOperands() != 1 ||
      yield->getOperand(0) != body->getArgument(0))
    return std::nullopt;
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  if (!maps[0].isProjectedPermutation() || !maps[1].isIdentity())
    return std::nullopt;
  return maps[0];
}

bool mlir::bm::training::isContractionOrConvolution(linalg::LinalgOp op) {
  return linalg::isaContractionOpInterface(op) ||
         linalg::isaConvolutionOpInterface(op);
}

ContractionMatch mlir::bm::training::matchConv2D(linalg::LinalgOp op) {
  std::optional<ConvLayout> layout = getConvLayout(op);
  if (!layout)
    return ContractionMatch::failure(convolutionReason(op));
  if (std::string why = checkCommon(op); !why.empty())
    return ContractionMatch::failure(why);
  auto attrs =
      llvm::TypeSwitch<Operation *,
                       std::pair<DenseIntElementsAttr, DenseIntElementsAttr>>(
          op)
          .Case<linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcFhwcOp,
                linalg::Conv2DNhwcHwcfOp>([](auto conv) {
            return std::make_pair(conv.getStrides(), conv.getDilations());
          })
          .Default([](Operation *) {
            return std::pair<DenseIntElementsAttr, DenseIntElementsAttr>();
          });

  ContractionPlan plan;
  plan.kind = BMContractionKind::Conv2D;
  plan.strides = SmallVector<int64_t>(attrs.first.getValues<int64_t>());
  plan.dilations = SmallVector<int64_t>(attrs.second.getValues<int64_t>());
  Value input = op.getDpsInputs()[0];
  if (auto pad = matchSpatialPad(input, layout->spatial)) {
    input = pad->first;
    plan.padding = pad->second;
  }
  plan.lhs.source = input;
  plan.lhs.permutation = layout->input;
  plan.lhs.operandNumber = 0;
  plan.rhs.source = op.getDpsInputs()[1];
  plan.rhs.permutation = layout->filter;
  plan.rhs.operandNumber = 1;
  plan.initPermutation = layout->output;
  plan.macs = countMacs(op);
  return ContractionMatch::success(std::move(plan));
}

ContractionMatch mlir::bm::training::matchMatmulLike(linalg::LinalgOp op) {
  if (std::string why = checkCommon(op); !why.empty())
    return ContractionMatch::failure(why);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<OperandView> a = directView(op.getDpsInputs()[0], maps[0]);
  std::optional<OperandView> b = directView(op.getDpsInputs()[1], maps[1]);
  if (!a || !b || !llvm::all_of(maps, [](AffineMap map) {
        return map.isProjectedPermutation();
      }))
    return ContractionMatch::failure(
        "an indexing map is not a projection of the loop dims (a strided, "
        "offset or constant index)");
  // Through data movement first, so that quantized tensors are shared;
  // each operand as it is if that does not fit.
  OperandView la = lookThrough(*a), lb = lookThrough(*b);
  for (auto [x, y] : {std::make_pair(&la, &lb), std::make_pair(&la, &*b),
                      std::make_pair(&*a, &lb)}) {
    ContractionMatch match = planMatmul(op, *x, *y);
    if (match.plan)
      return match;
  }
  return planMatmul(op, *a, *b);
}

ContractionMatch mlir::bm::training::matchContraction(linalg::LinalgOp op) {
  if (getConvLayout(op))
    return matchConv2D(op);
  if (linalg::isaConvolutionOpInterface(op))
    return ContractionMatch::failure(convolutionReason(op));
  if (linalg::isaContractionOpInterface(op))
    return matchMatmulLike(op);
  return ContractionMatch::failure("it is not a contraction");
}

Value mlir::bm::training::buildBatchBroadcast(OpBuilder &builder, Location loc,
                                              Value quantized, int64_t count) {
  auto type = cast<BMTensorType>(quantized.getType());
  SmallVector<int64_t> shape = {count}, block = {1};
  llvm::append_range(shape, type.getShape());
  llvm::append_range(block, type.getBlock());
  auto resultType = BMTensorType::get(shape, type.getFormat(), block);
  auto unpack = UnpackOp::create(builder, loc, type.getCodesType(),
                                 type.getBiasesType(), quantized);
  auto broadcast = [&](Value part, RankedTensorType to) {
    Value init = tensor::EmptyOp::create(builder, loc, to.getShape(),
                                         to.getElementType());
    return linalg::BroadcastOp::create(builder, loc, part, init,
                                       ArrayRef<int64_t>{0})
        .getResult()[0];
  };
  Value codes = broadcast(unpack.getCodes(), resultType.getCodesType());
  Value biases = broadcast(unpack.getBiases(), resultType.getBiasesType());
  return PackOp::create(builder, loc, resultType, codes, biases);
}
