//===- Format.h - Block Minifloat element formats ---------------*- C++ -*-===//
//
// The element format X<e,m> and its constants (numerics.md section 1). This
// header is the single source of qmax, emax, c and code widths for the
// verifiers, the lowerings and the tests.
//
//===----------------------------------------------------------------------===//

#ifndef BM_NUMERICS_FORMAT_H
#define BM_NUMERICS_FORMAT_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bm::numerics {

/// A BM element format X<e,m>: 1 sign bit, `e` exponent bits, `m` mantissa
/// bits, no Inf/NaN encodings (numerics.md section 1). Legal formats have
/// 0 <= e <= 8, 0 <= m <= 23 and e + m >= 1; the accessors below assume a
/// legal format (check with validate() / isValid() first).
struct Format {
  int e = 0;
  int m = 0;

  /// Returns "" if X<e,m> is legal, else a message that says what is wrong
  /// and what to change (numerics.md section 1).
  static std::string validate(int e, int m);
  bool isValid() const {
    return e >= 0 && e <= 8 && m >= 0 && m <= 23 && e + m >= 1;
  }

  /// Largest element exponent: 2^(e-1) - 1 for e >= 1, 0 for e = 0
  /// (numerics.md section 1). The block scale is s = emax - beta.
  int emax() const { return e == 0 ? 0 : (1 << (e - 1)) - 1; }
  /// Exponent offset of the integer form: value = q * 2^(s + c),
  /// c = 2 - 2^e - m (numerics.md section 1).
  int c() const { return 2 - (1 << e) - m; }
  /// Largest binade shift of |q|: qmax = qmaxSignificand() << maxShift().
  /// 2^e - 2 for e >= 1, 0 for e = 0.
  int maxShift() const { return e == 0 ? 0 : (1 << e) - 2; }
  /// Odd part of qmax: 2^(m+1) - 1 for e >= 1, 2^m - 1 for e = 0.
  uint32_t qmaxSignificand() const {
    return e == 0 ? (uint32_t(1) << m) - 1 : (uint32_t(2) << m) - 1;
  }
  /// Number of bits of qmax: m + 1 + 2^e - 2 for e >= 1, m for e = 0.
  /// Up to 278 (e8m23), so qmax itself may not fit any integer type.
  int qmaxBits() const { return e == 0 ? m : m + 1 + maxShift(); }
  bool qmaxFitsIn64() const { return qmaxBits() <= 63; }
  /// qmax (numerics.md section 1); only meaningful when qmaxFitsIn64().
  uint64_t qmax() const {
    return qmaxFitsIn64() ? uint64_t(qmaxSignificand()) << maxShift() : 0;
  }
  /// Bits of a code: sign + exponent + mantissa.
  int codeBits() const { return 1 + e + m; }
  /// Narrowest of 8/16/32 holding a code (numerics.md section 1, "Code").
  int storageBits() const {
    return codeBits() <= 8 ? 8 : codeBits() <= 16 ? 16 : 32;
  }
  /// The largest element magnitude of a block with scale s, qmax * 2^(s+c),
  /// is T * 2^(s-23) with this 24-bit T (2^23 <= T < 2^24): a nonzero |x|
  /// with floor(log2 |x|) = s exceeds it iff its significand, normalized to
  /// 24 bits (2^23 <= n < 2^24), is above T. The `fit` scale rule raises s
  /// for such a block maximum (numerics.md section 2). T = qmaxSignificand()
  /// shifted up to 24 bits; 2^24 - 1 (no float exceeds it) for e >= 1,
  /// m = 23.
  uint32_t fitThreshold() const {
    uint32_t sig = qmaxSignificand();
    return sig << (24 - (32 - __builtin_clz(sig)));
  }

  /// The canonical spelling, e.g. "e2m3".
  std::string name() const;
  /// Parses the canonical spelling "e<E>m<M>" (decimal, no sign, no leading
  /// zeros); nullopt if the text has another shape or the format is illegal.
  static std::optional<Format> parse(std::string_view text);

  friend bool operator==(Format a, Format b) {
    return a.e == b.e && a.m == b.m;
  }
  friend bool operator!=(Format a, Format b) { return !(a == b); }
};

/// Element rounding modes (numerics.md section 3).
enum class Rounding { Nearest, Stochastic, Zero };

/// "nearest", "stochastic" or "zero", the spelling used by the vectors.
std::string_view roundingName(Rounding r);
std::optional<Rounding> parseRounding(std::string_view text);

/// How a block's shared exponent follows from its largest magnitude M
/// (numerics.md section 2): Floor (the paper's) takes s = floor(log2 M);
/// Fit takes s + 1 instead when M > qmax * 2^(s+c), so that no element of
/// the block saturates (unless the bias clamp applies).
enum class ScaleRule { Floor, Fit };

/// "floor" or "fit", the spelling of the IR and the vectors' "scale" key.
std::string_view scaleRuleName(ScaleRule rule);
std::optional<ScaleRule> parseScaleRule(std::string_view text);

} // namespace bm::numerics

#endif // BM_NUMERICS_FORMAT_H
