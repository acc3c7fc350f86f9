//===- IntIR.h - Terse integer and index arith IR building ------*- C++ -*-===//
//
// One builder-and-location helper for the integer `arith` IR that the
// lowerings write by hand (the element math of ArithNumerics, the index
// arithmetic of the CPU kernels). Header only.
//
//===----------------------------------------------------------------------===//

#ifndef BM_DIALECT_BM_UTILS_INTIR_H
#define BM_DIALECT_BM_UTILS_INTIR_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"

#include <cstdint>

namespace mlir::bm {

/// Integer IR of one builder and location, on scalars or, with a non-empty
/// `shape`, elementwise on vectors of that shape (the type helpers then give
/// vector types and constants are splats). The operations with an `int64_t`
/// operand make a constant of the other operand's type (e.g. index
/// arithmetic: `ir.mul(i, 6)`).
struct IntIR {
  OpBuilder &b;
  Location loc;
  SmallVector<int64_t> shape = {};

  /// IR of the shape of `v` (a scalar or a vector).
  static IntIR like(OpBuilder &b, Location loc, Value v) {
    IntIR ir{b, loc};
    if (auto vt = dyn_cast<VectorType>(v.getType()))
      ir.shape.assign(vt.getShape().begin(), vt.getShape().end());
    return ir;
  }
  bool isVector() const { return !shape.empty(); }
  Type shaped(Type t) {
    return shape.empty() ? t : Type(VectorType::get(shape, t));
  }
  Type i1() { return shaped(b.getI1Type()); }
  Type i8() { return shaped(b.getI8Type()); }
  Type i32() { return shaped(b.getI32Type()); }
  Type i64() { return shaped(b.getI64Type()); }
  Type f32() { return shaped(b.getF32Type()); }

  /// A constant of type `t` (a splat for a vector type).
  Value c(Type t, int64_t v) {
    if (auto vt = dyn_cast<VectorType>(t))
      return arith::ConstantOp::create(
          b, loc,
          cast<TypedAttr>(DenseElementsAttr::get(
              vt, b.getIntegerAttr(vt.getElementType(), v))));
    return arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, v));
  }
  Value c32(int64_t v) { return c(i32(), v); }
  Value c64(int64_t v) { return c(i64(), v); }
  /// An index constant (scalar whatever the shape).
  Value idx(int64_t v) { return c(b.getIndexType(), v); }

  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return add(x, c(x.getType(), y)); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) { return mul(x, c(x.getType(), y)); }
  /// Unsigned division and remainder (index arithmetic).
  Value divu(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, c(x.getType(), y));
  }
  Value remu(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, c(x.getType(), y));
  }
  Value minu(Value x, int64_t y) {
    return arith::MinUIOp::create(b, loc, x, c(x.getType(), y));
  }
  Value band(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value bxor(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value lshr(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value smax(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value smin(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value eq(Value x, Value y) { return cmp(arith::CmpIPredicate::eq, x, y); }
  Value ne(Value x, Value y) { return cmp(arith::CmpIPredicate::ne, x, y); }
  Value slt(Value x, Value y) { return cmp(arith::CmpIPredicate::slt, x, y); }
  Value sle(Value x, Value y) { return cmp(arith::CmpIPredicate::sle, x, y); }
  Value sgt(Value x, Value y) { return cmp(arith::CmpIPredicate::sgt, x, y); }
  Value sge(Value x, Value y) { return cmp(arith::CmpIPredicate::sge, x, y); }
  Value ugt(Value x, Value y) { return cmp(arith::CmpIPredicate::ugt, x, y); }
  Value uge(Value x, Value y) { return cmp(arith::CmpIPredicate::uge, x, y); }
  Value ult(Value x, Value y) { return cmp(arith::CmpIPredicate::ult, x, y); }
  Value ult(Value x, int64_t y) { return ult(x, c(x.getType(), y)); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value ctlz(Value x) { return math::CountLeadingZerosOp::create(b, loc, x); }
  Value not_(Value x) { return bxor(x, c(x.getType(), -1)); }
  Value sext(Value x, Type t) {
    if (x.getType() == t)
      return x;
    return arith::ExtSIOp::create(b, loc, t, x);
  }
  Value zext(Value x, Type t) {
    if (x.getType() == t)
      return x;
    return arith::ExtUIOp::create(b, loc, t, x);
  }
  Value trunc(Value x, Type t) {
    if (x.getType() == t)
      return x;
    return arith::TruncIOp::create(b, loc, t, x);
  }
  /// Zero-extends or truncates to t.
  Value resize(Value x, Type t) {
    unsigned from = getElementTypeOrSelf(x.getType()).getIntOrFloatBitWidth();
    unsigned to = getElementTypeOrSelf(t).getIntOrFloatBitWidth();
    return from < to ? zext(x, t) : trunc(x, t);
  }
  /// Clamps a shift amount into [0, max].
  Value clampShift(Value amount, int64_t max) {
    Type t = amount.getType();
    return smin(smax(amount, c(t, 0)), c(t, max));
  }
};

} // namespace mlir::bm

#endif // BM_DIALECT_BM_UTILS_INTIR_H
