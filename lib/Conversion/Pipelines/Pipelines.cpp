//===- Pipelines.cpp - bm lowering pipelines ------------------------------===//

#include "bm/Conversion/Passes.h"

#include "bm/Codegen/CPU/CpuTarget.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::bm;

void mlir::bm::buildLowerToCPUPipeline(OpPassManager &pm,
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
  // The float32 linalg ops, before the bm lowering adds its own (whose
  // exact integer sums must not be reassociated).
  if (options.vectorizeLinalg)
    pm.addNestedPass<func::FuncOp>(createBMVectorizeLinalg());
  ConvertBMToLinalgOptions linalg;
  linalg.vectorKernels = options.vectorKernels;
  linalg.cpu = cpuName;
  linalg.x86Avx2 = options.x86Avx2 && options.cpu.hasValue();
  pm.addPass(createConvertBMToLinalg(linalg));
  // The kernel's packing ops run on all cores too.
  if (options.parallel)
    pm.addNestedPass<func::FuncOp>(createBMTileParallel());
  pm.addPass(createConvertBMToArith());
  // Ordering constraint: bm-vectorize-quantize finds each quantize by the
  // bm.quant_codes mark of convert-bm-to-linalg and matches its three
  // generics as that pass built them. It runs before any canonicalize,
  // which hoists their constants and leaves the quantize scalar (a remark;
  // BMDialect.td, test/Conversion/pipeline-order.mlir).
  BMVectorizeQuantizeOptions quantize;
  quantize.vectorBits = target ? cpu::getVectorBits(*target) : 256;
  pm.addNestedPass<func::FuncOp>(createBMVectorizeQuantize(quantize));

  // The upstream part is spelled as a textual pipeline: it only names
  // registered passes, and reads like the equivalent bm-opt command line.
  StringRef outParams = options.outParams == OutParamsMode::Auto ? "auto"
                        : options.outParams == OutParamsMode::On ? "true"
                                                                 : "false";
  std::string pipeline = "canonicalize,cse,"
                         "func.func(bm-vectorize-run-sums),canonicalize,cse,";
  // Out-params need one buffer per result (nothing may run in between).
  if (options.outParams != OutParamsMode::Off)
    pipeline += "func.func(bm-distinct-results),";
  pipeline += "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},";
  // The caller's buffers replace the allocations of the results.
  if (options.outParams != OutParamsMode::Off)
    pipeline += "func.func(bm-reshape-result-allocs),bm-results-to-out-params{"
                "mode=" + outParams.str() + "},";
  // Strided copies (in and out of padded kernel results) as row memcpys.
  pipeline += "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
              "func.func(bm-expand-strided-copies),";
  // Tiles of a parallel loop run as async tasks on the runtime's thread
  // pool (one worker per core), or in order. The loops are made
  // one-dimensional first: async-parallel-for can run some iterations of a
  // multi-dimensional loop twice, concurrently (see Passes.td).
  pipeline += options.parallel
                  ? "scf-forall-to-parallel,"
                    "func.func(bm-collapse-parallel-loops),"
                    "async-parallel-for{"
                    "async-dispatch=true num-workers=-1 min-task-size=1},"
                    "async-to-async-runtime,async-runtime-ref-counting,"
                    "async-runtime-ref-counting-opt,"
                  : "scf-forall-to-for,";
  pipeline += "convert-linalg-to-loops,"
              "convert-vector-to-scf{full-unroll=true},"
              "func.func(lower-vector-multi-reduction),convert-scf-to-cf,"
              "expand-strided-metadata,lower-affine,";
  if (options.parallel)
    pipeline += "convert-async-to-llvm,";
  // Math functions without an LLVM intrinsic (math.erf, e.g. of GELU)
  // become libm calls; only those are left after convert-to-llvm, which
  // lowers the rest to intrinsics.
  pipeline += "convert-vector-to-llvm,convert-to-llvm,"
              "convert-math-to-libm,convert-to-llvm,"
              "reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("bm-lower-to-cpu: bad built-in pipeline");
}

namespace {
/// The passes of bm-lower-to-gpu, for either pipeline's options.
template <typename Derived>
void addGPULoweringPasses(OpPassManager &pm,
                          const GPULoweringOptionsBase<Derived> &options) {
  if (options.emitCInterface)
    pm.addPass(createBMEmitCInterface());
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
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  BMMapToGPUOptions map;
  map.blockSize = options.blockSize;
  map.hostShared = options.hostShared;
  map.mma = options.mma;
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
  nvvm.cubinFormat = options.format;
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
  // Registered by hand to reject a bad format before any work is done.
  registerPassPipeline(
      "bm-lower-to-nvvm",
      "Lower bm ops on tensors to LLVM host code plus a gpu.binary for "
      "NVIDIA GPUs (bm-lower-to-gpu, then gpu-lower-to-nvvm-pipeline)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        LowerToNVVMOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        StringRef format = options.format;
        if (format != "isa" && format != "bin" && format != "fatbin")
          return errorHandler("bm-lower-to-nvvm: format must be isa (PTX), "
                              "bin (cubin) or fatbin, not '" +
                              format + "'");
        buildLowerToNVVMPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(LowerToNVVMOptions());
      });
  PassPipelineRegistration<LowerToCPUOptions>(
      "bm-lower-to-cpu",
      "Lower bm ops on tensors to the LLVM dialect for the CPU "
      "(convert-bm-to-linalg, convert-bm-to-arith, bufferization, loops, "
      "LLVM)",
      buildLowerToCPUPipeline);
}
