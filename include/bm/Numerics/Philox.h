//===- Philox.h - Counter-based random words for stochastic rounding -*- C++
//-*-===//
//
// Philox4x32-10 and the per-element random word (numerics.md section 3). A
// counter-based generator makes stochastic rounding reproducible on any
// machine and with any thread count: the word depends only on (seed, index).
//
//===----------------------------------------------------------------------===//

#ifndef BM_NUMERICS_PHILOX_H
#define BM_NUMERICS_PHILOX_H

#include <array>
#include <cstdint>

namespace bm::numerics {

/// Philox round multipliers and Weyl key increments (numerics.md section 3).
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;

/// One Philox4x32-10 block (numerics.md section 3).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key);

/// The four random words of element group `group` (elements 4*group ..
/// 4*group+3): Philox4x32-10 with counter (lo32(group), hi32(group), 0, 0)
/// and key (lo32(seed), hi32(seed)).
std::array<uint32_t, 4> randomWords(uint64_t seed, uint64_t group);

/// The 32-bit random word r of the element at row-major linear index
/// `linearIndex` (numerics.md section 3): word (i mod 4) of
/// randomWords(seed, i >> 2).
uint32_t randomWord(uint64_t seed, uint64_t linearIndex);

} // namespace bm::numerics

#endif // BM_NUMERICS_PHILOX_H
