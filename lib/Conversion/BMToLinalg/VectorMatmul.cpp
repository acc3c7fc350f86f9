//===- VectorMatmul.cpp - Register-tiled integer kernel of bm.matmul ------===//
//
// The CPU fast path of bm.matmul. It computes the same bits as the generic
// lowering (numerics.md section 5) with a different schedule:
//
//  1. Each operand is decoded once into i16 integer forms (a constant table
//     of the format's forms, indexed by code) and packed, zero past the
//     matrix edges (M, N rounded up to the tile): A as
//     [batch?, Mp/tileM, pairs, tileM] i32, each i32 holding the forms of
//     two consecutive k (low half first); B as [batch?, Np/16, pairs, 32]
//     i16, the two forms of a pair side by side for each column. When every
//     run starts and ends on an even k, pair p is k = 2p, 2p+1 and packing
//     is pure data movement through affine maps; otherwise each run gets
//     its own zero-padded pair slots.
//  2. The unit exponent of each (row, run) of A and (run, column) of B.
//  3. An scf.forall over tileM x kTileN output tiles. For each run, the
//     tile's exact run sums live in i32 vector registers; one step adds a
//     pair of k: even lanes times even lanes plus odd times odd, each
//     sign-extended to i32 (the pattern LLVM selects as x86 pmaddwd). The
//     sums are exact because every partial sum of a run is bounded by the
//     op's Kulisch width (at most 32 bits here), and i32 addition wraps
//     associatively anyway.
//  4. Per run, each sum is converted once and added to the float32 tile in
//     ascending run order. When no block of the tile's run is non-finite and
//     every scale s = sA + sB lies in [-126, 96] (a min/max test), the
//     update is acc + sitofp(P) * 2^s: sitofp rounds once (ties to even),
//     2^s is an exact normal float built from bits, and the product is 0 or
//     normal, hence exact, so LLVM may fuse it with the addition (FMA).
//     Any other tile and run takes the exact integer routine of
//     ArithNumerics lane by lane (NaN for a non-finite block). NaN is sticky
//     through the additions, so NaNs are made the canonical 0x7fc00000 once
//     per tile, after the last run.
//
// Domain: integer forms of at most 16 bits on both sides and a Kulisch width
// of at most 32 bits (e.g. e2m3, e2m5, e3m2, e3m4 and their mixes); others
// (e4m3's 18-bit forms, wide accumulators) keep the generic lowering.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Numerics/Kulisch.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"
#include "bm/Numerics/Quantize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::detail;
using ::bm::numerics::Format;

namespace {

constexpr int64_t kLanes = 8;  // i32 / f32 lanes of one 256-bit register
constexpr int64_t kChunks = 2; // kLanes-wide column chunks of a tile
constexpr int64_t kTileN = kLanes * kChunks;
constexpr int kMaxTableBits = 10; // largest decode table: 1024 entries

/// The range of s = sA + sB in which a run sum P takes the fast conversion
/// acc + sitofp(P) * 2^s. sitofp(P) is 0 or of magnitude in [1, 2^31]
/// (|P| <= 2^31), so for s in [-126, 96] the product is 0 or a normal float
/// with sitofp's significand: exact. sitofp is then the one rounding of the
/// term, as numerics.md requires, and a fused multiply-add of the term into
/// the accumulator rounds exactly like the separate multiplication and
/// addition.
constexpr int32_t kFastMinScale = -126;
constexpr int32_t kFastMaxScale = 127 - 31;

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/// `rest` after the batch index `bi` (none when `bi` is null).
SmallVector<Value> withBatchIndex(Value bi, ArrayRef<Value> rest) {
  SmallVector<Value> indices;
  if (bi)
    indices.push_back(bi);
  indices.append(rest.begin(), rest.end());
  return indices;
}

Value splat(OpBuilder &b, Location loc, VectorType type, Attribute value) {
  return arith::ConstantOp::create(
      b, loc, SplatElementsAttr::get(type, cast<TypedAttr>(value)));
}

/// Terse index arithmetic.
struct Idx {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v) { return constIndex(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, c(y));
  }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, c(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, c(y));
  }
  Value min(Value x, int64_t y) {
    return arith::MinUIOp::create(b, loc, x, c(y));
  }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value lt(Value x, int64_t y) { return lt(x, c(y)); }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  /// Element `i` of a constant i64 table, as an index.
  Value at(Value table, Value i) {
    Value v = tensor::ExtractOp::create(b, loc, table, ValueRange{i});
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
};

/// The kernel's step: how many k one step of the run loop consumes and how
/// the operands are packed for it.
struct StepKind {
  bool u8;         // u8 x s8 (pmaddubsw) rather than i16 (pmaddwd)
  int64_t U;       // k per step
  int64_t W;       // consecutive k per 32-bit word of packed A
  int64_t offsetA; // added to A's forms to make them unsigned (u8 step)
};

/// Largest |integer form| of any code of `f` (table-decodable formats).
int64_t largestForm(Format f) {
  int64_t largest = 0;
  for (uint32_t code = 0; code < (1u << f.codeBits()); ++code)
    largest = std::max<int64_t>(
        largest,
        std::abs(::bm::numerics::decodeElement(code, f).toInt64()));
  return largest;
}

/// The u8 x s8 step when the x86 AVX2 intrinsics may be used and the forms
/// are narrow enough that nothing saturates or wraps: with maxA, maxB the
/// largest |form| of A and B and A offset by maxA into [0, 2 maxA] (u8),
/// pmaddubsw adds two products of at most 2 maxA * maxB each and the two
/// quads of a step add four, so 4 * 2 maxA * maxB <= 32767 keeps every i16
/// lane exact (e2m3 x e2m3: 4 * 120 * 60 = 28800). Otherwise the i16 step.
StepKind selectStep(Format fa, Format fb, bool x86Avx2) {
  StepKind i16Step{false, 2, 2, 0};
  if (!x86Avx2 || fa.codeBits() > kMaxTableBits ||
      fb.codeBits() > kMaxTableBits)
    return i16Step;
  int64_t maxA = largestForm(fa), maxB = largestForm(fb);
  if (2 * maxA > 255 || maxB > 127 || 4 * 2 * maxA * maxB > 32767)
    return i16Step;
  return StepKind{true, 8, 4, maxA};
}

/// The private declaration of an LLVM intrinsic, for func.call: LLVM IR
/// takes any function named llvm.* for that intrinsic (with its attributes).
/// A call of a declaration goes through bufferization and buffer
/// deallocation, which reject llvm.call_intrinsic (it declares no memory
/// effects).
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

/// A call of the two-operand LLVM intrinsic `name` (see declareIntrinsic).
Value callIntrinsic(OpBuilder &b, Location loc, ModuleOp module,
                    StringRef name, Type resultType, Value u, Value v) {
  func::FuncOp callee =
      declareIntrinsic(b, module, name,
                       b.getFunctionType({u.getType(), v.getType()},
                                         resultType));
  return func::CallOp::create(b, loc, callee, ValueRange{u, v}).getResult(0);
}

/// Fills `init` slice by slice: for every index vector of the iteration
/// space `ubs`, `body` returns a slice and its offsets and sizes (unit
/// strides). An scf.forall (tasks in the parallel CPU pipeline) when
/// `parallel`, else nested scf.for loops carrying the tensor.
using SliceBody = function_ref<std::pair<Value, SmallVector<OpFoldResult>>(
    OpBuilder &, ValueRange, SmallVector<OpFoldResult> &)>;
Value buildSliceLoop(OpBuilder &b, Location loc, ArrayRef<int64_t> ubs,
                     Value init, bool parallel, SliceBody body) {
  auto rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  if (parallel) {
    SmallVector<OpFoldResult> bounds;
    for (int64_t ub : ubs)
      bounds.push_back(b.getIndexAttr(ub));
    auto forall =
        scf::ForallOp::create(b, loc, bounds, ValueRange{init}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    SmallVector<OpFoldResult> sizes;
    auto [slice, offsets] = body(b, forall.getInductionVars(), sizes);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, slice,
                                          forall.getRegionIterArgs()[0],
                                          offsets, sizes, strides);
    return forall.getResult(0);
  }
  SmallVector<Value> ivs;
  std::function<Value(OpBuilder &, Value, size_t)> nest =
      [&](OpBuilder &b, Value acc, size_t d) -> Value {
    if (d == ubs.size()) {
      SmallVector<OpFoldResult> sizes;
      auto [slice, offsets] = body(b, ivs, sizes);
      return tensor::InsertSliceOp::create(b, loc, slice, acc, offsets, sizes,
                                           strides);
    }
    auto loop = scf::ForOp::create(
        b, loc, constIndex(b, loc, 0), constIndex(b, loc, ubs[d]),
        constIndex(b, loc, 1), ValueRange{acc},
        [&](OpBuilder &b, Location loc, Value iv, ValueRange args) {
          ivs.push_back(iv);
          Value next = nest(b, args[0], d + 1);
          ivs.pop_back();
          scf::YieldOp::create(b, loc, next);
        });
    return loop.getResult(0);
  };
  return nest(b, init, 0);
}

constexpr llvm::StringLiteral kPmaddubsw = "llvm.x86.avx2.pmadd.ub.sw";
constexpr llvm::StringLiteral kPmaddwd = "llvm.x86.avx2.pmadd.wd";

} // namespace

Value mlir::bm::detail::emitVectorMatmul(OpBuilder &b, Location loc,
                                         MatmulOp op, Value codesA,
                                         Value biasesA, Value codesB,
                                         Value biasesB, Value init,
                                         bool x86Avx2) {
  MLIRContext *context = op.getContext();
  MatmulGeometry g(op);
  Format fa = g.fa, fb = g.fb;
  IntegerType formA = getIntegerFormType(context, fa);
  IntegerType formB = getIntegerFormType(context, fb);
  if (!formA || !formB || formA.getWidth() > 16 || formB.getWidth() > 16 ||
      op.getKulischWidth() > 32)
    return {};
  bool batched = g.batched, tA = g.tA, tB = g.tB;
  int64_t nb = g.nb, batch = g.batch, M = g.M, N = g.N, K = g.K;
  ArrayRef<int64_t> blkA = g.blkA, blkB = g.blkB;
  // An empty output has nothing to compute (and no tile to cut).
  if (M == 0 || N == 0 || batch == 0)
    return init;
  const std::vector<::bm::numerics::ReductionRun> &runs = g.runs;
  int64_t R = runs.size();

  // The step of the kernel: i16 pairs (pmaddwd), or with `x86Avx2` and
  // narrow enough forms, u8 x s8 octets (pmaddubsw). See selectStep.
  StepKind step = selectStep(fa, fb, x86Avx2);
  auto module = op->getParentOfType<ModuleOp>();
  if (step.u8 && !module)
    step = selectStep(fa, fb, /*x86Avx2=*/false);
  // Tile rows: 6 (12 accumulator registers), or 4 when that divides M and
  // 6 does not (no padding).
  int64_t tileM = (step.u8 ? 4 : ((M % 6 != 0 && M % 4 == 0) ? 4 : 6));
  int64_t Mp = roundUp(M, tileM), Np = roundUp(N, kTileN);
  Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type(),
       f32 = b.getF32Type();

  // U: k per step; W: consecutive k per 32-bit word of packed A (and per
  // column group of packed B); wordsPerStep = U / W.
  int64_t U = step.U, W = step.W, wordsPerStep = U / W;
  Type sub = step.u8 ? i8 : i16; // one k of one packed word
  bool aligned = llvm::all_of(runs, [&](const auto &run) {
    return run.begin % U == 0 && run.size() % U == 0;
  });
  // Steps per run slot when runs are not aligned (zero-padded slots).
  int64_t Ps = (g.maxRun + U - 1) / U;
  // Steps in the packed layouts, and where each run's steps start.
  int64_t ST = aligned ? K / U : R * Ps;
  int64_t words = ST * wordsPerStep;
  SmallVector<int64_t> starts, lengths, stepStarts, stepCounts;
  for (auto [r, run] : llvm::enumerate(runs)) {
    starts.push_back(run.begin);
    lengths.push_back(run.size());
    stepStarts.push_back(aligned ? run.begin / U
                                 : static_cast<int64_t>(r) * Ps);
    stepCounts.push_back((run.size() + U - 1) / U);
  }
  auto table = [&](ArrayRef<int64_t> values) -> Value {
    auto type = RankedTensorType::get({R}, b.getI64Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  };
  Value startTable = table(starts), lengthTable = table(lengths);
  Value stepCountTable = table(stepCounts);
  Value stepStartTable = table(stepStarts);
  auto withBatch = [&](ArrayRef<int64_t> dims) { return g.withBatch(dims); };

  // Decoding by table: the packed value of every code (the code's bits
  // above codeBits() are ignored, as by bm.decode): the i16 integer form,
  // or for the u8 step the form plus the offset of A (u8) or the form (s8).
  auto decodeTable = [&](Format f, int64_t offset) -> Value {
    if (f.codeBits() > kMaxTableBits)
      return {};
    SmallVector<APInt> values;
    for (uint32_t code = 0; code < (1u << f.codeBits()); ++code)
      values.push_back(APInt(sub.getIntOrFloatBitWidth(),
                             ::bm::numerics::decodeElement(code, f).toInt64() +
                                 offset,
                             /*isSigned=*/true, /*implicitTrunc=*/true));
    auto type =
        RankedTensorType::get({static_cast<int64_t>(values.size())}, sub);
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  };
  Value tableA = decodeTable(fa, step.offsetA), tableB = decodeTable(fb, 0);

  // The packed value (type `sub`) of a code.
  auto formOf = [&](OpBuilder &b, Location loc, bool isA, Value code) -> Value {
    Format f = isA ? fa : fb;
    if (Value lut = isA ? tableA : tableB) {
      Type codeType = code.getType();
      Value bits = arith::AndIOp::create(
          b, loc, code,
          arith::ConstantOp::create(
              b, loc, b.getIntegerAttr(codeType, (1 << f.codeBits()) - 1)));
      Value at = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), bits);
      return tensor::ExtractOp::create(b, loc, lut, ValueRange{at});
    }
    // Only the i16 step decodes without a table (selectStep).
    Value q = DecodeOp::create(b, loc, isA ? formA : formB, code,
                               FormatAttr::get(context, f.e, f.m));
    if (q.getType() != i16)
      q = arith::ExtSIOp::create(b, loc, i16, q);
    return q;
  };
  // W values of type `sub` in one i32, the first in the lowest bits.
  auto pack = [&](OpBuilder &b, Location loc, ArrayRef<Value> parts) {
    unsigned bits = sub.getIntOrFloatBitWidth();
    Value word;
    for (auto [h, part] : llvm::enumerate(parts)) {
      Value v = arith::ExtUIOp::create(b, loc, i32, part);
      if (h != 0)
        v = arith::ShLIOp::create(b, loc, v, constI32(b, loc, h * bits));
      word = word ? arith::OrIOp::create(b, loc, word, v).getResult() : v;
    }
    return word;
  };

  // The packing ops run on all cores in the parallel pipeline: one tile per
  // index of their batch and first loop (bm-tile-parallel).
  // (Small ones stay sequential: see ParallelLoops.h.)
  auto markParallel = [&](Value packed) {
    if (cast<RankedTensorType>(packed.getType()).getNumElements() <
        kMinParallelElements)
      return;
    Operation *def = packed.getDefiningOp();
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def))
      def = collapse.getSrc().getDefiningOp();
    def->setAttr(kTileParallelAttr, b.getI64IntegerAttr(nb + 1));
  };

  // Step 1: packed operands, A as [batch?, Mp/tileM, words, tileM] i32 and
  // B as [batch?, Np/kTileN, words, kTileN*W] of `sub`: word w holds the k
  // of layout positions w*W .. w*W + W-1, for A one row's in one i32, for B
  // each column's side by side.
  Value packedA, packedB;
  if (aligned) {
    // Every run starts and ends on a multiple of U: layout position k is k,
    // and packing is pure data movement (affine maps over zero-padded
    // codes).
    auto padOuter = [&](Value codes, bool isA) -> Value {
      auto type = cast<RankedTensorType>(codes.getType());
      unsigned outerDim = nb + (g.kFirst(isA) ? 1 : 0);
      int64_t target = isA ? Mp : Np;
      if (type.getDimSize(outerDim) == target)
        return codes;
      SmallVector<int64_t> shape(type.getShape());
      shape[outerDim] = target;
      Value zero = arith::ConstantOp::create(
          b, loc, b.getIntegerAttr(type.getElementType(), 0));
      return tensor::createPadHighOp(
          RankedTensorType::get(shape, type.getElementType()), codes, zero,
          /*nofold=*/false, loc, b);
    };
    Value paddedA = padOuter(codesA, true), paddedB = padOuter(codesB, false);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    // A: loops (batch?, mt, t, w) when A is stored [M, K], so that the
    // innermost loop reads consecutive k, else (batch?, mt, w, t) (reads
    // consecutive rows); the output is [batch?, mt, w, t] either way.
    {
      unsigned loops = nb + 3;
      unsigned dMt = nb, dW = tA ? nb + 1 : nb + 2, dT = tA ? nb + 2 : nb + 1;
      AffineExpr row = d(dMt) * tileM + d(dT);
      auto map = [&](int64_t h) {
        AffineExpr k = d(dW) * W + h;
        SmallVector<AffineExpr> exprs;
        if (batched)
          exprs.push_back(d(0));
        if (tA)
          exprs.append({k, row});
        else
          exprs.append({row, k});
        return AffineMap::get(loops, 0, exprs, context);
      };
      SmallVector<AffineMap> maps;
      for (int64_t h = 0; h < W; ++h)
        maps.push_back(map(h));
      SmallVector<AffineExpr> outExprs;
      if (batched)
        outExprs.push_back(d(0));
      outExprs.append({d(dMt), d(dW), d(dT)});
      maps.push_back(AffineMap::get(loops, 0, outExprs, context));
      Value init = emptyTensor(b, loc, withBatch({Mp / tileM, words, tileM}),
                               i32);
      packedA =
          linalg::GenericOp::create(
              b, loc, init.getType(), SmallVector<Value>(W, paddedA),
              ValueRange{init}, maps,
              SmallVector<utils::IteratorType>(loops,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                SmallVector<Value> parts;
                for (int64_t h = 0; h < W; ++h)
                  parts.push_back(formOf(b, loc, true, args[h]));
                linalg::YieldOp::create(b, loc, pack(b, loc, parts));
              })
              .getResult(0);
    }
    // B: loops (batch?, w, h, nt, j) when B is stored [K, N]: each row of
    // k is read once, front to back, while its bytes go to one cache line
    // per column panel; (batch?, nt, j, w, h) when stored [N, K]. The
    // output is [batch?, nt, w, j, h], then (j, h) collapsed.
    {
      unsigned loops = nb + 4;
      unsigned dNt = tB ? nb : nb + 2, dJ = tB ? nb + 1 : nb + 3;
      unsigned dW = tB ? nb + 2 : nb, dH = tB ? nb + 3 : nb + 1;
      AffineExpr col = d(dNt) * kTileN + d(dJ);
      AffineExpr k = d(dW) * W + d(dH);
      SmallVector<AffineExpr> exprs;
      if (batched)
        exprs.push_back(d(0));
      if (tB)
        exprs.append({col, k});
      else
        exprs.append({k, col});
      SmallVector<AffineExpr> outExprs;
      if (batched)
        outExprs.push_back(d(0));
      outExprs.append({d(dNt), d(dW), d(dJ), d(dH)});
      AffineMap outMap = AffineMap::get(loops, 0, outExprs, context);
      AffineMap map = AffineMap::get(loops, 0, exprs, context);
      Value init =
          emptyTensor(b, loc, withBatch({Np / kTileN, words, kTileN, W}), sub);
      Value wide =
          linalg::GenericOp::create(
              b, loc, init.getType(), ValueRange{paddedB}, ValueRange{init},
              ArrayRef<AffineMap>{map, outMap},
              SmallVector<utils::IteratorType>(loops,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                linalg::YieldOp::create(b, loc,
                                        formOf(b, loc, false, args[0]));
              })
              .getResult(0);
      SmallVector<ReassociationIndices> groups;
      for (unsigned i = 0; i < nb + 2; ++i)
        groups.push_back({static_cast<int64_t>(i)});
      groups.push_back({static_cast<int64_t>(nb + 2),
                        static_cast<int64_t>(nb + 3)});
      packedB = tensor::CollapseShapeOp::create(b, loc, wide, groups);
    }
  } else {
    // Unaligned runs: run r takes steps [r*Ps, r*Ps + Ps), zero past its
    // end; element positions are computed from the run tables.
    int64_t wordsPerRun = Ps * wordsPerStep;
    // The packed value of operand element (batch, outer, k), or 0 where
    // `valid` is false. Indices must be in bounds.
    auto form = [&](OpBuilder &b, Location loc, bool isA, Value bi,
                    Value outer, Value k, Value valid) -> Value {
      bool kFirst = g.kFirst(isA);
      SmallVector<Value> at;
      if (batched)
        at.push_back(bi);
      if (kFirst)
        at.append({k, outer});
      else
        at.append({outer, k});
      Value code =
          tensor::ExtractOp::create(b, loc, isA ? codesA : codesB, at);
      Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(sub, 0));
      return arith::SelectOp::create(b, loc, valid,
                                     formOf(b, loc, isA, code), zero);
    };
    packedA = buildTensor(
        b, loc, withBatch({Mp / tileM, words, tileM}), i32,
        [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
          Idx x{b, loc};
          Value bi = batched ? idx[0] : Value();
          Value r = x.div(idx[nb + 1], wordsPerRun);
          Value wr = x.rem(idx[nb + 1], wordsPerRun);
          Value m = x.add(x.mul(idx[nb], tileM), idx[nb + 2]);
          Value start = x.at(startTable, r), length = x.at(lengthTable, r);
          Value inRows = x.lt(m, M);
          Value mc = x.min(m, M - 1);
          SmallVector<Value> parts;
          for (int64_t h = 0; h < W; ++h) {
            Value j = x.add(x.mul(wr, W), x.c(h));
            Value valid = x.andi(inRows, x.lt(j, length));
            Value k = x.min(x.add(start, j), K - 1);
            parts.push_back(form(b, loc, true, bi, mc, k, valid));
          }
          return pack(b, loc, parts);
        });
    packedB = buildTensor(
        b, loc, withBatch({Np / kTileN, words, W * kTileN}), sub,
        [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
          Idx x{b, loc};
          Value bi = batched ? idx[0] : Value();
          Value r = x.div(idx[nb + 1], wordsPerRun);
          Value wr = x.rem(idx[nb + 1], wordsPerRun);
          Value q = idx[nb + 2];
          Value n = x.add(x.mul(idx[nb], kTileN), x.div(q, W));
          Value j = x.add(x.mul(wr, W), x.rem(q, W));
          Value start = x.at(startTable, r), length = x.at(lengthTable, r);
          Value valid = x.andi(x.lt(n, N), x.lt(j, length));
          Value k = x.min(x.add(start, j), K - 1);
          return form(b, loc, false, bi, x.min(n, N - 1), k, valid);
        });
  }

  markParallel(packedA);
  markParallel(packedB);

  // The u8 step sums (a + offsetA) * b: each (run, column) starts from
  // -offsetA * sum(b) over the run (0 past the edge), computed from packed
  // B: per (batch, column panel) and run, pmaddubsw of ones (u8) with each
  // word sums the column's pairs of k into i16, pmaddwd by ones widens them
  // into the i32 column sums of the word's four k.
  Value negColumnSums;
  if (step.u8) {
    auto vi8 = VectorType::get({4 * kLanes}, i8);
    auto vi16 = VectorType::get({2 * kLanes}, i16);
    auto vi32 = VectorType::get({kLanes}, i32);
    Value init = emptyTensor(b, loc, withBatch({R, Np}), i32);
    SmallVector<int64_t> ubs;
    if (batched)
      ubs.push_back(batch);
    ubs.push_back(Np / kTileN);
    // Parallel only over enough work (ParallelLoops.h).
    bool parallel = cast<RankedTensorType>(packedB.getType()).getNumElements() >=
                    kMinParallelElements;
    negColumnSums = buildSliceLoop(
        b, loc, ubs, init, parallel,
        [&](OpBuilder &b, ValueRange ivs, SmallVector<OpFoldResult> &sizes)
            -> std::pair<Value, SmallVector<OpFoldResult>> {
          Idx x{b, loc};
          Value bi = batched ? ivs[0] : Value();
          Value nt = ivs[nb];
          auto withB = [&](ArrayRef<Value> rest) {
            return withBatchIndex(bi, rest);
          };
          Value onesU8 = splat(b, loc, vi8, b.getI8IntegerAttr(1));
          Value ones16 = splat(b, loc, vi16, b.getI16IntegerAttr(1));
          Value scale =
              splat(b, loc, vi32, b.getI32IntegerAttr(-step.offsetA));
          Value zeros = splat(b, loc, vi32, b.getI32IntegerAttr(0));
          Value i8Zero =
              arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
          SmallVector<bool> inBounds{true};
          Value panel = emptyTensor(b, loc, {R, kTileN}, i32);
          auto runLoop = scf::ForOp::create(
              b, loc, x.c(0), x.c(R), x.c(1), ValueRange{panel},
              [&](OpBuilder &b, Location loc, Value r, ValueRange iter) {
                Idx x{b, loc};
                Value stepStart = x.at(stepStartTable, r);
                SmallVector<Value> sumsInit(kChunks, zeros);
                auto stepLoop = scf::ForOp::create(
                    b, loc, x.c(0), x.at(stepCountTable, r), x.c(1), sumsInit,
                    [&](OpBuilder &b, Location loc, Value s, ValueRange sums) {
                      Idx x{b, loc};
                      Value w0 = x.mul(x.add(stepStart, s), wordsPerStep);
                      SmallVector<Value> next(sums);
                      for (int64_t q = 0; q < wordsPerStep; ++q)
                        for (int64_t c = 0; c < kChunks; ++c) {
                          Value v = vector::TransferReadOp::create(
                              b, loc, vi8, packedB,
                              withB({nt, x.add(w0, x.c(q)),
                                     x.c(W * kLanes * c)}),
                              i8Zero, inBounds);
                          Value pairs = callIntrinsic(
                              b, loc, module, kPmaddubsw, vi16, onesU8, v);
                          Value quads = callIntrinsic(b, loc, module, kPmaddwd,
                                                      vi32, pairs, ones16);
                          next[c] =
                              arith::AddIOp::create(b, loc, next[c], quads);
                        }
                      scf::YieldOp::create(b, loc, next);
                    });
                Value updated = iter[0];
                for (int64_t c = 0; c < kChunks; ++c) {
                  Value v = arith::MulIOp::create(
                      b, loc, stepLoop.getResult(c), scale);
                  updated = vector::TransferWriteOp::create(
                                b, loc, v, updated,
                                ValueRange{r, x.c(c * kLanes)}, inBounds)
                                .getResult();
                }
                scf::YieldOp::create(b, loc, updated);
              });
          SmallVector<OpFoldResult> offsets;
          if (batched) {
            offsets.push_back(bi);
            sizes.push_back(b.getIndexAttr(1));
          }
          offsets.append({b.getIndexAttr(0), x.mul(nt, kTileN)});
          sizes.append({b.getIndexAttr(R), b.getIndexAttr(kTileN)});
          return {runLoop.getResult(0), offsets};
        });
  }

  // Step 2: unit exponents (rows / columns past the edge repeat the last).
  auto scales = [&](bool isA) -> Value {
    SmallVector<int64_t> shape = isA ? withBatch({Mp, R}) : withBatch({R, Np});
    return buildTensor(
        b, loc, shape, i32,
        [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
          Idx x{b, loc};
          Value r = isA ? idx[nb + 1] : idx[nb];
          Value outer = isA ? x.min(idx[nb], M - 1) : x.min(idx[nb + 1], N - 1);
          Value k = x.at(startTable, r);
          bool kFirst = g.kFirst(isA);
          ArrayRef<int64_t> blk = isA ? blkA : blkB;
          SmallVector<Value> at;
          if (batched)
            at.push_back(x.div(idx[0], blk[0]));
          Value kb = x.div(k, blk[kFirst ? nb : nb + 1]);
          Value ob = x.div(outer, blk[kFirst ? nb + 1 : nb]);
          if (kFirst)
            at.append({kb, ob});
          else
            at.append({ob, kb});
          Value beta = tensor::ExtractOp::create(b, loc,
                                                isA ? biasesA : biasesB, at);
          return unitExponentOrMarker(b, loc, beta, isA ? fa : fb);
        });
  };
  Value scalesA = scales(true), scalesB = scales(false);
  // The exponent field of 2^(sB + 127 - 127) per (run, column):
  // (sB + 127) << 23, so that the fast conversion builds the bits of
  // 2^(sA + sB) with one add, (sA << 23) + this, equal modulo 2^32 to
  // (sA + sB + 127) << 23 (meaningless for the non-finite marker, which
  // never takes the fast conversion).
  Value pow2BitsB = buildTensor(
      b, loc, withBatch({R, Np}), i32,
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        Value sB = tensor::ExtractOp::create(b, loc, scalesB, idx);
        Value biased = arith::AddIOp::create(b, loc, sB, constI32(b, loc, 127));
        return arith::ShLIOp::create(b, loc, biased, constI32(b, loc, 23));
      });
  // The range of the scales of each tile's rows (columns) per run, for the
  // kernel's fast-path test: [batch?, Mp/tileM, R, 2] for A and
  // [batch?, Np/kTileN, R, 2] for B, the minimum then the maximum (the
  // non-finite marker is the smallest i32, so it shows in the minimum).
  // A tile reads its two pairs of run r next to those of run r - 1.
  auto scaleRange = [&](bool isA) -> Value {
    int64_t panels = isA ? Mp / tileM : Np / kTileN;
    int64_t width = isA ? tileM : kTileN;
    return buildTensor(
        b, loc, withBatch({panels, R, 2}), i32,
        [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
          Idx x{b, loc};
          Value panel = idx[nb], r = idx[nb + 1];
          Value lo, hi;
          for (int64_t i = 0; i < width; ++i) {
            SmallVector<Value> at;
            if (batched)
              at.push_back(idx[0]);
            Value outer = x.add(x.mul(panel, width), x.c(i));
            if (isA)
              at.append({outer, r});
            else
              at.append({r, outer});
            Value v = tensor::ExtractOp::create(b, loc,
                                                isA ? scalesA : scalesB, at);
            lo = lo ? arith::MinSIOp::create(b, loc, lo, v).getResult() : v;
            hi = hi ? arith::MaxSIOp::create(b, loc, hi, v).getResult() : v;
          }
          Value isMax = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              idx[nb + 2], x.c(1));
          return arith::SelectOp::create(b, loc, isMax, hi, lo);
        });
  };
  Value rangeA = scaleRange(true), rangeB = scaleRange(false);
  // sA << 23 per (row panel, run, row), [batch?, Mp/tileM, R, tileM]: the
  // row part of the exponent field of 2^(sA + sB) (see pow2BitsB), the rows
  // of a tile's run side by side.
  Value rowBitsA = buildTensor(
      b, loc, withBatch({Mp / tileM, R, tileM}), i32,
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        Idx x{b, loc};
        Value row = x.add(x.mul(idx[nb], tileM), idx[nb + 2]);
        Value sA = tensor::ExtractOp::create(
            b, loc, scalesA,
            withBatchIndex(batched ? idx[0] : Value(), {row, idx[nb + 1]}));
        return arith::ShLIOp::create(b, loc, sA, constI32(b, loc, 23));
      });

  // Step 3-4: the tiled kernel. Without padding each tile copies its part
  // of the init into a new output (in the parallel loop, not before it);
  // otherwise the kernel runs over a zero-padded copy of the init.
  auto initType = cast<RankedTensorType>(init.getType());
  bool padded = Mp != M || Np != N;
  Value out;
  if (padded) {
    auto paddedType = RankedTensorType::get(withBatch({Mp, Np}), f32);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    out = tensor::createPadHighOp(paddedType, init, zero, /*nofold=*/false,
                                  loc, b);
  } else {
    out = emptyTensor(b, loc, initType.getShape(), f32);
  }
  SmallVector<OpFoldResult> ubs;
  if (batched)
    ubs.push_back(b.getIndexAttr(batch));
  ubs.push_back(b.getIndexAttr(Mp / tileM));
  ubs.push_back(b.getIndexAttr(Np / kTileN));
  auto forall =
      scf::ForallOp::create(b, loc, ubs, ValueRange{out}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Idx x{b, loc};
    SmallVector<Value> ivs(forall.getInductionVars());
    Value shared = forall.getRegionIterArgs()[0];
    Value bi = batched ? ivs[0] : Value();
    Value m0 = x.mul(ivs[nb], tileM), n0 = x.mul(ivs[nb + 1], kTileN);
    SmallVector<OpFoldResult> offsets, sizes, strides;
    if (batched) {
      offsets.push_back(bi);
      sizes.push_back(b.getIndexAttr(1));
      strides.push_back(b.getIndexAttr(1));
    }
    offsets.append({m0, n0});
    sizes.append({b.getIndexAttr(tileM), b.getIndexAttr(kTileN)});
    strides.append({b.getIndexAttr(1), b.getIndexAttr(1)});
    auto tileType = RankedTensorType::get({tileM, kTileN}, f32);
    Value tile = tensor::ExtractSliceOp::create(b, loc, tileType, shared,
                                                offsets, sizes, strides);

    auto vf32 = VectorType::get({kLanes}, f32);
    auto vi32 = VectorType::get({kLanes}, i32);
    auto vi16 = VectorType::get({2 * kLanes}, i16);
    SmallVector<bool> inBounds{true};
    if (!padded) {
      Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
      for (int64_t t = 0; t < tileM; ++t)
        for (int64_t c = 0; c < kChunks; ++c) {
          SmallVector<Value> from;
          if (batched)
            from.push_back(bi);
          from.append({x.add(m0, x.c(t)), x.add(n0, x.c(c * kLanes))});
          Value v = vector::TransferReadOp::create(b, loc, vf32, init, from,
                                                   zero, inBounds);
          tile = vector::TransferWriteOp::create(
                     b, loc, v, tile, ValueRange{x.c(t), x.c(c * kLanes)},
                     inBounds)
                     .getResult();
        }
    }
    Value f32Zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    Value i32Zero = constI32(b, loc, 0);
    Value i16Zero = arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(0));
    auto withB = [&](ArrayRef<Value> rest) {
      return withBatchIndex(bi, rest);
    };

    SmallVector<int64_t> evenMask, oddMask;
    for (int64_t l = 0; l < kLanes; ++l) {
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

    // The float32 tile is read, updated and written once per run (keeping
    // it in registers across the run loop would spill the run sums).
    auto runLoop = scf::ForOp::create(
        b, loc, x.c(0), x.c(R), x.c(1), ValueRange{tile},
        [&](OpBuilder &b, Location loc, Value r, ValueRange iterTile) {
          Idx x{b, loc};
          SmallVector<Value> accInit;
          if (step.u8) {
            // -offsetA * (column sums of b over the run), every row.
            for (int64_t t = 0; t < tileM; ++t)
              for (int64_t c = 0; c < kChunks; ++c)
                accInit.push_back(vector::TransferReadOp::create(
                    b, loc, vi32, negColumnSums,
                    withB({r, x.add(n0, x.c(c * kLanes))}), i32Zero,
                    inBounds));
          } else {
            Value zeros = splat(b, loc, vi32, b.getI32IntegerAttr(0));
            accInit.assign(tileM * kChunks, zeros);
          }
          Value stepStart = x.at(stepStartTable, r);
          // Exact run sums, U k per step: `stepBody` adds step `s` of the
          // run to the sums `accI`.
          auto stepBody = [&](OpBuilder &b, Location loc, Value s,
                              ValueRange accI) -> SmallVector<Value> {
            Idx x{b, loc};
            Value w0 = x.mul(x.add(stepStart, s), wordsPerStep);
            SmallVector<Value> next;
            if (!step.u8) {
              // One pair of k: even lanes times even lanes plus odd
              // times odd, sign-extended (pmaddwd).
              SmallVector<std::pair<Value, Value>> bHalves;
              for (int64_t c = 0; c < kChunks; ++c) {
                Value v = vector::TransferReadOp::create(
                    b, loc, vi16, packedB,
                    withB({ivs[nb + 1], w0, x.c(2 * kLanes * c)}), i16Zero,
                    inBounds);
                bHalves.push_back(halves(b, loc, v));
              }
              for (int64_t t = 0; t < tileM; ++t) {
                Value pair = tensor::ExtractOp::create(
                    b, loc, packedA, withB({ivs[nb], w0, x.c(t)}));
                Value wide = vector::BroadcastOp::create(b, loc, vi32, pair);
                auto [ae, ao] = halves(
                    b, loc, vector::BitCastOp::create(b, loc, vi16, wide));
                for (int64_t c = 0; c < kChunks; ++c) {
                  Value even =
                      arith::MulIOp::create(b, loc, ae, bHalves[c].first);
                  Value odd =
                      arith::MulIOp::create(b, loc, ao, bHalves[c].second);
                  Value sum = arith::AddIOp::create(b, loc, even, odd);
                  next.push_back(arith::AddIOp::create(
                      b, loc, accI[t * kChunks + c], sum));
                }
              }
              return next;
            }
            // Eight k as two quads: per quad, pmaddubsw sums (a + o) * b
            // over pairs into i16 (no saturation: selectStep's bound);
            // the two quads add in i16 (no overflow, same bound), and
            // pmaddwd by ones widens the pairs into the i32 sums.
            auto vi8 = VectorType::get({4 * kLanes}, i8);
            Value i8Zero =
                arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
            Value ones = splat(b, loc, vi16, b.getI16IntegerAttr(1));
            SmallVector<SmallVector<Value, 2>> bq(wordsPerStep);
            for (int64_t q = 0; q < wordsPerStep; ++q)
              for (int64_t c = 0; c < kChunks; ++c)
                bq[q].push_back(vector::TransferReadOp::create(
                    b, loc, vi8, packedB,
                    withB(
                        {ivs[nb + 1], x.add(w0, x.c(q)), x.c(W * kLanes * c)}),
                    i8Zero, inBounds));
            for (int64_t t = 0; t < tileM; ++t) {
              SmallVector<Value, 2> aq;
              for (int64_t q = 0; q < wordsPerStep; ++q) {
                Value word = tensor::ExtractOp::create(
                    b, loc, packedA,
                    withB({ivs[nb], x.add(w0, x.c(q)), x.c(t)}));
                Value wide = vector::BroadcastOp::create(b, loc, vi32, word);
                aq.push_back(vector::BitCastOp::create(b, loc, vi8, wide));
              }
              for (int64_t c = 0; c < kChunks; ++c) {
                Value s16;
                for (int64_t q = 0; q < wordsPerStep; ++q) {
                  Value p = callIntrinsic(b, loc, module, kPmaddubsw, vi16,
                                          aq[q], bq[q][c]);
                  s16 = s16 ? arith::AddIOp::create(b, loc, s16, p).getResult()
                            : p;
                }
                Value sum =
                    callIntrinsic(b, loc, module, kPmaddwd, vi32, s16, ones);
                next.push_back(
                    arith::AddIOp::create(b, loc, accI[t * kChunks + c], sum));
              }
            }
            return next;
          };
          auto stepLoop = scf::ForOp::create(
              b, loc, x.c(0), x.at(stepCountTable, r), x.c(1), accInit,
              [&](OpBuilder &b, Location loc, Value s, ValueRange accI) {
                scf::YieldOp::create(b, loc, stepBody(b, loc, s, accI));
              });
          ValueRange runSums = stepLoop.getResults();

          // The run's scales: rows (scalars) and columns (vectors). The
          // whole tile takes the fast conversion when no block is
          // non-finite and every sA + sB lies in [-126, 127]: a test on the
          // precomputed ranges of the tile's row and column scales (finite
          // scales are within +-1000; the non-finite marker, INT32_MIN,
          // fails it).
          auto cmp = [&](arith::CmpIPredicate pred, Value u, Value v) {
            return arith::CmpIOp::create(b, loc, pred, u, v).getResult();
          };
          auto andi = [&](Value u, Value v) {
            return arith::AndIOp::create(b, loc, u, v).getResult();
          };
          auto range = [&](Value table, Value panel, int64_t which) {
            return tensor::ExtractOp::create(b, loc, table,
                                             withB({panel, r, x.c(which)}))
                .getResult();
          };
          Value minA = range(rangeA, ivs[nb], 0);
          Value maxA = range(rangeA, ivs[nb], 1);
          Value minB = range(rangeB, ivs[nb + 1], 0);
          Value maxB = range(rangeB, ivs[nb + 1], 1);
          using P = arith::CmpIPredicate;
          Value bound = constI32(b, loc, -1000);
          Value takeFast =
              andi(andi(cmp(P::sgt, minA, bound), cmp(P::sgt, minB, bound)),
                   andi(cmp(P::sge, arith::AddIOp::create(b, loc, minA, minB),
                            constI32(b, loc, kFastMinScale)),
                        cmp(P::sle, arith::AddIOp::create(b, loc, maxA, maxB),
                            constI32(b, loc, kFastMaxScale))));
          auto ifOp = scf::IfOp::create(b, loc, iterTile[0].getType(), takeFast,
                                        /*withElseRegion=*/true);
          // acc + term in float32, the tile read and written per vector.
          // NaN is sticky, so NaNs are made the canonical one once, after
          // the last run.
          auto update =
              [&](OpBuilder &b, Location loc,
                  function_ref<Value(int64_t, int64_t, Value)> next) -> Value {
            Idx x{b, loc};
            Value updated = iterTile[0];
            for (int64_t t = 0; t < tileM; ++t)
              for (int64_t c = 0; c < kChunks; ++c) {
                SmallVector<Value> at{x.c(t), x.c(c * kLanes)};
                Value acc = vector::TransferReadOp::create(
                    b, loc, vf32, updated, at, f32Zero, inBounds);
                updated = vector::TransferWriteOp::create(
                              b, loc, next(t, c, acc), updated, at, inBounds)
                              .getResult();
              }
            return updated;
          };
          {
            OpBuilder::InsertionGuard guard(b);
            // acc + sitofp(P) * 2^(sA + sB), the power of two built from
            // bits. Within the test's range the product is exact (see
            // kFastMaxScale), so a fused multiply-add rounds exactly like
            // the multiplication and addition: both carry `contract`, and
            // LLVM may fuse them where the target has FMA.
            b.setInsertionPointToStart(ifOp.thenBlock());
            auto contract = arith::FastMathFlagsAttr::get(
                b.getContext(), arith::FastMathFlags::contract);
            SmallVector<Value> colBits;
            for (int64_t c = 0; c < kChunks; ++c)
              colBits.push_back(vector::TransferReadOp::create(
                  b, loc, vi32, pow2BitsB,
                  withB({r, x.add(n0, x.c(c * kLanes))}), i32Zero, inBounds));
            SmallVector<Value> rowBits;
            for (int64_t t = 0; t < tileM; ++t)
              rowBits.push_back(vector::BroadcastOp::create(
                  b, loc, vi32,
                  tensor::ExtractOp::create(b, loc, rowBitsA,
                                            withB({ivs[nb], r, x.c(t)}))));
            Value updated =
                update(b, loc, [&](int64_t t, int64_t c, Value acc) -> Value {
                  Value bits =
                      arith::AddIOp::create(b, loc, rowBits[t], colBits[c]);
                  Value pow2 = arith::BitcastOp::create(b, loc, vf32, bits);
                  Value value = arith::SIToFPOp::create(
                      b, loc, vf32, runSums[t * kChunks + c]);
                  Value term =
                      arith::MulFOp::create(b, loc, value, pow2, contract);
                  return arith::AddFOp::create(b, loc, acc, term, contract);
                });
            scf::YieldOp::create(b, loc, updated);

            // Lane by lane, exactly; NaN for a non-finite block.
            b.setInsertionPointToStart(ifOp.elseBlock());
            SmallVector<Value> scaleA, scaleB;
            for (int64_t t = 0; t < tileM; ++t)
              scaleA.push_back(tensor::ExtractOp::create(
                  b, loc, scalesA, withB({x.add(m0, x.c(t)), r})));
            for (int64_t c = 0; c < kChunks; ++c)
              scaleB.push_back(vector::TransferReadOp::create(
                  b, loc, vi32, scalesB, withB({r, x.add(n0, x.c(c * kLanes))}),
                  i32Zero, inBounds));
            Value zeroF = splat(b, loc, vf32, b.getF32FloatAttr(0.0f));
            Value marker =
                splat(b, loc, vi32, b.getI32IntegerAttr(kNonFiniteScale));
            Value nan = splat(b, loc, vf32,
                              b.getF32FloatAttr(llvm::bit_cast<float>(
                                  kCanonicalNaNBits)));
            updated =
                update(b, loc, [&](int64_t t, int64_t c, Value acc) -> Value {
                  Idx x{b, loc};
                  Value sAv =
                      vector::BroadcastOp::create(b, loc, vi32, scaleA[t]);
                  Value sum = runSums[t * kChunks + c];
                  Value scale = arith::AddIOp::create(b, loc, sAv, scaleB[c]);
                  auto laneLoop = scf::ForOp::create(
                      b, loc, x.c(0), x.c(kLanes), x.c(1), ValueRange{zeroF},
                      [&](OpBuilder &b, Location loc, Value lane,
                          ValueRange iter) {
                        Value v = vector::ExtractOp::create(b, loc, sum,
                                                            OpFoldResult(lane));
                        Value e = vector::ExtractOp::create(b, loc, scale,
                                                            OpFoldResult(lane));
                        Value f = emitScaledIntToFloat32(b, loc, v, e);
                        Value updated = vector::InsertOp::create(
                            b, loc, f, iter[0], OpFoldResult(lane));
                        scf::YieldOp::create(b, loc, updated);
                      });
                  Value bad =
                      arith::OrIOp::create(b, loc, cmp(P::eq, sAv, marker),
                                           cmp(P::eq, scaleB[c], marker));
                  Value term = arith::SelectOp::create(b, loc, bad, nan,
                                                       laneLoop.getResult(0));
                  return arith::AddFOp::create(b, loc, acc, term);
                });
            scf::YieldOp::create(b, loc, updated);
          }
          Value next = ifOp.getResult(0);
          scf::YieldOp::create(b, loc, next);
        });
    tile = runLoop.getResult(0);
    {
      // On the bits: a float `select(x != x, NaN, x)` may be folded to x
      // (LLVM does not promise NaN payloads), an integer test may not. The
      // tile is only rewritten when it holds a NaN (LLVM would otherwise
      // make the rewrite a masked store, slow on some x86 CPUs).
      Value nanBits = splat(b, loc, vi32,
                            b.getI32IntegerAttr(static_cast<int32_t>(
                                kCanonicalNaNBits)));
      Value absMask = splat(b, loc, vi32, b.getI32IntegerAttr(0x7fffffff));
      Value infBits = splat(b, loc, vi32, b.getI32IntegerAttr(0x7f800000));
      auto nanLanes = [&](OpBuilder &b, Location loc, Value tile, int64_t t,
                          int64_t c) {
        Idx x{b, loc};
        SmallVector<Value> at{x.c(t), x.c(c * kLanes)};
        Value acc = vector::TransferReadOp::create(b, loc, vf32, tile, at,
                                                   f32Zero, inBounds);
        Value bits = arith::BitcastOp::create(b, loc, vi32, acc);
        Value isNaN = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ugt,
            arith::AndIOp::create(b, loc, bits, absMask), infBits);
        return std::make_pair(bits, isNaN);
      };
      Value anyLane;
      for (int64_t t = 0; t < tileM; ++t)
        for (int64_t c = 0; c < kChunks; ++c) {
          Value isNaN = nanLanes(b, loc, tile, t, c).second;
          anyLane = anyLane ? arith::OrIOp::create(b, loc, anyLane, isNaN)
                                  .getResult()
                            : isNaN;
        }
      Value anyNaN = vector::ReductionOp::create(
          b, loc, vector::CombiningKind::OR, anyLane);
      auto fix = scf::IfOp::create(
          b, loc, anyNaN,
          [&](OpBuilder &b, Location loc) {
            Idx x{b, loc};
            Value fixed = tile;
            for (int64_t t = 0; t < tileM; ++t)
              for (int64_t c = 0; c < kChunks; ++c) {
                auto [bits, isNaN] = nanLanes(b, loc, fixed, t, c);
                Value acc = arith::BitcastOp::create(
                    b, loc, vf32,
                    arith::SelectOp::create(b, loc, isNaN, nanBits, bits));
                fixed = vector::TransferWriteOp::create(
                            b, loc, acc, fixed,
                            ValueRange{x.c(t), x.c(c * kLanes)}, inBounds)
                            .getResult();
              }
            scf::YieldOp::create(b, loc, fixed);
          },
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, tile);
          });
      tile = fix.getResult(0);
    }
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, tile, shared, offsets, sizes,
                                          strides);
  }

  Value result = forall.getResult(0);
  if (padded) {
    SmallVector<OpFoldResult> offsets(initType.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes, strides(initType.getRank(),
                                             b.getIndexAttr(1));
    for (int64_t d : initType.getShape())
      sizes.push_back(b.getIndexAttr(d));
    result = tensor::ExtractSliceOp::create(b, loc, initType, result, offsets,
                                            sizes, strides);
  }
  return result;
}

