//===- PropertyTest.cpp - Properties of the BM reference numerics ---------===//
//
// Checks the reference against independent double-precision arithmetic
// (exact here: every quantity is a <= 53-bit integer times a power of two in
// double range) and against statistical and structural properties that the
// golden vectors only sample.
//
//===----------------------------------------------------------------------===//

#include "bm/Numerics/Kulisch.h"
#include "bm/Numerics/Philox.h"
#include "bm/Numerics/Quantize.h"
#include "bm/Numerics/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>

using namespace bm::numerics;

namespace {

const Format kFormats[] = {{2, 5},  {4, 3}, {2, 3},  {3, 2}, {2, 2},
                           {3, 1},  {2, 1}, {3, 0},  {0, 7}, {0, 3},
                           {0, 1},  {1, 0}, {1, 4},  {5, 2}, {6, 1},
                           {8, 23}, {8, 0}, {0, 23}, {4, 11}};

const Rounding kRoundings[] = {Rounding::Nearest, Rounding::Stochastic,
                               Rounding::Zero};

double qToDouble(const IntegerForm &q) {
  return std::ldexp(double(q.significand), q.shift) * (q.negative ? -1.0 : 1.0);
}

double qmaxDouble(Format f) {
  return std::ldexp(double(f.qmaxSignificand()), f.maxShift());
}

// Grid step at t >= 0 (numerics.md section 3), in double.
double gridStep(Format f, double t) {
  if (f.e == 0 || t < std::ldexp(1.0, f.m + 1))
    return 1.0;
  return std::ldexp(1.0, std::ilogb(t) - f.m);
}

// Random finite floats spread over the whole float32 exponent range, with
// some exact zeros, subnormals and values at binade edges.
std::vector<float> randomFloats(std::mt19937_64 &rng, size_t n) {
  std::vector<float> v(n);
  std::uniform_int_distribution<uint32_t> bits(0, 0x7f7fffffu);
  std::uniform_int_distribution<int> kind(0, 9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float &x : v) {
    switch (kind(rng)) {
    case 0:
      x = 0.0f;
      break;
    case 1:
      x = bitsToFloat(bits(rng) & 0x007fffffu); // subnormal
      break;
    case 2:
      x = bitsToFloat(bits(rng) & 0x7f800000u); // power of two
      break;
    case 3:
    case 4:
      x = bitsToFloat(bits(rng));
      break;
    default:
      x = normal(rng);
    }
    if (rng() & 1)
      x = -x;
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Nearest rounding is within half a grid step, ties to even (section 3).
//===----------------------------------------------------------------------===//

TEST(Properties, NearestWithinHalfAStep) {
  std::mt19937_64 rng(1);
  for (Format f : kFormats) {
    SCOPED_TRACE(f.name());
    for (int trial = 0; trial < 200; ++trial) {
      // Blocks of 1x8 over a tensor whose values span a few binades, plus
      // the occasional block with wildly different magnitudes.
      std::vector<float> x = randomFloats(rng, 32);
      if (trial % 2) {
        std::normal_distribution<float> normal(0.0f, 1.0f);
        float scale = std::ldexp(1.0f, int(rng() % 200) - 100);
        for (float &v : x)
          v = normal(rng) * scale;
      }
      QuantizedTensor t =
          quantize(x.data(), {4, 8}, f, {1, 8}, Rounding::Nearest, 0);
      std::vector<float> out = dequantize(t);
      for (int64_t i = 0; i < 32; ++i) {
        int64_t b = i / 8;
        // Independent beta: from the block maximum via ilogb.
        double maxAbs = 0;
        for (int64_t j = b * 8; j < b * 8 + 8; ++j)
          maxAbs = std::max(maxAbs, std::fabs(double(x[j])));
        int expectedBeta =
            maxAbs == 0 ? 0
                        : std::clamp(f.emax() - std::ilogb(maxAbs), -127, 127);
        ASSERT_EQ(t.beta[b], expectedBeta) << "block " << b;

        int s = t.scale(b);
        double tval = std::ldexp(std::fabs(double(x[i])), -(s + f.c()));
        IntegerForm q = t.integerForm(i);
        double qv = std::fabs(qToDouble(q));
        double step = gridStep(f, tval);
        ASSERT_EQ(q.negative, std::signbit(x[i])) << "element " << i;
        if (qv == qmaxDouble(f) && tval > qv + step / 2) {
          // Saturated: t rounds up past qmax, but stays below the next
          // binade because s was chosen from the block maximum.
          EXPECT_LT(tval, qv + step) << "element " << i;
        } else {
          double err = std::fabs(qv - tval);
          EXPECT_LE(err, step / 2)
              << "element " << i << " t=" << tval << " q=" << qv;
          if (err == step / 2) {
            EXPECT_EQ(std::fmod(qv / step, 2.0), 0.0)
                << "tie not to even, element " << i;
          }
        }
        // Dequantized value: q * 2^(s+c) rounded once (double product exact).
        float expected = float(std::ldexp(qToDouble(q), s + f.c()));
        if (q.isZero())
          expected = q.negative ? -0.0f : 0.0f;
        EXPECT_EQ(floatToBits(out[i]), floatToBits(expected))
            << "element " << i;
      }
    }
  }
}

TEST(Properties, ZeroRoundsTowardZero) {
  std::mt19937_64 rng(2);
  for (Format f : kFormats) {
    SCOPED_TRACE(f.name());
    std::vector<float> x = randomFloats(rng, 64);
    QuantizedTensor z = quantize(x.data(), {64}, f, {16}, Rounding::Zero, 0);
    QuantizedTensor n = quantize(x.data(), {64}, f, {16}, Rounding::Nearest, 0);
    for (int64_t i = 0; i < 64; ++i) {
      int s = z.scale(i / 16);
      double tval = std::ldexp(std::fabs(double(x[i])), -(s + f.c()));
      double qz = std::fabs(qToDouble(z.integerForm(i)));
      double qn = std::fabs(qToDouble(n.integerForm(i)));
      EXPECT_LE(qz, tval);
      EXPECT_LT(tval - qz, gridStep(f, tval)) << i;
      EXPECT_LE(qz, qn);
    }
  }
}

//===----------------------------------------------------------------------===//
// Stochastic rounding is unbiased (section 3).
//===----------------------------------------------------------------------===//

// Over `draws` seeds, the mean of the dequantized values of a single element
// must be within 5 standard errors of x (p-value ~6e-7 per check); the
// D = floor(frac * 2^32) truncation adds a bias below 2^-32 steps.
TEST(Properties, StochasticUnbiasedOverSeeds) {
  const int draws = 4000;
  std::mt19937_64 rng(3);
  for (Format f :
       {Format{2, 3}, Format{4, 3}, Format{0, 3}, Format{3, 0}, Format{2, 1}}) {
    SCOPED_TRACE(f.name());
    for (int trial = 0; trial < 12; ++trial) {
      // A block [big, x]: big fixes the scale, x sits somewhere below it.
      std::uniform_real_distribution<float> frac(0.0f, 1.0f);
      float big = 1.5f;
      float x = (trial % 3 == 0 ? -1.0f : 1.0f) * frac(rng) *
                std::ldexp(1.0f, -(trial % 4));
      float in[2] = {big, x};
      double sum = 0;
      for (int seed = 0; seed < draws; ++seed) {
        QuantizedTensor t = quantize(in, {2}, f, {2}, Rounding::Stochastic,
                                     uint64_t(seed) * 7919);
        sum += double(dequantize(t)[1]);
      }
      int s = f.emax() - chooseBetaFromMaxAbsBits(floatToBits(big), f);
      double unit = std::ldexp(1.0, s + f.c());
      double tval = std::fabs(double(x)) / unit;
      double step = gridStep(f, tval) * unit;
      double p = std::fmod(std::fabs(double(x)), step) / step;
      double se = step * std::sqrt(p * (1 - p) / draws);
      EXPECT_NEAR(sum / draws, double(x), 5 * se + step * 1e-9)
          << "x=" << x << " step=" << step << " p=" << p;
    }
  }
}

// Within one tensor, every element draws its own word: the fraction of
// round-ups among N copies of x estimates P(up) = D / 2^32.
TEST(Properties, StochasticRoundUpProbability) {
  const int n = 20000;
  // Step-1 grid points (t < 2^(m+1)) that float32 can hold with a fraction.
  for (Format f : {Format{2, 5}, Format{3, 2}, Format{0, 7}, Format{4, 3}}) {
    for (double frac : {0.0, 0.125, 0.3, 0.5, 0.9}) {
      SCOPED_TRACE(f.name() + " frac " + std::to_string(frac));
      // Element 0 = 1.0 sets the block scale; the others sit at t = 5 + frac.
      std::vector<float> x(n + 1);
      x[0] = 1.0f;
      int s = scaleExponent(f, chooseBetaFromMaxAbsBits(floatToBits(1.0f), f));
      float value = float(std::ldexp(5.0 + frac, s + f.c()));
      for (int i = 1; i <= n; ++i)
        x[i] = value;
      QuantizedTensor t =
          quantize(x.data(), {n + 1}, f, {0}, Rounding::Stochastic, 12345);
      int ups = 0;
      for (int i = 1; i <= n; ++i) {
        int64_t q = t.integerForm(i).toInt64();
        ASSERT_TRUE(q == 5 || q == 6) << q;
        ups += q == 6;
      }
      double se = std::sqrt(frac * (1 - frac) / n);
      EXPECT_NEAR(double(ups) / n, frac, 5 * se + 1e-12);
    }
  }
}

// Element i's round-up decision uses exactly randomWord(seed, i).
TEST(Properties, StochasticUsesTheElementsWord) {
  std::mt19937_64 rng(4);
  for (Format f : kFormats) {
    std::vector<float> x = randomFloats(rng, 45);
    const uint64_t seed = rng();
    QuantizedTensor t =
        quantize(x.data(), {5, 9}, f, {2, 4}, Rounding::Stochastic, seed);
    for (int64_t i = 0; i < 45; ++i) {
      int beta = t.beta[t.blockOfLinear(i)];
      EXPECT_EQ(t.codes[i], quantizeElement(x[i], f, beta, Rounding::Stochastic,
                                            randomWord(seed, i)))
          << f.name() << " element " << i;
    }
  }
}

//===----------------------------------------------------------------------===//
// Signs, saturation, non-finite blocks.
//===----------------------------------------------------------------------===//

TEST(Properties, NegativeZeroKeepsItsSign) {
  for (Format f : kFormats)
    for (Rounding r : kRoundings) {
      SCOPED_TRACE(f.name() + " " + std::string(roundingName(r)));
      // -0.0 alone, -0.0 next to a large value, and tiny negatives that
      // round to zero: all give the code of -0 and dequantize to -0.0.
      float x[6] = {-0.0f, 0.0f, -0.0f, 1.0f, -1e-30f, -0.0f};
      QuantizedTensor t = quantize(x, {2, 3}, f, {1, 3}, r, 99);
      std::vector<float> out = dequantize(t);
      uint32_t signBit = uint32_t(1) << (f.e + f.m);
      for (int i : {0, 2, 5}) {
        EXPECT_EQ(t.codes[i], signBit) << i;
        EXPECT_EQ(floatToBits(out[i]), 0x80000000u) << i;
      }
      EXPECT_EQ(t.codes[1], 0u);
      EXPECT_EQ(floatToBits(out[1]), 0u);
      // Whether -1e-30 flushes to zero next to 1.0 depends on the format's
      // range; its sign survives either way.
      EXPECT_TRUE(t.integerForm(4).negative);
      EXPECT_TRUE(std::signbit(out[4]));
      if (t.integerForm(4).isZero()) {
        EXPECT_EQ(floatToBits(out[4]), 0x80000000u);
      }
      EXPECT_TRUE(t.integerForm(0).isZero());
      EXPECT_EQ(t.integerForm(0).toDecimal(), "0");
    }
}

TEST(Properties, SaturatesAtQmax) {
  for (Format f : kFormats) {
    SCOPED_TRACE(f.name());
    const uint32_t maxCode = (uint32_t(1) << (f.e + f.m)) - 1; // E, F all ones
    IntegerForm qmax{false, f.qmaxSignificand(), f.maxShift()};
    EXPECT_EQ(decodeElement(maxCode, f), qmax);
    // Just below the next power of two: every mode that rounds up lands on
    // qmax, never past it.
    float x = std::nextafter(2.0f, 0.0f);
    for (Rounding r : kRoundings)
      for (uint32_t word : {0u, 0x80000000u, 0xffffffffu}) {
        int beta = chooseBetaFromMaxAbsBits(floatToBits(x), f);
        IntegerForm q = roundElement(x, f, scaleExponent(f, beta), r, word);
        EXPECT_LE(qToDouble(q), qToDouble(qmax));
        EXPECT_EQ(quantizeElement(-x, f, beta, r, word) & maxCode,
                  quantizeElement(x, f, beta, r, word));
        if (r == Rounding::Nearest ||
            (r == Rounding::Stochastic && word == 0xffffffffu)) {
          EXPECT_EQ(q, qmax);
        }
      }
    // A scale far too small for the value (not a quantizer-chosen one)
    // saturates too, for any magnitude: no overflow, no UB.
    for (float big : {1.0f, 3e38f, std::numeric_limits<float>::max()})
      for (int s : {-4000, -200, -1, std::numeric_limits<int>::min()}) {
        EXPECT_EQ(roundElement(big, f, s, Rounding::Nearest, 0), qmax);
        EXPECT_EQ(roundElement(-big, f, s, Rounding::Stochastic, ~0u).negative,
                  true);
      }
    // Huge s flushes to zero.
    EXPECT_TRUE(
        roundElement(1.0f, f, 4000, Rounding::Stochastic, ~0u).isZero());
    EXPECT_TRUE(roundElement(1.0f, f, std::numeric_limits<int>::max(),
                             Rounding::Nearest, 0)
                    .isZero());
  }
}

TEST(Properties, NonFiniteBlocks) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::mt19937_64 rng(5);
  for (Format f : {Format{2, 3}, Format{4, 3}, Format{0, 7}, Format{8, 23}})
    for (Rounding r : kRoundings) {
      SCOPED_TRACE(f.name() + " " + std::string(roundingName(r)));
      std::vector<float> clean = randomFloats(rng, 16), dirty = clean;
      dirty[1] = nan;   // block (0,0)
      dirty[15] = -inf; // block (1,1)
      dirty[2] =
          bitsToFloat(0xff812345u); // signalling-looking NaN, block (0,1)
      QuantizedTensor t = quantize(dirty.data(), {4, 4}, f, {2, 2}, r, 7);
      QuantizedTensor c = quantize(clean.data(), {4, 4}, f, {2, 2}, r, 7);
      EXPECT_EQ(t.beta[0], kNonFiniteBeta);
      EXPECT_EQ(t.beta[1], kNonFiniteBeta);
      EXPECT_EQ(t.beta[2], c.beta[2]); // untouched block
      EXPECT_EQ(t.beta[3], kNonFiniteBeta);
      std::vector<float> out = dequantize(t), outClean = dequantize(c);
      for (int64_t i = 0; i < 16; ++i) {
        int64_t b = t.blockOfLinear(i);
        if (b == 2) {
          EXPECT_EQ(t.codes[i], c.codes[i]);
          EXPECT_EQ(floatToBits(out[i]), floatToBits(outClean[i]));
        } else {
          EXPECT_EQ(t.codes[i], 0u);
          EXPECT_EQ(floatToBits(out[i]), kCanonicalNaNBits);
        }
      }
      // In a matmul, a run that touches a non-finite block makes the output
      // NaN; outputs whose runs avoid it are unchanged.
      std::vector<float> bIn = randomFloats(rng, 8);
      for (float &v : bIn)
        v = std::isfinite(v) ? std::fmod(v, 100.0f) : 0.0f;
      QuantizedTensor b =
          quantize(bIn.data(), {4, 2}, f, {2, 2}, Rounding::Nearest, 0);
      std::vector<float> dirtyOut = matmul(t, b, nullptr);
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 2; ++j) {
          // Row blocks 0 (rows 0-1) hit blocks 0 and 1; rows 2-3 hit block 3.
          EXPECT_EQ(floatToBits(dirtyOut[i * 2 + j]), kCanonicalNaNBits)
              << i << "," << j;
        }
    }
}

TEST(Properties, NonFiniteBlockOnlyPoisonsItsOutputs) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a(4 * 8, 0.5f), bv(8 * 3, 0.25f), init(4 * 3, 1.0f);
  a[2 * 8 + 5] = nan; // A block (1, 1) with block 2x4
  QuantizedTensor qa =
      quantize(a.data(), {4, 8}, {2, 3}, {2, 4}, Rounding::Nearest, 0);
  QuantizedTensor qb =
      quantize(bv.data(), {8, 3}, {2, 3}, {4, 1}, Rounding::Nearest, 0);
  std::vector<float> out = matmul(qa, qb, init.data());
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) {
      if (i >= 2)
        EXPECT_EQ(floatToBits(out[i * 3 + j]), kCanonicalNaNBits);
      else
        EXPECT_EQ(out[i * 3 + j], 1.0f + 8 * 0.5f * 0.25f);
    }
}

//===----------------------------------------------------------------------===//
// Codes (section 1).
//===----------------------------------------------------------------------===//

TEST(Properties, CodesRoundTripAndAreMonotonic) {
  for (int e = 0; e <= 8; ++e)
    for (int m = 0; m <= 23; ++m) {
      Format f{e, m};
      if (!f.isValid())
        continue;
      SCOPED_TRACE(f.name());
      uint32_t magnitudes = uint32_t(1) << (e + m);
      uint32_t stride =
          magnitudes > (1u << 14) ? magnitudes / (1u << 14) + 1 : 1;
      double previous = -1;
      for (uint32_t code = 0; code < magnitudes; code += stride) {
        for (uint32_t sign : {0u, magnitudes}) {
          IntegerForm q = decodeElement(code | sign, f);
          ASSERT_EQ(encodeElement(q, f), code | sign);
          // The same value in a non-canonical spelling encodes the same.
          if (q.significand && q.significand % 2 == 0 && q.shift < 300) {
            IntegerForm spelled{q.negative, q.significand / 2, q.shift + 1};
            ASSERT_EQ(tryEncodeElement(spelled, f), code | sign);
          }
        }
        IntegerForm q = decodeElement(code, f);
        double v = qToDouble(q);
        ASSERT_GT(v, previous) << code;
        previous = v;
        // The formula of section 1: |q| = F if E = 0, else (2^m + F) 2^(E-1).
        uint32_t E = code >> m, F = code & ((1u << m) - 1);
        double expected = e == 0 || E == 0
                              ? double(code)
                              : std::ldexp(double((1u << m) + F), int(E) - 1);
        ASSERT_EQ(v, expected) << code;
      }
      // The largest code is qmax.
      EXPECT_EQ(qToDouble(decodeElement(magnitudes - 1, f)), qmaxDouble(f));
    }
}

TEST(Properties, UnrepresentableFormsAreRejected) {
  Format f{2, 3};
  EXPECT_FALSE(tryEncodeElement({false, 61, 0}, f)); // above qmax = 60
  EXPECT_FALSE(
      tryEncodeElement({false, 17, 1}, f));         // 34: five significant bits
  EXPECT_FALSE(tryEncodeElement({false, 1, 6}, f)); // 64 > qmax
  EXPECT_FALSE(tryEncodeElement({false, 3, -1}, f));   // 1.5 is not an integer
  EXPECT_EQ(tryEncodeElement({false, 15, 2}, f), 31u); // 60 = qmax
  EXPECT_EQ(tryEncodeElement({true, 4, -2}, f), 33u);  // -1
  EXPECT_FALSE(tryEncodeElement({false, 1, 0}, Format{9, 0}));
}

TEST(Properties, IntegerFormDecimal) {
  EXPECT_EQ((IntegerForm{true, 9, 1}).toDecimal(), "-18");
  EXPECT_EQ((IntegerForm{false, 1, 64}).toDecimal(), "18446744073709551616");
  EXPECT_EQ((IntegerForm{false, 7, 30}).toDecimal(), "7516192768");
  EXPECT_EQ((IntegerForm{true, 0, 0}).toDecimal(), "0");
  // qmax of e8m23: (2^24 - 1) * 2^254.
  EXPECT_EQ((IntegerForm{false, (1u << 24) - 1, 254}).toDecimal(),
            "485667194108409958400816620813133474488624746445538713902812092570"
            "330069323019714560");
  EXPECT_EQ((IntegerForm{true, 5, 3}).toInt64(), -40);
  EXPECT_TRUE((IntegerForm{false, 1, 62}).fitsInt64());
  EXPECT_FALSE((IntegerForm{false, 1, 63}).fitsInt64());
  EXPECT_EQ((IntegerForm{false, 12, 2}), (IntegerForm{false, 3, 4}));
  EXPECT_NE((IntegerForm{false, 12, 2}), (IntegerForm{true, 3, 4}));
  EXPECT_EQ((IntegerForm{false, 0, 0}), (IntegerForm{true, 0, 0}));
}

//===----------------------------------------------------------------------===//
// Float conversion (sections 4 and 5).
//===----------------------------------------------------------------------===//

// Against the hardware's double -> float conversion, which rounds once (RNE,
// subnormals, overflow to Inf) when the double is exact.
TEST(Properties, Float32FromScaledMatchesHardware) {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 200000; ++i) {
    uint64_t mag = rng() >> (11 + rng() % 53); // < 2^53
    if (i % 4 == 0)
      mag |= 1; // sticky bits far below
    int exp = int(rng() % 360) - 230;
    bool neg = rng() & 1;
    double exact = std::ldexp(double(mag), exp) * (neg ? -1 : 1);
    float expected = float(exact);
    ASSERT_EQ(floatToBits(float32FromScaled(neg, mag, exp)),
              floatToBits(expected))
        << mag << " * 2^" << exp;
  }
  // Exact boundary cases.
  EXPECT_EQ(floatToBits(float32FromScaled(false, 1, -149)), 1u);
  EXPECT_EQ(floatToBits(float32FromScaled(false, 1, -150)),
            0u); // tie -> even 0
  EXPECT_EQ(floatToBits(float32FromScaled(false, 3, -151)),
            1u); // 0.75 ulp -> 1
  EXPECT_EQ(floatToBits(float32FromScaled(false, 3, -150)),
            2u); // 1.5 ulp tie -> 2
  EXPECT_EQ(floatToBits(float32FromScaled(true, (1ull << 24) - 1, -150)),
            0x80800000u);
  EXPECT_EQ(floatToBits(float32FromScaled(false, (1ull << 24) - 1, 104)),
            0x7f7fffffu);
  EXPECT_EQ(floatToBits(float32FromScaled(false, (1ull << 25) - 1, 103)),
            0x7f800000u);
  EXPECT_EQ(floatToBits(float32FromScaled(false, ~0ull, -190)), 0x00800000u);
  EXPECT_EQ(floatToBits(float32FromScaled(false, ~0ull, -4000)), 0u);
  EXPECT_EQ(floatToBits(float32FromScaled(true, 1, 5000)), 0xff800000u);
  EXPECT_EQ(floatToBits(float32FromScaled(true, 0, 7)), 0x80000000u);
}

TEST(Properties, WideConversionMatchesNarrow) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 50000; ++i) {
    uint64_t mag = rng() >> (rng() % 64);
    int exp = int(rng() % 500) - 300;
    int shift = int(rng() % 500);
    uint64_t limbs[10] = {};
    limbs[shift / 64] |= mag << (shift % 64);
    if (shift % 64)
      limbs[shift / 64 + 1] |= mag >> (64 - shift % 64);
    ASSERT_EQ(floatToBits(float32FromScaledLimbs(true, limbs, 10, exp - shift)),
              floatToBits(float32FromScaled(true, mag, exp)));
  }
  // A sticky bit 80 places below a tie decides the rounding.
  uint64_t limbs[3] = {1, uint64_t((1u << 24) + 1) << 16,
                       0}; // (2^24+1)*2^80 + 1
  EXPECT_EQ(floatToBits(float32FromScaledLimbs(false, limbs, 3, -81 - 23)),
            floatToBits(float(std::ldexp(double((1 << 23) + 1), -23))));
  limbs[0] = 0;
  EXPECT_EQ(floatToBits(float32FromScaledLimbs(false, limbs, 3, -81 - 23)),
            floatToBits(1.0f));
}

TEST(Properties, WideAccumulatorIsExact) {
  std::mt19937_64 rng(8);
  __extension__ typedef __int128 int128;
  __extension__ typedef unsigned __int128 uint128;
  for (int trial = 0; trial < 2000; ++trial) {
    WideKulischAccumulator acc;
    int128 reference = 0;
    int base =
        int(rng() % 400); // translation: the result must not depend on it
    WideKulischAccumulator shifted;
    for (int k = 0; k < 20; ++k) {
      uint64_t mag = rng() >> (16 + rng() % 48);
      int shift = int(rng() % 60);
      bool neg = rng() & 1;
      acc.add(neg, mag, shift);
      shifted.add(neg, mag, shift + base);
      int128 term = int128(mag) << shift;
      reference += neg ? -term : term;
    }
    bool neg = reference < 0;
    uint128 magnitude = neg ? -uint128(reference) : uint128(reference);
    uint64_t limbs[2] = {uint64_t(magnitude), uint64_t(magnitude >> 64)};
    int exp = int(rng() % 200) - 150;
    uint32_t expected = floatToBits(float32FromScaledLimbs(neg, limbs, 2, exp));
    ASSERT_EQ(acc.isNegative(), neg);
    ASSERT_EQ(acc.isZero(), reference == 0);
    ASSERT_EQ(floatToBits(acc.toFloat32(exp)), expected);
    ASSERT_EQ(floatToBits(shifted.toFloat32(exp - base)), expected);
  }
}

//===----------------------------------------------------------------------===//
// Tensor structure (section 2) and matmul (section 5).
//===----------------------------------------------------------------------===//

TEST(Properties, BlocksOfAnNdTensor) {
  std::mt19937_64 rng(9);
  const std::vector<int64_t> shape = {5, 7, 3};
  for (std::vector<int64_t> block : {std::vector<int64_t>{2, 0, 2},
                                     {-1, 3, 1},
                                     {1, 1, 1},
                                     {5, 7, 3},
                                     {8, 8, 8},
                                     {0, -1, 0}}) {
    std::vector<float> x = randomFloats(rng, 105);
    for (Format f : {Format{2, 3}, Format{8, 23}}) {
      QuantizedTensor t =
          quantize(x.data(), shape, f, block, Rounding::Stochastic, 3);
      ASSERT_EQ(t.verify(), "");
      std::vector<int64_t> nb = normalizeBlockShape(shape, block);
      EXPECT_EQ(t.block, nb);
      std::vector<int64_t> grid = t.gridShape();
      // Brute force: the maximum over each block by multi-index.
      std::vector<uint32_t> maxAbs(t.numBlocks(), 0);
      int64_t linear = 0;
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 7; ++j)
          for (int64_t k = 0; k < 3; ++k, ++linear) {
            int64_t b =
                ((i / nb[0]) * grid[1] + j / nb[1]) * grid[2] + k / nb[2];
            EXPECT_EQ(t.blockOf({i, j, k}), b);
            EXPECT_EQ(t.blockOfLinear(linear), b);
            maxAbs[b] =
                std::max(maxAbs[b], floatToBits(x[linear]) & 0x7fffffffu);
          }
      for (int64_t b = 0; b < t.numBlocks(); ++b)
        EXPECT_EQ(t.beta[b], chooseBetaFromMaxAbsBits(maxAbs[b], f)) << b;
    }
  }
}

TEST(Properties, EmptyAndScalarTensors) {
  float one = 1.5f;
  QuantizedTensor scalar = quantize(&one, {}, {2, 3}, {}, Rounding::Nearest, 0);
  EXPECT_EQ(scalar.numBlocks(), 1);
  EXPECT_EQ(dequantize(scalar), std::vector<float>{1.5f});
  QuantizedTensor empty =
      quantize(nullptr, {0, 4}, {2, 3}, {0, 2}, Rounding::Nearest, 0);
  EXPECT_EQ(empty.verify(), "");
  EXPECT_EQ(empty.numBlocks(), 0);
  EXPECT_TRUE(dequantize(empty).empty());
  // K = 0: the output is init.
  QuantizedTensor a =
      quantize(nullptr, {2, 0}, {2, 3}, {1, 0}, Rounding::Nearest, 0);
  QuantizedTensor b =
      quantize(nullptr, {0, 3}, {2, 3}, {0, 1}, Rounding::Nearest, 0);
  float init[6] = {1, -0.0f, 3, 4, 5, 6};
  std::vector<float> out = matmul(a, b, init);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(floatToBits(out[i]), floatToBits(init[i]));
}

TEST(Properties, ValidationMessages) {
  EXPECT_NE(validateBlockShape({4, 4}, {2}).find("rank"), std::string::npos);
  EXPECT_NE(validateBlockShape({4, 4}, {2, -3}).find("0 / -1"),
            std::string::npos);
  EXPECT_EQ(validateBlockShape({4, 4}, {0, -1}), "");
  float x[6] = {};
  QuantizedTensor a = quantize(x, {2, 3}, {2, 3}, {1, 3}, Rounding::Nearest, 0);
  QuantizedTensor b = quantize(x, {2, 3}, {2, 3}, {1, 3}, Rounding::Nearest, 0);
  EXPECT_NE(validateMatmul(a, b).find("reduction sizes differ"),
            std::string::npos);
  EXPECT_DEATH(matmul(a, b, nullptr), "reduction sizes differ");
  QuantizedTensor w =
      quantize(x, {3, 2}, {8, 23}, {3, 2}, Rounding::Nearest, 0);
  EXPECT_EQ(validateMatmul(a, w), "");
  EXPECT_DEATH(matmul(a, w, nullptr, KulischPath::Int64), "exceeds int64");
  EXPECT_DEATH(quantize(x, {2, 3}, {9, 3}, {1, 3}, Rounding::Nearest, 0),
               "0 <= e <= 8");
}

// Matmul against a double-precision model of section 5 where every run sum
// is exact in double (|P| < 2^53) and the conversion rounds once.
TEST(Properties, MatmulMatchesRunModel) {
  std::mt19937_64 rng(10);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct Config {
    Format fa, fb;
    int64_t M, K, N, bma, bka, bkb, bnb;
  };
  for (Config cfg : {Config{{2, 3}, {2, 3}, 5, 23, 4, 2, 4, 6, 3},
                     Config{{4, 3}, {2, 5}, 3, 17, 2, 1, 16, 16, 1},
                     Config{{0, 7}, {3, 2}, 4, 9, 5, 3, 0, 2, 2},
                     Config{{3, 0}, {2, 1}, 2, 31, 3, 0, 5, 7, 0}}) {
    SCOPED_TRACE(cfg.fa.name() + "x" + cfg.fb.name());
    std::vector<float> av(cfg.M * cfg.K), bv(cfg.K * cfg.N),
        init(cfg.M * cfg.N);
    for (float &v : av)
      v = normal(rng) * std::ldexp(1.0f, int(rng() % 9) - 4);
    for (float &v : bv)
      v = normal(rng);
    for (float &v : init)
      v = normal(rng);
    QuantizedTensor a =
        quantize(av.data(), {cfg.M, cfg.K}, cfg.fa, {cfg.bma, cfg.bka},
                 Rounding::Stochastic, rng());
    QuantizedTensor b = quantize(bv.data(), {cfg.K, cfg.N}, cfg.fb,
                                 {cfg.bkb, cfg.bnb}, Rounding::Nearest, 0);
    std::vector<float> out = matmul(a, b, init.data());
    for (int64_t i = 0; i < cfg.M; ++i)
      for (int64_t j = 0; j < cfg.N; ++j) {
        float acc = init[i * cfg.N + j];
        for (const ReductionRun &run :
             contractionRuns(cfg.K, a.block[1], b.block[0])) {
          double p = 0;
          for (int64_t k = run.begin; k < run.end; ++k)
            p += qToDouble(a.integerForm(i * cfg.K + k)) *
                 qToDouble(b.integerForm(k * cfg.N + j));
          int64_t ba = a.blockOf({i, run.begin}),
                  bb = b.blockOf({run.begin, j});
          int scale = a.scale(ba) + cfg.fa.c() + b.scale(bb) + cfg.fb.c();
          acc = acc + float(std::ldexp(p, scale));
        }
        EXPECT_EQ(floatToBits(out[i * cfg.N + j]), floatToBits(acc))
            << i << "," << j;
      }
  }
}

// Every exact accumulator path gives the same bits, also for wide formats
// whose run sums need more than 64 or 128 bits.
TEST(Properties, KulischPathsAgree) {
  std::mt19937_64 rng(11);
  for (auto [fa, fb] : {std::pair<Format, Format>{{2, 3}, {2, 5}},
                        {{5, 2}, {5, 2}},
                        {{6, 1}, {4, 3}},
                        {{8, 23}, {2, 3}},
                        {{8, 23}, {8, 23}},
                        {{8, 0}, {0, 23}}}) {
    SCOPED_TRACE(fa.name() + "x" + fb.name());
    std::vector<float> av = randomFloats(rng, 6 * 40),
                       bv = randomFloats(rng, 40 * 5);
    QuantizedTensor a =
        quantize(av.data(), {6, 40}, fa, {2, 8}, Rounding::Stochastic, 1);
    QuantizedTensor b =
        quantize(bv.data(), {40, 5}, fb, {12, 2}, Rounding::Nearest, 0);
    int width = kulischWidth(fa, fb, maxRunLength(40, 8, 12));
    std::vector<float> wide = matmul(a, b, nullptr, KulischPath::Wide);
    std::vector<float> autoOut = matmul(a, b, nullptr);
    for (size_t i = 0; i < wide.size(); ++i)
      EXPECT_EQ(floatToBits(autoOut[i]), floatToBits(wide[i])) << i;
    if (width <= 128) {
      std::vector<float> narrow = matmul(a, b, nullptr, KulischPath::Int128);
      for (size_t i = 0; i < wide.size(); ++i)
        EXPECT_EQ(floatToBits(narrow[i]), floatToBits(wide[i])) << i;
    }
    if (width <= 64) {
      std::vector<float> narrow = matmul(a, b, nullptr, KulischPath::Int64);
      for (size_t i = 0; i < wide.size(); ++i)
        EXPECT_EQ(floatToBits(narrow[i]), floatToBits(wide[i])) << i;
    }
  }
}

//===----------------------------------------------------------------------===//
// The `fit` scale rule (section 2).
//===----------------------------------------------------------------------===//

// Every legal format X<e,m>.
std::vector<Format> allFormats() {
  std::vector<Format> out;
  for (int e = 0; e <= 8; ++e)
    for (int m = 0; m <= 23; ++m)
      if (e + m >= 1)
        out.push_back({e, m});
  return out;
}

// The largest element magnitude of scale s, qmax * 2^(s+c), in double
// (exact: a <= 24-bit integer times a power of two in double range).
double largestMagnitude(Format f, int s) {
  return std::ldexp(double(f.qmaxSignificand()), f.maxShift() + s + f.c());
}

// Floats whose significand, normalized to 24 bits, is n, in the binade of
// 2^exp (exp in [-149, 127]); nullopt where float32 cannot hold it (low bits
// of a subnormal).
std::optional<uint32_t> floatWithSignificand(uint32_t n, int exp) {
  if (exp >= -126)
    return uint32_t(exp + 127) << 23 | (n & 0x7fffffu);
  int drop = -126 - exp; // subnormal: |x| = mantissa * 2^-149
  if (n & ((uint32_t(1) << drop) - 1))
    return std::nullopt;
  return n >> drop;
}

// exceedsFloorScale and the fit beta against double arithmetic, for every
// format, at the significands around each format's threshold and at random
// ones, in normal and subnormal binades.
TEST(Properties, FitRuleAgainstDouble) {
  std::mt19937_64 rng(21);
  std::uniform_int_distribution<uint32_t> sig(0x800000u, 0xffffffu);
  const int exps[] = {-149, -148, -140, -127, -126, -125, -3,
                      0,    1,    5,    100,  126,  127};
  int checked = 0, raised = 0;
  for (Format f : allFormats()) {
    SCOPED_TRACE(f.name());
    uint32_t threshold = f.fitThreshold();
    ASSERT_GE(threshold, 0x800000u);
    ASSERT_LE(threshold, 0xffffffu);
    std::vector<uint32_t> sigs = {0x800000u, 0xffffffu};
    for (int d = -2; d <= 2; ++d)
      if (int64_t(threshold) + d >= 0x800000 &&
          int64_t(threshold) + d <= 0xffffff)
        sigs.push_back(threshold + d);
    for (int i = 0; i < 20; ++i)
      sigs.push_back(sig(rng));
    for (int exp : exps)
      for (uint32_t n : sigs) {
        std::optional<uint32_t> bits = floatWithSignificand(n, exp);
        if (!bits)
          continue;
        double m = double(bitsToFloat(*bits));
        ASSERT_EQ(std::ilogb(m), exp);
        bool exceeds = m > largestMagnitude(f, exp);
        ASSERT_EQ(exceedsFloorScale(*bits, f), exceeds)
            << std::hex << *bits << std::dec << " = " << m;
        int s = exp + (exceeds ? 1 : 0);
        ASSERT_EQ(chooseBetaFromMaxAbsBits(*bits, f, ScaleRule::Fit),
                  std::clamp(f.emax() - s, -127, 127));
        ASSERT_EQ(chooseBetaFromMaxAbsBits(*bits, f, ScaleRule::Floor),
                  std::clamp(f.emax() - exp, -127, 127));
        // The sign bit is ignored.
        ASSERT_EQ(
            chooseBetaFromMaxAbsBits(*bits | 0x80000000u, f, ScaleRule::Fit),
            chooseBetaFromMaxAbsBits(*bits, f, ScaleRule::Fit));
        ++checked;
        raised += exceeds;
      }
    // Zero and non-finite maxima do not depend on the rule.
    EXPECT_EQ(chooseBetaFromMaxAbsBits(0, f, ScaleRule::Fit), 0);
    EXPECT_EQ(chooseBetaFromMaxAbsBits(0x7f800000u, f, ScaleRule::Fit),
              kNonFiniteBeta);
    EXPECT_EQ(chooseBetaFromMaxAbsBits(0x7fc00000u, f, ScaleRule::Fit),
              kNonFiniteBeta);
  }
  EXPECT_GT(raised, checked / 10);
  EXPECT_LT(raised, checked);
}

// Hand-checked thresholds: e2m1 keeps [1, 1.5] * 2^s and raises s above;
// e3m0 keeps only 2^s itself; e0m1 (qmax 1) keeps only 2^s; m = 23 with
// e >= 1 never raises.
TEST(Properties, FitThresholdExamples) {
  auto beta = [](float x, Format f) {
    return chooseBetaFromMaxAbsBits(floatToBits(x), f, ScaleRule::Fit);
  };
  Format e2m1{2, 1}, e3m0{3, 0}, e0m1{0, 1}, e8m23{8, 23}, e2m3{2, 3};
  EXPECT_EQ(beta(1.5f, e2m1), 1);                       // s = 0
  EXPECT_EQ(beta(std::nextafter(1.5f, 2.0f), e2m1), 0); // s = 1
  EXPECT_EQ(beta(1.0f, e3m0), 3);
  EXPECT_EQ(beta(std::nextafter(1.0f, 2.0f), e3m0), 2);
  EXPECT_EQ(beta(1.0f, e0m1), 0);
  EXPECT_EQ(beta(1.25f, e0m1), -1);
  EXPECT_EQ(beta(1.875f, e2m3), 1); // (2 - 2^-3): fits
  EXPECT_EQ(beta(1.9375f, e2m3), 0);
  EXPECT_EQ(beta(std::nextafter(2.0f, 0.0f), e8m23), 127); // s = 0 stays
  // Subnormal maxima: beta = emax - s reaches 127 at s = emax - 127, so
  // only emax = 0 formats (e <= 1) see the rule below 2^-126, in the binade
  // [2^-127, 2^-126) (bits 0x400000 = 2^-127).
  EXPECT_EQ(beta(bitsToFloat(0x400000u), e0m1), 127);
  EXPECT_EQ(beta(bitsToFloat(0x400001u), e0m1), 126);
  Format e1m4{1, 4}; // largest magnitude (2 - 2^-4) * 2^s = 0x7c0000 here
  EXPECT_EQ(beta(bitsToFloat(0x7c0000u), e1m4), 127);
  EXPECT_EQ(beta(bitsToFloat(0x7c0001u), e1m4), 126);
  EXPECT_EQ(beta(bitsToFloat(3), e0m1), 127); // clamped either way
  EXPECT_EQ(beta(bitsToFloat(7), e2m1), 127);
  // The lower clamp: the largest float32 under e0m3 would need s = 128,
  // beta = -128, which marks non-finite blocks; the clamp keeps -127 (and
  // that block's maximum saturates, as under floor).
  Format e0m3{0, 3};
  float big = std::numeric_limits<float>::max();
  EXPECT_EQ(beta(big, e0m3), -127);
  EXPECT_EQ(chooseBetaFromMaxAbsBits(floatToBits(big), e0m3, ScaleRule::Floor),
            -127);
  QuantizedTensor t =
      quantize(&big, {1}, e0m3, {1}, Rounding::Nearest, 0, ScaleRule::Fit);
  EXPECT_EQ(t.beta[0], -127);
  EXPECT_EQ(t.integerForm(0).toInt64(), 7);
}

// Under fit, no element of a block saturates unless the bias clamp applied:
// every |x| / 2^(s+c) <= qmax, so nearest rounding is within half a step
// everywhere, in every mode the result is at most qmax, and s is the floor
// rule's s or one more.
TEST(Properties, FitNeverSaturates) {
  std::mt19937_64 rng(22);
  std::uniform_real_distribution<float> top(1.5f, 2.0f);
  for (Format f : kFormats)
    for (Rounding r : kRoundings) {
      SCOPED_TRACE(f.name() + " " + std::string(roundingName(r)));
      for (int trial = 0; trial < 100; ++trial) {
        std::vector<float> x = randomFloats(rng, 32);
        if (trial % 2) // block maxima in the top band of their binade
          for (int b = 0; b < 4; ++b)
            x[b * 8 + trial % 8] =
                top(rng) * std::ldexp(1.0f, int(rng() % 100) - 50);
        QuantizedTensor fit =
            quantize(x.data(), {4, 8}, f, {1, 8}, r, trial, ScaleRule::Fit);
        QuantizedTensor floor = quantize(x.data(), {4, 8}, f, {1, 8}, r, trial);
        for (int64_t b = 0; b < 4; ++b) {
          int raise = floor.beta[b] - fit.beta[b];
          ASSERT_TRUE(raise == 0 || raise == 1) << "block " << b;
        }
        for (int64_t i = 0; i < 32; ++i) {
          int64_t b = i / 8;
          if (fit.beta[b] == -127)
            continue; // clamped: may saturate, as under floor
          int s = fit.scale(b);
          double tval = std::ldexp(std::fabs(double(x[i])), -(s + f.c()));
          ASSERT_LE(tval, qmaxDouble(f)) << "element " << i;
          double qv = std::fabs(qToDouble(fit.integerForm(i)));
          double step = gridStep(f, tval);
          ASSERT_LT(std::fabs(qv - tval), step) << "element " << i;
          if (r == Rounding::Nearest) {
            ASSERT_LE(std::fabs(qv - tval), step / 2) << "element " << i;
          }
        }
      }
    }
}

// What the quantize(dequantize(q)) fold relies on (BMOps.cpp): requantizing
// the values of a quantized tensor, under either rule, gives the same
// values, whichever rule made them (as long as every value is exact in
// float32). Under floor over floor the bits are the same too
// (QuantizeIsIdempotentOnGridValues); a fit block whose maximum rounded
// down out of the top binade may get a lower s, with the same values.
TEST(Properties, RequantizingKeepsTheValuesUnderEitherRule) {
  std::mt19937_64 rng(23);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> top(1.5f, 2.0f);
  const ScaleRule rules[] = {ScaleRule::Floor, ScaleRule::Fit};
  for (Format f : kFormats) {
    if (f.emax() - 127 + f.c() < -149)
      continue; // values below float32's subnormals: not exact, no fold
    for (Rounding r : kRoundings)
      for (ScaleRule made : rules)
        for (ScaleRule again : rules) {
          SCOPED_TRACE(f.name() + " " + std::string(roundingName(r)) + " " +
                       std::string(scaleRuleName(made)) + " then " +
                       std::string(scaleRuleName(again)));
          for (int trial = 0; trial < 20; ++trial) {
            std::vector<float> x(48);
            for (float &v : x)
              v = normal(rng) * std::ldexp(1.0f, int(rng() % 60) - 30);
            x[trial % 48] = top(rng) * std::ldexp(1.0f, int(rng() % 60) - 30);
            QuantizedTensor t =
                quantize(x.data(), {6, 8}, f, {3, 4}, r, trial, made);
            std::vector<float> y = dequantize(t);
            QuantizedTensor u =
                quantize(y.data(), {6, 8}, f, {3, 4}, r, trial + 1, again);
            std::vector<float> z = dequantize(u);
            for (size_t i = 0; i < y.size(); ++i)
              ASSERT_EQ(floatToBits(z[i]), floatToBits(y[i]))
                  << "element " << i;
          }
        }
  }
}

// Quantizing grid values again changes nothing (nearest, zero, stochastic).
TEST(Properties, QuantizeIsIdempotentOnGridValues) {
  std::mt19937_64 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Format f : kFormats)
    for (Rounding r : kRoundings) {
      std::vector<float> x(48);
      for (float &v : x)
        v = normal(rng) * 0.01f;
      QuantizedTensor t = quantize(x.data(), {6, 8}, f, {3, 4}, r, 5);
      std::vector<float> y = dequantize(t);
      QuantizedTensor u = quantize(y.data(), {6, 8}, f, {3, 4}, r, 6);
      EXPECT_EQ(u.beta, t.beta) << f.name();
      EXPECT_EQ(u.codes, t.codes) << f.name();
    }
}

} // namespace
