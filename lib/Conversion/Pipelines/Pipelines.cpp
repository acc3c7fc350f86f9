//===- Pipelines.cpp - bm lowering pipelines ------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::bm;

void mlir::bm::buildLowerToCPUPipeline(OpPassManager &pm,
                                       const LowerToCPUOptions &options) {
  // The upstream part is spelled as a textual pipeline: it only names
  // registered passes, and reads like the equivalent bm-opt command line.
  // The signatures describe the module as it comes in, and say whether
  // bm-results-to-out-params below will take the results as out-params.
  if (!options.signatures.empty()) {
    BMExportSignaturesOptions exportOptions;
    exportOptions.output = options.signatures;
    exportOptions.outParams = options.outParams;
    pm.addPass(createBMExportSignatures(exportOptions));
  }
  std::string pipeline = options.emitCInterface ? "bm-emit-c-interface," : "";
  StringRef outParams = options.outParams == OutParamsMode::Auto ? "auto"
                        : options.outParams == OutParamsMode::On ? "true"
                                                                 : "false";
  // The float32 linalg ops, before the bm lowering adds its own.
  if (options.vectorizeLinalg)
    pipeline += "func.func(bm-vectorize-linalg),";
  pipeline += std::string("convert-bm-to-linalg{vector-kernels=") +
              (options.vectorKernels ? "true" : "false") +
              " x86-avx2=" + (options.x86Avx2 ? "true" : "false") + "},";
  // The kernel's packing ops run on all cores too.
  if (options.parallel)
    pipeline += "func.func(bm-tile-parallel),";
  pipeline += "convert-bm-to-arith,"
              "func.func(bm-vectorize-quantize),canonicalize,cse,"
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
  pipeline += "buffer-deallocation-pipeline,convert-bufferization-to-memref,";
  // Tiles of a parallel loop run as async tasks on the runtime's thread
  // pool (one worker per core), or in order.
  pipeline += options.parallel
                  ? "scf-forall-to-parallel,async-parallel-for{"
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

void mlir::bm::buildLowerToGPUPipeline(OpPassManager &pm,
                                       const LowerToGPUOptions &options) {
  std::string shared = options.hostShared ? "true" : "false";
  std::string mma = options.mma ? "true" : "false";
  std::string pipeline = options.emitCInterface ? "bm-emit-c-interface," : "";
  // No canonicalize between convert-bm-to-gpu and bm-map-to-gpu: it would
  // drop the (unused) run-buffer inputs of the fused matmul generic that
  // the tensor-core kernel reads. cse is enough; the NVVM pipeline and
  // LLVM clean up the rest.
  pipeline += "convert-bm-to-gpu{mma=" + mma + " host-shared=" + shared +
              "},convert-bm-to-linalg{vector-kernels=false},convert-bm-to-arith,cse,"
              "eliminate-empty-tensors,"
              "one-shot-bufferize{bufferize-function-boundaries "
              "function-boundary-type-conversion=identity-layout-map},"
              "buffer-deallocation-pipeline,convert-bufferization-to-memref,"
              "bm-map-to-gpu{block-size=" +
              std::to_string(options.blockSize) + " host-shared=" + shared +
              " mma=" + mma +
              "},canonicalize,cse,gpu-launch-sink-index-computations";
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("bm-lower-to-gpu: bad built-in pipeline");
}

void mlir::bm::buildLowerToNVVMPipeline(OpPassManager &pm,
                                        const LowerToNVVMOptions &options) {
  LowerToGPUOptions gpu;
  gpu.hostShared = options.hostShared;
  gpu.mma = options.mma;
  gpu.blockSize = options.blockSize;
  gpu.emitCInterface = options.emitCInterface;
  buildLowerToGPUPipeline(pm, gpu);
  std::string format = options.format;
  std::string pipeline =
      "gpu-lower-to-nvvm-pipeline{cubin-chip=" + options.chip +
      " cubin-features=" + options.features + " cubin-format=" + format +
      " opt-level=" + std::to_string(options.optLevel) + "}";
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("bm-lower-to-nvvm: bad built-in pipeline");
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
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(LowerToNVVMOptions());
      });
  PassPipelineRegistration<LowerToCPUOptions>(
      "bm-lower-to-cpu",
      "Lower bm ops on tensors to the LLVM dialect for the CPU "
      "(convert-bm-to-linalg, convert-bm-to-arith, bufferization, loops, "
      "LLVM)",
      buildLowerToCPUPipeline);
}
