//===- Reference.h - Tensor-level BM reference numerics ---------*- C++ -*-===//
//
// Quantize/dequantize N-D row-major tensors with a block shape (numerics.md
// sections 2-4) and the canonical BM matmul (section 5). This is the oracle
// the compiled CPU and GPU code is checked against, bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef BM_NUMERICS_REFERENCE_H
#define BM_NUMERICS_REFERENCE_H

#include "bm/Numerics/Format.h"
#include "bm/Numerics/Quantize.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bm::numerics {

/// Returns "" if `block` is a legal block shape for `shape` (same rank, each
/// entry >= 1, or 0/-1 for the whole dimension; dimensions >= 0), else a
/// message saying what to change (numerics.md section 2).
std::string validateBlockShape(const std::vector<int64_t> &shape,
                               const std::vector<int64_t> &block);

/// Replaces 0/-1 entries by the dimension size (1 for an empty dimension);
/// other entries are kept, also when larger than the dimension (a single
/// partial block). `block` must be legal for `shape`.
std::vector<int64_t> normalizeBlockShape(const std::vector<int64_t> &shape,
                                         const std::vector<int64_t> &block);

/// Number of blocks along each dimension: ceil(dim / block), partial edge
/// blocks included (numerics.md section 2). `block` must be normalized.
std::vector<int64_t> blockGridShape(const std::vector<int64_t> &shape,
                                    const std::vector<int64_t> &block);

/// A quantized N-D row-major tensor: one code per element and one beta per
/// block, blocks in row-major order over the block grid (numerics.md
/// section 2).
struct QuantizedTensor {
  Format format;
  std::vector<int64_t> shape;
  std::vector<int64_t> block; ///< normalized: every entry >= 1
  std::vector<int8_t> beta;   ///< one per block; kNonFiniteBeta = non-finite
  std::vector<uint32_t> codes;

  int64_t numElements() const;
  std::vector<int64_t> gridShape() const {
    return blockGridShape(shape, block);
  }
  int64_t numBlocks() const;
  /// Row-major block index of the element at a multi-index.
  int64_t blockOf(const std::vector<int64_t> &index) const;
  /// Row-major block index of the element at a row-major linear index.
  int64_t blockOfLinear(int64_t linearIndex) const;
  bool isBlockFinite(int64_t blockIndex) const {
    return beta[blockIndex] != kNonFiniteBeta;
  }
  /// Scale exponent s = emax - beta of a (finite) block.
  int scale(int64_t blockIndex) const {
    return scaleExponent(format, beta[blockIndex]);
  }
  /// Integer form q of the element at a linear index.
  IntegerForm integerForm(int64_t linearIndex) const {
    return decodeElement(codes[linearIndex], format);
  }
  /// Returns "" when the fields are mutually consistent, else what is wrong.
  std::string verify() const;
};

/// Quantizes the row-major tensor x of the given shape with format f, block
/// shape `block` (0 or -1 = whole dimension) and rounding r; `seed` feeds the
/// random words of stochastic rounding (numerics.md sections 2-3), and
/// `scale` picks the shared-exponent rule (section 2). Aborts with a message
/// on an illegal format or block shape (check them with Format::validate /
/// validateBlockShape first).
QuantizedTensor quantize(const float *x, std::vector<int64_t> shape, Format f,
                         std::vector<int64_t> block, Rounding r, uint64_t seed,
                         ScaleRule scale = ScaleRule::Floor);

/// Dequantizes every element (numerics.md section 4); NaN in non-finite
/// blocks.
std::vector<float> dequantize(const QuantizedTensor &t);

/// Which integer type holds each run's exact sum P. Auto picks the narrowest
/// exact one from kulischWidth (int64, __int128, or the wide accumulator);
/// the others force a path (for testing), aborting if it is not exact.
enum class KulischPath { Auto, Int64, Int128, Wide };

/// Returns "" if a [M,K] x b [K,N] is a legal BM matmul, else what is wrong.
std::string validateMatmul(const QuantizedTensor &a, const QuantizedTensor &b);

/// Canonical BM matmul (numerics.md section 5): for each output element,
/// acc = init (or +0.0 when init is null), then for each run of the common
/// refinement of A's and B's blockings along K, in increasing order:
/// P = sum qA*qB exactly, term = P * 2^(sA+cA+sB+cB) rounded once to
/// float32, acc = acc + term in float32. A run touching a non-finite block
/// makes the element NaN (returned as kCanonicalNaNBits, as is every NaN
/// result). Returns M*N floats, row-major. Aborts on illegal operands.
std::vector<float> matmul(const QuantizedTensor &a, const QuantizedTensor &b,
                          const float *init,
                          KulischPath path = KulischPath::Auto);

} // namespace bm::numerics

#endif // BM_NUMERICS_REFERENCE_H
