//===- ExpandStridedCopies.cpp - Copies of strided memrefs as loops -------===//
//
// Implements bm-expand-strided-copies (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMEXPANDSTRIDEDCOPIES
#include "bm/Conversion/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;

namespace {

/// Whether the LLVM lowering copies `type` with one memcpy.
bool isMemcpyCompatible(MemRefType type) {
  return type.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(type);
}

/// The number of trailing dimensions along which `type` is contiguous
/// (row-major, unit innermost stride); 0 if its innermost stride is not 1.
unsigned contiguousSuffix(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return 0;
  unsigned n = 0;
  int64_t expected = 1;
  for (int64_t i = type.getRank() - 1; i >= 0; --i) {
    if (strides[i] != expected)
      break;
    ++n;
    expected *= type.getDimSize(i);
  }
  return n;
}

/// The slice of `memref` at outer indices `ivs` (one per leading
/// dimension), rank-reduced to its trailing dimensions.
Value innerSlice(OpBuilder &b, Location loc, Value memref, ValueRange ivs) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
  SmallVector<OpFoldResult> sizes(ivs.size(), b.getIndexAttr(1));
  SmallVector<int64_t> innerShape;
  for (int64_t i = ivs.size(); i < rank; ++i) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(type.getDimSize(i)));
    innerShape.push_back(type.getDimSize(i));
  }
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  auto sliceType = memref::SubViewOp::inferRankReducedResultType(
      innerShape, type, offsets, sizes, strides);
  return memref::SubViewOp::create(b, loc, cast<MemRefType>(sliceType), memref,
                                   offsets, sizes, strides);
}

/// Rewrites `copy` as loops over its outer dimensions around copies of
/// contiguous rows (memcpy each), or element by element when the innermost
/// dimension is strided on either side.
void expandCopy(memref::CopyOp copy) {
  auto srcType = cast<MemRefType>(copy.getSource().getType());
  auto dstType = cast<MemRefType>(copy.getTarget().getType());
  int64_t rank = srcType.getRank();
  unsigned inner =
      std::min(contiguousSuffix(srcType), contiguousSuffix(dstType));
  // With no contiguous dimension, the innermost one is looped over too.
  int64_t outer = inner == 0 ? rank : rank - inner;

  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> ivs;
  for (int64_t i = 0; i < outer; ++i) {
    Value ub = arith::ConstantIndexOp::create(b, loc, srcType.getDimSize(i));
    auto loop = scf::ForOp::create(b, loc, zero, ub, one);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    ivs.push_back(loop.getInductionVar());
  }
  if (outer == rank) {
    Value v = memref::LoadOp::create(b, loc, copy.getSource(), ivs);
    memref::StoreOp::create(b, loc, v, copy.getTarget(), ivs);
  } else {
    Value src = innerSlice(b, loc, copy.getSource(), ivs);
    Value dst = innerSlice(b, loc, copy.getTarget(), ivs);
    memref::CopyOp::create(b, loc, src, dst);
  }
  copy.erase();
}

struct ExpandStridedCopiesPass
    : mlir::bm::impl::BMExpandStridedCopiesBase<ExpandStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto src = dyn_cast<MemRefType>(copy.getSource().getType());
      auto dst = dyn_cast<MemRefType>(copy.getTarget().getType());
      // Dynamic shapes keep the library copy (no static row length).
      if (!src || !dst || src.getRank() == 0 || !src.hasStaticShape() ||
          !dst.hasStaticShape())
        return;
      if (isMemcpyCompatible(src) && isMemcpyCompatible(dst))
        return;
      copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies)
      expandCopy(copy);
  }
};

} // namespace
