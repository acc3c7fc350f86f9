//===- MapToGPU.cpp - Bufferized bm code onto gpu.launch kernels ----------===//
//
// bm-map-to-gpu: the buffer-level part of bm-lower-to-nvvm. Linalg ops of
// host functions become parallel loops, each outermost parallel loop one
// gpu.launch with a linearized 1-D iteration space, and buffers device (or
// managed) memory. See Passes.td for the list of rewrites.
//
//===----------------------------------------------------------------------===//

#include "bm/Codegen/GPU/MmaMatmul.h"
#include "bm/Codegen/GPU/Passes.h"
#include "bm/Conversion/Utils/MatmulOperands.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMMAPTOGPU
#include "bm/Codegen/GPU/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;
using namespace mlir::bm::gpu_lowering;
using namespace mlir::bm::lowering;

namespace {

/// True if `op` runs on the host: not inside a kernel or a GPU module.
bool isHostCode(Operation *op) {
  return !op->getParentOfType<gpu::LaunchOp>() &&
         !op->getParentOfType<gpu::GPUModuleOp>();
}

//===----------------------------------------------------------------------===//
// Block reductions
//===----------------------------------------------------------------------===//

/// Block sizes (one per loop) if `op` is a reduction-only generic on
/// buffers whose single output is indexed (d0 floordiv b0, ..., dn floordiv
/// bn) (bi = 1: plain di) with static loop ranges; std::nullopt otherwise.
std::optional<SmallVector<int64_t>> getBlockReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != 0 || op.getNumLoops() == 0)
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  unsigned n = op.getNumLoops();
  if (out.getNumResults() != n || out.getNumSymbols() != 0)
    return std::nullopt;
  SmallVector<int64_t> blocks;
  for (unsigned i = 0; i < n; ++i) {
    AffineExpr e = out.getResult(i);
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      if (dim.getPosition() != i)
        return std::nullopt;
      blocks.push_back(1);
      continue;
    }
    auto bin = dyn_cast<AffineBinaryOpExpr>(e);
    if (!bin || bin.getKind() != AffineExprKind::FloorDiv)
      return std::nullopt;
    auto dim = dyn_cast<AffineDimExpr>(bin.getLHS());
    auto cst = dyn_cast<AffineConstantExpr>(bin.getRHS());
    if (!dim || !cst || dim.getPosition() != i || cst.getValue() < 1)
      return std::nullopt;
    blocks.push_back(cst.getValue());
  }
  for (int64_t size : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(size))
      return std::nullopt;
  return blocks;
}

/// Clones the body of `op` (a generic) at the builder, with its block
/// arguments bound to `args` and linalg.index i to `ivs[i]`; returns the
/// yielded values.
SmallVector<Value> cloneGenericBody(OpBuilder &b, linalg::GenericOp op,
                                    ValueRange args, ValueRange ivs) {
  IRMapping mapping;
  Block *body = op.getBody();
  mapping.map(body->getArguments(), args);
  for (Operation &inner : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(inner, mapping);
  }
  SmallVector<Value> results;
  for (Value v : body->getTerminator()->getOperands())
    results.push_back(mapping.lookupOrDefault(v));
  return results;
}

/// The op of `op`'s body that combines the accumulator, if it is
/// idempotent, associative and commutative (max, min, and, or) and the
/// accumulator is used by it alone: then partial results of any subsets, each
/// started from the initial value, combine to the same bits in any order.
Operation *getIdempotentCombine(linalg::GenericOp op) {
  Block *body = op.getBody();
  Value acc = body->getArguments().back();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (yield.getNumOperands() != 1 || !acc.hasOneUse())
    return nullptr;
  Operation *combine = yield.getOperand(0).getDefiningOp();
  if (!combine || combine->getBlock() != body ||
      !isa<arith::MaxUIOp, arith::MaxSIOp, arith::MinUIOp, arith::MinSIOp,
           arith::AndIOp, arith::OrIOp>(combine) ||
      *acc.getUsers().begin() != combine)
    return nullptr;
  return combine;
}

/// Rows of the block that `g` (block index along `dim`) covers.
Value blockEnd(OpBuilder &b, Location loc, Value lo, int64_t block,
               int64_t range) {
  return arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, lo, constIndex(b, loc, block)),
      constIndex(b, loc, range));
}

/// A block reduction as parallel loops over the blocks. Each block is
/// scanned row-major with the accumulator in a register -- the original
/// order restricted to the block, so any body gives the same bits. When the
/// combining op is idempotent, associative and commutative (quantize's
/// block maximum) the scan is split: one iteration per (block, index along
/// the last blocked dimension) scans the rest of the block into a partial
/// result, then one per block combines its partials. Along the innermost
/// dimension, consecutive threads take consecutive columns: every step of
/// their scans reads consecutive addresses (coalesced).
void lowerBlockReduction(RewriterBase &rewriter, linalg::GenericOp op,
                         ArrayRef<int64_t> blocks) {
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned n = ranges.size();
  Value out = op.getDpsInitOperand(0)->get();
  Type accType = op.getBody()->getArguments().back().getType();
  auto c = [&](OpBuilder &b, int64_t v) { return constIndex(b, loc, v); };

  // The dimension split across threads, if any.
  std::optional<unsigned> split;
  Operation *combine = getIdempotentCombine(op);
  if (combine)
    for (unsigned i = n; i-- > 0;)
      if (blocks[i] > 1) {
        split = i;
        break;
      }

  // Scans dims [first, n) of the block from `acc` (ivs[0..first) set).
  SmallVector<Value> ivs(n);
  std::function<Value(OpBuilder &, ValueRange, unsigned, unsigned, Value)>
      nest = [&](OpBuilder &b, ValueRange g, unsigned dim, unsigned skip,
                 Value acc) -> Value {
    if (dim == n) {
      SmallVector<Value> args;
      for (OpOperand *input : op.getDpsInputOperands()) {
        Value v = input->get();
        if (!isa<MemRefType>(v.getType())) {
          args.push_back(v); // a scalar input
          continue;
        }
        AffineMap map = op.getMatchingIndexingMap(input);
        SmallVector<Value> idx;
        for (unsigned r = 0; r < map.getNumResults(); ++r)
          idx.push_back(
              affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), ivs));
        args.push_back(memref::LoadOp::create(b, loc, v, idx));
      }
      args.push_back(acc);
      return cloneGenericBody(b, op, args, ivs).front();
    }
    if (dim == skip)
      return nest(b, g, dim + 1, skip, acc);
    Value lo = arith::MulIOp::create(b, loc, g[dim], c(b, blocks[dim]));
    Value hi = blockEnd(b, loc, lo, blocks[dim], ranges[dim]);
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, c(b, 1), ValueRange{acc},
        [&](OpBuilder &b, Location loc, Value iv, ValueRange iter) {
          ivs[dim] = iv;
          scf::YieldOp::create(b, loc, nest(b, g, dim + 1, skip, iter[0]));
        });
    return loop.getResult(0);
  };

  SmallVector<Value> zeros, grid, ones;
  for (unsigned i = 0; i < n; ++i) {
    zeros.push_back(c(rewriter, 0));
    ones.push_back(c(rewriter, 1));
    grid.push_back(c(rewriter, llvm::divideCeil(ranges[i], blocks[i])));
  }

  if (!split) {
    scf::ParallelOp::create(
        rewriter, loc, zeros, grid, ones,
        [&](OpBuilder &b, Location loc, ValueRange g) {
          Value acc0 = memref::LoadOp::create(b, loc, out, g);
          memref::StoreOp::create(b, loc, nest(b, g, 0, n, acc0), out, g);
        });
    rewriter.eraseOp(op);
    return;
  }

  // Level 1: partial[g..., i] over (blocks, index i in the split block).
  unsigned d = *split;
  SmallVector<int64_t> partialShape;
  for (unsigned i = 0; i < n; ++i)
    partialShape.push_back(llvm::divideCeil(ranges[i], blocks[i]));
  partialShape.push_back(blocks[d]);
  auto partialType = MemRefType::get(partialShape, accType);
  Value partial = memref::AllocOp::create(rewriter, loc, partialType);
  SmallVector<Value> lb1(zeros), ub1(grid), st1(ones);
  lb1.push_back(c(rewriter, 0));
  ub1.push_back(c(rewriter, blocks[d]));
  st1.push_back(c(rewriter, 1));
  scf::ParallelOp::create(
      rewriter, loc, lb1, ub1, st1,
      [&](OpBuilder &b, Location loc, ValueRange iv) {
        ValueRange g = iv.drop_back();
        Value i = iv.back();
        Value row = arith::AddIOp::create(
            b, loc, arith::MulIOp::create(b, loc, g[d], c(b, blocks[d])), i);
        Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             row, c(b, ranges[d]));
        auto ifOp = scf::IfOp::create(b, loc, inside, /*else=*/false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        ivs[d] = row;
        Value acc0 = memref::LoadOp::create(b, loc, out, g);
        memref::StoreOp::create(b, loc, nest(b, g, 0, d, acc0), partial, iv);
      });
  // Level 2: out[g] = combine(out[g], partials of the block's rows).
  scf::ParallelOp::create(
      rewriter, loc, zeros, grid, ones,
      [&](OpBuilder &b, Location loc, ValueRange g) {
        Value acc0 = memref::LoadOp::create(b, loc, out, g);
        Value lo = arith::MulIOp::create(b, loc, g[d], c(b, blocks[d]));
        Value count = arith::SubIOp::create(
            b, loc, blockEnd(b, loc, lo, blocks[d], ranges[d]), lo);
        auto loop = scf::ForOp::create(
            b, loc, c(b, 0), count, c(b, 1), ValueRange{acc0},
            [&](OpBuilder &b, Location loc, Value i, ValueRange iter) {
              SmallVector<Value> at(g.begin(), g.end());
              at.push_back(i);
              Value p = memref::LoadOp::create(b, loc, partial, at);
              IRMapping mapping;
              Value accArg = op.getBody()->getArguments().back();
              for (Value operand : combine->getOperands())
                mapping.map(operand, operand == accArg ? iter[0] : p);
              Operation *combined = b.clone(*combine, mapping);
              scf::YieldOp::create(b, loc, combined->getResult(0));
            });
        memref::StoreOp::create(b, loc, loop.getResult(0), out, g);
      });
  memref::DeallocOp::create(rewriter, loc, partial);
  rewriter.eraseOp(op);
}

//===----------------------------------------------------------------------===//
// scf.parallel -> gpu.launch
//===----------------------------------------------------------------------===//

std::optional<int64_t> constantIndex(Value v) {
  if (auto c = v.getDefiningOp<arith::ConstantIndexOp>())
    return c.value();
  return std::nullopt;
}

/// One gpu.launch for `loop`: ceildiv(total, blockSize) blocks of
/// blockSize threads; thread t of block b takes linear iteration
/// b * blockSize + t, delinearized row-major (innermost fastest).
LogicalResult mapParallelLoop(RewriterBase &rewriter, scf::ParallelOp loop,
                              unsigned blockSize) {
  Location loc = loop.getLoc();
  if (loop.getNumResults() != 0)
    return loop.emitOpError(
        "with reductions cannot be mapped to the GPU by bm-map-to-gpu");
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(loop);
  unsigned n = loop.getNumLoops();

  // Trip counts, folded where static.
  SmallVector<Value> counts;
  SmallVector<std::optional<int64_t>> staticCounts;
  bool isStatic = true;
  int64_t staticTotalValue = 1;
  Value total = constIndex(rewriter, loc, 1);
  for (unsigned i = 0; i < n; ++i) {
    Value lb = loop.getLowerBound()[i], ub = loop.getUpperBound()[i];
    Value step = loop.getStep()[i];
    auto clb = constantIndex(lb), cub = constantIndex(ub),
         cstep = constantIndex(step);
    std::optional<int64_t> c;
    Value count;
    if (clb && cub && cstep && *cstep > 0) {
      c = std::max<int64_t>(0, llvm::divideCeil(*cub - *clb, *cstep));
      count = constIndex(rewriter, loc, *c);
      staticTotalValue *= *c;
    } else {
      Value diff = arith::SubIOp::create(rewriter, loc, ub, lb);
      count = arith::CeilDivSIOp::create(rewriter, loc, diff, step);
      count = arith::MaxSIOp::create(rewriter, loc, count,
                                     constIndex(rewriter, loc, 0));
      isStatic = false;
    }
    counts.push_back(count);
    staticCounts.push_back(c);
    total = arith::MulIOp::create(rewriter, loc, total, count);
  }
  std::optional<int64_t> staticTotal;
  if (isStatic)
    staticTotal = staticTotalValue;
  if (staticTotal && *staticTotal == 0) {
    rewriter.eraseOp(loop);
    return success();
  }
  int64_t threads = blockSize;
  if (staticTotal && *staticTotal < threads)
    threads = *staticTotal;
  if (staticTotal && llvm::divideCeil(*staticTotal, threads) > INT32_MAX)
    return loop.emitOpError("has ")
           << *staticTotal << " iterations, more than one gpu.launch of "
           << threads << "-thread blocks can cover";

  // Dynamic trip counts: launch only when there is work.
  if (!staticTotal) {
    Value positive =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sgt, total,
                              constIndex(rewriter, loc, 0));
    auto ifOp = scf::IfOp::create(rewriter, loc, positive,
                                  /*withElseRegion=*/false);
    rewriter.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  Value threadsV = constIndex(rewriter, loc, threads);
  Value blocks = arith::CeilDivUIOp::create(rewriter, loc, total, threadsV);
  Value one = constIndex(rewriter, loc, 1);
  auto launch = gpu::LaunchOp::create(rewriter, loc, blocks, one, one, threadsV,
                                      one, one);
  rewriter.setInsertionPointToStart(&launch.getBody().front());

  // Linear index in i32 when it fits (cheaper division), else in index.
  bool narrow = staticTotal && *staticTotal <= INT32_MAX;
  Type linType =
      narrow ? Type(rewriter.getI32Type()) : Type(rewriter.getIndexType());
  auto toLin = [&](Value v) -> Value {
    return narrow ? arith::IndexCastUIOp::create(rewriter, loc, linType, v)
                        .getResult()
                  : v;
  };
  auto linConst = [&](int64_t v) -> Value {
    return narrow ? constI32(rewriter, loc, v) : constIndex(rewriter, loc, v);
  };
  Value bid = toLin(launch.getBlockIds().x);
  Value tid = toLin(launch.getThreadIds().x);
  Value lin = arith::AddIOp::create(
      rewriter, loc,
      arith::MulIOp::create(rewriter, loc, bid, linConst(threads)), tid);
  bool exact = staticTotal && *staticTotal % threads == 0;
  if (!exact) {
    Value inRange =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, lin,
                              staticTotal ? linConst(*staticTotal) : total);
    auto ifOp = scf::IfOp::create(rewriter, loc, inRange,
                                  /*withElseRegion=*/false);
    rewriter.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }
  SmallVector<Value> ivs(n);
  Value rest = lin;
  for (int i = n - 1; i >= 0; --i) {
    Value count = staticCounts[i] ? linConst(*staticCounts[i])
                                  : (narrow ? toLin(counts[i]) : counts[i]);
    Value pos = rest;
    if (i > 0) {
      pos = arith::RemUIOp::create(rewriter, loc, rest, count);
      rest = arith::DivUIOp::create(rewriter, loc, rest, count);
    }
    if (narrow)
      pos = arith::IndexCastUIOp::create(rewriter, loc, rewriter.getIndexType(),
                                         pos);
    Value lb = loop.getLowerBound()[i], step = loop.getStep()[i];
    Value iv = pos;
    if (!constantIndex(step) || *constantIndex(step) != 1)
      iv = arith::MulIOp::create(rewriter, loc, iv, step);
    if (!constantIndex(lb) || *constantIndex(lb) != 0)
      iv = arith::AddIOp::create(rewriter, loc, iv, lb);
    ivs[i] = iv;
  }
  IRMapping mapping;
  mapping.map(loop.getInductionVars(), ivs);
  for (Operation &inner : loop.getBody()->without_terminator())
    rewriter.clone(inner, mapping);
  rewriter.setInsertionPointToEnd(&launch.getBody().front());
  gpu::TerminatorOp::create(rewriter, loc);
  rewriter.eraseOp(loop);
  return success();
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/// memref.alloc -> gpu.alloc (device memory, or managed with hostShared),
/// memref.dealloc -> gpu.dealloc; both synchronous for the host code.
void convertAllocations(RewriterBase &rewriter, func::FuncOp func,
                        bool hostShared) {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isa<memref::AllocOp, memref::DeallocOp>(op) && isHostCode(op))
      ops.push_back(op);
  });
  auto tokenType = gpu::AsyncTokenType::get(func.getContext());
  for (Operation *op : ops) {
    Location loc = op->getLoc();
    rewriter.setInsertionPoint(op);
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (hostShared) {
        auto gpuAlloc = gpu::AllocOp::create(
            rewriter, loc, alloc.getType(), /*asyncToken=*/Type(), ValueRange{},
            alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/true);
        rewriter.replaceOp(alloc, gpuAlloc.getMemref());
        continue;
      }
      Value start = gpu::WaitOp::create(rewriter, loc, tokenType, ValueRange{})
                        .getAsyncToken();
      auto gpuAlloc = gpu::AllocOp::create(
          rewriter, loc, alloc.getType(), tokenType, ValueRange{start},
          alloc.getDynamicSizes(), alloc.getSymbolOperands(),
          /*hostShared=*/false);
      gpu::WaitOp::create(rewriter, loc, Type(),
                          ValueRange{gpuAlloc.getAsyncToken()});
      rewriter.replaceOp(alloc, gpuAlloc.getMemref());
      continue;
    }
    auto dealloc = cast<memref::DeallocOp>(op);
    Value start = gpu::WaitOp::create(rewriter, loc, tokenType, ValueRange{})
                      .getAsyncToken();
    auto gpuDealloc = gpu::DeallocOp::create(
        rewriter, loc, tokenType, ValueRange{start}, dealloc.getMemref());
    gpu::WaitOp::create(rewriter, loc, Type(),
                        ValueRange{gpuDealloc.getAsyncToken()});
    rewriter.eraseOp(dealloc);
  }
}

/// Whether `op`, defined on the host and used by a kernel, can be cloned
/// into the kernel: memref.get_global of a constant global, views of such,
/// and constants.
bool isSinkable(Operation *op, SymbolTableCollection &symbols) {
  if (!op)
    return false;
  if (isa<arith::ConstantOp>(op))
    return true;
  if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
    auto global = symbols.lookupNearestSymbolFrom<memref::GlobalOp>(
        op, get.getNameAttr());
    return global && global.getConstant();
  }
  if (isa<memref::CastOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
          memref::SubViewOp, memref::ReinterpretCastOp>(op))
    return llvm::all_of(op->getOperands(), [&](Value v) {
      return isSinkable(v.getDefiningOp(), symbols);
    });
  return false;
}

/// Clones constant globals (and views of them) that a kernel reads into the
/// kernel, so that gpu-kernel-outlining copies the globals into the GPU
/// module instead of passing host addresses.
LogicalResult sinkGlobals(RewriterBase &rewriter, gpu::LaunchOp launch,
                          SymbolTableCollection &symbols) {
  Region &body = launch.getBody();
  bool failed = false;
  // Repeat until no operand of the kernel comes from a sinkable op outside.
  bool changed = true;
  while (changed) {
    changed = false;
    launch.walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands()) {
        Value v = use.get();
        if (!isa<MemRefType>(v.getType()))
          continue;
        Operation *def = v.getDefiningOp();
        if (!def || body.isAncestor(def->getParentRegion()))
          continue;
        if (auto get = dyn_cast<memref::GetGlobalOp>(def)) {
          if (!isSinkable(def, symbols)) {
            get.emitOpError("of a non-constant global is read by a GPU "
                            "kernel; bm-lower-to-nvvm only copies constant "
                            "globals to the GPU");
            failed = true;
            continue;
          }
        }
        if (!isSinkable(def, symbols))
          continue;
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPointToStart(&body.front());
        // Clone the whole chain: operands first.
        IRMapping mapping;
        std::function<Value(Value)> cloneChain = [&](Value value) -> Value {
          Operation *d = value.getDefiningOp();
          for (Value operand : d->getOperands())
            if (!mapping.contains(operand))
              mapping.map(operand, cloneChain(operand));
          Operation *copy = rewriter.clone(*d, mapping);
          return copy->getResult(cast<OpResult>(value).getResultNumber());
        };
        Value copy = cloneChain(v);
        rewriter.modifyOpInPlace(op, [&] { use.set(copy); });
        changed = true;
      }
    });
  }
  return failure(failed);
}

/// The memref whose memory `v` views.
Value getViewSource(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    break;
  }
  return v;
}

/// Reports host code that reads or writes buffer elements (device memory).
LogicalResult checkHostAccesses(func::FuncOp func,
                                SymbolTableCollection &symbols) {
  bool failed = false;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
    if (isa<gpu::LaunchOp>(op))
      return WalkResult::skip();
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (callee && callee.isExternal() &&
          llvm::any_of(call.getOperandTypes(), [](Type t) {
            return isa<MemRefType>(t) || isa<UnrankedMemRefType>(t);
          })) {
        op->emitError() << "'" << op->getName()
                        << "' passes GPU buffers to an external host "
                           "function; lower with host-shared=true to allow it";
        failed = true;
      }
      return WalkResult::advance();
    }
    auto iface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!iface || isa<gpu::GPUDialect>(op->getDialect()))
      return WalkResult::advance();
    SmallVector<MemoryEffects::EffectInstance> effects;
    iface.getEffects(effects);
    for (auto &effect : effects) {
      if (!isa<MemoryEffects::Read, MemoryEffects::Write>(effect.getEffect()))
        continue;
      Value v = effect.getValue();
      if (!v || !isa<BaseMemRefType>(v.getType()))
        continue;
      Value source = getViewSource(v);
      if (source.getDefiningOp<memref::AllocaOp>() ||
          source.getDefiningOp<memref::GetGlobalOp>())
        continue; // host stack memory, host globals
      op->emitError() << "'" << op->getName() << "' "
                      << (isa<MemoryEffects::Read>(effect.getEffect())
                              ? "reads"
                              : "writes")
                      << " GPU memory on the host, which bm-lower-to-nvvm "
                         "cannot do; compute it inside a linalg op, or lower "
                         "with host-shared=true";
      failed = true;
      break;
    }
    return WalkResult::advance();
  });
  return failure(failed);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct BMMapToGPUPass : public mlir::bm::impl::BMMapToGPUBase<BMMapToGPUPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // gpu-module-to-binary, later in bm-lower-to-nvvm, translates the GPU
    // module to LLVM IR: make the translations available in any driver.
    registerAllGPUToLLVMIRTranslations(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize == 0 || blockSize > 1024) {
      module.emitError("bm-map-to-gpu: block-size must be in [1, 1024]");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    SymbolTableCollection symbols;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      if (failed(mapFunction(rewriter, func, symbols)))
        return signalPassFailure();
    }
    // Kernels outlined later need a container module.
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    rewriter.getUnitAttr());
  }

  LogicalResult mapFunction(RewriterBase &rewriter, func::FuncOp func,
                            SymbolTableCollection &symbols) {
    // 1. memref.copy -> linalg.copy (a kernel like any other).
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (isHostCode(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      linalg::CopyOp::create(rewriter, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      rewriter.eraseOp(copy);
    }

    // 2. Linalg ops -> kernels or parallel loops.
    BMDialect::GpuMmaAttrHelper gpuMma = func->getContext()
                                             ->getLoadedDialect<BMDialect>()
                                             ->getGpuMmaAttrHelper();
    SmallVector<linalg::LinalgOp> linalgOps;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        linalgOps.push_back(linalgOp);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    for (linalg::LinalgOp op : linalgOps) {
      if (!op.hasPureBufferSemantics())
        return op.emitOpError(
            "on tensors reached bm-map-to-gpu; run bufferization first");
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (generic && mma && gpuMma.isAttrPresent(generic)) {
        if (failed(emitMmaMatmul(rewriter, generic, mmaKernel)))
          return failure();
        continue;
      }
      if (generic) {
        if (auto blocks = getBlockReduction(generic)) {
          lowerBlockReduction(rewriter, generic, *blocks);
          continue;
        }
      }
      if (op.getNumParallelLoops() == 0) {
        // Only reductions (or no loop at all): one GPU thread runs it.
        Location loc = op.getLoc();
        rewriter.setInsertionPoint(op);
        Value zero = constIndex(rewriter, loc, 0);
        Value one = constIndex(rewriter, loc, 1);
        auto single = scf::ParallelOp::create(
            rewriter, loc, ValueRange{zero}, ValueRange{one}, ValueRange{one},
            [](OpBuilder &, Location, ValueRange) {});
        rewriter.moveOpBefore(op, single.getBody()->getTerminator());
      }
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
        return op.emitOpError("could not be lowered to parallel loops");
      rewriter.eraseOp(op);
    }

    // 3. Outermost scf.parallel -> gpu.launch.
    SmallVector<scf::ParallelOp> parallels;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto p = dyn_cast<scf::ParallelOp>(op)) {
        parallels.push_back(p);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    for (scf::ParallelOp p : parallels)
      if (failed(mapParallelLoop(rewriter, p, blockSize)))
        return failure();

    // 4. Device memory.
    convertAllocations(rewriter, func, hostShared);
    bool failedSink = false;
    func.walk([&](gpu::LaunchOp launch) {
      if (failed(sinkGlobals(rewriter, launch, symbols)))
        failedSink = true;
    });
    if (failedSink)
      return failure();

    // 5. Nothing else may touch device memory on the host.
    if (!hostShared)
      return checkHostAccesses(func, symbols);
    return success();
  }
};

} // namespace
