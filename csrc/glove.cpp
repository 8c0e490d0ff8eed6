#include "glove.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "parallel.h"
#include "sampling.h"

namespace dv {
namespace {

// Stateless hash of (seed, i): the bucket of record i in both passes of the
// shuffle, whichever thread looks at it.
inline uint64_t hash_index(uint64_t seed, uint64_t i) {
  Rng r(seed ^ (i * 0xD6E8FEB86659FD93ull));
  return r.next();
}

inline uint32_t bucket_of(uint64_t seed, uint64_t i, uint32_t n_buckets) {
  return static_cast<uint32_t>(((hash_index(seed, i) >> 32) * n_buckets) >> 32);
}

}  // namespace

std::vector<uint64_t> glove_prepare(const CoocRecord* in, uint64_t n, bool upper, uint32_t vocab,
                                    double x_max, double alpha, uint64_t seed, uint32_t tile_rows,
                                    uint64_t bucket_records, int threads, GloveRec* out,
                                    uint64_t n_out, std::atomic<bool>& stop,
                                    const std::function<bool()>& poll) {
  DV_CHECK(x_max > 0 && std::isfinite(x_max), "x_max must be positive, got " << x_max);
  DV_CHECK(alpha >= 0 && std::isfinite(alpha), "alpha must be >= 0, got " << alpha);
  DV_CHECK(bucket_records > 0, "bucket_records must be positive");
  const int T = std::max(1, threads);
  const uint64_t shuffle_seed = mix_seed(seed, 0x5AFF1E, 0);
  uint64_t nb64;
  uint64_t tiles_per_side = 0;
  if (tile_rows > 0) {
    tiles_per_side = (static_cast<uint64_t>(vocab) + tile_rows - 1) / tile_rows;
    nb64 = tiles_per_side * tiles_per_side;
  } else {
    nb64 = std::max<uint64_t>(1, (n_out + bucket_records - 1) / bucket_records);
  }
  DV_CHECK(nb64 < (1ull << 31), "too many shuffle buckets (tile_rows too small?)");
  const uint32_t nb = static_cast<uint32_t>(nb64);
  // Record i stands for (row, col) and, in an upper triangle off the
  // diagonal, also (col, row): emitted as numbers 2i and 2i + 1.
  auto bucket_of_rec = [&](uint64_t i, uint32_t row, uint32_t col) -> uint32_t {
    if (tile_rows > 0)
      return static_cast<uint32_t>((row / tile_rows) * tiles_per_side + col / tile_rows);
    return bucket_of(shuffle_seed, i, nb);
  };

  // Pass 1: bucket sizes per thread (each thread takes a contiguous range, so
  // the order inside a bucket before its shuffle is the input order).
  std::vector<std::vector<uint64_t>> counts(T, std::vector<uint64_t>(nb, 0));
  auto range = [&](int t) {
    return std::pair<uint64_t, uint64_t>(n * t / T, n * (t + 1) / T);
  };
  std::vector<uint64_t> bad(T, ~0ull);
  run_parallel(
      T,
      [&](int t) {
        auto [b, e] = range(t);
        std::vector<uint64_t>& c = counts[t];
        for (uint64_t i = b; i < e; ++i) {
          const CoocRecord& r = in[i];
          if (r.row >= vocab || r.col >= vocab || !(r.value > 0) || !std::isfinite(r.value) ||
              (upper && r.row > r.col)) {
            bad[t] = i;
            return;
          }
          ++c[bucket_of_rec(2 * i, r.row, r.col)];
          if (upper && r.row != r.col) ++c[bucket_of_rec(2 * i + 1, r.col, r.row)];
        }
      },
      poll, stop);
  DV_CHECK(!stop.load(), "interrupted");
  for (int t = 0; t < T; ++t) {
    if (bad[t] == ~0ull) continue;
    const CoocRecord& r = in[bad[t]];
    DV_CHECK(r.row < vocab && r.col < vocab, "co-occurrence record " << bad[t] << " refers to word "
                                                 << std::max(r.row, r.col) << ", past the " << vocab
                                                 << "-word vocabulary");
    DV_CHECK(r.row <= r.col || !upper, "co-occurrence record " << bad[t]
                                         << " lies below the diagonal of an upper triangle");
    DV_CHECK(false, "co-occurrence record " << bad[t] << " has value " << r.value
                                            << " (expected a positive finite count)");
  }
  std::vector<uint64_t> bucket_start(static_cast<size_t>(nb) + 1, 0);
  std::vector<std::vector<uint64_t>> cursor(T, std::vector<uint64_t>(nb));
  uint64_t pos = 0;
  for (uint32_t b = 0; b < nb; ++b) {
    bucket_start[b] = pos;
    for (int t = 0; t < T; ++t) {
      cursor[t][b] = pos;
      pos += counts[t][b];
    }
  }
  bucket_start[nb] = pos;
  DV_CHECK(pos == n_out, "the output holds " << n_out << " records, the input expands to " << pos);

  // Pass 2: deal the records to their buckets, computing log x and f(x).
  const double inv_xmax = 1.0 / x_max;
  run_parallel(
      T,
      [&](int t) {
        auto [b, e] = range(t);
        std::vector<uint64_t>& cur = cursor[t];
        for (uint64_t i = b; i < e; ++i) {
          const CoocRecord& r = in[i];
          const double x = r.value;
          GloveRec g;
          g.row = r.row;
          g.col = r.col;
          g.logx = static_cast<float>(std::log(x));
          g.weight = x >= x_max ? 1.0f : static_cast<float>(std::pow(x * inv_xmax, alpha));
          out[cur[bucket_of_rec(2 * i, r.row, r.col)]++] = g;
          if (upper && r.row != r.col) {
            std::swap(g.row, g.col);
            out[cur[bucket_of_rec(2 * i + 1, r.col, r.row)]++] = g;
          }
        }
      },
      poll, stop);
  DV_CHECK(!stop.load(), "interrupted");

  // Pass 3: Fisher-Yates inside each bucket, with the bucket's own generator.
  std::atomic<uint32_t> next{0};
  run_parallel(
      T,
      [&](int) {
        for (uint32_t b; (b = next.fetch_add(1)) < nb;) {
          if (stop.load(std::memory_order_relaxed)) return;
          GloveRec* p = out + bucket_start[b];
          const uint64_t len = bucket_start[b + 1] - bucket_start[b];
          Rng rng(mix_seed(seed, 0xB0C4E7, b));
          for (uint64_t i = len; i > 1; --i) {
            const uint64_t j = static_cast<uint64_t>(((rng.next() >> 11) * 0x1.0p-53) * i);
            std::swap(p[i - 1], p[std::min(j, i - 1)]);
          }
        }
      },
      poll, stop);
  DV_CHECK(!stop.load(), "interrupted");
  if (tile_rows > 0) return bucket_start;
  return {0, n_out};
}

GloveEpochStats glove_epoch(const GloveEpochConfig& cfg, const GloveModel& m, const GloveRec* recs,
                            uint64_t n, const uint64_t* tiles, uint64_t n_tiles,
                            const simd::Kernels& k, std::atomic<uint64_t>& done,
                            std::atomic<bool>& stop, const std::function<bool()>& poll) {
  DV_CHECK(cfg.max_chunk > 0, "max_chunk must be positive");
  DV_CHECK(m.ld % 16 == 0 && m.ld > 0, "row stride must be a positive multiple of 16");
  DV_CHECK(n_tiles >= 1 && tiles[0] == 0 && tiles[n_tiles] == n, "tile starts must run from 0 to n");
  for (uint64_t t = 0; t < n_tiles; ++t) DV_CHECK(tiles[t] <= tiles[t + 1], "tile starts decrease");
  const int T = std::max(1, cfg.threads);
  // This epoch's order of the non-empty tiles, then their chunks in turn.
  std::vector<uint64_t> order;
  for (uint64_t t = 0; t < n_tiles; ++t)
    if (tiles[t + 1] > tiles[t]) order.push_back(t);
  Rng rng(mix_seed(cfg.seed, cfg.epoch, 0xB10C));
  for (uint64_t i = order.size(); i > 1; --i) {
    const uint64_t j = static_cast<uint64_t>(((rng.next() >> 11) * 0x1.0p-53) * i);
    std::swap(order[i - 1], order[std::min(j, i - 1)]);
  }
  std::vector<std::pair<uint64_t, uint64_t>> chunks;
  for (uint64_t t : order)
    for (uint64_t b = tiles[t]; b < tiles[t + 1]; b += cfg.max_chunk)
      chunks.emplace_back(b, std::min(tiles[t + 1], b + cfg.max_chunk));
  const uint64_t n_chunks = chunks.size();

  const size_t ld = m.ld, stride = 2 * ld;
  const float eta = cfg.eta;
  std::vector<double> cost(T, 0.0);
  std::vector<uint64_t> count(T, 0);
  std::atomic<bool> diverged{false};
  std::atomic<uint64_t> next{0};
  run_parallel(
      T,
      [&](int t) {
        double c_sum = 0;
        uint64_t c_n = 0;
        for (uint64_t i; (i = next.fetch_add(1)) < n_chunks;) {
          if (stop.load(std::memory_order_relaxed) || diverged.load(std::memory_order_relaxed)) break;
          const uint64_t b = chunks[i].first, e = chunks[i].second;
          for (uint64_t j = b; j < e; ++j) {
            if (j + 2 < e) {  // pull the rows two records ahead into cache
              const GloveRec& f = recs[j + 2];
              const char* pw = reinterpret_cast<const char*>(m.word + f.row * stride);
              const char* pc = reinterpret_cast<const char*>(m.ctx + f.col * stride);
              for (size_t o = 0; o < stride * sizeof(float); o += 64) {
                __builtin_prefetch(pw + o, 1);
                __builtin_prefetch(pc + o, 1);
              }
            }
            const GloveRec& r = recs[j];
            float* w = m.word + r.row * stride;
            float* c = m.ctx + r.col * stride;
            double* bw = m.word_bias + 2 * static_cast<size_t>(r.row);
            double* bc = m.ctx_bias + 2 * static_cast<size_t>(r.col);
            const float diff = static_cast<float>(k.dot_f32(w, c, ld) + bw[0] + bc[0] - r.logx);
            const float fdiff = r.weight * diff;
            if (!std::isfinite(fdiff)) {
              diverged.store(true);
              break;
            }
            c_sum += 0.5 * static_cast<double>(fdiff) * diff;
            const float step = eta * fdiff;
            k.glove_adagrad(w, c, step, ld);
            bw[0] -= step / std::sqrt(bw[1]);
            bc[0] -= step / std::sqrt(bc[1]);
            bw[1] += static_cast<double>(step) * step;
            bc[1] += static_cast<double>(step) * step;
          }
          c_n += e - b;
          done.fetch_add(e - b, std::memory_order_relaxed);
        }
        cost[t] = c_sum;
        count[t] = c_n;
      },
      poll, stop);
  GloveEpochStats st;
  for (int t = 0; t < T; ++t) {
    st.cost += cost[t];
    st.records += count[t];
  }
  st.diverged = diverged.load();
  return st;
}

}  // namespace dv
