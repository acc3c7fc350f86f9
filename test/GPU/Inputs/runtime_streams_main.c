/* Calls libbm_cuda_runtime the way host code lowered by bm-lower-to-nvvm
 * does (a stream created, used, synchronized and destroyed around every
 * allocation, launch and free), three calls in a row: the runtime's own
 * stream, a caller's stream (stream-ordered), the own stream again
 * (test/GPU/runtime-streams.test, with Inputs/fake_cuda.c as libcuda). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz,
                      intptr_t bx, intptr_t by, intptr_t bz, int32_t smem,
                      void *stream, void **params, void **extra, size_t count);
void *mgpuStreamCreate(void);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);
void *mgpuMemAlloc(uint64_t bytes, void *stream, _Bool hostShared);
void mgpuMemFree(void *ptr, void *stream);
void bmCudaSetStream(void *stream);
void bmCudaResetStream(void);
int bmCudaErrorCount(void);

static void *kernel;

static void lowered_call(void) {
  void *s = mgpuStreamCreate();
  void *buffer = mgpuMemAlloc(256, s, 0);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
  for (int i = 0; i < 2; ++i) {
    void *params[1] = {&buffer};
    s = mgpuStreamCreate();
    mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, s, params, NULL, 1);
    mgpuStreamSynchronize(s);
    mgpuStreamDestroy(s);
  }
  s = mgpuStreamCreate();
  mgpuMemFree(buffer, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
}

int main(void) {
  static char image[16];
  kernel = mgpuModuleGetFunction(mgpuModuleLoad(image, sizeof image), "k");
  puts("== own stream");
  lowered_call();
  puts("== own stream again");
  lowered_call();
  puts("== caller stream");
  bmCudaSetStream((void *)(uintptr_t)0x5000);
  lowered_call();
  puts("== reset");
  bmCudaResetStream();
  lowered_call();
  printf("errors: %d\n", bmCudaErrorCount());
  return 0;
}
