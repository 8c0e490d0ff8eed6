// AVX2 + FMA + F16C scan kernels (compiled with -mavx2 -mfma -mf16c; only
// called when the CPU has them). Single queries: rows in address order with
// the query held in registers (see scan_rows); the last d % 8 columns come
// from an overlapping load of the row's last 8 (see score_row). int8 search
// scans fuse the top-k threshold test into the same kind of loop
// (filter_rows_i8_avx2). Batches: packed panels, one row per lane, no
// horizontal sums.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "simd/avx2_common.h"
#include "simd/batch_impl.h"
#include "simd/i8_keys_avx2.h"
#include "simd/kernels.h"
#include "simd/pack_impl.h"

namespace dv::simd {
namespace {

using avx2::hsum;
using avx2::hsum_i32;
using avx2::i8_emit;
using avx2::i8_keys8;
using avx2::tail_mask;

// Row element types: load 8 columns as floats, or the last rem columns zero-filled.
struct F32 {
  using T = float;
  static __m256 load(const float* r) { return _mm256_loadu_ps(r); }
  static __m256 tail(const float* r, size_t, __m256i m) { return _mm256_maskload_ps(r, m); }  // d < 8 only
};
struct F16 {
  using T = uint16_t;
  static __m256 load(const uint16_t* r) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r)));
  }
  static __m256 tail(const uint16_t* r, size_t rem, __m256i) {  // d < 8 only
    alignas(16) uint16_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(buf, r, rem * sizeof(uint16_t));
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)));
  }
};

// Per-column accumulation steps.
struct Dot {
  static __m256 step(__m256 q, __m256 r, __m256 acc) { return _mm256_fmadd_ps(q, r, acc); }
};
struct L2 {
  static __m256 step(__m256 q, __m256 r, __m256 acc) {
    const __m256 t = _mm256_sub_ps(q, r);
    return _mm256_fmadd_ps(t, t, acc);
  }
};

// Lanes 8 - rem .. 7: where the last rem columns of a row land when its last
// 8 columns are loaded (rows of at least 8 columns).
inline __m256 last_lanes(size_t rem) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(7 - static_cast<int>(rem))));
}

// One row: the first NR query vectors come from registers (qr), the rest of
// the full ones from memory, two accumulators (even / odd vectors), the tail
// last. With NR > 0 (d >= 8) the tail is the row's last 8 columns, an ordinary
// load with the lanes before the tail zeroed (as in qt), instead of a masked or
// copied load. The order depends only on d, never on n or on where a chunk starts.
template <int NR, class R, class Op>
inline float score_row(const __m256 (&qr)[NR > 0 ? NR : 1], const float* q, __m256 qt,
                       const typename R::T* r, size_t d, size_t full, size_t rem, __m256i m,
                       __m256 last) {
  __m256 a = _mm256_setzero_ps(), b = a;
  for (int k = 0; k + 1 < NR; k += 2) {
    a = Op::step(qr[k], R::load(r + 8 * k), a);
    b = Op::step(qr[k + 1], R::load(r + 8 * k + 8), b);
  }
  if (NR % 2) a = Op::step(qr[NR - 1], R::load(r + 8 * (NR - 1)), a);
  size_t j = 8 * NR;
  for (; j + 16 <= full; j += 16) {
    a = Op::step(_mm256_loadu_ps(q + j), R::load(r + j), a);
    b = Op::step(_mm256_loadu_ps(q + j + 8), R::load(r + j + 8), b);
  }
  if (j < full) a = Op::step(_mm256_loadu_ps(q + j), R::load(r + j), a);
  if (rem) {
    const __m256 t = NR > 0 ? _mm256_and_ps(R::load(r + d - 8), last) : R::tail(r, rem, m);
    b = Op::step(qt, t, b);
  }
  return hsum(_mm256_add_ps(a, b));
}

template <int NR, class R, class Op>
void scan_rows_nr(const float* q, const typename R::T* rows, size_t n, size_t d, float* out) {
  const size_t full = d & ~size_t(7), rem = d - full;
  const __m256i m = tail_mask(rem);
  const __m256 last = last_lanes(rem);
  const __m256 qt = NR > 0 ? _mm256_and_ps(_mm256_loadu_ps(q + d - 8), last) : _mm256_maskload_ps(q, m);
  __m256 qr[NR > 0 ? NR : 1];
  for (int k = 0; k < NR; ++k) qr[k] = _mm256_loadu_ps(q + 8 * k);
  for (size_t i = 0; i < n; ++i)
    out[i] = score_row<NR, R, Op>(qr, q, qt, rows + i * d, d, full, rem, m, last);
}

// Rows are read one after another in address order: a single stream, which the
// hardware prefetchers follow best (scoring 4 rows side by side, 1.2 KB apart
// at d = 300, was about 30% slower on AVX2 Zen 3, software prefetch or not).
// Up to 12 query vectors stay in registers (16 ymm: 12, 2 accumulators, 2
// temporaries), so that a row vector costs one fused load + FMA instead of two
// loads; with the query loaded from L1 each time the scan ran ~10% below a
// plain read of the rows, with it in registers within noise of one (d = 100).
template <class R, class Op>
void scan_rows(const float* q, const typename R::T* rows, size_t n, size_t d, float* out) {
  switch (std::min<size_t>(d / 8, 12)) {
    case 0: return scan_rows_nr<0, R, Op>(q, rows, n, d, out);
    case 1: return scan_rows_nr<1, R, Op>(q, rows, n, d, out);
    case 2: case 3: return scan_rows_nr<2, R, Op>(q, rows, n, d, out);
    case 4: case 5: return scan_rows_nr<4, R, Op>(q, rows, n, d, out);
    case 6: case 7: return scan_rows_nr<6, R, Op>(q, rows, n, d, out);
    case 8: case 9: return scan_rows_nr<8, R, Op>(q, rows, n, d, out);
    case 10: case 11: return scan_rows_nr<10, R, Op>(q, rows, n, d, out);
    default: return scan_rows_nr<12, R, Op>(q, rows, n, d, out);
  }
}

void dot_rows_f32_avx2(const float* q, const float* rows, size_t n, size_t d, float* out) {
  scan_rows<F32, Dot>(q, rows, n, d, out);
}
void dot_rows_f16_avx2(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  scan_rows<F16, Dot>(q, rows, n, d, out);
}
void l2_rows_f32_avx2(const float* q, const float* rows, size_t n, size_t d, float* out) {
  scan_rows<F32, L2>(q, rows, n, d, out);
}
void l2_rows_f16_avx2(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  scan_rows<F16, L2>(q, rows, n, d, out);
}

// int8 dot products with vpmaddubsw: |q| (unsigned) times the row carrying q's
// sign, adjacent pairs summed to int16 (at most 2 * 127 * 127: no saturation),
// then pairs of those to int32 by vpmaddwd with ones. -128 reads as -127 in
// both operands (symmetric int8), so every sum is exact.
inline __m256i clamp8(__m256i v) { return _mm256_max_epi8(v, _mm256_set1_epi8(-127)); }

inline __m256i dot32(__m256i q_abs, __m256i q, __m256i r) {
  const __m256i pairs = _mm256_maddubs_epi16(q_abs, _mm256_sign_epi8(clamp8(r), q));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

inline __m256i load32(const int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The last rem (< 32) bytes of a row, zero-filled; with `over` the load may
// read past them (the query's tail is zero there, which zeroes the products).
inline __m256i load_tail(const int8_t* p, size_t rem, bool over) {
  if (over) return load32(p);
  alignas(32) int8_t buf[32] = {};
  std::memcpy(buf, p, rem);
  return load32(buf);
}

constexpr size_t kPrefetchI8 = 1024;  // bytes ahead (tuned on AVX2 Zen: 512..4096 tried)

void dot_rows_i8_avx2(const int8_t* q, const int8_t* rows, size_t n, size_t d, int32_t* out) {
  const size_t full = d & ~size_t(31), rem = d - full;
  const __m256i qt = clamp8(load_tail(q + full, rem, false)), qt_abs = _mm256_abs_epi8(qt);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int8_t *r0 = rows + i * d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
    for (size_t off = 0; off < 4 * d; off += 64)  // rows stream 4x faster than float32
      _mm_prefetch(reinterpret_cast<const char*>(r0 + kPrefetchI8 + off), _MM_HINT_T0);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < full; j += 32) {
      const __m256i qv = clamp8(load32(q + j)), qa = _mm256_abs_epi8(qv);
      a0 = _mm256_add_epi32(a0, dot32(qa, qv, load32(r0 + j)));
      a1 = _mm256_add_epi32(a1, dot32(qa, qv, load32(r1 + j)));
      a2 = _mm256_add_epi32(a2, dot32(qa, qv, load32(r2 + j)));
      a3 = _mm256_add_epi32(a3, dot32(qa, qv, load32(r3 + j)));
    }
    if (rem) {
      const bool over = (i + 3) * d + full + 32 <= n * d;  // stays inside the rows
      a0 = _mm256_add_epi32(a0, dot32(qt_abs, qt, load_tail(r0 + full, rem, over)));
      a1 = _mm256_add_epi32(a1, dot32(qt_abs, qt, load_tail(r1 + full, rem, over)));
      a2 = _mm256_add_epi32(a2, dot32(qt_abs, qt, load_tail(r2 + full, rem, over)));
      a3 = _mm256_add_epi32(a3, dot32(qt_abs, qt, load_tail(r3 + full, rem, over)));
    }
    out[i] = hsum_i32(a0), out[i + 1] = hsum_i32(a1);
    out[i + 2] = hsum_i32(a2), out[i + 3] = hsum_i32(a3);
  }
  for (; i < n; ++i) {
    const int8_t* r = rows + i * d;
    __m256i a = _mm256_setzero_si256();
    for (size_t j = 0; j < full; j += 32) {
      const __m256i qv = clamp8(load32(q + j));
      a = _mm256_add_epi32(a, dot32(_mm256_abs_epi8(qv), qv, load32(r + j)));
    }
    if (rem) a = _mm256_add_epi32(a, dot32(qt_abs, qt, load_tail(r + full, rem, false)));
    out[i] = hsum_i32(a);
  }
}

// ---- int8 search: scan fused with the top-k threshold (filter_rows_i8)
//
// Rows are read one after another in address order with the query in
// registers (as the float scans above), 8 rows to a group: each row's int32
// accumulator, the 8 reduced to one vector of dot products by a horizontal-add
// tree, then the keys (i8_keys_avx2.h) and the threshold test for the 8 at
// once. Once the caller's top-k is full almost every row fails the test, so
// scores are neither stored nor converted in a separate pass.
//
// Row layout in 32-byte blocks: `nb` full blocks, then, when d % 32 != 0, a
// tail: for d >= 32 the row's last 32 bytes (overlapping the last full block;
// the query's tail vector is zero on the overlap, so those bytes add nothing),
// for d < 32 32 bytes from the row's start, read past it while that stays
// inside the rows, else copied (the query is zero past d).
struct I8Query {
  const int8_t* q;   // clamped query, nb full blocks
  const int8_t* qa;  // their absolute values
  __m256i qt, qta;   // tail block (zero where it overlaps or where there is no column)
  size_t nb;
};

enum Tail { kNoTail, kOverlapTail, kShortRow };

// Exact int32 dot of one row, 8 partial sums in the lanes. NB >= 0: the
// block count, known at compile time, query blocks in qv / qa (registers as
// far as they go); NB < 0: qq.nb blocks, the query read from L1.
template <int NB, int TAIL>
inline __m256i dot_row_i8(const I8Query& qq, const __m256i* qv, const __m256i* qa, __m256i qt,
                          __m256i qta, const int8_t* r, size_t d, const int8_t* end) {
  __m256i acc = _mm256_setzero_si256();
  if (NB >= 0) {
    for (int b = 0; b < NB; ++b) acc = _mm256_add_epi32(acc, dot32(qa[b], qv[b], load32(r + 32 * b)));
  } else {
    for (size_t b = 0; b < qq.nb; ++b)
      acc = _mm256_add_epi32(acc, dot32(load32(qq.qa + 32 * b), load32(qq.q + 32 * b), load32(r + 32 * b)));
  }
  if (TAIL == kOverlapTail) {
    acc = _mm256_add_epi32(acc, dot32(qta, qt, load32(r + d - 32)));
  } else if (TAIL == kShortRow) {
    __m256i t;
    if (r + 32 <= end) {
      t = load32(r);
    } else {
      alignas(32) int8_t buf[32] = {};
      std::memcpy(buf, r, d);
      t = load32(buf);
    }
    acc = _mm256_add_epi32(acc, dot32(qta, qt, t));
  }
  return acc;
}

// Eight rows' accumulators to one vector of their sums (row j in lane j).
inline __m256i reduce8(const __m256i (&a)[8]) {
  const __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
  const __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
  // u0: rows 0..3 summed over their low 128 bits | over their high 128 bits; u1: rows 4..7
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

// Software prefetch distance of the fused int8 scan. Without it the scan ran
// ~15% below a plain read of the rows on AVX2 Zen 3 (1M x 100 and x 300); with
// it, within noise of one. Tried 768..4096 bytes, per row and per 8 rows:
// 1536 bytes, each row's lines prefetched when the row is read, was best.
constexpr size_t kPrefetchFused = 1536;

template <int NB, int TAIL, I8Keys::Kind K>
size_t filter_rows_i8_nb(const I8Query& qq, const int8_t* rows, size_t n, size_t d, const I8Keys& k,
                         float thr, uint32_t* idx, float* key) {
  __m256i qv[NB > 0 ? NB : 1], qa[NB > 0 ? NB : 1];
  for (int b = 0; b < NB; ++b) qv[b] = load32(qq.q + 32 * b), qa[b] = load32(qq.qa + 32 * b);
  const int8_t* end = rows + n * d;
  const __m256 t = _mm256_set1_ps(thr);
  const __m256i qt = qq.qt, qta = qq.qta;
  // (prefetches do not fault, so they may run past the rows: into the next
  // chunk, which is what the caller scans next)
  auto row = [&](size_t i) {
    const int8_t* r = rows + i * d;
    for (size_t off = 0; off < d; off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(r) + kPrefetchFused + off, _MM_HINT_T0);
    return dot_row_i8<NB, TAIL>(qq, qv, qa, qt, qta, r, d, end);
  };
  size_t c = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i a[8];
    for (int j = 0; j < 8; ++j) a[j] = row(i + j);
    c = i8_emit(i8_keys8<K>(reduce8(a), k, i, 8), t, i, 8, idx, key, c);
  }
  if (i < n) {  // the last n % 8 rows: the missing ones score 0 and are masked out
    const size_t cnt = n - i;
    __m256i a[8];
    for (size_t j = 0; j < 8; ++j) a[j] = j < cnt ? row(i + j) : _mm256_setzero_si256();
    c = i8_emit(i8_keys8<K>(reduce8(a), k, i, cnt), t, i, cnt, idx, key, c);
  }
  return c;
}

template <int NB, I8Keys::Kind K>
size_t filter_rows_i8_tail(const I8Query& qq, const int8_t* rows, size_t n, size_t d, const I8Keys& k,
                           float thr, uint32_t* idx, float* key) {
  if (d < 32) return filter_rows_i8_nb<0, kShortRow, K>(qq, rows, n, d, k, thr, idx, key);
  if (d % 32) return filter_rows_i8_nb<NB, kOverlapTail, K>(qq, rows, n, d, k, thr, idx, key);
  return filter_rows_i8_nb<NB, kNoTail, K>(qq, rows, n, d, k, thr, idx, key);
}

template <I8Keys::Kind K>
size_t filter_rows_i8_kind(const I8Query& qq, const int8_t* rows, size_t n, size_t d, const I8Keys& k,
                           float thr, uint32_t* idx, float* key) {
  // The block count as a template argument up to 12 (d < 416): the row loop
  // fully unrolled. Query vectors beyond what 16 ymm hold (about 4 blocks, 2
  // ymm each) are spilled by the compiler and read back from the stack, which
  // still ran ~30% faster than the runtime loop at d = 300 (rows in L2).
  switch (qq.nb) {
    case 0: return filter_rows_i8_tail<0, K>(qq, rows, n, d, k, thr, idx, key);
    case 1: return filter_rows_i8_tail<1, K>(qq, rows, n, d, k, thr, idx, key);
    case 2: return filter_rows_i8_tail<2, K>(qq, rows, n, d, k, thr, idx, key);
    case 3: return filter_rows_i8_tail<3, K>(qq, rows, n, d, k, thr, idx, key);
    case 4: return filter_rows_i8_tail<4, K>(qq, rows, n, d, k, thr, idx, key);
    case 5: return filter_rows_i8_tail<5, K>(qq, rows, n, d, k, thr, idx, key);
    case 6: return filter_rows_i8_tail<6, K>(qq, rows, n, d, k, thr, idx, key);
    case 7: return filter_rows_i8_tail<7, K>(qq, rows, n, d, k, thr, idx, key);
    case 8: return filter_rows_i8_tail<8, K>(qq, rows, n, d, k, thr, idx, key);
    case 9: return filter_rows_i8_tail<9, K>(qq, rows, n, d, k, thr, idx, key);
    case 10: return filter_rows_i8_tail<10, K>(qq, rows, n, d, k, thr, idx, key);
    case 11: return filter_rows_i8_tail<11, K>(qq, rows, n, d, k, thr, idx, key);
    case 12: return filter_rows_i8_tail<12, K>(qq, rows, n, d, k, thr, idx, key);
    default: return filter_rows_i8_tail<-1, K>(qq, rows, n, d, k, thr, idx, key);
  }
}

size_t filter_rows_i8_avx2(const int8_t* q, const int8_t* rows, size_t n, size_t d, const I8Keys& k,
                           float thr, uint32_t* idx, float* key) {
  const size_t nb = d / 32, rem = d % 32;
  // the query, clamped, and its absolute values (on the stack up to d = 1024)
  constexpr size_t kStack = 2 * 32 * (1024 / 32 + 1);
  alignas(32) int8_t stack_buf[kStack];
  std::vector<int8_t> heap_buf;
  int8_t* qc = stack_buf;
  if (2 * 32 * (nb + 1) > kStack) heap_buf.resize(2 * 32 * (nb + 1)), qc = heap_buf.data();
  int8_t* qa = qc + 32 * (nb + 1);
  for (size_t j = 0; j < d; ++j) {
    const int8_t v = q[j] < -127 ? int8_t(-127) : q[j];
    qc[j] = v, qa[j] = static_cast<int8_t>(v < 0 ? -v : v);
  }
  I8Query qq{qc, qa, _mm256_setzero_si256(), _mm256_setzero_si256(), nb};
  if (rem) {
    alignas(32) int8_t t[32] = {}, ta[32] = {};
    const size_t start = d >= 32 ? d - 32 : 0, skip = d >= 32 ? 32 - rem : 0;
    for (size_t j = skip; j < 32 && start + j < d; ++j) t[j] = qc[start + j], ta[j] = qa[start + j];
    qq.qt = load32(t), qq.qta = load32(ta);
  }
  switch (k.kind) {
    case I8Keys::Cosine: return filter_rows_i8_kind<I8Keys::Cosine>(qq, rows, n, d, k, thr, idx, key);
    case I8Keys::L2: return filter_rows_i8_kind<I8Keys::L2>(qq, rows, n, d, k, thr, idx, key);
    default: return filter_rows_i8_kind<I8Keys::Dot>(qq, rows, n, d, k, thr, idx, key);
  }
}

constexpr size_t kPanel = 8;

void pack_f32_avx2(const float* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, [](float x) { return x; });
}
void pack_f16_avx2(const uint16_t* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, [](uint16_t h) { return _cvtsh_ss(h); });
}

// Stores the scores of rows [i, i + cnt) (cnt <= 8) of one query.
inline void store_rows(float* out, __m256 v, size_t cnt) {
  if (cnt >= kPanel) return _mm256_storeu_ps(out, v);
  alignas(32) float tmp[kPanel];
  _mm256_store_ps(tmp, v);
  for (size_t r = 0; r < cnt; ++r) out[r] = tmp[r];
}

// Four queries against two panels (16 rows) per pass: each column costs two
// loads, four broadcasts and eight independent FMAs, one row per lane. Named
// accumulators (not an array) so that they stay in registers. With nq < 4 the
// missing queries repeat query 0 and are not stored, so every query's scores
// come from the same instruction sequence whatever nq is.
void dot_packed_f32_avx2(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                         float* out, size_t os) {
  for (size_t k0 = 0; k0 < nq; k0 += 4) {
    const size_t cnt = std::min<size_t>(4, nq - k0);
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
      __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
      for (size_t j = 0; j < d; ++j) {
        const __m256 va = _mm256_loadu_ps(a + j * kPanel), vb = _mm256_loadu_ps(b + j * kPanel);
        __m256 x = _mm256_broadcast_ss(q0 + j);
        a0 = _mm256_fmadd_ps(x, va, a0), b0 = _mm256_fmadd_ps(x, vb, b0);
        x = _mm256_broadcast_ss(q1 + j);
        a1 = _mm256_fmadd_ps(x, va, a1), b1 = _mm256_fmadd_ps(x, vb, b1);
        x = _mm256_broadcast_ss(q2 + j);
        a2 = _mm256_fmadd_ps(x, va, a2), b2 = _mm256_fmadd_ps(x, vb, b2);
        x = _mm256_broadcast_ss(q3 + j);
        a3 = _mm256_fmadd_ps(x, va, a3), b3 = _mm256_fmadd_ps(x, vb, b3);
      }
      const size_t i = p * kPanel;
      const __m256 res[4][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}};
      for (size_t k = 0; k < cnt; ++k) {
        store_rows(o + k * os + i, res[k][0], n - i);
        if (two) store_rows(o + k * os + i + kPanel, res[k][1], n - i - kPanel);
      }
    }
  }
}

// ---- batches fused with top-k (batch_impl.h): 8-lane vectors; 6 queries x
// 2 panels = 12 accumulators, 2 row vectors and a broadcast in 16 ymm.
struct V8 {
  static constexpr size_t W = 8;
  using F = __m256;
  using I = __m256i;
  static F fzero() { return _mm256_setzero_ps(); }
  static F fload(const float* p) { return _mm256_loadu_ps(p); }
  static F fbcast(const float* p) { return _mm256_broadcast_ss(p); }
  static F fma(F x, F r, F acc) { return _mm256_fmadd_ps(x, r, acc); }
  static I izero() { return _mm256_setzero_si256(); }
  static I iload(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I ibcast32(const int16_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
  }
  static I dot2(I acc, I a, I b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
  static void split8(F v, __m256* out) { out[0] = v; }
  static void isplit8(I v, __m256i* out) { out[0] = v; }
};
constexpr int kBatchQ = 6;

void filter_packed_f32_avx2(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                            const FKeys& keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                            size_t* counts) {
  batch::filter_packed_f32<V8, kBatchQ>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}
void pack_i8_avx2(const int8_t* rows, size_t n, size_t d, int16_t* packed) {
  batch::pack_i8_pairs<kPanel>(rows, n, d, packed);
}
void filter_packed_i8_avx2(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                           const I8Keys* keys, const float* thr, uint32_t* idx, float* key, size_t stride,
                           size_t* counts) {
  batch::filter_packed_i8<V8, kBatchQ>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}

}  // namespace

const ScanKernels& scan_kernels_avx2() {
  static const ScanKernels k{dot_rows_f32_avx2,      dot_rows_f16_avx2, dot_rows_i8_avx2,
                             l2_rows_f32_avx2,       l2_rows_f16_avx2,  kPanel,
                             pack_f32_avx2,          pack_f16_avx2,     dot_packed_f32_avx2,
                             filter_rows_i8_avx2,    filter_packed_f32_avx2, pack_i8_avx2,
                             filter_packed_i8_avx2};
  return k;
}

}  // namespace dv::simd
