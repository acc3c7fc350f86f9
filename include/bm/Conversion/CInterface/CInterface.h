//===- CInterface.h - The C interface of compiled bm functions --*- C++ -*-===//
//
// What the passes of lib/Conversion/CInterface share: how results cross the
// C interface of a lowered function (returned, or written into
// caller-allocated out-params), and when out-params are possible.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CONVERSION_CINTERFACE_CINTERFACE_H
#define BM_CONVERSION_CINTERFACE_CINTERFACE_H

#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>

namespace mlir::bm {

/// The `out-params` option of `bm-lower-to-cpu`: results returned (`false`),
/// always written into out-params (`true`), or into out-params when every
/// function allows it (`auto`, see findResultWithoutStaticShape).
enum class OutParamsMode { Off, On, Auto };

/// The first result, in program order, of a function with a body in
/// `module` that is not a statically shaped ranked tensor or memref, said
/// as "@f returns i64" or "@f returns tensor<?xf32>, which has a dynamic
/// size"; std::nullopt when there is none. Under `out-params=auto` the
/// results become out-params exactly when there is none: a caller can then
/// allocate every result from the signature alone. Bufferization keeps the
/// answer (static tensors become static memrefs, scalars stay scalars), so
/// bm-export-signatures (before it) and bm-results-to-out-params (after
/// it) decide alike.
std::optional<std::string> findResultWithoutStaticShape(ModuleOp module);

/// Whether a module lowered with `mode` takes its results as out-params.
inline bool usesOutParams(ModuleOp module, OutParamsMode mode) {
  return mode == OutParamsMode::On ||
         (mode == OutParamsMode::Auto && !findResultWithoutStaticShape(module));
}

} // namespace mlir::bm

#endif // BM_CONVERSION_CINTERFACE_CINTERFACE_H
