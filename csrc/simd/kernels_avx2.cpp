// AVX2 + FMA kernels (compiled with -mavx2 -mfma; only called when the CPU has them).
#include <immintrin.h>

#include "simd/avx2_common.h"
#include "simd/kernels.h"
#include "simd/w2v_impl.h"

namespace dv::simd {
namespace {

using avx2::hsum;
using avx2::tail_mask;

struct OpsAvx2 {
  static float dot(const float* a, const float* b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), s1);
    }
    for (; j + 8 <= n; j += 8)
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; j < n; ++j) s += a[j] * b[j];
    return s;
  }
  static void dot_many(const float* x, float* const* rows, int k, float* out, size_t n) {
    int i = 0;
    for (; i + 4 <= k; i += 4) {
      const float *r0 = rows[i], *r1 = rows[i + 1], *r2 = rows[i + 2], *r3 = rows[i + 3];
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      size_t j = 0;
      for (; j + 8 <= n; j += 8) {
        __m256 xv = _mm256_loadu_ps(x + j);
        a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r0 + j), a0);
        a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r1 + j), a1);
        a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r2 + j), a2);
        a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r3 + j), a3);
      }
      float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; j < n; ++j) {
        s0 += x[j] * r0[j];
        s1 += x[j] * r1[j];
        s2 += x[j] * r2[j];
        s3 += x[j] * r3[j];
      }
      out[i] = s0, out[i + 1] = s1, out[i + 2] = s2, out[i + 3] = s3;
    }
    for (; i < k; ++i) out[i] = dot(x, rows[i], n);
  }
  // Four independent accumulators per pass hide the FMA latency of the
  // k-long dependency chain; the last partial chunk uses masked loads.
  static void combo(float* const* rows, const float* coef, int k, float* out, size_t n,
                    bool acc) {
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
      __m256 s0, s1, s2, s3;
      if (acc) {
        s0 = _mm256_loadu_ps(out + j), s1 = _mm256_loadu_ps(out + j + 8);
        s2 = _mm256_loadu_ps(out + j + 16), s3 = _mm256_loadu_ps(out + j + 24);
      } else {
        s0 = s1 = s2 = s3 = _mm256_setzero_ps();
      }
      for (int i = 0; i < k; ++i) {
        const __m256 c = _mm256_set1_ps(coef[i]);
        const float* r = rows[i] + j;
        s0 = _mm256_fmadd_ps(c, _mm256_loadu_ps(r), s0);
        s1 = _mm256_fmadd_ps(c, _mm256_loadu_ps(r + 8), s1);
        s2 = _mm256_fmadd_ps(c, _mm256_loadu_ps(r + 16), s2);
        s3 = _mm256_fmadd_ps(c, _mm256_loadu_ps(r + 24), s3);
      }
      _mm256_storeu_ps(out + j, s0);
      _mm256_storeu_ps(out + j + 8, s1);
      _mm256_storeu_ps(out + j + 16, s2);
      _mm256_storeu_ps(out + j + 24, s3);
    }
    for (; j < n; j += 8) {
      const __m256i m = tail_mask(n - j);
      __m256 s = acc ? _mm256_maskload_ps(out + j, m) : _mm256_setzero_ps();
      for (int i = 0; i < k; ++i)
        s = _mm256_fmadd_ps(_mm256_set1_ps(coef[i]), _mm256_maskload_ps(rows[i] + j, m), s);
      _mm256_maskstore_ps(out + j, m, s);
    }
  }
  static void axpy(float a, const float* x, float* y, size_t n) {
    __m256 av = _mm256_set1_ps(a);
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
      _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
    for (; j < n; ++j) y[j] += a * x[j];
  }
};

float dot_f32_avx2(const float* a, const float* b, size_t n) { return OpsAvx2::dot(a, b, n); }
void axpy_f32_avx2(float a, const float* x, float* y, size_t n) { OpsAvx2::axpy(a, x, y, n); }

// 1/sqrt(g): the 12-bit estimate plus one Newton step.
inline __m256 rsqrt_nr(__m256 g) {
  const __m256 y = _mm256_rsqrt_ps(g);
  const __m256 hy = _mm256_mul_ps(_mm256_set1_ps(0.5f), y);
  const __m256 t = _mm256_fnmadd_ps(_mm256_mul_ps(g, y), y, _mm256_set1_ps(3.0f));
  return _mm256_mul_ps(hy, t);
}

void glove_adagrad_avx2(float* w, float* c, float step, size_t ld) {
  const __m256 s = _mm256_set1_ps(step);
  float* gw = w + ld;
  float* gc = c + ld;
  for (size_t j = 0; j < ld; j += 8) {
    const __m256 wv = _mm256_loadu_ps(w + j), cv = _mm256_loadu_ps(c + j);
    const __m256 gwv = _mm256_loadu_ps(gw + j), gcv = _mm256_loadu_ps(gc + j);
    const __m256 dw = _mm256_mul_ps(s, cv), dc = _mm256_mul_ps(s, wv);
    _mm256_storeu_ps(w + j, _mm256_fnmadd_ps(dw, rsqrt_nr(gwv), wv));
    _mm256_storeu_ps(c + j, _mm256_fnmadd_ps(dc, rsqrt_nr(gcv), cv));
    _mm256_storeu_ps(gw + j, _mm256_fmadd_ps(dw, dw, gwv));
    _mm256_storeu_ps(gc + j, _mm256_fmadd_ps(dc, dc, gcv));
  }
}
double sg_window_avx2(const W2VWindow& w) { return sg_window_impl<OpsAvx2>(w); }
double cbow_window_avx2(const W2VWindow& w, bool mean) { return cbow_window_impl<OpsAvx2>(w, mean); }

void d2v_infer_window_avx2(const D2VInferWindow& w) { d2v_infer_window_impl<OpsAvx2>(w); }

}  // namespace

const Kernels& kernels_avx2() {
  static const Kernels k{"avx2", dot_f32_avx2, axpy_f32_avx2, sg_window_avx2, cbow_window_avx2,
                         glove_adagrad_avx2, &scan_kernels_avx2(), d2v_infer_window_avx2};
  return k;
}

}  // namespace dv::simd
