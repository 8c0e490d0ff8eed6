// int8 search keys (I8Keys in kernels.h) for 8 rows at a time, and the
// threshold test of ScanKernels::filter_rows_i8, with AVX2 intrinsics: one
// multiply, divide, add or max per step of the scalar formula, in its order
// (no FMA, see `rounded`), so keys are bit-identical to the serial kernel's.
// Include only from files compiled with -mavx2 (scan_avx2.cpp, scan_avx512.cpp).
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd/avx2_common.h"
#include "simd/kernels.h"

namespace dv::simd::avx2 {

// GCC implements _mm256_mul_ps and _mm256_add_ps as plain vector arithmetic
// and, with -mfma and its default -ffp-contract=fast, may fuse a multiply into
// the add that follows (one rounding instead of two: a different last bit).
// Passing the product through an empty asm hides it from that fusion.
inline __m256 rounded(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

// Keys of rows i .. i + cnt (cnt <= 8; lanes past cnt are garbage, their
// scale and norms are not read) from their int32 dot products.
template <I8Keys::Kind K>
inline __m256 i8_keys8(__m256i dots, const I8Keys& k, size_t i, size_t cnt) {
  const bool part = cnt < 8;
  const __m256i m = tail_mask(cnt);
  auto load = [&](const float* p) { return part ? _mm256_maskload_ps(p + i, m) : _mm256_loadu_ps(p + i); };
  __m256 key = _mm256_mul_ps(_mm256_cvtepi32_ps(dots), _mm256_set1_ps(k.qscale));
  key = _mm256_mul_ps(key, load(k.scale));
  if (K == I8Keys::Cosine && k.norms) {
    const __m256 nr = load(k.norms);
    const __m256 pos = _mm256_cmp_ps(nr, _mm256_setzero_ps(), _CMP_GT_OQ);
    key = _mm256_and_ps(_mm256_div_ps(key, nr), pos);  // 0 where the norm is not > 0
  } else if (K == I8Keys::L2) {
    const __m256 nr = load(k.norms);
    __m256 t = _mm256_sub_ps(_mm256_set1_ps(k.qq), rounded(_mm256_mul_ps(_mm256_set1_ps(2.0f), key)));
    t = _mm256_add_ps(t, rounded(_mm256_mul_ps(nr, nr)));
    t = _mm256_max_ps(_mm256_setzero_ps(), t);  // 0 > t ? 0 : t, so a NaN t stays NaN
    key = _mm256_xor_ps(t, _mm256_set1_ps(-0.0f));
  }
  return key;
}

// Appends rows i + lane whose key is not <= thr (lanes below cnt), ascending;
// returns the new count.
inline size_t i8_emit(__m256 key, __m256 thr, size_t i, size_t cnt, uint32_t* idx, float* out,
                      size_t c) {
  unsigned pass = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(key, thr, _CMP_NLE_UQ)));
  pass &= (1u << cnt) - 1u;
  if (!pass) return c;
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, key);
  do {
    const unsigned lane = static_cast<unsigned>(__builtin_ctz(pass));
    idx[c] = static_cast<uint32_t>(i + lane);
    out[c++] = tmp[lane];
    pass &= pass - 1;
  } while (pass);
  return c;
}

// filter_rows_i8 from a plain dot_rows_i8 kernel: dot products of blocks of
// 64 rows into a stack buffer, then keys and the test 8 rows at a time.
template <I8Keys::Kind K, class DotRows>
size_t filter_from_dots(DotRows dot_rows, const int8_t* q, const int8_t* rows, size_t n, size_t d,
                        const I8Keys& k, float thr, uint32_t* idx, float* key) {
  constexpr size_t kBlock = 64;
  alignas(32) int32_t dots[kBlock] = {};
  const __m256 t = _mm256_set1_ps(thr);
  size_t c = 0;
  for (size_t b0 = 0; b0 < n; b0 += kBlock) {
    const size_t bn = n - b0 < kBlock ? n - b0 : kBlock;
    dot_rows(q, rows + b0 * d, bn, d, dots);
    for (size_t j = 0; j < bn; j += 8) {
      const size_t cnt = bn - j < 8 ? bn - j : 8;
      const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(dots + j));
      c = i8_emit(i8_keys8<K>(v, k, b0 + j, cnt), t, b0 + j, cnt, idx, key, c);
    }
  }
  return c;
}

}  // namespace dv::simd::avx2
