//===- Reference.cpp - Tensor-level BM reference numerics -----------------===//

#include "bm/Numerics/Reference.h"

#include "bm/Numerics/Kulisch.h"
#include "bm/Numerics/Philox.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

// The canonical matmul is defined by float32 additions (numerics.md section
// 5); excess precision or reassociation would silently change the bits.
#if defined(__FAST_MATH__)
#error "bm::numerics must not be compiled with -ffast-math"
#endif
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error                                                                         \
    "bm::numerics needs float arithmetic evaluated in float (FLT_EVAL_METHOD 0)"
#endif

namespace bm::numerics {

[[noreturn]] static void fatal(const std::string &message) {
  std::fprintf(stderr, "bm::numerics: %s\n", message.c_str());
  std::abort();
}

static std::string shapeText(const std::vector<int64_t> &v) {
  std::string text = "[";
  for (size_t i = 0; i < v.size(); ++i)
    text += (i ? ", " : "") + std::to_string(v[i]);
  return text + "]";
}

static int64_t product(const std::vector<int64_t> &v) {
  int64_t p = 1;
  for (int64_t d : v)
    p *= d;
  return p;
}

//===----------------------------------------------------------------------===//
// Block shapes (numerics.md section 2)
//===----------------------------------------------------------------------===//

std::string validateBlockShape(const std::vector<int64_t> &shape,
                               const std::vector<int64_t> &block) {
  if (block.size() != shape.size())
    return "block shape " + shapeText(block) + " has rank " +
           std::to_string(block.size()) + " but the tensor shape " +
           shapeText(shape) + " has rank " + std::to_string(shape.size()) +
           "; give one block size per dimension";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0)
      return "tensor shape " + shapeText(shape) + " has a negative dimension";
    if (block[d] < -1)
      return "block shape " + shapeText(block) + ": entry " +
             std::to_string(d) + " is " + std::to_string(block[d]) +
             "; use a tile size >= 1, or 0 / -1 for the whole dimension";
  }
  return "";
}

std::vector<int64_t> normalizeBlockShape(const std::vector<int64_t> &shape,
                                         const std::vector<int64_t> &block) {
  std::vector<int64_t> normalized(block);
  for (size_t d = 0; d < shape.size(); ++d)
    if (normalized[d] <= 0)
      normalized[d] = std::max<int64_t>(shape[d], 1);
  return normalized;
}

std::vector<int64_t> blockGridShape(const std::vector<int64_t> &shape,
                                    const std::vector<int64_t> &block) {
  std::vector<int64_t> grid(shape.size());
  for (size_t d = 0; d < shape.size(); ++d)
    grid[d] = (shape[d] + block[d] - 1) / block[d];
  return grid;
}

// Calls fn(linearIndex, blockIndex) for every element in row-major order.
// The block index of the outer dimensions is computed once per innermost row.
template <typename Fn>
static void forEachElement(const std::vector<int64_t> &shape,
                           const std::vector<int64_t> &block, Fn fn) {
  size_t rank = shape.size();
  if (rank == 0) {
    fn(int64_t(0), int64_t(0));
    return;
  }
  if (product(shape) == 0)
    return;
  std::vector<int64_t> grid = blockGridShape(shape, block);
  std::vector<int64_t> gridStride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;)
    gridStride[d] = gridStride[d + 1] * grid[d + 1];
  std::vector<int64_t> outer(rank - 1, 0);
  int64_t inner = shape[rank - 1], innerBlock = block[rank - 1];
  int64_t linear = 0;
  while (true) {
    int64_t base = 0;
    for (size_t d = 0; d + 1 < rank; ++d)
      base += outer[d] / block[d] * gridStride[d];
    for (int64_t i = 0; i < inner; ++i)
      fn(linear++, base + i / innerBlock);
    size_t d = rank - 1;
    while (d > 0) {
      if (++outer[d - 1] < shape[d - 1])
        break;
      outer[d - 1] = 0;
      --d;
    }
    if (d == 0)
      return;
  }
}

//===----------------------------------------------------------------------===//
// QuantizedTensor
//===----------------------------------------------------------------------===//

int64_t QuantizedTensor::numElements() const { return product(shape); }

int64_t QuantizedTensor::numBlocks() const { return product(gridShape()); }

int64_t QuantizedTensor::blockOf(const std::vector<int64_t> &index) const {
  std::vector<int64_t> grid = gridShape();
  int64_t b = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    b = b * grid[d] + index[d] / block[d];
  return b;
}

int64_t QuantizedTensor::blockOfLinear(int64_t linearIndex) const {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = linearIndex % shape[d];
    linearIndex /= shape[d];
  }
  return blockOf(index);
}

std::string QuantizedTensor::verify() const {
  if (std::string msg = Format::validate(format.e, format.m); !msg.empty())
    return msg;
  if (std::string msg = validateBlockShape(shape, block); !msg.empty())
    return msg;
  for (int64_t b : block)
    if (b < 1)
      return "block shape " + shapeText(block) +
             " is not normalized (0/-1 entries)";
  if (int64_t(beta.size()) != numBlocks())
    return "tensor has " + std::to_string(beta.size()) + " betas but " +
           std::to_string(numBlocks()) + " blocks";
  if (int64_t(codes.size()) != numElements())
    return "tensor has " + std::to_string(codes.size()) + " codes but " +
           std::to_string(numElements()) + " elements";
  uint64_t codeLimit = uint64_t(1) << format.codeBits();
  for (uint32_t code : codes)
    if (code >= codeLimit)
      return "code " + std::to_string(code) + " has bits above the " +
             std::to_string(format.codeBits()) + "-bit code of " +
             format.name();
  return "";
}

//===----------------------------------------------------------------------===//
// Quantize / dequantize (numerics.md sections 2-4)
//===----------------------------------------------------------------------===//

QuantizedTensor quantize(const float *x, std::vector<int64_t> shape, Format f,
                         std::vector<int64_t> block, Rounding r, uint64_t seed,
                         ScaleRule scale) {
  if (std::string msg = Format::validate(f.e, f.m); !msg.empty())
    fatal(msg);
  if (std::string msg = validateBlockShape(shape, block); !msg.empty())
    fatal(msg);
  QuantizedTensor t;
  t.format = f;
  t.block = normalizeBlockShape(shape, block);
  t.shape = std::move(shape);
  int64_t numBlocks = t.numBlocks();

  // Pass 1: the largest |x| per block, compared as bits (see
  // chooseBetaFromMaxAbsBits), then beta.
  std::vector<uint32_t> maxAbs(numBlocks, 0);
  forEachElement(t.shape, t.block, [&](int64_t i, int64_t b) {
    maxAbs[b] = std::max(maxAbs[b], floatToBits(x[i]) & 0x7fffffffu);
  });
  t.beta.resize(numBlocks);
  for (int64_t b = 0; b < numBlocks; ++b)
    t.beta[b] = int8_t(chooseBetaFromMaxAbsBits(maxAbs[b], f, scale));

  // Pass 2: codes. One Philox block serves four consecutive elements.
  t.codes.resize(t.numElements());
  std::array<uint32_t, 4> words{};
  int64_t wordsGroup = -1;
  forEachElement(t.shape, t.block, [&](int64_t i, int64_t b) {
    uint32_t word = 0;
    if (r == Rounding::Stochastic) {
      if ((i >> 2) != wordsGroup) {
        wordsGroup = i >> 2;
        words = randomWords(seed, uint64_t(wordsGroup));
      }
      word = words[i & 3];
    }
    t.codes[i] = quantizeElement(x[i], f, t.beta[b], r, word);
  });
  return t;
}

std::vector<float> dequantize(const QuantizedTensor &t) {
  if (std::string msg = t.verify(); !msg.empty())
    fatal(msg);
  std::vector<float> out(t.numElements());
  forEachElement(t.shape, t.block, [&](int64_t i, int64_t b) {
    out[i] = dequantizeElement(t.codes[i], t.format, t.beta[b]);
  });
  return out;
}

//===----------------------------------------------------------------------===//
// Canonical matmul (numerics.md section 5)
//===----------------------------------------------------------------------===//

std::string validateMatmul(const QuantizedTensor &a, const QuantizedTensor &b) {
  if (std::string msg = a.verify(); !msg.empty())
    return "operand A: " + msg;
  if (std::string msg = b.verify(); !msg.empty())
    return "operand B: " + msg;
  if (a.shape.size() != 2 || b.shape.size() != 2)
    return "matmul needs 2-D operands, got A " + shapeText(a.shape) +
           " and B " + shapeText(b.shape);
  if (a.shape[1] != b.shape[0])
    return "matmul reduction sizes differ: A " + shapeText(a.shape) + " x B " +
           shapeText(b.shape) + "; A's columns must equal B's rows";
  return "";
}

namespace {
__extension__ typedef unsigned __int128 uint128;

// Sums the exact products of a run in the accumulator type, then converts
// once. Integer accumulators wrap as two's complement (well defined for
// unsigned types); kulischWidth guarantees the true sum fits, so the final
// bit pattern is P.
struct Int64Run {
  uint64_t sum = 0;
  void add(const IntegerForm &x, const IntegerForm &y) {
    uint64_t mag = (uint64_t(x.significand) * y.significand)
                   << (x.shift + y.shift);
    sum += (x.negative != y.negative) ? -mag : mag;
  }
  float toFloat32(int exponent) const {
    bool negative = (sum >> 63) != 0;
    return float32FromScaled(negative, negative ? -sum : sum, exponent);
  }
};

struct Int128Run {
  uint128 sum = 0;
  void add(const IntegerForm &x, const IntegerForm &y) {
    uint128 mag = uint128(uint64_t(x.significand) * y.significand)
                  << (x.shift + y.shift);
    sum += (x.negative != y.negative) ? -mag : mag;
  }
  float toFloat32(int exponent) const {
    bool negative = (sum >> 127) != 0;
    uint128 mag = negative ? -sum : sum;
    uint64_t limbs[2] = {uint64_t(mag), uint64_t(mag >> 64)};
    return float32FromScaledLimbs(negative, limbs, 2, exponent);
  }
};

struct WideRun {
  WideKulischAccumulator acc;
  void add(const IntegerForm &x, const IntegerForm &y) {
    if (x.significand && y.significand)
      acc.add(x.negative != y.negative, uint64_t(x.significand) * y.significand,
              x.shift + y.shift);
  }
  float toFloat32(int exponent) const { return acc.toFloat32(exponent); }
};
} // namespace

template <typename RunAcc>
static std::vector<float> matmulWith(const QuantizedTensor &a,
                                     const QuantizedTensor &b,
                                     const float *init) {
  int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1];
  std::vector<ReductionRun> runs = contractionRuns(K, a.block[1], b.block[0]);
  int64_t gridACols = a.gridShape()[1], gridBCols = b.gridShape()[1];

  // Decode once; B transposed so a run reads both operands contiguously.
  std::vector<IntegerForm> qa(M * K), qbT(K * N);
  for (int64_t i = 0; i < M * K; ++i)
    qa[i] = a.integerForm(i);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      qbT[j * K + k] = b.integerForm(k * N + j);

  std::vector<float> out(M * N);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float acc = init ? init[i * N + j] : 0.0f;
      bool poisoned = false;
      for (const ReductionRun &run : runs) {
        int64_t blockA = i / a.block[0] * gridACols + run.begin / a.block[1];
        int64_t blockB = run.begin / b.block[0] * gridBCols + j / b.block[1];
        if (!a.isBlockFinite(blockA) || !b.isBlockFinite(blockB)) {
          poisoned = true; // acc + NaN is NaN whatever follows
          break;
        }
        RunAcc p;
        for (int64_t k = run.begin; k < run.end; ++k)
          p.add(qa[i * K + k], qbT[j * K + k]);
        int scale =
            a.scale(blockA) + a.format.c() + b.scale(blockB) + b.format.c();
        acc = acc + p.toFloat32(scale);
      }
      // NaN payloads and signs differ across hardware; the reference returns
      // one canonical NaN.
      out[i * N + j] =
          poisoned || std::isnan(acc) ? bitsToFloat(kCanonicalNaNBits) : acc;
    }
  }
  return out;
}

std::vector<float> matmul(const QuantizedTensor &a, const QuantizedTensor &b,
                          const float *init, KulischPath path) {
  if (std::string msg = validateMatmul(a, b); !msg.empty())
    fatal(msg);
  int64_t K = a.shape[1];
  int width =
      kulischWidth(a.format, b.format, maxRunLength(K, a.block[1], b.block[0]));
  if (path == KulischPath::Auto)
    path = width <= 64    ? KulischPath::Int64
           : width <= 128 ? KulischPath::Int128
                          : KulischPath::Wide;
  switch (path) {
  case KulischPath::Int64:
    if (width > 64)
      fatal("Kulisch width " + std::to_string(width) + " of " +
            a.format.name() + " x " + b.format.name() + " exceeds int64");
    return matmulWith<Int64Run>(a, b, init);
  case KulischPath::Int128:
    if (width > 128)
      fatal("Kulisch width " + std::to_string(width) + " of " +
            a.format.name() + " x " + b.format.name() + " exceeds int128");
    return matmulWith<Int128Run>(a, b, init);
  case KulischPath::Wide:
  case KulischPath::Auto:
    break;
  }
  return matmulWith<WideRun>(a, b, init);
}

} // namespace bm::numerics
