//===- PhiloxTest.cpp - Philox4x32-10 known answers -----------------------===//

#include "bm/Numerics/Philox.h"

#include <gtest/gtest.h>

#include <set>

using namespace bm::numerics;

namespace {

using Block = std::array<uint32_t, 4>;

// Known answers of numerics.md section 3.
TEST(Philox, ZeroCounterZeroKey) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
}

TEST(Philox, AllOnes) {
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                          {0xffffffff, 0xffffffff}),
            (Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
}

TEST(Philox, PiDigits) {
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                          {0xa4093822, 0x299f31d0}),
            (Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

// r_i is word (i mod 4) of the block with counter (lo32(i>>2), hi32(i>>2), 0,
// 0) and key (lo32(seed), hi32(seed)).
TEST(Philox, RandomWordLayout) {
  const uint64_t seed = 0x0123456789abcdefull;
  for (uint64_t i :
       {0ull, 1ull, 2ull, 3ull, 4ull, 7ull, 1000ull, 0x123456789ull,
        0xfffffffffffffffcull, 0xffffffffffffffffull}) {
    Block expected = philox4x32_10({uint32_t(i >> 2), uint32_t(i >> 34), 0, 0},
                                   {uint32_t(seed), uint32_t(seed >> 32)});
    EXPECT_EQ(randomWord(seed, i), expected[i & 3]) << "index " << i;
    EXPECT_EQ(randomWords(seed, i >> 2), expected) << "index " << i;
  }
  EXPECT_EQ(randomWord(0, 0), 0x6627e8d5u);
  EXPECT_EQ(randomWord(0, 3), 0x9b00dbd8u);
}

TEST(Philox, SeedsAndIndicesGiveDistinctWords) {
  std::set<uint32_t> seen;
  for (uint64_t seed = 0; seed < 16; ++seed)
    for (uint64_t i = 0; i < 64; ++i)
      seen.insert(randomWord(seed, i));
  // 1024 draws from 2^32 values: a collision is a ~1e-4 event.
  EXPECT_GE(seen.size(), 1023u);
}

} // namespace
