//===- MmaMatmul.cpp - int8 tensor-core kernel of a fused matmul ----------===//
//
// Operands (built by convert-bm-to-gpu, bufferized):
//   A  [batch?, M, R, Lp] i8   integer forms, run-major, zero past each run
//   B  [batch?, N, R, Lp] i8   (Lp a multiple of 32)
//   SA [batch?, M, R] i32      unit exponents (or the non-finite marker)
//   SB [batch?, N, R] i32
//   C  [batch?, M, N] f32      init on entry, result on exit
//
// Grid: x = ceildiv(N, 32), y = ceildiv(M, 64), z = batch; 128 threads.
// Warp w of block (x, y) owns rows [(4y + w) * 16, +16) and columns
// [32x, +32): four m16n8 tiles side by side, sharing the A fragment.
//
// Fragments of mma.m16n8k32 .s8 (PTX ISA, "Matrix Fragments for
// mma.m16n8k32"), g = lane / 4, t = lane % 4, each .b32 register holding
// four consecutive k, lowest k in the lowest byte:
//   A (row-major 16x32): a0: row g,   k = 4t..4t+3      a1: row g+8, same k
//                        a2: row g,   k = 16+4t..+3     a3: row g+8, same k
//   B (col-major 32x8):  b0: col g,   k = 4t..4t+3      b1: col g, k = 16+4t..
//   C/D (16x8 s32):      c0, c1: row g,   cols 2t, 2t+1
//                        c2, c3: row g+8, cols 2t, 2t+1
// With k contiguous in A and B, each register is one aligned 32-bit load.
//
// Rows past M and columns past N read clamped (valid) addresses; a row of D
// depends only on the same row of A and a column only on the same column of
// B, so those lanes compute garbage that is never stored.
//
// Per run r (ascending): the s32 accumulators start at 0, take Lp / 32
// mma.sync steps (exact: the Kulisch width is at most 32 bits and the
// padding is zero), then each element is converted once,
// term = P * 2^(SA + SB) rounded to float32, and added to its float32
// accumulator (NaN for a non-finite block), exactly as the CPU lowering
// does. When all of a lane's blocks are finite and every SA + SB keeps
// float(P) * 2^(SA + SB) exact and normal (or zero), the term is that
// product, fused into the addition (float(P) by a magic-number add when
// |P| < 2^22): about six instructions per element. Otherwise the lane
// takes the shared integer routine (emitScaledIntToFloat32), ~60.
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/GPU/MmaMatmul.h"
#include "bm/Conversion/Utils/MatmulOperands.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::gpu_lowering;
using namespace mlir::bm::lowering;

namespace {
/// The mark of convert-bm-to-gpu that selects this kernel.
constexpr llvm::StringLiteral kMmaAttrName =
    BMDialect::GpuMmaAttrHelper::getNameStr();
constexpr int64_t kWarpsPerBlock = 4; // along M
constexpr int64_t kTilesN = 4;        // m16n8 tiles per warp along N
constexpr int64_t kTileM = 16, kTileN = 8;
/// The smallest s = sA + sB of the fast run conversion: float(P) * 2^s is
/// 0 or normal (|float(P)| >= 1 when P != 0).
constexpr int32_t kFastMinScale = -126;
} // namespace

LogicalResult mlir::bm::gpu_lowering::emitMmaMatmul(RewriterBase &rewriter,
                                                    linalg::GenericOp op) {
  Location loc = op.getLoc();
  if (op.getNumDpsInputs() != 4 || op.getNumDpsInits() != 1)
    return op.emitOpError("marked ") << kMmaAttrName
                                     << " does not have the fused matmul "
                                        "operands";
  Value A = op.getDpsInputOperand(0)->get();
  Value B = op.getDpsInputOperand(1)->get();
  Value SA = op.getDpsInputOperand(2)->get();
  Value SB = op.getDpsInputOperand(3)->get();
  Value C = op.getDpsInitOperand(0)->get();
  auto aType = dyn_cast<MemRefType>(A.getType());
  auto bType = dyn_cast<MemRefType>(B.getType());
  auto cType = dyn_cast<MemRefType>(C.getType());
  if (!aType || !bType || !cType || !aType.hasStaticShape() ||
      !bType.hasStaticShape() || !cType.hasStaticShape() ||
      !aType.getElementType().isInteger(8) ||
      !bType.getElementType().isInteger(8))
    return op.emitOpError("marked ")
           << kMmaAttrName << " needs static i8 run buffers";
  bool batched = cType.getRank() == 3;
  unsigned nb = batched ? 1 : 0;
  ArrayRef<int64_t> as = aType.getShape();
  int64_t batch = batched ? as[0] : 1;
  int64_t M = as[nb], R = as[nb + 1], Lp = as[nb + 2];
  int64_t N = bType.getShape()[nb];
  if (Lp % kMmaK != 0 || bType.getShape()[nb + 1] != R ||
      bType.getShape()[nb + 2] != Lp)
    return op.emitOpError("marked ")
           << kMmaAttrName << " has run buffers of mismatched shapes";
  // A 32-bit load at k = 4t needs 4-byte alignment: identity layouts of
  // fresh buffers (the run buffers are always allocated by the lowering).
  if (!aType.getLayout().isIdentity() || !bType.getLayout().isIdentity())
    return op.emitOpError("marked ")
           << kMmaAttrName << " needs identity-layout run buffers";

  if (llvm::divideCeil(M, kWarpsPerBlock * kTileM) > 65535 || batch > 65535 ||
      llvm::divideCeil(N, kTilesN * kTileN) > INT32_MAX)
    return op.emitOpError("marked ")
           << kMmaAttrName << " is too large for one launch of the "
           << "tensor-core kernel (grid y and z are limited to 65535)";

  // |P| <= 128 * 128 * Lp for i8 forms (the padding is zero), below 2^bits.
  // The fast conversion needs P * 2^s at most float32's largest finite
  // value: s <= 127 - bits. Below 2^22, the magic-number conversion is exact.
  int64_t sumBound = 128 * 128 * Lp;
  int64_t sumBits = llvm::Log2_64(sumBound) + 1;
  if (sumBits > 31)
    return op.emitOpError("marked ")
           << kMmaAttrName << " has runs too long for 32-bit run sums";
  int32_t fastMaxScale = static_cast<int32_t>(127 - sumBits);
  bool magicConversion = sumBound < (int64_t(1) << 22);

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  auto idx = [&](int64_t v) { return constIndex(rewriter, loc, v); };
  Value gridX = idx(llvm::divideCeil(N, kTilesN * kTileN));
  Value gridY = idx(llvm::divideCeil(M, kWarpsPerBlock * kTileM));
  auto launch = gpu::LaunchOp::create(rewriter, loc, gridX, gridY, idx(batch),
                                      idx(32 * kWarpsPerBlock), idx(1), idx(1));
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);
  OpBuilder &b = rewriter;
  MLIRContext *context = b.getContext();
  Type i32 = b.getI32Type();
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t y) -> Value {
    return arith::MulIOp::create(b, loc, x, idx(y));
  };
  auto addc = [&](Value x, int64_t y) -> Value { return add(x, idx(y)); };
  auto minc = [&](Value x, int64_t y) -> Value {
    return arith::MinUIOp::create(b, loc, x, idx(y));
  };

  Value tid = launch.getThreadIds().x;
  Value lane = arith::RemUIOp::create(b, loc, tid, idx(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(32));
  Value g = arith::DivUIOp::create(b, loc, lane, idx(4));
  Value t = arith::RemUIOp::create(b, loc, lane, idx(4));
  Value bz = launch.getBlockIds().z;
  Value m0 =
      mul(add(mul(launch.getBlockIds().y, kWarpsPerBlock), warp), kTileM);
  Value n0 = mul(launch.getBlockIds().x, kTilesN * kTileN);
  auto withBatch = [&](ArrayRef<Value> rest) {
    SmallVector<Value> all;
    if (batched)
      all.push_back(bz);
    all.append(rest.begin(), rest.end());
    return all;
  };

  // This lane's rows (g, g + 8) and, per tile, columns (2t, 2t + 1) of the
  // accumulator fragment, and the B column g it loads.
  Value rows[2] = {add(m0, g), add(m0, addc(g, 8))};
  Value rowsC[2] = {minc(rows[0], M - 1), minc(rows[1], M - 1)};
  SmallVector<Value> cols, colsC, bCols;
  for (int64_t nt = 0; nt < kTilesN; ++nt) {
    Value base = addc(n0, nt * kTileN);
    for (int64_t i = 0; i < 2; ++i) {
      Value col = add(base, addc(mul(t, 2), i));
      cols.push_back(col);
      colsC.push_back(minc(col, N - 1));
    }
    bCols.push_back(minc(add(base, g), N - 1));
  }
  // Element e = 4 * nt + i of the lane's accumulators: row i / 2, column
  // 2 * nt + i % 2 of the lists above.
  auto rowOf = [&](int64_t e) { return (e % 4) / 2; };
  auto colOf = [&](int64_t e) { return 2 * (e / 4) + (e % 2); };
  constexpr int64_t kElems = 4 * kTilesN;

  SmallVector<Value> init;
  for (int64_t e = 0; e < kElems; ++e)
    init.push_back(memref::LoadOp::create(
        b, loc, C, withBatch({rowsC[rowOf(e)], colsC[colOf(e)]})));

  auto vec4 = VectorType::get({4}, b.getI8Type());
  auto vec1 = VectorType::get({1}, i32);
  auto load32 = [&](OpBuilder &b, Value buffer, ArrayRef<Value> at) -> Value {
    auto load = vector::LoadOp::create(b, loc, vec4, buffer, at);
    load.setAlignment(4);
    Value word = vector::BitCastOp::create(b, loc, vec1, load);
    return vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
  };
  auto structType =
      LLVM::LLVMStructType::getLiteral(context, SmallVector<Type>(4, i32));

  auto runLoop = scf::ForOp::create(
      b, loc, idx(0), idx(R), idx(1), init,
      [&](OpBuilder &b, Location loc, Value r, ValueRange acc) {
        Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
        SmallVector<Value> zeros(kElems, zero);
        auto kLoop = scf::ForOp::create(
            b, loc, idx(0), idx(Lp), idx(kMmaK), zeros,
            [&](OpBuilder &b, Location loc, Value k0, ValueRange sums) {
              Value kLo = arith::AddIOp::create(
                  b, loc, k0, arith::MulIOp::create(b, loc, t, idx(4)));
              Value kHi = arith::AddIOp::create(b, loc, kLo, idx(16));
              Value a[4] = {load32(b, A, withBatch({rowsC[0], r, kLo})),
                            load32(b, A, withBatch({rowsC[1], r, kLo})),
                            load32(b, A, withBatch({rowsC[0], r, kHi})),
                            load32(b, A, withBatch({rowsC[1], r, kHi}))};
              SmallVector<Value> next;
              for (int64_t nt = 0; nt < kTilesN; ++nt) {
                Value bRegs[2] = {load32(b, B, withBatch({bCols[nt], r, kLo})),
                                  load32(b, B, withBatch({bCols[nt], r, kHi}))};
                ValueRange c = sums.slice(4 * nt, 4);
                auto mma = NVVM::MmaOp::create(
                    b, loc, structType, ValueRange(a), ValueRange(bRegs), c,
                    ArrayRef<int64_t>{16, 8, 32},
                    /*b1Op=*/std::nullopt, NVVM::MMAIntOverflow::wrapped,
                    std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8,
                                                  NVVM::MMATypes::s8},
                    std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                                   NVVM::MMALayout::col});
                for (int64_t i = 0; i < 4; ++i)
                  next.push_back(LLVM::ExtractValueOp::create(
                      b, loc, mma.getRes(), ArrayRef<int64_t>{i}));
              }
              scf::YieldOp::create(b, loc, next);
            });
        // One conversion per run and element, added in run order.
        Value sA[2] = {
            memref::LoadOp::create(b, loc, SA, withBatch({rowsC[0], r})),
            memref::LoadOp::create(b, loc, SA, withBatch({rowsC[1], r}))};
        SmallVector<Value> sB;
        for (Value col : colsC)
          sB.push_back(memref::LoadOp::create(b, loc, SB, withBatch({col, r})));
        // The lane's run takes the fast conversion when no block is
        // non-finite and every sA + sB lies in [kFastMinScale, fastMax]
        // (min/max over its two rows and eight columns; finite scales are
        // within +-1000, the marker INT32_MIN fails the first test).
        using P = arith::CmpIPredicate;
        auto cmp = [&](P pred, Value u, Value v) -> Value {
          return arith::CmpIOp::create(b, loc, pred, u, v);
        };
        auto andi = [&](Value u, Value v) -> Value {
          return arith::AndIOp::create(b, loc, u, v);
        };
        auto i32c = [&](int64_t v) { return constI32(b, loc, v); };
        auto fold = [&](ArrayRef<Value> vs, bool takeMax) {
          Value r = vs.front();
          for (Value v : vs.drop_front())
            r = takeMax ? arith::MaxSIOp::create(b, loc, r, v).getResult()
                        : arith::MinSIOp::create(b, loc, r, v).getResult();
          return r;
        };
        Value minA = fold(sA, false), maxA = fold(sA, true);
        Value minB = fold(sB, false), maxB = fold(sB, true);
        Value takeFast = andi(
            andi(cmp(P::sgt, minA, i32c(-1000)), cmp(P::sgt, minB, i32c(-1000))),
            andi(cmp(P::sge, arith::AddIOp::create(b, loc, minA, minB),
                     i32c(kFastMinScale)),
                 cmp(P::sle, arith::AddIOp::create(b, loc, maxA, maxB),
                     i32c(fastMaxScale))));
        SmallVector<Type> accTypes(kElems, b.getF32Type());
        auto ifOp = scf::IfOp::create(b, loc, accTypes, takeFast,
                                      /*withElseRegion=*/true);
        {
          // acc + float(P) * 2^(sA + sB): float(P) exact (|P| < 2^24), the
          // power of two a normal float built from bits, so the product is
          // exact and one FMA rounds like the multiplication and addition.
          // For |P| < 2^22, float(P) is bits(1.5 * 2^23) + P reinterpreted,
          // minus 1.5 * 2^23: two full-rate instructions instead of a
          // conversion.
          OpBuilder::InsertionGuard ifGuard(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          Type f32 = b.getF32Type();
          auto contract = arith::FastMathFlagsAttr::get(
              context, arith::FastMathFlags::contract);
          Value magicBits = i32c(0x4B400000);
          Value magic = arith::ConstantOp::create(
              b, loc, b.getF32FloatAttr(12582912.0f));
          SmallVector<Value> updated;
          for (int64_t e = 0; e < kElems; ++e) {
            Value sum = kLoop.getResult(e);
            Value value;
            if (magicConversion) {
              Value shifted = arith::AddIOp::create(b, loc, sum, magicBits);
              value = arith::SubFOp::create(
                  b, loc, arith::BitcastOp::create(b, loc, f32, shifted),
                  magic);
            } else {
              value = arith::SIToFPOp::create(b, loc, f32, sum);
            }
            Value scale =
                arith::AddIOp::create(b, loc, sA[rowOf(e)], sB[colOf(e)]);
            Value bits = arith::ShLIOp::create(
                b, loc, arith::AddIOp::create(b, loc, scale, i32c(127)),
                i32c(23));
            Value pow2 = arith::BitcastOp::create(b, loc, f32, bits);
            Value term = arith::MulFOp::create(b, loc, value, pow2, contract);
            updated.push_back(
                arith::AddFOp::create(b, loc, acc[e], term, contract));
          }
          scf::YieldOp::create(b, loc, updated);

          // Element by element, exactly; NaN for a non-finite block.
          b.setInsertionPointToStart(ifOp.elseBlock());
          updated.clear();
          for (int64_t e = 0; e < kElems; ++e) {
            Value sa = sA[rowOf(e)], sb = sB[colOf(e)];
            Value nonFinite = eitherNonFinite(b, loc, sa, sb);
            Value scale = arith::AddIOp::create(b, loc, sa, sb);
            Value term =
                emitScaledIntToFloat32(b, loc, kLoop.getResult(e), scale);
            updated.push_back(
                accumulateTerm(b, loc, acc[e], term, nonFinite));
          }
          scf::YieldOp::create(b, loc, updated);
        }
        SmallVector<Value> next(ifOp.getResults());
        scf::YieldOp::create(b, loc, next);
      });

  for (int64_t e = 0; e < kElems; ++e) {
    Value row = rows[rowOf(e)], col = cols[colOf(e)];
    Value inside = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, idx(M)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col, idx(N)));
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard storeGuard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    // The fast conversion lets NaNs through with any payload: the stored
    // NaN is the canonical one.
    Value result = runLoop.getResult(e);
    Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO,
                                        result, result);
    Value nan = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(llvm::bit_cast<float>(kCanonicalNaNBits)));
    memref::StoreOp::create(b, loc,
                            arith::SelectOp::create(b, loc, isNaN, nan, result),
                            C, withBatch({row, col}));
  }
  gpu::TerminatorOp::create(b, loc);
  rewriter.eraseOp(op);
  return success();
}
