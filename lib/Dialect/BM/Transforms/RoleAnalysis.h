//===- RoleAnalysis.h - Weight, activation and error operands --*- C++ -*-===//
//
// Internal to lib/Dialect/BM/Transforms: the forward dataflow of training
// roles that bm-quantize-training uses to pick each operand's format
// (docs/training.md, "Roles").
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_DIALECT_BM_TRANSFORMS_ROLEANALYSIS_H
#define BM_LIB_DIALECT_BM_TRANSFORMS_ROLEANALYSIS_H

#include "bm/Dialect/BM/IR/BMTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bm::training {

/// Ops that only move data: a value obtained from a weight through them is
/// still a weight, and one obtained from the loss gradient is still the
/// loss gradient. Operand 0 is the data that moves: linalg.transpose,
/// linalg.copy, linalg.broadcast, generics that are one of these
/// (a single input yielded unchanged), tensor reshapes, slices, casts,
/// zero padding, an insert_slice into a filled or empty tensor, and any op
/// tagged with the unit attribute `bm.data_movement`.
bool isDataMovement(Operation *op);

/// Forward dataflow of roles over a function body.
class RoleAnalysis {
public:
  explicit RoleAnalysis(func::FuncOp func);

  /// Whether v is the loss gradient itself: a result of the bm.grad_seed
  /// op, or obtained from one by data movement only.
  bool isLossGrad(Value v) const { return lossGrads.contains(v); }

  /// Whether v is the model's input itself: the argument marked
  /// {bm.role = #bm.role<activation>}, or obtained from it by data movement
  /// only (the operand of the first layer's contractions).
  bool isModelInput(Value v) const { return modelInputs.contains(v); }

  /// The role of v as a contraction operand: error, weight or activation.
  Role roleOf(Value v) const {
    if (errors.contains(v))
      return Role::error;
    if (weights.contains(v))
      return Role::weight;
    return Role::activation;
  }

private:
  llvm::DenseSet<Value> errors, weights, lossGrads, modelInputs;
};

} // namespace mlir::bm::training

#endif // BM_LIB_DIALECT_BM_TRANSFORMS_ROLEANALYSIS_H
