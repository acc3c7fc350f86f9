//===- BMDialect.cpp - Block Minifloat dialect ----------------------------===//

#include "bm/Dialect/BM/IR/BMDialect.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/IR/BMTypes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

using namespace mlir;
using namespace mlir::bm;

#include "bm/Dialect/BM/IR/BMOpsDialect.cpp.inc"

void BMDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "bm/Dialect/BM/IR/BMOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

namespace {
/// Where a discardable attribute sits: on an operation, or on a function
/// argument or result.
enum class AttrSite { Operation, Argument, Result };
} // namespace

static StringRef siteName(AttrSite site) {
  switch (site) {
  case AttrSite::Operation:
    return "an operation";
  case AttrSite::Argument:
    return "a function argument";
  case AttrSite::Result:
    return "a function result";
  }
  llvm_unreachable("site");
}

static bool isOperandRole(Role role) {
  return role == Role::activation || role == Role::weight ||
         role == Role::error;
}

/// Checks one `bm.*` discardable attribute (BMDialect.td lists them).
static LogicalResult verifyDiscardable(Operation *op, NamedAttribute attr,
                                       AttrSite site, unsigned position = 0) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto error = [&]() {
    InFlightDiagnostic diag = op->emitError() << "'" << name << "' ";
    if (site == AttrSite::Argument)
      diag << "of argument #" << position << " ";
    else if (site == AttrSite::Result)
      diag << "of result #" << position << " ";
    return diag;
  };
  // bm.role and bm.name describe arguments and results; the others mark
  // operations.
  bool valueAttr = name == BMDialect::RoleAttrHelper::getNameStr() ||
                   name == BMDialect::NameAttrHelper::getNameStr();
  bool known = valueAttr ||
               name == BMDialect::GradSeedAttrHelper::getNameStr() ||
               name == BMDialect::DataMovementAttrHelper::getNameStr() ||
               name == BMDialect::RolesAttrHelper::getNameStr() ||
               name == BMDialect::IndexAttrHelper::getNameStr() ||
               name == BMDialect::QuantCodesAttrHelper::getNameStr() ||
               name == BMDialect::RunSumsAttrHelper::getNameStr() ||
               name == BMDialect::TileParallelAttrHelper::getNameStr() ||
               name == BMDialect::GpuFusedMatmulAttrHelper::getNameStr() ||
               name == BMDialect::GpuMmaAttrHelper::getNameStr();
  if (!known)
    return error()
           << "is not an attribute of the bm dialect; it declares bm.role, "
              "bm.name (on function arguments and results), bm.grad_seed, "
              "bm.data_movement, bm.roles, bm.index, bm.quant_codes, "
              "bm.run_sums, bm.tile_parallel, bm.gpu_fused_matmul and "
              "bm.gpu_mma (on operations)";
  if (valueAttr != (site != AttrSite::Operation))
    return error() << "belongs on "
                   << (valueAttr ? "a function argument or result"
                                 : "an operation")
                   << ", not on " << siteName(site);

  if (name == BMDialect::RoleAttrHelper::getNameStr()) {
    if (!isa<RoleAttr>(value))
      return error() << "must be a #bm.role<...> value (activation, weight, "
                        "error, seed, state, label, loss or grad), e.g. "
                        "{bm.role = #bm.role<weight>}; got "
                     << value;
    return success();
  }
  if (name == BMDialect::NameAttrHelper::getNameStr()) {
    if (!isa<StringAttr>(value))
      return error() << "must be a string (the tensor's name); got " << value;
    return success();
  }
  if (name == BMDialect::RolesAttrHelper::getNameStr()) {
    auto roles = dyn_cast<ArrayAttr>(value);
    if (!roles || roles.size() != 2 || !llvm::all_of(roles, [](Attribute role) {
          auto typed = dyn_cast<RoleAttr>(role);
          return typed && isOperandRole(typed.getValue());
        }))
      return error() << "must be the roles of the two operands, e.g. "
                        "[#bm.role<error>, #bm.role<weight>], each "
                        "activation, weight or error; got "
                     << value;
    return success();
  }
  if (name == BMDialect::IndexAttrHelper::getNameStr()) {
    auto index = dyn_cast<IntegerAttr>(value);
    if (!index || !index.getType().isSignlessInteger(64) || index.getInt() < 0)
      return error() << "must be a non-negative i64: the contraction's "
                        "number in its function; got "
                     << value;
    return success();
  }
  if (name == BMDialect::QuantCodesAttrHelper::getNameStr()) {
    if (!isa<QuantCodesAttr>(value))
      return error() << "must be a #bm.quant_codes<...> value (the format, "
                        "block, rounding and scale of the quantize whose "
                        "codes the op computes); got "
                     << value;
    return success();
  }
  if (name == BMDialect::TileParallelAttrHelper::getNameStr()) {
    auto loops = dyn_cast<IntegerAttr>(value);
    if (!loops || !loops.getType().isSignlessInteger(64) || loops.getInt() < 1)
      return error() << "must be a positive integer: the number of loops to "
                        "tile into scf.forall, e.g. 1 : i64; got "
                     << value;
    return success();
  }
  // The markers.
  if (!isa<UnitAttr>(value))
    return error() << "is a unit attribute (a mark with no value); write {"
                   << name << "}, not " << value;
  return success();
}

LogicalResult BMDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  return verifyDiscardable(op, attr, AttrSite::Operation);
}

LogicalResult BMDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  return verifyDiscardable(op, attr, AttrSite::Argument, argIndex);
}

LogicalResult BMDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                     unsigned resultIndex,
                                                     NamedAttribute attr) {
  return verifyDiscardable(op, attr, AttrSite::Result, resultIndex);
}
