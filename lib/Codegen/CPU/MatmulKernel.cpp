//===- MatmulKernel.cpp - The register-tiled CPU kernel of bm.matmul ------===//
//
// Plans the kernel (KernelPlan.h), then builds it in order:
//
//  1. the run tables and the operands packed once (Packing.cpp);
//  2. the per-run scale tables (ScaleTables.cpp);
//  3. an scf.forall (scf.for below minParallelMacs) over tileM x tileN
//     output tiles. For each run, the tile's exact run sums live in i32
//     vector registers and each step of the run adds kPerStep k
//     (MicroKernel.cpp); the sums are then converted once and added to the
//     float32 tile in ascending run order (RunConversion.cpp). NaNs are
//     made canonical once per tile (NaNFixup.cpp).
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/MatmulKernel.h"

#include "KernelEmitters.h"

#include "bm/Conversion/Utils/MatmulOperands.h"
#include "bm/Dialect/BM/Utils/MatmulGeometry.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::cpu;
using namespace mlir::bm::cpu::detail;
using lowering::constI32;
using lowering::emptyTensor;

namespace mlir::bm::cpu::detail {

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

Value tableEntry(IntIR &x, Value table, Value i) {
  Value v = tensor::ExtractOp::create(x.b, x.loc, table, ValueRange{i});
  return arith::IndexCastOp::create(x.b, x.loc, x.b.getIndexType(), v);
}

} // namespace mlir::bm::cpu::detail

namespace {

/// A constant i64 table of one entry per run.
Value runTable(OpBuilder &b, Location loc, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                    b.getI64Type());
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, values));
}

/// The output the tiles write: a new tensor of the init's shape, or of the
/// tile grid's when M or N is padded (its padding rows and columns are
/// computed and dropped). Each tile copies its part of the init in, inside
/// the tile loop.
Value buildOutput(OpBuilder &b, Location loc, const KernelPlan &plan,
                  const MatmulGeometry &g, Value init, bool padded) {
  Type f32 = b.getF32Type();
  if (padded)
    return emptyTensor(b, loc, g.withBatch({plan.paddedM, plan.paddedN}), f32);
  return emptyTensor(b, loc, cast<RankedTensorType>(init.getType()).getShape(),
                     f32);
}

/// The body of the tile loop: one tile, all runs in order; returns the
/// finished tile.
Value buildTile(OpBuilder &b, Location loc, const KernelContext &kc,
                TileCoords &tile, Value tile32, Value init, bool padded,
                const PackedOperands &packed, Value offsetColumnSums,
                const ScaleTables &scales) {
  const KernelPlan &plan = kc.plan;
  int64_t lanes = plan.lanes;
  IntIR x{b, loc};
  SmallVector<bool> inBounds{true};
  auto vf32 = VectorType::get({lanes}, b.getF32Type());
  // The f32 tile starts as the init, read from the init itself (in memory:
  // copied into the tile first). Past N the reads are masked (zeros); rows
  // past M read row M - 1 (padding rows are dropped, whatever they hold).
  const MatmulGeometry &g = kc.g;
  FloatTile start;
  {
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    SmallVector<bool> columnsInBounds{!padded || g.N % plan.tileN() == 0};
    for (int64_t t = 0; t < plan.tileM; ++t)
      for (int64_t c = 0; c < plan.chunks; ++c) {
        Value row = x.add(tile.m0, x.idx(t));
        if (plan.paddedM != g.M)
          row = x.minu(row, g.M - 1);
        Value v = vector::TransferReadOp::create(
            b, loc, vf32, init,
            tile.at({row, x.add(tile.n0, x.idx(c * lanes))}), zero,
            columnsInBounds);
        if (plan.tileInRegisters) {
          start.vectors.push_back(v);
          continue;
        }
        tile32 = vector::TransferWriteOp::create(
                     b, loc, v, tile32, ValueRange{x.idx(t), x.idx(c * lanes)},
                     inBounds)
                     .getResult();
      }
  }
  tile.f32Zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  tile.i32Zero = constI32(b, loc, 0);
  tile.i16Zero = arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(0));
  if (!plan.tileInRegisters)
    start.tensor = tile32;

  // The float32 tile is carried across the run loop: in registers, or read,
  // updated and written once per run where registers are too few (keeping
  // it in registers would spill the run sums).
  auto runLoop = scf::ForOp::create(
      b, loc, x.idx(0), x.idx(plan.numRuns()), x.idx(1), start.values(),
      [&](OpBuilder &b, Location loc, Value r, ValueRange iterTile) {
        IntIR x{b, loc};
        SmallVector<Value> accInit =
            emitRunSumsInit(b, loc, kc, tile, r, offsetColumnSums);
        Value stepStart = tableEntry(x, kc.stepStartTable, r);
        auto stepLoop = scf::ForOp::create(
            b, loc, x.idx(0), tableEntry(x, kc.stepCountTable, r), x.idx(1),
            accInit, [&](OpBuilder &b, Location loc, Value s, ValueRange acc) {
              IntIR x{b, loc};
              Value w0 = x.mul(x.add(stepStart, s), plan.wordsPerStep());
              scf::YieldOp::create(b, loc,
                                   emitStep(b, loc, kc, tile, packed, w0, acc));
            });
        FloatTile next =
            emitRunConversion(b, loc, kc, tile, scales, r,
                              stepLoop.getResults(), start.with(iterTile));
        scf::YieldOp::create(b, loc, next.values());
      });
  FloatTile done =
      emitCanonicalNaNs(b, loc, kc, tile, start.with(runLoop.getResults()));
  if (done.tensor)
    return done.tensor;
  // One store of the tile in registers.
  for (int64_t t = 0; t < plan.tileM; ++t)
    for (int64_t c = 0; c < plan.chunks; ++c)
      tile32 = vector::TransferWriteOp::create(
                   b, loc, done.vectors[t * plan.chunks + c], tile32,
                   ValueRange{x.idx(t), x.idx(c * lanes)}, inBounds)
                   .getResult();
  return tile32;
}

} // namespace

MatmulProblem mlir::bm::cpu::getMatmulProblem(MatmulOp op) {
  MatmulGeometry g(op);
  MatmulProblem problem;
  problem.fa = g.fa;
  problem.fb = g.fb;
  problem.M = g.M;
  problem.N = g.N;
  problem.K = g.K;
  problem.runs = g.runs;
  problem.maxRun = g.maxRun;
  problem.kulischWidth = op.getKulischWidth();
  return problem;
}

FailureOr<Value>
mlir::bm::cpu::buildMatmulKernel(OpBuilder &b, MatmulOp op,
                                 const MatmulKernelOperands &operands,
                                 const MatmulKernelOptions &options) {
  Location loc = op.getLoc();
  MatmulProblem problem = getMatmulProblem(op);
  std::optional<KernelPlan> plan = planMatmulKernel(problem, options.target);
  if (!plan)
    return failure();
  MatmulGeometry g(op);
  // An empty output has nothing to compute (and no tile to cut).
  if (g.M == 0 || g.N == 0 || g.batch == 0)
    return operands.init;
  // The x86 intrinsics are declared in the module.
  auto module = op->getParentOfType<ModuleOp>();
  if (plan->usesX86Intrinsics() && !module)
    plan = planMatmulKernel(problem, CpuTarget::Generic);

  KernelContext kc{*plan, g, module};
  // Little work runs in order (ParallelLoops.h): the padded
  // multiply-adds, batches included.
  kc.parallel = g.batch * plan->paddedM * plan->paddedN * plan->words() *
                    plan->kPerWord >=
                options.minParallelMacs;
  kc.startTable = runTable(b, loc, plan->runStarts);
  kc.lengthTable = runTable(b, loc, plan->runLengths);
  kc.stepCountTable = runTable(b, loc, plan->runStepCounts);
  kc.stepStartTable = runTable(b, loc, plan->runStepStarts);
  // A table only for the one elementwise packing: B stored [K, N] with
  // unaligned runs. (Every other packing decodes arithmetically, in vector
  // code.)
  if (!g.tB && !plan->aligned)
    kc.decodeTableB = buildDecodeTable(b, loc, *plan, g);

  // Steps 1-2: packed operands and scale tables.
  PackedOperands packed =
      packOperands(b, loc, kc, operands.codesA, operands.codesB);
  Value offsetColumnSums;
  if (plan->offsetsA())
    offsetColumnSums = buildOffsetColumnSums(b, loc, kc, packed.b);
  ScaleTables scales =
      buildScaleTables(b, loc, kc, operands.biasesA, operands.biasesB);

  // Step 3: the tiles. Each tile copies its part of the init into a new
  // output (in the tile loop, not before it), padded to the tile grid where
  // M or N is not a multiple of the tile.
  auto initType = cast<RankedTensorType>(operands.init.getType());
  bool padded = plan->paddedM != g.M || plan->paddedN != g.N;
  Value out = buildOutput(b, loc, *plan, g, operands.init, padded);
  int64_t nb = g.nb, tileM = plan->tileM, tileN = plan->tileN();
  SmallVector<int64_t> ubs =
      g.withBatch({plan->paddedM / tileM, plan->paddedN / tileN});
  auto tileType = RankedTensorType::get({tileM, tileN}, b.getF32Type());
  auto coords = [&](OpBuilder &b, ValueRange ivs) {
    IntIR x{b, loc};
    TileCoords tile;
    tile.batch = g.batched ? ivs[0] : Value();
    tile.rowPanel = ivs[nb];
    tile.colPanel = ivs[nb + 1];
    tile.m0 = x.mul(ivs[nb], tileM);
    tile.n0 = x.mul(ivs[nb + 1], tileN);
    return tile;
  };
  Value result = buildSliceLoop(
      b, loc, ubs, out, kc.parallel,
      [&](OpBuilder &b, ValueRange ivs) {
        TileCoords tile = coords(b, ivs);
        SlicePlace at;
        at.type = tileType;
        if (g.batched) {
          at.offsets.push_back(tile.batch);
          at.sizes.push_back(b.getIndexAttr(1));
        }
        at.offsets.append({tile.m0, tile.n0});
        at.sizes.append({b.getIndexAttr(tileM), b.getIndexAttr(tileN)});
        return at;
      },
      [&](OpBuilder &b, ValueRange ivs, Value tile32) -> Value {
        TileCoords tile = coords(b, ivs);
        return buildTile(b, loc, kc, tile, tile32, operands.init, padded,
                         packed, offsetColumnSums, scales);
      });
  if (padded) {
    SmallVector<OpFoldResult> offsets(initType.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes,
        strides(initType.getRank(), b.getIndexAttr(1));
    for (int64_t d : initType.getShape())
      sizes.push_back(b.getIndexAttr(d));
    result = tensor::ExtractSliceOp::create(b, loc, initType, result, offsets,
                                            sizes, strides);
  }
  return result;
}
