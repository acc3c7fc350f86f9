//===- bm-sweep.cpp - Exhaustive checks of the BM quantizer --------------===//
//
// Two checks of `nearest` quantization against formulations written here
// from numerics.md alone (no function of the C++ reference is used to compute
// an expected value):
//
//   bm-sweep exhaustive [options]
//     Every float32 bit pattern (or a strided subset) through
//     bm::numerics::quantizeElement for each format, (a) as a single-element
//     block (beta chosen from the element itself) and (b) in fixed block
//     contexts (beta of a block whose largest magnitude is a chosen value;
//     elements above the block's range saturate). Expected codes come from
//     the format's grid points, enumerated from the code definition and
//     searched by exact integer comparison against the midpoints (ties to
//     the even code). Expected dequantized values are q * 2^(s+c) computed in
//     double (exact) and rounded once to float32 by the hardware conversion.
//     dequantizeElement of the expected code must give those bits, and the
//     reference's beta choice must give the expected beta.
//
//   bm-sweep compiled --lib L.so --function F --format eXmY --block B
//                     --chunk N --count T [--scale floor|fit]
//     T patterns (specials, subnormals, exponent boundaries and a hashed
//     walk over all exponents) through compiled code: `_mlir_ciface_F` of
//     the shared library L (a module with bm.quantize nearest, bm.unpack and
//     bm.dequantize on tensor<Nxf32> with block = [B] and the scale rule,
//     compiled by tools/bm-sweep/compiled_sweep.py without out-params: the
//     results come back in one struct); its codes, biases and dequantized
//     bits must equal the C++ reference's.
//
// Both exit 0 when nothing differs, 1 on any mismatch, 2 on a usage error.
//
//===----------------------------------------------------------------------===//

#include "bm/Numerics/Format.h"
#include "bm/Numerics/Quantize.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace num = bm::numerics;
__extension__ typedef unsigned __int128 u128;

namespace {

//===----------------------------------------------------------------------===//
// The independent formulation (numerics.md sections 1-4)
//===----------------------------------------------------------------------===//

uint32_t bitsOf(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float floatOf(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

/// A format's constants, from numerics.md section 1 as written there.
struct Spec {
  std::string name;
  int e = 0, m = 0;
  int emax = 0; // 2^(e-1) - 1 (e >= 1), 0 (e = 0)
  int c = 0;    // 2 - 2^e - m
  /// The non-negative grid: q of every code with the sign bit clear, in
  /// ascending order of q, with the code that has it.
  std::vector<uint64_t> q;
  std::vector<uint32_t> code;
};

bool makeSpec(const std::string &name, Spec &s) {
  int e = -1, m = -1;
  if (std::sscanf(name.c_str(), "e%dm%d", &e, &m) != 2 || e < 1 || e > 4 ||
      m < 1 || m > 10)
    return false; // the sweep covers small formats with e >= 1, m >= 1
  s.name = name;
  s.e = e;
  s.m = m;
  s.emax = (1 << (e - 1)) - 1;
  s.c = 2 - (1 << e) - m;
  std::vector<std::pair<uint64_t, uint32_t>> grid;
  for (uint32_t code = 0; code < (1u << (e + m)); ++code) {
    uint32_t E = code >> m, F = code & ((1u << m) - 1);
    uint64_t q = E == 0 ? F : (uint64_t((1u << m) + F) << (E - 1));
    grid.push_back({q, code});
  }
  std::sort(grid.begin(), grid.end());
  for (size_t i = 0; i + 1 < grid.size(); ++i)
    if (grid[i].first == grid[i + 1].first) {
      std::fprintf(stderr, "bm-sweep: %s: two codes with q = %llu\n",
                   name.c_str(), (unsigned long long)grid[i].first);
      std::exit(2);
    }
  for (auto &[q, code] : grid) {
    s.q.push_back(q);
    s.code.push_back(code);
  }
  return true;
}

/// beta of a block whose largest |x| is `maxAbs` (section 2), with
/// floor(log2) from frexp: |x| = f * 2^k, f in [0.5, 1).
int independentBeta(const Spec &s, float maxAbs) {
  if (std::isnan(maxAbs) || std::isinf(maxAbs))
    return -128;
  if (maxAbs == 0)
    return 0;
  int k;
  std::frexp(double(std::fabs(maxAbs)), &k);
  return std::clamp(s.emax - (k - 1), -127, 127);
}

/// Exact comparison of a * 2^x with b * 2^y (a, b < 2^62): -1, 0 or 1.
int compareScaled(uint64_t a, int x, uint64_t b, int y) {
  if (a == 0 || b == 0)
    return a == b ? 0 : (a == 0 ? -1 : 1);
  int ta = 64 - __builtin_clzll(a) + x, tb = 64 - __builtin_clzll(b) + y;
  if (ta != tb)
    return ta < tb ? -1 : 1;
  // Same top bit: the exponents differ by less than 64, so both fit 128 bits.
  u128 wa = a, wb = b;
  if (x > y)
    wa <<= (x - y);
  else
    wb <<= (y - x);
  return wa < wb ? -1 : (wa > wb ? 1 : 0);
}

/// q * 2^u rounded once to float32: exact in double (q < 2^53, u far inside
/// double's range), then the hardware's round-to-nearest-even conversion.
uint32_t independentDequantBits(bool negative, uint64_t q, int u) {
  double v = std::ldexp(double(q), u);
  float f = float(negative ? -v : v);
  return bitsOf(f);
}

/// Walks non-decreasing |x| on the grid of one unit exponent u = s + c,
/// keeping the index of the nearest grid point (ties to the even code).
struct NearestWalk {
  const Spec &spec;
  int u = 0;
  size_t idx = 0;
  uint64_t ties = 0;
  /// Expected dequantized bits of +q[i] and -q[i] at this unit.
  std::vector<uint32_t> deqPos, deqNeg;
  explicit NearestWalk(const Spec &s) : spec(s) {}

  void reset(int unit) {
    u = unit;
    idx = 0;
    deqPos.resize(spec.q.size());
    deqNeg.resize(spec.q.size());
    for (size_t i = 0; i < spec.q.size(); ++i) {
      deqPos[i] = independentDequantBits(false, spec.q[i], u);
      deqNeg[i] = independentDequantBits(true, spec.q[i], u);
    }
  }
  /// |x| = sig * 2^exp, not smaller than the previous one since reset().
  size_t advance(uint64_t sig, int exp) {
    const std::vector<uint64_t> &q = spec.q;
    while (idx + 1 < q.size()) {
      // Midpoint (q[i] + q[i+1]) / 2 * 2^u = (q[i] + q[i+1]) * 2^(u-1).
      int cmp = compareScaled(sig, exp, q[idx] + q[idx + 1], u - 1);
      if (cmp < 0)
        break;
      if (cmp == 0) {
        ++ties;
        if (spec.code[idx + 1] % 2 == 0)
          ++idx;
        break;
      }
      ++idx;
    }
    return idx;
  }
};

//===----------------------------------------------------------------------===//
// Exhaustive sweep
//===----------------------------------------------------------------------===//

struct Context {
  std::string label; // "self" or the block maximum
  bool self = false;
  float blockMax = 0;
};

struct Counters {
  uint64_t checked = 0, mismatches = 0, skipped = 0, ties = 0, saturated = 0,
           nonFinite = 0;
  void add(const Counters &o) {
    checked += o.checked;
    mismatches += o.mismatches;
    skipped += o.skipped;
    ties += o.ties;
    saturated += o.saturated;
    nonFinite += o.nonFinite;
  }
};

std::mutex reportMutex;
std::atomic<int> reported{0};

void reportMismatch(const Spec &s, const Context &ctx, uint32_t bits,
                    const char *what, uint64_t expected, uint64_t actual,
                    int beta) {
  if (reported.fetch_add(1) >= 20)
    return;
  std::lock_guard<std::mutex> lock(reportMutex);
  std::printf("MISMATCH %s context=%s x=0x%08x (%.9g) beta=%d %s: expected "
              "0x%llx, got 0x%llx\n",
              s.name.c_str(), ctx.label.c_str(), bits, double(floatOf(bits)),
              beta, what, (unsigned long long)expected,
              (unsigned long long)actual);
}

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/// Checks one element: expected code/beta/deq from the walk, actual from
/// the reference.
inline void checkOne(const Spec &s, const num::Format &f, const Context &ctx,
                     uint32_t bits, int beta, NearestWalk &walk,
                     Counters &cnt) {
  bool negative = bits >> 31;
  uint32_t absBits = bits & 0x7fffffffu;
  uint32_t biased = absBits >> 23, mant = absBits & 0x7fffffu;
  ++cnt.checked;
  if (biased == 0xff) { // NaN or Inf: a non-finite block
    ++cnt.nonFinite;
    if (!ctx.self) {
      ++cnt.skipped; // in a finite block context there is no such element
      --cnt.checked;
      return;
    }
    int refBeta = num::chooseBetaFromMaxAbsBits(absBits, f);
    uint32_t code = num::quantizeElement(floatOf(bits), f, refBeta,
                                         num::Rounding::Nearest, 0);
    uint32_t deq = bitsOf(num::dequantizeElement(0, f, refBeta));
    if (refBeta != -128 || code != 0 || deq != 0x7fc00000u) {
      ++cnt.mismatches;
      reportMismatch(s, ctx, bits, "non-finite (beta<<40|code<<32|deq)",
                     (uint64_t(uint8_t(-128)) << 40) | 0x7fc00000u,
                     (uint64_t(uint8_t(refBeta)) << 40) |
                         (uint64_t(code) << 32) | deq,
                     beta);
    }
    return;
  }
  uint64_t sig = biased ? (mant | 0x800000u) : mant;
  int exp = biased ? int(biased) - 150 : -149;
  size_t i = walk.advance(sig, exp);
  if (i + 1 == s.q.size() && compareScaled(sig, exp, s.q.back(), walk.u) > 0)
    ++cnt.saturated;
  uint32_t expectedCode = (uint32_t(negative) << (s.e + s.m)) | s.code[i];
  uint32_t expectedDeq = negative ? walk.deqNeg[i] : walk.deqPos[i];
  if (ctx.self) {
    int refBeta = num::chooseBetaFromMaxAbsBits(absBits, f);
    if (refBeta != beta) {
      ++cnt.mismatches;
      reportMismatch(s, ctx, bits, "beta", uint64_t(int64_t(beta)),
                     uint64_t(int64_t(refBeta)), beta);
      return;
    }
  }
  uint32_t code =
      num::quantizeElement(floatOf(bits), f, beta, num::Rounding::Nearest, 0);
  if (code != expectedCode) {
    ++cnt.mismatches;
    reportMismatch(s, ctx, bits, "code", expectedCode, code, beta);
    return;
  }
  uint32_t deq = bitsOf(num::dequantizeElement(expectedCode, f, beta));
  if (deq != expectedDeq) {
    ++cnt.mismatches;
    reportMismatch(s, ctx, bits, "dequantized bits", expectedDeq, deq, beta);
  }
}

/// One chunk: a sign and an exponent field, mantissas ascending (all of
/// them, or two per stride: k*S and k*S + hash % S).
void sweepChunk(const Spec &s, const Context &ctx, int chunk, uint32_t stride,
                Counters &cnt) {
  num::Format f{s.e, s.m};
  uint32_t sign = uint32_t(chunk >> 8) << 31;
  uint32_t biased = uint32_t(chunk & 0xff);
  NearestWalk walk(s);
  int fixedBeta = ctx.self ? 0 : independentBeta(s, ctx.blockMax);
  int currentBeta = 1 << 20;
  auto visit = [&](uint32_t mant) {
    uint32_t bits = sign | biased << 23 | mant;
    int beta = fixedBeta;
    // Single-element blocks: every normal of the chunk has the same
    // exponent, so its beta is computed once; subnormals each time.
    if (ctx.self && biased != 0xff)
      beta = biased != 0 && currentBeta != (1 << 20)
                 ? currentBeta
                 : independentBeta(s, std::fabs(floatOf(bits)));
    if (beta != currentBeta) { // a new grid: restart the walk
      currentBeta = beta;
      walk.reset(s.emax - beta + s.c);
    }
    checkOne(s, f, ctx, bits, beta, walk, cnt);
  };
  if (stride <= 1) {
    for (uint32_t mant = 0; mant < (1u << 23); ++mant)
      visit(mant);
  } else {
    for (uint32_t k = 0; k < (1u << 23) / stride; ++k) {
      uint32_t base = k * stride;
      visit(base);
      uint32_t off = uint32_t(mix((uint64_t(chunk) << 32) | k) % stride);
      if (off)
        visit(base + off);
    }
    visit((1u << 23) - 1); // the largest mantissa of the binade
  }
  cnt.ties += walk.ties;
}

int runExhaustive(const std::vector<std::string> &formats,
                  const std::vector<Context> &contexts, uint32_t stride,
                  unsigned threads) {
  std::printf("bm-sweep exhaustive: %s, stride %u, %u thread%s\n",
              stride <= 1 ? "all 2^32 float32 patterns"
                          : "strided float32 patterns",
              stride, threads, threads == 1 ? "" : "s");
  uint64_t totalMismatches = 0, totalChecked = 0;
  auto start = std::chrono::steady_clock::now();
  for (const std::string &name : formats) {
    Spec s;
    if (!makeSpec(name, s)) {
      std::fprintf(stderr, "bm-sweep: unsupported format '%s'\n", name.c_str());
      return 2;
    }
    for (const Context &ctx : contexts) {
      auto t0 = std::chrono::steady_clock::now();
      std::atomic<int> next{0};
      std::vector<Counters> perThread(threads);
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          for (int chunk; (chunk = next.fetch_add(1)) < 512;)
            sweepChunk(s, ctx, chunk, stride, perThread[t]);
        });
      for (std::thread &th : pool)
        th.join();
      Counters c;
      for (const Counters &p : perThread)
        c.add(p);
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      std::string beta =
          ctx.self ? "own" : std::to_string(independentBeta(s, ctx.blockMax));
      std::printf(
          "%-5s context=%-12s beta=%-4s checked=%llu mismatches=%llu "
          "ties=%llu saturated=%llu non-finite=%llu skipped=%llu "
          "time=%.1fs\n",
          s.name.c_str(), ctx.label.c_str(), beta.c_str(),
          (unsigned long long)c.checked, (unsigned long long)c.mismatches,
          (unsigned long long)c.ties, (unsigned long long)c.saturated,
          (unsigned long long)c.nonFinite, (unsigned long long)c.skipped, secs);
      std::fflush(stdout);
      totalMismatches += c.mismatches;
      totalChecked += c.checked;
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("total: checked=%llu mismatches=%llu time=%.1fs\n",
              (unsigned long long)totalChecked,
              (unsigned long long)totalMismatches, secs);
  return totalMismatches ? 1 : 0;
}

//===----------------------------------------------------------------------===//
// Compiled code
//===----------------------------------------------------------------------===//

/// The patterns of the compiled sweep, deterministic for a given count:
/// specials and boundaries first, then every subnormal order of magnitude,
/// then a hashed walk that visits every exponent field of both signs.
std::vector<uint32_t> compiledPatterns(uint64_t count) {
  std::vector<uint32_t> p;
  for (uint32_t sign : {0u, 0x80000000u}) {
    for (uint32_t v :
         {0x00000000u, 0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fffffffu,
          0x00000001u, 0x007fffffu, 0x00800000u, 0x7f7fffffu, 0x3f800000u})
      p.push_back(sign | v);
    for (uint32_t biased = 0; biased < 255; ++biased)
      for (uint32_t mant : {0u, 1u, 0x400000u, 0x7fffffu})
        p.push_back(sign | biased << 23 | mant);
    for (int bit = 0; bit < 23; ++bit) // subnormals of every length
      for (uint32_t low : {0u, 1u})
        p.push_back(sign | (1u << bit) | (bit ? low : 0));
  }
  // The walk: pattern i of the rest lies in exponent field (i mod 510) /
  // 2 with sign i mod 2 and a hashed mantissa; every 4th has its low bits
  // cleared so that ties of every format occur.
  for (uint64_t i = 0; p.size() < count; ++i) {
    uint32_t slot = uint32_t(i % 510);
    uint32_t sign = (slot & 1) << 31, biased = slot >> 1;
    uint32_t mant = uint32_t(mix(i) & 0x7fffffu);
    if (i % 4 == 1)
      mant &= ~((1u << (mix(i + 7) % 23)) - 1);
    p.push_back(sign | biased << 23 | mant);
  }
  if (p.size() > count)
    p.resize(count);
  return p;
}

template <typename T> struct MemRef1D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};
struct QuantResults {
  MemRef1D<int8_t> codes;
  MemRef1D<int8_t> biases;
  MemRef1D<float> dequantized;
};
using QuantFn = void (*)(QuantResults *, MemRef1D<float> *);

int runCompiled(const std::string &lib, const std::string &function,
                const std::string &formatName, int64_t block, int64_t chunk,
                uint64_t count, num::ScaleRule rule) {
  std::optional<num::Format> f = num::Format::parse(formatName);
  if (!f || f->storageBits() != 8 || block < 1 || chunk < 1 ||
      chunk % block != 0) {
    std::fprintf(stderr, "bm-sweep compiled: need an 8-bit format, block >= "
                         "1 and a chunk that is a multiple of the block\n");
    return 2;
  }
  void *handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "bm-sweep compiled: %s\n", dlerror());
    return 2;
  }
  std::string symbol = "_mlir_ciface_" + function;
  auto fn = reinterpret_cast<QuantFn>(dlsym(handle, symbol.c_str()));
  if (!fn) {
    std::fprintf(stderr, "bm-sweep compiled: no %s in %s\n", symbol.c_str(),
                 lib.c_str());
    return 2;
  }
  std::vector<uint32_t> patterns = compiledPatterns(count);
  if (block > 1) {
    // Blocked: jitter each exponent by 0..7 binades (finite values only),
    // so that a block mixes grid steps, flushes and saturation-free maxima.
    for (size_t i = 0; i < patterns.size(); ++i) {
      uint32_t b = patterns[i], biased = (b >> 23) & 0xff;
      if (biased == 0 || biased == 0xff)
        continue;
      uint32_t down = uint32_t(mix(i * 31 + 5) % 8);
      uint32_t nb = biased > down ? biased - down : 1;
      patterns[i] = (b & 0x807fffffu) | nb << 23;
    }
  }
  uint64_t mismatches = 0, blocks = 0, nonFiniteBlocks = 0;
  int shown = 0;
  auto report = [&](const char *what, uint64_t i, uint64_t expected,
                    uint64_t actual) {
    ++mismatches;
    if (shown++ < 20)
      std::printf("MISMATCH %s block=%lld element %llu (x=0x%08x) %s: "
                  "expected 0x%llx, got 0x%llx\n",
                  formatName.c_str(), (long long)block, (unsigned long long)i,
                  patterns[i], what, (unsigned long long)expected,
                  (unsigned long long)actual);
  };
  std::vector<float> in(chunk);
  auto t0 = std::chrono::steady_clock::now();
  double compiledSecs = 0;
  for (uint64_t base = 0; base < patterns.size(); base += chunk) {
    uint64_t n = std::min<uint64_t>(chunk, patterns.size() - base);
    for (int64_t i = 0; i < chunk; ++i) // pad a last partial chunk with zeros
      in[i] = floatOf(uint64_t(i) < n ? patterns[base + i] : 0u);
    MemRef1D<float> arg{in.data(), in.data(), 0, chunk, 1};
    QuantResults out{};
    auto c0 = std::chrono::steady_clock::now();
    fn(&out, &arg);
    compiledSecs +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - c0)
            .count();
    if (out.codes.size != chunk || out.biases.size != chunk / block ||
        out.dequantized.size != chunk) {
      std::fprintf(stderr, "bm-sweep compiled: unexpected result sizes\n");
      return 2;
    }
    auto at = [](auto &ref, int64_t i) {
      return ref.aligned[ref.offset + i * ref.stride];
    };
    for (int64_t blk = 0; blk * block < int64_t(n); ++blk) {
      int64_t first = blk * block;
      int beta = num::chooseBeta(in.data() + first, block, *f, rule);
      ++blocks;
      nonFiniteBlocks += beta == num::kNonFiniteBeta;
      int8_t gotBeta = at(out.biases, blk);
      if (gotBeta != int8_t(beta))
        report("bias", base + first, uint8_t(beta), uint8_t(gotBeta));
      for (int64_t i = first; i < first + block && uint64_t(i) < n; ++i) {
        uint32_t code =
            num::quantizeElement(in[i], *f, beta, num::Rounding::Nearest, 0);
        uint8_t gotCode = uint8_t(at(out.codes, i));
        if (gotCode != code)
          report("code", base + i, code, gotCode);
        uint32_t deq = bitsOf(num::dequantizeElement(code, *f, beta));
        uint32_t gotDeq = bitsOf(at(out.dequantized, i));
        if (gotDeq != deq)
          report("dequantized bits", base + i, deq, gotDeq);
      }
    }
    // The compiled code allocates its results; the caller frees them.
    void *freed[3] = {out.codes.allocated, out.biases.allocated,
                      out.dequantized.allocated};
    for (int i = 0; i < 3; ++i) {
      bool dup = false;
      for (int j = 0; j < i; ++j)
        dup |= freed[j] == freed[i];
      if (!dup)
        std::free(freed[i]);
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("%-5s block=%-4lld scale=%s patterns=%llu blocks=%llu "
              "non-finite-blocks=%llu mismatches=%llu time=%.1fs "
              "(compiled code %.2fs)\n",
              formatName.c_str(), (long long)block,
              std::string(num::scaleRuleName(rule)).c_str(),
              (unsigned long long)patterns.size(), (unsigned long long)blocks,
              (unsigned long long)nonFiniteBlocks,
              (unsigned long long)mismatches, secs, compiledSecs);
  return mismatches ? 1 : 0;
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

std::vector<std::string> splitComma(const std::string &text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: bm-sweep exhaustive [--formats e2m3,e3m2,e2m5,e4m3]\n"
      "                 [--contexts self,1.0] [--stride S] [--threads N]\n"
      "       bm-sweep compiled --lib L.so --function F --format eXmY\n"
      "                 --block B --chunk N --count T [--scale floor|fit]\n"
      "  --contexts: 'self' = single-element blocks; a number = a block\n"
      "  whose largest magnitude is that value (its beta is used for every\n"
      "  element). --stride S (a power of two): mantissas k*S and\n"
      "  k*S + hash(k) mod S of every exponent field instead of all.\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return usage();
  std::string mode = argv[1];
  std::vector<std::string> formats = {"e2m3", "e3m2", "e2m5", "e4m3"};
  std::vector<std::string> contextNames = {"self", "1.0"};
  uint32_t stride = 1;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string lib, function = "quant", format, scale = "floor";
  int64_t block = 1, chunk = 1 << 20;
  uint64_t count = 1 << 24;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      return usage();
    std::string value = argv[++i];
    if (arg == "--formats")
      formats = splitComma(value);
    else if (arg == "--contexts")
      contextNames = splitComma(value);
    else if (arg == "--stride")
      stride = uint32_t(std::strtoul(value.c_str(), nullptr, 0));
    else if (arg == "--threads")
      threads = unsigned(std::max(1l, std::strtol(value.c_str(), nullptr, 0)));
    else if (arg == "--lib")
      lib = value;
    else if (arg == "--function")
      function = value;
    else if (arg == "--format")
      format = value;
    else if (arg == "--block")
      block = std::strtoll(value.c_str(), nullptr, 0);
    else if (arg == "--chunk")
      chunk = std::strtoll(value.c_str(), nullptr, 0);
    else if (arg == "--count")
      count = std::strtoull(value.c_str(), nullptr, 0);
    else if (arg == "--scale")
      scale = value;
    else
      return usage();
  }
  if (mode == "exhaustive") {
    if (stride == 0 || (stride & (stride - 1)) || stride > (1u << 22))
      return usage();
    std::vector<Context> contexts;
    for (const std::string &name : contextNames) {
      Context ctx;
      ctx.label = name;
      if (name == "self") {
        ctx.self = true;
      } else {
        char *end = nullptr;
        ctx.blockMax = std::strtof(name.c_str(), &end);
        if (!end || *end || !std::isfinite(ctx.blockMax) || ctx.blockMax <= 0)
          return usage();
      }
      contexts.push_back(ctx);
    }
    return runExhaustive(formats, contexts, stride, threads);
  }
  if (mode == "compiled") {
    std::optional<num::ScaleRule> rule = num::parseScaleRule(scale);
    if (lib.empty() || format.empty() || !rule)
      return usage();
    return runCompiled(lib, function, format, block, chunk, count, *rule);
  }
  return usage();
}
