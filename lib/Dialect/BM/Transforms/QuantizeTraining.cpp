//===- QuantizeTraining.cpp - FP32 training step -> BM training step ------===//
//
// Implements bm-quantize-training (see Passes.td and docs/training.md).
//
//===----------------------------------------------------------------------===//

#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"

#include <tuple>

namespace mlir::bm {
#define GEN_PASS_DEF_BMQUANTIZETRAINING
#include "bm/Dialect/BM/Transforms/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {

enum class Role { Activation, Weight, Error };

StringRef roleName(Role role) {
  switch (role) {
  case Role::Activation:
    return "activation";
  case Role::Weight:
    return "weight";
  case Role::Error:
    return "error";
  }
  llvm_unreachable("role");
}

/// Ops that only move data: a value obtained from a weight through them is
/// still a weight. A front end can tag other such ops (e.g. a generic that
/// flips a filter) with the unit attribute `bm.data_movement`.
bool isDataMovement(Operation *op) {
  return isa<linalg::TransposeOp, linalg::CopyOp, tensor::CollapseShapeOp,
             tensor::ExpandShapeOp, tensor::ReshapeOp, tensor::ExtractSliceOp,
             tensor::CastOp>(op) ||
         op->hasAttr("bm.data_movement");
}

/// Forward dataflow of roles over a function body.
class RoleAnalysis {
public:
  explicit RoleAnalysis(func::FuncOp func) {
    for (BlockArgument arg : func.getArguments()) {
      auto role = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                    "bm.role");
      if (role && role.getValue() == "weight")
        weights.insert(arg);
      else if (role && role.getValue() == "error")
        errors.insert(arg);
    }
    func.walk([&](Operation *op) {
      if (op->hasAttr("bm.grad_seed"))
        lossGrads.insert(op->getResults().begin(), op->getResults().end());
      else if (isDataMovement(op) && op->getNumOperands() >= 1 &&
               lossGrads.contains(op->getOperand(0)))
        lossGrads.insert(op->getResults().begin(), op->getResults().end());
      bool fromError = op->hasAttr("bm.grad_seed") ||
                       llvm::any_of(op->getOperands(), [&](Value v) {
                         return errors.contains(v);
                       });
      bool fromWeight =
          isDataMovement(op) && op->getNumOperands() >= 1 &&
          weights.contains(op->getOperand(0));
      for (Value result : op->getResults()) {
        if (fromError)
          errors.insert(result);
        else if (fromWeight)
          weights.insert(result);
      }
    });
  }

  /// Whether v is the loss gradient itself: a result of the bm.grad_seed
  /// op, or obtained from one by data movement only.
  bool isLossGrad(Value v) const { return lossGrads.contains(v); }

  Role roleOf(Value v) const {
    if (errors.contains(v))
      return Role::Error;
    if (weights.contains(v))
      return Role::Weight;
    return Role::Activation;
  }

private:
  llvm::DenseSet<Value> errors, weights, lossGrads;
};

/// A contraction found in the FP32 graph, and how to express it in BM.
struct Contraction {
  linalg::LinalgOp op;
  bool isConv = false;
  Value lhs, rhs; // operands as bm.matmul / bm.conv2d will read them
  bool transposeLhs = false, transposeRhs = false;
  SmallVector<int64_t> padding = {0, 0};
  int64_t macs = 0;
};

/// Follows a 2-D linalg.transpose back to its input: the operand is then
/// read transposed.
Value lookThroughTranspose(Value v, bool &transposed) {
  if (auto t = v.getDefiningOp<linalg::TransposeOp>())
    if (t.getPermutation().size() == 2 && t.getPermutation()[0] == 1) {
      transposed = !transposed;
      return t.getInput();
    }
  return v;
}

bool isF32Tensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() && type.getElementType().isF32();
}

/// Matmul-like linalg ops (named or generic): one k, one m, one n, at most
/// one leading batch dimension, multiply-add body on f32.
FailureOr<Contraction> matchMatmul(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics() || !linalg::isaContractionOpInterface(op))
    return failure();
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
  Value c = op.getDpsInits()[0];
  if (!isF32Tensor(a) || !isF32Tensor(b) || !isF32Tensor(c))
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 || dims->m.size() != 1 ||
      dims->n.size() != 1 || dims->batch.size() > 1)
    return failure();
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto dimsOf = [](AffineMap map) -> std::optional<SmallVector<unsigned>> {
    SmallVector<unsigned> out;
    for (AffineExpr e : map.getResults()) {
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        return std::nullopt;
      out.push_back(d.getPosition());
    }
    return out;
  };
  auto da = dimsOf(maps[0]), db = dimsOf(maps[1]), dc = dimsOf(maps[2]);
  if (!da || !db || !dc)
    return failure();
  SmallVector<unsigned> prefix;
  if (!dims->batch.empty())
    prefix.push_back(dims->batch[0]);
  auto is = [&](ArrayRef<unsigned> actual, ArrayRef<unsigned> tail) {
    SmallVector<unsigned> expected(prefix);
    expected.append(tail.begin(), tail.end());
    return ArrayRef<unsigned>(actual) == ArrayRef<unsigned>(expected);
  };
  Contraction result;
  result.op = op;
  if (is(*da, {m, k}))
    result.transposeLhs = false;
  else if (is(*da, {k, m}))
    result.transposeLhs = true;
  else
    return failure();
  if (is(*db, {k, n}))
    result.transposeRhs = false;
  else if (is(*db, {n, k}))
    result.transposeRhs = true;
  else
    return failure();
  if (!is(*dc, {m, n}))
    return failure();
  // Read 2-D transposes as transposed operands (the quantized tensor is
  // then shared with the untransposed uses).
  if (prefix.empty()) {
    a = lookThroughTranspose(a, result.transposeLhs);
    b = lookThroughTranspose(b, result.transposeRhs);
  }
  result.lhs = a;
  result.rhs = b;
  result.macs = 1;
  for (int64_t size : op.getStaticLoopRanges())
    result.macs *= size;
  return result;
}

FailureOr<Contraction> matchConv(linalg::Conv2DNchwFchwOp op) {
  if (!op.hasPureTensorSemantics())
    return failure();
  Value input = op.getDpsInputs()[0], filter = op.getDpsInputs()[1];
  if (!isF32Tensor(input) || !isF32Tensor(filter) ||
      !isF32Tensor(op.getDpsInits()[0]))
    return failure();
  Contraction result;
  result.op = op;
  result.isConv = true;
  // A zero tensor.pad of H and W only, the same on both sides, is the
  // convolution's padding.
  if (auto pad = input.getDefiningOp<tensor::PadOp>()) {
    ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
    Value padValue = pad.getConstantPaddingValue();
    bool zero = padValue && matchPattern(padValue, m_AnyZeroFloat()) &&
                !matchPattern(padValue, m_NegZeroFloat());
    if (zero && low.size() == 4 && low == high && low[0] == 0 && low[1] == 0 &&
        !ShapedType::isDynamic(low[2]) && !ShapedType::isDynamic(low[3]) &&
        isF32Tensor(pad.getSource())) {
      input = pad.getSource();
      result.padding = {low[2], low[3]};
    }
  }
  result.lhs = input;
  result.rhs = filter;
  result.macs = 1;
  for (int64_t size : op.getStaticLoopRanges())
    result.macs *= size;
  return result;
}

struct BMQuantizeTrainingPass
    : public mlir::bm::impl::BMQuantizeTrainingBase<BMQuantizeTrainingPass> {
  using Base::Base;

  FormatAttr forward, backward;
  ::bm::numerics::Rounding roundingMode;
  Rounding roundingEnum;
  ScaleRule forwardRule = ScaleRule::floor, backwardRule = ScaleRule::floor;
  bool lossGradFP32 = false;

  LogicalResult parseOptions(ModuleOp module) {
    MLIRContext *context = module.getContext();
    static const std::pair<StringRef, std::pair<StringRef, StringRef>>
        presets[] = {{"bm8", {"e2m5", "e4m3"}},
                     {"bm6", {"e2m3", "e3m2"}},
                     {"bm5", {"e2m2", "e3m1"}},
                     {"bm4", {"e2m1", "e3m0"}}};
    StringRef fwd = forwardFormat, bwd = backwardFormat;
    auto it = llvm::find_if(presets, [&](auto &p) { return p.first == preset; });
    if (it == std::end(presets) && (fwd.empty() || bwd.empty()))
      return module.emitError("bm-quantize-training: unknown preset '")
             << preset << "'; use bm8, bm6, bm5 or bm4, or give both "
                          "forward= and backward= formats";
    if (fwd.empty())
      fwd = it->second.first;
    if (bwd.empty())
      bwd = it->second.second;
    for (auto [text, attr] : {std::pair<StringRef, FormatAttr *>{fwd, &forward},
                              {bwd, &backward}}) {
      std::optional<::bm::numerics::Format> f =
          ::bm::numerics::Format::parse(text);
      if (!f)
        return module.emitError("bm-quantize-training: '")
               << text << "' is not a valid format; write eXmY, e.g. e2m3";
      *attr = FormatAttr::get(context, f->e, f->m);
    }
    std::optional<Rounding> r = symbolizeRounding(rounding);
    if (!r)
      return module.emitError("bm-quantize-training: unknown rounding '")
             << rounding << "'; use nearest, stochastic or zero";
    roundingEnum = *r;
    // scale, then the per-role overrides.
    std::optional<ScaleRule> common = symbolizeScaleRule(scale);
    if (!common)
      return module.emitError("bm-quantize-training: unknown scale '")
             << scale << "'; use floor or fit";
    for (auto [name, text, rule] :
         {std::tuple<StringRef, StringRef, ScaleRule *>{
              "forward-scale", forwardScale, &forwardRule},
          {"backward-scale", backwardScale, &backwardRule}}) {
      if (text.empty()) {
        *rule = *common;
        continue;
      }
      std::optional<ScaleRule> parsed = symbolizeScaleRule(text);
      if (!parsed)
        return module.emitError("bm-quantize-training: unknown ")
               << name << " '" << text
               << "'; use floor or fit, or leave it out to follow scale";
      *rule = *parsed;
    }
    if (block.empty())
      block = {48, 48};
    if (convBlock.empty())
      convBlock = {1, 48, 0, 0};
    if (filterBlock.empty())
      filterBlock = {48, 48, 0, 0};
    if (block.size() != 2 || convBlock.size() != 4 || filterBlock.size() != 4)
      return module.emitError("bm-quantize-training: block needs 2 sizes, "
                              "conv-block and filter-block 4 each");
    StringRef lg = lossGrad;
    if (lg == "auto")
      lossGradFP32 = forwardFormat.empty() && backwardFormat.empty() &&
                     (preset == "bm5" || preset == "bm4");
    else if (lg == "fp32" || lg == "bm")
      lossGradFP32 = lg == "fp32";
    else
      return module.emitError("bm-quantize-training: loss-grad must be "
                              "auto, fp32 or bm, not '")
             << lg << "'";
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(parseOptions(module)))
      return signalPassFailure();
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (!func.isExternal() && failed(rewriteFunction(func)))
        return signalPassFailure();
  }

  LogicalResult rewriteFunction(func::FuncOp func) {
    // Find the contractions and their operands' roles on the FP32 graph
    // first; the rewrite below replaces results, so each op is matched
    // again when its turn comes (its operands may be new values by then).
    RoleAnalysis roles(func);
    auto match = [](linalg::LinalgOp op) -> FailureOr<Contraction> {
      if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation()))
        return matchConv(conv);
      return matchMatmul(op);
    };
    SmallVector<std::pair<Operation *, std::pair<Role, Role>>> contractions;
    llvm::SmallDenseSet<Operation *> readLossGrad;
    func.walk([&](linalg::LinalgOp op) {
      if (FailureOr<Contraction> c = match(op); succeeded(c)) {
        contractions.push_back(
            {op, {roles.roleOf(c->lhs), roles.roleOf(c->rhs)}});
        if (roles.isLossGrad(c->lhs) || roles.isLossGrad(c->rhs))
          readLossGrad.insert(op);
      }
    });
    if (contractions.empty())
      return success();

    // The seed: an i64 argument marked {bm.role = "seed"}.
    Value seed;
    for (BlockArgument arg : func.getArguments()) {
      auto role = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                    "bm.role");
      if (role && role.getValue() == "seed") {
        if (!arg.getType().isInteger(64))
          return func.emitError("bm-quantize-training: the seed argument #")
                 << arg.getArgNumber() << " must be an i64, not "
                 << arg.getType();
        seed = arg;
      }
    }
    if (roundingEnum == Rounding::stochastic && !seed)
      return func.emitError(
          "bm-quantize-training: stochastic rounding needs a seed; mark an "
          "i64 argument (e.g. the step number) with {bm.role = \"seed\"}, "
          "or use rounding=nearest");

    OpBuilder builder(func.getContext());
    int64_t quantizeCount = 0;
    llvm::DenseMap<std::tuple<Value, Type, unsigned>, Value> cache;
    llvm::DenseMap<Block *, Operation *> lastArgQuantize;

    auto quantize = [&](Value v, BMTensorType type, ScaleRule rule) -> Value {
      auto key = std::make_tuple(v, Type(type), static_cast<unsigned>(rule));
      if (Value cached = cache.lookup(key))
        return cached;
      // Right after the definition, so that every use is dominated;
      // arguments in order at the top of their block.
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        Operation *lastForBlock = lastArgQuantize.lookup(arg.getOwner());
        if (lastForBlock)
          builder.setInsertionPointAfter(lastForBlock);
        else
          builder.setInsertionPointToStart(arg.getOwner());
      } else {
        builder.setInsertionPointAfter(v.getDefiningOp());
      }
      Location loc = v.getLoc();
      Value opSeed;
      if (roundingEnum == Rounding::stochastic) {
        // (seed << 16) + index: distinct for every quantize of every step.
        Value shifted = arith::ShLIOp::create(
            builder, loc, seed,
            arith::ConstantOp::create(builder, loc,
                                      builder.getI64IntegerAttr(16)));
        opSeed = arith::AddIOp::create(
            builder, loc, shifted,
            arith::ConstantOp::create(
                builder, loc, builder.getI64IntegerAttr(quantizeCount)));
      }
      ++quantizeCount;
      Value q = QuantizeOp::create(
          builder, loc, type, v,
          RoundingAttr::get(builder.getContext(), roundingEnum), opSeed,
          ScaleRuleAttr::get(builder.getContext(), rule));
      cache[key] = q;
      if (auto arg = dyn_cast<BlockArgument>(v))
        lastArgQuantize[arg.getOwner()] = q.getDefiningOp();
      return q;
    };

    auto blockFor = [&](ArrayRef<int64_t> shape, bool isConv, bool isFilter) {
      SmallVector<int64_t> blk;
      if (isConv)
        blk.assign(isFilter ? filterBlock.begin() : convBlock.begin(),
                   isFilter ? filterBlock.end() : convBlock.end());
      else {
        blk.assign(shape.size() - 2, 1); // batch dims: one block per entry
        blk.append(block.begin(), block.end());
      }
      return blk;
    };

    for (auto [index, entry] : llvm::enumerate(contractions)) {
      Operation *op = entry.first;
      auto [ra, rb] = entry.second;
      FailureOr<Contraction> matched = match(cast<linalg::LinalgOp>(op));
      if (failed(matched))
        return op->emitError("bm-quantize-training: internal error: "
                             "contraction #")
               << index << " no longer matches";
      Contraction &c = *matched;
      if (llvm::is_contained(keepFP32, static_cast<int64_t>(index))) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32 (keep-fp32)";
        continue;
      }
      if (lossGradFP32 && readLossGrad.contains(op)) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32: it reads the loss gradient (loss-grad="
            << lossGrad << ")";
        continue;
      }
      if (c.macs < minMacs) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32: " << c.macs << " MACs < min-macs";
        continue;
      }
      if (ra == Role::Error && rb == Role::Error) {
        op->emitWarning("bm-quantize-training: both operands of contraction "
                        "#")
            << index
            << " are errors, which no BM training role covers; kept in "
               "FP32. Mark the arguments' roles if this is wrong";
        continue;
      }
      auto typeFor = [&](Value v, Role role, bool isFilter) {
        auto shape = cast<RankedTensorType>(v.getType()).getShape();
        FormatAttr format = role == Role::Error ? backward : forward;
        return BMTensorType::get(shape, format,
                                 blockFor(shape, c.isConv, isFilter));
      };
      BMTensorType ta = typeFor(c.lhs, ra, false);
      BMTensorType tb = typeFor(c.rhs, rb, c.isConv);
      auto ruleFor = [&](Role role) {
        return role == Role::Error ? backwardRule : forwardRule;
      };
      Value qa = quantize(c.lhs, ta, ruleFor(ra));
      Value qb = quantize(c.rhs, tb, ruleFor(rb));

      builder.setInsertionPoint(op);
      Value init = c.op.getDpsInits()[0];
      Operation *replacement;
      if (c.isConv) {
        auto conv = cast<linalg::Conv2DNchwFchwOp>(op);
        SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
        SmallVector<int64_t> dilations(
            conv.getDilations().getValues<int64_t>());
        auto bmConv =
            Conv2DOp::create(builder, op->getLoc(), init.getType(), qa, qb,
                             init, builder.getDenseI64ArrayAttr(strides),
                             builder.getDenseI64ArrayAttr(c.padding),
                             builder.getDenseI64ArrayAttr(dilations),
                             /*relaxed=*/nullptr);
        if (failed(mlir::verify(bmConv))) {
          bmConv->erase();
          return failure();
        }
        replacement = bmConv;
      } else {
        auto matmul = MatmulOp::create(
            builder, op->getLoc(), init.getType(), qa, qb, init,
            c.transposeLhs ? builder.getUnitAttr() : nullptr,
            c.transposeRhs ? builder.getUnitAttr() : nullptr,
            /*relaxed=*/nullptr);
        if (failed(mlir::verify(matmul))) {
          matmul->erase();
          return failure();
        }
        replacement = matmul;
      }
      replacement->setAttr(
          "bm.roles", builder.getStrArrayAttr({roleName(ra), roleName(rb)}));
      replacement->setAttr("bm.index", builder.getI64IntegerAttr(index));
      op->getResult(0).replaceAllUsesWith(replacement->getResult(0));
      op->erase();
    }
    return success();
  }
};

} // namespace
