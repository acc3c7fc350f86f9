//===- QuantizeTraining.cpp - FP32 training step -> BM training step ------===//
//
// Implements bm-quantize-training (see Passes.td and docs/training.md).
// Which ops become BM, and how, is decided in ContractionMatchers.cpp; the
// operands' roles in RoleAnalysis.cpp. This file holds the options, the
// quantize ops (formats, blocks, seeds, sharing) and the rewrite.
//
//===----------------------------------------------------------------------===//

#include "ContractionMatchers.h"
#include "RoleAnalysis.h"

#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"

#include <tuple>

namespace mlir::bm {
#define GEN_PASS_DEF_BMQUANTIZETRAINING
#include "bm/Dialect/BM/Transforms/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::training;

namespace {

/// A contraction or convolution of the FP32 graph, in program order, and
/// what was found on that graph: the roles of its two inputs (by operand
/// number) and whether one of them is the loss gradient.
struct FoundContraction {
  Operation *op;
  bool matched = false;
  std::array<Role, 2> roles = {Role::activation, Role::activation};
  bool readsLossGrad = false;
  bool readsModelInput = false;
};

/// `source` with the dims permuted (result dim i = source dim perm[i]), in
/// f32: exact data movement.
Value transposeTensor(OpBuilder &builder, Location loc, Value source,
                      ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  Value init =
      tensor::EmptyOp::create(builder, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(builder, loc, source, init, perm)
      .getResult()[0];
}

SmallVector<int64_t> invertPermutation(ArrayRef<int64_t> perm) {
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  return inverse;
}

struct BMQuantizeTrainingPass
    : public mlir::bm::impl::BMQuantizeTrainingBase<BMQuantizeTrainingPass> {
  using Base::Base;

  FormatAttr forward, backward;
  ScaleRule forwardRule = ScaleRule::floor, backwardRule = ScaleRule::floor;
  bool lossGradFP32 = false;

  /// The enum options are checked by the option parser; this names the
  /// accepted values when one is wrong.
  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (succeeded(Base::initializeOptions(options, errorHandler)))
      return success();
    return errorHandler(
        "bm-quantize-training: accepted values are preset=bm8|bm6|bm5|bm4, "
        "rounding=nearest|stochastic|zero, loss-grad=auto|fp32|bm, "
        "model-input=bm|fp32, scale=floor|fit, forward-scale and "
        "backward-scale=same|floor|fit");
  }

  /// The formats, scale rules and loss-gradient choice from the options.
  LogicalResult resolveOptions(ModuleOp module) {
    MLIRContext *context = module.getContext();
    static constexpr std::pair<StringLiteral, StringLiteral> presetFormats[] = {
        /*bm8*/ {"e2m5", "e4m3"},
        /*bm6*/ {"e2m3", "e3m2"},
        /*bm5*/ {"e2m2", "e3m1"},
        /*bm4*/ {"e2m1", "e3m0"}};
    auto [presetForward, presetBackward] =
        presetFormats[static_cast<int>(FormatPreset(preset))];
    StringRef fwd = forwardFormat, bwd = backwardFormat;
    if (fwd.empty())
      fwd = presetForward;
    if (bwd.empty())
      bwd = presetBackward;
    for (auto [text, attr] : {std::pair<StringRef, FormatAttr *>{fwd, &forward},
                              {bwd, &backward}}) {
      std::optional<::bm::numerics::Format> f =
          ::bm::numerics::Format::parse(text);
      if (!f)
        return module.emitError("bm-quantize-training: '")
               << text << "' is not a valid format; write eXmY, e.g. e2m3";
      *attr = FormatAttr::get(context, f->e, f->m);
    }
    auto resolveScale = [&](ScaleOverride override) {
      switch (override) {
      case ScaleOverride::same:
        return ScaleRule(scale);
      case ScaleOverride::floor:
        return ScaleRule::floor;
      case ScaleOverride::fit:
        return ScaleRule::fit;
      }
      llvm_unreachable("unknown scale override");
    };
    forwardRule = resolveScale(forwardScale);
    backwardRule = resolveScale(backwardScale);
    if (block.empty())
      block = {48, 48};
    if (convBlock.empty())
      convBlock = {1, 48, 0, 0};
    if (filterBlock.empty())
      filterBlock = {48, 48, 0, 0};
    if (block.size() != 2 || convBlock.size() != 4 || filterBlock.size() != 4)
      return module.emitError("bm-quantize-training: block needs 2 sizes, "
                              "conv-block and filter-block 4 each");
    switch (LossGradMode(lossGrad)) {
    case LossGradMode::automatic:
      lossGradFP32 = forwardFormat.empty() && backwardFormat.empty() &&
                     (FormatPreset(preset) == FormatPreset::bm5 ||
                      FormatPreset(preset) == FormatPreset::bm4);
      break;
    case LossGradMode::fp32:
      lossGradFP32 = true;
      break;
    case LossGradMode::bm:
      lossGradFP32 = false;
      break;
    }
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(resolveOptions(module)))
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
    SmallVector<FoundContraction> contractions;
    bool anyMatched = false;
    func.walk([&](linalg::LinalgOp op) {
      if (!isContractionOrConvolution(op))
        return;
      FoundContraction found{op};
      ContractionMatch match = matchContraction(op);
      if (match.plan) {
        found.matched = anyMatched = true;
        for (const OperandPlan *operand :
             {&match.plan->lhs, &match.plan->rhs}) {
          found.roles[operand->operandNumber] = roles.roleOf(operand->source);
          found.readsLossGrad |= roles.isLossGrad(operand->source);
          found.readsModelInput |= roles.isModelInput(operand->source);
        }
      }
      contractions.push_back(found);
    });
    if (contractions.empty())
      return success();

    // The seed: an i64 argument marked {bm.role = #bm.role<seed>}.
    auto *dialect = func->getContext()->getLoadedDialect<BMDialect>();
    StringAttr roleName = dialect->getRoleAttrHelper().getName();
    Value seed;
    for (BlockArgument arg : func.getArguments()) {
      auto role = func.getArgAttrOfType<RoleAttr>(arg.getArgNumber(), roleName);
      if (role && role.getValue() == Role::seed) {
        if (!arg.getType().isInteger(64))
          return func.emitError("bm-quantize-training: the seed argument #")
                 << arg.getArgNumber() << " must be an i64, not "
                 << arg.getType();
        seed = arg;
      }
    }
    if (anyMatched && Rounding(rounding) == Rounding::stochastic && !seed)
      return func.emitError(
          "bm-quantize-training: stochastic rounding needs a seed; mark an "
          "i64 argument (e.g. the step number) with "
          "{bm.role = #bm.role<seed>}, "
          "or use rounding=nearest");

    OpBuilder builder(func.getContext());
    int64_t quantizeCount = 0;
    llvm::DenseMap<std::tuple<Value, Type, unsigned>, Value> cache;
    llvm::DenseMap<Block *, Operation *> lastArgQuantize;

    // Right after the definition of v, so that every use is dominated.
    auto setInsertionPointAfterValue = [&](Value v) {
      if (auto arg = dyn_cast<BlockArgument>(v))
        builder.setInsertionPointToStart(arg.getOwner());
      else
        builder.setInsertionPointAfter(v.getDefiningOp());
    };

    auto quantize = [&](Value v, BMTensorType type, ScaleRule rule) -> Value {
      auto key = std::make_tuple(v, Type(type), static_cast<unsigned>(rule));
      if (Value cached = cache.lookup(key))
        return cached;
      // Arguments in order at the top of their block.
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
      if (Rounding(rounding) == Rounding::stochastic) {
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
          RoundingAttr::get(builder.getContext(), Rounding(rounding)), opSeed,
          ScaleRuleAttr::get(builder.getContext(), rule));
      cache[key] = q;
      if (auto arg = dyn_cast<BlockArgument>(v))
        lastArgQuantize[arg.getOwner()] = q.getDefiningOp();
      return q;
    };

    // Exact data movement, created once: per (source, result type) for
    // collapses (two collapses of one tensor to one shape hold the same
    // elements in the same order) and broadcasts, per (input, permutation)
    // for bm.transpose.
    llvm::DenseMap<std::pair<Value, Type>, Value> collapsed, broadcasted;
    llvm::DenseMap<std::pair<Value, Attribute>, Value> transposed;
    auto collapseOnce = [&](Value source,
                            ArrayRef<ReassociationIndices> groups) -> Value {
      auto type = tensor::CollapseShapeOp::inferCollapsedType(
          cast<RankedTensorType>(source.getType()), groups);
      Value &slot = collapsed[{source, type}];
      if (!slot) {
        setInsertionPointAfterValue(source);
        slot = tensor::CollapseShapeOp::create(builder, source.getLoc(), type,
                                               source, groups);
      }
      return slot;
    };
    auto transposeOnce = [&](Value q, ArrayRef<int64_t> perm) -> Value {
      auto type = cast<BMTensorType>(q.getType());
      SmallVector<int64_t> shape, block;
      for (int64_t p : perm) {
        shape.push_back(type.getShape()[p]);
        block.push_back(type.getBlock()[p]);
      }
      auto resultType = BMTensorType::get(shape, type.getFormat(), block);
      DenseI64ArrayAttr permAttr = builder.getDenseI64ArrayAttr(perm);
      Value &slot = transposed[{q, permAttr}];
      if (!slot) {
        setInsertionPointAfterValue(q);
        slot =
            TransposeOp::create(builder, q.getLoc(), resultType, q, permAttr);
      }
      return slot;
    };
    auto broadcastOnce = [&](Value q, int64_t count) -> Value {
      auto type = cast<BMTensorType>(q.getType());
      SmallVector<int64_t> shape = {count}, block = {1};
      llvm::append_range(shape, type.getShape());
      llvm::append_range(block, type.getBlock());
      Value &slot =
          broadcasted[{q, BMTensorType::get(shape, type.getFormat(), block)}];
      if (!slot) {
        setInsertionPointAfterValue(q);
        slot = buildBatchBroadcast(builder, q.getLoc(), q, count);
      }
      return slot;
    };

    // The BM operand a plan describes: the source, collapsed, quantized in
    // its own layout with the block that the option gives for the operand's
    // place in the BM op, then permuted or broadcast.
    auto buildOperand = [&](const OperandPlan &plan, Role role,
                            BMContractionKind kind, bool isFilter) -> Value {
      Value v = plan.source;
      if (!plan.collapse.empty())
        v = collapseOnce(v, plan.collapse);
      ArrayRef<int64_t> shape = cast<RankedTensorType>(v.getType()).getShape();
      SmallVector<int64_t> blk;
      if (kind == BMContractionKind::Conv2D) {
        ArrayRef<int64_t> nchw = isFilter ? ArrayRef<int64_t>(filterBlock)
                                          : ArrayRef<int64_t>(convBlock);
        blk.assign(nchw.begin(), nchw.end());
        // Dim i of bm.conv2d's operand is dim permutation[i] of v.
        for (auto [i, p] : llvm::enumerate(plan.permutation))
          blk[p] = nchw[i];
      } else {
        blk.assign(shape.size() - 2, 1); // batch dims: one block per entry
        blk.append(block.begin(), block.end());
      }
      FormatAttr format = role == Role::error ? backward : forward;
      ScaleRule rule = role == Role::error ? backwardRule : forwardRule;
      Value q = quantize(v, BMTensorType::get(shape, format, blk), rule);
      if (!plan.permutation.empty())
        q = transposeOnce(q, plan.permutation);
      if (plan.broadcast)
        q = broadcastOnce(q, *plan.broadcast);
      return q;
    };

    for (auto [index, found] : llvm::enumerate(contractions)) {
      Operation *op = found.op;
      StringRef name = op->getName().getStringRef();
      ContractionMatch match = matchContraction(cast<linalg::LinalgOp>(op));
      if (!match.plan) {
        if (found.matched)
          return op->emitError("bm-quantize-training: internal error: "
                               "contraction #")
                 << index << " no longer matches: " << match.reason;
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " (" << name << ") kept in FP32: " << match.reason;
        continue;
      }
      ContractionPlan &plan = *match.plan;
      if (llvm::is_contained(keepFP32, static_cast<int64_t>(index))) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32 (keep-fp32)";
        continue;
      }
      if (lossGradFP32 && found.readsLossGrad) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32: it reads the loss gradient (loss-grad="
            << (LossGradMode(lossGrad) == LossGradMode::fp32 ? "fp32" : "auto")
            << ")";
        continue;
      }
      if (ModelInputMode(modelInput) == ModelInputMode::fp32 &&
          found.readsModelInput) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index
            << " kept in FP32: it reads the model input (model-input=fp32)";
        continue;
      }
      if (plan.macs < minMacs) {
        op->emitRemark("bm-quantize-training: contraction #")
            << index << " kept in FP32: " << plan.macs << " MACs < min-macs";
        continue;
      }
      Role ra = found.roles[plan.lhs.operandNumber];
      Role rb = found.roles[plan.rhs.operandNumber];
      if (ra == Role::error && rb == Role::error) {
        op->emitWarning("bm-quantize-training: both operands of contraction "
                        "#")
            << index
            << " are errors, which no BM training role covers; kept in "
               "FP32. Mark the arguments' roles if this is wrong";
        continue;
      }
      bool isConv = plan.kind == BMContractionKind::Conv2D;
      Value qa = buildOperand(plan.lhs, ra, plan.kind, /*isFilter=*/false);
      Value qb = buildOperand(plan.rhs, rb, plan.kind, /*isFilter=*/isConv);

      // The init in the BM op's layout: permuted, then collapsed. The BM op's
      // location records the op it replaces (bm-report shows it).
      Location loc = op->getLoc();
      Location bmLoc = FusedLoc::get(builder.getContext(), {loc},
                                     builder.getStringAttr(name));
      builder.setInsertionPoint(op);
      Value init = cast<linalg::LinalgOp>(op).getDpsInits()[0];
      if (!plan.initPermutation.empty())
        init = transposeTensor(builder, loc, init, plan.initPermutation);
      Type uncollapsed = init.getType();
      if (!plan.resultCollapse.empty())
        init = tensor::CollapseShapeOp::create(builder, loc, init,
                                               plan.resultCollapse);
      Operation *replacement;
      if (isConv)
        replacement = Conv2DOp::create(
            builder, bmLoc, init.getType(), qa, qb, init,
            builder.getDenseI64ArrayAttr(plan.strides),
            builder.getDenseI64ArrayAttr(plan.padding),
            builder.getDenseI64ArrayAttr(plan.dilations), /*relaxed=*/nullptr);
      else
        replacement = MatmulOp::create(
            builder, bmLoc, init.getType(), qa, qb, init,
            plan.transposeLhs ? builder.getUnitAttr() : nullptr,
            plan.transposeRhs ? builder.getUnitAttr() : nullptr,
            /*relaxed=*/nullptr);
      if (failed(mlir::verify(replacement))) {
        replacement->erase();
        return failure();
      }
      dialect->getRolesAttrHelper().setAttr(
          replacement,
          builder.getArrayAttr({RoleAttr::get(builder.getContext(), ra),
                                RoleAttr::get(builder.getContext(), rb)}));
      dialect->getIndexAttrHelper().setAttr(replacement,
                                            builder.getI64IntegerAttr(index));
      // The result back in the op's layout.
      Value result = replacement->getResult(0);
      if (!plan.resultCollapse.empty())
        result = tensor::ExpandShapeOp::create(builder, loc, uncollapsed,
                                               result, plan.resultCollapse);
      if (!plan.initPermutation.empty())
        result = transposeTensor(builder, loc, result,
                                 invertPermutation(plan.initPermutation));
      op->getResult(0).replaceAllUsesWith(result);
      op->erase();
    }
    return success();
  }
};

} // namespace
