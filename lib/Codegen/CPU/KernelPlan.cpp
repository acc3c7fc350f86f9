//===- KernelPlan.cpp - Choosing the CPU matmul kernel --------------------===//

#include "bm/Codegen/CPU/KernelPlan.h"

#include "bm/Numerics/Quantize.h"

#include <algorithm>
#include <cstdlib>

using ::bm::numerics::Format;

namespace mlir::bm::cpu {

namespace {

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceilDiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

/// Bits of the signed integer form of `f` (the narrowest of 8/16/32/64
/// holding qmax and its sign, as the lowering's form types).
int formBits(Format f) {
  int bits = f.qmaxBits() + 1;
  for (int w : {8, 16, 32, 64})
    if (bits <= w)
      return w;
  return 0;
}

/// The u8 x s8 step of AVX2 applies when nothing saturates or wraps: with
/// maxA, maxB the largest |form| of A and B and A offset by maxA into
/// [0, 2 maxA] (u8), pmaddubsw adds two products of at most 2 maxA * maxB
/// each and the two quads of a step add four, so 4 * 2 maxA * maxB <= 32767
/// keeps every i16 lane exact (e2m3 x e2m3: 4 * 120 * 60 = 28800).
bool fitsU8S8Avx2(int64_t maxA, int64_t maxB) {
  return 2 * maxA <= 255 && maxB <= 127 && 4 * 2 * maxA * maxB <= 32767;
}

/// The vpdpbusd step applies when A offset by its largest form is a u8 and
/// B's forms are s8: vpdpbusd sums four u8 x s8 products (each within i16)
/// into the i32 lane without saturation, so no other bound applies.
bool fitsU8S8Vnni(int64_t maxA, int64_t maxB) {
  return 2 * maxA <= 255 && maxB <= 127;
}

StepKind selectStep(const MatmulProblem &problem, CpuTarget target,
                    bool decodeByTables, int64_t &offsetA) {
  bool vnni = target == CpuTarget::AvxVnni || target == CpuTarget::Avx512Vnni;
  if (target == CpuTarget::Generic)
    return StepKind::I16Pairs;
  if (decodeByTables) {
    int64_t maxA = largestForm(problem.fa), maxB = largestForm(problem.fb);
    if (vnni && fitsU8S8Vnni(maxA, maxB)) {
      offsetA = maxA;
      return StepKind::U8S8Vnni;
    }
    if (!vnni && fitsU8S8Avx2(maxA, maxB)) {
      offsetA = maxA;
      return StepKind::U8S8Avx2;
    }
  }
  return vnni ? StepKind::I16Vnni : StepKind::I16Pairs;
}

/// Rows of the register tile. 256-bit targets have 16 vector registers:
/// 6 rows of the i16 steps (12 accumulators), or 4 when that divides M and
/// 6 does not (no padding); 4 for the AVX2 u8 step (its 8 accumulators, 4 B
/// vectors and the ones of pmaddwd). AVX-512 has 32: the same 6 (or 4)
/// rows, whose 12 accumulators, 12 float32 tile vectors, 2 B vectors and
/// the A broadcasts all fit.
int64_t selectTileRows(StepKind step, CpuTarget target, int64_t M) {
  if (step == StepKind::U8S8Avx2)
    return 4;
  return (M % 6 != 0 && M % 4 == 0) ? 4 : 6;
}

/// Columns of the register tile: two vectors of the target's width, or
/// for a narrow output (N <= one vector) one vector, as narrow as N allows
/// (8 lanes of AVX-512's 256-bit forms when N <= 8). A wide tile over a
/// narrow N computes and converts padding: a convolution with 8 output
/// channels would spend three quarters of a 32-column tile on it.
void selectTileColumns(int64_t N, int64_t targetLanes, int64_t &lanes,
                       int64_t &chunks) {
  lanes = targetLanes;
  chunks = 2;
  if (N > targetLanes)
    return;
  chunks = 1;
  if (N <= 8)
    lanes = 8;
}

} // namespace

int64_t largestForm(Format f) {
  int64_t largest = 0;
  for (uint32_t code = 0; code < (1u << f.codeBits()); ++code)
    largest = std::max<int64_t>(
        largest, std::abs(::bm::numerics::decodeElement(code, f).toInt64()));
  return largest;
}

std::optional<KernelPlan> planMatmulKernel(const MatmulProblem &problem,
                                           CpuTarget target) {
  Format fa = problem.fa, fb = problem.fb;
  int bitsA = formBits(fa), bitsB = formBits(fb);
  if (bitsA == 0 || bitsB == 0 || bitsA > 16 || bitsB > 16 ||
      problem.kulischWidth > 32)
    return std::nullopt;

  KernelPlan plan;
  plan.target = target;
  plan.tableA = fa.codeBits() <= kMaxDecodeTableBits;
  plan.tableB = fb.codeBits() <= kMaxDecodeTableBits;

  // The step: the target's widest exact dot-product instruction.
  plan.step =
      selectStep(problem, target, plan.tableA && plan.tableB, plan.offsetA);
  switch (plan.step) {
  case StepKind::I16Pairs:
  case StepKind::I16Vnni:
    plan.kPerStep = 2;
    plan.kPerWord = 2;
    plan.packedBits = 16;
    break;
  case StepKind::U8S8Avx2:
    plan.kPerStep = 8;
    plan.kPerWord = 4;
    plan.packedBits = 8;
    break;
  case StepKind::U8S8Vnni:
    plan.kPerStep = 4;
    plan.kPerWord = 4;
    plan.packedBits = 8;
    break;
  }

  // The register tile: `chunks` vectors of `lanes` i32 per row, tileM rows.
  int64_t lanes = getVectorBits(target) / 32;
  selectTileColumns(problem.N, lanes, plan.lanes, plan.chunks);
  plan.tileM = selectTileRows(plan.step, target, problem.M);
  plan.tileInRegisters = target == CpuTarget::Avx512Vnni;
  plan.paddedM = roundUp(problem.M, plan.tileM);
  plan.paddedN = roundUp(problem.N, plan.tileN());

  // The packed layouts and the run tables.
  int64_t U = plan.kPerStep;
  plan.aligned = std::all_of(problem.runs.begin(), problem.runs.end(),
                             [&](const auto &run) {
                               return run.begin % U == 0 && run.size() % U == 0;
                             });
  plan.slotSteps = ceilDiv(problem.maxRun, U);
  int64_t R = static_cast<int64_t>(problem.runs.size());
  plan.totalSteps = plan.aligned ? problem.K / U : R * plan.slotSteps;
  for (int64_t r = 0; r < R; ++r) {
    const auto &run = problem.runs[r];
    plan.runStarts.push_back(run.begin);
    plan.runLengths.push_back(run.size());
    plan.runStepStarts.push_back(plan.aligned ? run.begin / U
                                              : r * plan.slotSteps);
    plan.runStepCounts.push_back(ceilDiv(run.size(), U));
  }
  return plan;
}

} // namespace mlir::bm::cpu
