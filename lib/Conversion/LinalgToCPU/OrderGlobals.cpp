//===- OrderGlobals.cpp - Deterministic order of constant globals ---------===//
//
// Implements bm-order-globals (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMORDERGLOBALS
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {

/// The name one-shot-bufferize started from: `name` without a uniquing
/// suffix `_<digits>`.
StringRef baseName(StringRef name) {
  size_t underscore = name.rfind('_');
  StringRef suffix = name.substr(underscore + 1);
  if (underscore == StringRef::npos || suffix.empty() ||
      !llvm::all_of(suffix, llvm::isDigit) ||
      name.take_front(underscore) == "__constant")
    return name;
  return name.take_front(underscore);
}

struct BMOrderGlobalsPass
    : public mlir::bm::impl::BMOrderGlobalsBase<BMOrderGlobalsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::MapVector<StringAttr, memref::GlobalOp> globals;
    for (auto global : module.getOps<memref::GlobalOp>())
      if (global.isPrivate() && global.getConstant() &&
          global.getSymName().starts_with("__constant_"))
        globals.insert({global.getSymNameAttr(), global});
    if (globals.size() < 2)
      return;

    // The globals by first use, then the unused ones; the readers of each.
    llvm::MapVector<memref::GlobalOp, SmallVector<memref::GetGlobalOp>> uses;
    module.walk([&](memref::GetGlobalOp get) {
      auto it = globals.find(get.getNameAttr().getAttr());
      if (it != globals.end())
        uses[it->second].push_back(get);
    });
    for (auto &entry : globals)
      uses.insert({entry.second, {}});

    // New names in that order, unique among all the module's symbols.
    SymbolTable symbols(module);
    llvm::StringMap<unsigned> nextSuffix;
    llvm::StringSet<> taken;
    for (auto &entry : uses)
      symbols.remove(entry.first);
    Block *body = module.getBody();
    Operation *insertPoint = &body->front();
    for (auto &[global, readers] : uses) {
      StringRef base = baseName(global.getSymName());
      std::string name = base.str();
      while (symbols.lookup(name) || !taken.insert(name).second)
        name = (base + "_" + Twine(nextSuffix[base]++)).str();
      auto nameAttr = StringAttr::get(module.getContext(), name);
      global.setSymNameAttr(nameAttr);
      for (memref::GetGlobalOp get : readers)
        get.setNameAttr(FlatSymbolRefAttr::get(nameAttr));
      if (global.getOperation() == insertPoint)
        insertPoint = insertPoint->getNextNode();
      else
        global->moveBefore(insertPoint);
    }
  }
};

} // namespace
