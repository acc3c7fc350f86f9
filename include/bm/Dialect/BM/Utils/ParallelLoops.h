//===- ParallelLoops.h - When a CPU loop is worth running in parallel ---===//
//
// The CPU lowerings emit scf.forall for loops whose iterations are
// independent; bm-lower-to-cpu{parallel=true} turns every scf.forall into
// tasks on the async runtime. Dispatching tasks costs tens of
// microseconds, more than small loops take, so loops over little work are
// emitted as sequential scf.for loops instead. A linalg op whose loops are
// worth it is marked `bm.tile_parallel = N` (declared on the dialect,
// BMDialect.td), which bm-tile-parallel turns into an scf.forall over its
// first N loops.
//
//===----------------------------------------------------------------------===//

#ifndef BM_DIALECT_BM_UTILS_PARALLELLOOPS_H
#define BM_DIALECT_BM_UTILS_PARALLELLOOPS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace mlir::bm {

/// Elements (of the tensor a loop reads or writes) below which a loop stays
/// sequential.
constexpr int64_t kMinParallelElements = int64_t(1) << 17;

/// Multiply-adds (padded M x N x K) below which a bm.matmul kernel runs all
/// its loops (packing, column sums, tiles) in order. Each parallel loop
/// wakes the runtime's workers; measured on a 2-core host, kernels of up to
/// about 2^24 multiply-adds (a first convolution layer, a 64 x 784 x 256
/// MLP layer) took longer on both cores than on one.
constexpr int64_t kMinParallelMacs = int64_t(1) << 24;

/// Iterations below which a float32 linalg op (bm-vectorize-linalg) runs
/// in order; an iteration whose body calls libm counts as several (see
/// iterationCost in VectorizeLinalg.cpp).
constexpr int64_t kMinParallelLinalgIterations = int64_t(1) << 20;

} // namespace mlir::bm

#endif // BM_DIALECT_BM_UTILS_PARALLELLOOPS_H
