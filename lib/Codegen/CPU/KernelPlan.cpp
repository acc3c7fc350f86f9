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

  // The step: u8 x s8 octets where the target has the AVX2 intrinsics and
  // the forms are narrow enough, else i16 pairs.
  if (target == CpuTarget::Avx2 && plan.tableA && plan.tableB) {
    int64_t maxA = largestForm(fa), maxB = largestForm(fb);
    if (fitsU8S8Avx2(maxA, maxB)) {
      plan.step = StepKind::U8S8Avx2;
      plan.offsetA = maxA;
    }
  }
  switch (plan.step) {
  case StepKind::I16Pairs:
    plan.kPerStep = 2;
    plan.kPerWord = 2;
    plan.packedBits = 16;
    break;
  case StepKind::U8S8Avx2:
    plan.kPerStep = 8;
    plan.kPerWord = 4;
    plan.packedBits = 8;
    break;
  }

  // Tiles of 8-lane vectors, two per row. Rows: 6 for the i16 step (12
  // accumulators), or 4 when that divides M and 6 does not (no padding); 4
  // for the u8 step (its 8 accumulators, 4 B vectors and the ones of
  // pmaddwd fill the 16 registers of AVX2).
  plan.lanes = 8;
  plan.chunks = 2;
  if (plan.step == StepKind::U8S8Avx2)
    plan.tileM = 4;
  else
    plan.tileM = (problem.M % 6 != 0 && problem.M % 4 == 0) ? 4 : 6;
  plan.paddedM = roundUp(problem.M, plan.tileM);
  plan.paddedN = roundUp(problem.N, plan.tileN());

  // The packed layouts and the run tables.
  int64_t U = plan.kPerStep;
  plan.aligned = std::all_of(
      problem.runs.begin(), problem.runs.end(), [&](const auto &run) {
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
