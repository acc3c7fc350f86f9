//===- KernelPlan.h - What the CPU matmul kernel will be --------*- C++ -*-===//
//
// The CPU kernel of bm.matmul is decided before any IR is written: which
// step sums the products, how many k a step takes, the register tile, the
// packed layouts and the run tables. This is plain C++ (no MLIR), so the
// choice can be unit-tested and read on its own; the emitters
// (lib/Codegen/CPU) only follow the plan.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_CPU_KERNELPLAN_H
#define BM_CODEGEN_CPU_KERNELPLAN_H

#include "bm/Codegen/CPU/CpuTarget.h"
#include "bm/Numerics/Format.h"
#include "bm/Numerics/Kulisch.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::bm::cpu {

/// How one step of the kernel's run loop sums products into the i32 run
/// sums.
enum class StepKind {
  /// Two k per step from i16 pairs: even lanes times even lanes plus odd
  /// times odd, sign-extended (the pattern x86 selects as vpmaddwd).
  I16Pairs,
  /// Eight k per step from bytes: A offset to unsigned, two pmaddubsw
  /// summed in i16, widened by pmaddwd with ones (x86 AVX2 intrinsics).
  U8S8Avx2,
  /// Four k per step from bytes: A offset to unsigned, one vpdpbusd (x86
  /// AVX-512 VNNI / AVX-VNNI) adds the four u8 x s8 products into each i32
  /// lane.
  U8S8Vnni,
  /// Two k per step from i16 pairs: one vpdpwssd (x86 AVX-512 VNNI /
  /// AVX-VNNI) adds the two products into each i32 lane.
  I16Vnni,
};

/// What the plan needs to know about a bm.matmul.
struct MatmulProblem {
  ::bm::numerics::Format fa, fb;
  int64_t M = 0, N = 0, K = 0;
  /// The runs along K (numerics.md section 5) and the longest one.
  std::vector<::bm::numerics::ReductionRun> runs;
  int64_t maxRun = 0;
  /// The op's Kulisch width (bits of an exact run sum).
  int kulischWidth = 0;
};

/// Largest decode table: formats with more code bits are decoded with
/// bm.decode instead (2^10 = 1024 entries).
constexpr int kMaxDecodeTableBits = 10;

/// The kernel of one bm.matmul on one target.
struct KernelPlan {
  CpuTarget target = CpuTarget::Generic;
  StepKind step = StepKind::I16Pairs;

  /// i32 (and f32) lanes of one vector register, and vectors per tile row.
  int64_t lanes = 8;
  int64_t chunks = 2;
  /// Output tile: tileM rows by tileN() columns.
  int64_t tileM = 6;
  int64_t tileN() const { return lanes * chunks; }
  /// Whether the float32 output tile stays in vector registers across the
  /// run loop (it is read and written once per run otherwise): where the
  /// target has registers for it beside the run sums.
  bool tileInRegisters = false;
  /// M and N rounded up to the tile (the packed operands and the padded
  /// output have these sizes).
  int64_t paddedM = 0, paddedN = 0;

  /// k per step (U), consecutive k per 32-bit word of packed A and per
  /// column group of packed B (W), bits of one k in a packed word.
  int64_t kPerStep = 2;
  int64_t kPerWord = 2;
  int64_t wordsPerStep() const { return kPerStep / kPerWord; }
  unsigned packedBits = 16;
  /// Added to A's forms so that they are unsigned (u8 steps), else 0.
  int64_t offsetA = 0;

  /// Whether every run starts and ends on a multiple of kPerStep: packing
  /// is then pure data movement (step p is k = p*U .. p*U + U-1).
  /// Otherwise each run gets `slotSteps` zero-padded steps of its own.
  bool aligned = true;
  int64_t slotSteps = 0;
  /// Steps in the packed layouts; packed words = totalSteps * wordsPerStep.
  int64_t totalSteps = 0;
  int64_t words() const { return totalSteps * wordsPerStep(); }

  /// Per run: first k, length, first step in the packed layout, steps.
  std::vector<int64_t> runStarts, runLengths, runStepStarts, runStepCounts;
  int64_t numRuns() const { return static_cast<int64_t>(runStarts.size()); }

  /// Whether operand A (B) is decoded through a constant table of its
  /// format's forms (else bm.decode).
  bool tableA = false, tableB = false;

  bool usesX86Intrinsics() const { return step != StepKind::I16Pairs; }
  /// Whether the step reads A as unsigned bytes offset by offsetA (each
  /// run's sums then start from -offsetA times B's column sums).
  bool offsetsA() const {
    return step == StepKind::U8S8Avx2 || step == StepKind::U8S8Vnni;
  }
};

/// Largest |integer form| of any code of `f` (formats with at most
/// kMaxDecodeTableBits code bits).
int64_t largestForm(::bm::numerics::Format f);

/// The kernel for `problem` on `target`, or nullopt when the op is outside
/// the kernel's domain (integer forms wider than i16, Kulisch width above
/// 32 bits), in which case the caller emits the generic lowering.
std::optional<KernelPlan> planMatmulKernel(const MatmulProblem &problem,
                                           CpuTarget target);

} // namespace mlir::bm::cpu

#endif // BM_CODEGEN_CPU_KERNELPLAN_H
