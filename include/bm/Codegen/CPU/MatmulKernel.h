//===- MatmulKernel.h - The register-tiled CPU kernel of bm.matmul -*- C++
//-*-===//
//
// The CPU fast path of bm.matmul: same bits as the generic lowering
// (numerics.md section 5), with operands packed once, exact integer run sums
// in vector registers per output tile, and one conversion per run. The
// kernel is planned first (KernelPlan.h), then emitted on tensors (an
// scf.forall over tiles, or scf.for for little work; vector ops inside).
// docs/lowering.md describes it.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_CPU_MATMULKERNEL_H
#define BM_CODEGEN_CPU_MATMULKERNEL_H

#include "bm/Codegen/CPU/KernelPlan.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

#include "mlir/IR/Builders.h"
#include "mlir/Support/LLVM.h"

#include <optional>

namespace mlir::bm::cpu {

/// The knobs of the kernel.
struct MatmulKernelOptions {
  /// The instructions the kernel may use. A target with x86 intrinsics needs
  /// the op to be inside a module (for the intrinsics' declarations);
  /// otherwise the kernel falls back to the generic target's steps.
  CpuTarget target = CpuTarget::Generic;
  /// Multiply-adds (padded, batches included) from which the kernel's loops
  /// are scf.forall (tasks in the parallel CPU pipeline); below, scf.for
  /// (ParallelLoops.h). 0: always scf.forall.
  int64_t minParallelMacs = ::mlir::bm::kMinParallelMacs;
};

/// The runtime parts of a bm.matmul's operands (after the 1:N conversion of
/// !bm.tensor) and its float32 init.
struct MatmulKernelOperands {
  Value codesA, biasesA, codesB, biasesB, init;
};

/// What the plan needs from `op` (shapes, formats, runs, Kulisch width).
MatmulProblem getMatmulProblem(MatmulOp op);

/// Builds the kernel of `op` at `b`'s insertion point and returns its
/// float32 result (the init when the output is empty), or failure when the
/// op is outside the kernel's domain (planMatmulKernel), in which case
/// nothing is built and the caller emits the generic lowering.
FailureOr<Value> buildMatmulKernel(OpBuilder &b, MatmulOp op,
                                   const MatmulKernelOperands &operands,
                                   const MatmulKernelOptions &options);

} // namespace mlir::bm::cpu

#endif // BM_CODEGEN_CPU_MATMULKERNEL_H
