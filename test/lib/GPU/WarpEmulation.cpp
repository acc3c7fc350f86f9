//===- WarpEmulation.cpp - Run warp-synchronous kernels on the CPU --------===//
//
// Part of the bm-gpu-launch-to-loops testing aid: kernels that contain
// warp-level ops (nvvm.mma.sync, nvgpu.ldmatrix), barriers or shared memory
// (the int8 tensor-core matmuls) cannot run one thread after the other.
// Here all threads of a block run in lockstep:
//
//  * a value that depends on the thread index ("varying") lives in a
//    buffer with one element per thread of the block; maximal runs of
//    varying ops become one loop over the threads; uniform values stay
//    scalars;
//  * loops and ifs with uniform conditions stay; their varying loop-carried
//    values live in per-thread buffers;
//  * nvvm.mma.sync m16n8k32 s8 gathers, warp by warp, the lanes' A, B and
//    C registers into 16x32, 32x8 and 16x8 matrices with the fragment
//    layouts of the PTX ISA ("Matrix Fragments for mma.m16n8k32", .s8),
//    multiplies exactly in i32 and scatters D back, so a lane that loads
//    the wrong elements computes the wrong result;
//  * nvgpu.ldmatrix (.x4, not transposed, 8-bit elements) gives lane T of a
//    warp, for matrix i, the four bytes 4 (T % 4) .. + 3 of the 16-byte row
//    whose address lane 8 i + T / 4 supplies (PTX ISA, ldmatrix), so wrong
//    lane addresses give wrong fragments;
//  * workgroup memory is one buffer per attribution, reused by the blocks
//    (which run one after the other);
//  * gpu.barrier ends a run of varying ops: every thread finishes the ops
//    before it before any thread starts the ops after it. Between barriers
//    each thread runs its ops on its own, one thread after the other, so a
//    kernel that reads another thread's shared-memory writes without a
//    barrier in between reads stale data here too;
//  * nvgpu.device_async_copy (cp.async) copies at once, and a race checker
//    follows what the GPU would do: each byte of workgroup memory records
//    the cp.async group of its last write, the barrier epoch of its last
//    write and of its last read. ldmatrix may only read bytes written
//    before the last barrier by a group that a cp.async.wait_group has
//    completed (and never bytes nobody wrote in this block); cp.async may
//    only overwrite bytes nobody read since the last barrier. A violation
//    stops the program with a message on stderr, so a missing barrier or
//    wait, or a refill of a stage still being read, fails the test.
//
//===----------------------------------------------------------------------===//

#include "WarpEmulation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::bm::test;

namespace {

constexpr int64_t kWarpSize = 32;

class WarpEmulator {
public:
  WarpEmulator(RewriterBase &rewriter, gpu::LaunchOp launch)
      : rw(rewriter), launch(launch), loc(launch.getLoc()) {}

  LogicalResult run();

private:
  // -- analysis ------------------------------------------------------------
  void analyzeVarying();
  bool isVarying(Value v) const { return varying.contains(v); }
  bool anyVarying(Operation *op) const;

  // -- emission ------------------------------------------------------------
  Value idx(int64_t v) { return constIndex(rw, loc, v); }
  Value newLaneBuffer(Type type);
  Value laneValue(OpBuilder &b, Value v, Value lane);
  LogicalResult emitOps(Block &block);
  LogicalResult flushGroup(SmallVectorImpl<Operation *> &group, Block &block);
  LogicalResult emitFor(scf::ForOp op);
  LogicalResult emitIf(scf::IfOp op);
  LogicalResult emitMma(NVVM::MmaOp op);
  LogicalResult emitLdMatrix(nvgpu::LdMatrixOp op);
  LogicalResult emitAsyncCopy(nvgpu::DeviceAsyncCopyOp op);
  Value threadOf(OpBuilder &b, Value warpIndex, Value laneInWarp);
  Value newMatrix(ArrayRef<int64_t> shape, Type type);
  void storeLanes(ArrayRef<Value> buffers, ArrayRef<Value> values);

  RewriterBase &rw;
  gpu::LaunchOp launch;
  Location loc;
  DenseSet<Value> varying;
  IRMapping uniform;            // kernel value -> scalar
  DenseMap<Value, Value> lanes; // kernel value -> memref<32xT>
  DenseMap<Value, SmallVector<Value, 4>> mmaLanes; // mma result -> 4 buffers
  OpBuilder::InsertPoint allocPoint;
  SmallVector<Value> allocations;
  int64_t threads = 0; // per block, all in lockstep
  DenseMap<Value, Value> workgroup; // attribution -> buffer
  // The race checker (file comment): per attribution, i64 shadows of the
  // last write's group, the last write's epoch and the last read's epoch;
  // and the counters [committed groups, completed bound, barrier epoch].
  struct Shadow {
    Value writeGroup, writeEpoch, readEpoch;
  };
  DenseMap<Value, Shadow> shadows; // attribution -> shadows
  Value counters;
  enum Counter { kCommitted = 0, kCompleted = 1, kEpoch = 2 };
  Value counter(OpBuilder &b, Counter c);
  void setCounter(OpBuilder &b, Counter c, Value v);
  void check(OpBuilder &b, Value ok, StringRef message);
  /// check(shadow[at] < bound).
  void checkBelow(OpBuilder &b, Value shadow, ValueRange at, Value bound,
                  StringRef message) {
    Value v = memref::LoadOp::create(b, loc, shadow, at);
    check(b,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v, bound),
          message);
  }
  llvm::StringMap<std::string> messageGlobals; // message -> global
  void fill(Value buffer, Value value);
};

bool WarpEmulator::anyVarying(Operation *op) const {
  bool result = false;
  op->walk([&](Operation *inner) {
    for (Value v : inner->getOperands())
      if (isVarying(v))
        result = true;
  });
  return result;
}

void WarpEmulator::analyzeVarying() {
  Region &body = launch.getBody();
  varying.insert(launch.getThreadIds().x);
  bool changed = true;
  auto mark = [&](Value v) {
    if (varying.insert(v).second)
      changed = true;
  };
  while (changed) {
    changed = false;
    body.walk([&](Operation *op) {
      bool any = llvm::any_of(op->getOperands(),
                              [&](Value v) { return isVarying(v); });
      if (auto forOp = dyn_cast<scf::ForOp>(op)) {
        // Iteration arguments and results vary if their init or yield does.
        auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
        for (unsigned i = 0; i < forOp.getNumRegionIterArgs(); ++i)
          if (isVarying(forOp.getInitArgs()[i]) ||
              isVarying(yield.getOperand(i)) ||
              isVarying(forOp.getRegionIterArgs()[i])) {
            mark(forOp.getRegionIterArgs()[i]);
            mark(forOp.getResult(i));
          }
        return;
      }
      if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
        bool cond = isVarying(ifOp.getCondition());
        for (unsigned i = 0; i < ifOp.getNumResults(); ++i) {
          bool v = cond;
          for (Region *r : {&ifOp.getThenRegion(), &ifOp.getElseRegion()})
            if (!r->empty() &&
                isVarying(cast<scf::YieldOp>(r->front().getTerminator())
                              .getOperand(i)))
              v = true;
          if (v)
            mark(ifOp.getResult(i));
        }
        return;
      }
      if (any)
        for (Value r : op->getResults())
          mark(r);
    });
  }
}

Value WarpEmulator::newLaneBuffer(Type type) {
  OpBuilder::InsertionGuard guard(rw);
  rw.restoreInsertionPoint(allocPoint);
  Value buffer =
      memref::AllocOp::create(rw, loc, MemRefType::get({threads}, type));
  allocations.push_back(buffer);
  allocPoint = rw.saveInsertionPoint();
  return buffer;
}

Value WarpEmulator::laneValue(OpBuilder &b, Value v, Value lane) {
  auto it = lanes.find(v);
  if (it != lanes.end())
    return memref::LoadOp::create(b, loc, it->second, ValueRange{lane});
  return uniform.lookupOrDefault(v);
}

/// for lane: buffers[i][lane] = values[i] (scalars or lane buffers).
void WarpEmulator::storeLanes(ArrayRef<Value> buffers, ArrayRef<Value> values) {
  scf::ForOp::create(rw, loc, idx(0), idx(threads), idx(1), ValueRange{},
                     [&](OpBuilder &b, Location loc, Value lane, ValueRange) {
                       SmallVector<Value> loaded;
                       for (Value v : values)
                         loaded.push_back(laneValue(b, v, lane));
                       for (auto [buffer, v] : llvm::zip(buffers, loaded))
                         memref::StoreOp::create(b, loc, v, buffer,
                                                 ValueRange{lane});
                       scf::YieldOp::create(b, loc);
                     });
}

LogicalResult WarpEmulator::flushGroup(SmallVectorImpl<Operation *> &group,
                                       Block &block) {
  if (group.empty())
    return success();
  DenseSet<Operation *> members(group.begin(), group.end());
  // Results used outside the group need lane buffers.
  SmallVector<Value> escaping;
  for (Operation *op : group)
    for (Value r : op->getResults())
      for (OpOperand &use : r.getUses()) {
        Operation *owner = block.findAncestorOpInBlock(*use.getOwner());
        if (!owner || !members.contains(owner)) {
          escaping.push_back(r);
          break;
        }
      }
  SmallVector<Value> buffers;
  for (Value r : escaping)
    buffers.push_back(newLaneBuffer(r.getType()));

  scf::ForOp::create(
      rw, loc, idx(0), idx(threads), idx(1), ValueRange{},
      [&](OpBuilder &b, Location loc, Value lane, ValueRange) {
        IRMapping local;
        for (Operation *op : group) {
          // Map every value used by op (and its regions) from outside.
          op->walk([&](Operation *inner) {
            for (Value v : inner->getOperands()) {
              if (local.contains(v))
                continue;
              Operation *def = v.getDefiningOp();
              Region *defRegion =
                  def ? def->getParentRegion()
                      : cast<BlockArgument>(v).getParentRegion();
              if (op->isAncestor(def ? def : defRegion->getParentOp()) &&
                  (def ? op != def : true))
                continue; // defined inside op
              local.map(v, laneValue(b, v, lane));
            }
          });
          b.clone(*op, local);
        }
        for (auto [r, buffer] : llvm::zip(escaping, buffers))
          memref::StoreOp::create(b, loc, local.lookup(r), buffer,
                                  ValueRange{lane});
        scf::YieldOp::create(b, loc);
      });
  for (auto [r, buffer] : llvm::zip(escaping, buffers))
    lanes[r] = buffer;
  group.clear();
  return success();
}

LogicalResult WarpEmulator::emitFor(scf::ForOp op) {
  for (Value v : {op.getLowerBound(), op.getUpperBound(), op.getStep()})
    if (isVarying(v))
      return op.emitOpError("with lane-dependent bounds cannot be emulated "
                            "warp-synchronously");
  SmallVector<Value> inits;
  SmallVector<int> uniformIndex(op.getNumRegionIterArgs(), -1);
  SmallVector<Value> registers(op.getNumRegionIterArgs());
  for (unsigned i = 0; i < op.getNumRegionIterArgs(); ++i) {
    Value iterArg = op.getRegionIterArgs()[i];
    if (isVarying(iterArg)) {
      registers[i] = newLaneBuffer(iterArg.getType());
      storeLanes(registers[i], op.getInitArgs()[i]);
    } else {
      uniformIndex[i] = inits.size();
      inits.push_back(uniform.lookupOrDefault(op.getInitArgs()[i]));
    }
  }
  auto newFor =
      scf::ForOp::create(rw, loc, uniform.lookupOrDefault(op.getLowerBound()),
                         uniform.lookupOrDefault(op.getUpperBound()),
                         uniform.lookupOrDefault(op.getStep()), inits);
  OpBuilder::InsertionGuard guard(rw);
  // Without iteration arguments the builder added the terminator already.
  Block *newBody = newFor.getBody();
  if (!newBody->empty() && newBody->back().hasTrait<OpTrait::IsTerminator>())
    rw.eraseOp(&newBody->back());
  rw.setInsertionPointToEnd(newBody);
  uniform.map(op.getInductionVar(), newFor.getInductionVar());
  for (unsigned i = 0; i < op.getNumRegionIterArgs(); ++i) {
    Value iterArg = op.getRegionIterArgs()[i];
    if (registers[i])
      lanes[iterArg] = registers[i];
    else
      uniform.map(iterArg, newFor.getRegionIterArgs()[uniformIndex[i]]);
  }
  if (failed(emitOps(*op.getBody())))
    return failure();
  auto yield = cast<scf::YieldOp>(op.getBody()->getTerminator());
  SmallVector<Value> varyingBuffers, varyingValues, uniformYields;
  for (unsigned i = 0; i < op.getNumRegionIterArgs(); ++i) {
    Value v = yield.getOperand(i);
    if (registers[i]) {
      varyingBuffers.push_back(registers[i]);
      varyingValues.push_back(v);
    } else {
      uniformYields.push_back(uniform.lookupOrDefault(v));
    }
  }
  // All lanes' yielded values are read before any is written (per lane).
  if (!varyingBuffers.empty())
    storeLanes(varyingBuffers, varyingValues);
  scf::YieldOp::create(rw, loc, uniformYields);
  rw.setInsertionPointAfter(newFor);
  for (unsigned i = 0; i < op.getNumResults(); ++i) {
    if (registers[i])
      lanes[op.getResult(i)] = registers[i];
    else
      uniform.map(op.getResult(i), newFor.getResult(uniformIndex[i]));
  }
  return success();
}

LogicalResult WarpEmulator::emitIf(scf::IfOp op) {
  SmallVector<Type> uniformTypes;
  SmallVector<Value> registers(op.getNumResults());
  for (unsigned i = 0; i < op.getNumResults(); ++i) {
    if (isVarying(op.getResult(i)))
      registers[i] = newLaneBuffer(op.getResult(i).getType());
    else
      uniformTypes.push_back(op.getResult(i).getType());
  }
  auto newIf = scf::IfOp::create(rw, loc, uniformTypes,
                                 uniform.lookupOrDefault(op.getCondition()),
                                 !op.getElseRegion().empty());
  OpBuilder::InsertionGuard guard(rw);
  for (auto [from, to] :
       {std::make_pair(&op.getThenRegion(), &newIf.getThenRegion()),
        std::make_pair(&op.getElseRegion(), &newIf.getElseRegion())}) {
    if (from->empty())
      continue;
    Block &dest = to->front();
    if (!dest.empty() && dest.back().hasTrait<OpTrait::IsTerminator>())
      rw.eraseOp(&dest.back());
    rw.setInsertionPointToEnd(&dest);
    if (failed(emitOps(from->front())))
      return failure();
    auto yield = cast<scf::YieldOp>(from->front().getTerminator());
    SmallVector<Value> buffers, values, uniformYields;
    for (unsigned i = 0; i < op.getNumResults(); ++i) {
      if (registers[i]) {
        buffers.push_back(registers[i]);
        values.push_back(yield.getOperand(i));
      } else {
        uniformYields.push_back(uniform.lookupOrDefault(yield.getOperand(i)));
      }
    }
    if (!buffers.empty())
      storeLanes(buffers, values);
    scf::YieldOp::create(rw, loc, uniformYields);
  }
  rw.setInsertionPointAfter(newIf);
  unsigned u = 0;
  for (unsigned i = 0; i < op.getNumResults(); ++i) {
    if (registers[i])
      lanes[op.getResult(i)] = registers[i];
    else
      uniform.map(op.getResult(i), newIf.getResult(u++));
  }
  return success();
}

Value WarpEmulator::counter(OpBuilder &b, Counter c) {
  return memref::LoadOp::create(b, loc, counters,
                                ValueRange{constIndex(b, loc, c)});
}

void WarpEmulator::setCounter(OpBuilder &b, Counter c, Value v) {
  memref::StoreOp::create(b, loc, v, counters,
                          ValueRange{constIndex(b, loc, c)});
}

/// If !ok: writes the message to stderr and aborts (an assertion that is
/// seen even when the program's stdout goes to a file).
void WarpEmulator::check(OpBuilder &b, Value ok, StringRef message) {
  MLIRContext *context = b.getContext();
  auto module = launch->getParentOfType<ModuleOp>();
  std::string text = ("bm-gpu-launch-to-loops: " + message + "\n").str();
  auto &name = messageGlobals[text];
  if (name.empty()) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    int64_t n = 0;
    do
      name = "bm_emulation_check_" + std::to_string(n++);
    while (SymbolTable::lookupSymbolIn(module, name));
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
    LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                           LLVM::Linkage::Internal, name,
                           b.getStringAttr(text));
  }
  Value bad = arith::XOrIOp::create(
      b, loc, ok,
      arith::ConstantOp::create(b, loc, b.getBoolAttr(true)).getResult());
  auto ifOp = scf::IfOp::create(b, loc, bad, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(context);
  FailureOr<LLVM::LLVMFuncOp> write =
      LLVM::lookupOrCreateFn(b, module, "write", {i32, ptr, i64}, i64);
  FailureOr<LLVM::LLVMFuncOp> abortFn = LLVM::lookupOrCreateFn(
      b, module, "abort", {}, LLVM::LLVMVoidType::get(context));
  if (failed(write) || failed(abortFn))
    return;
  Value address = LLVM::AddressOfOp::create(b, loc, ptr, name);
  LLVM::CallOp::create(
      b, loc, *write,
      ValueRange{LLVM::ConstantOp::create(b, loc, i32, 2),
                 address,
                 LLVM::ConstantOp::create(b, loc, i64, text.size())});
  LLVM::CallOp::create(b, loc, *abortFn, ValueRange{});
}

/// buffer[...] = value, by loops at the current insertion point.
void WarpEmulator::fill(Value buffer, Value value) {
  OpBuilder::InsertionGuard guard(rw);
  SmallVector<Value> at;
  for (int64_t size : cast<MemRefType>(buffer.getType()).getShape()) {
    auto loop = scf::ForOp::create(rw, loc, idx(0), idx(size), idx(1));
    at.push_back(loop.getInductionVar());
    rw.setInsertionPoint(loop.getBody()->getTerminator());
  }
  memref::StoreOp::create(rw, loc, value, buffer, at);
}

Value WarpEmulator::threadOf(OpBuilder &b, Value warpIndex, Value laneInWarp) {
  Value base = arith::MulIOp::create(b, loc, warpIndex,
                                     constIndex(b, loc, kWarpSize));
  return arith::AddIOp::create(b, loc, base, laneInWarp);
}

Value WarpEmulator::newMatrix(ArrayRef<int64_t> shape, Type type) {
  OpBuilder::InsertionGuard guard(rw);
  rw.restoreInsertionPoint(allocPoint);
  Value m = memref::AllocOp::create(rw, loc, MemRefType::get(shape, type));
  allocations.push_back(m);
  allocPoint = rw.saveInsertionPoint();
  return m;
}

/// for w in warps: body(w), at the current insertion point.
static void forEachWarp(RewriterBase &rw, Location loc, int64_t warps,
                        function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(rw, loc, constIndex(rw, loc, 0),
                                 constIndex(rw, loc, warps),
                                 constIndex(rw, loc, 1));
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

/// for lane in [0, 32): body(b, lane).
static void forEachLane(OpBuilder &b, Location loc,
                        function_ref<void(OpBuilder &, Value)> body) {
  scf::ForOp::create(b, loc, constIndex(b, loc, 0),
                     constIndex(b, loc, kWarpSize), constIndex(b, loc, 1),
                     ValueRange{},
                     [&](OpBuilder &b, Location loc, Value lane, ValueRange) {
                       body(b, lane);
                       scf::YieldOp::create(b, loc);
                     });
}

LogicalResult WarpEmulator::emitMma(NVVM::MmaOp op) {
  auto shape = op.getShape();
  if (shape.getM() != 16 || shape.getN() != 8 || shape.getK() != 32 ||
      op.getMultiplicandAPtxType() != NVVM::MMATypes::s8 ||
      op.getMultiplicandBPtxType() != NVVM::MMATypes::s8 ||
      op.getOperandA().size() != 4 || op.getOperandB().size() != 2 ||
      op.getOperandC().size() != 4)
    return op.emitOpError("bm-gpu-launch-to-loops emulates only "
                          "mma.sync m16n8k32 s8 x s8 -> s32");
  Type i32 = rw.getI32Type();
  Value A = newMatrix({16, 32}, i32), B = newMatrix({32, 8}, i32),
        C = newMatrix({16, 8}, i32);
  SmallVector<Value, 4> d;
  for (int i = 0; i < 4; ++i)
    d.push_back(newLaneBuffer(i32));
  auto ci32 = [&](OpBuilder &b, int32_t v) { return constI32(b, loc, v); };
  auto ci = [&](OpBuilder &b, int64_t v) { return constIndex(b, loc, v); };

  forEachWarp(rw, loc, threads / kWarpSize, [&](Value warpIndex) {
    // Gather: the PTX fragment layouts, groupID = lane / 4,
    // threadID_in_group = lane % 4.
    forEachLane(rw, loc, [&](OpBuilder &b, Value lane) {
      Value thread = threadOf(b, warpIndex, lane);
      Value g = arith::DivUIOp::create(b, loc, lane, ci(b, 4));
      Value t = arith::RemUIOp::create(b, loc, lane, ci(b, 4));
      auto byteOf = [&](Value reg, int64_t j) -> Value {
        // Element j of a .b32 register: bits [8j, 8j+8), sign-extended.
        Value shl = arith::ShLIOp::create(b, loc, reg, ci32(b, 24 - 8 * j));
        return arith::ShRSIOp::create(b, loc, shl, ci32(b, 24));
      };
      auto addc = [&](Value x, int64_t c) -> Value {
        return arith::AddIOp::create(b, loc, x, ci(b, c));
      };
      Value t4 = arith::MulIOp::create(b, loc, t, ci(b, 4));
      // A: element i = 4 * reg + j; row = g for i in [0,4) u [8,12), else
      // g + 8; col = 4t + (i & 3), + 16 for i >= 8.
      for (int64_t reg = 0; reg < 4; ++reg) {
        Value value = laneValue(b, op.getOperandA()[reg], thread);
        for (int64_t j = 0; j < 4; ++j) {
          int64_t i = 4 * reg + j;
          bool low = i < 4 || (i >= 8 && i < 12);
          Value row = low ? g : addc(g, 8);
          Value col = addc(t4, (i & 3) + (i >= 8 ? 16 : 0));
          memref::StoreOp::create(b, loc, byteOf(value, j), A,
                                  ValueRange{row, col});
        }
      }
      // B: element i = 4 * reg + j; row (k) = 4t + (i & 3), + 16 for
      // i >= 4; col = g.
      for (int64_t reg = 0; reg < 2; ++reg) {
        Value value = laneValue(b, op.getOperandB()[reg], thread);
        for (int64_t j = 0; j < 4; ++j) {
          int64_t i = 4 * reg + j;
          Value row = addc(t4, (i & 3) + (i >= 4 ? 16 : 0));
          memref::StoreOp::create(b, loc, byteOf(value, j), B,
                                  ValueRange{row, g});
        }
      }
      // C: row = g for c0, c1, g + 8 for c2, c3; col = 2t + (i & 1).
      Value t2 = arith::MulIOp::create(b, loc, t, ci(b, 2));
      for (int64_t i = 0; i < 4; ++i) {
        Value value = laneValue(b, op.getOperandC()[i], thread);
        Value row = i < 2 ? g : addc(g, 8);
        Value col = addc(t2, i & 1);
        memref::StoreOp::create(b, loc, value, C, ValueRange{row, col});
      }
    });

    // D = C + A x B, in i32 (exact here: the lowering only emits it for
    // sums that fit).
    auto loop = [&](OpBuilder &b, int64_t n,
                    function_ref<void(OpBuilder &, Value)> body) {
      scf::ForOp::create(b, loc, ci(b, 0), ci(b, n), ci(b, 1), ValueRange{},
                         [&](OpBuilder &b, Location, Value iv, ValueRange) {
                           body(b, iv);
                           scf::YieldOp::create(b, loc);
                         });
    };
    loop(rw, 16, [&](OpBuilder &b, Value m) {
      loop(b, 8, [&](OpBuilder &b, Value n) {
        Value c0 = memref::LoadOp::create(b, loc, C, ValueRange{m, n});
        auto sum = scf::ForOp::create(
            b, loc, ci(b, 0), ci(b, 32), ci(b, 1), ValueRange{c0},
            [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
              Value x = memref::LoadOp::create(b, loc, A, ValueRange{m, k});
              Value y = memref::LoadOp::create(b, loc, B, ValueRange{k, n});
              Value p = arith::MulIOp::create(b, loc, x, y);
              scf::YieldOp::create(
                  b, loc, Value(arith::AddIOp::create(b, loc, acc[0], p)));
            });
        memref::StoreOp::create(b, loc, sum.getResult(0), C,
                                ValueRange{m, n});
      });
    });

    // Scatter D with C's layout.
    forEachLane(rw, loc, [&](OpBuilder &b, Value lane) {
      Value thread = threadOf(b, warpIndex, lane);
      Value g = arith::DivUIOp::create(b, loc, lane, ci(b, 4));
      Value t = arith::RemUIOp::create(b, loc, lane, ci(b, 4));
      Value t2 = arith::MulIOp::create(b, loc, t, ci(b, 2));
      for (int64_t i = 0; i < 4; ++i) {
        Value row =
            i < 2 ? g : Value(arith::AddIOp::create(b, loc, g, ci(b, 8)));
        Value col = arith::AddIOp::create(b, loc, t2, ci(b, i & 1));
        Value v = memref::LoadOp::create(b, loc, C, ValueRange{row, col});
        memref::StoreOp::create(b, loc, v, d[i], ValueRange{thread});
      }
    });
  });
  mmaLanes[op.getRes()] = d;
  return success();
}

LogicalResult WarpEmulator::emitLdMatrix(nvgpu::LdMatrixOp op) {
  auto resultType = cast<VectorType>(op.getRes().getType());
  Value buffer = workgroup.lookup(op.getSrcMemref());
  if (op.getTranspose() || op.getNumTiles() != 4 ||
      resultType.getShape() != ArrayRef<int64_t>{4, 4} ||
      !resultType.getElementType().isInteger(8) || !buffer)
    return op.emitOpError("bm-gpu-launch-to-loops emulates only "
                          "ldmatrix .x4 of 8-bit elements from workgroup "
                          "memory, not transposed");
  for (Value index : op.getIndices())
    if (!isVarying(index) && !uniform.contains(index) &&
        !index.getDefiningOp<arith::ConstantOp>())
      return op.emitOpError("bm-gpu-launch-to-loops: index not available");
  Value result = newLaneBuffer(resultType);
  auto ci = [&](OpBuilder &b, int64_t v) { return constIndex(b, loc, v); };
  forEachWarp(rw, loc, threads / kWarpSize, [&](Value warpIndex) {
    forEachLane(rw, loc, [&](OpBuilder &b, Value lane) {
      Value thread = threadOf(b, warpIndex, lane);
      Value rowInMatrix = arith::DivUIOp::create(b, loc, lane, ci(b, 4));
      Value byte0 = arith::MulIOp::create(
          b, loc, arith::RemUIOp::create(b, loc, lane, ci(b, 4)), ci(b, 4));
      Value fragment = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(resultType, b.getI8IntegerAttr(0)));
      for (int64_t i = 0; i < 4; ++i) {
        // The lane that supplies row T / 4 of matrix i.
        Value source = threadOf(
            b, warpIndex,
            arith::AddIOp::create(b, loc, rowInMatrix, ci(b, 8 * i)));
        SmallVector<Value> at;
        for (Value index : op.getIndices())
          at.push_back(laneValue(b, index, source));
        Value innermost = at.back();
        for (int64_t j = 0; j < 4; ++j) {
          at.back() = arith::AddIOp::create(
              b, loc, innermost,
              arith::AddIOp::create(b, loc, byte0, ci(b, j)));
          Value v = memref::LoadOp::create(b, loc, buffer, at);
          fragment = vector::InsertOp::create(b, loc, v, fragment,
                                              ArrayRef<int64_t>{i, j});
          const Shadow &shadow = shadows[op.getSrcMemref()];
          Value epoch = counter(b, kEpoch);
          checkBelow(b, shadow.writeEpoch, at, epoch,
                     "ldmatrix reads workgroup memory written since the last "
                     "barrier, or never written in this block");
          checkBelow(b, shadow.writeGroup, at, counter(b, kCompleted),
                     "ldmatrix reads workgroup memory whose cp.async group "
                     "no cp.async.wait_group completed");
          memref::StoreOp::create(b, loc, epoch, shadow.readEpoch, at);
        }
      }
      memref::StoreOp::create(b, loc, fragment, result, ValueRange{thread});
    });
  });
  lanes[op.getRes()] = result;
  return success();
}

LogicalResult WarpEmulator::emitAsyncCopy(nvgpu::DeviceAsyncCopyOp op) {
  Value buffer = workgroup.lookup(op.getDst());
  if (!buffer || op.getSrcElements() || !op.getAsyncToken().use_empty())
    return op.emitOpError("bm-gpu-launch-to-loops emulates only "
                          "device_async_copy into workgroup memory, "
                          "of all elements, with an unused token");
  int64_t elements = op.getDstElements().getZExtValue();
  scf::ForOp::create(
      rw, loc, idx(0), idx(threads), idx(1), ValueRange{},
      [&](OpBuilder &b, Location loc, Value thread, ValueRange) {
        SmallVector<Value> src, dst;
        for (Value index : op.getSrcIndices())
          src.push_back(laneValue(b, index, thread));
        for (Value index : op.getDstIndices())
          dst.push_back(laneValue(b, index, thread));
        Value srcBase = src.back(), dstBase = dst.back();
        for (int64_t e = 0; e < elements; ++e) {
          Value offset = constIndex(b, loc, e);
          src.back() = arith::AddIOp::create(b, loc, srcBase, offset);
          dst.back() = arith::AddIOp::create(b, loc, dstBase, offset);
          Value v = memref::LoadOp::create(
              b, loc, uniform.lookupOrDefault(op.getSrc()), src);
          memref::StoreOp::create(b, loc, v, buffer, dst);
          const Shadow &shadow = shadows[op.getDst()];
          Value epoch = counter(b, kEpoch);
          checkBelow(b, shadow.readEpoch, dst, epoch,
                     "cp.async overwrites workgroup memory read since the "
                     "last barrier");
          memref::StoreOp::create(b, loc, counter(b, kCommitted),
                                  shadow.writeGroup, dst);
          memref::StoreOp::create(b, loc, epoch, shadow.writeEpoch, dst);
        }
        scf::YieldOp::create(b, loc);
      });
  return success();
}

LogicalResult WarpEmulator::emitOps(Block &block) {
  SmallVector<Operation *> group;
  for (Operation &op : block.without_terminator()) {
    if (auto mma = dyn_cast<NVVM::MmaOp>(op)) {
      if (failed(flushGroup(group, block)) || failed(emitMma(mma)))
        return failure();
      continue;
    }
    if (auto load = dyn_cast<nvgpu::LdMatrixOp>(op)) {
      if (failed(flushGroup(group, block)) || failed(emitLdMatrix(load)))
        return failure();
      continue;
    }
    if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
      if (failed(flushGroup(group, block)) || failed(emitAsyncCopy(copy)))
        return failure();
      continue;
    }
    // Copies complete at once; commit, wait and barrier update the race
    // checker's counters (file comment). A barrier also ends the run of
    // varying ops before it.
    if (isa<NVVM::CpAsyncCommitGroupOp, NVVM::CpAsyncWaitGroupOp,
            gpu::BarrierOp>(op)) {
      if (failed(flushGroup(group, block)))
        return failure();
      auto plus = [&](Value v, int64_t c) -> Value {
        return arith::AddIOp::create(
            rw, loc, v,
            arith::ConstantOp::create(rw, loc, rw.getI64IntegerAttr(c)));
      };
      if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
        setCounter(rw, kCommitted, plus(counter(rw, kCommitted), 1));
      } else if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op)) {
        // Every group but the newest n is complete.
        Value bound = plus(counter(rw, kCommitted), -int64_t(wait.getN()));
        setCounter(rw, kCompleted,
                   arith::MaxSIOp::create(rw, loc, counter(rw, kCompleted),
                                          bound));
      } else {
        setCounter(rw, kEpoch, plus(counter(rw, kEpoch), 1));
      }
      continue;
    }
    if (auto extract = dyn_cast<LLVM::ExtractValueOp>(op)) {
      auto it = mmaLanes.find(extract.getContainer());
      if (it != mmaLanes.end()) {
        if (failed(flushGroup(group, block)))
          return failure();
        lanes[extract.getResult()] = it->second[extract.getPosition().front()];
        continue;
      }
    }
    if (isa<gpu::ShuffleOp>(op))
      return op.emitOpError("cannot be emulated by bm-gpu-launch-to-loops");
    for (Value operand : op.getOperands())
      if (workgroup.contains(operand))
        return op.emitOpError("bm-gpu-launch-to-loops: workgroup memory is "
                              "emulated only for ldmatrix and "
                              "device_async_copy");
    bool regions = op.getNumRegions() != 0;
    auto ifOp = dyn_cast<scf::IfOp>(op);
    // Lane-local ops: varying operands and no regions, or a varying `if`
    // (cloned whole into the lane loop).
    if ((!regions && anyVarying(&op)) ||
        (ifOp && isVarying(ifOp.getCondition()))) {
      if (regions) {
        bool nested = false;
        op.walk([&](Operation *inner) {
          if (isa<NVVM::MmaOp, nvgpu::LdMatrixOp, nvgpu::DeviceAsyncCopyOp,
                  gpu::BarrierOp>(inner))
            nested = true;
        });
        if (nested)
          return op.emitOpError("with a lane-dependent condition around "
                                "warp-level ops or barriers cannot be "
                                "emulated");
      }
      group.push_back(&op);
      continue;
    }
    if (failed(flushGroup(group, block)))
      return failure();
    if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      if (failed(emitFor(forOp)))
        return failure();
      continue;
    }
    if (ifOp) {
      if (failed(emitIf(ifOp)))
        return failure();
      continue;
    }
    if (regions)
      return op.emitOpError("cannot be emulated warp-synchronously");
    rw.clone(op, uniform); // uniform
  }
  return flushGroup(group, block);
}

LogicalResult WarpEmulator::run() {
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  auto bx = getConstantIntValue(block.x), by = getConstantIntValue(block.y),
       bz = getConstantIntValue(block.z);
  if (!bx || !by || !bz || *by != 1 || *bz != 1 || *bx % kWarpSize != 0)
    return launch.emitOpError("bm-gpu-launch-to-loops: warp emulation needs "
                              "constant (32k, 1, 1) blocks");
  if (!launch.getBody().hasOneBlock())
    return launch.emitOpError("bm-gpu-launch-to-loops: multi-block kernel");
  if (!launch.getPrivateAttributions().empty())
    return launch.emitOpError("bm-gpu-launch-to-loops: private attributions "
                              "are not emulated");
  threads = *bx;
  analyzeVarying();

  rw.setInsertionPoint(launch);
  allocPoint = rw.saveInsertionPoint();
  // Workgroup memory: one buffer per attribution, without memory space.
  for (BlockArgument attribution : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(attribution.getType());
    if (!type.getLayout().isIdentity() || !type.hasStaticShape())
      return launch.emitOpError("bm-gpu-launch-to-loops: workgroup "
                                "attributions need static identity layouts");
    workgroup[attribution] = newMatrix(type.getShape(), type.getElementType());
    Type i64 = rw.getI64Type();
    shadows[attribution] = {newMatrix(type.getShape(), i64),
                            newMatrix(type.getShape(), i64),
                            newMatrix(type.getShape(), i64)};
  }
  counters = newMatrix({3}, rw.getI64Type());
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  SmallVector<Value> ivs;
  for (Value bound : {grid.z, grid.y, grid.x}) {
    auto loop = scf::ForOp::create(rw, loc, idx(0), bound, idx(1));
    ivs.push_back(loop.getInductionVar());
    rw.setInsertionPointToStart(loop.getBody());
  }
  // Allocations go before the loop nest.
  {
    Operation *outer = ivs[0].getParentBlock()->getParentOp();
    OpBuilder::InsertionGuard guard(rw);
    rw.setInsertionPoint(outer);
    allocPoint = rw.saveInsertionPoint();
  }
  // Each block starts with no group committed or completed, epoch 0, and
  // workgroup memory never written (write epoch INT64_MAX) nor read.
  {
    auto i64c = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(rw, loc, rw.getI64IntegerAttr(v));
    };
    setCounter(rw, kCommitted, i64c(0));
    setCounter(rw, kCompleted, i64c(0));
    setCounter(rw, kEpoch, i64c(0));
    for (auto &[attribution, shadow] : shadows) {
      fill(shadow.writeGroup, i64c(-1));
      fill(shadow.writeEpoch, i64c(INT64_MAX));
      fill(shadow.readEpoch, i64c(-1));
    }
  }
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  uniform.map(blockIds.z, ivs[0]);
  uniform.map(blockIds.y, ivs[1]);
  uniform.map(blockIds.x, ivs[2]);
  uniform.map(launch.getThreadIds().y, idx(0));
  uniform.map(launch.getThreadIds().z, idx(0));
  uniform.map(launch.getGridSize().x, grid.x);
  uniform.map(launch.getGridSize().y, grid.y);
  uniform.map(launch.getGridSize().z, grid.z);
  uniform.map(launch.getBlockSize().x, block.x);
  uniform.map(launch.getBlockSize().y, block.y);
  uniform.map(launch.getBlockSize().z, block.z);
  // The thread index x of each element of a per-thread buffer.
  Value tid = newLaneBuffer(rw.getIndexType());
  scf::ForOp::create(rw, loc, idx(0), idx(threads), idx(1), ValueRange{},
                     [&](OpBuilder &b, Location loc, Value thread, ValueRange) {
                       memref::StoreOp::create(b, loc, thread, tid,
                                               ValueRange{thread});
                       scf::YieldOp::create(b, loc);
                     });
  lanes[launch.getThreadIds().x] = tid;
  if (failed(emitOps(launch.getBody().front())))
    return failure();

  // Free the buffers after the nest.
  Operation *outer = ivs[0].getParentBlock()->getParentOp();
  rw.setInsertionPointAfter(outer);
  for (Value buffer : allocations)
    memref::DeallocOp::create(rw, loc, buffer);
  rw.eraseOp(launch);
  return success();
}

} // namespace

bool mlir::bm::test::needsWarpEmulation(gpu::LaunchOp launch) {
  if (!launch.getWorkgroupAttributions().empty())
    return true;
  bool warpOps = false;
  launch.getBody().walk([&](Operation *op) {
    if (isa<NVVM::NVVMDialect, nvgpu::NVGPUDialect>(op->getDialect()) ||
        isa<gpu::BarrierOp>(op))
      warpOps = true;
  });
  return warpOps;
}

LogicalResult mlir::bm::test::emulateWarps(RewriterBase &rewriter,
                                           gpu::LaunchOp launch) {
  OpBuilder::InsertionGuard guard(rewriter);
  return WarpEmulator(rewriter, launch).run();
}
