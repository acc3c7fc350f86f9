//===- NaNFixup.cpp - Canonical NaNs in a finished CPU kernel tile --------===//
//
// NaN is sticky through the float32 additions of the runs, so the NaNs of
// a tile are made the canonical 0x7fc00000 (numerics.md section 5) once,
// after its last run. On the bits: a float `select(x != x, NaN, x)` may be
// folded to x (LLVM does not promise NaN payloads), an integer test may
// not. A tile in memory is only rewritten when it holds a NaN (LLVM would
// otherwise make the rewrite a masked store, slow on some x86 CPUs); a tile
// in registers takes a select per vector before its one store.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitters.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;

FloatTile mlir::bm::cpu::detail::emitCanonicalNaNs(OpBuilder &b, Location loc,
                                                   const KernelContext &kc,
                                                   const TileCoords &tile,
                                                   const FloatTile &tile32) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes, chunks = plan.chunks, tileM = plan.tileM;
  auto vf32 = VectorType::get({lanes}, b.getF32Type());
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  SmallVector<bool> inBounds{true};
  Value nanBits =
      splat(b, loc, vi32,
            b.getI32IntegerAttr(static_cast<int32_t>(kCanonicalNaNBits)));
  Value absMask = splat(b, loc, vi32, b.getI32IntegerAttr(0x7fffffff));
  Value infBits = splat(b, loc, vi32, b.getI32IntegerAttr(0x7f800000));
  // A tile in registers: a select per vector (no store to avoid).
  if (!tile32.tensor) {
    FloatTile fixed;
    for (Value acc : tile32.vectors) {
      Value bits = arith::BitcastOp::create(b, loc, vi32, acc);
      Value isNaN = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ugt,
          arith::AndIOp::create(b, loc, bits, absMask), infBits);
      fixed.vectors.push_back(arith::BitcastOp::create(
          b, loc, vf32, arith::SelectOp::create(b, loc, isNaN, nanBits, bits)));
    }
    return fixed;
  }
  // The bits of vector (t, c) of a tile and whether each lane is a NaN.
  auto nanLanes = [&](OpBuilder &b, Location loc, Value from, int64_t t,
                      int64_t c) {
    IntIR x{b, loc};
    SmallVector<Value> at{x.idx(t), x.idx(c * lanes)};
    Value acc = vector::TransferReadOp::create(b, loc, vf32, from, at,
                                               tile.f32Zero, inBounds);
    Value bits = arith::BitcastOp::create(b, loc, vi32, acc);
    Value isNaN = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ugt,
        arith::AndIOp::create(b, loc, bits, absMask), infBits);
    return std::make_pair(bits, isNaN);
  };
  Value anyLane;
  for (int64_t t = 0; t < tileM; ++t)
    for (int64_t c = 0; c < chunks; ++c) {
      Value isNaN = nanLanes(b, loc, tile32.tensor, t, c).second;
      anyLane = anyLane
                    ? arith::OrIOp::create(b, loc, anyLane, isNaN).getResult()
                    : isNaN;
    }
  Value anyNaN =
      vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, anyLane);
  auto fix = scf::IfOp::create(
      b, loc, anyNaN,
      [&](OpBuilder &b, Location loc) {
        IntIR x{b, loc};
        Value fixed = tile32.tensor;
        for (int64_t t = 0; t < tileM; ++t)
          for (int64_t c = 0; c < chunks; ++c) {
            auto [bits, isNaN] = nanLanes(b, loc, fixed, t, c);
            Value acc = arith::BitcastOp::create(
                b, loc, vf32,
                arith::SelectOp::create(b, loc, isNaN, nanBits, bits));
            fixed = vector::TransferWriteOp::create(
                        b, loc, acc, fixed,
                        ValueRange{x.idx(t), x.idx(c * lanes)}, inBounds)
                        .getResult();
          }
        scf::YieldOp::create(b, loc, fixed);
      },
      [&](OpBuilder &b, Location loc) {
        scf::YieldOp::create(b, loc, tile32.tensor);
      });
  return tile32.with(fix.getResults());
}
