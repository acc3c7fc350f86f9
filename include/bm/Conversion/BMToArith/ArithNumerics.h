//===- ArithNumerics.h - BM numerics as integer arith IR --------*- C++ -*-===//
//
// Emitters that build the element-level numerics of docs/numerics.md out of
// `arith` and `math` integer operations on scalars: exact block exponents
// from float bits, element rounding in the three modes, Philox4x32-10, code
// decoding, and exactly rounded conversion of scaled integers to float32.
// No floating-point log2, pow or multiplication by powers of two is used, so
// the CPU and GPU lowerings compute the same bits as the C++ reference
// (include/bm/Numerics).
//
//===----------------------------------------------------------------------===//

#ifndef BM_CONVERSION_BMTOARITH_ARITHNUMERICS_H
#define BM_CONVERSION_BMTOARITH_ARITHNUMERICS_H

#include "bm/Numerics/Format.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <array>

namespace mlir::bm {

/// Bits of the NaN every non-finite result takes (numerics.md sections 4-5).
constexpr uint32_t kCanonicalNaNBits = 0x7fc00000u;

/// beta (i8) of a block whose largest |x| has float bit pattern `maxAbsBits`
/// (i32, sign cleared): -128 for NaN/Inf, 0 for zero, else
/// clamp(emax - s, -127, 127) with s = floor(log2 M), one more under
/// ScaleRule::Fit when M exceeds qmax * 2^(s+c) (numerics.md section 2).
Value emitBlockBeta(
    OpBuilder &b, Location loc, Value maxAbsBits, ::bm::numerics::Format format,
    ::bm::numerics::ScaleRule rule = ::bm::numerics::ScaleRule::Floor);

/// s + c (i32) of a block with bias `beta` (i8): the exponent of one unit of
/// the integer form (numerics.md sections 1-2).
Value emitUnitExponent(OpBuilder &b, Location loc, Value beta,
                       ::bm::numerics::Format format);

/// Code (integer of the format's storage width) of the float32 with bit
/// pattern `xBits` (i32) in a block with bias `beta` (i8), rounded as
/// `rounding` says (numerics.md section 3); `randomWord` (i32) is only used
/// for stochastic rounding. A non-finite block (beta = -128) gives 0.
/// Elementwise on vectors too: then all operands are vectors of one shape
/// and so is the result.
Value emitQuantizeElement(OpBuilder &b, Location loc, Value xBits, Value beta,
                          ::bm::numerics::Format format,
                          ::bm::numerics::Rounding rounding, Value randomWord);

/// Whether emitQuantizeNearestScaled serves `format`: 1 <= e <= 6 and
/// m <= 22.
bool hasScaledNearestPath(::bm::numerics::Format format);

/// The code emitQuantizeElement gives for nearest rounding, computed with
/// float32 arithmetic: |x| times `scale` = 2^-(s+c) (f32, of xBits' shape),
/// then a magic-number round to the grid. Only for a finite block with
/// -(s+c) in [-126, 124] and a format with hasScaledNearestPath; there it
/// gives the same bits (also where the hardware flushes subnormals: every
/// subnormal |x| rounds to 0 at such a scale). Assumes the default
/// floating-point environment (round to nearest).
Value emitQuantizeNearestScaled(OpBuilder &b, Location loc, Value xBits,
                                Value scale, ::bm::numerics::Format format);

/// Philox4x32-10 of counter (c0, c1, 0, 0) and key (k0, k1): its four
/// output words. All operands are i32, or all vectors of i32 of one shape
/// (one independent block per lane).
std::array<Value, 4> emitPhilox4x32(OpBuilder &b, Location loc, Value c0,
                                    Value c1, Value k0, Value k1);

/// The same Philox4x32-10 with every word carried in the low 32 bits of an
/// i64 (all operands i64, or vectors of i64 of one shape); the high 32 bits
/// of operands and results are unspecified. Each 32x32->64 product is one
/// multiply of the masked low halves, whose low and high words are then
/// read in place. For vector code: on x86 it is one vpmuludq per product
/// and no lane shuffles, where the i32 form needs a widening multiply, a
/// low multiply and shuffles per product.
std::array<Value, 4> emitPhilox4x32InI64(OpBuilder &b, Location loc, Value c0,
                                         Value c1, Value k0, Value k1);

/// Word (i32) `index mod 4` of Philox4x32-10 with counter
/// (lo32(index >> 2), hi32(index >> 2), 0, 0) and key (lo32(seed),
/// hi32(seed)); `seed` and `index` are i64 (numerics.md section 3).
Value emitRandomWord(OpBuilder &b, Location loc, Value seed, Value index);

/// Integer form (signed, of type `formType`) of `code` (numerics.md
/// section 1). `code` may have any integer type at least codeBits() wide;
/// scalars, or vectors (of `formType`'s shape) elementwise.
Value emitDecode(OpBuilder &b, Location loc, Value code,
                 ::bm::numerics::Format format, Type formType);

/// Dequantized value (f32) of `code` in a block with bias `beta` (i8),
/// rounded once (numerics.md section 4); NaN for a non-finite block.
Value emitDequantizeElement(OpBuilder &b, Location loc, Value code, Value beta,
                            ::bm::numerics::Format format);

/// (negative ? -1 : 1) * magnitude * 2^exponent rounded once to float32,
/// ties to even, subnormals and overflow included. `negative` is i1,
/// `magnitude` an i64 below 2^63, `exponent` an i32.
Value emitFloat32FromScaled(OpBuilder &b, Location loc, Value negative,
                            Value magnitude, Value exponent);

/// `value` (any signed integer type up to i64) times 2^exponent, rounded
/// once to float32 (numerics.md section 5's run term).
Value emitScaledIntToFloat32(OpBuilder &b, Location loc, Value value,
                             Value exponent);

/// Narrowest signed integer type (i8/i16/i32/i64) that holds the integer
/// forms of `format`, or null if none does.
IntegerType getIntegerFormType(MLIRContext *context,
                               ::bm::numerics::Format format);

} // namespace mlir::bm

#endif // BM_CONVERSION_BMTOARITH_ARITHNUMERICS_H
