// AVX-512 kernels (compiled with -mavx512f/bw/dq/vl; only called when the CPU has
// them). Tails use masked loads and stores instead of scalar loops.
#include "simd/avx512_common.h"  // first: it silences a GCC 12 header warning

#include "simd/kernels.h"
#include "simd/w2v_impl.h"

namespace dv::simd {
namespace {

using avx512::hsum;
using avx512::tail_mask;

struct OpsAvx512 {
  static float dot(const float* a, const float* b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), s0);
      s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16), s1);
    }
    for (; j + 16 <= n; j += 16)
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j), s0);
    if (j < n) {
      __mmask16 m = tail_mask(n - j);
      s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, b + j), s1);
    }
    return hsum(_mm512_add_ps(s0, s1));
  }
  static void dot_many(const float* x, float* const* rows, int k, float* out, size_t n) {
    int i = 0;
    for (; i + 4 <= k; i += 4) {
      const float *r0 = rows[i], *r1 = rows[i + 1], *r2 = rows[i + 2], *r3 = rows[i + 3];
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      size_t j = 0;
      for (; j + 16 <= n; j += 16) {
        __m512 xv = _mm512_loadu_ps(x + j);
        a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r0 + j), a0);
        a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r1 + j), a1);
        a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r2 + j), a2);
        a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r3 + j), a3);
      }
      if (j < n) {
        __mmask16 m = tail_mask(n - j);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + j);
        a0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, r0 + j), a0);
        a1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, r1 + j), a1);
        a2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, r2 + j), a2);
        a3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, r3 + j), a3);
      }
      out[i] = hsum(a0);
      out[i + 1] = hsum(a1);
      out[i + 2] = hsum(a2);
      out[i + 3] = hsum(a3);
    }
    for (; i < k; ++i) out[i] = dot(x, rows[i], n);
  }
  // Four independent accumulators per pass hide the FMA latency of the
  // k-long dependency chain; the last partial chunk is masked.
  static void combo(float* const* rows, const float* coef, int k, float* out, size_t n,
                    bool acc, size_t step = 1) {
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
      __m512 s0, s1, s2, s3;
      if (acc) {
        s0 = _mm512_loadu_ps(out + j), s1 = _mm512_loadu_ps(out + j + 16);
        s2 = _mm512_loadu_ps(out + j + 32), s3 = _mm512_loadu_ps(out + j + 48);
      } else {
        s0 = s1 = s2 = s3 = _mm512_setzero_ps();
      }
      for (int i = 0; i < k; ++i) {
        const __m512 c = _mm512_set1_ps(coef[i * step]);
        const float* r = rows[i] + j;
        s0 = _mm512_fmadd_ps(c, _mm512_loadu_ps(r), s0);
        s1 = _mm512_fmadd_ps(c, _mm512_loadu_ps(r + 16), s1);
        s2 = _mm512_fmadd_ps(c, _mm512_loadu_ps(r + 32), s2);
        s3 = _mm512_fmadd_ps(c, _mm512_loadu_ps(r + 48), s3);
      }
      _mm512_storeu_ps(out + j, s0);
      _mm512_storeu_ps(out + j + 16, s1);
      _mm512_storeu_ps(out + j + 32, s2);
      _mm512_storeu_ps(out + j + 48, s3);
    }
    for (; j < n; j += 16) {
      __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - j);
      __m512 s = acc ? _mm512_maskz_loadu_ps(m, out + j) : _mm512_setzero_ps();
      for (int i = 0; i < k; ++i)
        s = _mm512_fmadd_ps(_mm512_set1_ps(coef[i * step]), _mm512_maskz_loadu_ps(m, rows[i] + j), s);
      _mm512_mask_storeu_ps(out + j, m, s);
    }
  }
  static void axpy(float a, const float* x, float* y, size_t n) {
    __m512 av = _mm512_set1_ps(a);
    for (size_t j = 0; j < n; j += 16) {
      __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - j);
      __m512 yv = _mm512_maskz_loadu_ps(m, y + j);
      _mm512_mask_storeu_ps(y + j, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + j), yv));
    }
  }
};

float dot_f32_avx512(const float* a, const float* b, size_t n) { return OpsAvx512::dot(a, b, n); }
void axpy_f32_avx512(float a, const float* x, float* y, size_t n) { OpsAvx512::axpy(a, x, y, n); }
void combo_f32_avx512(float* const* rows, const float* coef, int k, float* out, size_t n, bool acc,
                      size_t step) {
  OpsAvx512::combo(rows, coef, k, out, n, acc, step);
}

// 1/sqrt(g): the 14-bit estimate plus one Newton step.
inline __m512 rsqrt_nr(__m512 g) {
  const __m512 y = _mm512_rsqrt14_ps(g);
  const __m512 hy = _mm512_mul_ps(_mm512_set1_ps(0.5f), y);
  const __m512 t = _mm512_fnmadd_ps(_mm512_mul_ps(g, y), y, _mm512_set1_ps(3.0f));
  return _mm512_mul_ps(hy, t);
}

void glove_adagrad_avx512(float* w, float* c, float step, size_t ld) {
  const __m512 s = _mm512_set1_ps(step);
  float* gw = w + ld;
  float* gc = c + ld;
  for (size_t j = 0; j < ld; j += 16) {
    const __m512 wv = _mm512_loadu_ps(w + j), cv = _mm512_loadu_ps(c + j);
    const __m512 gwv = _mm512_loadu_ps(gw + j), gcv = _mm512_loadu_ps(gc + j);
    const __m512 dw = _mm512_mul_ps(s, cv), dc = _mm512_mul_ps(s, wv);
    _mm512_storeu_ps(w + j, _mm512_fnmadd_ps(dw, rsqrt_nr(gwv), wv));
    _mm512_storeu_ps(c + j, _mm512_fnmadd_ps(dc, rsqrt_nr(gcv), cv));
    _mm512_storeu_ps(gw + j, _mm512_fmadd_ps(dw, dw, gwv));
    _mm512_storeu_ps(gc + j, _mm512_fmadd_ps(dc, dc, gcv));
  }
}
double sg_window_avx512(const W2VWindow& w) { return sg_window_impl<OpsAvx512>(w); }
double cbow_window_avx512(const W2VWindow& w, bool mean) {
  return cbow_window_impl<OpsAvx512>(w, mean);
}

void d2v_infer_window_avx512(const D2VInferWindow& w) { d2v_infer_window_impl<OpsAvx512>(w); }

}  // namespace

const Kernels& kernels_avx512() {
  static const Kernels k{"avx512", dot_f32_avx512, axpy_f32_avx512, sg_window_avx512,
                         cbow_window_avx512, glove_adagrad_avx512,
                         &scan_kernels_avx512(), d2v_infer_window_avx512, combo_f32_avx512};
  return k;
}

}  // namespace dv::simd
