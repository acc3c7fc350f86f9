//===- CudaRuntime.cpp - bm's CUDA runtime for lowered GPU host code ------===//
//
// The functions that host code lowered by `bm-lower-to-nvvm` calls (MLIR
// 22's gpu-to-llvm conversion and GPU offloading translation emit calls to
// them), implemented on the CUDA driver API. MLIR's own
// libmlir_cuda_runtime is not packaged with Debian's MLIR, and this one
// needs neither MLIR nor the CUDA runtime API: only libcuda.
//
// Signatures (MLIR 22, index = intptr_t):
//   module   mgpuModuleLoad(void *data, size_t size)       cubin / fatbin
//   module   mgpuModuleLoadJIT(void *ptx, int optLevel)    PTX, driver JIT
//   void     mgpuModuleUnload(module)
//   function mgpuModuleGetFunction(module, const char *name)
//   void     mgpuLaunchKernel(function, gx, gy, gz, bx, by, bz, int32 smem,
//                             stream, void **params, void **extra,
//                             size_t paramCount)
//   stream   mgpuStreamCreate() / mgpuStreamDestroy / mgpuStreamSynchronize
//            (the calling thread's one stream: see "Streams and events")
//   void     mgpuStreamWaitEvent(stream, event)
//   event    mgpuEventCreate() / mgpuEventDestroy / mgpuEventSynchronize
//   void     mgpuEventRecord(event, stream)
//   void    *mgpuMemAlloc(uint64 bytes, stream, bool hostShared)
//   void     mgpuMemFree(void *, stream)
//   void     mgpuMemcpy(dst, src, size_t bytes, stream)
//   void     mgpuMemset32(dst, uint32 value, size_t count, stream)
//   void     mgpuMemset16(dst, uint16 value, size_t count, stream)
//   void     mgpuMemHostRegister(void *, uint64 bytes) / ...Unregister
//   void     mgpuMemHostRegisterMemRef(int64 rank, descriptor *, int64 elt)
//   void     mgpuMemHostUnregisterMemRef(int64 rank, descriptor *, int64 elt)
//   void     mgpuSetDefaultDevice(int32)
//
// Device memory comes from the device's default memory pool
// (cuMemAllocAsync, kept reserved between calls) where the device supports
// pools, else cuMemAlloc; host-shared memory is CUDA managed memory.
//
// bm's own functions for host programs: bmCudaErrorCount,
// bmCudaSynchronize, bmCudaSetStream / bmCudaResetStream / bmCudaStream.
//
// Errors are printed to stderr and counted (bmCudaErrorCount); with
// BM_CUDA_ABORT_ON_ERROR=1 in the environment the first one aborts.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_set>

#define BM_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

std::atomic<int> errorCount{0};

bool abortOnError() {
  static const bool value = [] {
    const char *env = std::getenv("BM_CUDA_ABORT_ON_ERROR");
    return env && env[0] && std::strcmp(env, "0") != 0;
  }();
  return value;
}

void report(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const char *name = nullptr;
  cuGetErrorName(result, &name);
  std::fprintf(stderr, "bm_cuda_runtime: %s failed: %s (%d)\n", what,
               name ? name : "<unknown>", static_cast<int>(result));
  ++errorCount;
  if (abortOnError())
    std::abort();
}

#define CHECK(expr) report((expr), #expr)

thread_local int32_t defaultDevice = 0;

struct DeviceState {
  CUcontext context = nullptr;
  CUdevice device = 0;
  bool pools = false;
};

/// The primary context of the default device (shared with the CUDA runtime
/// API, e.g. PyTorch), retained once.
DeviceState &deviceState() {
  static DeviceState state = [] {
    DeviceState s;
    CHECK(cuInit(0));
    CHECK(cuDeviceGet(&s.device, defaultDevice));
    CHECK(cuDevicePrimaryCtxRetain(&s.context, s.device));
    int pools = 0;
    if (cuDeviceGetAttribute(&pools, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                             s.device) == CUDA_SUCCESS &&
        pools) {
      CUmemoryPool pool;
      if (cuDeviceGetDefaultMemPool(&pool, s.device) == CUDA_SUCCESS) {
        // Keep freed memory reserved: kernels allocate and free their
        // temporaries on every call.
        cuuint64_t threshold = UINT64_MAX;
        CHECK(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                    &threshold));
        s.pools = true;
      }
    }
    return s;
  }();
  return state;
}

/// Makes the primary context current for the scope.
class ScopedContext {
public:
  ScopedContext() { CHECK(cuCtxPushCurrent(deviceState().context)); }
  ~ScopedContext() {
    CUcontext popped;
    CHECK(cuCtxPopCurrent(&popped));
  }
};

/// Managed (host-shared) allocations, freed with cuMemFree.
std::mutex managedMutex;
std::unordered_set<void *> &managedPointers() {
  static std::unordered_set<void *> set;
  return set;
}

/// The ranked memref descriptor of MLIR's LLVM lowering.
struct MemRefDescriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[1]; // sizes[rank], then strides[rank]
};

uint64_t denseBytes(int64_t rank, MemRefDescriptor *desc, int64_t eltBytes) {
  uint64_t count = 1;
  for (int64_t i = 0; i < rank; ++i)
    count *= static_cast<uint64_t>(desc->sizesAndStrides[i]);
  return count * static_cast<uint64_t>(eltBytes);
}

} // namespace

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

BM_CUDA_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  ScopedContext scope;
  CUmodule module = nullptr;
  CHECK(cuModuleLoadData(&module, data));
  return module;
}

BM_CUDA_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  ScopedContext scope;
  CUmodule module = nullptr;
  char log[8192] = {0};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log)),
                    reinterpret_cast<void *>(
                        static_cast<intptr_t>(optLevel < 0   ? 0
                                              : optLevel > 4 ? 4
                                                             : optLevel))};
  CUresult result = cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != CUDA_SUCCESS && log[0])
    std::fprintf(stderr, "bm_cuda_runtime: PTX JIT log:\n%s\n", log);
  report(result, "cuModuleLoadDataEx(PTX)");
  return module;
}

BM_CUDA_EXPORT void mgpuModuleUnload(CUmodule module) {
  if (!module)
    return;
  // Lowered programs unload their modules from global destructors. When the
  // process exits, the driver may have shut down before them (the
  // CUDA_ERROR_DEINITIALIZED of every call): it has then released the
  // modules with everything else, and there is nothing left to report.
  CUresult pushed = cuCtxPushCurrent(deviceState().context);
  if (pushed == CUDA_ERROR_DEINITIALIZED)
    return;
  report(pushed, "cuCtxPushCurrent(deviceState().context)");
  CUresult unloaded = cuModuleUnload(module);
  if (unloaded != CUDA_ERROR_DEINITIALIZED)
    report(unloaded, "cuModuleUnload(module)");
  if (pushed == CUDA_SUCCESS) {
    CUcontext popped;
    CUresult result = cuCtxPopCurrent(&popped);
    if (result != CUDA_ERROR_DEINITIALIZED)
      report(result, "cuCtxPopCurrent(&popped)");
  }
}

BM_CUDA_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module,
                                                const char *name) {
  CUfunction function = nullptr;
  if (!module) {
    std::fprintf(stderr, "bm_cuda_runtime: kernel %s: module not loaded\n",
                 name);
    ++errorCount;
    return nullptr;
  }
  ScopedContext scope;
  CHECK(cuModuleGetFunction(&function, module, name));
  return function;
}

BM_CUDA_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                     intptr_t gridY, intptr_t gridZ,
                                     intptr_t blockX, intptr_t blockY,
                                     intptr_t blockZ, int32_t smem,
                                     CUstream stream, void **params,
                                     void **extra, size_t /*paramCount*/) {
  if (!function) {
    std::fprintf(stderr, "bm_cuda_runtime: launch of a missing kernel\n");
    ++errorCount;
    return;
  }
  ScopedContext scope;
  CHECK(cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                       smem, stream, params, extra));
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

// Lowered host code asks for a stream around every launch and allocation
// (create, use, synchronize, destroy). All of them get the calling thread's
// one stream instead:
//  * by default the runtime's own stream, created once per thread; the
//    synchronizations still happen, so a call returns with its GPU work
//    done;
//  * after bmCudaSetStream(s), the caller's stream s (e.g. PyTorch's current
//    stream), stream-ordered: no synchronization at all, the caller orders
//    its own work after the call's on s (for device memory, not host-shared
//    memory that host code reads).
namespace {
struct ThreadStream {
  CUstream own = nullptr;    // created on first use, kept
  CUstream caller = nullptr; // set by bmCudaSetStream
  bool callerSet = false;
};
thread_local ThreadStream threadStream;

CUstream currentStream() {
  if (threadStream.callerSet)
    return threadStream.caller;
  if (!threadStream.own) {
    ScopedContext scope;
    CHECK(cuStreamCreate(&threadStream.own, CU_STREAM_NON_BLOCKING));
  }
  return threadStream.own;
}

bool isCurrentStream(CUstream stream) {
  return threadStream.callerSet ? stream == threadStream.caller
                                : stream == threadStream.own;
}
} // namespace

BM_CUDA_EXPORT CUstream mgpuStreamCreate() { return currentStream(); }

BM_CUDA_EXPORT void mgpuStreamDestroy(CUstream stream) {
  if (isCurrentStream(stream))
    return;
  ScopedContext scope;
  CHECK(cuStreamDestroy(stream));
}

BM_CUDA_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  if (threadStream.callerSet && isCurrentStream(stream))
    return;
  ScopedContext scope;
  CHECK(cuStreamSynchronize(stream));
}

BM_CUDA_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  ScopedContext scope;
  CHECK(cuStreamWaitEvent(stream, event, 0));
}

BM_CUDA_EXPORT CUevent mgpuEventCreate() {
  ScopedContext scope;
  CUevent event = nullptr;
  CHECK(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

BM_CUDA_EXPORT void mgpuEventDestroy(CUevent event) {
  ScopedContext scope;
  CHECK(cuEventDestroy(event));
}

BM_CUDA_EXPORT void mgpuEventSynchronize(CUevent event) {
  ScopedContext scope;
  CHECK(cuEventSynchronize(event));
}

BM_CUDA_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  ScopedContext scope;
  CHECK(cuEventRecord(event, stream));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

BM_CUDA_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, CUstream stream,
                                  bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  ScopedContext scope;
  CUdeviceptr ptr = 0;
  if (isHostShared) {
    CHECK(cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL));
    std::lock_guard<std::mutex> lock(managedMutex);
    managedPointers().insert(reinterpret_cast<void *>(ptr));
  } else if (deviceState().pools) {
    CHECK(cuMemAllocAsync(&ptr, sizeBytes, stream));
  } else {
    CHECK(cuMemAlloc(&ptr, sizeBytes));
  }
  return reinterpret_cast<void *>(ptr);
}

BM_CUDA_EXPORT void mgpuMemFree(void *ptr, CUstream stream) {
  if (!ptr)
    return;
  ScopedContext scope;
  bool managed;
  {
    std::lock_guard<std::mutex> lock(managedMutex);
    managed = managedPointers().erase(ptr) != 0;
  }
  CUdeviceptr dptr = reinterpret_cast<CUdeviceptr>(ptr);
  if (!managed && deviceState().pools)
    CHECK(cuMemFreeAsync(dptr, stream));
  else
    CHECK(cuMemFree(dptr));
}

BM_CUDA_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                               CUstream stream) {
  ScopedContext scope;
  CHECK(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                      reinterpret_cast<CUdeviceptr>(src), sizeBytes, stream));
}

BM_CUDA_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                                 CUstream stream) {
  ScopedContext scope;
  CHECK(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                         stream));
}

BM_CUDA_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                                 CUstream stream) {
  ScopedContext scope;
  CHECK(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                         stream));
}

BM_CUDA_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (!ptr || sizeBytes == 0)
    return;
  ScopedContext scope;
  CHECK(cuMemHostRegister(ptr, sizeBytes,
                          CU_MEMHOSTREGISTER_PORTABLE |
                              CU_MEMHOSTREGISTER_DEVICEMAP));
}

BM_CUDA_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank,
                                              MemRefDescriptor *descriptor,
                                              int64_t elementSizeBytes) {
  mgpuMemHostRegister(descriptor->aligned +
                          descriptor->offset * elementSizeBytes,
                      denseBytes(rank, descriptor, elementSizeBytes));
}

BM_CUDA_EXPORT void mgpuMemHostUnregister(void *ptr) {
  if (!ptr)
    return;
  ScopedContext scope;
  CHECK(cuMemHostUnregister(ptr));
}

BM_CUDA_EXPORT void mgpuMemHostUnregisterMemRef(int64_t /*rank*/,
                                                MemRefDescriptor *descriptor,
                                                int64_t elementSizeBytes) {
  mgpuMemHostUnregister(descriptor->aligned +
                        descriptor->offset * elementSizeBytes);
}

BM_CUDA_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  defaultDevice = device;
}

//===----------------------------------------------------------------------===//
// bm helpers for host programs (not called by lowered code)
//===----------------------------------------------------------------------===//

/// Number of CUDA errors reported so far.
BM_CUDA_EXPORT int bmCudaErrorCount() { return errorCount.load(); }

/// Runs the calling thread's later bm calls on `stream`, stream-ordered (no
/// synchronization; see mgpuStreamCreate). A null `stream` is CUDA's legacy
/// default stream. bmCudaResetStream() returns to the runtime's own stream
/// and synchronous calls.
BM_CUDA_EXPORT void bmCudaSetStream(CUstream stream) {
  threadStream.caller = stream;
  threadStream.callerSet = true;
}

BM_CUDA_EXPORT void bmCudaResetStream() {
  threadStream.caller = nullptr;
  threadStream.callerSet = false;
}

/// The stream the calling thread's bm calls run on.
BM_CUDA_EXPORT CUstream bmCudaStream() { return currentStream(); }

/// Waits for all work on the device.
BM_CUDA_EXPORT void bmCudaSynchronize() {
  ScopedContext scope;
  CHECK(cuCtxSynchronize());
}
