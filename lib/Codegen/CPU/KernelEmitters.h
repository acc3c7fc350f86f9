//===- KernelEmitters.h - The pieces of the CPU matmul kernel ---*- C++ -*-===//
//
// Internal to lib/Codegen/CPU. buildMatmulKernel (MatmulKernel.cpp) plans
// the kernel (KernelPlan.h) and calls these emitters in order, one concern
// each:
//
//   Packing.cpp        packed operands, and the u8 steps' column sums;
//   ScaleTables.cpp    unit exponents and the tables of the run conversion;
//   MicroKernel.cpp    one step of a run: the exact i32 run sums of a tile;
//   RunConversion.cpp  one run's sums converted and added to the f32 tile;
//   NaNFixup.cpp       NaNs of a finished tile made the canonical one.
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_CODEGEN_CPU_KERNELEMITTERS_H
#define BM_LIB_CODEGEN_CPU_KERNELEMITTERS_H

#include "bm/Codegen/CPU/KernelPlan.h"
#include "bm/Dialect/BM/Utils/IntIR.h"
#include "bm/Dialect/BM/Utils/MatmulGeometry.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::bm::cpu::detail {

/// What every emitter of one kernel reads: the plan, the op's geometry and
/// the constant tables built first.
struct KernelContext {
  const KernelPlan &plan;
  const MatmulGeometry &g;
  /// The enclosing module (declarations of the x86 intrinsics).
  ModuleOp module;
  /// Per run ([R] i64): first k, length, steps, first step.
  Value startTable, lengthTable, stepCountTable, stepStartTable;
  /// The packed value of every code of B, for the one elementwise packing
  /// (B stored [K, N] with unaligned runs; see Packing.cpp), or null.
  Value decodeTableB;
  /// Whether the kernel's loops may run on all cores (enough work:
  /// kMinParallelMacs); each loop also needs enough elements of its own.
  bool parallel = true;

  Type packedType(OpBuilder &b) const {
    return b.getIntegerType(plan.packedBits);
  }
};

/// `rest` after the batch index `bi` (none when `bi` is null).
SmallVector<Value> withBatchIndex(Value bi, ArrayRef<Value> rest);
/// Where a slice of a loop's tensor is: offsets and sizes (unit strides),
/// and its type (rank-reduced where sizes are 1).
struct SlicePlace {
  SmallVector<OpFoldResult> offsets, sizes;
  RankedTensorType type;
};
using PlaceFn = function_ref<SlicePlace(OpBuilder &, ValueRange)>;
using FillFn = function_ref<Value(OpBuilder &, ValueRange, Value)>;

/// Fills `init` slice by slice: for every index vector of the iteration
/// space `ubs`, `place` says where its slice is and `fill` returns the
/// slice (extracted from the loop's tensor) filled. An scf.forall (tasks in
/// the parallel CPU pipeline) when `parallel`, else nested scf.for loops
/// carrying the tensor; either way the slices are written in place.
Value buildSliceLoop(OpBuilder &b, Location loc, ArrayRef<int64_t> ubs,
                     Value init, bool parallel, PlaceFn place, FillFn fill);

/// A constant vector of `type` with every lane `value`.
Value splat(OpBuilder &b, Location loc, VectorType type, Attribute value);
/// Element `i` of a constant i64 table, as an index.
Value tableEntry(IntIR &x, Value table, Value i);

/// The x86 intrinsics the steps call (MicroKernel.cpp).
constexpr llvm::StringLiteral kPmaddubsw = "llvm.x86.avx2.pmadd.ub.sw";
constexpr llvm::StringLiteral kPmaddwd = "llvm.x86.avx2.pmadd.wd";
constexpr llvm::StringLiteral kVpdpbusd256 = "llvm.x86.avx512.vpdpbusd.256";
constexpr llvm::StringLiteral kVpdpbusd512 = "llvm.x86.avx512.vpdpbusd.512";
constexpr llvm::StringLiteral kVpdpwssd256 = "llvm.x86.avx512.vpdpwssd.256";
constexpr llvm::StringLiteral kVpdpwssd512 = "llvm.x86.avx512.vpdpwssd.512";
/// The VNNI intrinsic of a plan's VNNI step at its vector width (the 256-bit
/// ones are also AVX-VNNI's: LLVM encodes them with VEX on such CPUs).
StringRef getVnniIntrinsic(const KernelPlan &plan);
/// A call of the LLVM intrinsic `name`: a func.call of a private
/// declaration of that name in `module`, which LLVM IR takes for the
/// intrinsic (with its attributes). A call of a declaration goes through
/// bufferization and buffer deallocation, which reject
/// llvm.call_intrinsic (it declares no memory effects).
Value callX86Intrinsic(OpBuilder &b, Location loc, ModuleOp module,
                       StringRef name, Type resultType, ValueRange operands);

//===----------------------------------------------------------------------===//
// Packing.cpp
//===----------------------------------------------------------------------===//

/// The decode table of operand B: the packed value of every code (the i16
/// form, or for the u8 steps the form as s8); null when the plan decodes B
/// with bm.decode.
Value buildDecodeTable(OpBuilder &b, Location loc, const KernelPlan &plan,
                       const MatmulGeometry &g);

/// A as [batch?, Mp, words] i32 (each row's words in order, so that a row
/// of A stored [M, K] packs with contiguous reads and writes) and B as
/// [batch?, Np/tileN, words, tileN * W] of the packed type: word w holds the
/// k of layout positions w*W .. w*W + W-1, for A one row's in one i32, for
/// B each column's side by side.
struct PackedOperands {
  Value a, b;
  /// A is [batch?, words, Mp] (packed from A stored [K, M]: each word
  /// column is written contiguously) instead of [batch?, Mp, words].
  bool aWordsFirst = false;
};
PackedOperands packOperands(OpBuilder &b, Location loc, const KernelContext &kc,
                            Value codesA, Value codesB);

/// For the u8 steps, which sum (a + offsetA) * b: -offsetA * (the sum of b
/// over each run), per [batch?, run, column] i32, the start of each run's
/// sums. Computed from packed B with the step's own instructions.
Value buildOffsetColumnSums(OpBuilder &b, Location loc, const KernelContext &kc,
                            Value packedB);

//===----------------------------------------------------------------------===//
// ScaleTables.cpp
//===----------------------------------------------------------------------===//

struct ScaleTables {
  /// Unit exponent (or the non-finite marker) per [batch?, Mp, run] of A
  /// and [batch?, run, Np] of B.
  Value scalesA, scalesB;
  /// (sB + 127) << 23 per [batch?, run, Np].
  Value pow2BitsB;
  /// Minimum and maximum scale of each tile panel's rows (columns) per
  /// run: [batch?, Mp/tileM, R, 2] and [batch?, Np/tileN, R, 2].
  Value rangeA, rangeB;
  /// sA << 23 per [batch?, Mp/tileM, R, tileM].
  Value rowBitsA;
};
ScaleTables buildScaleTables(OpBuilder &b, Location loc,
                             const KernelContext &kc, Value biasesA,
                             Value biasesB);

//===----------------------------------------------------------------------===//
// The tile loop: MicroKernel.cpp, RunConversion.cpp, NaNFixup.cpp
//===----------------------------------------------------------------------===//

/// Where one tile is: batch index (null if unbatched), row and column panel,
/// first row and column; and the padding values of its transfer reads.
struct TileCoords {
  Value batch, rowPanel, colPanel, m0, n0;
  Value f32Zero, i32Zero, i16Zero;
  SmallVector<Value> at(ArrayRef<Value> rest) const {
    return withBatchIndex(batch, rest);
  }
};

/// The starting run sums of a tile for run `r` (tileM * chunks vectors of
/// i32, row-major): zero, or the offset column sums of the u8 steps.
SmallVector<Value> emitRunSumsInit(OpBuilder &b, Location loc,
                                   const KernelContext &kc,
                                   const TileCoords &tile, Value r,
                                   Value offsetColumnSums);

/// One step of the run loop: the products of kPerStep k starting at packed
/// word `w0` added to the tile's run sums `acc`.
SmallVector<Value> emitStep(OpBuilder &b, Location loc, const KernelContext &kc,
                            const TileCoords &tile,
                            const PackedOperands &packed, Value w0,
                            ValueRange acc);

/// The float32 output tile between runs: a tensor [tileM, tileN] whose
/// vectors are read and written once per run, or (plan.tileInRegisters)
/// its tileM * chunks vectors themselves, row-major, which stay in
/// registers for the whole run loop.
struct FloatTile {
  Value tensor;
  SmallVector<Value> vectors;
  /// The values an scf op carries for this tile.
  SmallVector<Value> values() const {
    return tensor ? SmallVector<Value>{tensor} : vectors;
  }
  /// The tile of the same kind held by `values`.
  FloatTile with(ValueRange values) const {
    FloatTile next;
    if (tensor)
      next.tensor = values.front();
    else
      next.vectors.assign(values.begin(), values.end());
    return next;
  }
};

/// The float32 tile after run `r`: each run sum converted once (one
/// rounding) and added in order, by the fast conversion when the run's
/// scales allow it, else by the exact integer routine.
FloatTile emitRunConversion(OpBuilder &b, Location loc, const KernelContext &kc,
                            const TileCoords &tile, const ScaleTables &scales,
                            Value r, ValueRange runSums,
                            const FloatTile &tile32);

/// The finished tile with every NaN made the canonical 0x7fc00000.
FloatTile emitCanonicalNaNs(OpBuilder &b, Location loc, const KernelContext &kc,
                            const TileCoords &tile, const FloatTile &tile32);

} // namespace mlir::bm::cpu::detail

#endif // BM_LIB_CODEGEN_CPU_KERNELEMITTERS_H
