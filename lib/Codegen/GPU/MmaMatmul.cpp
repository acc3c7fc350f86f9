//===- MmaMatmul.cpp - int8 tensor-core kernels of a fused matmul ---------===//
//
// Operands (built by convert-bm-to-gpu, bufferized):
//   A  [batch?, M, R, Lp] i8   integer forms, run-major, zero past each run
//   B  [batch?, N, R, Lp] i8   (Lp a multiple of 32)
//   SA [batch?, M, R] i32      unit exponents (or the non-finite marker)
//   SB [batch?, N, R] i32
//   C  [batch?, M, N] f32      init on entry, result on exit
//
// Fragments of mma.m16n8k32 .s8 (PTX ISA, "Matrix Fragments for
// mma.m16n8k32"), g = lane / 4, t = lane % 4, each .b32 register holding
// four consecutive k, lowest k in the lowest byte:
//   A (row-major 16x32): a0: row g,   k = 4t..4t+3      a1: row g+8, same k
//                        a2: row g,   k = 16+4t..+3     a3: row g+8, same k
//   B (col-major 32x8):  b0: col g,   k = 4t..4t+3      b1: col g, k = 16+4t..
//   C/D (16x8 s32):      c0, c1: row g,   cols 2t, 2t+1
//                        c2, c3: row g+8, cols 2t, 2t+1
//
// Two kernels (bm-map-to-gpu's `mma-kernel` option):
//
// * `tiled` (default): blocks of 256 threads own 128x128 outputs; warp w
//   owns rows [64 (w % 2), +64) and columns [32 (w / 2), +32) of the block
//   tile (4 x 4 m16n8 tiles). K is walked in steps of 32 bytes through a
//   ring of kStages shared-memory stages filled by cp.async (16 bytes per
//   thread per operand and step, rows padded to an odd number of 16-byte
//   chunks so that ldmatrix reads are free of bank conflicts); fragments
//   are read with ldmatrix.x4: for A, matrix i of lane L is rows
//   L % 8 + 8 (i % 2), bytes 16 (i / 2) (a0..a3); for B (n rows, k
//   contiguous), rows L % 8 + 8 (i / 2), bytes 16 (i % 2) (b0, b1 of two
//   n-tiles). Step s waits for its group (cp.async.wait_group kStages - 2),
//   passes a barrier (everyone is done with step s - 1), refills the stage
//   step s - 1 used with step s + kStages - 1, then computes.
// * `direct`: blocks of 128 threads own 64x32 outputs (warp w: rows
//   [16 w, +16), four m16n8 tiles); each fragment register is one aligned
//   32-bit load from global memory (k is contiguous in A and B).
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
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::gpu_lowering;
using namespace mlir::bm::lowering;

namespace {
/// The mark of convert-bm-to-gpu that selects these kernels.
constexpr llvm::StringLiteral kMmaAttrName =
    BMDialect::GpuMmaAttrHelper::getNameStr();
constexpr int64_t kTileM = 16, kTileN = 8;
/// The smallest s = sA + sB of the fast run conversion: float(P) * 2^s is
/// 0 or normal (|float(P)| >= 1 when P != 0).
constexpr int32_t kFastMinScale = -126;

/// The checked operands and shapes of a bm.gpu_mma generic.
struct MmaMatmul {
  Value A, B, SA, SB, C;
  bool batched;
  int64_t batch, M, N, R, Lp;
  /// Largest s = sA + sB of the fast conversion, and whether float(P) may
  /// be computed with the magic number (|P| < 2^22).
  int32_t fastMaxScale;
  bool magicConversion;
};

FailureOr<MmaMatmul> analyze(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 4 || op.getNumDpsInits() != 1)
    return op.emitOpError("marked ") << kMmaAttrName
                                     << " does not have the fused matmul "
                                        "operands";
  MmaMatmul mm;
  mm.A = op.getDpsInputOperand(0)->get();
  mm.B = op.getDpsInputOperand(1)->get();
  mm.SA = op.getDpsInputOperand(2)->get();
  mm.SB = op.getDpsInputOperand(3)->get();
  mm.C = op.getDpsInitOperand(0)->get();
  auto aType = dyn_cast<MemRefType>(mm.A.getType());
  auto bType = dyn_cast<MemRefType>(mm.B.getType());
  auto cType = dyn_cast<MemRefType>(mm.C.getType());
  if (!aType || !bType || !cType || !aType.hasStaticShape() ||
      !bType.hasStaticShape() || !cType.hasStaticShape() ||
      !aType.getElementType().isInteger(8) ||
      !bType.getElementType().isInteger(8))
    return op.emitOpError("marked ")
           << kMmaAttrName << " needs static i8 run buffers";
  mm.batched = cType.getRank() == 3;
  unsigned nb = mm.batched ? 1 : 0;
  ArrayRef<int64_t> as = aType.getShape();
  mm.batch = mm.batched ? as[0] : 1;
  mm.M = as[nb];
  mm.R = as[nb + 1];
  mm.Lp = as[nb + 2];
  mm.N = bType.getShape()[nb];
  if (mm.Lp % kMmaK != 0 || bType.getShape()[nb + 1] != mm.R ||
      bType.getShape()[nb + 2] != mm.Lp)
    return op.emitOpError("marked ")
           << kMmaAttrName << " has run buffers of mismatched shapes";
  // 32-bit loads at k = 4t and 16-byte copies need aligned rows: identity
  // layouts of fresh buffers (the run buffers are always allocated by the
  // lowering, and allocations are aligned).
  if (!aType.getLayout().isIdentity() || !bType.getLayout().isIdentity())
    return op.emitOpError("marked ")
           << kMmaAttrName << " needs identity-layout run buffers";
  // |P| <= 128 * 128 * Lp for i8 forms (the padding is zero), below 2^bits.
  // The fast conversion needs P * 2^s at most float32's largest finite
  // value: s <= 127 - bits. Below 2^22, the magic-number conversion is exact.
  int64_t sumBound = 128 * 128 * mm.Lp;
  int64_t sumBits = llvm::Log2_64(sumBound) + 1;
  if (sumBits > 31)
    return op.emitOpError("marked ")
           << kMmaAttrName << " has runs too long for 32-bit run sums";
  mm.fastMaxScale = static_cast<int32_t>(127 - sumBits);
  mm.magicConversion = sumBound < (int64_t(1) << 22);
  return mm;
}

/// Shared code of the two kernels, inside the launch body.
struct KernelBuilder {
  OpBuilder &b;
  Location loc;
  const MmaMatmul &mm;
  gpu::LaunchOp launch;

  Value idx(int64_t v) { return constIndex(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value addc(Value x, int64_t y) { return add(x, idx(y)); }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, idx(y));
  }
  Value minc(Value x, int64_t y) {
    return arith::MinUIOp::create(b, loc, x, idx(y));
  }
  Value divc(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value remc(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  SmallVector<Value> withBatch(ArrayRef<Value> rest) {
    SmallVector<Value> all;
    if (mm.batched)
      all.push_back(launch.getBlockIds().z);
    all.append(rest.begin(), rest.end());
    return all;
  }

  /// The element e of a lane's accumulators sits in row rows[rowOf(e)] and
  /// column cols[colOf(e)] (unclamped; the clamped ones are for loads).
  struct Layout {
    SmallVector<Value> rows, cols, rowsC, colsC;
    std::function<int64_t(int64_t)> rowOf, colOf;
    int64_t elements;
  };

  SmallVector<Value> loadInit(const Layout &l) {
    SmallVector<Value> init;
    for (int64_t e = 0; e < l.elements; ++e)
      init.push_back(memref::LoadOp::create(
          b, loc, mm.C, withBatch({l.rowsC[l.rowOf(e)], l.colsC[l.colOf(e)]})));
    return init;
  }

  /// acc + the run's terms, in ascending run order (file comment).
  SmallVector<Value> convertRun(const Layout &l, Value r, ValueRange sums,
                                ValueRange acc) {
    MLIRContext *context = b.getContext();
    SmallVector<Value> sA, sB;
    for (Value row : l.rowsC)
      sA.push_back(memref::LoadOp::create(b, loc, mm.SA, withBatch({row, r})));
    for (Value col : l.colsC)
      sB.push_back(memref::LoadOp::create(b, loc, mm.SB, withBatch({col, r})));
    // The lane's run takes the fast conversion when no block is non-finite
    // and every sA + sB lies in [kFastMinScale, fastMaxScale] (min/max over
    // its rows and columns; finite scales are within +-1000, the marker
    // INT32_MIN fails the first test).
    using P = arith::CmpIPredicate;
    auto cmp = [&](P pred, Value u, Value v) -> Value {
      return arith::CmpIOp::create(b, loc, pred, u, v);
    };
    auto andi = [&](Value u, Value v) -> Value {
      return arith::AndIOp::create(b, loc, u, v);
    };
    auto i32c = [&](int64_t v) { return constI32(b, loc, v); };
    auto fold = [&](ArrayRef<Value> vs, bool takeMax) {
      Value m = vs.front();
      for (Value v : vs.drop_front())
        m = takeMax ? arith::MaxSIOp::create(b, loc, m, v).getResult()
                    : arith::MinSIOp::create(b, loc, m, v).getResult();
      return m;
    };
    Value minA = fold(sA, false), maxA = fold(sA, true);
    Value minB = fold(sB, false), maxB = fold(sB, true);
    Value takeFast = andi(
        andi(cmp(P::sgt, minA, i32c(-1000)), cmp(P::sgt, minB, i32c(-1000))),
        andi(cmp(P::sge, arith::AddIOp::create(b, loc, minA, minB),
                 i32c(kFastMinScale)),
             cmp(P::sle, arith::AddIOp::create(b, loc, maxA, maxB),
                 i32c(mm.fastMaxScale))));
    SmallVector<Type> accTypes(l.elements, b.getF32Type());
    auto ifOp = scf::IfOp::create(b, loc, accTypes, takeFast,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    // acc + float(P) * 2^(sA + sB): float(P) exact (|P| < 2^24), the power
    // of two a normal float built from bits, so the product is exact and
    // one FMA rounds like the multiplication and addition. For |P| < 2^22,
    // float(P) is bits(1.5 * 2^23) + P reinterpreted, minus 1.5 * 2^23: two
    // full-rate instructions instead of a conversion.
    b.setInsertionPointToStart(ifOp.thenBlock());
    Type f32 = b.getF32Type();
    auto contract =
        arith::FastMathFlagsAttr::get(context, arith::FastMathFlags::contract);
    Value magicBits = i32c(0x4B400000);
    Value magic =
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(12582912.0f));
    SmallVector<Value> updated;
    for (int64_t e = 0; e < l.elements; ++e) {
      Value sum = sums[e];
      Value value;
      if (mm.magicConversion) {
        Value shifted = arith::AddIOp::create(b, loc, sum, magicBits);
        value = arith::SubFOp::create(
            b, loc, arith::BitcastOp::create(b, loc, f32, shifted), magic);
      } else {
        value = arith::SIToFPOp::create(b, loc, f32, sum);
      }
      Value scale = arith::AddIOp::create(b, loc, sA[l.rowOf(e)], sB[l.colOf(e)]);
      Value bits = arith::ShLIOp::create(
          b, loc, arith::AddIOp::create(b, loc, scale, i32c(127)), i32c(23));
      Value pow2 = arith::BitcastOp::create(b, loc, f32, bits);
      Value term = arith::MulFOp::create(b, loc, value, pow2, contract);
      updated.push_back(arith::AddFOp::create(b, loc, acc[e], term, contract));
    }
    scf::YieldOp::create(b, loc, updated);

    // Element by element, exactly; NaN for a non-finite block.
    b.setInsertionPointToStart(ifOp.elseBlock());
    updated.clear();
    for (int64_t e = 0; e < l.elements; ++e) {
      Value sa = sA[l.rowOf(e)], sb = sB[l.colOf(e)];
      Value nonFinite = eitherNonFinite(b, loc, sa, sb);
      Value scale = arith::AddIOp::create(b, loc, sa, sb);
      Value term = emitScaledIntToFloat32(b, loc, sums[e], scale);
      updated.push_back(accumulateTerm(b, loc, acc[e], term, nonFinite));
    }
    scf::YieldOp::create(b, loc, updated);
    return SmallVector<Value>(ifOp.getResults());
  }

  /// Stores the elements inside [M, N]. The fast conversion lets NaNs
  /// through with any payload: the stored NaN is the canonical one.
  void store(const Layout &l, ValueRange results) {
    Value nan = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(llvm::bit_cast<float>(kCanonicalNaNBits)));
    for (int64_t e = 0; e < l.elements; ++e) {
      Value row = l.rows[l.rowOf(e)], col = l.cols[l.colOf(e)];
      Value inside = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                idx(mm.M)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col,
                                idx(mm.N)));
      auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      Value result = results[e];
      Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO,
                                          result, result);
      memref::StoreOp::create(
          b, loc, arith::SelectOp::create(b, loc, isNaN, nan, result), mm.C,
          withBatch({row, col}));
    }
  }

  /// One m16n8k32 s8 MMA: c + a x b.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bRegs,
                         ValueRange c) {
    Type i32 = b.getI32Type();
    auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                       SmallVector<Type>(4, i32));
    auto op = NVVM::MmaOp::create(
        b, loc, structType, ValueRange(a), ValueRange(bRegs), c,
        ArrayRef<int64_t>{16, 8, 32},
        /*b1Op=*/std::nullopt, NVVM::MMAIntOverflow::wrapped,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8, NVVM::MMATypes::s8},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value> d;
    for (int64_t i = 0; i < 4; ++i)
      d.push_back(LLVM::ExtractValueOp::create(b, loc, op.getRes(),
                                               ArrayRef<int64_t>{i}));
    return d;
  }

  /// Four consecutive i8 as the .b32 register of a fragment.
  Value asRegister(Value bytes) {
    Value word = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), bytes);
    return vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
  }
};

//===----------------------------------------------------------------------===//
// The direct kernel
//===----------------------------------------------------------------------===//

constexpr int64_t kDirectWarps = 4;  // along M
constexpr int64_t kDirectTilesN = 4; // m16n8 tiles per warp along N

LogicalResult emitDirect(RewriterBase &rewriter, linalg::GenericOp op,
                         const MmaMatmul &mm) {
  Location loc = op.getLoc();
  if (llvm::divideCeil(mm.M, kDirectWarps * kTileM) > 65535 ||
      mm.batch > 65535 ||
      llvm::divideCeil(mm.N, kDirectTilesN * kTileN) > INT32_MAX)
    return op.emitOpError("marked ")
           << kMmaAttrName << " is too large for one launch of the "
           << "tensor-core kernel (grid y and z are limited to 65535)";
  auto cidx = [&](int64_t v) { return constIndex(rewriter, loc, v); };
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, cidx(llvm::divideCeil(mm.N, kDirectTilesN * kTileN)),
      cidx(llvm::divideCeil(mm.M, kDirectWarps * kTileM)), cidx(mm.batch),
      cidx(32 * kDirectWarps), cidx(1), cidx(1));
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  KernelBuilder k{rewriter, loc, mm, launch};
  OpBuilder &b = rewriter;

  Value tid = launch.getThreadIds().x;
  Value lane = k.remc(tid, 32), warp = k.divc(tid, 32);
  Value g = k.divc(lane, 4), t = k.remc(lane, 4);
  Value m0 = k.mul(k.add(k.mul(launch.getBlockIds().y, kDirectWarps), warp),
                   kTileM);
  Value n0 = k.mul(launch.getBlockIds().x, kDirectTilesN * kTileN);

  // This lane's rows (g, g + 8) and, per tile, columns (2t, 2t + 1) of the
  // accumulator fragment, and the B column g it loads. Element
  // e = 4 nt + i: row i / 2, column 2 nt + i % 2 of these lists.
  KernelBuilder::Layout l;
  l.rows = {k.add(m0, g), k.add(m0, k.addc(g, 8))};
  l.rowsC = {k.minc(l.rows[0], mm.M - 1), k.minc(l.rows[1], mm.M - 1)};
  SmallVector<Value> bCols;
  for (int64_t nt = 0; nt < kDirectTilesN; ++nt) {
    Value base = k.addc(n0, nt * kTileN);
    for (int64_t i = 0; i < 2; ++i) {
      Value col = k.add(base, k.addc(k.mul(t, 2), i));
      l.cols.push_back(col);
      l.colsC.push_back(k.minc(col, mm.N - 1));
    }
    bCols.push_back(k.minc(k.add(base, g), mm.N - 1));
  }
  l.rowOf = [](int64_t e) { return (e % 4) / 2; };
  l.colOf = [](int64_t e) { return 2 * (e / 4) + (e % 2); };
  l.elements = 4 * kDirectTilesN;

  auto vec4 = VectorType::get({4}, b.getI8Type());
  auto load32 = [&](Value buffer, ArrayRef<Value> at) -> Value {
    auto load = vector::LoadOp::create(b, loc, vec4, buffer, at);
    load.setAlignment(4);
    return k.asRegister(load);
  };

  auto runLoop = scf::ForOp::create(
      b, loc, k.idx(0), k.idx(mm.R), k.idx(1), k.loadInit(l),
      [&](OpBuilder &, Location, Value r, ValueRange acc) {
        SmallVector<Value> zeros(l.elements, constI32(b, loc, 0));
        auto kLoop = scf::ForOp::create(
            b, loc, k.idx(0), k.idx(mm.Lp), k.idx(kMmaK), zeros,
            [&](OpBuilder &, Location, Value k0, ValueRange sums) {
              Value kLo = k.add(k0, k.mul(t, 4));
              Value kHi = k.addc(kLo, 16);
              Value a[4] = {load32(mm.A, k.withBatch({l.rowsC[0], r, kLo})),
                            load32(mm.A, k.withBatch({l.rowsC[1], r, kLo})),
                            load32(mm.A, k.withBatch({l.rowsC[0], r, kHi})),
                            load32(mm.A, k.withBatch({l.rowsC[1], r, kHi}))};
              SmallVector<Value> next;
              for (int64_t nt = 0; nt < kDirectTilesN; ++nt) {
                Value bRegs[2] = {
                    load32(mm.B, k.withBatch({bCols[nt], r, kLo})),
                    load32(mm.B, k.withBatch({bCols[nt], r, kHi}))};
                llvm::append_range(next,
                                   k.mma(a, bRegs, sums.slice(4 * nt, 4)));
              }
              scf::YieldOp::create(b, loc, next);
            });
        scf::YieldOp::create(
            b, loc, k.convertRun(l, r, kLoop.getResults(), acc));
      });
  k.store(l, runLoop.getResults());
  gpu::TerminatorOp::create(b, loc);
  return success();
}

//===----------------------------------------------------------------------===//
// The tiled kernel
//===----------------------------------------------------------------------===//

constexpr int64_t kTiledWarpsM = 2, kTiledWarpsN = 4;
constexpr int64_t kTiledThreads = 32 * kTiledWarpsM * kTiledWarpsN;
constexpr int64_t kWarpTilesM = 4, kWarpTilesN = 4; // m16n8 tiles per warp
constexpr int64_t kBlockM = kTiledWarpsM * kWarpTilesM * kTileM; // 128
constexpr int64_t kBlockN = kTiledWarpsN * kWarpTilesN * kTileN; // 128
/// Shared-memory stages of 32 bytes of K: 4 x 2 x 128 x 48 bytes = 48 KiB,
/// the static shared-memory limit.
constexpr int64_t kStages = 4;
/// Bytes per stage row: 32 of K plus 16 of padding, three 16-byte chunks
/// (an odd number: the 8 rows one ldmatrix matrix reads start in 8
/// different bank groups).
constexpr int64_t kRowBytes = kMmaK + 16;
static_assert(kBlockM * 2 == kTiledThreads && kBlockN * 2 == kTiledThreads,
              "each thread copies one 16-byte chunk of A and of B per step");

LogicalResult emitTiled(RewriterBase &rewriter, linalg::GenericOp op,
                        const MmaMatmul &mm) {
  Location loc = op.getLoc();
  if (llvm::divideCeil(mm.M, kBlockM) > 65535 || mm.batch > 65535 ||
      llvm::divideCeil(mm.N, kBlockN) > INT32_MAX)
    return op.emitOpError("marked ")
           << kMmaAttrName << " is too large for one launch of the "
           << "tensor-core kernel (grid y and z are limited to 65535)";
  MLIRContext *context = rewriter.getContext();
  auto cidx = [&](int64_t v) { return constIndex(rewriter, loc, v); };
  auto workgroup = gpu::AddressSpaceAttr::get(
      context, gpu::GPUDialect::getWorkgroupAddressSpace());
  auto stageType = MemRefType::get({kStages, kBlockM, kRowBytes},
                                   rewriter.getI8Type(), MemRefLayoutAttrInterface{},
                                   workgroup);
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, cidx(llvm::divideCeil(mm.N, kBlockN)),
      cidx(llvm::divideCeil(mm.M, kBlockM)), cidx(mm.batch),
      cidx(kTiledThreads), cidx(1), cidx(1), /*dynamicSharedMemorySize=*/
      nullptr, /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{},
      TypeRange{stageType, stageType});
  Block &body = launch.getBody().front();
  Value sA = launch.getWorkgroupAttributions()[0];
  Value sB = launch.getWorkgroupAttributions()[1];
  rewriter.setInsertionPointToStart(&body);
  KernelBuilder k{rewriter, loc, mm, launch};
  OpBuilder &b = rewriter;

  Value tid = launch.getThreadIds().x;
  Value lane = k.remc(tid, 32), warp = k.divc(tid, 32);
  Value g = k.divc(lane, 4), t = k.remc(lane, 4);
  Value bm0 = k.mul(launch.getBlockIds().y, kBlockM);
  Value bn0 = k.mul(launch.getBlockIds().x, kBlockN);
  // The warp's first row and column within the block tile.
  Value wm = k.mul(k.remc(warp, kTiledWarpsM), kWarpTilesM * kTileM);
  Value wn = k.mul(k.divc(warp, kTiledWarpsM), kWarpTilesN * kTileN);

  // Accumulator element e = 4 (kWarpTilesN mt + nt) + i: row
  // wm + 16 mt + g + 8 (i / 2), column wn + 8 nt + 2t + i % 2.
  KernelBuilder::Layout l;
  for (int64_t mt = 0; mt < kWarpTilesM; ++mt)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = k.add(k.add(bm0, wm), k.addc(g, mt * kTileM + 8 * half));
      l.rows.push_back(row);
      l.rowsC.push_back(k.minc(row, mm.M - 1));
    }
  for (int64_t nt = 0; nt < kWarpTilesN; ++nt)
    for (int64_t i = 0; i < 2; ++i) {
      Value col = k.add(k.add(bn0, wn), k.addc(k.mul(t, 2), nt * kTileN + i));
      l.cols.push_back(col);
      l.colsC.push_back(k.minc(col, mm.N - 1));
    }
  l.rowOf = [](int64_t e) {
    int64_t tile = e / 4, i = e % 4;
    return 2 * (tile / kWarpTilesN) + i / 2;
  };
  l.colOf = [](int64_t e) {
    int64_t tile = e / 4, i = e % 4;
    return 2 * (tile % kWarpTilesN) + i % 2;
  };
  l.elements = 4 * kWarpTilesM * kWarpTilesN;

  // The chunk this thread copies per step: row tid / 2 of both operand
  // tiles, bytes 16 (tid % 2) of the step's 32.
  Value copyRow = k.divc(tid, 2);
  Value copyByte = k.mul(k.remc(tid, 2), 16);
  Value rowA = k.minc(k.add(bm0, copyRow), mm.M - 1);
  Value rowB = k.minc(k.add(bn0, copyRow), mm.N - 1);
  int64_t stepsPerRun = mm.Lp / kMmaK;
  int64_t steps = mm.R * stepsPerRun;
  // Issues the copies of step s (clamped to the last step: the refills
  // past the end write stages nobody reads again) and commits them as one
  // group.
  auto issue = [&](Value s) {
    Value clamped = k.minc(s, steps - 1);
    Value run = k.divc(clamped, stepsPerRun);
    Value byte = k.add(k.mul(k.remc(clamped, stepsPerRun), kMmaK), copyByte);
    Value stage = k.remc(s, kStages);
    for (auto [src, row, dst] : {std::make_tuple(mm.A, rowA, sA),
                                 std::make_tuple(mm.B, rowB, sB)})
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(context), dst,
          ValueRange{stage, copyRow, copyByte}, src,
          k.withBatch({row, run, byte}), b.getIndexAttr(16),
          /*srcElements=*/Value(), /*bypassL1=*/b.getUnitAttr());
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  };
  for (int64_t s = 0; s < kStages - 1; ++s)
    issue(k.idx(s));

  // ldmatrix lane addresses within a stage (see the file comment).
  Value l8 = k.remc(lane, 8);
  Value aRow = k.add(wm, k.add(l8, k.mul(k.remc(k.divc(lane, 8), 2), 8)));
  Value aByte = k.mul(k.divc(lane, 16), 16);
  Value bRow = k.add(wn, k.add(l8, k.mul(k.divc(lane, 16), 8)));
  Value bByte = k.mul(k.remc(k.divc(lane, 8), 2), 16);
  auto fragType = VectorType::get({4, 4}, b.getI8Type());
  auto ldmatrix = [&](Value stageBuf, Value stage, Value row, Value byte) {
    auto load = nvgpu::LdMatrixOp::create(b, loc, fragType, stageBuf,
                                          ValueRange{stage, row, byte},
                                          /*transpose=*/false, /*numTiles=*/4);
    SmallVector<Value> regs;
    for (int64_t i = 0; i < 4; ++i)
      regs.push_back(k.asRegister(vector::ExtractOp::create(
          b, loc, load, ArrayRef<int64_t>{i})));
    return regs;
  };

  auto runLoop = scf::ForOp::create(
      b, loc, k.idx(0), k.idx(mm.R), k.idx(1), k.loadInit(l),
      [&](OpBuilder &, Location, Value r, ValueRange acc) {
        SmallVector<Value> zeros(l.elements, constI32(b, loc, 0));
        auto kLoop = scf::ForOp::create(
            b, loc, k.idx(0), k.idx(stepsPerRun), k.idx(1), zeros,
            [&](OpBuilder &, Location, Value kk, ValueRange sums) {
              Value s = k.add(k.mul(r, stepsPerRun), kk);
              // Step s's group is complete once at most kStages - 2 newer
              // ones are pending; the barrier makes every thread's copies
              // visible and ends everyone's reads of step s - 1's stage,
              // which the refill then overwrites.
              NVVM::CpAsyncWaitGroupOp::create(b, loc, kStages - 2);
              gpu::BarrierOp::create(b, loc);
              issue(k.addc(s, kStages - 1));
              Value stage = k.remc(s, kStages);
              SmallVector<SmallVector<Value>> a, bFrag;
              for (int64_t mt = 0; mt < kWarpTilesM; ++mt)
                a.push_back(
                    ldmatrix(sA, stage, k.addc(aRow, mt * kTileM), aByte));
              for (int64_t np = 0; np < kWarpTilesN / 2; ++np) {
                SmallVector<Value> regs =
                    ldmatrix(sB, stage, k.addc(bRow, np * 2 * kTileN), bByte);
                bFrag.push_back({regs[0], regs[1]});
                bFrag.push_back({regs[2], regs[3]});
              }
              SmallVector<Value> next;
              for (int64_t mt = 0; mt < kWarpTilesM; ++mt)
                for (int64_t nt = 0; nt < kWarpTilesN; ++nt)
                  llvm::append_range(
                      next, k.mma(a[mt], bFrag[nt],
                                  sums.slice(4 * (kWarpTilesN * mt + nt), 4)));
              scf::YieldOp::create(b, loc, next);
            });
        scf::YieldOp::create(
            b, loc, k.convertRun(l, r, kLoop.getResults(), acc));
      });
  // No copy may be in flight when the block exits.
  NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
  k.store(l, runLoop.getResults());
  gpu::TerminatorOp::create(b, loc);
  return success();
}

} // namespace

LogicalResult mlir::bm::gpu_lowering::emitMmaMatmul(RewriterBase &rewriter,
                                                    linalg::GenericOp op,
                                                    MmaKernel kernel) {
  FailureOr<MmaMatmul> mm = analyze(op);
  if (failed(mm))
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  LogicalResult result = kernel == MmaKernel::Tiled
                             ? emitTiled(rewriter, op, *mm)
                             : emitDirect(rewriter, op, *mm);
  if (failed(result))
    return failure();
  rewriter.eraseOp(op);
  return success();
}
