//===- Philox.cpp - Philox4x32-10 random words ----------------------------===//

#include "bm/Numerics/Philox.h"

namespace bm::numerics {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr,
                                      std::array<uint32_t, 2> key) {
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(kPhiloxM0) * ctr[0];
    uint64_t p1 = uint64_t(kPhiloxM1) * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ k0, uint32_t(p1),
           uint32_t(p0 >> 32) ^ ctr[3] ^ k1, uint32_t(p0)};
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  return ctr;
}

std::array<uint32_t, 4> randomWords(uint64_t seed, uint64_t group) {
  return philox4x32_10({uint32_t(group), uint32_t(group >> 32), 0, 0},
                       {uint32_t(seed), uint32_t(seed >> 32)});
}

uint32_t randomWord(uint64_t seed, uint64_t linearIndex) {
  return randomWords(seed, linearIndex >> 2)[linearIndex & 3];
}

} // namespace bm::numerics
