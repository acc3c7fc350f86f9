/* A stand-in for libcuda with the driver functions that runtime/cuda calls,
 * for testing the runtime's stream and memory policy without a GPU
 * (test/GPU/runtime-streams.test). Stream, launch, allocation and
 * synchronization calls are printed as "cu: <call> <stream id>"; streams
 * are numbered in creation order (1, 2, ...), a caller's stream prints as
 * its pointer value, the legacy default stream as 0. */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uintptr_t streams;

static unsigned long long id(CUstream s) { return (unsigned long long)(uintptr_t)s; }

CUresult cuInit(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) { *d = ordinal; return CUDA_SUCCESS; }
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
  (void)d; *c = (CUcontext)(uintptr_t)0xc0; return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
  (void)d; *v = a == CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED; return CUDA_SUCCESS;
}
CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *p, CUdevice d) {
  (void)d; *p = (CUmemoryPool)(uintptr_t)0x900; return CUDA_SUCCESS;
}
CUresult cuMemPoolSetAttribute(CUmemoryPool p, CUmemPool_attribute a, void *v) {
  (void)p; (void)a; (void)v; return CUDA_SUCCESS;
}
CUresult cuCtxPushCurrent(CUcontext c) { (void)c; return CUDA_SUCCESS; }
CUresult cuCtxPopCurrent(CUcontext *c) { *c = 0; return CUDA_SUCCESS; }
CUresult cuCtxSynchronize(void) { puts("cu: ctx-synchronize"); return CUDA_SUCCESS; }
CUresult cuGetErrorName(CUresult r, const char **s) { (void)r; *s = "fake"; return CUDA_SUCCESS; }

CUresult cuStreamCreate(CUstream *s, unsigned flags) {
  (void)flags; *s = (CUstream)++streams;
  printf("cu: stream-create %llu\n", id(*s)); return CUDA_SUCCESS;
}
CUresult cuStreamDestroy(CUstream s) { printf("cu: stream-destroy %llu\n", id(s)); return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream s) { printf("cu: stream-synchronize %llu\n", id(s)); return CUDA_SUCCESS; }
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned f) { (void)s; (void)e; (void)f; return CUDA_SUCCESS; }
CUresult cuEventCreate(CUevent *e, unsigned f) { (void)f; *e = (CUevent)(uintptr_t)0xe; return CUDA_SUCCESS; }
CUresult cuEventDestroy(CUevent e) { (void)e; return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent e) { (void)e; return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent e, CUstream s) { (void)e; (void)s; return CUDA_SUCCESS; }

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        CUstream s, void **params, void **extra) {
  (void)f; (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz;
  (void)smem; (void)params; (void)extra;
  printf("cu: launch %llu\n", id(s)); return CUDA_SUCCESS;
}

static char memory[1 << 16];
static size_t used;
static CUdeviceptr take(size_t n) { CUdeviceptr p = (CUdeviceptr)(memory + used); used += (n + 255) & ~(size_t)255; return p; }
CUresult cuMemAlloc(CUdeviceptr *p, size_t n) { *p = take(n); puts("cu: alloc"); return CUDA_SUCCESS; }
CUresult cuMemAllocAsync(CUdeviceptr *p, size_t n, CUstream s) {
  *p = take(n); printf("cu: alloc-async %llu\n", id(s)); return CUDA_SUCCESS;
}
CUresult cuMemAllocManaged(CUdeviceptr *p, size_t n, unsigned f) { (void)f; *p = take(n); puts("cu: alloc-managed"); return CUDA_SUCCESS; }
CUresult cuMemFree(CUdeviceptr p) { (void)p; puts("cu: free"); return CUDA_SUCCESS; }
CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s) { (void)p; printf("cu: free-async %llu\n", id(s)); return CUDA_SUCCESS; }
CUresult cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { (void)d; (void)s; (void)n; (void)st; return CUDA_SUCCESS; }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, CUstream s) { (void)d; (void)v; (void)n; (void)s; return CUDA_SUCCESS; }
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) { (void)d; (void)v; (void)n; (void)s; return CUDA_SUCCESS; }
CUresult cuMemHostRegister(void *p, size_t n, unsigned f) { (void)p; (void)n; (void)f; return CUDA_SUCCESS; }
CUresult cuMemHostUnregister(void *p) { (void)p; return CUDA_SUCCESS; }
CUresult cuModuleLoadData(CUmodule *m, const void *d) { (void)d; *m = (CUmodule)(uintptr_t)0x30; return CUDA_SUCCESS; }
CUresult cuModuleLoadDataEx(CUmodule *m, const void *d, unsigned n, CUjit_option *o, void **v) {
  (void)d; (void)n; (void)o; (void)v; *m = (CUmodule)(uintptr_t)0x30; return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule m) { (void)m; return CUDA_SUCCESS; }
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *n) {
  (void)m; (void)n; *f = (CUfunction)(uintptr_t)0xf0; return CUDA_SUCCESS;
}
