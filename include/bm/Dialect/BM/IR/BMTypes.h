//===- BMTypes.h - Block Minifloat attributes and types ---------*- C++ -*-===//

#ifndef BM_DIALECT_BM_IR_BMTYPES_H
#define BM_DIALECT_BM_IR_BMTYPES_H

#include "bm/Numerics/Format.h"
#include "bm/Numerics/Kulisch.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"

#include "bm/Dialect/BM/IR/BMEnums.h.inc"

namespace mlir::bm {
/// The rounding mode as the reference numerics library sees it.
inline ::bm::numerics::Rounding toNumerics(Rounding rounding) {
  switch (rounding) {
  case Rounding::nearest:
    return ::bm::numerics::Rounding::Nearest;
  case Rounding::stochastic:
    return ::bm::numerics::Rounding::Stochastic;
  case Rounding::zero:
    return ::bm::numerics::Rounding::Zero;
  }
  llvm_unreachable("rounding");
}

/// The scale rule as the reference numerics library sees it.
inline ::bm::numerics::ScaleRule toNumerics(ScaleRule rule) {
  return rule == ScaleRule::fit ? ::bm::numerics::ScaleRule::Fit
                                : ::bm::numerics::ScaleRule::Floor;
}
} // namespace mlir::bm

#define GET_ATTRDEF_CLASSES
#include "bm/Dialect/BM/IR/BMAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "bm/Dialect/BM/IR/BMOpsTypes.h.inc"

#endif // BM_DIALECT_BM_IR_BMTYPES_H
