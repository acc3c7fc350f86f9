//===- MatmulGeometry.h - Shapes and runs of a bm.matmul --------*- C++ -*-===//
//
// What every lowering of bm.matmul reads off the op: operand layouts,
// M/N/K, blockings and the runs along K (numerics.md section 5).
//
//===----------------------------------------------------------------------===//

#ifndef BM_DIALECT_BM_UTILS_MATMULGEOMETRY_H
#define BM_DIALECT_BM_UTILS_MATMULGEOMETRY_H

#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Numerics/Format.h"
#include "bm/Numerics/Kulisch.h"

#include <vector>

namespace mlir::bm {

struct MatmulGeometry {
  explicit MatmulGeometry(MatmulOp op)
      : lhsType(op.getLhs().getType()), rhsType(op.getRhs().getType()),
        fa(lhsType.getFormat().getNumerics()),
        fb(rhsType.getFormat().getNumerics()), batched(lhsType.getRank() == 3),
        nb(batched ? 1 : 0), tA(op.getTransposeLhs()), tB(op.getTransposeRhs()),
        blkA(lhsType.getBlock()), blkB(rhsType.getBlock()) {
    ArrayRef<int64_t> sa = lhsType.getShape(), sb = rhsType.getShape();
    batch = batched ? sa[0] : 1;
    M = tA ? sa[nb + 1] : sa[nb];
    N = tB ? sb[nb] : sb[nb + 1];
    K = op.getReductionSize();
    auto [kBlockA, kBlockB] = op.getReductionBlockSizes();
    runs = ::bm::numerics::contractionRuns(K, kBlockA, kBlockB);
    maxRun = ::bm::numerics::maxRunLength(K, kBlockA, kBlockB);
  }

  BMTensorType lhsType, rhsType;
  ::bm::numerics::Format fa, fb;
  bool batched;
  int64_t nb; // leading batch dims (0 or 1)
  bool tA, tB;
  ArrayRef<int64_t> blkA, blkB;
  int64_t batch, M, N, K;
  std::vector<::bm::numerics::ReductionRun> runs;
  int64_t maxRun; // longest run

  /// `dims` with the batch dimension in front when the op is batched.
  SmallVector<int64_t> withBatch(ArrayRef<int64_t> dims) const {
    SmallVector<int64_t> shape;
    if (batched)
      shape.push_back(batch);
    shape.append(dims.begin(), dims.end());
    return shape;
  }
  /// Whether operand `isA`'s stored layout has K first ([K, M] for A when
  /// transposed, [K, N] for B when not).
  bool kFirst(bool isA) const { return isA ? tA : !tB; }
  /// Start and length of each run (for constant tables).
  SmallVector<int64_t> runStarts() const {
    SmallVector<int64_t> v;
    for (const auto &run : runs)
      v.push_back(run.begin);
    return v;
  }
  SmallVector<int64_t> runLengths() const {
    SmallVector<int64_t> v;
    for (const auto &run : runs)
      v.push_back(run.size());
    return v;
  }
};

} // namespace mlir::bm

#endif // BM_DIALECT_BM_UTILS_MATMULGEOMETRY_H
