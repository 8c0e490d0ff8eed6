// AVX2 + FMA kernels (compiled with -mavx2 -mfma; only called when the CPU has them).
#include <immintrin.h>

#include <cmath>

#include "simd/avx2_common.h"
#include "simd/kernels.h"
#include "simd/w2v_impl.h"

namespace dv::simd {
namespace {

using avx2::hsum;
using avx2::tail_mask;

struct OpsAvx2 {
  // Two accumulators over 16-column steps (one more 8-column step into the
  // first), then the scalar tail: dot_pass with one row of the second kind.
  static float dot(const float* a, const float* b, size_t n) {
    const float* rows[1] = {b};
    float out;
    dot_pass<0, 1>(a, rows, &out, n);
    return out;
  }
  // out[i] = dot(x, rows[i]) in exactly the order of the plain kernels:
  // rows in blocks of four take one accumulator each (8-column steps, hsum,
  // then the scalar tail); the last k % 4 rows take dot's order (two
  // accumulators over 16-column steps). One pass serves a block of four and
  // the rows after it together, so that the FMA latency is hidden behind up
  // to ten independent chains instead of four (a window's 6 outputs were a
  // block of four at one FMA per 5 cycles, then two single dots).
  static void dot_many(const float* x, float* const* rows, int k, float* out, size_t n) {
    int i = 0;
    for (; k - i >= 8; i += 4) dot_pass<4, 0>(x, rows + i, out + i, n);
    switch (k - i) {
      case 7: return dot_pass<4, 3>(x, rows + i, out + i, n);
      case 6: return dot_pass<4, 2>(x, rows + i, out + i, n);
      case 5: return dot_pass<4, 1>(x, rows + i, out + i, n);
      case 4: return dot_pass<4, 0>(x, rows + i, out + i, n);
      case 3: return dot_pass<0, 3>(x, rows + i, out + i, n);
      case 2: return dot_pass<0, 2>(x, rows + i, out + i, n);
      case 1: return dot_pass<0, 1>(x, rows + i, out + i, n);
      default: return;
    }
  }
  // NS rows with one accumulator (dot_many's block order), then ND rows with
  // two (dot's order).
  template <int NS, int ND>
  static void dot_pass(const float* x, const float* const* rows, float* out, size_t n) {
    __m256 a[NS > 0 ? NS : 1], s0[ND > 0 ? ND : 1], s1[ND > 0 ? ND : 1];
#pragma GCC unroll 8
    for (int r = 0; r < NS; ++r) a[r] = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < ND; ++r) s0[r] = _mm256_setzero_ps(), s1[r] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);
#pragma GCC unroll 8
      for (int r = 0; r < NS; ++r) {
        a[r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(rows[r] + j), a[r]);
        a[r] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(rows[r] + j + 8), a[r]);
      }
#pragma GCC unroll 8
      for (int r = 0; r < ND; ++r) {
        s0[r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(rows[NS + r] + j), s0[r]);
        s1[r] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(rows[NS + r] + j + 8), s1[r]);
      }
    }
    if (j + 8 <= n) {
      const __m256 x0 = _mm256_loadu_ps(x + j);
#pragma GCC unroll 8
      for (int r = 0; r < NS; ++r) a[r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(rows[r] + j), a[r]);
#pragma GCC unroll 8
      for (int r = 0; r < ND; ++r) s0[r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(rows[NS + r] + j), s0[r]);
      j += 8;
    }
    for (int r = 0; r < NS; ++r) {
      float t = hsum(a[r]);
      for (size_t c = j; c < n; ++c) t += x[c] * rows[r][c];
      out[r] = t;
    }
    for (int r = 0; r < ND; ++r) {
      float t = hsum(_mm256_add_ps(s0[r], s1[r]));
      for (size_t c = j; c < n; ++c) t += x[c] * rows[NS + r][c];
      out[NS + r] = t;
    }
  }
  // out[j] (+)= sum_i coef[i] * rows[i][j]: every column its own chain of
  // FMAs over i = 0, 1, ... (from out[j] or 0), whatever the blocking. A pass
  // keeps up to 8 vectors of columns in registers, enough independent chains
  // to cover the FMA latency (4 vectors ran at 4 FMAs per 5-cycle latency),
  // its last vector masked when the row ends inside it. Row i takes
  // coef[i * step] (step 0: one coefficient for every row).
  static void combo(float* const* rows, const float* coef, int k, float* out, size_t n,
                    bool acc, size_t step = 1) {
    size_t j = 0;
    for (; n - j > 64; j += 64) combo_pass<8>(rows, coef, k, out, j, n, acc, step);
    switch ((n - j + 7) / 8) {
      case 8: return combo_pass<8>(rows, coef, k, out, j, n, acc, step);
      case 7: return combo_pass<7>(rows, coef, k, out, j, n, acc, step);
      case 6: return combo_pass<6>(rows, coef, k, out, j, n, acc, step);
      case 5: return combo_pass<5>(rows, coef, k, out, j, n, acc, step);
      case 4: return combo_pass<4>(rows, coef, k, out, j, n, acc, step);
      case 3: return combo_pass<3>(rows, coef, k, out, j, n, acc, step);
      case 2: return combo_pass<2>(rows, coef, k, out, j, n, acc, step);
      case 1: return combo_pass<1>(rows, coef, k, out, j, n, acc, step);
      default: return;
    }
  }
  // Columns [j, min(n, j + 8 NV)), n - j > 8 (NV - 1).
  template <int NV>
  static void combo_pass(float* const* rows, const float* coef, int k, float* out, size_t j, size_t n,
                         bool acc, size_t step) {
    constexpr int L = NV - 1;  // the last vector, masked
    const __m256i m = tail_mask(n - j - 8 * L);
    float* o = out + j;
    __m256 s[NV];
#pragma GCC unroll 8
    for (int v = 0; v < L; ++v) s[v] = acc ? _mm256_loadu_ps(o + 8 * v) : _mm256_setzero_ps();
    s[L] = acc ? _mm256_maskload_ps(o + 8 * L, m) : _mm256_setzero_ps();
    for (int i = 0; i < k; ++i) {
      const __m256 c = _mm256_set1_ps(coef[i * step]);
      const float* r = rows[i] + j;
#pragma GCC unroll 8
      for (int v = 0; v < L; ++v) s[v] = _mm256_fmadd_ps(c, _mm256_loadu_ps(r + 8 * v), s[v]);
      s[L] = _mm256_fmadd_ps(c, _mm256_maskload_ps(r + 8 * L, m), s[L]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < L; ++v) _mm256_storeu_ps(o + 8 * v, s[v]);
    _mm256_maskstore_ps(o + 8 * L, m, s[L]);
  }
  // The tail is fused explicitly (std::fma), as combo's masked FMA: a plain
  // `y += a * x` is fused or not depending on the optimisation level, and
  // axpy and combo must agree bit for bit (combo replaces chains of axpys). A
  // masked store would do too, but it is slow on AMD's cores.
  static void axpy(float a, const float* x, float* y, size_t n) {
    __m256 av = _mm256_set1_ps(a);
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
      _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
    for (; j < n; ++j) y[j] = std::fma(a, x[j], y[j]);
  }
};

float dot_f32_avx2(const float* a, const float* b, size_t n) { return OpsAvx2::dot(a, b, n); }
void axpy_f32_avx2(float a, const float* x, float* y, size_t n) { OpsAvx2::axpy(a, x, y, n); }
void combo_f32_avx2(float* const* rows, const float* coef, int k, float* out, size_t n, bool acc,
                    size_t step) {
  OpsAvx2::combo(rows, coef, k, out, n, acc, step);
}

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
                         glove_adagrad_avx2, &scan_kernels_avx2(), d2v_infer_window_avx2, combo_f32_avx2};
  return k;
}

}  // namespace dv::simd
