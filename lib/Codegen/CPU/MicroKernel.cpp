//===- MicroKernel.cpp - One step of the CPU matmul kernel ----------------===//
//
// A step adds kPerStep k of every (row, column) of a tile to the tile's
// exact i32 run sums, which stay in vector registers for the whole run.
// The sums are exact because every partial sum of a run is bounded by the
// op's Kulisch width (at most 32 bits in the kernel's domain), and i32
// addition wraps associatively anyway.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;

namespace {

/// The indices of packed A's word `w` of row `m`, in its layout.
SmallVector<Value> aWordAt(const TileCoords &tile, const PackedOperands &packed,
                           Value m, Value w) {
  return packed.aWordsFirst ? tile.at({w, m}) : tile.at({m, w});
}

/// The private declaration of an LLVM intrinsic, for func.call.
func::FuncOp declareIntrinsic(OpBuilder &b, ModuleOp module, StringRef name,
                              FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto decl = func::FuncOp::create(b, module.getLoc(), name, type);
  decl.setPrivate();
  return decl;
}

/// Column chunk `c` of packed word `w` of B: the `lanes` words of the tile's
/// columns, as a vector of `type` (their packed k).
Value readB(OpBuilder &b, Location loc, const TileCoords &tile,
            const PackedOperands &packed, Value w, int64_t c, VectorType type) {
  IntIR x{b, loc};
  int64_t lanes = type.getNumElements() * type.getElementTypeBitWidth() / 32;
  Value words = vector::TransferReadOp::create(
      b, loc, VectorType::get({lanes}, b.getI32Type()), packed.b,
      tile.at({tile.colPanel, w, x.idx(lanes * c)}), tile.i32Zero,
      ArrayRef<bool>{true});
  return vector::BitCastOp::create(b, loc, type, words);
}

/// i16 pairs: one pair of k per step. Even lanes times even lanes plus odd
/// times odd, each sign-extended to i32 (the pattern LLVM selects as x86's
/// pmaddwd).
SmallVector<Value> emitI16PairsStep(OpBuilder &b, Location loc,
                                    const KernelContext &kc,
                                    const TileCoords &tile,
                                    const PackedOperands &packed, Value w0,
                                    ValueRange acc) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes, chunks = plan.chunks;
  IntIR x{b, loc};
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  auto vi16 = VectorType::get({2 * lanes}, b.getI16Type());
  SmallVector<bool> inBounds{true};
  SmallVector<int64_t> evenMask, oddMask;
  for (int64_t l = 0; l < lanes; ++l) {
    evenMask.push_back(2 * l);
    oddMask.push_back(2 * l + 1);
  }
  // sext(even lanes), sext(odd lanes) of an i16 vector.
  auto halves = [&](OpBuilder &b, Location loc, Value v) {
    auto half = [&](ArrayRef<int64_t> mask) -> Value {
      Value s = vector::ShuffleOp::create(b, loc, v, v, mask);
      return arith::ExtSIOp::create(b, loc, vi32, s);
    };
    return std::make_pair(half(evenMask), half(oddMask));
  };
  SmallVector<Value> next;
  SmallVector<std::pair<Value, Value>> bHalves;
  for (int64_t c = 0; c < chunks; ++c)
    bHalves.push_back(halves(b, loc, readB(b, loc, tile, packed, w0, c, vi16)));
  for (int64_t t = 0; t < plan.tileM; ++t) {
    Value pair = tensor::ExtractOp::create(
        b, loc, packed.a, aWordAt(tile, packed, x.add(tile.m0, x.idx(t)), w0));
    Value wide = vector::BroadcastOp::create(b, loc, vi32, pair);
    auto [ae, ao] =
        halves(b, loc, vector::BitCastOp::create(b, loc, vi16, wide));
    for (int64_t c = 0; c < chunks; ++c) {
      Value even = arith::MulIOp::create(b, loc, ae, bHalves[c].first);
      Value odd = arith::MulIOp::create(b, loc, ao, bHalves[c].second);
      Value sum = arith::AddIOp::create(b, loc, even, odd);
      next.push_back(arith::AddIOp::create(b, loc, acc[t * chunks + c], sum));
    }
  }
  return next;
}

/// u8 x s8 with AVX2: eight k as two quads. Per quad, pmaddubsw sums
/// (a + o) * b over pairs into i16 (no saturation: the plan's bound); the
/// two quads add in i16 (no overflow, same bound), and pmaddwd by ones
/// widens the pairs into the i32 sums.
SmallVector<Value> emitU8S8Avx2Step(OpBuilder &b, Location loc,
                                    const KernelContext &kc,
                                    const TileCoords &tile,
                                    const PackedOperands &packed, Value w0,
                                    ValueRange acc) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes, chunks = plan.chunks;
  int64_t wordsPerStep = plan.wordsPerStep();
  IntIR x{b, loc};
  Type i8 = b.getI8Type();
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  auto vi16 = VectorType::get({2 * lanes}, b.getI16Type());
  auto vi8 = VectorType::get({4 * lanes}, i8);
  SmallVector<bool> inBounds{true};
  SmallVector<Value> next;
  Value ones = splat(b, loc, vi16, b.getI16IntegerAttr(1));
  SmallVector<SmallVector<Value, 2>> bq(wordsPerStep);
  for (int64_t q = 0; q < wordsPerStep; ++q) {
    Value w = x.add(w0, x.idx(q));
    for (int64_t c = 0; c < chunks; ++c)
      bq[q].push_back(readB(b, loc, tile, packed, w, c, vi8));
  }
  for (int64_t t = 0; t < plan.tileM; ++t) {
    SmallVector<Value, 2> aq;
    for (int64_t q = 0; q < wordsPerStep; ++q) {
      Value word = tensor::ExtractOp::create(
          b, loc, packed.a,
          aWordAt(tile, packed, x.add(tile.m0, x.idx(t)), x.add(w0, x.idx(q))));
      Value wide = vector::BroadcastOp::create(b, loc, vi32, word);
      aq.push_back(vector::BitCastOp::create(b, loc, vi8, wide));
    }
    for (int64_t c = 0; c < chunks; ++c) {
      Value s16;
      for (int64_t q = 0; q < wordsPerStep; ++q) {
        Value p = callX86Intrinsic(b, loc, kc.module, kPmaddubsw, vi16,
                                   {aq[q], bq[q][c]});
        s16 = s16 ? arith::AddIOp::create(b, loc, s16, p).getResult() : p;
      }
      Value sum =
          callX86Intrinsic(b, loc, kc.module, kPmaddwd, vi32, {s16, ones});
      next.push_back(arith::AddIOp::create(b, loc, acc[t * chunks + c], sum));
    }
  }
  return next;
}

/// VNNI: one instruction per (row, chunk) adds the products of a packed
/// word's k into the i32 sums; the word of A is broadcast to every lane
/// (LLVM folds the broadcast into the instruction's memory operand). u8 x s8
/// (vpdpbusd): four k per word, A offset to unsigned, B signed; the sums
/// of the four products and the accumulator are exact i32 additions (no
/// saturation). i16 (vpdpwssd): two k per word.
SmallVector<Value> emitVnniStep(OpBuilder &b, Location loc,
                                const KernelContext &kc, const TileCoords &tile,
                                const PackedOperands &packed, Value w0,
                                ValueRange acc) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes, chunks = plan.chunks;
  int64_t W = plan.kPerWord;
  IntIR x{b, loc};
  Type packedType = kc.packedType(b);
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  auto vPacked = VectorType::get({lanes * W}, packedType);
  SmallVector<bool> inBounds{true};
  StringRef name = getVnniIntrinsic(plan);
  // The intrinsics take the packed bytes (i16 pairs) as vectors of them.
  SmallVector<Value> bv;
  for (int64_t c = 0; c < chunks; ++c)
    bv.push_back(readB(b, loc, tile, packed, w0, c, vPacked));
  SmallVector<Value> next;
  for (int64_t t = 0; t < plan.tileM; ++t) {
    Value word = tensor::ExtractOp::create(
        b, loc, packed.a, aWordAt(tile, packed, x.add(tile.m0, x.idx(t)), w0));
    Value a = vector::BitCastOp::create(
        b, loc, vPacked, vector::BroadcastOp::create(b, loc, vi32, word));
    for (int64_t c = 0; c < chunks; ++c)
      next.push_back(callX86Intrinsic(b, loc, kc.module, name, vi32,
                                      {acc[t * chunks + c], a, bv[c]}));
  }
  return next;
}

} // namespace

namespace mlir::bm::cpu::detail {

StringRef getVnniIntrinsic(const KernelPlan &plan) {
  bool wide = plan.lanes == 16;
  if (plan.step == StepKind::U8S8Vnni)
    return wide ? kVpdpbusd512 : kVpdpbusd256;
  return wide ? kVpdpwssd512 : kVpdpwssd256;
}

Value callX86Intrinsic(OpBuilder &b, Location loc, ModuleOp module,
                       StringRef name, Type resultType, ValueRange operands) {
  func::FuncOp callee = declareIntrinsic(
      b, module, name, b.getFunctionType(operands.getTypes(), resultType));
  return func::CallOp::create(b, loc, callee, operands).getResult(0);
}

SmallVector<Value> emitRunSumsInit(OpBuilder &b, Location loc,
                                   const KernelContext &kc,
                                   const TileCoords &tile, Value r,
                                   Value offsetColumnSums) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes;
  IntIR x{b, loc};
  auto vi32 = VectorType::get({lanes}, b.getI32Type());
  SmallVector<Value> init;
  if (offsetColumnSums) {
    // -offsetA * (column sums of b over the run), every row.
    SmallVector<bool> inBounds{true};
    for (int64_t t = 0; t < plan.tileM; ++t)
      for (int64_t c = 0; c < plan.chunks; ++c)
        init.push_back(vector::TransferReadOp::create(
            b, loc, vi32, offsetColumnSums,
            tile.at({r, x.add(tile.n0, x.idx(c * lanes))}), tile.i32Zero,
            inBounds));
    return init;
  }
  Value zeros = splat(b, loc, vi32, b.getI32IntegerAttr(0));
  init.assign(plan.tileM * plan.chunks, zeros);
  return init;
}

SmallVector<Value> emitStep(OpBuilder &b, Location loc, const KernelContext &kc,
                            const TileCoords &tile,
                            const PackedOperands &packed, Value w0,
                            ValueRange acc) {
  switch (kc.plan.step) {
  case StepKind::I16Pairs:
    return emitI16PairsStep(b, loc, kc, tile, packed, w0, acc);
  case StepKind::U8S8Avx2:
    return emitU8S8Avx2Step(b, loc, kc, tile, packed, w0, acc);
  case StepKind::U8S8Vnni:
  case StepKind::I16Vnni:
    return emitVnniStep(b, loc, kc, tile, packed, w0, acc);
  }
  llvm_unreachable("unknown step kind");
}

} // namespace mlir::bm::cpu::detail
