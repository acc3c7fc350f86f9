//===- bm-fuzz.cpp - libFuzzer target for bm-opt's parser and passes ------===//
//
// Each input is MLIR text. It is parsed and verified in a context with every
// dialect bm-opt registers; if that succeeds, each of these pipelines runs on
// a fresh clone of the module with the verifier on after every pass:
//
//   canonicalize
//   bm-report{output=/dev/null}
//   convert-bm-to-linalg
//   convert-bm-to-arith
//   convert-bm-to-linalg,convert-bm-to-arith
//   bm-quantize-training{rounding=nearest}
//   bm-quantize-training{rounding=nearest},bm-lower-to-cpu
//   bm-lower-to-cpu
//
// Diagnostics are swallowed: a pass may fail, but it must not crash, assert
// or trip ASan/UBSan. Seeds: the .mlir files under test/ (fuzz/seeds.sh).
// Build and run: scripts/fuzz.sh (docs/reliability.md).
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/Passes.h"
#include "bm/Codegen/GPU/Passes.h"
#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {

const char *const kPipelines[] = {
    "canonicalize",
    "bm-report{output=/dev/null}",
    "convert-bm-to-linalg",
    "convert-bm-to-arith",
    "convert-bm-to-linalg,convert-bm-to-arith",
    "bm-quantize-training{rounding=nearest}",
    "bm-quantize-training{rounding=nearest},bm-lower-to-cpu",
    "bm-lower-to-cpu",
};

MLIRContext *context;
bool verbose;

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registerAllPasses();
  bm::registerBMPasses();
  bm::registerBMCodegenCPUPasses();
  bm::registerBMCodegenGPUPasses();
  bm::registerBMConversionPassesAndPipelines();
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<bm::BMDialect>();
  context = new MLIRContext(registry);
  context->loadAllAvailableDialects();
  context->disableMultithreading();
  verbose = std::getenv("BM_FUZZ_VERBOSE") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024)
    return -1; // keep inputs small: the passes are what is fuzzed
  std::string text(reinterpret_cast<const char *>(data), size);
  ScopedDiagnosticHandler quiet(context, [](Diagnostic &diag) {
    if (verbose)
      llvm::errs() << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(context));
  if (!module || failed(verify(*module)))
    return 0;
  for (const char *pipeline : kPipelines) {
    OwningOpRef<ModuleOp> clone = module->clone();
    PassManager pm(context, ModuleOp::getOperationName());
    pm.enableVerifier(true);
    if (failed(parsePassPipeline(pipeline, pm))) {
      llvm::errs() << "bm-fuzz: bad pipeline " << pipeline << "\n";
      std::abort();
    }
    LogicalResult result = pm.run(*clone);
    if (verbose)
      llvm::errs() << "bm-fuzz: " << pipeline << ": "
                   << (succeeded(result) ? "ok" : "failed") << "\n";
  }
  return 0;
}
