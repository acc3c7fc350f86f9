//===- Kulisch.h - Exact accumulation of BM products ------------*- C++ -*-===//
//
// Widths and helpers for the exact integer ("Kulisch") accumulator of a BM
// contraction run (numerics.md section 5).
//
//===----------------------------------------------------------------------===//

#ifndef BM_NUMERICS_KULISCH_H
#define BM_NUMERICS_KULISCH_H

#include "bm/Numerics/Format.h"

#include <array>
#include <cstdint>
#include <vector>

namespace bm::numerics {

/// ceil(log2(n)) for n >= 1 (0 for n <= 1), in integers.
int ceilLog2(uint64_t n);

/// Bits of the signed integer accumulator that sums `runLength` products
/// qA * qB exactly (numerics.md section 5):
/// bits(qmaxA) + bits(qmaxB) + ceil(log2(runLength)) + 1. A runLength below 1
/// is treated as 1.
int kulischWidth(Format a, Format b, int64_t runLength);

/// Narrowest of 16/32/64 bits holding a `width`-bit accumulator, or 0 when
/// width > 64 (no native integer type is exact; numerics.md section 5).
int kulischStorageBits(int width);

/// A run [begin, end) of reduction indices (numerics.md section 5).
struct ReductionRun {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

/// The runs of a reduction of `length` indices whose operands are blocked by
/// `blockA` and `blockB` along it (both >= 1): the pieces of the common
/// refinement of the two blockings, in canonical (increasing) order.
std::vector<ReductionRun> contractionRuns(int64_t length, int64_t blockA,
                                          int64_t blockB);

/// Length of the longest of those runs: min(blockA, blockB, length) (the
/// first run is that long and no run is longer). Feed it to kulischWidth.
int64_t maxRunLength(int64_t length, int64_t blockA, int64_t blockB);

/// An exact two's-complement fixed-point accumulator wide enough for any
/// legal format pair: products of integer forms are (< 2^48 significand
/// product) << (shift <= 508), and any int64 number of them sum to < 2^622.
/// Used where kulischWidth exceeds the native integer types.
class WideKulischAccumulator {
public:
  static constexpr int kLimbs = 10; // 640 bits
  static constexpr int kMaxShift = kLimbs * 64 - 64 - 64;

  void clear() { limbs_.fill(0); }
  /// Adds (negative ? -1 : 1) * magnitude * 2^shift, 0 <= shift <= kMaxShift.
  void add(bool negative, uint64_t magnitude, int shift);
  bool isZero() const;
  bool isNegative() const { return (limbs_[kLimbs - 1] >> 63) != 0; }
  /// The accumulated value times 2^exponent rounded once to float32 (RNE,
  /// subnormals and overflow exact); P = 0 gives +0.0.
  float toFloat32(int exponent) const;

private:
  std::array<uint64_t, kLimbs> limbs_{};
};

/// (negative ? -1 : 1) * |value in little-endian 64-bit limbs| * 2^exponent
/// rounded once to float32 (RNE, subnormals, overflow to Inf).
float float32FromScaledLimbs(bool negative, const uint64_t *limbs, int count,
                             int exponent);

} // namespace bm::numerics

#endif // BM_NUMERICS_KULISCH_H
