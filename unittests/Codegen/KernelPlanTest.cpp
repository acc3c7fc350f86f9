//===- KernelPlanTest.cpp - The choices of the CPU matmul kernel ----------===//
//
// The expected steps follow from the formats' largest forms (numerics.md
// section 1: qmax of e2m3 is 60, e2m2 28, e2m4 124, e2m5 252, e3m2 448)
// and the bounds written in KernelPlan.cpp's comments, not from running the
// code.
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/KernelPlan.h"
#include "bm/Codegen/CPU/CpuTarget.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace mlir::bm::cpu;
using ::bm::numerics::Format;

namespace {

Format fmt(int e, int m) { return Format{e, m}; }

/// A bm.matmul of M x K by K x N with K blocked by `blockA` and `blockB`.
MatmulProblem problem(Format fa, Format fb, int64_t M, int64_t K, int64_t N,
                      int64_t blockA, int64_t blockB) {
  MatmulProblem p;
  p.fa = fa;
  p.fb = fb;
  p.M = M;
  p.N = N;
  p.K = K;
  p.runs = ::bm::numerics::contractionRuns(K, blockA, blockB);
  p.maxRun = ::bm::numerics::maxRunLength(K, blockA, blockB);
  p.kulischWidth = ::bm::numerics::kulischWidth(fa, fb, p.maxRun);
  return p;
}

TEST(KernelPlan, LargestForms) {
  EXPECT_EQ(largestForm(fmt(2, 3)), 60);
  EXPECT_EQ(largestForm(fmt(2, 2)), 28);
  EXPECT_EQ(largestForm(fmt(2, 4)), 124);
  EXPECT_EQ(largestForm(fmt(2, 5)), 252);
  EXPECT_EQ(largestForm(fmt(3, 2)), 448);
}

TEST(KernelPlan, Domain) {
  // e4m3's forms need 19 bits with the sign: outside the kernel.
  EXPECT_FALSE(planMatmulKernel(
      problem(fmt(4, 3), fmt(2, 3), 8, 48, 16, 48, 48), CpuTarget::Generic));
  // A Kulisch width above 32 bits: outside.
  MatmulProblem wide = problem(fmt(3, 4), fmt(3, 4), 8, 48, 16, 48, 48);
  wide.kulischWidth = 33;
  EXPECT_FALSE(planMatmulKernel(wide, CpuTarget::Avx2));
  // BM8 (e2m5, 9-bit forms) is inside.
  EXPECT_TRUE(planMatmulKernel(problem(fmt(2, 5), fmt(2, 5), 8, 48, 16, 48, 48),
                               CpuTarget::Generic));
}

TEST(KernelPlan, GenericTakesI16Pairs) {
  auto plan = planMatmulKernel(
      problem(fmt(2, 3), fmt(2, 3), 96, 96, 96, 48, 48), CpuTarget::Generic);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->step, StepKind::I16Pairs);
  EXPECT_EQ(plan->kPerStep, 2);
  EXPECT_EQ(plan->kPerWord, 2);
  EXPECT_EQ(plan->packedBits, 16u);
  EXPECT_EQ(plan->offsetA, 0);
  EXPECT_EQ(plan->lanes, 8);
  EXPECT_EQ(plan->tileN(), 16);
  EXPECT_FALSE(plan->usesX86Intrinsics());
}

TEST(KernelPlan, Avx2U8StepWhereI16LanesStayExact) {
  // e2m3 x e2m3: 4 * 2 * 60 * 60 = 28800 <= 32767.
  auto bm6 = planMatmulKernel(problem(fmt(2, 3), fmt(2, 3), 96, 96, 96, 48, 48),
                              CpuTarget::Avx2);
  ASSERT_TRUE(bm6);
  EXPECT_EQ(bm6->step, StepKind::U8S8Avx2);
  EXPECT_EQ(bm6->offsetA, 60);
  EXPECT_EQ(bm6->kPerStep, 8);
  EXPECT_EQ(bm6->kPerWord, 4);
  EXPECT_EQ(bm6->packedBits, 8u);
  EXPECT_EQ(bm6->tileM, 4);
  EXPECT_TRUE(bm6->usesX86Intrinsics());
  // e2m2 x e2m3: A offset by 28, 4 * 56 * 60 = 13440.
  auto mixed = planMatmulKernel(
      problem(fmt(2, 2), fmt(2, 3), 8, 48, 16, 48, 48), CpuTarget::Avx2);
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->step, StepKind::U8S8Avx2);
  EXPECT_EQ(mixed->offsetA, 28);
  // BM8 (252 does not fit a byte) and the backward e3m2 x e2m3
  // (4 * 2 * 448 * 60 > 32767) keep the i16 step.
  for (auto [fa, fb] :
       {std::pair{fmt(2, 5), fmt(2, 5)}, std::pair{fmt(3, 2), fmt(2, 3)}}) {
    auto plan =
        planMatmulKernel(problem(fa, fb, 8, 48, 16, 48, 48), CpuTarget::Avx2);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->step, StepKind::I16Pairs)
        << fa.name() << " x " << fb.name();
  }
}

TEST(KernelPlan, TileRowsAndPadding) {
  auto tileM = [](int64_t M) {
    return planMatmulKernel(problem(fmt(2, 5), fmt(2, 5), M, 48, 20, 48, 48),
                            CpuTarget::Generic)
        ->tileM;
  };
  EXPECT_EQ(tileM(96), 6); // 6 divides
  EXPECT_EQ(tileM(64), 4); // 4 divides and 6 does not
  EXPECT_EQ(tileM(7), 6);  // neither: 6, padded
  auto plan = planMatmulKernel(problem(fmt(2, 5), fmt(2, 5), 7, 48, 20, 48, 48),
                               CpuTarget::Generic);
  EXPECT_EQ(plan->paddedM, 12);
  EXPECT_EQ(plan->paddedN, 32);
}

TEST(KernelPlan, RunTables) {
  // Blocks of 48 along K = 100: runs [0, 48), [48, 96), [96, 100); all
  // start and end on even k, so the i16 step packs k in place.
  auto even = planMatmulKernel(
      problem(fmt(2, 5), fmt(2, 5), 6, 100, 16, 48, 48), CpuTarget::Generic);
  ASSERT_TRUE(even);
  EXPECT_TRUE(even->aligned);
  EXPECT_EQ(even->totalSteps, 50);
  EXPECT_EQ(even->words(), 50);
  EXPECT_EQ(even->runStarts, (std::vector<int64_t>{0, 48, 96}));
  EXPECT_EQ(even->runLengths, (std::vector<int64_t>{48, 48, 4}));
  EXPECT_EQ(even->runStepStarts, (std::vector<int64_t>{0, 24, 48}));
  EXPECT_EQ(even->runStepCounts, (std::vector<int64_t>{24, 24, 2}));

  // The u8 step takes 8 k: a run of 4 is not a whole step, so each run
  // gets its own slots (ceil(48 / 8) = 6 steps), zero-padded.
  auto slots = planMatmulKernel(
      problem(fmt(2, 3), fmt(2, 3), 4, 100, 16, 48, 48), CpuTarget::Avx2);
  ASSERT_TRUE(slots);
  EXPECT_FALSE(slots->aligned);
  EXPECT_EQ(slots->slotSteps, 6);
  EXPECT_EQ(slots->totalSteps, 18);
  EXPECT_EQ(slots->words(), 36);
  EXPECT_EQ(slots->runStepStarts, (std::vector<int64_t>{0, 6, 12}));
  EXPECT_EQ(slots->runStepCounts, (std::vector<int64_t>{6, 6, 1}));

  // Blocks of 3 and 2: runs of 1 and 2 starting on odd k.
  auto odd = planMatmulKernel(problem(fmt(2, 5), fmt(2, 5), 6, 6, 16, 3, 2),
                              CpuTarget::Generic);
  ASSERT_TRUE(odd);
  EXPECT_FALSE(odd->aligned);
  EXPECT_EQ(odd->runStarts, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(odd->runLengths, (std::vector<int64_t>{2, 1, 1, 2}));
  EXPECT_EQ(odd->slotSteps, 1);
  EXPECT_EQ(odd->runStepCounts, (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(KernelPlan, VnniSteps) {
  // BM6 on AVX-512 VNNI: vpdpbusd (4 k per step, A offset by 60), 16 lanes,
  // 6 x 32 tiles kept in registers across runs.
  auto bm6 = planMatmulKernel(problem(fmt(2, 3), fmt(2, 3), 96, 96, 96, 48, 48),
                              CpuTarget::Avx512Vnni);
  ASSERT_TRUE(bm6);
  EXPECT_EQ(bm6->step, StepKind::U8S8Vnni);
  EXPECT_EQ(bm6->offsetA, 60);
  EXPECT_TRUE(bm6->offsetsA());
  EXPECT_EQ(bm6->kPerStep, 4);
  EXPECT_EQ(bm6->kPerWord, 4);
  EXPECT_EQ(bm6->packedBits, 8u);
  EXPECT_EQ(bm6->lanes, 16);
  EXPECT_EQ(bm6->tileN(), 32);
  EXPECT_EQ(bm6->tileM, 6);
  EXPECT_TRUE(bm6->tileInRegisters);
  EXPECT_TRUE(bm6->usesX86Intrinsics());
  // AVX-VNNI: the same step on 8 lanes.
  auto avxVnni = planMatmulKernel(
      problem(fmt(2, 3), fmt(2, 3), 96, 96, 96, 48, 48), CpuTarget::AvxVnni);
  ASSERT_TRUE(avxVnni);
  EXPECT_EQ(avxVnni->step, StepKind::U8S8Vnni);
  EXPECT_EQ(avxVnni->lanes, 8);
  // vpdpbusd has no i16 intermediate sums, so e2m4 x e2m3 (A offset into
  // [0, 248], 8 * 124 * 60 > 32767) takes it, while AVX2 cannot.
  auto e2m4 = problem(fmt(2, 4), fmt(2, 3), 8, 48, 16, 48, 48);
  EXPECT_EQ(planMatmulKernel(e2m4, CpuTarget::Avx512Vnni)->step,
            StepKind::U8S8Vnni);
  EXPECT_EQ(planMatmulKernel(e2m4, CpuTarget::Avx2)->step, StepKind::I16Pairs);
  // Forms beyond a byte take vpdpwssd: BM8 (252), the backward e3m2 (448)
  // on either side.
  for (auto [fa, fb] :
       {std::pair{fmt(2, 5), fmt(2, 5)}, std::pair{fmt(3, 2), fmt(2, 3)},
        std::pair{fmt(2, 3), fmt(3, 2)}}) {
    for (CpuTarget target : {CpuTarget::AvxVnni, CpuTarget::Avx512Vnni}) {
      auto plan = planMatmulKernel(problem(fa, fb, 8, 48, 16, 48, 48), target);
      ASSERT_TRUE(plan);
      EXPECT_EQ(plan->step, StepKind::I16Vnni)
          << fa.name() << " x " << fb.name();
      EXPECT_EQ(plan->kPerStep, 2);
      EXPECT_EQ(plan->packedBits, 16u);
      EXPECT_FALSE(plan->offsetsA());
    }
  }
}

TEST(CpuTarget, Names) {
  for (CpuTarget t : {CpuTarget::Generic, CpuTarget::Avx2, CpuTarget::AvxVnni,
                      CpuTarget::Avx512Vnni})
    EXPECT_EQ(parseCpuTarget(getCpuTargetName(t)), t);
  EXPECT_EQ(parseCpuTarget("avx512-vnni"), CpuTarget::Avx512Vnni);
  EXPECT_EQ(parseCpuTarget("avx-vnni"), CpuTarget::AvxVnni);
  EXPECT_FALSE(parseCpuTarget("host"));
  EXPECT_FALSE(parseCpuTarget("avx512"));
  EXPECT_FALSE(parseCpuTarget(""));
  EXPECT_TRUE(resolveCpuTarget("host"));
  EXPECT_EQ(resolveCpuTarget("avx2"), CpuTarget::Avx2);
  EXPECT_EQ(getVectorBits(CpuTarget::Avx512Vnni), 512);
  EXPECT_EQ(getVectorBits(CpuTarget::AvxVnni), 256);
  EXPECT_EQ(getLLVMFeatures(CpuTarget::Generic), "");
}

TEST(CpuTarget, SelectedFromFeatures) {
  auto select = [](bool x86, std::set<std::string> features) {
    return selectCpuTarget(x86, [&](std::string_view f) {
      return features.count(std::string(f)) != 0;
    });
  };
  std::set<std::string> zen3 = {"avx", "avx2", "fma"};
  std::set<std::string> zen4 = {"avx2",      "fma",      "avx512f",
                                "avx512bw",  "avx512vl", "avx512vnni",
                                "avx512bf16"};
  std::set<std::string> alderLake = {"avx2", "fma", "avxvnni"};
  std::set<std::string> skylakeX = {"avx2", "fma", "avx512f", "avx512bw",
                                    "avx512vl"};
  EXPECT_EQ(select(true, zen3), CpuTarget::Avx2);
  EXPECT_EQ(select(true, zen4), CpuTarget::Avx512Vnni);
  EXPECT_EQ(select(true, alderLake), CpuTarget::AvxVnni);
  // AVX-512 without VNNI: the AVX2 kernels.
  EXPECT_EQ(select(true, skylakeX), CpuTarget::Avx2);
  // VNNI without BW or VL is not enough for the 512-bit target.
  EXPECT_EQ(select(true, {"avx2", "fma", "avx512f", "avx512vnni"}),
            CpuTarget::Avx2);
  EXPECT_EQ(select(true, {"avx", "sse4.2"}), CpuTarget::Generic);
  EXPECT_EQ(select(true, {"avx2"}), CpuTarget::Generic); // no FMA
  EXPECT_EQ(select(false, zen4), CpuTarget::Generic);    // not x86-64
}

} // namespace

TEST(KernelPlan, NarrowOutputsTakeNarrowTiles) {
  // Two vectors per tile row while N exceeds one vector; one vector, as
  // narrow as N allows, otherwise (a convolution with 8 output channels
  // would spend three quarters of a 32-column tile on padding).
  struct Case {
    CpuTarget target;
    int64_t N, lanes, chunks, paddedN;
  };
  for (Case c :
       {Case{CpuTarget::Avx512Vnni, 96, 16, 2, 96},
        Case{CpuTarget::Avx512Vnni, 17, 16, 2, 32},
        Case{CpuTarget::Avx512Vnni, 16, 16, 1, 16},
        Case{CpuTarget::Avx512Vnni, 9, 16, 1, 16},
        Case{CpuTarget::Avx512Vnni, 8, 8, 1, 8},
        Case{CpuTarget::Avx512Vnni, 3, 8, 1, 8},
        Case{CpuTarget::Avx2, 20, 8, 2, 32}, Case{CpuTarget::Avx2, 8, 8, 1, 8},
        Case{CpuTarget::Generic, 5, 8, 1, 8}}) {
    auto plan = planMatmulKernel(
        problem(fmt(2, 3), fmt(2, 3), 24, 96, c.N, 48, 48), c.target);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->lanes, c.lanes) << "N = " << c.N;
    EXPECT_EQ(plan->chunks, c.chunks) << "N = " << c.N;
    EXPECT_EQ(plan->paddedN, c.paddedN) << "N = " << c.N;
  }
}
