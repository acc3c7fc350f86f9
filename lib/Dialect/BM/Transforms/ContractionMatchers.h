//===- ContractionMatchers.h - FP32 contractions as BM ops -----*- C++ -*-===//
//
// Internal to lib/Dialect/BM/Transforms. The matching half of
// bm-quantize-training: which linalg contractions and convolutions become
// bm.matmul / bm.conv2d, and through which exact data movement. Matching
// never changes the IR; QuantizeTraining.cpp builds what a plan describes.
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_DIALECT_BM_TRANSFORMS_CONTRACTIONMATCHERS_H
#define BM_LIB_DIALECT_BM_TRANSFORMS_CONTRACTIONMATCHERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace mlir::bm::training {

/// How one operand of a BM contraction is obtained from an FP32 tensor of
/// the graph. `source`, collapsed by `collapse` (a `tensor.collapse_shape`,
/// an exact view; empty = none), is the tensor that is quantized, in its
/// own layout. The quantized tensor is then, exactly (codes and biases
/// move together, nothing is requantized):
///   * permuted by `permutation` (`bm.transpose`; result dim i = dim
///     permutation[i] of the quantized tensor; empty = none), or
///   * given a leading batch dimension of `broadcast` entries (none when
///     unset; 0 entries is a valid, empty batch).
struct OperandPlan {
  Value source;
  SmallVector<ReassociationIndices> collapse;
  SmallVector<int64_t> permutation;
  std::optional<int64_t> broadcast;
  /// The operand of the linalg op this is (0 or 1), for its role.
  unsigned operandNumber = 0;

  /// Shape of the tensor that is quantized (source collapsed).
  SmallVector<int64_t> getQuantizedShape() const;
};

enum class BMContractionKind { Matmul, Conv2D };

/// A linalg op and the BM op that computes it. The init is permuted by
/// `initPermutation` (`linalg.transpose`, exact) and collapsed by
/// `resultCollapse` into the BM op's result type; the BM result is
/// expanded and permuted back into the linalg op's result type.
struct ContractionPlan {
  BMContractionKind kind = BMContractionKind::Matmul;
  OperandPlan lhs, rhs; // as bm.matmul / bm.conv2d read them
  bool transposeLhs = false, transposeRhs = false;
  SmallVector<int64_t> strides = {1, 1}, padding = {0, 0},
                       dilations = {1, 1}; // bm.conv2d
  SmallVector<int64_t> initPermutation;
  SmallVector<ReassociationIndices> resultCollapse;
  int64_t macs = 0;
};

/// A plan, or why the op stays in FP32 (a sentence for the remark).
struct ContractionMatch {
  std::optional<ContractionPlan> plan;
  std::string reason;

  static ContractionMatch success(ContractionPlan plan) {
    return {std::move(plan), {}};
  }
  static ContractionMatch failure(const Twine &reason) {
    return {std::nullopt, reason.str()};
  }
};

/// Whether bm-quantize-training accounts for `op`: a linalg contraction or
/// convolution (isaContractionOpInterface / isaConvolutionOpInterface).
bool isContractionOrConvolution(linalg::LinalgOp op);

/// linalg.conv_2d_nchw_fchw, linalg.conv_2d_nhwc_fhwc and
/// linalg.conv_2d_nhwc_hwcf on f32 as bm.conv2d (NCHW x FCHW): inputs and
/// filters are quantized in their own layout and `bm.transpose`d; the init
/// and result are transposed in f32. A symmetric zero `tensor.pad` of the
/// spatial dims in front of the input becomes the padding.
ContractionMatch matchConv2D(linalg::LinalgOp op);

/// Any other f32 contraction whose indexing maps are projected permutations
/// (linalg.matmul and linalg.batch_matmul with default or explicit maps,
/// linalg.contract, linalg.generic): output dims are split into a batch,
/// an M and an N group, reduction dims into a K group; each group is
/// collapsed (tensor.collapse_shape, exact) into one dimension of a rank-2
/// or rank-3 bm.matmul. Operands are read through linalg.transpose,
/// tensor.collapse_shape, linalg.broadcast and copies (transposed
/// operands become transpose_lhs/rhs; an operand without the batch group
/// is quantized once and broadcast in BM).
ContractionMatch matchMatmulLike(linalg::LinalgOp op);

/// Dispatches to the matchers above; for every other contraction or
/// convolution, the reason it stays in FP32.
ContractionMatch matchContraction(linalg::LinalgOp op);

/// The input map of a linalg.generic on tensors that only moves its one
/// input (copies, transposes and/or broadcasts it): its body yields the
/// input element, the input map is a projected permutation and the output
/// map the identity. Output element d is input element map(d).
std::optional<AffineMap> getMovedInputMap(linalg::GenericOp generic);

/// A leading batch dimension of `count` entries on a BM tensor: its codes
/// and biases are broadcast (bm.unpack, linalg.broadcast, bm.pack); the
/// new dimension's block size is 1.
Value buildBatchBroadcast(OpBuilder &builder, Location loc, Value quantized,
                          int64_t count);

} // namespace mlir::bm::training

#endif // BM_LIB_DIALECT_BM_TRANSFORMS_CONTRACTIONMATCHERS_H
