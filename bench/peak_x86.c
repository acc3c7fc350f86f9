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
    __asm__ volatile(
        "vfmadd231ps %[a], %[b], %[c0]\n\t"
        "vfmadd231ps %[a], %[b], %[c1]\n\t"
        "vfmadd231ps %[a], %[b], %[c2]\n\t"
        "vfmadd231ps %[a], %[b], %[c3]\n\t"
        "vfmadd231ps %[a], %[b], %[c4]\n\t"
        "vfmadd231ps %[a], %[b], %[c5]\n\t"
        "vfmadd231ps %[a], %[b], %[c6]\n\t"
        "vfmadd231ps %[a], %[b], %[c7]\n\t"
        : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3),
          [c4] "+x"(c4), [c5] "+x"(c5), [c6] "+x"(c6), [c7] "+x"(c7)
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
    __asm__ volatile(WD("%[c0]") WD("%[c1]") WD("%[c2]") WD("%[c3]") WD("%[c4]")
                         WD("%[c5]") WD("%[c6]") WD("%[c7]")
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
    __asm__ volatile(
        UB("%[c0]") UB("%[c1]") UB("%[c2]") UB("%[c3]") UB("%[c4]") UB("%[c5]")
            UB("%[c6]") UB("%[c7]")
        : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3),
          [c4] "+x"(c4), [c5] "+x"(c5), [c6] "+x"(c6), [c7] "+x"(c7),
          [s] "=&x"(s), [u] "=&x"(u)
        : [a] "x"(a), [b0] "x"(b0), [b1] "x"(b1), [ones] "x"(ones));
  t = now() - t;
  return (double)ITERS * 8 * 64 / t;
}

// The same on 512-bit registers with AVX-512 VNNI (the kernels of
// bm-lower-to-cpu{cpu=avx512-vnni}): float32 FMA (16 MACs), vpdpwssd (32
// i16 MACs) and vpdpbusd (64 u8 x s8 MACs), and vpdpbusd on 256-bit
// registers (cpu=avx-vnni, EVEX-encoded here).
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define ACCS                                                                   \
  : [c0] "+v"(c0), [c1] "+v"(c1), [c2] "+v"(c2), [c3] "+v"(c3),                \
    [c4] "+v"(c4), [c5] "+v"(c5), [c6] "+v"(c6), [c7] "+v"(c7)
#define EIGHT(op)                                                              \
  op("%[c0]") op("%[c1]") op("%[c2]") op("%[c3]") op("%[c4]") op("%[c5]")      \
      op("%[c6]") op("%[c7]")

AVX512 static double fma512_rate(void) {
  __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
  __m512 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
#define F512(c) "vfmadd231ps %[a], %[b], " c "\n\t"
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(EIGHT(F512) ACCS : [a] "v"(a), [b] "v"(b));
  t = now() - t;
  return (double)ITERS * 8 * 16 / t;
}

AVX512 static double dpwssd512_rate(void) {
  __m512i a = _mm512_set1_epi16(3), b = _mm512_set1_epi16(5);
  __m512i c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
#define WS(c) "vpdpwssd %[b], %[a], " c "\n\t"
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(EIGHT(WS) ACCS : [a] "v"(a), [b] "v"(b));
  t = now() - t;
  return (double)ITERS * 8 * 32 / t;
}

AVX512 static double dpbusd512_rate(void) {
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  __m512i c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
#define BU(c) "vpdpbusd %[b], %[a], " c "\n\t"
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(EIGHT(BU) ACCS : [a] "v"(a), [b] "v"(b));
  t = now() - t;
  return (double)ITERS * 8 * 64 / t;
}

AVX512 static double dpbusd256_rate(void) {
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
  __m256i c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    __asm__ volatile(EIGHT(BU) ACCS : [a] "v"(a), [b] "v"(b));
  t = now() - t;
  return (double)ITERS * 8 * 32 / t;
}

int main(void) {
  double f = fma_rate(), w = maddwd_rate(), u = maddubsw_rate();
  printf("f32 FMA (vfmadd231ps)            %7.2f GMAC/s  1.000\n", f / 1e9);
  printf("i16 pairs (vpmaddwd + vpaddd)    %7.2f GMAC/s  %5.3f\n", w / 1e9,
         w / f);
  printf("u8 x s8 (2 vpmaddubsw + vpaddw + vpmaddwd + vpaddd) %7.2f GMAC/s  "
         "%5.3f\n",
         u / 1e9, u / f);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") ||
      !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") ||
      !__builtin_cpu_supports("avx512vnni"))
    return 0;
  double f5 = fma512_rate(), w5 = dpwssd512_rate(), u5 = dpbusd512_rate(),
         u2 = dpbusd256_rate();
  printf("AVX-512 VNNI, ratios to the 512-bit f32 FMA:\n");
  printf("f32 FMA 512-bit (vfmadd231ps zmm) %7.2f GMAC/s  1.000  (%5.3f of "
         "256-bit)\n",
         f5 / 1e9, f5 / f);
  printf("i16 pairs 512-bit (vpdpwssd zmm)  %7.2f GMAC/s  %5.3f\n", w5 / 1e9,
         w5 / f5);
  printf("u8 x s8 512-bit (vpdpbusd zmm)    %7.2f GMAC/s  %5.3f\n", u5 / 1e9,
         u5 / f5);
  printf("u8 x s8 256-bit (vpdpbusd ymm)    %7.2f GMAC/s  %5.3f\n", u2 / 1e9,
         u2 / f5);
  return 0;
}
