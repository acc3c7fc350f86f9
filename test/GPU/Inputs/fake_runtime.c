/* The bm helpers of libbm_cuda_runtime that device_check.py and
 * vectors_main.c call, for the CPU dry runs (no GPU, no CUDA). */
int bmCudaErrorCount(void) { return 0; }
void bmCudaSynchronize(void) {}
void bmCudaSetStream(void *stream) { (void)stream; }
void bmCudaResetStream(void) {}
