// Batched exact search kernels (ScanKernels::filter_packed_f32 / _i8): a
// register-blocked micro-kernel scores MQ queries against two row panels at
// once, and each query's scores are turned into keys and tested against that
// query's top-k threshold while they are still in registers; only the rows
// that pass are written out, so the score matrix never reaches memory.
//
// Included by scan_avx2.cpp and scan_avx512.cpp with a vector traits type V:
//   V::W lanes; F / I float and int32 vectors; fzero, fload, fbcast, fma;
//   izero, iload, ibcast32 (32 bits broadcast), dot2 (acc + vpmaddwd, or
//   one vpdpwssd with VNNI);
//   split8(F, __m256[W / 8]) / isplit8(I, __m256i[W / 8]) (8-lane pieces).
// Keys and the threshold test run on 8-lane AVX2 vectors (both files are
// compiled with -mavx2), in the order of the scalar formula.
//
// float32 / float16: per (query, row) the sum over columns j = 0, 1, ... in
// order, one fused multiply-add per column starting from zero: the order of
// dot_packed_f32, so scores are bit-identical to it for every nq.
// int8: rows are packed as int16 column pairs and multiplied with vpmaddwd
// (exact int32 sums), keys as I8Keys (bit-identical to filter_rows_i8).
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "simd/avx2_common.h"
#include "simd/i8_keys_avx2.h"
#include "simd/kernels.h"

namespace dv::simd::batch {

using avx2::i8_emit;
using avx2::i8_keys8;
using avx2::rounded;
using avx2::tail_mask;

// Keys of 8 rows (i .. i + cnt of the tile) for one query from raw dot
// products, in the order of FKeys (kernels.h). RAW: plain dot, key = score.
template <bool RAW>
inline __m256 f_keys8(__m256 dot, const FKeys& k, float qq, size_t i, size_t cnt) {
  if (RAW) return dot;
  const bool part = cnt < 8;
  const __m256i m = tail_mask(cnt);
  auto load = [&](const float* p) { return part ? _mm256_maskload_ps(p + i, m) : _mm256_loadu_ps(p + i); };
  __m256 key = dot;
  if (k.scale) key = _mm256_mul_ps(key, load(k.scale));
  if (k.kind == FKeys::Cosine && k.norms) {
    const __m256 nr = load(k.norms);
    const __m256 nz = _mm256_cmp_ps(nr, _mm256_setzero_ps(), _CMP_NEQ_UQ);
    key = _mm256_and_ps(_mm256_div_ps(key, nr), nz);  // 0 where the norm is 0
  } else if (k.kind == FKeys::L2) {
    const __m256 nr = load(k.norms);
    __m256 t = _mm256_sub_ps(_mm256_set1_ps(qq), rounded(_mm256_mul_ps(_mm256_set1_ps(2.0f), key)));
    t = _mm256_add_ps(t, rounded(_mm256_mul_ps(nr, nr)));
    t = _mm256_max_ps(_mm256_setzero_ps(), t);  // a NaN t stays NaN
    key = _mm256_xor_ps(t, _mm256_set1_ps(-0.0f));
  }
  return key;
}

// Panels of W rows, column pairs of int16 (row r, columns 2p and 2p + 1 at
// panel * dp * W + p * 2W + 2r + {0, 1}; dp = d rounded up to even; rows past
// n and the padding column are zero). -128 reads as -127.
template <size_t W>
void pack_i8_pairs(const int8_t* rows, size_t n, size_t d, int16_t* packed) {
  const size_t dp = (d + 1) / 2 * 2, panels = (n + W - 1) / W;
  for (size_t p = 0; p < panels; ++p) {
    int16_t* dst = packed + p * dp * W;
    for (size_t r = 0; r < W; ++r) {
      const size_t i = p * W + r;
      for (size_t j = 0; j < dp; ++j) {
        int16_t v = 0;
        if (i < n && j < d) v = rows[i * d + j] < -127 ? int16_t(-127) : int16_t(rows[i * d + j]);
        dst[(j / 2) * 2 * W + 2 * r + (j & 1)] = v;
      }
    }
  }
}

// Emits the passing rows of one W-row panel for query slot s.
template <size_t W, class P, class KeyFn>
inline void emit_panel(const P* pieces, size_t r0, size_t n, float thr, KeyFn keyfn,
                       uint32_t* idx, float* key, size_t& c) {
  const __m256 t = _mm256_set1_ps(thr);
  for (size_t h = 0; h < W / 8; ++h) {
    const size_t i = r0 + 8 * h;
    if (i >= n) break;
    const size_t cnt = n - i < 8 ? n - i : 8;
    c = i8_emit(keyfn(pieces[h], i, cnt), t, i, cnt, idx, key, c);
  }
}

// MQ queries x 2 panels per pass. Queries beyond nq repeat the first one and
// emit nothing, so a query's scores do not depend on which queries share it.
template <class V, int MQ, bool RAW>
void filter_packed_f32_t(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                         const FKeys& keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                         size_t* counts) {
  constexpr size_t W = V::W;
  using F = typename V::F;
  for (size_t i = 0; i < nq; ++i) counts[i] = 0;
  const size_t panels = (n + W - 1) / W;
  for (size_t k0 = 0; k0 < nq; k0 += MQ) {
    const size_t cnt = nq - k0 < size_t(MQ) ? nq - k0 : size_t(MQ);
    const float* qp[MQ];
    for (int s = 0; s < MQ; ++s) qp[s] = q + (k0 + (size_t(s) < cnt ? size_t(s) : 0)) * d;
    for (size_t p = 0; p < panels; p += 2) {
      const bool two = p + 1 < panels;
      const float* a = packed + p * d * W;
      const float* b = two ? a + d * W : a;
      F acc[MQ][2];
#pragma GCC unroll 16
      for (int s = 0; s < MQ; ++s) acc[s][0] = V::fzero(), acc[s][1] = V::fzero();
      for (size_t j = 0; j < d; ++j) {
        const F va = V::fload(a + j * W), vb = V::fload(b + j * W);
#pragma GCC unroll 16
        for (int s = 0; s < MQ; ++s) {
          const F x = V::fbcast(qp[s] + j);
          acc[s][0] = V::fma(x, va, acc[s][0]);
          acc[s][1] = V::fma(x, vb, acc[s][1]);
        }
      }
      // the emitting loop indexes by a run-time panel: a copy, so that acc
      // is only indexed by constants and stays in registers in the loop above
      F res[MQ][2];
#pragma GCC unroll 16
      for (int s = 0; s < MQ; ++s) res[s][0] = acc[s][0], res[s][1] = acc[s][1];
      for (int s = 0; s < MQ; ++s) {
        if (size_t(s) >= cnt) break;
        const size_t qi = k0 + s;
        const float qq = keys.qq ? keys.qq[qi] : 0.0f;
        auto keyfn = [&](__m256 v, size_t i, size_t c8) { return f_keys8<RAW>(v, keys, qq, i, c8); };
        __m256 pieces[W / 8];
        for (int part = 0; part < (two ? 2 : 1); ++part) {
          V::split8(res[s][part], pieces);
          emit_panel<W>(pieces, (p + part) * W, n, thr[qi], keyfn, idx + qi * stride, key + qi * stride,
                        counts[qi]);
        }
      }
    }
  }
}

template <class V, int MQ>
void filter_packed_f32(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                       const FKeys& keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                       size_t* counts) {
  if (keys.kind == FKeys::Dot && !keys.scale)
    return filter_packed_f32_t<V, MQ, true>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
  filter_packed_f32_t<V, MQ, false>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}

// int8: q holds nq queries of dp int16 each (column pairs, as the rows).
template <class V, int MQ, I8Keys::Kind K>
void filter_packed_i8_t(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                        const I8Keys* keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                        size_t* counts) {
  constexpr size_t W = V::W;
  using I = typename V::I;
  const size_t dp = (d + 1) / 2 * 2, pairs = dp / 2;
  for (size_t i = 0; i < nq; ++i) counts[i] = 0;
  const size_t panels = (n + W - 1) / W;
  for (size_t k0 = 0; k0 < nq; k0 += MQ) {
    const size_t cnt = nq - k0 < size_t(MQ) ? nq - k0 : size_t(MQ);
    const int16_t* qp[MQ];
    for (int s = 0; s < MQ; ++s) qp[s] = q + (k0 + (size_t(s) < cnt ? size_t(s) : 0)) * dp;
    for (size_t p = 0; p < panels; p += 2) {
      const bool two = p + 1 < panels;
      const int16_t* a = packed + p * dp * W;
      const int16_t* b = two ? a + dp * W : a;
      I acc[MQ][2];
#pragma GCC unroll 16
      for (int s = 0; s < MQ; ++s) acc[s][0] = V::izero(), acc[s][1] = V::izero();
      for (size_t j = 0; j < pairs; ++j) {
        const I va = V::iload(a + j * 2 * W), vb = V::iload(b + j * 2 * W);
#pragma GCC unroll 16
        for (int s = 0; s < MQ; ++s) {
          const I x = V::ibcast32(qp[s] + 2 * j);
          acc[s][0] = V::dot2(acc[s][0], x, va);
          acc[s][1] = V::dot2(acc[s][1], x, vb);
        }
      }
      // the emitting loop indexes by a run-time panel: a copy, so that acc
      // is only indexed by constants and stays in registers in the loop above
      I res[MQ][2];
#pragma GCC unroll 16
      for (int s = 0; s < MQ; ++s) res[s][0] = acc[s][0], res[s][1] = acc[s][1];
      for (int s = 0; s < MQ; ++s) {
        if (size_t(s) >= cnt) break;
        const size_t qi = k0 + s;
        const I8Keys& k = keys[qi];
        auto keyfn = [&](__m256i v, size_t i, size_t c8) { return i8_keys8<K>(v, k, i, c8); };
        __m256i pieces[W / 8];
        for (int part = 0; part < (two ? 2 : 1); ++part) {
          V::isplit8(res[s][part], pieces);
          emit_panel<W>(pieces, (p + part) * W, n, thr[qi], keyfn, idx + qi * stride, key + qi * stride,
                        counts[qi]);
        }
      }
    }
  }
}

template <class V, int MQ>
void filter_packed_i8(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                      const I8Keys* keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                      size_t* counts) {
  if (nq == 0) return;
  switch (keys[0].kind) {
    case I8Keys::Cosine:
      return filter_packed_i8_t<V, MQ, I8Keys::Cosine>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
    case I8Keys::L2:
      return filter_packed_i8_t<V, MQ, I8Keys::L2>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
    default:
      return filter_packed_i8_t<V, MQ, I8Keys::Dot>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
  }
}

}  // namespace dv::simd::batch
