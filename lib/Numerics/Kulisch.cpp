//===- Kulisch.cpp - Exact accumulation of BM products --------------------===//

#include "bm/Numerics/Kulisch.h"

#include "bm/Numerics/Quantize.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace bm::numerics {

int ceilLog2(uint64_t n) { return n <= 1 ? 0 : 64 - __builtin_clzll(n - 1); }

int kulischWidth(Format a, Format b, int64_t runLength) {
  // |qA qB| < 2^(bits(qmaxA) + bits(qmaxB)); L of them < 2^(... + ceil(log2
  // L)); one more bit for the sign.
  return a.qmaxBits() + b.qmaxBits() +
         ceilLog2(uint64_t(std::max<int64_t>(runLength, 1))) + 1;
}

int kulischStorageBits(int width) {
  if (width <= 16)
    return 16;
  if (width <= 32)
    return 32;
  if (width <= 64)
    return 64;
  return 0;
}

std::vector<ReductionRun> contractionRuns(int64_t length, int64_t blockA,
                                          int64_t blockB) {
  std::vector<ReductionRun> runs;
  if (blockA < 1 || blockB < 1)
    return runs;
  for (int64_t begin = 0; begin < length;) {
    // The run ends at the next boundary of either blocking.
    int64_t end = std::min(
        {(begin / blockA + 1) * blockA, (begin / blockB + 1) * blockB, length});
    runs.push_back({begin, end});
    begin = end;
  }
  return runs;
}

int64_t maxRunLength(int64_t length, int64_t blockA, int64_t blockB) {
  return std::max<int64_t>(0, std::min({length, blockA, blockB}));
}

void WideKulischAccumulator::add(bool negative, uint64_t magnitude, int shift) {
  if (shift < 0 || shift > kMaxShift) {
    std::fprintf(stderr, "bm::numerics: Kulisch shift %d outside [0, %d]\n",
                 shift, kMaxShift);
    std::abort();
  }
  int limb = shift / 64, offset = shift % 64;
  uint64_t part[2] = {magnitude << offset,
                      offset ? magnitude >> (64 - offset) : 0};
  if (!negative) {
    uint64_t carry = 0;
    for (int i = limb; i < kLimbs; ++i) {
      uint64_t addend = i - limb < 2 ? part[i - limb] : 0;
      if (i - limb >= 2 && carry == 0)
        break;
      uint64_t sum = limbs_[i] + addend;
      uint64_t c1 = sum < addend;
      limbs_[i] = sum + carry;
      carry = c1 | (limbs_[i] < sum);
    }
  } else {
    uint64_t borrow = 0;
    for (int i = limb; i < kLimbs; ++i) {
      uint64_t subtrahend = i - limb < 2 ? part[i - limb] : 0;
      if (i - limb >= 2 && borrow == 0)
        break;
      uint64_t diff = limbs_[i] - subtrahend;
      uint64_t b1 = limbs_[i] < subtrahend;
      uint64_t result = diff - borrow;
      borrow = b1 | (diff < borrow);
      limbs_[i] = result;
    }
  }
}

bool WideKulischAccumulator::isZero() const {
  return std::all_of(limbs_.begin(), limbs_.end(),
                     [](uint64_t l) { return l == 0; });
}

float WideKulischAccumulator::toFloat32(int exponent) const {
  std::array<uint64_t, kLimbs> magnitude = limbs_;
  bool negative = isNegative();
  if (negative) { // two's complement negation
    uint64_t carry = 1;
    for (uint64_t &l : magnitude) {
      l = ~l + carry;
      carry = carry && l == 0;
    }
  }
  return float32FromScaledLimbs(negative, magnitude.data(), kLimbs, exponent);
}

float float32FromScaledLimbs(bool negative, const uint64_t *limbs, int count,
                             int exponent) {
  int topLimb = count - 1;
  while (topLimb >= 0 && limbs[topLimb] == 0)
    --topLimb;
  if (topLimb < 0)
    return float32FromScaled(negative, 0, 0);
  if (topLimb == 0)
    return float32FromScaled(negative, limbs[0], exponent);
  // Reduce to the 64-bit case: keep the top 64 bits and fold every lower bit
  // into a sticky bit at the bottom. 64 >= 24 + guard + sticky bits, so the
  // single RNE rounding of float32FromScaled sees the same decision.
  int topBit = 63 - __builtin_clzll(limbs[topLimb]); // within topLimb
  int lowBit = topLimb * 64 + topBit - 63;           // bit index of kept LSB
  auto bitAt = [&](int i) -> uint64_t {
    return i < 0 ? 0 : (limbs[i / 64] >> (i % 64)) & 1;
  };
  uint64_t kept = 0;
  for (int i = 0; i < 64; ++i)
    kept |= bitAt(lowBit + i) << i;
  bool sticky = false;
  for (int i = 0; i < lowBit && !sticky; ++i)
    sticky = bitAt(i) != 0;
  // Bit 0 of `kept` lies below the rounding position, so it can carry the
  // sticky bit.
  if (sticky)
    kept |= 1;
  // Beyond +-2^20 the result is 0 or Inf either way; the clamp keeps int range.
  int64_t e = int64_t(exponent) + lowBit;
  return float32FromScaled(negative, kept,
                           int(std::clamp<int64_t>(e, -(1 << 20), 1 << 20)));
}

} // namespace bm::numerics
