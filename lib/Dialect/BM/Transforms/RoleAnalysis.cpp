//===- RoleAnalysis.cpp - Weight, activation and error operands -----------===//

#include "RoleAnalysis.h"
#include "ContractionMatchers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::bm::training;

StringRef mlir::bm::training::roleName(Role role) {
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

/// A tensor whose every element is the same constant (a fill, an empty
/// tensor or a splat): inserting data into it moves that data only.
static bool isBlankTensor(Value v) {
  Operation *def = v.getDefiningOp();
  return def && (isa<linalg::FillOp, tensor::EmptyOp>(def) ||
                 matchPattern(v, m_Constant()));
}

bool mlir::bm::training::isDataMovement(Operation *op) {
  if (op->hasAttr("bm.data_movement"))
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
  for (BlockArgument arg : func.getArguments()) {
    auto role =
        func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "bm.role");
    if (role && role.getValue() == "weight")
      weights.insert(arg);
    else if (role && role.getValue() == "error")
      errors.insert(arg);
  }
  func.walk([&](Operation *op) {
    bool moves = isDataMovement(op) && op->getNumOperands() >= 1;
    if (op->hasAttr("bm.grad_seed"))
      lossGrads.insert(op->getResults().begin(), op->getResults().end());
    else if (moves && lossGrads.contains(op->getOperand(0)))
      lossGrads.insert(op->getResults().begin(), op->getResults().end());
    bool fromError = op->hasAttr("bm.grad_seed") ||
                     llvm::any_of(op->getOperands(),
                                  [&](Value v) { return errors.contains(v); });
    bool fromWeight = moves && weights.contains(op->getOperand(0));
    for (Value result : op->getResults()) {
      if (fromError)
        errors.insert(result);
      else if (fromWeight)
        weights.insert(result);
    }
  });
}
