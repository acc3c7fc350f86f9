// Parses, verifies and prints a bm.matmul with the installed dialect, runs
// the installed bm-report pass, and asks the installed numerics library for
// an accumulator width.
#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Transforms/Passes.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

static const char *kProgram = R"mlir(
func.func @f(%a: !bm.tensor<64x96xe2m3, block = [48, 48]>,
             %b: !bm.tensor<96x32xe2m3, block = [48, 48]>,
             %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %0 = bm.matmul %a, %b, %c : !bm.tensor<64x96xe2m3, block = [48, 48]>,
         !bm.tensor<96x32xe2m3, block = [48, 48]>, tensor<64x32xf32> -> tensor<64x32xf32>
  return %0 : tensor<64x32xf32>
}
)mlir";

int main() {
  mlir::MLIRContext context;
  context.loadDialect<mlir::bm::BMDialect, mlir::func::FuncDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(kProgram, &context);
  if (!module)
    return 1;
  module->print(llvm::outs());
  llvm::outs() << "\n";
  module->walk([](mlir::bm::MatmulOp op) {
    llvm::outs() << "kulisch width: " << op.getKulischWidth() << "\n";
  });
  llvm::outs() << "numerics width: "
               << bm::numerics::kulischWidth({2, 3}, {2, 3}, 48) << "\n";
  llvm::outs().flush(); // The report goes to stderr; keep the order.
  mlir::PassManager pm(&context);
  pm.addPass(mlir::bm::createBMReport());
  return mlir::failed(pm.run(*module)) ? 1 : 0;
}
