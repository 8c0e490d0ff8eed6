// AVX-512 scan kernels (compiled with -mavx512f/bw/dq/vl -mf16c; only called
// when the CPU has them): the same structure as scan_avx2.cpp with 16 lanes;
// the last d % 16 columns (d % 32 for int8) use masked, zero-filled loads.
#include "simd/avx512_common.h"  // first: it silences a GCC 12 header warning

#include <cstring>

#include "simd/batch_impl.h"
#include "simd/i8_keys_avx2.h"
#include "simd/kernels.h"
#include "simd/pack_impl.h"

namespace dv::simd {
namespace {

using avx512::hsum;
using avx512::hsum_i32;
using avx512::tail_mask;

struct F32 {
  using T = float;
  static __m512 load(const float* r) { return _mm512_loadu_ps(r); }
  static __m512 tail(const float* r, __mmask16 m) { return _mm512_maskz_loadu_ps(m, r); }
};
struct F16 {
  using T = uint16_t;
  static __m512 load(const uint16_t* r) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r)));
  }
  static __m512 tail(const uint16_t* r, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, r));
  }
};

struct Dot {
  static __m512 step(__m512 q, __m512 r, __m512 acc) { return _mm512_fmadd_ps(q, r, acc); }
};
struct L2 {
  static __m512 step(__m512 q, __m512 r, __m512 acc) {
    const __m512 t = _mm512_sub_ps(q, r);
    return _mm512_fmadd_ps(t, t, acc);
  }
};

template <class R, class Op>
float scan_one(const float* q, __m512 qt, const typename R::T* r, size_t full, size_t rem,
               __mmask16 m) {
  __m512 a = _mm512_setzero_ps();
  for (size_t j = 0; j < full; j += 16) a = Op::step(_mm512_loadu_ps(q + j), R::load(r + j), a);
  if (rem) a = Op::step(qt, R::tail(r + full, m), a);
  return hsum(a);
}

template <class R, class Op>
void scan_rows(const float* q, const typename R::T* rows, size_t n, size_t d, float* out) {
  const size_t full = d & ~size_t(15), rem = d - full;
  const __mmask16 m = tail_mask(rem);
  const __m512 qt = _mm512_maskz_loadu_ps(m, q + full);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const typename R::T *r0 = rows + i * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < full; j += 16) {
      const __m512 qv = _mm512_loadu_ps(q + j);
      a0 = Op::step(qv, R::load(r0 + j), a0);
      a1 = Op::step(qv, R::load(r1 + j), a1);
      a2 = Op::step(qv, R::load(r2 + j), a2);
      a3 = Op::step(qv, R::load(r3 + j), a3);
    }
    if (rem) {
      a0 = Op::step(qt, R::tail(r0 + full, m), a0);
      a1 = Op::step(qt, R::tail(r1 + full, m), a1);
      a2 = Op::step(qt, R::tail(r2 + full, m), a2);
      a3 = Op::step(qt, R::tail(r3 + full, m), a3);
    }
    out[i] = hsum(a0), out[i + 1] = hsum(a1), out[i + 2] = hsum(a2), out[i + 3] = hsum(a3);
  }
  for (; i < n; ++i) out[i] = scan_one<R, Op>(q, qt, rows + i * d, full, rem, m);
}

void dot_rows_f32_avx512(const float* q, const float* rows, size_t n, size_t d, float* out) {
  scan_rows<F32, Dot>(q, rows, n, d, out);
}
void dot_rows_f16_avx512(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  scan_rows<F16, Dot>(q, rows, n, d, out);
}
void l2_rows_f32_avx512(const float* q, const float* rows, size_t n, size_t d, float* out) {
  scan_rows<F32, L2>(q, rows, n, d, out);
}
void l2_rows_f16_avx512(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  scan_rows<F16, L2>(q, rows, n, d, out);
}

// int8 dot products with vpmaddubsw as in scan_avx2.cpp: |q| (unsigned) times
// the row negated where q < 0; -128 reads as -127 in both operands.
inline __m512i clamp8(__m512i v) { return _mm512_max_epi8(v, _mm512_set1_epi8(-127)); }

inline __m512i dot64(__m512i q_abs, __mmask64 q_neg, __m512i r) {
  r = clamp8(r);
  r = _mm512_mask_sub_epi8(r, q_neg, _mm512_setzero_si512(), r);
  return _mm512_madd_epi16(_mm512_maddubs_epi16(q_abs, r), _mm512_set1_epi16(1));
}

inline __m512i load64(const int8_t* p, __mmask64 m) { return _mm512_maskz_loadu_epi8(m, p); }

constexpr size_t kPrefetchI8 = 1024;  // bytes ahead, as in scan_avx2.cpp

void dot_rows_i8_avx512(const int8_t* q, const int8_t* rows, size_t n, size_t d, int32_t* out) {
  const size_t full = d & ~size_t(63), rem = d - full;
  const __mmask64 all = ~__mmask64(0), mt = (__mmask64(1) << rem) - 1u;
  const __m512i qt = clamp8(load64(q + full, mt)), qt_abs = _mm512_abs_epi8(qt);
  const __mmask64 qt_neg = _mm512_movepi8_mask(qt);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int8_t *r0 = rows + i * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
    for (size_t off = 0; off < 4 * d; off += 64)  // rows stream 4x faster than float32
      _mm_prefetch(reinterpret_cast<const char*>(r0 + kPrefetchI8 + off), _MM_HINT_T0);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < full; j += 64) {
      const __m512i qv = clamp8(load64(q + j, all)), qa = _mm512_abs_epi8(qv);
      const __mmask64 neg = _mm512_movepi8_mask(qv);
      a0 = _mm512_add_epi32(a0, dot64(qa, neg, load64(r0 + j, all)));
      a1 = _mm512_add_epi32(a1, dot64(qa, neg, load64(r1 + j, all)));
      a2 = _mm512_add_epi32(a2, dot64(qa, neg, load64(r2 + j, all)));
      a3 = _mm512_add_epi32(a3, dot64(qa, neg, load64(r3 + j, all)));
    }
    if (rem) {
      a0 = _mm512_add_epi32(a0, dot64(qt_abs, qt_neg, load64(r0 + full, mt)));
      a1 = _mm512_add_epi32(a1, dot64(qt_abs, qt_neg, load64(r1 + full, mt)));
      a2 = _mm512_add_epi32(a2, dot64(qt_abs, qt_neg, load64(r2 + full, mt)));
      a3 = _mm512_add_epi32(a3, dot64(qt_abs, qt_neg, load64(r3 + full, mt)));
    }
    out[i] = hsum_i32(a0), out[i + 1] = hsum_i32(a1);
    out[i + 2] = hsum_i32(a2), out[i + 3] = hsum_i32(a3);
  }
  for (; i < n; ++i) {
    const int8_t* r = rows + i * d;
    __m512i a = _mm512_setzero_si512();
    for (size_t j = 0; j < full; j += 64) {
      const __m512i qv = clamp8(load64(q + j, all));
      a = _mm512_add_epi32(a, dot64(_mm512_abs_epi8(qv), _mm512_movepi8_mask(qv), load64(r + j, all)));
    }
    if (rem) a = _mm512_add_epi32(a, dot64(qt_abs, qt_neg, load64(r + full, mt)));
    out[i] = hsum_i32(a);
  }
}

// Fused int8 scan + threshold: the dot products above in blocks of 64 rows,
// keys and test with the AVX2 code the AVX2 kernel uses (same keys).
size_t filter_rows_i8_avx512(const int8_t* q, const int8_t* rows, size_t n, size_t d, const I8Keys& k,
                             float thr, uint32_t* idx, float* key) {
  using avx2::filter_from_dots;
  switch (k.kind) {
    case I8Keys::Cosine:
      return filter_from_dots<I8Keys::Cosine>(dot_rows_i8_avx512, q, rows, n, d, k, thr, idx, key);
    case I8Keys::L2:
      return filter_from_dots<I8Keys::L2>(dot_rows_i8_avx512, q, rows, n, d, k, thr, idx, key);
    default:
      return filter_from_dots<I8Keys::Dot>(dot_rows_i8_avx512, q, rows, n, d, k, thr, idx, key);
  }
}

constexpr size_t kPanel = 16;

void pack_f32_avx512(const float* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, [](float x) { return x; });
}
void pack_f16_avx512(const uint16_t* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, [](uint16_t h) { return _cvtsh_ss(h); });
}

inline void store_rows(float* out, __m512 v, size_t cnt) {
  _mm512_mask_storeu_ps(out, cnt >= kPanel ? static_cast<__mmask16>(0xFFFF) : tail_mask(cnt), v);
}

// Four queries against two panels (32 rows) per pass (see scan_avx2.cpp).
void dot_packed_f32_avx512(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                           float* out, size_t os) {
  for (size_t k0 = 0; k0 < nq; k0 += 4) {
    const size_t cnt = nq - k0 < 4 ? nq - k0 : 4;
    const float* q0 = q + k0 * d;
    const float* q1 = cnt > 1 ? q0 + d : q0;
    const float* q2 = cnt > 2 ? q0 + 2 * d : q0;
    const float* q3 = cnt > 3 ? q0 + 3 * d : q0;
    float* o = out + k0 * os;
    const size_t panels = (n + kPanel - 1) / kPanel;
    for (size_t p = 0; p < panels; p += 2) {
      const bool two = p + 1 < panels;
      const float* a = packed + p * d * kPanel;
      const float* b = two ? a + d * kPanel : a;
      __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
      for (size_t j = 0; j < d; ++j) {
        const __m512 va = _mm512_loadu_ps(a + j * kPanel), vb = _mm512_loadu_ps(b + j * kPanel);
        __m512 x = _mm512_set1_ps(q0[j]);
        a0 = _mm512_fmadd_ps(x, va, a0), b0 = _mm512_fmadd_ps(x, vb, b0);
        x = _mm512_set1_ps(q1[j]);
        a1 = _mm512_fmadd_ps(x, va, a1), b1 = _mm512_fmadd_ps(x, vb, b1);
        x = _mm512_set1_ps(q2[j]);
        a2 = _mm512_fmadd_ps(x, va, a2), b2 = _mm512_fmadd_ps(x, vb, b2);
        x = _mm512_set1_ps(q3[j]);
        a3 = _mm512_fmadd_ps(x, va, a3), b3 = _mm512_fmadd_ps(x, vb, b3);
      }
      const size_t i = p * kPanel;
      const __m512 res[4][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}};
      for (size_t k = 0; k < cnt; ++k) {
        store_rows(o + k * os + i, res[k][0], n - i);
        if (two) store_rows(o + k * os + i + kPanel, res[k][1], n - i - kPanel);
      }
    }
  }
}

// ---- batches fused with top-k (batch_impl.h): 16-lane vectors; 12 queries
// x 2 panels = 24 accumulators in 32 zmm. Keys and the threshold test run on
// the two 8-lane halves of each accumulator.
struct V16 {
  static constexpr size_t W = 16;
  using F = __m512;
  using I = __m512i;
  static F fzero() { return _mm512_setzero_ps(); }
  static F fload(const float* p) { return _mm512_loadu_ps(p); }
  static F fbcast(const float* p) { return _mm512_set1_ps(*p); }
  static F fma(F x, F r, F acc) { return _mm512_fmadd_ps(x, r, acc); }
  static I izero() { return _mm512_setzero_si512(); }
  static I iload(const int16_t* p) { return _mm512_loadu_si512(p); }
  static I ibcast32(const int16_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
  }
  static I dot2(I acc, I a, I b) { return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b)); }
  static void split8(F v, __m256* out) {
    out[0] = _mm512_castps512_ps256(v), out[1] = _mm512_extractf32x8_ps(v, 1);
  }
  static void isplit8(I v, __m256i* out) {
    out[0] = _mm512_castsi512_si256(v), out[1] = _mm512_extracti64x4_epi64(v, 1);
  }
};
constexpr int kBatchQ = 12;

void filter_packed_f32_avx512(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                              const FKeys& keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                              size_t* counts) {
  batch::filter_packed_f32<V16, kBatchQ>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}
void pack_i8_avx512(const int8_t* rows, size_t n, size_t d, int16_t* packed) {
  batch::pack_i8_pairs<kPanel>(rows, n, d, packed);
}
void filter_packed_i8_avx512(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                             const I8Keys* keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                             size_t* counts) {
  batch::filter_packed_i8<V16, kBatchQ>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}

}  // namespace

const ScanKernels& scan_kernels_avx512() {
  static const ScanKernels k{dot_rows_f32_avx512,    dot_rows_f16_avx512,      dot_rows_i8_avx512,
                             l2_rows_f32_avx512,     l2_rows_f16_avx512,       kPanel,
                             pack_f32_avx512,        pack_f16_avx512,          dot_packed_f32_avx512,
                             filter_rows_i8_avx512,  filter_packed_f32_avx512, pack_i8_avx512,
                             avx512_vnni_supported() ? filter_packed_i8_avx512vnni : filter_packed_i8_avx512};
  return k;
}

}  // namespace dv::simd
