/* Driver of a golden-vector module on the GPU (run_on_device.sh).
 *
 * The module is test/Integration/CPU/gen_vector_tests.py's output with its
 * @main renamed @bm_vectors_main, lowered by bm-lower-to-nvvm with
 * host-shared=true (managed memory, so its host code prints the results)
 * and compiled to an object. This file supplies what mlir-runner's runtime
 * libraries would: printMemrefI32 in the format that
 * `gen_vector_tests.py compare` parses. No MLIR is needed to build it. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  int64_t rank;
  void *descriptor;
} UnrankedMemRef;

typedef struct {
  int32_t *allocated;
  int32_t *aligned;
  int64_t offset;
  int64_t sizesAndStrides[]; /* sizes[rank], strides[rank] */
} Descriptor;

void bm_vectors_main(void);
int bmCudaErrorCount(void);
void bmCudaSynchronize(void);

void _mlir_ciface_printMemrefI32(UnrankedMemRef *m) {
  const Descriptor *d = (const Descriptor *)m->descriptor;
  int64_t rank = m->rank;
  const int64_t *sizes = d->sizesAndStrides, *strides = sizes + rank;
  printf("Unranked Memref base@ = 0x%" PRIxPTR " rank = %" PRId64
         " offset = %" PRId64 " sizes = [",
         (uintptr_t)d->aligned, rank, d->offset);
  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i) {
    printf(i ? ", %" PRId64 : "%" PRId64, sizes[i]);
    count *= sizes[i];
  }
  printf("] strides = [");
  for (int64_t i = 0; i < rank; ++i)
    printf(i ? ", %" PRId64 : "%" PRId64, strides[i]);
  printf("] data = \n");
  if (rank == 0) {
    printf("%" PRId32 "\n", d->aligned[d->offset]);
    return;
  }
  /* Row-major walk through the strides; one flat bracketed list. */
  int64_t index[64] = {0};
  printf("[");
  for (int64_t n = 0; n < count; ++n) {
    int64_t at = d->offset;
    for (int64_t i = 0; i < rank; ++i)
      at += index[i] * strides[i];
    printf(n ? ", %" PRId32 : "%" PRId32, d->aligned[at]);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
  printf("]\n");
}

int main(void) {
  bm_vectors_main();
  bmCudaSynchronize();
  fflush(stdout);
  int errors = bmCudaErrorCount();
  if (errors)
    fprintf(stderr, "vectors: %d CUDA errors\n", errors);
  return errors ? 2 : 0;
}
