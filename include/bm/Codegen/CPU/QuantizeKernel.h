//===- QuantizeKernel.h - Vectorized CPU loops for bm.quantize --*- C++ -*-===//
//
// The CPU form of bm.quantize: one pass over each band of block rows that
// computes the block maxima, the biases and the codes with vector
// arithmetic, bit for bit the numerics of the generic form (numerics.md
// sections 2-3). convert-bm-to-linalg emits it for the CPU
// (vector-quantize-bits); bm-vectorize-quantize rewrites a quantize lowered
// in the generic form into it.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_CPU_QUANTIZEKERNEL_H
#define BM_CODEGEN_CPU_QUANTIZEKERNEL_H

#include "bm/Numerics/Format.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <utility>

namespace mlir::bm::cpu {

/// One quantize, as the kernel takes it.
struct QuantizeKernelSpec {
  /// The f32 tensor to quantize (static shape), and the i64 seed of
  /// stochastic rounding (null otherwise).
  Value input, seed;
  ::bm::numerics::Format format;
  ::bm::numerics::Rounding rounding = ::bm::numerics::Rounding::Nearest;
  ::bm::numerics::ScaleRule scale = ::bm::numerics::ScaleRule::Floor;
  /// The block shape, one size per dimension of `input`.
  SmallVector<int64_t> block;
  /// The result types: codes (the input's shape) and biases (the block
  /// grid's shape, i8).
  RankedTensorType codesType, biasesType;
};

/// Whether the kernel takes a quantize of `inputType` in blocks of `block`:
/// a statically shaped f32 tensor of rank >= 1, one positive block size per
/// dimension.
bool isQuantizeKernelSupported(RankedTensorType inputType,
                               ArrayRef<int64_t> block);

/// Emits the kernel at the builder's insertion point for `vectorBits`-wide
/// vectors (256 or 512) and returns (codes, biases). Requires
/// isQuantizeKernelSupported.
std::pair<Value, Value> emitQuantizeKernel(OpBuilder &b, Location loc,
                                           const QuantizeKernelSpec &spec,
                                           unsigned vectorBits);

} // namespace mlir::bm::cpu

#endif // BM_CODEGEN_CPU_QUANTIZEKERNEL_H
