//===- ExportSignatures.cpp - C-interface signatures as JSON --------------===//
//
// Implements bm-export-signatures (see Passes.td): the one place that says
// how a compiled function is called (python/bm/compiler.py reads it).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMEXPORTSIGNATURES
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {

std::string printed(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

/// Element types a C descriptor of this project's callers can hold.
bool isCallableElement(Type type) {
  if (auto integer = dyn_cast<IntegerType>(type))
    return integer.isSignless() &&
           llvm::is_contained(ArrayRef<unsigned>{1, 8, 16, 32, 64},
                              integer.getWidth());
  return isa<IndexType, Float16Type, Float32Type, Float64Type>(type);
}

void writeType(llvm::json::OStream &json, Type type) {
  json.object([&] {
    json.attribute("type", printed(type));
    auto memref = dyn_cast<MemRefType>(type);
    bool plainMemRef =
        memref && memref.getLayout().isIdentity() && !memref.getMemorySpace();
    if (isa<RankedTensorType>(type) || plainMemRef) {
      auto shaped = cast<ShapedType>(type);
      if (!isCallableElement(shaped.getElementType())) {
        json.attribute("kind", "other");
        return;
      }
      json.attribute("kind", memref ? "memref" : "tensor");
      json.attribute("element", printed(shaped.getElementType()));
      json.attributeArray("shape", [&] {
        for (int64_t size : shaped.getShape())
          json.value(ShapedType::isDynamic(size) ? int64_t(-1) : size);
      });
      return;
    }
    if (isCallableElement(type) && !isa<Float16Type>(type)) {
      json.attribute("kind", "scalar");
      json.attribute("element", printed(type));
      return;
    }
    json.attribute("kind", "other");
  });
}

struct BMExportSignaturesPass
    : public mlir::bm::impl::BMExportSignaturesBase<BMExportSignaturesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (output.empty()) {
      module.emitError("bm-export-signatures: give the file to write the "
                       "signatures to, e.g. output=signatures.json");
      return signalPassFailure();
    }
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(output, &error);
    if (!file) {
      module.emitError("bm-export-signatures: cannot write '")
          << output << "': " << error;
      return signalPassFailure();
    }
    std::optional<std::string> blocker =
        mlir::bm::findResultWithoutStaticShape(module);
    bool outParamsUsed =
        outParams == mlir::bm::OutParamsMode::On ||
        (outParams == mlir::bm::OutParamsMode::Auto && !blocker);
    {
      llvm::json::OStream json(file->os(), /*IndentSize=*/1);
      json.object([&] {
        json.attribute("format", "bm.signatures/1");
        json.attribute("out_params", outParamsUsed);
        if (blocker)
          json.attribute("out_params_blocker", *blocker);
        json.attributeArray("functions", [&] {
          for (auto func : module.getOps<func::FuncOp>()) {
            if (!func.isPublic() || func.isExternal())
              continue;
            json.object([&] {
              json.attribute("name", func.getName());
              json.attribute("c_name",
                             ("_mlir_ciface_" + func.getName()).str());
              json.attributeArray("arguments", [&] {
                for (Type type : func.getArgumentTypes())
                  writeType(json, type);
              });
              json.attributeArray("results", [&] {
                for (Type type : func.getResultTypes())
                  writeType(json, type);
              });
            });
          }
        });
      });
    }
    file->os() << "\n";
    file->keep();
    markAllAnalysesPreserved();
  }
};

} // namespace
