//===- CpuTarget.h - The CPUs the CPU kernels are generated for -*- C++ -*-===//

#ifndef BM_CODEGEN_CPU_CPUTARGET_H
#define BM_CODEGEN_CPU_CPUTARGET_H

namespace mlir::bm::cpu {

/// The CPU a kernel is generated for: which instructions the emitted code
/// may use.
enum class CpuTarget {
  /// Any CPU: portable vector IR only (LLVM selects x86's vpmaddwd for the
  /// i16 step where it can).
  Generic,
  /// x86-64 with AVX2: also the u8 x s8 step through the AVX2 intrinsics
  /// pmaddubsw / pmaddwd.
  Avx2,
};

} // namespace mlir::bm::cpu

#endif // BM_CODEGEN_CPU_CPUTARGET_H
