//===- Pipelines.cpp - bm lowering pipelines ------------------------------===//

#include "bm/Conversion/Passes.h"

#include "bm/Codegen/CPU/CpuTarget.h"
#include "bm/Codegen/CPU/Passes.h"
#include "bm/Codegen/GPU/Passes.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Async/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::bm;

/// Stage 1 (on tensors): the signatures and C wrappers of the module as it
/// comes in, the float32 linalg ops, then the bm ops to linalg and arith
/// with their vectorized quantize and run-sum loops.
static void addCPUBMLoweringStage(OpPassManager &pm,
                                  const LowerToCPUOptions &options) {
  // The signatures describe the module as it comes in, and say whether
  // bm-results-to-out-params below will take the results as out-params.
  if (!options.signatures.empty()) {
    BMExportSignaturesOptions exportOptions;
    exportOptions.output = options.signatures;
    exportOptions.outParams = options.outParams;
    pm.addPass(createBMExportSignatures(exportOptions));
  }
  // The CPU target: `cpu`, or the former x86-avx2 when only it is given;
  // `host` is resolved here, so that the dumped pipeline names the target.
  // An unknown name goes on to convert-bm-to-linalg, which reports it.
  std::string cpuName = options.cpu;
  if (options.x86Avx2.hasValue() && !options.cpu.hasValue())
    cpuName = options.x86Avx2 ? "avx2" : "generic";
  std::optional<cpu::CpuTarget> target = cpu::resolveCpuTarget(cpuName);
  if (target)
    cpuName = std::string(cpu::getCpuTargetName(*target));

  if (options.emitCInterface)
    pm.addPass(createBMEmitCInterface());
  // Each distinct kernel form once, as a function of its own; the rewrite
  // of a convolution below then happens once per form too.
  if (options.outlineKernels)
    pm.addPass(createBMOutlineKernels());
  // Convolutions with the runs of an im2col matmul, as that matmul: the
  // vector kernel computes it. Before bm-vectorize-linalg, which then tiles,
  // vectorizes and distributes its im2col copy of the codes and the layout
  // transposes of init and result like any other data movement.
  if (options.vectorKernels)
    pm.addNestedPass<func::FuncOp>(createBMConvToMatmul());
  // The float32 linalg ops (and the copies above), before the bm lowering
  // adds its own (whose exact integer sums must not be reassociated).
  if (options.vectorizeLinalg) {
    BMVectorizeLinalgOptions vectorize;
    vectorize.minParallelElements = options.minParallelElements;
    pm.addNestedPass<func::FuncOp>(createBMVectorizeLinalg(vectorize));
  }
  ConvertBMToLinalgOptions linalg;
  linalg.vectorKernels = options.vectorKernels;
  linalg.cpu = cpuName;
  linalg.x86Avx2 = options.x86Avx2 && options.cpu.hasValue();
  // bm.quantize straight to the vectorized CPU kernel, in the vector width
  // of the target.
  linalg.vectorQuantizeBits = target ? cpu::getVectorBits(*target) : 256;
  linalg.minParallelMacs = options.minParallelMacs;
  pm.addPass(createConvertBMToLinalg(linalg));
  // The kernel's packing ops run on all cores too.
  if (options.parallel)
    pm.addNestedPass<func::FuncOp>(createBMTileParallel());
  pm.addPass(createConvertBMToArith());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createBMVectorizeRunSums());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Stage 2 (tensors to buffers): one-shot bufferization, the caller's
/// buffers as out-params, deallocation, and the copies it leaves as loops of
/// row memcpys.
static void addCPUBufferizationStage(OpPassManager &pm,
                                     const LowerToCPUOptions &options) {
  // Out-params need one buffer per result (nothing may run in between).
  if (options.outParams != OutParamsMode::Off)
    pm.addNestedPass<func::FuncOp>(createBMDistinctResults());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // The constant globals in an order that depends on the program only.
  pm.addPass(createBMOrderGlobals());
  // The caller's buffers replace the allocations of the results.
  if (options.outParams != OutParamsMode::Off) {
    pm.addNestedPass<func::FuncOp>(createBMReshapeResultAllocs());
    BMResultsToOutParamsOptions outParams;
    outParams.mode = options.outParams;
    pm.addPass(createBMResultsToOutParams(outParams));
  }
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // Strided copies (in and out of padded kernel results) as row memcpys.
  pm.addNestedPass<func::FuncOp>(createBMExpandStridedCopies());
}

/// Stage 3 (buffers to loops): parallel loops as tasks on the runtime's
/// thread pool, or in order; linalg and vector ops as scf loops, then cf.
static void addCPULoopsStage(OpPassManager &pm,
                             const LowerToCPUOptions &options) {
  if (options.parallel) {
    // Tiles of a parallel loop run as async tasks, one worker per core.
    // Ordering constraint: the loops are made one-dimensional first;
    // async-parallel-for can run some iterations of a multi-dimensional
    // loop twice, concurrently (Passes.td; checked by
    // test/Integration/CPU/parallel-loops.mlir).
    pm.addPass(createForallToParallelLoopPass());
    pm.addNestedPass<func::FuncOp>(createBMCollapseParallelLoops());
    AsyncParallelForPassOptions async;
    async.asyncDispatch = true;
    async.numWorkerThreads = -1;
    async.minTaskSize = 1;
    pm.addPass(createAsyncParallelForPass(async));
    pm.addPass(createAsyncToAsyncRuntimePass());
    pm.addPass(createAsyncRuntimeRefCountingPass());
    pm.addPass(createAsyncRuntimeRefCountingOptPass());
  } else {
    pm.addPass(createForallToForLoopPass());
  }
  // Function by function (the functions in parallel, on MLIR's threads):
  // none of these adds a symbol to the module.
  OpPassManager &funcPM = pm.nest<func::FuncOp>();
  funcPM.addPass(createConvertLinalgToLoopsPass());
  VectorTransferToSCFOptions vectorToSCF;
  vectorToSCF.enableFullUnroll(true);
  funcPM.addPass(createConvertVectorToSCFPass(vectorToSCF));
  funcPM.addPass(vector::createLowerVectorMultiReductionPass());
  funcPM.addPass(createSCFToControlFlowPass());
  funcPM.addPass(memref::createExpandStridedMetadataPass());
  funcPM.addPass(createLowerAffinePass());
}

/// Stage 4 (to the LLVM dialect).
static void addCPULLVMStage(OpPassManager &pm,
                            const LowerToCPUOptions &options) {
  if (options.parallel)
    pm.addPass(createConvertAsyncToLLVMPass());
  pm.addPass(createConvertVectorToLLVMPass());
  // Math functions without an LLVM intrinsic (math.erf, e.g. of GELU)
  // become libm calls; only those are left after convert-to-llvm, which
  // lowers the rest to intrinsics.
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::bm::buildLowerToCPUPipeline(OpPassManager &pm,
                                       const LowerToCPUOptions &options) {
  addCPUBMLoweringStage(pm, options);
  addCPUBufferizationStage(pm, options);
  addCPULoopsStage(pm, options);
  addCPULLVMStage(pm, options);
}

namespace {
/// The passes of bm-lower-to-gpu, for either pipeline's options.
template <typename Derived>
void addGPULoweringPasses(OpPassManager &pm,
                          const GPULoweringOptionsBase<Derived> &options) {
  if (!options.signatures.empty()) {
    BMExportSignaturesOptions exportOptions;
    exportOptions.output = options.signatures;
    exportOptions.outParams = options.outParams;
    pm.addPass(createBMExportSignatures(exportOptions));
  }
  if (options.emitCInterface)
    pm.addPass(createBMEmitCInterface());
  // Convolutions with the runs of an im2col matmul, as that matmul: the
  // tensor-core kernel computes it.
  pm.addNestedPass<func::FuncOp>(createBMConvToMatmul());
  ConvertBMToGPUOptions toGPU;
  toGPU.mma = options.mma;
  toGPU.hostShared = options.hostShared;
  pm.addPass(createConvertBMToGPU(toGPU));
  ConvertBMToLinalgOptions toLinalg;
  toLinalg.vectorKernels = false;
  pm.addPass(createConvertBMToLinalg(toLinalg));
  pm.addPass(createConvertBMToArith());
  // Ordering constraint: the fused matmul generic of convert-bm-to-gpu
  // (marked bm.gpu_mma) must reach bm-map-to-gpu with its four run-buffer
  // inputs, which the tensor-core kernel reads. So only cse runs on tensors
  // here; a pass that dropped inputs would make bm-map-to-gpu report "does
  // not have the fused matmul operands"
  // (test/Conversion/BMToGPU/map-to-gpu-invalid.mlir; the order is checked
  // by test/Conversion/pipeline-order.mlir).
  pm.addPass(createCSEPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  // Out-params need one buffer per result (nothing may run in between).
  if (options.outParams != OutParamsMode::Off)
    pm.addNestedPass<func::FuncOp>(createBMDistinctResults());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createBMOrderGlobals());
  // The caller's (device) buffers replace the allocations of the results.
  if (options.outParams != OutParamsMode::Off) {
    pm.addNestedPass<func::FuncOp>(createBMReshapeResultAllocs());
    BMResultsToOutParamsOptions outParams;
    outParams.mode = options.outParams;
    pm.addPass(createBMResultsToOutParams(outParams));
  }
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  BMMapToGPUOptions map;
  map.blockSize = options.blockSize;
  map.hostShared = options.hostShared;
  map.mma = options.mma;
  map.mmaKernel = options.mmaKernel;
  pm.addPass(createBMMapToGPU(map));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
}
} // namespace

void mlir::bm::buildLowerToGPUPipeline(OpPassManager &pm,
                                       const LowerToGPUOptions &options) {
  addGPULoweringPasses(pm, options);
}

void mlir::bm::buildLowerToNVVMPipeline(OpPassManager &pm,
                                        const LowerToNVVMOptions &options) {
  addGPULoweringPasses(pm, options);
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  switch (options.format) {
  case GPUBinaryFormat::isa:
    nvvm.cubinFormat = "isa";
    break;
  case GPUBinaryFormat::bin:
    nvvm.cubinFormat = "bin";
    break;
  case GPUBinaryFormat::fatbin:
    nvvm.cubinFormat = "fatbin";
    break;
  }
  nvvm.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mlir::bm::registerBMPipelines() {
  PassPipelineRegistration<LowerToGPUOptions>(
      "bm-lower-to-gpu",
      "Lower bm ops on tensors to host functions on device buffers whose "
      "loops are gpu.launch kernels (convert-bm-to-gpu, convert-bm-to-linalg, "
      "convert-bm-to-arith, bufferization, bm-map-to-gpu)",
      buildLowerToGPUPipeline);
  PassPipelineRegistration<LowerToNVVMOptions>(
      "bm-lower-to-nvvm",
      "Lower bm ops on tensors to LLVM host code plus a gpu.binary for "
      "NVIDIA GPUs (bm-lower-to-gpu, then gpu-lower-to-nvvm-pipeline)",
      buildLowerToNVVMPipeline);
  PassPipelineRegistration<LowerToCPUOptions>(
      "bm-lower-to-cpu",
      "Lower bm ops on tensors to the LLVM dialect for the CPU "
      "(convert-bm-to-linalg, convert-bm-to-arith, bufferization, loops, "
      "LLVM)",
      buildLowerToCPUPipeline);
}
