// Peak multiply-accumulate rates of one core of an AVX2 x86 CPU, measured
// with 8 independent accumulator chains (in registers), as ratios (bench/bench_cpu.py prints
// them): float32 FMA (vfmadd231ps, 8 MACs), i16 x i16 -> i32 pairs
// (vpmaddwd + vpaddd, 16 MACs, what the bm matmul kernel issues), and
// u8 x s8 -> s16 pairs (vpmaddubsw, 32 MACs, + vpmaddwd by ones + vpaddd to
// widen every two steps). The ceiling of an exact integer GEMM against a
// float32 GEMM on this core is the ratio of the first two.
//
//   cc -O3 -mavx2 -mfma bench/peak_x86.c -o peak && ./peak

#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 8
#define ITERS 20000000L

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double fma_rate(void) {
  __m256 acc[CHAINS], a = _mm256_set1_ps(1.0001f), b = _mm256_set1_ps(0.9999f);
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = _mm256_set1_ps((float)i);
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  t = now() - t;
  float sink = 0;
  for (int i = 0; i < CHAINS; ++i)
    sink += _mm256_cvtss_f32(acc[i]);
  if (sink == 12345.0f)
    puts("");
  return (double)ITERS * CHAINS * 8 / t;
}

static double maddwd_rate(void) {
  __m256i acc[CHAINS], a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(5);
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = _mm256_set1_epi32(i);
  double t = now();
  // Each chain multiplies its own accumulator (as i16 pairs), so nothing
  // can be hoisted; 8 chains hide the latency.
  for (long n = 0; n < ITERS; ++n)
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = _mm256_add_epi32(b, _mm256_madd_epi16(acc[i], a));
  t = now() - t;
  int sink = 0;
  for (int i = 0; i < CHAINS; ++i)
    sink += _mm256_extract_epi32(acc[i], 0);
  if (sink == 12345)
    puts("");
  return (double)ITERS * CHAINS * 16 / t;
}

static double maddubsw_rate(void) {
  __m256i acc[CHAINS], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
  __m256i ones = _mm256_set1_epi16(1);
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = _mm256_set1_epi32(i);
  double t = now();
  for (long n = 0; n < ITERS; ++n)
    for (int i = 0; i < CHAINS; ++i) {
      __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(acc[i], a),
                                   _mm256_maddubs_epi16(acc[i], b));
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(s, ones));
    }
  t = now() - t;
  int sink = 0;
  for (int i = 0; i < CHAINS; ++i)
    sink += _mm256_extract_epi32(acc[i], 0);
  if (sink == 12345)
    puts("");
  return (double)ITERS * CHAINS * 64 / t;
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
