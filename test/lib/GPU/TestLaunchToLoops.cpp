//===- TestLaunchToLoops.cpp - Run gpu.launch kernels as CPU loops --------===//
//
// bm-gpu-launch-to-loops: a testing aid, built into bm-opt with the tests
// (BM_ENABLE_TESTS) and not part of the installed libraries. Each gpu.launch
// becomes a nest of scf.for over (block z, y, x, thread z, y, x) around its
// body, which is correct for kernels whose threads are independent (no
// barriers). Kernels with warp-level ops, barriers or workgroup memory (the
// tensor-core matmuls) run each block's threads in lockstep instead
// (WarpEmulation.cpp). Device allocations become host allocations.
//
//===----------------------------------------------------------------------===//

#include "WarpEmulation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using namespace mlir::bm::test;

namespace {

LogicalResult launchToLoops(RewriterBase &rewriter, gpu::LaunchOp launch) {
  Location loc = launch.getLoc();
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
      launch.getDynamicSharedMemorySize() || launch.hasClusterSize())
    return launch.emitOpError(
        "bm-gpu-launch-to-loops: async, cluster or shared-memory launches "
        "are not supported");
  Region &region = launch.getBody();
  if (!region.hasOneBlock())
    return launch.emitOpError(
        "bm-gpu-launch-to-loops: multi-block kernels are not supported");
  if (needsWarpEmulation(launch))
    return emulateWarps(rewriter, launch);
  bool unsupported = false;
  region.walk([&](Operation *op) {
    if (isa<gpu::BarrierOp, gpu::ShuffleOp, gpu::SubgroupReduceOp>(op)) {
      op->emitOpError("bm-gpu-launch-to-loops: synchronizing or warp-level "
                      "ops cannot run as independent CPU loops");
      unsupported = true;
    }
  });
  if (unsupported)
    return failure();

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(launch);
  Value zero = constIndex(rewriter, loc, 0);
  Value one = constIndex(rewriter, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  SmallVector<Value> bounds = {grid.z,  grid.y,  grid.x,
                               block.z, block.y, block.x};
  SmallVector<Value> ivs;
  for (Value bound : bounds) {
    auto loop = scf::ForOp::create(rewriter, loc, zero, bound, one);
    ivs.push_back(loop.getInductionVar());
    rewriter.setInsertionPointToStart(loop.getBody());
  }
  Block &body = region.front();
  IRMapping mapping;
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  gpu::KernelDim3 threadIds = launch.getThreadIds();
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockArgs = launch.getBlockSize();
  mapping.map(blockIds.z, ivs[0]);
  mapping.map(blockIds.y, ivs[1]);
  mapping.map(blockIds.x, ivs[2]);
  mapping.map(threadIds.z, ivs[3]);
  mapping.map(threadIds.y, ivs[4]);
  mapping.map(threadIds.x, ivs[5]);
  mapping.map(gridArgs.x, grid.x);
  mapping.map(gridArgs.y, grid.y);
  mapping.map(gridArgs.z, grid.z);
  mapping.map(blockArgs.x, block.x);
  mapping.map(blockArgs.y, block.y);
  mapping.map(blockArgs.z, block.z);
  for (Operation &op : body.without_terminator())
    rewriter.clone(op, mapping);
  rewriter.eraseOp(launch);
  return success();
}

struct TestGPULaunchToLoopsPass
    : public PassWrapper<TestGPULaunchToLoopsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestGPULaunchToLoopsPass)

  StringRef getArgument() const final { return "bm-gpu-launch-to-loops"; }
  StringRef getDescription() const final {
    return "Testing aid: run gpu.launch kernels as CPU loops. Every "
           "gpu.launch becomes scf.for loops over its blocks and threads "
           "(kernels with warp-level ops, barriers or workgroup memory: "
           "each block's threads in lockstep, nvvm.mma.sync m16n8k32 s8 "
           "and nvgpu.ldmatrix emulated with the PTX fragment layouts, "
           "cp.async copying at once, workgroup memory race-checked), "
           "gpu.alloc/dealloc become "
           "memref.alloc/dealloc and gpu.wait disappears, so that the "
           "output of bm-lower-to-gpu runs on the CPU.";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect, memref::MemRefDialect,
                    arith::ArithDialect, vector::VectorDialect,
                    LLVM::LLVMDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<gpu::LaunchOp> launches;
    module.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(launchToLoops(rewriter, launch)))
        return signalPassFailure();

    // Device memory -> host memory; stream tokens disappear.
    SmallVector<Operation *> gpuOps;
    module.walk([&](Operation *op) {
      if (isa<gpu::AllocOp, gpu::DeallocOp, gpu::WaitOp>(op))
        gpuOps.push_back(op);
    });
    for (Operation *op : gpuOps) {
      rewriter.setInsertionPoint(op);
      if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        Value host = memref::AllocOp::create(
            rewriter, alloc.getLoc(), alloc.getMemref().getType(),
            alloc.getDynamicSizes(), alloc.getSymbolOperands());
        rewriter.replaceAllUsesWith(alloc.getMemref(), host);
      } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
        memref::DeallocOp::create(rewriter, dealloc.getLoc(),
                                  dealloc.getMemref());
      }
    }
    for (Operation *op : gpuOps)
      op->dropAllUses();
    for (Operation *op : gpuOps)
      rewriter.eraseOp(op);
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace

namespace mlir::bm::test {
void registerTestGPUPasses() { PassRegistration<TestGPULaunchToLoopsPass>(); }
} // namespace mlir::bm::test
