//===- QuantizeKernel.cpp - Vectorized CPU loops for bm.quantize ----------===//
//
// One bm.quantize as one scf.forall over bands of block rows (independent,
// so the parallel CPU pipeline runs them on all cores): per band, the block
// maxima of its rows (vector maxima, one horizontal reduction per row and
// block), the band's biases, then the codes of its rows, a vector at a time
// with the vector form of the element math of ArithNumerics. The band is
// still in cache when its codes are computed. Stochastic rounding fills a
// row buffer with the row's random words, one Philox4x32-10 block per 4
// consecutive elements, instead of one block per element. Partial blocks
// and the last (width mod lanes) elements of a block row take the scalar
// element math. Every element gets exactly the bits of the generic form
// (numerics.md sections 2-3).
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/QuantizeKernel.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"
#include "bm/Numerics/Format.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using ::bm::numerics::Format;

namespace {

/// Vector steps of a block row that are unrolled in the max pass.
constexpr int64_t kMaxUnroll = 8;

/// The quantize as the loops see it: the spec, with the trailing dimensions
/// that one block spans whole merged into the last (see
/// mergeWholeTrailingDims); `groups` lists the tensor's dimensions of each
/// merged one.
struct QuantizeLayout {
  const QuantizeKernelSpec &spec;
  SmallVector<int64_t> shape, block;
  SmallVector<ReassociationIndices> groups;
};

/// Merges dimension i into the last while the last is spanned by one block
/// (block == size), keeping dimension 0 apart (bands of first-dimension
/// blocks). The merged dimension's block is block[i] * size(last): an
/// element's block index along it is the same as along dimension i, and the
/// row-major order (the element index the random stream uses) is
/// unchanged. A [16, 8, 14, 14] tensor in [1, 8, 14, 14] blocks is
/// quantized as [16, 1568] in [1, 1568] blocks: rows of 1568 vectorized
/// elements instead of 14.
void mergeWholeTrailingDims(QuantizeLayout &match) {
  match.groups.clear();
  for (int64_t i = 0, e = match.shape.size(); i < e; ++i)
    match.groups.push_back({i});
  while (match.shape.size() > 2 && match.block.back() == match.shape.back()) {
    int64_t size = match.shape.pop_back_val();
    match.block.pop_back();
    match.shape.back() *= size;
    match.block.back() *= size;
    ReassociationIndices last = match.groups.pop_back_val();
    llvm::append_range(match.groups.back(), last);
  }
}

/// Builds the loop nest of one quantize.
struct QuantizeBuilder {
  const QuantizeLayout &q;
  Location loc;
  /// Vector lanes (32-bit elements per vector: vector-bits / 32).
  int64_t kLanes;
  // The tensor viewed as [D0, I, N] with blocks [b0, (middle), bN].
  int64_t d0, b0, inner, n, bN;
  SmallVector<int64_t> midShape, midBlock, midGrid;
  int64_t g0Count, gMid, gN;
  Type codeType;
  VectorType vI32, vI64, vI8, vF32, vCode;
  int64_t scratchSize = 0;
  Value k0, k1; // key words in i64 lanes (stochastic; see fillWords)

  QuantizeBuilder(const QuantizeLayout &q, Location loc, int64_t lanes)
      : q(q), loc(loc), kLanes(lanes) {
    int64_t rank = q.shape.size();
    d0 = rank >= 2 ? q.shape[0] : 1;
    b0 = rank >= 2 ? q.block[0] : 1;
    n = q.shape.back();
    bN = q.block.back();
    inner = 1;
    gMid = 1;
    for (int64_t i = 1; i + 1 < rank; ++i) {
      midShape.push_back(q.shape[i]);
      midBlock.push_back(q.block[i]);
      midGrid.push_back(llvm::divideCeil(q.shape[i], q.block[i]));
      inner *= q.shape[i];
      gMid *= midGrid.back();
    }
    g0Count = llvm::divideCeil(d0, b0);
    gN = llvm::divideCeil(n, bN);
    scratchSize = llvm::divideCeil(n + 3, 4 * kLanes) * 4 * kLanes;
  }

  Value idx(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value addI(OpBuilder &b, Value x, Value y) {
    return arith::AddIOp::create(b, loc, x, y);
  }
  Value mulI(OpBuilder &b, Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, idx(b, y));
  }

  using BodyFn =
      function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)>;
  SmallVector<Value> loop(OpBuilder &b, Value lb, Value ub, int64_t step,
                          ValueRange init, BodyFn body) {
    auto op = scf::ForOp::create(
        b, loc, lb, ub, idx(b, step), init,
        [&](OpBuilder &b, Location, Value iv, ValueRange args) {
          scf::YieldOp::create(b, loc, body(b, iv, args));
        });
    return SmallVector<Value>(op.getResults());
  }
  SmallVector<Value> loop(OpBuilder &b, int64_t lb, int64_t ub, int64_t step,
                          ValueRange init, BodyFn body) {
    return loop(b, idx(b, lb), idx(b, ub), step, init, body);
  }

  /// The [A, B, C] view of the merged shape: which merged dimensions form
  /// each of A, B, C (a rank below 3 gets unit dimensions).
  SmallVector<ReassociationIndices> mergedTo3D() {
    int64_t rank = q.shape.size();
    if (rank == 1)
      return {{0, 1, 2}};
    if (rank == 2)
      return {{0}, {1, 2}};
    ReassociationIndices mid;
    for (int64_t i = 1; i + 1 < rank; ++i)
      mid.push_back(i);
    return {{0}, mid, {rank - 1}};
  }
  /// Reshapes `v` (the tensor's own rank: input, codes, or biases over the
  /// block grid) to the 3-D `shape3`, and back: through the merged shape.
  Value to3D(OpBuilder &b, Value v, ArrayRef<int64_t> shape3) {
    auto type = cast<RankedTensorType>(v.getType());
    return reshape(b, v, RankedTensorType::get(shape3, type.getElementType()),
                   /*toView=*/true);
  }
  Value from3D(OpBuilder &b, Value v, RankedTensorType type) {
    return reshape(b, v, type, /*toView=*/false);
  }
  Value reshape(OpBuilder &b, Value v, RankedTensorType to, bool toView) {
    auto from = cast<RankedTensorType>(v.getType());
    RankedTensorType tensorType = toView ? from : to;
    SmallVector<int64_t> mergedShape;
    for (const ReassociationIndices &group : q.groups) {
      int64_t size = 1;
      for (int64_t d : group)
        size *= tensorType.getDimSize(d);
      mergedShape.push_back(size);
    }
    auto mergedType =
        RankedTensorType::get(mergedShape, tensorType.getElementType());
    SmallVector<ReassociationIndices> toMerged = q.groups;
    SmallVector<ReassociationIndices> mergedToView = mergedTo3D();
    // A merged rank below 3 expands into the view; above, collapses.
    bool viewExpands = mergedShape.size() < 3;
    auto step = [&](Value x, RankedTensorType target,
                    ArrayRef<ReassociationIndices> groups,
                    bool collapse) -> Value {
      if (x.getType() == target)
        return x;
      if (collapse)
        return tensor::CollapseShapeOp::create(b, loc, target, x, groups);
      return tensor::ExpandShapeOp::create(b, loc, target, x, groups);
    };
    if (toView)
      return step(step(v, mergedType, toMerged, /*collapse=*/true), to,
                  mergedToView, /*collapse=*/!viewExpands);
    return step(step(v, mergedType, mergedToView, /*collapse=*/viewExpands), to,
                toMerged, /*collapse=*/false);
  }

  /// Middle grid index of middle row `im`.
  Value midGridIndex(OpBuilder &b, Value im) {
    if (midShape.empty())
      return idx(b, 0);
    Value rest = im, gm = idx(b, 0);
    int64_t stride = 1;
    for (int64_t k = midShape.size() - 1; k >= 0; --k) {
      Value ik = arith::RemUIOp::create(b, loc, rest, idx(b, midShape[k]));
      rest = arith::DivUIOp::create(b, loc, rest, idx(b, midShape[k]));
      Value gk = arith::DivUIOp::create(b, loc, ik, idx(b, midBlock[k]));
      gm = addI(b, gm, mulI(b, gk, stride));
      stride *= midGrid[k];
    }
    return gm;
  }

  Value absBitsVector(OpBuilder &b, Value input, ValueRange indices) {
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value x = vector::TransferReadOp::create(b, loc, vF32, input, indices, pad,
                                             ArrayRef<bool>{true});
    Value bits = arith::BitcastOp::create(b, loc, vI32, x);
    Value mask =
        arith::ConstantOp::create(b, loc,
                                  cast<TypedAttr>(DenseElementsAttr::get(
                                      vI32, b.getI32IntegerAttr(0x7fffffff))));
    return arith::AndIOp::create(b, loc, bits, mask);
  }

  /// Largest |x| bits (i32) of row (i0, im), columns [c0, c0 + width).
  Value blockRowMax(OpBuilder &b, Value input, Value i0, Value im, Value c0,
                    int64_t width) {
    int64_t steps = width / kLanes;
    Value result = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    if (steps > 0) {
      Value acc =
          arith::ConstantOp::create(b, loc,
                                    cast<TypedAttr>(DenseElementsAttr::get(
                                        vI32, b.getI32IntegerAttr(0))));
      auto step = [&](OpBuilder &b, Value acc, Value c) -> Value {
        return arith::MaxUIOp::create(b, loc, acc,
                                      absBitsVector(b, input, {i0, im, c}));
      };
      if (steps <= kMaxUnroll) {
        for (int64_t s = 0; s < steps; ++s)
          acc = step(b, acc, addI(b, c0, idx(b, s * kLanes)));
      } else {
        acc = loop(b, c0, addI(b, c0, idx(b, steps * kLanes)), kLanes, {acc},
                   [&](OpBuilder &b, Value c, ValueRange args) {
                     return SmallVector<Value>{step(b, args[0], c)};
                   })[0];
      }
      result = vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXUI,
                                           acc);
    }
    for (int64_t t = steps * kLanes; t < width; ++t) {
      Value c = addI(b, c0, idx(b, t));
      Value x = tensor::ExtractOp::create(b, loc, input, ValueRange{i0, im, c});
      Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), x);
      Value abs = arith::AndIOp::create(
          b, loc, bits,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0x7fffffff)));
      result = arith::MaxUIOp::create(b, loc, result, abs);
    }
    return result;
  }

  /// Codes of row (i0, im), columns [c0, c0 + width), in a block with bias
  /// `beta` (i8), written to row (codesRow, im) of `codes`; random word of
  /// column c at scratch[wordOffset + c].
  Value blockRowCodes(OpBuilder &b, Value input, Value i0, Value im, Value c0,
                      int64_t width, Value beta, Value codes, Value codesRow,
                      Value scratch, Value wordOffset) {
    int64_t steps = width / kLanes;
    bool stochastic = q.spec.rounding == ::bm::numerics::Rounding::Stochastic;
    if (steps > 0) {
      // The vector steps, with `codeOf` giving the codes of 8 elements.
      auto vectorLoop =
          [&](OpBuilder &b, Value codes,
              function_ref<Value(OpBuilder &, Value, Value)> codeOf) -> Value {
        return loop(b, c0, addI(b, c0, idx(b, steps * kLanes)), kLanes, {codes},
                    [&](OpBuilder &b, Value c, ValueRange args) {
                      Value pad = arith::ConstantOp::create(
                          b, loc, b.getF32FloatAttr(0));
                      Value x = vector::TransferReadOp::create(
                          b, loc, vF32, input, ValueRange{i0, im, c}, pad,
                          ArrayRef<bool>{true});
                      Value bits = arith::BitcastOp::create(b, loc, vI32, x);
                      Value code = codeOf(b, bits, c);
                      Value written =
                          vector::TransferWriteOp::create(
                              b, loc, code, args[0],
                              ValueRange{codesRow, im, c}, ArrayRef<bool>{true})
                              ->getResult(0);
                      return SmallVector<Value>{written};
                    })[0];
      };
      // The exact integer element math, any block.
      auto integerLoop = [&](OpBuilder &b, Value codes) {
        Value betaV = vector::BroadcastOp::create(b, loc, vI8, beta);
        return vectorLoop(b, codes, [&](OpBuilder &b, Value bits, Value c) {
          Value word;
          if (stochastic) {
            Value zero =
                arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
            word = vector::TransferReadOp::create(
                b, loc, vI32, scratch, ValueRange{addI(b, wordOffset, c)}, zero,
                ArrayRef<bool>{true});
          }
          return emitQuantizeElement(b, loc, bits, betaV, q.spec.format,
                                     q.spec.rounding, word);
        });
      };
      if (q.spec.rounding == ::bm::numerics::Rounding::Nearest &&
          hasScaledNearestPath(q.spec.format)) {
        // Finite blocks of a usual scale take the float32 form of nearest
        // rounding (same bits, about half the instructions).
        Value negUnit = arith::SubIOp::create(
            b, loc, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)),
            emitUnitExponent(b, loc, beta, q.spec.format));
        auto cmp = [&](arith::CmpIPredicate p, Value x, int64_t y) {
          return arith::CmpIOp::create(
              b, loc, p, x,
              arith::ConstantOp::create(b, loc,
                                        b.getIntegerAttr(x.getType(), y)));
        };
        Value ok = arith::AndIOp::create(
            b, loc,
            arith::AndIOp::create(
                b, loc, cmp(arith::CmpIPredicate::ne, beta, -128),
                cmp(arith::CmpIPredicate::sge, negUnit, -126)),
            cmp(arith::CmpIPredicate::sle, negUnit, 124));
        auto ifOp = scf::IfOp::create(
            b, loc, ok,
            [&](OpBuilder &b, Location) {
              Value scaleBits = arith::ShLIOp::create(
                  b, loc,
                  arith::AddIOp::create(b, loc, negUnit,
                                        arith::ConstantOp::create(
                                            b, loc, b.getI32IntegerAttr(127))),
                  arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(23)));
              Value scale = vector::BroadcastOp::create(
                  b, loc, vF32,
                  arith::BitcastOp::create(b, loc, b.getF32Type(), scaleBits));
              Value out =
                  vectorLoop(b, codes, [&](OpBuilder &b, Value bits, Value) {
                    return emitQuantizeNearestScaled(b, loc, bits, scale,
                                                     q.spec.format);
                  });
              scf::YieldOp::create(b, loc, out);
            },
            [&](OpBuilder &b, Location) {
              scf::YieldOp::create(b, loc, integerLoop(b, codes));
            });
        codes = ifOp.getResult(0);
      } else {
        codes = integerLoop(b, codes);
      }
    }
    if (steps * kLanes < width) {
      codes = loop(
          b, addI(b, c0, idx(b, steps * kLanes)), addI(b, c0, idx(b, width)), 1,
          {codes}, [&](OpBuilder &b, Value c, ValueRange args) {
            Value x =
                tensor::ExtractOp::create(b, loc, input, ValueRange{i0, im, c});
            Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), x);
            Value word;
            if (stochastic)
              word = tensor::ExtractOp::create(
                  b, loc, scratch, ValueRange{addI(b, wordOffset, c)});
            Value code = emitQuantizeElement(b, loc, bits, beta, q.spec.format,
                                             q.spec.rounding, word);
            Value written = tensor::InsertOp::create(
                b, loc, code, args[0], ValueRange{codesRow, im, c});
            return SmallVector<Value>{written};
          })[0];
    }
    return codes;
  }

  /// Fills scratch[0, scratchSize) with the random words of linear indices
  /// 4 * (rowStart / 4) + j; returns (scratch, rowStart mod 4).
  std::pair<Value, Value> fillWords(OpBuilder &b, Value scratch,
                                    Value rowStart) {
    Value offset = arith::RemUIOp::create(b, loc, rowStart, idx(b, 4));
    Value counter0 = arith::IndexCastUIOp::create(
        b, loc, b.getI64Type(),
        arith::DivUIOp::create(b, loc, rowStart, idx(b, 4)));
    SmallVector<int64_t> steps;
    for (int64_t l = 0; l < kLanes; ++l)
      steps.push_back(l);
    scratch = loop(
        b, 0, scratchSize, 4 * kLanes, {scratch},
        [&](OpBuilder &b, Value j, ValueRange args) {
          // Counters counter0 + j/4 + lane, one per i64 lane: the low word
          // in place, the high word shifted down (emitPhilox4x32InI64
          // reads only the low 32 bits of each).
          Value base = arith::AddIOp::create(
              b, loc, counter0,
              arith::IndexCastUIOp::create(
                  b, loc, b.getI64Type(),
                  arith::DivUIOp::create(b, loc, j, idx(b, 4))));
          Value counters = arith::AddIOp::create(
              b, loc, vector::BroadcastOp::create(b, loc, vI64, base),
              arith::ConstantOp::create(b, loc,
                                        cast<TypedAttr>(DenseElementsAttr::get(
                                            vI64, ArrayRef<int64_t>(steps)))));
          Value high = arith::ShRUIOp::create(
              b, loc, counters,
              arith::ConstantOp::create(
                  b, loc,
                  cast<TypedAttr>(DenseElementsAttr::get(
                      vI64, b.getI64IntegerAttr(32)))));
          std::array<Value, 4> w =
              emitPhilox4x32InI64(b, loc, counters, high, k0, k1);
          for (Value &word : w)
            word = arith::TruncIOp::create(b, loc, vI32, word);
          // Element order: word (i mod 4) of counter i / 4. Interleave
          // words 0 and 1 (2 and 3) lane by lane, then the two results in
          // pairs of lanes: out[k] holds counters k*L/4 .. k*L/4 + L/4-1.
          auto shuffle = [&](Value x, Value y, ArrayRef<int64_t> mask) {
            return vector::ShuffleOp::create(b, loc, x, y, mask).getResult();
          };
          int64_t L = kLanes;
          // Lanes [from, from + L/2) of x and y, interleaved in groups of
          // `group` lanes.
          auto interleave = [&](int64_t from, int64_t group) {
            SmallVector<int64_t> mask;
            for (int64_t i = 0; i < L / 2; i += group) {
              for (int64_t g = 0; g < group; ++g)
                mask.push_back(from + i + g);
              for (int64_t g = 0; g < group; ++g)
                mask.push_back(L + from + i + g);
            }
            return mask;
          };
          Value p01lo = shuffle(w[0], w[1], interleave(0, 1));
          Value p01hi = shuffle(w[0], w[1], interleave(L / 2, 1));
          Value p23lo = shuffle(w[2], w[3], interleave(0, 1));
          Value p23hi = shuffle(w[2], w[3], interleave(L / 2, 1));
          Value out[4] = {shuffle(p01lo, p23lo, interleave(0, 2)),
                          shuffle(p01lo, p23lo, interleave(L / 2, 2)),
                          shuffle(p01hi, p23hi, interleave(0, 2)),
                          shuffle(p01hi, p23hi, interleave(L / 2, 2))};
          Value s = args[0];
          for (int64_t k = 0; k < 4; ++k)
            s = vector::TransferWriteOp::create(
                    b, loc, out[k], s,
                    ValueRange{addI(b, j, idx(b, k * kLanes))},
                    ArrayRef<bool>{true})
                    ->getResult(0);
          return SmallVector<Value>{s};
        })[0];
    return {scratch, offset};
  }

  /// Builds the loop nest at the builder's insertion point; returns
  /// (codes, biases) in the tensor's shapes.
  std::pair<Value, Value> build(OpBuilder &b) {
    MLIRContext *ctx = b.getContext();
    RankedTensorType codesType = q.spec.codesType;
    RankedTensorType biasType = q.spec.biasesType;
    codeType = codesType.getElementType();
    vI32 = VectorType::get({kLanes}, b.getI32Type());
    vI64 = VectorType::get({kLanes}, b.getI64Type());
    vI8 = VectorType::get({kLanes}, b.getI8Type());
    vF32 = VectorType::get({kLanes}, b.getF32Type());
    vCode = VectorType::get({kLanes}, codeType);
    (void)ctx;
    bool stochastic = q.spec.rounding == ::bm::numerics::Rounding::Stochastic;

    Value input = to3D(b, q.spec.input, {d0, inner, n});
    SmallVector<int64_t> grid3 = {g0Count, gMid, gN};
    SmallVector<int64_t> bandGrid = {1, gMid, gN};
    Value zero32 = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    if (stochastic) {
      Value seed = q.spec.seed;
      // The key words in the low halves of i64 lanes (see fillWords).
      k0 = vector::BroadcastOp::create(b, loc, vI64, seed);
      k1 = vector::BroadcastOp::create(
          b, loc, vI64,
          arith::ShRUIOp::create(
              b, loc, seed,
              arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32))));
    }

    int64_t fullBlocks = n / bN, lastWidth = n % bN;
    // Calls f(b, g1, c0, width) for every block column.
    auto forBlockColumns =
        [&](OpBuilder &b, ValueRange init,
            function_ref<SmallVector<Value>(OpBuilder &, Value, Value, int64_t,
                                            ValueRange)>
                f) -> SmallVector<Value> {
      SmallVector<Value> state(init);
      if (fullBlocks > 0)
        state = loop(b, 0, fullBlocks, 1, state,
                     [&](OpBuilder &b, Value g1, ValueRange args) {
                       return f(b, g1, mulI(b, g1, bN), bN, args);
                     });
      if (lastWidth > 0)
        state =
            f(b, idx(b, fullBlocks), idx(b, fullBlocks * bN), lastWidth, state);
      return state;
    };

    // Bands of block rows are independent: one scf.forall over them (on
    // all cores in the parallel CPU pipeline). Each band has its own block
    // maxima, biases and random-word buffer, and writes its rows of the
    // codes and its row of the biases.
    Value biasesInit = tensor::EmptyOp::create(b, loc, grid3, b.getI8Type());
    Value codesInit = tensor::EmptyOp::create(
        b, loc, SmallVector<int64_t>{d0, inner, n}, codeType);
    // One band: its biases [1, gMid, gN] and codes (a slice of
    // `sharedCodes`), with where the codes go.
    struct Band {
      Value biases, codes;
      SmallVector<OpFoldResult> offsets, sizes;
    };
    auto buildBand = [&](OpBuilder &b, Value g0, Value sharedCodes) -> Band {
      Value rBegin = mulI(b, g0, b0);
      Value rEnd = arith::MinSIOp::create(b, loc, addI(b, rBegin, idx(b, b0)),
                                          idx(b, d0));
      // Rows of the band: b0, or fewer in a last partial band.
      OpFoldResult rows = b.getIndexAttr(b0);
      if (d0 % b0 != 0)
        rows = arith::SubIOp::create(b, loc, rEnd, rBegin).getResult();
      SmallVector<OpFoldResult> bandOffsets = {rBegin, b.getIndexAttr(0),
                                               b.getIndexAttr(0)};
      SmallVector<OpFoldResult> bandSizes = {rows, b.getIndexAttr(inner),
                                             b.getIndexAttr(n)};
      SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
      Value codes = tensor::ExtractSliceOp::create(
          b, loc, sharedCodes, bandOffsets, bandSizes, ones);
      Value zeroIdx = idx(b, 0);
      Value maxT =
          linalg::FillOp::create(b, loc, ValueRange{zero32},
                                 ValueRange{tensor::EmptyOp::create(
                                     b, loc, bandGrid, b.getI32Type())})
              .getResult(0);
      Value scratch;
      if (stochastic)
        scratch = tensor::EmptyOp::create(
            b, loc, SmallVector<int64_t>{scratchSize}, b.getI32Type());
      // 1. Block maxima of the band.
      maxT = loop(
          b, rBegin, rEnd, 1, {maxT},
          [&](OpBuilder &b, Value i0, ValueRange args) {
            return loop(
                b, 0, inner, 1, args,
                [&](OpBuilder &b, Value im, ValueRange args) {
                  Value gm = midGridIndex(b, im);
                  return forBlockColumns(
                      b, args,
                      [&](OpBuilder &b, Value g1, Value c0, int64_t width,
                          ValueRange args) {
                        Value m = blockRowMax(b, input, i0, im, c0, width);
                        Value old = tensor::ExtractOp::create(
                            b, loc, args[0], ValueRange{zeroIdx, gm, g1});
                        Value max = arith::MaxUIOp::create(b, loc, old, m);
                        return SmallVector<Value>{tensor::InsertOp::create(
                            b, loc, max, args[0], ValueRange{zeroIdx, gm, g1})};
                      });
                });
          })[0];
      // 2. Its biases.
      Value biases = tensor::EmptyOp::create(b, loc, bandGrid, b.getI8Type());
      biases =
          loop(b, 0, gMid, 1, {biases},
               [&](OpBuilder &b, Value gm, ValueRange args) {
                 return loop(
                     b, 0, gN, 1, args,
                     [&](OpBuilder &b, Value g1, ValueRange args) {
                       Value max = tensor::ExtractOp::create(
                           b, loc, maxT, ValueRange{zeroIdx, gm, g1});
                       Value beta = emitBlockBeta(b, loc, max, q.spec.format,
                                                  q.spec.scale);
                       return SmallVector<Value>{tensor::InsertOp::create(
                           b, loc, beta, args[0], ValueRange{zeroIdx, gm, g1})};
                     });
               })[0];
      // 3. Its codes.
      SmallVector<Value> state = {codes};
      if (stochastic)
        state.push_back(scratch);
      SmallVector<Value> cs =
          loop(b, rBegin, rEnd, 1, state,
               [&](OpBuilder &b, Value i0, ValueRange args) {
                 return loop(
                     b, 0, inner, 1, args,
                     [&](OpBuilder &b, Value im, ValueRange args) {
                       Value gm = midGridIndex(b, im);
                       Value codes = args[0];
                       Value scratch, wordOffset;
                       if (stochastic) {
                         Value row = addI(b, mulI(b, i0, inner), im);
                         std::tie(scratch, wordOffset) =
                             fillWords(b, args[1], mulI(b, row, n));
                       }
                       Value codesRow =
                           arith::SubIOp::create(b, loc, i0, rBegin);
                       SmallVector<Value> out = forBlockColumns(
                           b, {codes},
                           [&](OpBuilder &b, Value g1, Value c0, int64_t width,
                               ValueRange args) {
                             Value beta = tensor::ExtractOp::create(
                                 b, loc, biases, ValueRange{zeroIdx, gm, g1});
                             return SmallVector<Value>{blockRowCodes(
                                 b, input, i0, im, c0, width, beta, args[0],
                                 codesRow, scratch, wordOffset)};
                           });
                       SmallVector<Value> next = {out[0]};
                       if (stochastic)
                         next.push_back(scratch);
                       return next;
                     });
               });
      return Band{biases, cs[0], bandOffsets, bandSizes};
    };
    SmallVector<OpFoldResult> ones(3, b.getIndexAttr(1));
    auto biasOffsets = [&](Value g0) {
      return SmallVector<OpFoldResult>{g0, b.getIndexAttr(0),
                                       b.getIndexAttr(0)};
    };
    SmallVector<OpFoldResult> biasSizes = {
        b.getIndexAttr(1), b.getIndexAttr(gMid), b.getIndexAttr(gN)};
    SmallVector<Value> results;
    if (d0 * inner * n >= kMinParallelElements) {
      auto forall = scf::ForallOp::create(
          b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(g0Count)},
          ValueRange{biasesInit, codesInit}, std::nullopt);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value g0 = forall.getInductionVars()[0];
      Band band = buildBand(b, g0, forall.getRegionIterArgs()[1]);
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      tensor::ParallelInsertSliceOp::create(b, loc, band.biases,
                                            forall.getRegionIterArgs()[0],
                                            biasOffsets(g0), biasSizes, ones);
      tensor::ParallelInsertSliceOp::create(b, loc, band.codes,
                                            forall.getRegionIterArgs()[1],
                                            band.offsets, band.sizes, ones);
      results = {Value(), forall.getResult(0), forall.getResult(1)};
    } else {
      // Little work: bands in order (ParallelLoops.h).
      SmallVector<Value> outs = loop(
          b, 0, g0Count, 1, {biasesInit, codesInit},
          [&](OpBuilder &b, Value g0, ValueRange args) {
            Band band = buildBand(b, g0, args[1]);
            Value biases = tensor::InsertSliceOp::create(
                b, loc, band.biases, args[0], biasOffsets(g0), biasSizes, ones);
            Value codes = tensor::InsertSliceOp::create(
                b, loc, band.codes, args[1], band.offsets, band.sizes, ones);
            return SmallVector<Value>{biases, codes};
          });
      results = {Value(), outs[0], outs[1]};
    }
    return {from3D(b, results[2], codesType), from3D(b, results[1], biasType)};
  }
};

} // namespace

bool mlir::bm::cpu::isQuantizeKernelSupported(RankedTensorType inputType,
                                              ArrayRef<int64_t> block) {
  if (!inputType.hasStaticShape() || !inputType.getElementType().isF32() ||
      inputType.getRank() < 1 ||
      block.size() != static_cast<size_t>(inputType.getRank()))
    return false;
  for (auto [s, b] : llvm::zip(inputType.getShape(), block))
    if (s <= 0 || b <= 0)
      return false;
  return true;
}

std::pair<Value, Value>
mlir::bm::cpu::emitQuantizeKernel(OpBuilder &b, Location loc,
                                  const QuantizeKernelSpec &spec,
                                  unsigned vectorBits) {
  auto inputType = cast<RankedTensorType>(spec.input.getType());
  assert(isQuantizeKernelSupported(inputType, spec.block) &&
         "quantize kernel: unsupported input");
  QuantizeLayout layout{spec,
                        SmallVector<int64_t>(inputType.getShape()),
                        SmallVector<int64_t>(spec.block),
                        {}};
  mergeWholeTrailingDims(layout);
  QuantizeBuilder builder(layout, loc, vectorBits / 32);
  return builder.build(b);
}
