//===- Packing.cpp - Packed operands of the CPU matmul kernel -------------===//
//
// Each operand is decoded once into the step's integer type (a constant
// table of the format's forms indexed by code, or bm.decode) and packed,
// zero past the matrix edges (M, N rounded up to the tile), so that a step
// reads one word of A per row and one vector of B per column chunk. When
// every run starts and ends on a multiple of the step's k, packing is pure
// data movement through affine maps; otherwise each run gets zero-padded
// step slots of its own.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitters.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Conversion/Utils/MatmulOperands.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"
#include "bm/Numerics/Quantize.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;
using ::bm::numerics::Format;
using lowering::buildTensor;
using lowering::constI32;
using lowering::constIndex;
using lowering::emptyTensor;

namespace {

/// The packed value (of the plan's packed type) of a code of B: by the
/// decode table, or bm.decode sign-extended to i16 (only the i16 step
/// decodes without a table).
Value packedFormOfB(OpBuilder &b, Location loc, const KernelContext &kc,
                    Value code) {
  Format f = kc.g.fb;
  if (Value lut = kc.decodeTableB) {
    Type codeType = code.getType();
    Value bits = arith::AndIOp::create(
        b, loc, code,
        arith::ConstantOp::create(
            b, loc, b.getIntegerAttr(codeType, (1 << f.codeBits()) - 1)));
    Value at = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), bits);
    return tensor::ExtractOp::create(b, loc, lut, ValueRange{at});
  }
  MLIRContext *context = b.getContext();
  Type i16 = b.getI16Type();
  Value q = DecodeOp::create(b, loc, getIntegerFormType(context, f), code,
                             FormatAttr::get(context, f.e, f.m));
  if (q.getType() != i16)
    q = arith::ExtSIOp::create(b, loc, i16, q);
  return q;
}

/// W packed values in one i32, the first in the lowest bits.
Value packWord(OpBuilder &b, Location loc, const KernelPlan &plan,
               ArrayRef<Value> parts) {
  Value word;
  for (auto [h, part] : llvm::enumerate(parts)) {
    Value v = arith::ExtUIOp::create(b, loc, b.getI32Type(), part);
    if (h != 0)
      v = arith::ShLIOp::create(b, loc, v,
                                constI32(b, loc, h * plan.packedBits));
    word = word ? arith::OrIOp::create(b, loc, word, v).getResult() : v;
  }
  return word;
}

/// One vector of packed words from W vectors of codes, `codesByK[h]`
/// holding lane by lane the codes of each word's k number h: decoded
/// arithmetically (numerics.md section 1), offset into u8 for A in the u8
/// steps, truncated to the packed bits and shifted into place h.
Value wordsFromCodeRows(OpBuilder &b, Location loc, const KernelContext &kc,
                        bool isA, ArrayRef<Value> codesByK) {
  const KernelPlan &plan = kc.plan;
  auto codesType = cast<VectorType>(codesByK.front().getType());
  auto vI32 = VectorType::get(codesType.getShape(), b.getI32Type());
  IntIR v = IntIR::like(b, loc, codesByK.front());
  Value word;
  for (auto [h, codes] : llvm::enumerate(codesByK)) {
    Value form = emitDecode(b, loc, codes, isA ? kc.g.fa : kc.g.fb, vI32);
    if (isA && plan.offsetA != 0)
      form = v.add(form, v.c32(plan.offsetA));
    Value part = v.band(form, v.c32((int64_t(1) << plan.packedBits) - 1));
    if (h != 0)
      part = v.shl(part, v.c32(h * plan.packedBits));
    word = word ? v.bor(word, part) : part;
  }
  return word;
}

/// `into` threaded through `step(c, into)` for c in [0, count): an scf.for,
/// or nothing when count is 0 (the whole chunks before a partial one).
Value forEachWhole(OpBuilder &b, Location loc, int64_t count, Value into,
                   function_ref<Value(OpBuilder &, Location, Value, Value)>
                       step) {
  if (count == 0)
    return into;
  IntIR x{b, loc};
  return scf::ForOp::create(
             b, loc, x.idx(0), x.idx(count), x.idx(1), ValueRange{into},
             [&](OpBuilder &b, Location loc, Value c, ValueRange iter) {
               scf::YieldOp::create(b, loc, step(b, loc, c, iter[0]));
             })
      .getResult(0);
}

/// Whether a loop over the elements of `t` runs on all cores: enough
/// elements, in a kernel with enough work (ParallelLoops.h).
bool worthParallel(const KernelContext &kc, Value t) {
  return kc.parallel && cast<RankedTensorType>(t.getType()).getNumElements() >=
                            kMinParallelElements;
}

/// Marks a large packing op for bm-tile-parallel: one tile per index of its
/// batch and first loop, on all cores in the parallel pipeline. (Small ones
/// stay sequential: see ParallelLoops.h.)
void markParallel(OpBuilder &b, const KernelContext &kc, Value packed) {
  if (!worthParallel(kc, packed))
    return;
  // (Packing in vector code, packBRows, has its own scf.forall.)
  if (auto op = packed.getDefiningOp<linalg::GenericOp>())
    b.getContext()
        ->getLoadedDialect<BMDialect>()
        ->getTileParallelAttrHelper()
        .setAttr(op, b.getI64IntegerAttr(kc.g.nb + 1));
}

Value packBRows(OpBuilder &b, Location loc, const KernelContext &kc,
                Value codesB);
Value packARows(OpBuilder &b, Location loc, const KernelContext &kc,
                Value codesA);
Value packBKLast(OpBuilder &b, Location loc, const KernelContext &kc,
                 Value codesB);
Value packAKFirst(OpBuilder &b, Location loc, const KernelContext &kc,
                  Value codesA);

/// Every run starts and ends on a multiple of U: layout position k is k.
/// A stored [M, K] and B stored [N, K] are packed row by row (packRow), B
/// stored [K, N] by rows of words (packBRows); A stored [K, M] elementwise.
PackedOperands packAligned(OpBuilder &b, Location loc, const KernelContext &kc,
                           Value codesA, Value codesB) {
  PackedOperands packed;
  packed.a = kc.g.tA ? packAKFirst(b, loc, kc, codesA)
                     : packARows(b, loc, kc, codesA);
  packed.aWordsFirst = kc.g.tA;
  packed.b = kc.g.tB ? packBKLast(b, loc, kc, codesB)
                     : packBRows(b, loc, kc, codesB);
  return packed;
}

/// Unaligned runs: run r takes steps [r*Ps, r*Ps + Ps), zero past its end;
/// element positions are computed from the run tables. Operands stored
/// with k last are packed row by row (packRow); B stored [K, N]
/// elementwise.
PackedOperands packUnaligned(OpBuilder &b, Location loc,
                             const KernelContext &kc, Value codesA,
                             Value codesB) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, tileN = plan.tileN();
  int64_t W = plan.kPerWord, N = g.N, K = g.K;
  bool batched = g.batched;
  int64_t wordsPerRun = plan.slotSteps * plan.wordsPerStep();
  Type packedType = kc.packedType(b);
  // The packed value of B's element (batch, k, column), or 0 where
  // `valid` is false. Indices must be in bounds.
  auto form = [&](OpBuilder &b, Location loc, Value bi, Value column, Value k,
                  Value valid) -> Value {
    Value code = tensor::ExtractOp::create(b, loc, codesB,
                                           withBatchIndex(bi, {k, column}));
    Value zero =
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(packedType, 0));
    return arith::SelectOp::create(b, loc, valid,
                                   packedFormOfB(b, loc, kc, code), zero);
  };
  PackedOperands packed;
  packed.a =
      g.tA ? packAKFirst(b, loc, kc, codesA) : packARows(b, loc, kc, codesA);
  packed.aWordsFirst = g.tA;
  if (g.tB) {
    packed.b = packBKLast(b, loc, kc, codesB);
    return packed;
  }
  packed.b = buildTensor(
      b, loc, g.withBatch({plan.paddedN / tileN, plan.words(), tileN}),
      b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        IntIR x{b, loc};
        Value bi = batched ? idx[0] : Value();
        Value r = x.divu(idx[nb + 1], wordsPerRun);
        Value wr = x.remu(idx[nb + 1], wordsPerRun);
        Value n = x.add(x.mul(idx[nb], tileN), idx[nb + 2]);
        Value start = tableEntry(x, kc.startTable, r),
              length = tableEntry(x, kc.lengthTable, r);
        Value inColumns = x.ult(n, N);
        Value nc = x.minu(n, N - 1);
        SmallVector<Value> parts;
        for (int64_t h = 0; h < W; ++h) {
          Value j = x.add(x.mul(wr, W), x.idx(h));
          Value valid = x.band(inColumns, x.ult(j, length));
          Value k = x.minu(x.add(start, j), K - 1);
          parts.push_back(form(b, loc, bi, nc, k, valid));
        }
        return packWord(b, loc, plan, parts);
      });
  return packed;
}

/// B stored [K, N] with every run aligned: packed with vector code instead
/// of an elementwise generic. For each word row w (the W rows of k it
/// holds) and each column chunk, the W rows' codes are read as vectors,
/// decoded arithmetically (numerics.md section 1) and combined into one
/// vector of words. The rows of words are independent: an scf.forall over
/// them for large operands.
Value packBRows(OpBuilder &b, Location loc, const KernelContext &kc,
                Value codesB) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t lanes = plan.lanes, tileN = plan.tileN(), W = plan.kPerWord;
  int64_t panels = plan.paddedN / tileN, N = g.N;
  bool batched = g.batched;
  Type i32 = b.getI32Type();
  auto codeType = cast<RankedTensorType>(codesB.getType()).getElementType();
  auto vCode = VectorType::get({lanes}, codeType);
  Value init =
      emptyTensor(b, loc, g.withBatch({panels, plan.words(), tileN}), i32);
  SmallVector<int64_t> ubs = g.withBatch({plan.words()});
  bool parallel = worthParallel(kc, init);
  auto sliceType = RankedTensorType::get({panels, tileN}, i32);
  return buildSliceLoop(
      b, loc, ubs, init, parallel,
      [&](OpBuilder &b, ValueRange ivs) {
        SlicePlace at;
        at.type = sliceType;
        if (batched) {
          at.offsets.push_back(ivs[0]);
          at.sizes.push_back(b.getIndexAttr(1));
        }
        at.offsets.append({b.getIndexAttr(0), ivs.back(), b.getIndexAttr(0)});
        at.sizes.append(
            {b.getIndexAttr(panels), b.getIndexAttr(1), b.getIndexAttr(tileN)});
        return at;
      },
      [&](OpBuilder &b, ValueRange ivs, Value slice) -> Value {
        Value bi = batched ? ivs[0] : Value();
        Value w = ivs.back();
        Value zeroCode =
            arith::ConstantOp::create(b, loc, b.getIntegerAttr(codeType, 0));
        // The words of columns [n0, n0 + lanes); reads past N give code 0,
        // whose form is 0.
        auto words = [&](OpBuilder &b, Location loc, Value n0,
                         bool inBounds) -> Value {
          IntIR x{b, loc};
          SmallVector<Value> codesByK;
          for (int64_t h = 0; h < W; ++h)
            codesByK.push_back(vector::TransferReadOp::create(
                b, loc, vCode, codesB,
                withBatchIndex(bi, {x.add(x.mul(w, W), x.idx(h)), n0}),
                zeroCode, ArrayRef<bool>{inBounds}));
          return wordsFromCodeRows(b, loc, kc, /*isA=*/false, codesByK);
        };
        // One panel: its chunks of words written into the slice.
        auto panel = [&](OpBuilder &b, Location loc, Value nt, Value into,
                         bool inBounds) -> Value {
          IntIR x{b, loc};
          for (int64_t c = 0; c < plan.chunks; ++c) {
            Value n0 = x.add(x.mul(nt, tileN), x.idx(c * lanes));
            into = vector::TransferWriteOp::create(
                       b, loc, words(b, loc, n0, inBounds), into,
                       ValueRange{nt, x.idx(c * lanes)}, ArrayRef<bool>{true})
                       .getResult();
          }
          return into;
        };
        // Panels wholly inside the N columns, then a last partial one.
        IntIR x{b, loc};
        int64_t full = N / tileN;
        slice = forEachWhole(b, loc, full, slice,
                             [&](OpBuilder &b, Location loc, Value nt,
                                 Value into) {
                               return panel(b, loc, nt, into, true);
                             });
        if (full < panels)
          slice = panel(b, loc, x.idx(full), slice, false);
        return slice;
      });
}

/// `n` packed words of operand A (`isA`) or B from the n * W codes `codes`
/// (a vector): each code decoded arithmetically (numerics.md section 1),
/// offset into u8 for A in the u8 steps and truncated to the packed bits;
/// W side by side make a word (the first in the lowest bits).
Value packedWords(OpBuilder &b, Location loc, const KernelContext &kc,
                  bool isA, Value codes, int64_t n) {
  const KernelPlan &plan = kc.plan;
  int64_t W = plan.kPerWord;
  Type i32 = b.getI32Type();
  Value form = emitDecode(b, loc, codes, isA ? kc.g.fa : kc.g.fb,
                          VectorType::get({n * W}, i32));
  IntIR v = IntIR::like(b, loc, form);
  if (isA && plan.offsetA != 0)
    form = v.add(form, v.c32(plan.offsetA));
  Value narrow = arith::TruncIOp::create(
      b, loc, VectorType::get({n * W}, kc.packedType(b)), form);
  return vector::BitCastOp::create(b, loc, VectorType::get({n}, i32), narrow);
}

/// Writes `packed` (a vector of words) at word `w0` of `into`; `whole`:
/// every word is inside `into`. Returns the new `into`.
using WriteWordsFn = function_ref<Value(OpBuilder &, Location, Value packed,
                                        Value w0, Value into, bool whole)>;

/// The words of row `outer` of an operand stored with k last (A [M, K],
/// or B [N, K]; batch `bi`, or null), written by `write` into `into`.
/// Aligned runs: the row is one stretch of words, packed 16 at a time (the
/// last chunk may be partial). Otherwise each run's codes go into its slot
/// of `slotSteps` steps, read from the run's start with the lanes at or
/// past its length set to code 0. `live` false: a row past the operand's
/// extent, every code 0.
Value packRow(OpBuilder &b, Location loc, const KernelContext &kc, bool isA,
              Value codes, Value bi, Value outer, Value into, bool live,
              WriteWordsFn write) {
  const KernelPlan &plan = kc.plan;
  int64_t W = plan.kPerWord, words = plan.words();
  IntIR x{b, loc};
  Type codeType = cast<RankedTensorType>(codes.getType()).getElementType();
  Value zeroCode =
      arith::ConstantOp::create(b, loc, b.getIntegerAttr(codeType, 0));
  // `n` words' codes from k = `k0` (past K: code 0, unless `whole`: all in
  // K); with `length`, lanes at or past it are code 0 too.
  auto codesAt = [&](OpBuilder &b, Location loc, Value k0, int64_t n,
                     Value length, bool whole) -> Value {
    auto type = VectorType::get({n * W}, codeType);
    Value zeros = splat(b, loc, type, b.getIntegerAttr(codeType, 0));
    if (!live)
      return zeros;
    Value read = vector::TransferReadOp::create(
        b, loc, type, codes, withBatchIndex(bi, {outer, k0}), zeroCode,
        ArrayRef<bool>{whole});
    if (!length)
      return read;
    auto indexType = VectorType::get({n * W}, b.getIndexType());
    Value inRun = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ult,
        vector::StepOp::create(b, loc, indexType),
        vector::BroadcastOp::create(b, loc, indexType, length));
    return arith::SelectOp::create(b, loc, inRun, read, zeros);
  };
  if (plan.aligned) {
    int64_t n = 16, full = words / n;
    auto chunk = [&](OpBuilder &b, Location loc, Value c, Value into,
                     bool whole) -> Value {
      IntIR x{b, loc};
      Value w0 = x.mul(c, n);
      Value packed = packedWords(
          b, loc, kc, isA, codesAt(b, loc, x.mul(w0, W), n, {}, whole), n);
      return write(b, loc, packed, w0, into, whole);
    };
    into = forEachWhole(b, loc, full, into,
                        [&](OpBuilder &b, Location loc, Value c, Value into) {
                          return chunk(b, loc, c, into, true);
                        });
    if (full * n < words)
      into = chunk(b, loc, x.idx(full), into, false);
    return into;
  }
  int64_t slot = plan.slotSteps * plan.wordsPerStep();
  return scf::ForOp::create(
             b, loc, x.idx(0), x.idx(plan.numRuns()), x.idx(1), ValueRange{into},
             [&](OpBuilder &b, Location loc, Value r, ValueRange iter) {
               IntIR x{b, loc};
               Value start = tableEntry(x, kc.startTable, r);
               Value length = tableEntry(x, kc.lengthTable, r);
               Value packed = packedWords(
                   b, loc, kc, isA,
                   codesAt(b, loc, start, slot, length, false), slot);
               scf::YieldOp::create(b, loc,
                                    write(b, loc, packed, x.mul(r, slot),
                                          iter[0], /*whole=*/true));
             })
      .getResult(0);
}

/// packRow for row `outer` of an operand of `extent` rows, padded to
/// `padded`: rows at or past the extent pack code 0.
Value packRowIf(OpBuilder &b, Location loc, const KernelContext &kc, bool isA,
                Value codes, Value bi, Value outer, int64_t extent,
                int64_t padded, Value into, WriteWordsFn write) {
  if (extent == padded)
    return packRow(b, loc, kc, isA, codes, bi, outer, into, /*live=*/true,
                   write);
  IntIR x{b, loc};
  auto ifOp = scf::IfOp::create(
      b, loc, x.ult(outer, extent),
      [&](OpBuilder &b, Location loc) {
        scf::YieldOp::create(b, loc,
                             packRow(b, loc, kc, isA, codes, bi, outer, into,
                                     /*live=*/true, write));
      },
      [&](OpBuilder &b, Location loc) {
        scf::YieldOp::create(b, loc,
                             packRow(b, loc, kc, isA, codes, bi, outer, into,
                                     /*live=*/false, write));
      });
  return ifOp.getResult(0);
}

/// The slice at index `ivs` of the leading dimensions (one each) and whole
/// in the trailing ones, which are `type`'s shape.
SlicePlace wholeTrailingSlice(OpBuilder &b, ValueRange ivs,
                              RankedTensorType type) {
  SlicePlace at;
  at.type = type;
  for (Value iv : ivs) {
    at.offsets.push_back(iv);
    at.sizes.push_back(b.getIndexAttr(1));
  }
  for (int64_t size : type.getShape()) {
    at.offsets.push_back(b.getIndexAttr(0));
    at.sizes.push_back(b.getIndexAttr(size));
  }
  return at;
}

/// A stored [M, K]: packed with vector code, row by row (packRow), into
/// [batch?, Mp, words]; rows past M are code 0.
Value packARows(OpBuilder &b, Location loc, const KernelContext &kc,
                Value codesA) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, M = g.M, words = plan.words();
  Value init =
      emptyTensor(b, loc, g.withBatch({plan.paddedM, words}), b.getI32Type());
  auto rowType = RankedTensorType::get({words}, b.getI32Type());
  auto write = [](OpBuilder &b, Location loc, Value packed, Value w0,
                  Value row, bool whole) -> Value {
    return vector::TransferWriteOp::create(b, loc, packed, row, ValueRange{w0},
                                           ArrayRef<bool>{whole})
        .getResult();
  };
  return buildSliceLoop(
      b, loc, g.withBatch({plan.paddedM}), init, worthParallel(kc, init),
      [&](OpBuilder &b, ValueRange ivs) {
        return wholeTrailingSlice(b, ivs, rowType);
      },
      [&](OpBuilder &b, ValueRange ivs, Value row) -> Value {
        Value bi = g.batched ? ivs[0] : Value();
        return packRowIf(b, loc, kc, /*isA=*/true, codesA, bi, ivs[nb], M,
                         plan.paddedM, row, write);
      });
}

/// B stored [N, K] (the transposed-B case): each column's k are a row of
/// codes, packed like a row of A (packRow) and written down the column of
/// its panel's words, [batch?, panels, words, tileN]; columns past N are
/// code 0. One task per panel when large.
Value packBKLast(OpBuilder &b, Location loc, const KernelContext &kc,
                 Value codesB) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, N = g.N, tileN = plan.tileN(), words = plan.words();
  int64_t panels = plan.paddedN / tileN;
  Value init = emptyTensor(b, loc, g.withBatch({panels, words, tileN}),
                           b.getI32Type());
  auto sliceType = RankedTensorType::get({words, tileN}, b.getI32Type());
  return buildSliceLoop(
      b, loc, g.withBatch({panels}), init, worthParallel(kc, init),
      [&](OpBuilder &b, ValueRange ivs) {
        return wholeTrailingSlice(b, ivs, sliceType);
      },
      [&](OpBuilder &b, ValueRange ivs, Value slice) -> Value {
        IntIR x{b, loc};
        Value bi = g.batched ? ivs[0] : Value();
        Value nt = ivs[nb];
        return scf::ForOp::create(
                   b, loc, x.idx(0), x.idx(tileN), x.idx(1), ValueRange{slice},
                   [&](OpBuilder &b, Location loc, Value j, ValueRange iter) {
                     IntIR x{b, loc};
                     // Column j of the slice: the words run down dim 0.
                     auto write = [&](OpBuilder &b, Location loc, Value packed,
                                      Value w0, Value into,
                                      bool whole) -> Value {
                       AffineMap down = AffineMap::get(
                           2, 0, getAffineDimExpr(0, b.getContext()));
                       return vector::TransferWriteOp::create(
                                  b, loc, packed, into, ValueRange{w0, j}, down,
                                  ArrayRef<bool>{whole})
                           .getResult();
                     };
                     Value n = x.add(x.mul(nt, tileN), j);
                     scf::YieldOp::create(
                         b, loc,
                         packRowIf(b, loc, kc, /*isA=*/false, codesB, bi, n, N,
                                   plan.paddedN, iter[0], write));
                   })
            .getResult(0);
      });
}

/// A stored [K, M] (rows of k; the transposed-A case): packed with vector
/// code, one word column at a time. Word w holds the W k from its layout
/// position (w * W when aligned; otherwise its place in its run's slot, from
/// the run tables). For each chunk of 16 rows m, those W rows of k are read
/// as vectors over m, decoded arithmetically (a k outside its run, or an m
/// past M, reads code 0), offset for the u8 steps, and combined into 16
/// words, written into row w of [batch?, words, Mp] (contiguous; the
/// kernel reads it as such: PackedOperands::aWordsFirst). One task per word
/// column when large.
Value packAKFirst(OpBuilder &b, Location loc, const KernelContext &kc,
                  Value codesA) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t W = plan.kPerWord, M = g.M, K = g.K, Mp = plan.paddedM;
  int64_t wordsPerRun = plan.slotSteps * plan.wordsPerStep();
  constexpr int64_t lanes = 16;
  Type i32 = b.getI32Type();
  auto codeType = cast<RankedTensorType>(codesA.getType()).getElementType();
  auto vCode = VectorType::get({lanes}, codeType);
  Value init = emptyTensor(b, loc, g.withBatch({plan.words(), Mp}), i32);
  auto columnType = RankedTensorType::get({Mp}, i32);
  return buildSliceLoop(
      b, loc, g.withBatch({plan.words()}), init, worthParallel(kc, init),
      [&](OpBuilder &b, ValueRange ivs) {
        SlicePlace at;
        at.type = columnType;
        if (g.batched) {
          at.offsets.push_back(ivs[0]);
          at.sizes.push_back(b.getIndexAttr(1));
        }
        at.offsets.append({ivs.back(), b.getIndexAttr(0)});
        at.sizes.append({b.getIndexAttr(1), b.getIndexAttr(Mp)});
        return at;
      },
      [&](OpBuilder &b, ValueRange ivs, Value column) -> Value {
        IntIR x{b, loc};
        Value bi = g.batched ? ivs[0] : Value();
        Value w = ivs.back();
        // The word's first k and the end of its run.
        Value first, end;
        if (plan.aligned) {
          first = x.mul(w, W);
          end = x.idx(K);
        } else {
          Value r = x.divu(w, wordsPerRun);
          Value start = tableEntry(x, kc.startTable, r);
          end = x.add(start, tableEntry(x, kc.lengthTable, r));
          first = x.add(start, x.mul(x.remu(w, wordsPerRun), W));
        }
        Value zeroCode =
            arith::ConstantOp::create(b, loc, b.getIntegerAttr(codeType, 0));
        Value zeros = splat(b, loc, vCode, b.getIntegerAttr(codeType, 0));
        // The words of rows [m0, m0 + lanes); `inRows`: all of them < M.
        auto chunk = [&](OpBuilder &b, Location loc, Value m0, Value into,
                         bool inRows, bool inColumn) -> Value {
          IntIR x{b, loc};
          SmallVector<Value> codesByK;
          for (int64_t h = 0; h < W; ++h) {
            Value k = x.add(first, x.idx(h));
            Value codes = vector::TransferReadOp::create(
                b, loc, vCode, codesA,
                withBatchIndex(bi, {x.minu(k, K - 1), m0}), zeroCode,
                ArrayRef<bool>{inRows});
            codesByK.push_back(
                arith::SelectOp::create(b, loc, x.ult(k, end), codes, zeros));
          }
          Value word = wordsFromCodeRows(b, loc, kc, /*isA=*/true, codesByK);
          return vector::TransferWriteOp::create(b, loc, word, into,
                                                 ValueRange{m0},
                                                 ArrayRef<bool>{inColumn})
              .getResult();
        };
        // Chunks wholly inside M, then the rest of Mp (partial reads and,
        // past Mp's last multiple of 16, a partial write).
        int64_t full = M / lanes;
        column = forEachWhole(
            b, loc, full, column,
            [&](OpBuilder &b, Location loc, Value c, Value into) {
              IntIR x{b, loc};
              return chunk(b, loc, x.mul(c, lanes), into, true, true);
            });
        for (int64_t m0 = full * lanes; m0 < Mp; m0 += lanes)
          column = chunk(b, loc, x.idx(m0), column, false, m0 + lanes <= Mp);
        return column;
      });
}

} // namespace

namespace mlir::bm::cpu::detail {

Value buildSliceLoop(OpBuilder &b, Location loc, ArrayRef<int64_t> ubs,
                     Value init, bool parallel, PlaceFn place, FillFn fill) {
  auto rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  auto fillSlice = [&](OpBuilder &b, ValueRange ivs, Value dest) {
    SlicePlace at = place(b, ivs);
    Value slice = tensor::ExtractSliceOp::create(b, loc, at.type, dest,
                                                 at.offsets, at.sizes, strides);
    return std::make_pair(fill(b, ivs, slice), at);
  };
  if (parallel) {
    SmallVector<OpFoldResult> bounds;
    for (int64_t ub : ubs)
      bounds.push_back(b.getIndexAttr(ub));
    auto forall =
        scf::ForallOp::create(b, loc, bounds, ValueRange{init}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value shared = forall.getRegionIterArgs()[0];
    auto [slice, at] = fillSlice(b, forall.getInductionVars(), shared);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, slice, shared, at.offsets,
                                          at.sizes, strides);
    return forall.getResult(0);
  }
  SmallVector<Value> ivs;
  std::function<Value(OpBuilder &, Value, size_t)> nest =
      [&](OpBuilder &b, Value acc, size_t d) -> Value {
    if (d == ubs.size()) {
      auto [slice, at] = fillSlice(b, ivs, acc);
      return tensor::InsertSliceOp::create(b, loc, slice, acc, at.offsets,
                                           at.sizes, strides);
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

Value buildDecodeTable(OpBuilder &b, Location loc, const KernelPlan &plan,
                       const MatmulGeometry &g) {
  if (!plan.tableB)
    return {};
  Format f = g.fb;
  SmallVector<APInt> values;
  for (uint32_t code = 0; code < (1u << f.codeBits()); ++code)
    values.push_back(
        APInt(plan.packedBits, ::bm::numerics::decodeElement(code, f).toInt64(),
              /*isSigned=*/true, /*implicitTrunc=*/true));
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    b.getIntegerType(plan.packedBits));
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

PackedOperands packOperands(OpBuilder &b, Location loc, const KernelContext &kc,
                            Value codesA, Value codesB) {
  PackedOperands packed = kc.plan.aligned
                              ? packAligned(b, loc, kc, codesA, codesB)
                              : packUnaligned(b, loc, kc, codesA, codesB);
  markParallel(b, kc, packed.a);
  markParallel(b, kc, packed.b);
  return packed;
}

Value buildOffsetColumnSums(OpBuilder &b, Location loc, const KernelContext &kc,
                            Value packedB) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, R = plan.numRuns(), lanes = plan.lanes;
  int64_t tileN = plan.tileN();
  bool batched = g.batched;
  Type i8 = b.getI8Type(), i16 = b.getI16Type(), i32 = b.getI32Type();
  auto vi8 = VectorType::get({4 * lanes}, i8);
  auto vi16 = VectorType::get({2 * lanes}, i16);
  auto vi32 = VectorType::get({lanes}, i32);
  Value init = emptyTensor(b, loc, g.withBatch({R, plan.paddedN}), i32);
  SmallVector<int64_t> ubs;
  if (batched)
    ubs.push_back(g.batch);
  ubs.push_back(plan.paddedN / tileN);
  // Parallel only over enough work (ParallelLoops.h).
  bool parallel = worthParallel(kc, packedB);
  auto sliceType = RankedTensorType::get({R, tileN}, i32);
  return buildSliceLoop(
      b, loc, ubs, init, parallel,
      [&](OpBuilder &b, ValueRange ivs) {
        IntIR x{b, loc};
        SlicePlace at;
        at.type = sliceType;
        if (batched) {
          at.offsets.push_back(ivs[0]);
          at.sizes.push_back(b.getIndexAttr(1));
        }
        at.offsets.append({b.getIndexAttr(0), x.mul(ivs[nb], tileN)});
        at.sizes.append({b.getIndexAttr(R), b.getIndexAttr(tileN)});
        return at;
      },
      [&](OpBuilder &b, ValueRange ivs, Value panel) -> Value {
        IntIR x{b, loc};
        Value bi = batched ? ivs[0] : Value();
        Value nt = ivs[nb];
        bool vnni = plan.step == StepKind::U8S8Vnni;
        // Bytes of 1 (u8): the multipliers of B's bytes.
        Value onesU8 = splat(b, loc, vi8, b.getI8IntegerAttr(1));
        Value ones16;
        if (!vnni)
          ones16 = splat(b, loc, vi16, b.getI16IntegerAttr(1));
        Value scale = splat(b, loc, vi32, b.getI32IntegerAttr(-plan.offsetA));
        Value zeros = splat(b, loc, vi32, b.getI32IntegerAttr(0));
        Value i32Zero = constI32(b, loc, 0);
        SmallVector<bool> inBounds{true};
        auto runLoop = scf::ForOp::create(
            b, loc, x.idx(0), x.idx(R), x.idx(1), ValueRange{panel},
            [&](OpBuilder &b, Location loc, Value r, ValueRange iter) {
              IntIR x{b, loc};
              Value stepStart = tableEntry(x, kc.stepStartTable, r);
              SmallVector<Value> sumsInit(plan.chunks, zeros);
              auto stepLoop = scf::ForOp::create(
                  b, loc, x.idx(0), tableEntry(x, kc.stepCountTable, r),
                  x.idx(1), sumsInit,
                  [&](OpBuilder &b, Location loc, Value s, ValueRange sums) {
                    IntIR x{b, loc};
                    Value w0 = x.mul(x.add(stepStart, s), plan.wordsPerStep());
                    SmallVector<Value> next(sums);
                    for (int64_t q = 0; q < plan.wordsPerStep(); ++q)
                      for (int64_t c = 0; c < plan.chunks; ++c) {
                        Value v = vector::BitCastOp::create(
                            b, loc, vi8,
                            vector::TransferReadOp::create(
                                b, loc, vi32, packedB,
                                withBatchIndex(bi, {nt, x.add(w0, x.idx(q)),
                                                    x.idx(lanes * c)}),
                                i32Zero, inBounds));
                        if (vnni) {
                          // vpdpbusd: the four k of each column at once.
                          next[c] = callX86Intrinsic(
                              b, loc, kc.module, getVnniIntrinsic(plan), vi32,
                              {next[c], onesU8, v});
                          continue;
                        }
                        // pmaddubsw sums pairs of k into i16, pmaddwd by
                        // ones the pairs into i32.
                        Value pairs = callX86Intrinsic(
                            b, loc, kc.module, kPmaddubsw, vi16, {onesU8, v});
                        Value quads = callX86Intrinsic(
                            b, loc, kc.module, kPmaddwd, vi32, {pairs, ones16});
                        next[c] = arith::AddIOp::create(b, loc, next[c], quads);
                      }
                    scf::YieldOp::create(b, loc, next);
                  });
              Value updated = iter[0];
              for (int64_t c = 0; c < plan.chunks; ++c) {
                Value v =
                    arith::MulIOp::create(b, loc, stepLoop.getResult(c), scale);
                updated = vector::TransferWriteOp::create(
                              b, loc, v, updated,
                              ValueRange{r, x.idx(c * lanes)}, inBounds)
                              .getResult();
              }
              scf::YieldOp::create(b, loc, updated);
            });
        return runLoop.getResult(0);
      });
}

} // namespace mlir::bm::cpu::detail
