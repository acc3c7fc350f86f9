//===- CInterface.cpp - The C interface of compiled bm functions ----------===//

#include "bm/Conversion/CInterface/CInterface.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::optional<std::string>
mlir::bm::findResultWithoutStaticShape(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    for (Type type : func.getResultTypes()) {
      auto shaped = dyn_cast<ShapedType>(type);
      bool rankedBuffer = isa<RankedTensorType, MemRefType>(type);
      if (rankedBuffer && shaped.hasStaticShape())
        continue;
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "@" << func.getName() << " returns " << type;
      if (rankedBuffer)
        os << ", which has a dynamic size";
      return text;
    }
  }
  return std::nullopt;
}
