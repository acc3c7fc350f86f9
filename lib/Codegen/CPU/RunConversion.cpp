//===- RunConversion.cpp - One conversion per run of the CPU kernel -------===//
//
// After each run, each of the tile's exact run sums P is converted once and
// added to the float32 tile, in ascending run order (numerics.md section 5).
// When no block of the tile's run is non-finite and every scale
// s = sA + sB lies in [-126, 96] (a min/max test on precomputed ranges),
// the update is acc + sitofp(P) * 2^s: sitofp rounds once (ties to even),
// 2^s is an exact normal float built from bits, and the product is 0 or
// normal, hence exact, so LLVM may fuse it with the addition (FMA). Any
// other tile and run takes the exact integer routine of ArithNumerics lane
// by lane (NaN for a non-finite block).
//
//===----------------------------------------------------------------------===//

#include "KernelEmitters.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Conversion/Utils/MatmulOperands.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/bit.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;
using lowering::constI32;
using lowering::kNonFiniteScale;

namespace {

/// The range of s = sA + sB in which a run sum P takes the fast conversion
/// acc + sitofp(P) * 2^s. sitofp(P) is 0 or of magnitude in [1, 2^31]
/// (|P| <= 2^31), so for s in [-126, 96] the product is 0 or a normal float
/// with sitofp's significand: exact. sitofp is then the one rounding of the
/// term, as numerics.md requires, and a fused multiply-add of the term into
/// the accumulator rounds exactly like the separate multiplication and
/// addition.
constexpr int32_t kFastMinScale = -126;
constexpr int32_t kFastMaxScale = 127 - 31;

} // namespace

FloatTile mlir::bm::cpu::detail::emitRunConversion(OpBuilder &b, Location loc,
                                                   const KernelContext &kc,
                                                   const TileCoords &tile,
                                                   const ScaleTables &scales,
                                                   Value r, ValueRange runSums,
                                                   const FloatTile &tile32) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes, chunks = plan.chunks, tileM = plan.tileM;
  IntIR x{b, loc};
  Type f32 = b.getF32Type();
  auto vf32 = VectorType::get({lanes}, f32);
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  SmallVector<bool> inBounds{true};

  // The run's scales: rows (scalars) and columns (vectors). The whole tile
  // takes the fast conversion when no block is non-finite and every
  // sA + sB lies in [-126, 96]: a test on the precomputed ranges of the
  // tile's row and column scales (finite scales are within +-1000; the
  // non-finite marker, INT32_MIN, fails it).
  auto cmp = [&](arith::CmpIPredicate pred, Value u, Value v) {
    return arith::CmpIOp::create(b, loc, pred, u, v).getResult();
  };
  auto andi = [&](Value u, Value v) {
    return arith::AndIOp::create(b, loc, u, v).getResult();
  };
  auto range = [&](Value table, Value panel, int64_t which) {
    return tensor::ExtractOp::create(b, loc, table,
                                     tile.at({panel, r, x.idx(which)}))
        .getResult();
  };
  Value minA = range(scales.rangeA, tile.rowPanel, 0);
  Value maxA = range(scales.rangeA, tile.rowPanel, 1);
  Value minB = range(scales.rangeB, tile.colPanel, 0);
  Value maxB = range(scales.rangeB, tile.colPanel, 1);
  using P = arith::CmpIPredicate;
  Value bound = constI32(b, loc, -1000);
  Value takeFast =
      andi(andi(cmp(P::sgt, minA, bound), cmp(P::sgt, minB, bound)),
           andi(cmp(P::sge, arith::AddIOp::create(b, loc, minA, minB),
                    constI32(b, loc, kFastMinScale)),
                cmp(P::sle, arith::AddIOp::create(b, loc, maxA, maxB),
                    constI32(b, loc, kFastMaxScale))));
  SmallVector<Value> carried = tile32.values();
  auto ifOp = scf::IfOp::create(b, loc, ValueRange(carried).getTypes(),
                                takeFast, /*withElseRegion=*/true);
  // acc + term in float32, vector by vector: the tile read and written per
  // vector, or its vectors in registers. NaN is sticky, so NaNs are made the
  // canonical one once, after the last run (NaNFixup.cpp).
  auto update = [&](OpBuilder &b, Location loc,
                    function_ref<Value(int64_t, int64_t, Value)> next)
      -> SmallVector<Value> {
    if (!tile32.tensor) {
      SmallVector<Value> updated;
      for (int64_t t = 0; t < tileM; ++t)
        for (int64_t c = 0; c < chunks; ++c)
          updated.push_back(next(t, c, tile32.vectors[t * chunks + c]));
      return updated;
    }
    IntIR x{b, loc};
    Value updated = tile32.tensor;
    for (int64_t t = 0; t < tileM; ++t)
      for (int64_t c = 0; c < chunks; ++c) {
        SmallVector<Value> at{x.idx(t), x.idx(c * lanes)};
        Value acc = vector::TransferReadOp::create(b, loc, vf32, updated, at,
                                                   tile.f32Zero, inBounds);
        updated = vector::TransferWriteOp::create(b, loc, next(t, c, acc),
                                                  updated, at, inBounds)
                      .getResult();
      }
    return {updated};
  };

  OpBuilder::InsertionGuard guard(b);
  // acc + sitofp(P) * 2^(sA + sB), the power of two built from bits. Within
  // the test's range the product is exact (see kFastMaxScale), so a fused
  // multiply-add rounds exactly like the multiplication and addition: both
  // carry `contract`, and LLVM may fuse them where the target has FMA.
  b.setInsertionPointToStart(ifOp.thenBlock());
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(),
                                                arith::FastMathFlags::contract);
  SmallVector<Value> colBits;
  for (int64_t c = 0; c < chunks; ++c)
    colBits.push_back(vector::TransferReadOp::create(
        b, loc, vi32, scales.pow2BitsB,
        tile.at({r, x.add(tile.n0, x.idx(c * lanes))}), tile.i32Zero,
        inBounds));
  SmallVector<Value> rowBits;
  for (int64_t t = 0; t < tileM; ++t)
    rowBits.push_back(vector::BroadcastOp::create(
        b, loc, vi32,
        tensor::ExtractOp::create(b, loc, scales.rowBitsA,
                                  tile.at({tile.rowPanel, r, x.idx(t)}))));
  SmallVector<Value> updated =
      update(b, loc, [&](int64_t t, int64_t c, Value acc) -> Value {
        Value bits = arith::AddIOp::create(b, loc, rowBits[t], colBits[c]);
        Value pow2 = arith::BitcastOp::create(b, loc, vf32, bits);
        Value value =
            arith::SIToFPOp::create(b, loc, vf32, runSums[t * chunks + c]);
        Value term = arith::MulFOp::create(b, loc, value, pow2, contract);
        return arith::AddFOp::create(b, loc, acc, term, contract);
      });
  scf::YieldOp::create(b, loc, updated);

  // Lane by lane, exactly; NaN for a non-finite block.
  b.setInsertionPointToStart(ifOp.elseBlock());
  SmallVector<Value> scaleA, scaleB;
  for (int64_t t = 0; t < tileM; ++t)
    scaleA.push_back(tensor::ExtractOp::create(
        b, loc, scales.scalesA, tile.at({x.add(tile.m0, x.idx(t)), r})));
  for (int64_t c = 0; c < chunks; ++c)
    scaleB.push_back(vector::TransferReadOp::create(
        b, loc, vi32, scales.scalesB,
        tile.at({r, x.add(tile.n0, x.idx(c * lanes))}), tile.i32Zero,
        inBounds));
  Value zeroF = splat(b, loc, vf32, b.getF32FloatAttr(0.0f));
  Value marker = splat(b, loc, vi32, b.getI32IntegerAttr(kNonFiniteScale));
  Value nan =
      splat(b, loc, vf32,
            b.getF32FloatAttr(llvm::bit_cast<float>(kCanonicalNaNBits)));
  updated = update(b, loc, [&](int64_t t, int64_t c, Value acc) -> Value {
    IntIR x{b, loc};
    Value sAv = vector::BroadcastOp::create(b, loc, vi32, scaleA[t]);
    Value sum = runSums[t * chunks + c];
    Value scale = arith::AddIOp::create(b, loc, sAv, scaleB[c]);
    auto laneLoop = scf::ForOp::create(
        b, loc, x.idx(0), x.idx(lanes), x.idx(1), ValueRange{zeroF},
        [&](OpBuilder &b, Location loc, Value lane, ValueRange iter) {
          Value v = vector::ExtractOp::create(b, loc, sum, OpFoldResult(lane));
          Value e =
              vector::ExtractOp::create(b, loc, scale, OpFoldResult(lane));
          Value f = emitScaledIntToFloat32(b, loc, v, e);
          Value updated =
              vector::InsertOp::create(b, loc, f, iter[0], OpFoldResult(lane));
          scf::YieldOp::create(b, loc, updated);
        });
    Value bad = arith::OrIOp::create(b, loc, cmp(P::eq, sAv, marker),
                                     cmp(P::eq, scaleB[c], marker));
    Value term =
        arith::SelectOp::create(b, loc, bad, nan, laneLoop.getResult(0));
    return arith::AddFOp::create(b, loc, acc, term);
  });
  scf::YieldOp::create(b, loc, updated);
  return tile32.with(ifOp.getResults());
}
