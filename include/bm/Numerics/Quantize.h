//===- Quantize.h - Single-element BM quantization --------------*- C++ -*-===//
//
// The per-element numerics: shared-exponent choice from a block maximum
// (numerics.md section 2), element rounding (section 3), codes (section 1)
// and dequantization (section 4). Everything is exact integer arithmetic on
// float32 bit patterns; no floating-point log2/pow is involved, so results do
// not depend on the host's libm.
//
//===----------------------------------------------------------------------===//

#ifndef BM_NUMERICS_QUANTIZE_H
#define BM_NUMERICS_QUANTIZE_H

#include "bm/Numerics/Format.h"

#include <cstdint>
#include <optional>
#include <string>

namespace bm::numerics {

/// beta of a block holding a NaN or an Inf (numerics.md section 2, step 1).
/// Never produced for a finite block: finite betas are clamped to [-127, 127].
inline constexpr int kNonFiniteBeta = -128;

/// Bit pattern of the NaN every non-finite element dequantizes to.
inline constexpr uint32_t kCanonicalNaNBits = 0x7fc00000u;

/// The integer form q of an element (numerics.md section 1):
/// q = (negative ? -1 : 1) * significand * 2^shift.
///
/// |q| reaches 2^278 for e8m23, so it is kept as a 24-bit significand and a
/// shift. Forms produced by this library are canonical for their format:
/// shift > 0 implies 2^m <= significand < 2^(m+1), and zero has shift 0.
/// `negative` carries the sign bit even for zero (the code of -0).
struct IntegerForm {
  bool negative = false;
  uint32_t significand = 0;
  int shift = 0;

  bool isZero() const { return significand == 0; }
  /// Number of bits of |q| (0 for zero).
  int magnitudeBits() const;
  /// True when q fits an int64_t.
  bool fitsInt64() const { return magnitudeBits() <= 63; }
  /// q as int64_t; only valid when fitsInt64() (aborts otherwise).
  int64_t toInt64() const;
  /// Exact decimal text of q, e.g. "-18"; zero prints "0" whatever the sign.
  std::string toDecimal() const;

  /// Equality of the integer values (the sign of zero is ignored).
  friend bool operator==(const IntegerForm &a, const IntegerForm &b);
  friend bool operator!=(const IntegerForm &a, const IntegerForm &b) {
    return !(a == b);
  }
};

/// floor(log2 |x|) computed exactly from the float's bits, subnormals
/// included (numerics.md section 2, step 3). `absBits` is the bit pattern of
/// |x|; it must be finite and nonzero.
int floorLog2AbsBits(uint32_t absBits);

/// Whether the finite nonzero |x| with bit pattern `absBits` exceeds the
/// largest element magnitude qmax * 2^(s+c) of a block with scale
/// s = floor(log2 |x|), i.e. lies in the top band of its binade that the
/// `fit` rule avoids (numerics.md section 2). Exact, subnormals included:
/// compares the 24-bit normalized significand with Format::fitThreshold().
bool exceedsFloorScale(uint32_t absBits, Format f);

/// The shared exponent bias beta of a block whose largest |x| has bit
/// pattern `maxAbsBits` (numerics.md section 2): kNonFiniteBeta if that is a
/// NaN or Inf, 0 if it is zero, else clamp(emax - s, -127, 127) with
/// s = floor(log2 M), plus one under ScaleRule::Fit when M exceeds the
/// largest element magnitude of scale s (exceedsFloorScale).
/// The largest |x| is the largest (bits & 0x7fffffff) over the block, since
/// that order agrees with |x| and puts NaN/Inf above every finite value.
int chooseBetaFromMaxAbsBits(uint32_t maxAbsBits, Format f,
                             ScaleRule rule = ScaleRule::Floor);
/// Same, from the values of a block stored contiguously.
int chooseBeta(const float *values, int64_t count, Format f,
               ScaleRule rule = ScaleRule::Floor);

/// The block scale exponent s = emax - beta (numerics.md section 2).
inline int scaleExponent(Format f, int beta) { return f.emax() - beta; }

/// Rounds x onto the grid of a block with scale exponent s (numerics.md
/// section 3): q = min(round(|x| / 2^(s+c)), qmax) with the sign bit of x.
/// `randomWord` is only read for Rounding::Stochastic. x must be finite
/// (non-finite elements make the whole block non-finite; a NaN/Inf x yields
/// zero here). Any s is accepted; values above the block's top binade
/// saturate at qmax.
IntegerForm roundElement(float x, Format f, int s, Rounding r,
                         uint32_t randomWord);

/// Code of a canonical integer form (numerics.md section 1, "Code"):
/// sign << (e+m) | E << m | F. `q` must be representable in `f` (as every
/// roundElement/decodeElement result is); aborts otherwise.
uint32_t encodeElement(const IntegerForm &q, Format f);
/// Like encodeElement for any (not necessarily canonical) q; nullopt when q
/// is not representable in f (too many significant bits or above qmax).
std::optional<uint32_t> tryEncodeElement(IntegerForm q, Format f);
/// Integer form of a code; bits above codeBits() are ignored.
IntegerForm decodeElement(uint32_t code, Format f);

/// Quantizes one element of a block with shared exponent bias beta and
/// returns its code: roundElement + encodeElement, and 0 when beta is
/// kNonFiniteBeta. The fast path for exhaustive sweeps.
uint32_t quantizeElement(float x, Format f, int beta, Rounding r,
                         uint32_t randomWord);

/// Value of a code in a block with bias beta (numerics.md section 4):
/// q * 2^(s+c) rounded once to float32 (RNE, subnormals and overflow to Inf
/// handled exactly), -0 for the code of -0, NaN when beta is kNonFiniteBeta.
float dequantizeElement(uint32_t code, Format f, int beta);

/// (negative ? -1 : 1) * magnitude * 2^exponent rounded once to the nearest
/// float32, ties to even, including the subnormal range and overflow to
/// +-Inf. Used for dequantization and for the Kulisch run terms
/// (numerics.md sections 4 and 5).
float float32FromScaled(bool negative, uint64_t magnitude, int exponent);

/// Bit-pattern helpers.
uint32_t floatToBits(float x);
float bitsToFloat(uint32_t bits);

} // namespace bm::numerics

#endif // BM_NUMERICS_QUANTIZE_H
