//===- bm-opt.cpp - The bm optimizer driver -------------------------------===//
//
// An mlir-opt with the `bm` dialect and passes registered, together with the
// upstream dialects, passes and extensions that BM programs are written in
// and lowered through (func, arith, linalg, tensor, vector, scf, memref,
// bufferization, gpu, nvvm, llvm, ...).
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/CPU/Passes.h"
#include "bm/Codegen/GPU/Passes.h"
#include "bm/Conversion/Passes.h"
#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#ifdef BM_INCLUDE_TESTS
namespace mlir::bm::test {
void registerTestGPUPasses();
} // namespace mlir::bm::test
#endif

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::bm::registerBMPasses();
  mlir::bm::registerBMCodegenCPUPasses();
  mlir::bm::registerBMCodegenGPUPasses();
  mlir::bm::registerBMConversionPassesAndPipelines();
#ifdef BM_INCLUDE_TESTS
  mlir::bm::test::registerTestGPUPasses();
#endif

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::bm::BMDialect>();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bm optimizer driver: Block Minifloat dialect and passes\n",
      registry));
}
