//===- Quantize.cpp - Single-element BM quantization ----------------------===//
//
// Exact integer implementations of numerics.md sections 1-4. An input float
// is taken apart as |x| = sig * 2^exp (sig < 2^24); every step below is then
// a shift or a compare on sig, so no result depends on host floating point.
//
//===----------------------------------------------------------------------===//

#include "bm/Numerics/Quantize.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace bm::numerics {

__extension__ typedef unsigned __int128 uint128;

[[noreturn]] static void fatal(const std::string &message) {
  std::fprintf(stderr, "bm::numerics: %s\n", message.c_str());
  std::abort();
}

// Number of significant bits; 0 for 0.
static inline int bitWidth32(uint32_t v) {
  return v ? 32 - __builtin_clz(v) : 0;
}
static inline int bitWidth64(uint64_t v) {
  return v ? 64 - __builtin_clzll(v) : 0;
}

uint32_t floatToBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

float bitsToFloat(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

//===----------------------------------------------------------------------===//
// IntegerForm
//===----------------------------------------------------------------------===//

int IntegerForm::magnitudeBits() const {
  return significand ? bitWidth32(significand) + shift : 0;
}

int64_t IntegerForm::toInt64() const {
  if (!fitsInt64() || shift < 0)
    fatal("integer form " + toDecimal() + " does not fit int64_t");
  if (significand == 0)
    return 0;
  uint64_t magnitude = uint64_t(significand) << shift;
  return negative ? -int64_t(magnitude) : int64_t(magnitude);
}

std::string IntegerForm::toDecimal() const {
  if (significand == 0)
    return "0";
  // Little-endian base-1e9 digits; doubling in chunks of 2^29 keeps every
  // intermediate below 2^59.
  constexpr uint64_t kBase = 1000000000;
  std::vector<uint64_t> digits{significand % kBase, significand / kBase};
  for (int left = shift; left > 0;) {
    int chunk = std::min(left, 29);
    left -= chunk;
    uint64_t carry = 0;
    for (uint64_t &d : digits) {
      uint64_t v = (d << chunk) + carry;
      d = v % kBase;
      carry = v / kBase;
    }
    while (carry) {
      digits.push_back(carry % kBase);
      carry /= kBase;
    }
  }
  while (digits.size() > 1 && digits.back() == 0)
    digits.pop_back();
  std::string text = negative ? "-" : "";
  text += std::to_string(digits.back());
  for (size_t i = digits.size() - 1; i-- > 0;) {
    std::string part = std::to_string(digits[i]);
    text += std::string(9 - part.size(), '0') + part;
  }
  return text;
}

bool operator==(const IntegerForm &a, const IntegerForm &b) {
  if (a.significand == 0 || b.significand == 0)
    return a.significand == b.significand;
  // Compare odd parts and total shifts, so non-canonical forms compare too.
  int ta = __builtin_ctz(a.significand), tb = __builtin_ctz(b.significand);
  return a.negative == b.negative &&
         (a.significand >> ta) == (b.significand >> tb) &&
         a.shift + ta == b.shift + tb;
}

//===----------------------------------------------------------------------===//
// Shared exponent (numerics.md section 2)
//===----------------------------------------------------------------------===//

int floorLog2AbsBits(uint32_t absBits) {
  uint32_t biased = absBits >> 23;
  // A subnormal is mantissa * 2^-149.
  return biased ? int(biased) - 127 : bitWidth32(absBits) - 150;
}

bool exceedsFloorScale(uint32_t absBits, Format f) {
  absBits &= 0x7fffffffu;
  // |x| = n * 2^(floor(log2 |x|) - 23) with 2^23 <= n < 2^24.
  uint32_t n = absBits >> 23 ? (absBits & 0x7fffffu) | 0x800000u
                             : absBits << (24 - bitWidth32(absBits));
  return n > f.fitThreshold();
}

int chooseBetaFromMaxAbsBits(uint32_t maxAbsBits, Format f, ScaleRule rule) {
  maxAbsBits &= 0x7fffffffu;
  if (maxAbsBits >= 0x7f800000u)
    return kNonFiniteBeta;
  if (maxAbsBits == 0)
    return 0;
  int s = floorLog2AbsBits(maxAbsBits);
  if (rule == ScaleRule::Fit && exceedsFloorScale(maxAbsBits, f))
    ++s;
  return std::clamp(f.emax() - s, -127, 127);
}

int chooseBeta(const float *values, int64_t count, Format f, ScaleRule rule) {
  uint32_t maxAbs = 0;
  for (int64_t i = 0; i < count; ++i)
    maxAbs = std::max(maxAbs, floatToBits(values[i]) & 0x7fffffffu);
  return chooseBetaFromMaxAbsBits(maxAbs, f, rule);
}

//===----------------------------------------------------------------------===//
// Element rounding (numerics.md section 3)
//===----------------------------------------------------------------------===//

static inline IntegerForm saturated(bool negative, Format f) {
  return {negative, f.qmaxSignificand(), f.maxShift()};
}

// Inlined into quantizeElement, the hot path of exhaustive sweeps.
static inline IntegerForm roundElementImpl(float x, Format f, int s, Rounding r,
                                           uint32_t randomWord) {
  uint32_t bits = floatToBits(x);
  IntegerForm q;
  q.negative = (bits >> 31) != 0;
  uint32_t absBits = bits & 0x7fffffffu;
  if (absBits == 0 || absBits >= 0x7f800000u)
    return q;
  uint32_t biased = absBits >> 23;
  uint64_t sig = biased ? (absBits & 0x7fffffu) | 0x800000u : absBits;
  int exp = biased ? int(biased) - 150 : -149;
  // Beyond this range every input saturates or flushes to zero, so the clamp
  // changes no result; it only keeps the int arithmetic below in range.
  s = std::clamp(s, -4096, 4096);

  // t = |x| / 2^(s+c) = sig * 2^k, and floor(log2 t) = top.
  int k = exp - s - f.c();
  int top = bitWidth64(sig) - 1 + k;
  // Grid step 2^g: 1 below 2^(m+1) (and always for e = 0), else keep m+1
  // significant bits.
  int g = f.e == 0 ? 0 : std::max(0, top - f.m);
  if (g > f.maxShift() || (f.e == 0 && top >= f.m))
    return saturated(q.negative, f); // t is above the top binade

  // t / step = sig * 2^(k-g) = fl + frac.
  int drop = g - k;
  uint64_t fl;
  if (drop <= 0) {
    fl = sig << -drop; // exact; drop >= -23 here
  } else {
    // Past 62 dropped bits fl = 0 and every mode rounds down (frac < 2^-38).
    int n = std::min(drop, 62);
    fl = sig >> n;
    uint64_t rem = sig & ((uint64_t(1) << n) - 1);
    uint64_t up = 0;
    switch (r) {
    case Rounding::Nearest: {
      uint64_t half = uint64_t(1) << (n - 1);
      up = (rem > half) | ((rem == half) & fl);
      break;
    }
    case Rounding::Stochastic: {
      // D = floor(frac * 2^32); round up iff D + r >= 2^32.
      uint64_t d = n <= 32 ? rem << (32 - n) : rem >> (n - 32);
      up = (d + randomWord) >> 32;
      break;
    }
    case Rounding::Zero:
      break;
    }
    fl += up;
  }

  // A round-up may reach 2^(m+1) (e >= 1) or 2^m (e = 0): renormalize, and
  // saturate if that leaves the format (q = min(fl * step, qmax)).
  if (f.e == 0) {
    if (fl > f.qmaxSignificand())
      return saturated(q.negative, f);
  } else if (fl >> (f.m + 1)) {
    fl >>= 1;
    if (++g > f.maxShift())
      return saturated(q.negative, f);
  }
  q.significand = uint32_t(fl);
  q.shift = g;
  return q;
}

IntegerForm roundElement(float x, Format f, int s, Rounding r,
                         uint32_t randomWord) {
  return roundElementImpl(x, f, s, r, randomWord);
}

//===----------------------------------------------------------------------===//
// Codes (numerics.md section 1)
//===----------------------------------------------------------------------===//

// Code of a canonical integer form (see IntegerForm).
static inline uint32_t encodeCanonical(const IntegerForm &q, Format f) {
  uint32_t sign = uint32_t(q.negative) << (f.e + f.m);
  if (f.e == 0 || (q.shift == 0 && q.significand < (uint32_t(1) << f.m)))
    return sign | q.significand; // E = 0: |q| = F
  uint32_t exponentField = uint32_t(q.shift + 1);
  return sign | exponentField << f.m | (q.significand - (uint32_t(1) << f.m));
}

std::optional<uint32_t> tryEncodeElement(IntegerForm q, Format f) {
  if (!f.isValid())
    return std::nullopt;
  uint32_t sign = uint32_t(q.negative) << (f.e + f.m);
  if (q.significand == 0)
    return sign;
  int trailing = __builtin_ctz(q.significand);
  uint32_t odd = q.significand >> trailing;
  int shift = q.shift + trailing; // |q| = odd * 2^shift, odd odd
  if (shift < 0 || shift > 600)
    return std::nullopt; // not an integer, or far above any qmax
  int bits = bitWidth32(odd) + shift;
  if (bits > f.qmaxBits())
    return std::nullopt;
  if (f.e == 0 || bits <= f.m) // |q| < 2^m: F = |q| (E = 0 for e >= 1)
    return sign | (odd << shift);
  int binade = bits - f.m - 1; // E - 1
  if (shift < binade)
    return std::nullopt; // more than m+1 significant bits
  IntegerForm canonical{q.negative, odd << (shift - binade), binade};
  return encodeCanonical(canonical, f);
}

uint32_t encodeElement(const IntegerForm &q, Format f) {
  std::optional<uint32_t> code = tryEncodeElement(q, f);
  if (!code)
    fatal("integer form " + q.toDecimal() + " is not representable in " +
          f.name());
  return *code;
}

IntegerForm decodeElement(uint32_t code, Format f) {
  IntegerForm q;
  q.negative = ((code >> (f.e + f.m)) & 1) != 0;
  uint32_t fraction = code & ((uint32_t(1) << f.m) - 1);
  uint32_t exponentField = (code >> f.m) & ((uint32_t(1) << f.e) - 1);
  if (exponentField == 0) {
    q.significand = fraction;
  } else {
    q.significand = (uint32_t(1) << f.m) | fraction;
    q.shift = int(exponentField) - 1;
  }
  return q;
}

uint32_t quantizeElement(float x, Format f, int beta, Rounding r,
                         uint32_t randomWord) {
  if (beta == kNonFiniteBeta)
    return 0;
  return encodeCanonical(
      roundElementImpl(x, f, scaleExponent(f, beta), r, randomWord), f);
}

//===----------------------------------------------------------------------===//
// Dequantization (numerics.md section 4)
//===----------------------------------------------------------------------===//

float float32FromScaled(bool negative, uint64_t magnitude, int exponent) {
  uint32_t sign = negative ? 0x80000000u : 0;
  if (magnitude == 0)
    return bitsToFloat(sign);
  exponent = std::clamp(exponent, -4096, 4096); // beyond: 0 or Inf anyway
  int top = bitWidth64(magnitude) - 1 + exponent;
  if (top > 127)
    return bitsToFloat(sign | 0x7f800000u);
  // The result's last place: 24 significant bits, but not below 2^-149.
  int lsb = std::max(top - 23, -149);
  int drop = lsb - exponent;
  uint64_t r;
  if (drop <= 0) {
    r = magnitude << -drop; // exact, < 2^24
  } else if (drop > 64) {
    r = 0; // value < 2^(lsb-1): below half the last place
  } else {
    uint128 wide = magnitude;
    r = uint64_t(wide >> drop);
    uint128 rem = wide & ((uint128(1) << drop) - 1);
    uint128 half = uint128(1) << (drop - 1);
    r += (rem > half) | ((rem == half) & (r & 1));
  }
  // For r in [2^23, 2^24] this is the normal encoding (a carry to 2^24 bumps
  // the exponent field); for lsb = -149 and r < 2^23 it is the subnormal one.
  uint64_t bits = (uint64_t(lsb + 149) << 23) + r;
  return bitsToFloat(sign | uint32_t(std::min<uint64_t>(bits, 0x7f800000u)));
}

float dequantizeElement(uint32_t code, Format f, int beta) {
  if (beta == kNonFiniteBeta)
    return bitsToFloat(kCanonicalNaNBits);
  IntegerForm q = decodeElement(code, f);
  return float32FromScaled(q.negative, q.significand,
                           q.shift + scaleExponent(f, beta) + f.c());
}

} // namespace bm::numerics
