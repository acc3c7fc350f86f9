// Peak multiply-accumulate rates of one core of an AVX2 x86 CPU, as ratios
// (bench/bench_cpu.py prints them): float32 FMA (vfmadd231ps, 8 MACs),
// i16 x i16 -> i32 pairs (vpmaddwd + vpaddd, 16 MACs, the bm matmul
// kernel's i16 step) and the u8 x s8 step (two vpmaddubsw, 32 MACs each,
// a vpaddw, a vpmaddwd by ones and a vpaddd: 64 MACs). The ceiling of an
// exact integer GEMM against a float32 GEMM on this core is the ratio of
// the step's rate to the first.
//
// Each measurement is a throughput test: eight accumulators, each updated
// once per iteration from operands that do not depend on any accumulator,
// so no chain is longer than one add (or one FMA) per iteration. The
// instructions are inline assembly so that the compiler can neither hoist
// the loop-invariant multiplications nor change the instruction mix. The
// float operands are zero, so no accumulator ever holds an infinity or a
// subnormal (either can slow FMAs down on some CPUs).
//
//   cc -O2 -mavx2 -mfma bench/peak_x86.c -o peak && ./peak

#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define ITERS 20000000L

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double fma_rate(void) {
  __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
  __m256 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile("vfmadd231ps %[a], %[b], %[c0]\n\t"
                     "vfmadd231ps %[a], %[b], %[c1]\n\t"
                     "vfmadd231ps %[a], %[b], %[c2]\n\t"
                     "vfmadd231ps %[a], %[b], %[c3]\n\t"
                     "vfmadd231ps %[a], %[b], %[c4]\n\t"
                     "vfmadd231ps %[a], %[b], %[c5]\n\t"
                     "vfmadd231ps %[a], %[b], %[c6]\n\t"
                     "vfmadd231ps %[a], %[b], %[c7]\n\t"
                     : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2),
                       [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
                       [c6] "+x"(c6), [c7] "+x"(c7)
                     : [a] "x"(a), [b] "x"(b));
  t = now() - t;
  return (double)ITERS * 8 * 8 / t;
}

static double maddwd_rate(void) {
  __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5), s;
  __m256i c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
#define WD(c) "vpmaddwd %[b], %[a], %[s]\n\tvpaddd %[s], " c ", " c "\n\t"
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(WD("%[c0]") WD("%[c1]") WD("%[c2]") WD("%[c3]")
                         WD("%[c4]") WD("%[c5]") WD("%[c6]") WD("%[c7]")
                     : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2),
                       [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
                       [c6] "+x"(c6), [c7] "+x"(c7), [s] "=&x"(s)
                     : [a] "x"(a), [b] "x"(b));
  t = now() - t;
  return (double)ITERS * 8 * 16 / t;
}

static double maddubsw_rate(void) {
  __m256i a = _mm256_set1_epi8(3), b0 = _mm256_set1_epi8(5),
          b1 = _mm256_set1_epi8(7), ones = _mm256_set1_epi16(1), s, u;
  __m256i c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
#define UB(c)                                                                  \
  "vpmaddubsw %[b0], %[a], %[s]\n\t"                                           \
  "vpmaddubsw %[b1], %[a], %[u]\n\t"                                           \
  "vpaddw %[u], %[s], %[s]\n\t"                                                \
  "vpmaddwd %[ones], %[s], %[s]\n\t"                                           \
  "vpaddd %[s], " c ", " c "\n\t"
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(UB("%[c0]") UB("%[c1]") UB("%[c2]") UB("%[c3]")
                         UB("%[c4]") UB("%[c5]") UB("%[c6]") UB("%[c7]")
                     : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2),
                       [c3] "+x"(c3), [c4] "+x"(c4), [c5] "+x"(c5),
                       [c6] "+x"(c6), [c7] "+x"(c7), [s] "=&x"(s),
                       [u] "=&x"(u)
                     : [a] "x"(a), [b0] "x"(b0), [b1] "x"(b1),
                       [ones] "x"(ones));
  t = now() - t;
  return (double)ITERS * 8 * 64 / t;
}

int main(void) {
  double f = fma_rate(), w = maddwd_rate(), u = maddubsw_rate();
  printf("f32 FMA (vfmadd231ps)            %7.2f GMAC/s  1.000\n", f / 1e9);
  printf("i16 pairs (vpmaddwd + vpaddd)    %7.2f GMAC/s  %5.3f\n", w / 1e9,
         w / f);
  printf("u8 x s8 (2 vpmaddubsw + vpaddw + vpmaddwd + vpaddd) %7.2f GMAC/s  "
         "%5.3f\n",
         u / 1e9, u / f);
  return 0;
}
