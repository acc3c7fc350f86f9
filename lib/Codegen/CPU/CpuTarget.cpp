//===- CpuTarget.cpp - The CPUs the CPU kernels are generated for ---------===//

#include "bm/Codegen/CPU/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

namespace mlir::bm::cpu {

namespace {

struct TargetInfo {
  CpuTarget target;
  std::string_view name;
  /// The LLVM features the target's code needs.
  std::string_view features;
  int vectorBits;
};

constexpr TargetInfo kTargets[] = {
    {CpuTarget::Generic, "generic", "", 256},
    {CpuTarget::Avx2, "avx2", "+avx2,+fma", 256},
    {CpuTarget::AvxVnni, "avx-vnni", "+avx2,+fma,+avxvnni", 256},
    {CpuTarget::Avx512Vnni, "avx512-vnni",
     "+avx2,+fma,+avx512f,+avx512bw,+avx512vl,+avx512vnni", 512},
};

const TargetInfo &info(CpuTarget target) {
  for (const TargetInfo &t : kTargets)
    if (t.target == target)
      return t;
  return kTargets[0];
}

} // namespace

std::string_view getCpuTargetName(CpuTarget target) {
  return info(target).name;
}

std::optional<CpuTarget> parseCpuTarget(std::string_view name) {
  for (const TargetInfo &t : kTargets)
    if (t.name == name)
      return t.target;
  return std::nullopt;
}

CpuTarget
selectCpuTarget(bool isX86_64,
                const std::function<bool(std::string_view)> &hasFeature) {
  if (!isX86_64 || !hasFeature("avx2") || !hasFeature("fma"))
    return CpuTarget::Generic;
  if (hasFeature("avx512f") && hasFeature("avx512bw") &&
      hasFeature("avx512vl") && hasFeature("avx512vnni"))
    return CpuTarget::Avx512Vnni;
  if (hasFeature("avxvnni"))
    return CpuTarget::AvxVnni;
  return CpuTarget::Avx2;
}

CpuTarget getHostCpuTarget() {
  llvm::Triple triple(llvm::sys::getProcessTriple());
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return selectCpuTarget(triple.getArch() == llvm::Triple::x86_64,
                         [&](std::string_view name) {
                           auto it = features.find(name);
                           return it != features.end() && it->second;
                         });
}

std::optional<CpuTarget> resolveCpuTarget(std::string_view name) {
  if (name == "host")
    return getHostCpuTarget();
  return parseCpuTarget(name);
}

int getVectorBits(CpuTarget target) { return info(target).vectorBits; }

std::string getLLVMFeatures(CpuTarget target) {
  return std::string(info(target).features);
}

} // namespace mlir::bm::cpu
