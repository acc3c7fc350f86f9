//===- Passes.h - bm conversion passes and pipelines ------------*- C++ -*-===//

#ifndef BM_CONVERSION_PASSES_H
#define BM_CONVERSION_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include "bm/Codegen/GPU/MmaMatmul.h"
#include "bm/Conversion/CInterface/CInterface.h"
#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

namespace mlir::bm {

#define GEN_PASS_DECL
#include "bm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Conversion/Passes.h.inc"

/// The values of the pipelines' `out-params` option.
inline auto outParamsModeValues() {
  return llvm::cl::values(
      clEnumValN(OutParamsMode::Off, "false", "results are returned"),
      clEnumValN(OutParamsMode::On, "true", "results are out-params"),
      clEnumValN(OutParamsMode::Auto, "auto",
                 "out-params when every result is statically shaped"));
}

/// Options of the `bm-lower-to-cpu` pipeline.
struct LowerToCPUOptions : public PassPipelineOptions<LowerToCPUOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Export _mlir_ciface_ wrappers of public functions"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> vectorKernels{
      *this, "vector-kernels",
      llvm::cl::desc("Use the register-tiled vector kernel for bm.matmul "
                     "where it applies (convert-bm-to-linalg)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("The CPU to generate code for: host (the CPU running "
                     "bm-opt, the default), avx512-vnni, avx-vnni, avx2 "
                     "(x86 kernels; the code then needs such a CPU) or "
                     "generic (portable vector IR)"),
      llvm::cl::init("host")};
  PassOptions::Option<bool> x86Avx2{
      *this, "x86-avx2",
      llvm::cl::desc("Former spelling of the target: true is cpu=avx2, "
                     "false (given without cpu) is cpu=generic"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> outlineKernels{
      *this, "outline-kernels",
      llvm::cl::desc("Lower each distinct form of bm.quantize, bm.matmul "
                     "and bm.conv2d once, as a private function that every "
                     "op of that form calls (bm-outline-kernels)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorizeLinalg{
      *this, "vectorize-linalg",
      llvm::cl::desc("Fuse, tile and vectorize the linalg ops that are not "
                     "bm ops (bm-vectorize-linalg), instead of lowering them "
                     "to scalar loops"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> minParallelMacs{
      *this, "min-parallel-macs",
      llvm::cl::desc("With parallel=true: multiply-adds (padded M x N x K) "
                     "from which a bm.matmul kernel runs on all cores; "
                     "smaller kernels run in order (convert-bm-to-linalg)"),
      llvm::cl::init(kMinParallelMacs)};
  PassOptions::Option<int64_t> minParallelElements{
      *this, "min-parallel-elements",
      llvm::cl::desc("With parallel=true: iterations from which a float32 "
                     "linalg op runs on all cores; smaller ones run in "
                     "order (bm-vectorize-linalg)"),
      llvm::cl::init(kMinParallelLinalgIterations)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run the tiles of the bm.matmul kernel on all cores "
                     "(scf.forall -> async-parallel-for); the program then "
                     "needs an async runtime (bm's libbm_async_runtime or "
                     "MLIR's libmlir_async_runtime)"),
      llvm::cl::init(false)};
  PassOptions::Option<OutParamsMode> outParams{
      *this, "out-params",
      llvm::cl::desc("Return memref results through out-params "
                     "(bm-results-to-out-params): every function then takes "
                     "one more memref argument per result, after its "
                     "arguments, and computes straight into it (the caller "
                     "allocates it, so a call of a function whose result "
                     "has a dynamic size is an error); auto: only when "
                     "every result of every function is statically shaped"),
      llvm::cl::init(OutParamsMode::Off), outParamsModeValues()};
  PassOptions::Option<std::string> signatures{
      *this, "signatures",
      llvm::cl::desc("Write the C-interface signatures of the public "
                     "functions, and whether their results are out-params, "
                     "as JSON to this file (bm-export-signatures)"),
      llvm::cl::init("")};
};

/// bm ops on tensors -> LLVM dialect, for the CPU: convert-bm-to-linalg,
/// convert-bm-to-arith, bufferization, loops, and the LLVM conversions.
void buildLowerToCPUPipeline(OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// The options `bm-lower-to-gpu` and `bm-lower-to-nvvm` share, declared
/// once: each pipeline's options derive from this (CRTP, as
/// PassPipelineOptions requires).
template <typename Derived>
struct GPULoweringOptionsBase : public PassPipelineOptions<Derived> {
  ::mlir::detail::PassOptions::Option<bool> hostShared{
      *this, "host-shared",
      llvm::cl::desc("Allocate host-shared (CUDA managed) memory, so that "
                     "host code may read and write every buffer"),
      llvm::cl::init(false)};
  ::mlir::detail::PassOptions::Option<bool> mma{
      *this, "mma",
      llvm::cl::desc("Compute int8 contractions with tensor cores "
                     "(nvvm.mma.sync m16n8k32)"),
      llvm::cl::init(true)};
  ::mlir::detail::PassOptions::Option<gpu_lowering::MmaKernel> mmaKernel{
      *this, "mma-kernel", llvm::cl::desc("Which tensor-core kernel"),
      llvm::cl::init(gpu_lowering::MmaKernel::Tiled),
      llvm::cl::values(
          clEnumValN(gpu_lowering::MmaKernel::Tiled, "tiled",
                     "128x128 block tiles staged in shared memory "
                     "(cp.async, ldmatrix)"),
          clEnumValN(gpu_lowering::MmaKernel::Direct, "direct",
                     "64x32 block tiles, fragments loaded from global "
                     "memory"))};
  ::mlir::detail::PassOptions::Option<unsigned> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of the elementwise kernels"),
      llvm::cl::init(256)};
  ::mlir::detail::PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Export _mlir_ciface_ wrappers of public functions"),
      llvm::cl::init(false)};
  ::mlir::detail::PassOptions::Option<OutParamsMode> outParams{
      *this, "out-params",
      llvm::cl::desc("Return memref results through out-params "
                     "(bm-results-to-out-params), in memory the caller "
                     "allocates on the device; auto: only when every result "
                     "of every function is statically shaped"),
      llvm::cl::init(OutParamsMode::Off), outParamsModeValues()};
  ::mlir::detail::PassOptions::Option<std::string> signatures{
      *this, "signatures",
      llvm::cl::desc("Write the C-interface signatures of the public "
                     "functions, and whether their results are out-params, "
                     "as JSON to this file (bm-export-signatures)"),
      llvm::cl::init("")};
};

/// Options of the `bm-lower-to-gpu` pipeline.
struct LowerToGPUOptions : public GPULoweringOptionsBase<LowerToGPUOptions> {};

/// The binary format of `bm-lower-to-nvvm`'s GPU modules.
enum class GPUBinaryFormat { isa, bin, fatbin };

/// Options of `bm-lower-to-nvvm`: those of `bm-lower-to-gpu`, plus the
/// target of the GPU binary.
struct LowerToNVVMOptions : public GPULoweringOptionsBase<LowerToNVVMOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture (e.g. sm_90)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (e.g. +ptx80)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<GPUBinaryFormat> format{
      *this, "format", llvm::cl::desc("GPU binary format"),
      llvm::cl::init(GPUBinaryFormat::isa),
      llvm::cl::values(
          clEnumValN(GPUBinaryFormat::isa, "isa", "PTX assembly"),
          clEnumValN(GPUBinaryFormat::bin, "bin", "cubin, through ptxas"),
          clEnumValN(GPUBinaryFormat::fatbin, "fatbin", "fat binary"))};
  PassOptions::Option<int> optLevel{
      *this, "opt-level",
      llvm::cl::desc("Optimization level of the NVVM compilation"),
      llvm::cl::init(3)};
};

/// bm ops on tensors -> host functions on device buffers whose loops are
/// gpu.launch kernels (convert-bm-to-gpu, convert-bm-to-linalg,
/// convert-bm-to-arith, bufferization, bm-map-to-gpu).
void buildLowerToGPUPipeline(OpPassManager &pm,
                             const LowerToGPUOptions &options);

/// bm ops on tensors -> LLVM dialect host code plus a gpu.binary:
/// bm-lower-to-gpu, then the upstream gpu-lower-to-nvvm-pipeline.
void buildLowerToNVVMPipeline(OpPassManager &pm,
                              const LowerToNVVMOptions &options);

/// Registers `bm-lower-to-cpu`, `bm-lower-to-gpu` and `bm-lower-to-nvvm`.
void registerBMPipelines();

/// Registers every bm conversion pass and pipeline.
inline void registerBMConversionPassesAndPipelines() {
  registerBMConversionPasses();
  registerBMPipelines();
}

} // namespace mlir::bm

#endif // BM_CONVERSION_PASSES_H
