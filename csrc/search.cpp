// Exact top-k search: SIMD scans of row chunks into a small score buffer,
// then a bounded heap per query with an early-reject threshold. int8 rows
// skip the buffer: their kernel computes the keys and applies the heap's
// threshold itself (filter_rows_i8), and only the rows that pass reach the heap.
//
// Work split: few queries (fewer than threads) split the rows across threads,
// each with its own heaps, merged at the end; otherwise the queries are split.
// Each thread takes its queries in blocks and streams the rows in chunks,
// scoring the whole query block against a chunk while it is in cache, so rows
// are read from memory once per block.
//
// Batches (at least kBatchMinQueries queries; any row type and metric except
// l2 without a scale, which is computed directly) take a GEMM-like path: each
// tile of about kBatchTileBytes of rows is packed once (column-major panels;
// float16 converted to float32, int8 widened to int16 column pairs), then a
// register-blocked kernel scores several queries against two panels at a time
// and tests each query's keys against its top-k threshold in registers
// (filter_packed_f32 / filter_packed_i8), so only the rare rows that may enter
// a top-k leave the kernel and no score matrix is written. float32/float16
// scores are summed in dot_packed_f32's order (bit-identical to it); int8 dot
// products are exact and their keys bit-identical to the single-query scan's.
// Which kernel runs depends only on the number of queries, never on threads,
// so results do not depend on threads; a float query's scores in a batch can
// differ in the last bits from the same query searched alone (different
// summation order).
#include "search.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "common.h"
#include "parallel.h"

namespace dv {
namespace {

constexpr size_t kQueryBlock = 256;
constexpr size_t kChunkBytes = 96 * 1024;
constexpr size_t kBatchMinQueries = 8;
constexpr size_t kBatchQueryBlock = 1024;    // rows packed once per block of queries
constexpr size_t kBatchTileBytes = 48 * 1024;  // packed tile: stays in L2 while the block passes
constexpr size_t kBatchCall = 12;            // queries per kernel call
constexpr size_t kMinRowsPerThread = 16384;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Candidates are ranked by key (higher is better; l2 keys are negated
// distances), then by lower row id.
struct Cand {
  float key;
  int64_t id;
};
inline bool better(const Cand& a, const Cand& b) {
  return a.key > b.key || (a.key == b.key && a.id < b.id);
}

// The k best candidates seen so far; the heap's front is the worst of them.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { h_.reserve(k); }

  void push(Cand c) {
    if (h_.size() < k_) {
      h_.push_back(c);
      std::push_heap(h_.begin(), h_.end(), better);
    } else if (better(c, h_.front())) {
      replace_worst(c);
    }
  }

  // Rows id0 + [a, b) with keys key[a, b), in increasing id order: once the
  // heap is full, a row enters only with a key strictly above the worst.
  void push_scan(const float* key, int64_t id0, size_t a, size_t b) {
    size_t i = a;
    for (; i < b && h_.size() < k_; ++i) push({clean(key[i]), id0 + int64_t(i)});
    if (i == b) return;
    float worst = h_.front().key;
    for (; i < b; ++i) {
      if (key[i] > worst) {
        replace_worst({key[i], id0 + int64_t(i)});
        worst = h_.front().key;
      }
    }
  }

  // Offers rows in increasing id order, as push_scan does for one of them.
  void offer(float key, int64_t id) {
    if (h_.size() < k_)
      push({clean(key), id});
    else if (key > h_.front().key)
      replace_worst({key, id});
  }

  // What a row's key must beat to enter: the worst key once the heap is
  // full, else NaN (every row enters).
  float threshold() const {
    return h_.size() < k_ ? std::numeric_limits<float>::quiet_NaN() : h_.front().key;
  }

  const std::vector<Cand>& items() const { return h_; }

  // Best first; leaves the heap empty of structure (call once, at the end).
  const std::vector<Cand>& sorted() {
    std::sort_heap(h_.begin(), h_.end(), better);
    return h_;
  }

 private:
  static float clean(float s) { return s != s ? kNegInf : s; }  // NaN ranks last
  void replace_worst(Cand c) {
    std::pop_heap(h_.begin(), h_.end(), better);
    h_.back() = c;
    std::push_heap(h_.begin(), h_.end(), better);
  }

  size_t k_;
  std::vector<Cand> h_;
};

// Queries prepared once: float32 (unit length for cosine), and for int8 rows
// their int8 quantisation with its scale; squared norms for l2 with a scale.
struct Queries {
  size_t m = 0, d = 0;
  std::vector<float> f, qscale, qq;
  std::vector<int8_t> i8;
  std::vector<int16_t> i16;  // int8 batches: i8 widened, rows of d rounded up to even
  size_t dp = 0;
};

Queries prepare_queries(const float* q, size_t m, size_t d, Metric metric, RowType type) {
  Queries out;
  out.m = m, out.d = d;
  out.f.assign(q, q + m * d);
  out.qscale.assign(m, 1.0f);
  out.qq.assign(m, 0.0f);
  if (type == RowType::I8) out.i8.resize(m * d);
  for (size_t i = 0; i < m; ++i) {
    float* f = out.f.data() + i * d;
    double ss = 0.0;
    for (size_t j = 0; j < d; ++j) ss += double(f[j]) * f[j];
    if (metric == Metric::Cosine && ss > 0) {
      const float nrm = static_cast<float>(std::sqrt(ss));
      for (size_t j = 0; j < d; ++j) f[j] /= nrm;
      ss = 0.0;
      for (size_t j = 0; j < d; ++j) ss += double(f[j]) * f[j];
    }
    out.qq[i] = static_cast<float>(ss);
    if (type != RowType::I8) continue;
    float amax = 0.0f;
    for (size_t j = 0; j < d; ++j) amax = std::max(amax, std::fabs(f[j]));
    const float s = amax > 0 ? amax / 127.0f : 0.0f;
    out.qscale[i] = s;
    int8_t* qi = out.i8.data() + i * d;
    for (size_t j = 0; j < d; ++j)
      qi[j] = s > 0 ? static_cast<int8_t>(std::lrint(std::clamp(f[j] / s, -127.0f, 127.0f))) : 0;
  }
  if (type == RowType::I8 && m >= kBatchMinQueries) {
    out.dp = (d + 1) / 2 * 2;
    out.i16.assign(m * out.dp, 0);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < d; ++j) out.i16[i * out.dp + j] = std::max<int16_t>(out.i8[i * d + j], -127);
  }
  return out;
}

// Whether a search takes the batch path (see the top of this file).
bool batch_path(size_t m, const SearchBase& b, Metric metric) {
  return m >= kBatchMinQueries && !(metric == Metric::L2 && b.scale == nullptr);
}

// Scores chunks of rows for one thread and feeds them to heaps.
class Scanner {
 public:
  Scanner(const Queries& q, const SearchBase& b, Metric metric, const simd::ScanKernels& sk,
          const std::vector<int64_t>& exclude)
      : q_(q), b_(b), metric_(metric), sk_(sk), exclude_(exclude), batch_(batch_path(q.m, b, metric)),
        chunk_(chunk_rows(b, batch_)), buf_(batch_ || b.type == RowType::I8 ? 0 : chunk_),
        hit_idx_((batch_ ? kBatchCall : 1) * chunk_), hit_key_(hit_idx_.size()) {
    if (batch_ && b.type == RowType::I8)
      pi16_.resize(sk.packed_i8_size(chunk_, b.d));
    else if (batch_)
      pf32_.resize(sk.packed_size(chunk_, b.d));
  }

  // Queries [q0, q1) against rows [r0, r1); heaps[i] belongs to query q0 + i.
  void scan(size_t q0, size_t q1, size_t r0, size_t r1, std::vector<TopK>& heaps) {
    for (size_t c0 = r0; c0 < r1; c0 += chunk_) {
      const size_t cnt = std::min(chunk_, r1 - c0);
      if (batch_) {
        scan_batch(q0, q1, c0, cnt, heaps);
      } else if (b_.type == RowType::I8) {
        for (size_t qi = q0; qi < q1; ++qi) scan_i8(qi, c0, cnt, heaps[qi - q0]);
      } else {
        for (size_t qi = q0; qi < q1; ++qi) {
          raw(qi, c0, cnt, buf_.data());
          finish(qi, c0, cnt, buf_.data(), heaps[qi - q0]);
        }
      }
    }
  }

 private:
  static size_t chunk_rows(const SearchBase& b, bool batch) {
    if (batch) {
      const size_t elem = b.type == RowType::I8 ? 2 : 4;  // packed element size
      return std::clamp<size_t>(kBatchTileBytes / (elem * b.d), 32, 4096) / 32 * 32;
    }
    const size_t elem = b.type == RowType::F32 ? 4 : b.type == RowType::F16 ? 2 : 1;
    return std::clamp<size_t>(kChunkBytes / (elem * b.d), 16, 4096) / 16 * 16;
  }

  // Queries [q0, q1) against the rows [c0, c0 + cnt) of one tile: pack the
  // tile once, then kBatchCall queries per kernel call, each with its heap's
  // threshold; the rows that pass are offered in order, skipping excluded ones
  // (as in scan_i8, the result is that of push_scan).
  void scan_batch(size_t q0, size_t q1, size_t c0, size_t cnt, std::vector<TopK>& heaps) {
    const size_t d = q_.d;
    const bool i8 = b_.type == RowType::I8;
    if (b_.type == RowType::F32)
      sk_.pack_f32(static_cast<const float*>(b_.rows) + c0 * d, cnt, d, pf32_.data());
    else if (b_.type == RowType::F16)
      sk_.pack_f16(static_cast<const uint16_t*>(b_.rows) + c0 * d, cnt, d, pf32_.data());
    else
      sk_.pack_i8(static_cast<const int8_t*>(b_.rows) + c0 * d, cnt, d, pi16_.data());
    simd::FKeys fk;
    fk.kind = metric_ == Metric::Cosine ? simd::FKeys::Cosine
              : metric_ == Metric::L2   ? simd::FKeys::L2
                                        : simd::FKeys::Dot;
    fk.scale = b_.scale ? b_.scale + c0 : nullptr;
    fk.norms = b_.norms ? b_.norms + c0 : nullptr;
    simd::I8Keys ik[kBatchCall];
    float thr[kBatchCall];
    size_t counts[kBatchCall];
    for (size_t qi = q0; qi < q1; qi += kBatchCall) {
      const size_t nq = std::min(kBatchCall, q1 - qi);
      for (size_t j = 0; j < nq; ++j) thr[j] = heaps[qi + j - q0].threshold();
      if (i8) {
        for (size_t j = 0; j < nq; ++j) ik[j] = i8_keys(qi + j, c0);
        sk_.filter_packed_i8(q_.i16.data() + qi * q_.dp, nq, pi16_.data(), cnt, d, ik, thr,
                             hit_idx_.data(), hit_key_.data(), chunk_, counts);
      } else {
        fk.qq = q_.qq.data() + qi;
        sk_.filter_packed_f32(q_.f.data() + qi * d, nq, pf32_.data(), cnt, d, fk, thr, hit_idx_.data(),
                              hit_key_.data(), chunk_, counts);
      }
      for (size_t j = 0; j < nq; ++j)
        offer_hits(heaps[qi + j - q0], c0, hit_idx_.data() + j * chunk_, hit_key_.data() + j * chunk_,
                   counts[j]);
    }
  }

  simd::I8Keys i8_keys(size_t qi, size_t c0) const {
    simd::I8Keys keys;
    keys.kind = metric_ == Metric::Cosine ? simd::I8Keys::Cosine
                : metric_ == Metric::L2   ? simd::I8Keys::L2
                                          : simd::I8Keys::Dot;
    keys.qscale = q_.qscale[qi];
    keys.scale = b_.scale + c0;
    keys.norms = b_.norms ? b_.norms + c0 : nullptr;
    keys.qq = q_.qq[qi];
    return keys;
  }

  // Rows c0 + idx[h] (ascending) that passed a kernel's threshold test.
  void offer_hits(TopK& heap, size_t c0, const uint32_t* idx, const float* key, size_t hits) {
    auto ex = std::lower_bound(exclude_.begin(), exclude_.end(), int64_t(c0));
    for (size_t h = 0; h < hits; ++h) {
      const int64_t id = int64_t(c0) + idx[h];
      while (ex != exclude_.end() && *ex < id) ++ex;
      if (ex != exclude_.end() && *ex == id) continue;
      heap.offer(key[h], id);
    }
  }

  bool direct_l2() const { return metric_ == Metric::L2 && b_.scale == nullptr; }

  // Kernel output for rows [c0, c0 + cnt): dot products, or l2 distances.
  void raw(size_t qi, size_t c0, size_t cnt, float* out) {
    const size_t d = q_.d;
    const float* q = q_.f.data() + qi * d;
    if (b_.type == RowType::F32) {
      const float* rows = static_cast<const float*>(b_.rows) + c0 * d;
      (direct_l2() ? sk_.l2_rows_f32 : sk_.dot_rows_f32)(q, rows, cnt, d, out);
    } else if (b_.type == RowType::F16) {
      const uint16_t* rows = static_cast<const uint16_t*>(b_.rows) + c0 * d;
      (direct_l2() ? sk_.l2_rows_f16 : sk_.dot_rows_f16)(q, rows, cnt, d, out);
    }
  }

  // int8 rows [c0, c0 + cnt): the kernel computes the keys (I8Keys: the
  // formula finish applies to scaled rows) and tests them against the heap's
  // threshold; the rows that pass are offered in order, skipping excluded
  // ones. The threshold only rises while they are offered, so every row that
  // enters the heap passed the kernel's test: the result is that of push_scan.
  void scan_i8(size_t qi, size_t c0, size_t cnt, TopK& heap) {
    const size_t d = q_.d;
    const simd::I8Keys keys = i8_keys(qi, c0);
    const int8_t* rows = static_cast<const int8_t*>(b_.rows) + c0 * d;
    const size_t hits = sk_.filter_rows_i8(q_.i8.data() + qi * d, rows, cnt, d, keys, heap.threshold(),
                                           hit_idx_.data(), hit_key_.data());
    offer_hits(heap, c0, hit_idx_.data(), hit_key_.data(), hits);
  }

  // Turns raw kernel output into keys (see search.h), then feeds the heap,
  // skipping excluded rows.
  void finish(size_t qi, size_t c0, size_t cnt, float* key, TopK& heap) {
    const float* sc = b_.scale ? b_.scale + c0 : nullptr;
    const float* nr = b_.norms ? b_.norms + c0 : nullptr;
    if (direct_l2()) {
      for (size_t i = 0; i < cnt; ++i) key[i] = -key[i];
    } else {
      if (sc)
        for (size_t i = 0; i < cnt; ++i) key[i] *= sc[i];
      if (metric_ == Metric::Cosine && nr)
        for (size_t i = 0; i < cnt; ++i) key[i] = nr[i] != 0.0f ? key[i] / nr[i] : 0.0f;  // NaN stays NaN
      if (metric_ == Metric::L2) {
        const float qq = q_.qq[qi];
        for (size_t i = 0; i < cnt; ++i)
          key[i] = -std::max(qq - 2.0f * key[i] + nr[i] * nr[i], 0.0f);
      }
    }
    push_skipping(heap, key, c0, cnt);
  }

  void push_skipping(TopK& heap, const float* key, size_t c0, size_t cnt) {
    auto ex = std::lower_bound(exclude_.begin(), exclude_.end(), int64_t(c0));
    size_t a = 0;
    while (ex != exclude_.end() && size_t(*ex) < c0 + cnt) {
      const size_t stop = size_t(*ex) - c0;
      heap.push_scan(key, int64_t(c0), a, stop);
      a = stop + 1;
      ++ex;
    }
    heap.push_scan(key, int64_t(c0), a, cnt);
  }

  const Queries& q_;
  const SearchBase& b_;
  Metric metric_;
  const simd::ScanKernels& sk_;
  const std::vector<int64_t>& exclude_;
  bool batch_;
  size_t chunk_;
  std::vector<float> buf_;
  std::vector<uint32_t> hit_idx_;
  std::vector<float> hit_key_;
  std::vector<float> pf32_;
  std::vector<int16_t> pi16_;
};

// Runs fn(t) for t in [0, n) on n threads (the caller is thread 0); the first
// exception is rethrown after all have finished.
template <class Fn>
void parallel_for(int n, Fn fn) {
  if (n <= 1) return fn(0);
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> workers;
  workers.reserve(n - 1);
  auto guarded = [&](int t) {
    try {
      fn(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  for (int t = 1; t < n; ++t) {
    try {
      workers.push_back(start_thread(t, n, [&guarded, t] { guarded(t); }));
    } catch (...) {  // let the started threads finish, then report
      for (auto& w : workers) w.join();
      throw;
    }
  }
  guarded(0);
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void write_result(TopK& heap, Metric metric, size_t k, int64_t* ids, float* scores) {
  const std::vector<Cand>& c = heap.sorted();
  for (size_t j = 0; j < k; ++j) {
    ids[j] = c[j].id;
    scores[j] = metric == Metric::L2 ? -c[j].key : c[j].key;
  }
}

void validate(const SearchBase& b, Metric metric) {
  DV_CHECK(b.d > 0, "rows must have at least one column");
  DV_CHECK(b.type != RowType::I8 || b.scale, "int8 rows need a per-row scale");
  DV_CHECK(metric != Metric::L2 || !b.scale || b.norms,
           "l2 search over scaled rows needs the row norms");
}

}  // namespace

std::vector<int64_t> prepare_exclude(std::vector<int64_t> exclude, size_t n) {
  std::sort(exclude.begin(), exclude.end());
  exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());
  DV_CHECK(exclude.empty() || (exclude.front() >= 0 && size_t(exclude.back()) < n),
           "exclude ids must be in [0, " << n << ")");
  return exclude;
}

size_t search_k(size_t k, size_t n, const std::vector<int64_t>& exclude) {
  return std::min(k, n - exclude.size());
}

void search(const float* queries, size_t m, const SearchBase& base, Metric metric, size_t k,
            const std::vector<int64_t>& exclude, int threads, const simd::Kernels& kernels,
            SearchOutput out) {
  validate(base, metric);
  k = search_k(k, base.n, exclude);
  if (m == 0 || k == 0) return;
  const Queries q = prepare_queries(queries, m, base.d, metric, base.type);
  const simd::ScanKernels& sk = *kernels.scan;
  const int hw = threads > 0 ? threads : hardware_threads();
  if (size_t(hw) <= m || hw == 1) {  // split the queries
    const int t_n = static_cast<int>(std::min<size_t>(hw, m));
    parallel_for(t_n, [&](int t) {
      Scanner scanner(q, base, metric, sk, exclude);
      const size_t a = m * t / t_n, b = m * (t + 1) / t_n;
      const size_t block = batch_path(m, base, metric) ? kBatchQueryBlock : kQueryBlock;
      for (size_t q0 = a; q0 < b; q0 += block) {
        const size_t q1 = std::min(b, q0 + block);
        std::vector<TopK> heaps(q1 - q0, TopK(k));
        scanner.scan(q0, q1, 0, base.n, heaps);
        for (size_t i = q0; i < q1; ++i)
          write_result(heaps[i - q0], metric, k, out.ids + i * k, out.scores + i * k);
      }
    });
    return;
  }
  // few queries: split the rows, merge the per-thread heaps
  const int t_n = static_cast<int>(std::clamp<size_t>(base.n / kMinRowsPerThread, 1, hw));
  std::vector<std::vector<TopK>> heaps(t_n, std::vector<TopK>(m, TopK(k)));
  parallel_for(t_n, [&](int t) {
    Scanner scanner(q, base, metric, sk, exclude);
    scanner.scan(0, m, base.n * t / t_n, base.n * (t + 1) / t_n, heaps[t]);
  });
  for (size_t i = 0; i < m; ++i) {
    for (int t = 1; t < t_n; ++t)
      for (const Cand& c : heaps[t][i].items()) heaps[0][i].push(c);
    write_result(heaps[0][i], metric, k, out.ids + i * k, out.scores + i * k);
  }
}

void row_norms(const SearchBase& base, int threads, const simd::Kernels& kernels, float* out) {
  DV_CHECK(base.type != RowType::I8 || base.scale, "int8 rows need a per-row scale");
  const size_t n = base.n, d = base.d;
  if (n == 0) return;
  if (d == 0) return std::fill(out, out + n, 0.0f);
  const simd::ScanKernels& sk = *kernels.scan;
  const int hw = threads > 0 ? threads : hardware_threads();
  const int t_n = static_cast<int>(std::clamp<size_t>(n / kMinRowsPerThread, 1, hw));
  parallel_for(t_n, [&](int t) {
    const size_t a = n * t / t_n, b = n * (t + 1) / t_n;
    if (base.type == RowType::I8) {
      const int8_t* rows = static_cast<const int8_t*>(base.rows);
      for (size_t r = a; r < b; ++r) {
        int32_t ss = 0;
        sk.dot_rows_i8(rows + r * d, rows + r * d, 1, d, &ss);
        out[r] = std::sqrt(static_cast<float>(ss)) * base.scale[r];
      }
      return;
    }
    const std::vector<float> zero(d, 0.0f);
    const size_t chunk = 4096;
    for (size_t c0 = a; c0 < b; c0 += chunk) {
      const size_t cnt = std::min(chunk, b - c0);
      if (base.type == RowType::F32)
        sk.l2_rows_f32(zero.data(), static_cast<const float*>(base.rows) + c0 * d, cnt, d, out + c0);
      else
        sk.l2_rows_f16(zero.data(), static_cast<const uint16_t*>(base.rows) + c0 * d, cnt, d, out + c0);
      for (size_t i = c0; i < c0 + cnt; ++i) out[i] = std::sqrt(out[i]);
      if (base.scale)
        for (size_t i = c0; i < c0 + cnt; ++i) out[i] *= base.scale[i];
    }
  });
}

}  // namespace dv
