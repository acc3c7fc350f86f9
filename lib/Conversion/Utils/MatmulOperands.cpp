//===- MatmulOperands.cpp - Operand builders of bm.matmul lowerings -------===//

#include "bm/Conversion/Utils/MatmulOperands.h"

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/IR/BMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/bit.h"

using namespace mlir;
using namespace mlir::bm;
using ::bm::numerics::Format;

namespace mlir::bm::lowering {

Value constI32(OpBuilder &b, Location loc, int32_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
}

Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, shape, elementType);
}

SmallVector<Value> loopIndices(OpBuilder &b, Location loc, unsigned count) {
  SmallVector<Value> indices;
  for (unsigned i = 0; i < count; ++i)
    indices.push_back(linalg::IndexOp::create(b, loc, i));
  return indices;
}

Value buildTensor(
    OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> body) {
  Value init = emptyTensor(b, loc, shape, elementType);
  unsigned loops = shape.size();
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{}, ValueRange{init},
             ArrayRef<AffineMap>{b.getMultiDimIdentityMap(loops)},
             SmallVector<utils::IteratorType>(loops,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange) {
               SmallVector<Value> idx = loopIndices(nb, nloc, loops);
               linalg::YieldOp::create(nb, nloc, body(nb, nloc, idx));
             })
      .getResult(0);
}

Value unitExponentOrMarker(OpBuilder &b, Location loc, Value beta,
                           Format format) {
  Value nonFinite = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq, beta,
      arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(-128)));
  return arith::SelectOp::create(b, loc, nonFinite,
                                 constI32(b, loc, kNonFiniteScale),
                                 emitUnitExponent(b, loc, beta, format));
}

Value eitherNonFinite(OpBuilder &b, Location loc, Value scaleA, Value scaleB) {
  Value marker = constI32(b, loc, kNonFiniteScale);
  return arith::OrIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, scaleA, marker),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, scaleB, marker));
}

Value accumulateTerm(OpBuilder &b, Location loc, Value acc, Value term,
                     Value nonFinite) {
  FloatAttr nanAttr =
      b.getF32FloatAttr(llvm::bit_cast<float>(kCanonicalNaNBits));
  TypedAttr nanValue = nanAttr;
  if (auto vectorType = dyn_cast<VectorType>(acc.getType()))
    nanValue = SplatElementsAttr::get(vectorType, nanAttr);
  Value nan = arith::ConstantOp::create(b, loc, nanValue);
  Value sum = arith::AddFOp::create(b, loc, acc, term);
  Value isNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, sum, sum);
  Value poisoned = arith::OrIOp::create(b, loc, nonFinite, isNaN);
  return arith::SelectOp::create(b, loc, poisoned, nan, sum);
}

std::pair<Value, Value> runTables(OpBuilder &b, Location loc,
                                  const MatmulGeometry &g) {
  auto table = [&](ArrayRef<int64_t> values) -> Value {
    auto type = RankedTensorType::get({static_cast<int64_t>(values.size())},
                                      b.getI64Type());
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(type, values));
  };
  return {table(g.runStarts()), table(g.runLengths())};
}

Value runTableEntry(OpBuilder &b, Location loc, Value table, Value index) {
  Value v = tensor::ExtractOp::create(b, loc, table, ValueRange{index});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

static Value divIndex(OpBuilder &b, Location loc, Value v, int64_t d) {
  return arith::DivUIOp::create(b, loc, v, constIndex(b, loc, d));
}

/// The operand's stored indices of (outer, k): A is [M, K] ([K, M] if
/// transposed), B is [K, N] ([N, K] if transposed); `batchIndex` in front
/// when batched.
static SmallVector<Value> storedIndices(const MatmulGeometry &g, bool isA,
                                        Value batchIndex, Value outer,
                                        Value k) {
  SmallVector<Value> at;
  if (g.batched)
    at.push_back(batchIndex);
  if (g.kFirst(isA))
    at.append({k, outer});
  else
    at.append({outer, k});
  return at;
}

Value buildRunForms(OpBuilder &b, Location loc, const MatmulGeometry &g,
                    bool isA, Value codes, IntegerType formType,
                    std::array<unsigned, 3> layout, int64_t length,
                    Value startTable, Value lengthTable) {
  MLIRContext *context = b.getContext();
  Format format = isA ? g.fa : g.fb;
  int64_t nb = g.nb, K = g.K;
  SmallVector<int64_t> dims(3);
  dims[layout[0]] = isA ? g.M : g.N;
  dims[layout[1]] = g.runs.size();
  dims[layout[2]] = length;
  return buildTensor(
      b, loc, g.withBatch(dims), formType,
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        Value outer = idx[nb + layout[0]];
        Value r = idx[nb + layout[1]];
        Value j = idx[nb + layout[2]];
        Value start = runTableEntry(b, loc, startTable, r);
        Value runLength = runTableEntry(b, loc, lengthTable, r);
        Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                            j, runLength);
        Value k = arith::AddIOp::create(b, loc, start, j);
        k = arith::MinUIOp::create(b, loc, k, constIndex(b, loc, K - 1));
        Value code = tensor::ExtractOp::create(
            b, loc, codes,
            storedIndices(g, isA, g.batched ? idx[0] : Value(), outer, k));
        Value q =
            DecodeOp::create(b, loc, formType, code,
                             FormatAttr::get(context, format.e, format.m));
        Value zero =
            arith::ConstantOp::create(b, loc, b.getIntegerAttr(formType, 0));
        return arith::SelectOp::create(b, loc, valid, q, zero);
      });
}

Value buildRunScales(OpBuilder &b, Location loc, const MatmulGeometry &g,
                     bool isA, Value biases, bool outerFirst,
                     Value startTable) {
  Format format = isA ? g.fa : g.fb;
  ArrayRef<int64_t> blk = isA ? g.blkA : g.blkB;
  int64_t nb = g.nb, R = g.runs.size();
  int64_t outerSize = isA ? g.M : g.N;
  SmallVector<int64_t> shape =
      outerFirst ? g.withBatch({outerSize, R}) : g.withBatch({R, outerSize});
  bool kFirst = g.kFirst(isA);
  return buildTensor(
      b, loc, shape, b.getI32Type(),
      [&](OpBuilder &b, Location loc, ArrayRef<Value> idx) -> Value {
        Value outer = outerFirst ? idx[nb] : idx[nb + 1];
        Value r = outerFirst ? idx[nb + 1] : idx[nb];
        Value k = runTableEntry(b, loc, startTable, r);
        // Block indices: the batch, then (k, outer) in stored order.
        Value bb = g.batched ? divIndex(b, loc, idx[0], blk[0]) : Value();
        Value kb = divIndex(b, loc, k, blk[kFirst ? nb : nb + 1]);
        Value ob = divIndex(b, loc, outer, blk[kFirst ? nb + 1 : nb]);
        Value beta = tensor::ExtractOp::create(
            b, loc, biases, storedIndices(g, isA, bb, ob, kb));
        return unitExponentOrMarker(b, loc, beta, format);
      });
}

} // namespace mlir::bm::lowering
