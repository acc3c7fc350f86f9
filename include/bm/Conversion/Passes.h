//===- Passes.h - bm conversion passes and pipelines ------------*- C++ -*-===//

#ifndef BM_CONVERSION_PASSES_H
#define BM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include "bm/Dialect/BM/IR/BMDialect.h"

namespace mlir::bm {

#define GEN_PASS_DECL
#include "bm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Conversion/Passes.h.inc"

/// Options of the `bm-lower-to-cpu` pipeline.
struct LowerToCPUOptions : public PassPipelineOptions<LowerToCPUOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Export _mlir_ciface_ wrappers of public functions"),
      llvm::cl::init(false)};
};

/// bm ops on tensors -> LLVM dialect, for the CPU: convert-bm-to-linalg,
/// convert-bm-to-arith, bufferization, loops, and the LLVM conversions.
void buildLowerToCPUPipeline(OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// Registers `bm-lower-to-cpu`.
void registerBMPipelines();

/// Registers every bm conversion pass and pipeline.
inline void registerBMConversionPassesAndPipelines() {
  registerBMConversionPasses();
  registerBMPipelines();
}

} // namespace mlir::bm

#endif // BM_CONVERSION_PASSES_H
