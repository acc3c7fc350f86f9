//===- MatmulOperands.h - Operand builders of bm.matmul ---------*- C++ -*-===//
//
// What the generic CPU lowering (convert-bm-to-linalg) and the GPU lowering
// (convert-bm-to-gpu) of bm.matmul build alike (numerics.md section 5): the
// operands decoded once into run-major integer forms, the unit exponent of
// every (row, run) of A and (run, column) of B, and the accumulation of a
// converted run term. One definition, so that the two lowerings add the
// same terms in the same way.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CONVERSION_UTILS_MATMULOPERANDS_H
#define BM_CONVERSION_UTILS_MATMULOPERANDS_H

#include "bm/Dialect/BM/Utils/MatmulGeometry.h"
#include "bm/Numerics/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <array>
#include <cstdint>
#include <limits>

namespace mlir::bm::lowering {

/// Marker of a non-finite block in the per-run scale tensors.
constexpr int32_t kNonFiniteScale = std::numeric_limits<int32_t>::min();

Value constI32(OpBuilder &b, Location loc, int32_t v);
Value constIndex(OpBuilder &b, Location loc, int64_t v);

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elementType);
/// linalg.index 0 .. count-1 inside a linalg.generic body.
SmallVector<Value> loopIndices(OpBuilder &b, Location loc, unsigned count);
/// A new tensor filled elementwise by `body(indices)` (one linalg.generic).
Value buildTensor(
    OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> body);

/// Unit exponent (s + c) of a block bias (i8), or kNonFiniteScale.
Value unitExponentOrMarker(OpBuilder &b, Location loc, Value beta,
                           ::bm::numerics::Format format);

/// True (i1) iff either scale is the non-finite marker.
Value eitherNonFinite(OpBuilder &b, Location loc, Value scaleA, Value scaleB);

/// acc + (nonFinite ? NaN : term), with any NaN made the canonical one
/// (numerics.md section 5). Scalars or vectors (of f32 / i1).
Value accumulateTerm(OpBuilder &b, Location loc, Value acc, Value term,
                     Value nonFinite);

/// The constant i64 tables of the runs' starts and lengths ([R] each).
std::pair<Value, Value> runTables(OpBuilder &b, Location loc,
                                  const MatmulGeometry &g);
/// Entry `index` of such a table, as an index.
Value runTableEntry(OpBuilder &b, Location loc, Value table, Value index);

/// The integer forms (type `formType`) of operand A (`isA`) or B of `g`,
/// decoded from `codes` and laid out run-major in a tensor
/// [batch?, d0, d1, d2] with d[layout[0]] = the operand's outer size (M or
/// N), d[layout[1]] = R runs and d[layout[2]] = `length` positions in a
/// run: element (outer, r, j) is the form of k = start[r] + j, zero for
/// j >= the run's length.
Value buildRunForms(OpBuilder &b, Location loc, const MatmulGeometry &g,
                    bool isA, Value codes, IntegerType formType,
                    std::array<unsigned, 3> layout, int64_t length,
                    Value startTable, Value lengthTable);

/// The unit exponent (or kNonFiniteScale) of each (outer, run) of operand
/// A (`isA`) or B of `g`, from its block biases: i32 [batch?, outer, R]
/// when `outerFirst`, else [batch?, R, outer].
Value buildRunScales(OpBuilder &b, Location loc, const MatmulGeometry &g,
                     bool isA, Value biases, bool outerFirst, Value startTable);

} // namespace mlir::bm::lowering

#endif // BM_CONVERSION_UTILS_MATMULOPERANDS_H
