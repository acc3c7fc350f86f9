//===- ScaleTables.cpp - Per-run scales of the CPU matmul kernel ----------===//
//
// The unit exponent of each (row, run) of A and (run, column) of B, and the
// tables the run conversion reads, laid out so that a tile reads its run's
// entries as consecutive words: the range of each tile panel's scales per
// run (the fast conversion's test) and the two parts of the exponent field
// of 2^(sA + sB).
//
//===----------------------------------------------------------------------===//

#include "KernelEmitters.h"

#include "bm/Conversion/Utils/MatmulOperands.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;
using lowering::buildTensor;
using lowering::constI32;
using lowering::unitExponentOrMarker;

namespace {

/// Unit exponents, [batch?, Mp, R] for A and [batch?, R, Np] for B (rows /
/// columns past the edge repeat the last).
Value buildUnitExponents(OpBuilder &b, Location loc, const KernelContext &kc,
                         bool isA, Value biases) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, R = plan.numRuns(), M = g.M, N = g.N;
  SmallVector<int64_t> shape =
      isA ? g.withBatch({plan.paddedM, R}) : g.withBatch({R, plan.paddedN});
  return buildTensor(
      b, loc, shape, b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        IntIR x{b, loc};
        Value r = isA ? idx[nb + 1] : idx[nb];
        Value outer = isA ? x.minu(idx[nb], M - 1) : x.minu(idx[nb + 1], N - 1);
        Value k = tableEntry(x, kc.startTable, r);
        bool kFirst = g.kFirst(isA);
        ArrayRef<int64_t> blk = isA ? g.blkA : g.blkB;
        SmallVector<Value> at;
        if (g.batched)
          at.push_back(x.divu(idx[0], blk[0]));
        Value kb = x.divu(k, blk[kFirst ? nb : nb + 1]);
        Value ob = x.divu(outer, blk[kFirst ? nb + 1 : nb]);
        if (kFirst)
          at.append({kb, ob});
        else
          at.append({ob, kb});
        Value beta = tensor::ExtractOp::create(b, loc, biases, at);
        return unitExponentOrMarker(b, loc, beta, isA ? g.fa : g.fb);
      });
}

/// The range of the scales of each tile's rows (columns) per run, for the
/// kernel's fast-path test: [batch?, Mp/tileM, R, 2] for A and
/// [batch?, Np/tileN, R, 2] for B, the minimum then the maximum (the
/// non-finite marker is the smallest i32, so it shows in the minimum). A
/// tile reads its two pairs of run r next to those of run r - 1.
Value buildScaleRange(OpBuilder &b, Location loc, const KernelContext &kc,
                      bool isA, Value scales) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, R = plan.numRuns();
  int64_t panels =
      isA ? plan.paddedM / plan.tileM : plan.paddedN / plan.tileN();
  int64_t width = isA ? plan.tileM : plan.tileN();
  return buildTensor(
      b, loc, g.withBatch({panels, R, 2}), b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        IntIR x{b, loc};
        Value panel = idx[nb], r = idx[nb + 1];
        Value lo, hi;
        for (int64_t i = 0; i < width; ++i) {
          SmallVector<Value> at;
          if (g.batched)
            at.push_back(idx[0]);
          Value outer = x.add(x.mul(panel, width), x.idx(i));
          if (isA)
            at.append({outer, r});
          else
            at.append({r, outer});
          Value v = tensor::ExtractOp::create(b, loc, scales, at);
          lo = lo ? arith::MinSIOp::create(b, loc, lo, v).getResult() : v;
          hi = hi ? arith::MaxSIOp::create(b, loc, hi, v).getResult() : v;
        }
        Value isMax = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                            idx[nb + 2], x.idx(1));
        return arith::SelectOp::create(b, loc, isMax, hi, lo);
      });
}

} // namespace

ScaleTables mlir::bm::cpu::detail::buildScaleTables(OpBuilder &b, Location loc,
                                                    const KernelContext &kc,
                                                    Value biasesA,
                                                    Value biasesB) {
  const KernelPlan &plan = kc.plan;
  const MatmulGeometry &g = kc.g;
  int64_t nb = g.nb, R = plan.numRuns(), tileM = plan.tileM;
  ScaleTables t;
  t.scalesA = buildUnitExponents(b, loc, kc, /*isA=*/true, biasesA);
  t.scalesB = buildUnitExponents(b, loc, kc, /*isA=*/false, biasesB);
  // The exponent field of 2^(sB + 127 - 127) per (run, column):
  // (sB + 127) << 23, so that the fast conversion builds the bits of
  // 2^(sA + sB) with one add, (sA << 23) + this, equal modulo 2^32 to
  // (sA + sB + 127) << 23 (meaningless for the non-finite marker, which
  // never takes the fast conversion).
  t.pow2BitsB = buildTensor(
      b, loc, g.withBatch({R, plan.paddedN}), b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        Value sB = tensor::ExtractOp::create(b, loc, t.scalesB, idx);
        Value biased = arith::AddIOp::create(b, loc, sB, constI32(b, loc, 127));
        return arith::ShLIOp::create(b, loc, biased, constI32(b, loc, 23));
      });
  t.rangeA = buildScaleRange(b, loc, kc, /*isA=*/true, t.scalesA);
  t.rangeB = buildScaleRange(b, loc, kc, /*isA=*/false, t.scalesB);
  // sA << 23 per (row panel, run, row), [batch?, Mp/tileM, R, tileM]: the
  // row part of the exponent field of 2^(sA + sB) (see pow2BitsB), the rows
  // of a tile's run side by side.
  t.rowBitsA = buildTensor(
      b, loc, g.withBatch({plan.paddedM / tileM, R, tileM}), b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        IntIR x{b, loc};
        Value row = x.add(x.mul(idx[nb], tileM), idx[nb + 2]);
        Value sA = tensor::ExtractOp::create(
            b, loc, t.scalesA,
            withBatchIndex(g.batched ? idx[0] : Value(), {row, idx[nb + 1]}));
        return arith::ShLIOp::create(b, loc, sA, constI32(b, loc, 23));
      });
  return t;
}
