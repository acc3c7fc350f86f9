//===- FormatTest.cpp - Format constants and Kulisch widths ---------------===//

#include "bm/Numerics/Format.h"
#include "bm/Numerics/Kulisch.h"

#include <gtest/gtest.h>

using namespace bm::numerics;

namespace {

struct TableRow {
  const char *name;
  int e, m;
  uint64_t qmax;
  int emax, c, qmaxBits;
};

// The table of numerics.md section 1 (qmax), with emax = 2^(e-1)-1 and
// c = 2 - 2^e - m.
const TableRow kTable[] = {
    {"e2m5", 2, 5, 252, 1, -7, 8}, {"e4m3", 4, 3, 245760, 7, -17, 18},
    {"e2m3", 2, 3, 60, 1, -5, 6},  {"e3m2", 3, 2, 448, 3, -8, 9},
    {"e2m2", 2, 2, 28, 1, -4, 5},  {"e3m1", 3, 1, 192, 3, -7, 8},
    {"e2m1", 2, 1, 12, 1, -3, 4},  {"e3m0", 3, 0, 64, 3, -6, 7},
};

TEST(Format, SpecTable) {
  for (const TableRow &row : kTable) {
    SCOPED_TRACE(row.name);
    Format f{row.e, row.m};
    EXPECT_TRUE(f.isValid());
    EXPECT_EQ(f.name(), row.name);
    EXPECT_EQ(f.qmax(), row.qmax);
    EXPECT_EQ(f.emax(), row.emax);
    EXPECT_EQ(f.c(), row.c);
    EXPECT_EQ(f.qmaxBits(), row.qmaxBits);
    EXPECT_TRUE(f.qmaxFitsIn64());
    EXPECT_EQ(f.codeBits(), 1 + row.e + row.m);
    EXPECT_EQ(f.storageBits(), 8);
    // qmax has exactly qmaxBits bits.
    EXPECT_EQ(row.qmax >> (row.qmaxBits - 1), 1u);
  }
}

TEST(Format, FixedPointAndWide) {
  Format e0m7{0, 7};
  EXPECT_EQ(e0m7.emax(), 0);
  EXPECT_EQ(e0m7.c(), -6);
  EXPECT_EQ(e0m7.qmax(), 127u);
  EXPECT_EQ(e0m7.qmaxBits(), 7);
  EXPECT_EQ(e0m7.storageBits(), 8);

  Format e5m2{5, 2};
  EXPECT_EQ(e5m2.qmaxBits(), 33);
  EXPECT_EQ(e5m2.qmax(), 7ull << 30);
  EXPECT_EQ(e5m2.storageBits(), 8);

  Format e1m4{1, 4};
  EXPECT_EQ(e1m4.emax(), 0);
  EXPECT_EQ(e1m4.qmax(), 31u); // 2^(e)-2 = 0: no binade shift

  Format e6m0{6, 0};
  EXPECT_EQ(e6m0.qmaxBits(), 63);
  EXPECT_TRUE(e6m0.qmaxFitsIn64());
  EXPECT_EQ(e6m0.qmax(), 1ull << 62);

  Format e6m1{6, 1};
  EXPECT_EQ(e6m1.qmaxBits(), 64);
  EXPECT_FALSE(e6m1.qmaxFitsIn64());

  Format e8m23{8, 23};
  EXPECT_EQ(e8m23.qmaxBits(), 278);
  EXPECT_FALSE(e8m23.qmaxFitsIn64());
  EXPECT_EQ(e8m23.emax(), 127);
  EXPECT_EQ(e8m23.c(), -277);
  EXPECT_EQ(e8m23.codeBits(), 32);
  EXPECT_EQ(e8m23.storageBits(), 32);
  EXPECT_EQ((Format{4, 11}).storageBits(), 16);
  EXPECT_EQ((Format{4, 12}).storageBits(), 32);
}

TEST(Format, ValidateAcceptsTheWholeLegalRange) {
  int legal = 0;
  for (int e = -2; e <= 10; ++e)
    for (int m = -2; m <= 25; ++m) {
      bool expected = e >= 0 && e <= 8 && m >= 0 && m <= 23 && e + m >= 1;
      EXPECT_EQ(Format::validate(e, m).empty(), expected) << e << "," << m;
      EXPECT_EQ((Format{e, m}).isValid(), expected) << e << "," << m;
      legal += expected;
    }
  EXPECT_EQ(legal, 9 * 24 - 1);
}

TEST(Format, ValidateMessagesSayWhatToChange) {
  std::string bigE = Format::validate(9, 3);
  EXPECT_NE(bigE.find("e9m3"), std::string::npos) << bigE;
  EXPECT_NE(bigE.find("0 <= e <= 8"), std::string::npos) << bigE;

  std::string negE = Format::validate(-1, 3);
  EXPECT_NE(negE.find("0 <= e <= 8"), std::string::npos) << negE;

  std::string bigM = Format::validate(2, 24);
  EXPECT_NE(bigM.find("mantissa"), std::string::npos) << bigM;
  EXPECT_NE(bigM.find("0 <= m <= 23"), std::string::npos) << bigM;

  std::string empty = Format::validate(0, 0);
  EXPECT_NE(empty.find("e + m >= 1"), std::string::npos) << empty;
}

TEST(Format, Parse) {
  EXPECT_EQ(Format::parse("e2m3"), (Format{2, 3}));
  EXPECT_EQ(Format::parse("e0m7"), (Format{0, 7}));
  EXPECT_EQ(Format::parse("e8m23"), (Format{8, 23}));
  EXPECT_EQ(Format::parse("e3m0"), (Format{3, 0}));
  for (const char *bad : {"", "e", "e2", "e2m", "m3", "E2M3", "e2m3 ", " e2m3",
                          "e02m3", "e2m03", "e-1m3", "e+2m3", "e9m3", "e2m24",
                          "e0m0", "e100m1", "e2m3x", "bm8", "e2.0m3"})
    EXPECT_FALSE(Format::parse(bad)) << '"' << bad << '"';
  // name() and parse() round-trip over every legal format.
  for (int e = 0; e <= 8; ++e)
    for (int m = 0; m <= 23; ++m) {
      if (Format{e, m}.isValid()) {
        EXPECT_EQ(Format::parse(Format{e, m}.name()), (Format{e, m}));
      }
    }
}

TEST(Format, RoundingNames) {
  for (Rounding r : {Rounding::Nearest, Rounding::Stochastic, Rounding::Zero})
    EXPECT_EQ(parseRounding(roundingName(r)), r);
  EXPECT_FALSE(parseRounding("Nearest"));
  EXPECT_FALSE(parseRounding("rne"));
}

// numerics.md section 5.
TEST(Kulisch, WidthExamples) {
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 48), 19);
  EXPECT_EQ(kulischWidth({4, 3}, {2, 5}, 48), 33);
  EXPECT_EQ(kulischStorageBits(19), 32);
  EXPECT_EQ(kulischStorageBits(33), 64);
  // ceil(log2 L): exact powers of two add no extra bit.
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 1), 13);
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 2), 14);
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 32), 18);
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 33), 19);
  EXPECT_EQ(kulischWidth({2, 3}, {2, 3}, 0), 13);
  EXPECT_EQ(kulischWidth({8, 23}, {8, 23}, int64_t(1) << 40),
            278 + 278 + 40 + 1);
}

TEST(Kulisch, StorageBits) {
  EXPECT_EQ(kulischStorageBits(1), 16);
  EXPECT_EQ(kulischStorageBits(16), 16);
  EXPECT_EQ(kulischStorageBits(17), 32);
  EXPECT_EQ(kulischStorageBits(32), 32);
  EXPECT_EQ(kulischStorageBits(64), 64);
  EXPECT_EQ(kulischStorageBits(65), 0);
}

TEST(Kulisch, CeilLog2) {
  EXPECT_EQ(ceilLog2(0), 0);
  EXPECT_EQ(ceilLog2(1), 0);
  EXPECT_EQ(ceilLog2(2), 1);
  EXPECT_EQ(ceilLog2(3), 2);
  EXPECT_EQ(ceilLog2(48), 6);
  EXPECT_EQ(ceilLog2(64), 6);
  EXPECT_EQ(ceilLog2(65), 7);
  EXPECT_EQ(ceilLog2(~0ull), 64);
}

TEST(Kulisch, RunsAreTheCommonRefinement) {
  auto bounds = [](int64_t len, int64_t a, int64_t b) {
    std::vector<std::pair<int64_t, int64_t>> v;
    for (const ReductionRun &r : contractionRuns(len, a, b))
      v.push_back({r.begin, r.end});
    return v;
  };
  using V = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(bounds(12, 4, 6), (V{{0, 4}, {4, 6}, {6, 8}, {8, 12}}));
  EXPECT_EQ(bounds(10, 4, 4), (V{{0, 4}, {4, 8}, {8, 10}}));
  EXPECT_EQ(bounds(5, 16, 16), (V{{0, 5}}));
  EXPECT_EQ(bounds(7, 1, 3),
            (V{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}));
  EXPECT_EQ(bounds(0, 4, 4), V{});
  EXPECT_EQ(maxRunLength(12, 4, 6), 4);
  EXPECT_EQ(maxRunLength(3, 4, 6), 3);
  EXPECT_EQ(maxRunLength(0, 4, 6), 0);
  // The longest run really is min(blockA, blockB, length).
  for (int64_t len = 1; len < 30; ++len)
    for (int64_t a = 1; a < 9; ++a)
      for (int64_t b = 1; b < 9; ++b) {
        int64_t longest = 0;
        for (const ReductionRun &r : contractionRuns(len, a, b))
          longest = std::max(longest, r.size());
        EXPECT_EQ(longest, maxRunLength(len, a, b))
            << len << " " << a << " " << b;
      }
}

} // namespace
