//===- CpuTarget.h - The CPUs the CPU kernels are generated for -*- C++ -*-===//
//
// The CPU lowering generates code for one CPU target, which decides the
// instructions its kernels may use (docs/lowering.md, "CPU targets"). The
// pipeline's default is the host's target, detected from the CPU's
// features; any other target can be named.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_CPU_CPUTARGET_H
#define BM_CODEGEN_CPU_CPUTARGET_H

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mlir::bm::cpu {

/// The CPU a kernel is generated for: which instructions the emitted code
/// may use. Each x86 target includes the ones before it.
enum class CpuTarget {
  /// Any CPU: portable vector IR only (LLVM selects x86's vpmaddwd for the
  /// i16 step where it can).
  Generic,
  /// x86-64 with AVX2 and FMA: also the u8 x s8 step through the AVX2
  /// intrinsics pmaddubsw / pmaddwd.
  Avx2,
  /// x86-64 with AVX2 and AVX-VNNI (256-bit vpdpbusd / vpdpwssd).
  AvxVnni,
  /// x86-64 with AVX-512 F, BW, VL and VNNI: 512-bit vectors and the
  /// 512-bit vpdpbusd / vpdpwssd.
  Avx512Vnni,
};

/// The spelling of the `cpu` option: "generic", "avx2", "avx-vnni",
/// "avx512-vnni".
std::string_view getCpuTargetName(CpuTarget target);

/// The target of a name above; nullopt for any other text (including
/// "host", see resolveCpuTarget).
std::optional<CpuTarget> parseCpuTarget(std::string_view name);

/// The names the `cpu` option accepts, for diagnostics.
constexpr std::string_view kCpuTargetChoices =
    "host, avx512-vnni, avx-vnni, avx2 or generic";

/// The best target for an x86-64 CPU (`isX86_64`) with the LLVM features
/// `hasFeature` reports ("avx2", "fma", "avx512f", "avx512bw", "avx512vl",
/// "avx512vnni", "avxvnni"); Generic on other CPUs.
CpuTarget
selectCpuTarget(bool isX86_64,
                const std::function<bool(std::string_view)> &hasFeature);

/// The target of the CPU this process runs on (LLVM's host CPU features).
CpuTarget getHostCpuTarget();

/// "host" -> getHostCpuTarget(), else parseCpuTarget(name).
std::optional<CpuTarget> resolveCpuTarget(std::string_view name);

/// Bits of the widest vector register the target's kernels use.
int getVectorBits(CpuTarget target);

/// The LLVM target features the code of `target` needs (for llc -mattr), ""
/// for Generic.
std::string getLLVMFeatures(CpuTarget target);

} // namespace mlir::bm::cpu

#endif // BM_CODEGEN_CPU_CPUTARGET_H
