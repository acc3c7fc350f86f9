//===- RoleAnalysis.cpp - Weight, activation and error operands -----------===//

#include "RoleAnalysis.h"
#include "ContractionMatchers.h"

#include "bm/Dialect/BM/IR/BMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::bm::training;

/// A tensor whose every element is the same constant (a fill, an empty
/// tensor or a splat): inserting data into it moves that data only.
static bool isBlankTensor(Value v) {
  Operation *def = v.getDefiningOp();
  return def && (isa<linalg::FillOp, tensor::EmptyOp>(def) ||
                 matchPattern(v, m_Constant()));
}

bool mlir::bm::training::isDataMovement(Operation *op) {
  auto *dialect = op->getContext()->getLoadedDialect<BMDialect>();
  if (dialect && dialect->getDataMovementAttrHelper().isAttrPresent(op))
    return true;
  if (isa<linalg::TransposeOp, linalg::CopyOp, linalg::BroadcastOp,
          tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::ReshapeOp,
          tensor::ExtractSliceOp, tensor::CastOp>(op))
    return true;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return getMovedInputMap(generic).has_value();
  if (auto pad = dyn_cast<tensor::PadOp>(op))
    return pad.getConstantPaddingValue() &&
           matchPattern(pad.getConstantPaddingValue(), m_AnyZeroFloat());
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return isBlankTensor(insert.getDest());
  return false;
}

RoleAnalysis::RoleAnalysis(func::FuncOp func) {
  auto *dialect = func->getContext()->getLoadedDialect<BMDialect>();
  StringAttr roleName = dialect->getRoleAttrHelper().getName();
  BMDialect::GradSeedAttrHelper gradSeed = dialect->getGradSeedAttrHelper();
  for (BlockArgument arg : func.getArguments()) {
    auto role = func.getArgAttrOfType<RoleAttr>(arg.getArgNumber(), roleName);
    if (role && role.getValue() == Role::weight)
      weights.insert(arg);
    else if (role && role.getValue() == Role::error)
      errors.insert(arg);
    else if (role && role.getValue() == Role::activation)
      modelInputs.insert(arg);
  }
  func.walk([&](Operation *op) {
    bool moves = isDataMovement(op) && op->getNumOperands() >= 1;
    bool isGradSeed = gradSeed.isAttrPresent(op);
    if (isGradSeed)
      lossGrads.insert(op->getResults().begin(), op->getResults().end());
    else if (moves && lossGrads.contains(op->getOperand(0)))
      lossGrads.insert(op->getResults().begin(), op->getResults().end());
    bool fromError =
        isGradSeed || llvm::any_of(op->getOperands(),
                                   [&](Value v) { return errors.contains(v); });
    bool fromWeight = moves && weights.contains(op->getOperand(0));
    if (moves && modelInputs.contains(op->getOperand(0)))
      modelInputs.insert(op->getResults().begin(), op->getResults().end());
    for (Value result : op->getResults()) {
      if (fromError)
        errors.insert(result);
      else if (fromWeight)
        weights.insert(result);
    }
  });
}
