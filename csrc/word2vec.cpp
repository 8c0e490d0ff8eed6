#include "word2vec.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "parallel.h"
#include "sampling.h"

namespace dv {

namespace {

// How often (in words read) a worker publishes progress and refreshes alpha.
constexpr uint64_t kReportEvery = 10000;

inline void prefetch_row(const float* row, size_t dim) {
  const char* p = reinterpret_cast<const char*>(row);
  for (size_t off = 0; off < dim * sizeof(float); off += 64) __builtin_prefetch(p + off);
}

struct Worker {
  Worker(const W2VConfig& c, const W2VData& dt, const simd::Kernels& kern, W2VProgress& p,
         uint64_t total)
      : cfg(c), data(dt), k(kern), progress(p), total_words(total) {}

  const W2VConfig& cfg;
  const W2VData& data;
  const simd::Kernels& k;
  W2VProgress& progress;
  uint64_t total_words;
  W2VStats stats;

  std::vector<uint32_t> sen, negs_cur, negs_next;

  // Draws the noise words for one centre word, skipping the centre itself.
  int draw_negatives(Rng& rng, uint32_t centre, std::vector<uint32_t>& out) {
    int m = 0;
    for (int q = 0; q < cfg.negative; ++q) {
      uint32_t neg = alias_draw(data.neg_threshold, data.neg_alias,
                                static_cast<uint32_t>(data.vocab), rng.next());
      if (neg != centre) out[m++] = neg;
    }
    return m;
  }
  std::vector<float*> in_rows, out_rows;
  std::vector<float> labels, scratch;

  void run(uint64_t first_sentence, uint64_t last_sentence, int thread) {
    Rng rng(mix_seed(cfg.seed, cfg.epoch, static_cast<uint64_t>(thread)));
    const size_t d = cfg.dim;
    // Inputs of a window: at most 2 * window, and fewer than the longest
    // sentence of this slice (computed in 64 bits: window may be near 2^31).
    uint64_t longest = 1;
    for (uint64_t s = first_sentence; s < last_sentence; ++s)
      longest = std::max<uint64_t>(longest, data.offsets[s + 1] - data.offsets[s]);
    const int max_in = static_cast<int>(std::min<uint64_t>(2 * static_cast<uint64_t>(cfg.window), longest));
    int max_out = cfg.hs ? 0 : cfg.negative + 1;
    if (cfg.hs)
      for (uint64_t w = 0; w < data.vocab; ++w)
        max_out = std::max<int>(max_out, static_cast<int>(data.hs_offsets[w + 1] - data.hs_offsets[w]));
    negs_cur.resize(std::max(cfg.negative, 1));
    negs_next.resize(std::max(cfg.negative, 1));
    in_rows.resize(max_in);
    out_rows.resize(std::max(max_out, 1));
    labels.resize(std::max(max_out, 1));
    scratch.resize(size_t(max_in) * d + size_t(max_in) * max_out + std::max(max_in, max_out) + 2 * d);
    const simd::SigmoidTable& sig = simd::sigmoid_table();
    simd::W2VWindow win{in_rows.data(), 0, out_rows.data(), labels.data(), 0, d, 0.0f,
                        scratch.data(), &sig};

    uint64_t local_words = 0, unreported = 0;
    float alpha = cfg.alpha_begin;
    for (uint64_t s = first_sentence; s < last_sentence; ++s) {
      if (progress.stop.load(std::memory_order_relaxed)) break;
      const uint64_t b = data.offsets[s], e = data.offsets[s + 1];
      sen.clear();
      for (uint64_t i = b; i < e; ++i) {
        uint32_t w = data.ids[i];
        if (data.keep_prob && data.keep_prob[w] < 1.0f && rng.uniform() >= data.keep_prob[w]) continue;
        sen.push_back(w);
      }
      const int n = static_cast<int>(sen.size());
      // Negatives for position i are drawn one step ahead, so that their rows
      // (and the next centre's) can be prefetched while position i trains.
      int n_neg = cfg.hs || n == 0 ? 0 : draw_negatives(rng, sen[0], negs_cur);
      for (int i = 0; i < n; ++i) {
        const uint32_t centre = sen[i];
        const int reduced = static_cast<int>(rng.below(static_cast<uint32_t>(cfg.window)));
        const int span = cfg.window - reduced;
        const int lo = std::max(0, i - span);
        const int hi = static_cast<int>(std::min<int64_t>(n - 1, int64_t{i} + span));
        int n_neg_next = 0;
        if (!cfg.hs && i + 1 < n) {
          n_neg_next = draw_negatives(rng, sen[i + 1], negs_next);
          prefetch_row(data.wout + size_t(sen[i + 1]) * d, d);
          for (int q = 0; q < n_neg_next; ++q) prefetch_row(data.wout + size_t(negs_next[q]) * d, d);
          prefetch_row(data.win + size_t(sen[std::min<int64_t>(n - 1, int64_t{i} + 1 + cfg.window)]) * d, d);
        }
        int ni = 0;
        for (int j = lo; j <= hi; ++j)
          if (j != i) in_rows[ni++] = data.win + size_t(sen[j]) * d;
        int no = 0;
        if (cfg.hs) {
          for (uint64_t p = data.hs_offsets[centre]; p < data.hs_offsets[centre + 1]; ++p) {
            out_rows[no] = data.wout + size_t(data.hs_points[p]) * d;
            labels[no++] = 1.0f - static_cast<float>(data.hs_codes[p]);
          }
        } else {
          out_rows[no] = data.wout + size_t(centre) * d;
          labels[no++] = 1.0f;
          for (int q = 0; q < n_neg; ++q) {
            out_rows[no] = data.wout + size_t(negs_cur[q]) * d;
            labels[no++] = 0.0f;
          }
          std::swap(negs_cur, negs_next);
          n_neg = n_neg_next;
        }
        if (ni == 0) continue;
        win.n_in = ni;
        win.n_out = no;
        win.alpha = alpha;
        const double window_loss = cfg.skipgram ? k.sg_window(win) : k.cbow_window(win, cfg.cbow_mean);
        if (!std::isfinite(window_loss)) {  // NaN or inf in the weights: stop every worker
          progress.diverged.store(true);
          progress.stop.store(true);
          break;
        }
        stats.loss += window_loss;
        stats.predictions += static_cast<uint64_t>(cfg.skipgram ? ni * no : no);
        ++stats.trained_words;
      }
      const uint64_t len = e - b;
      local_words += len;
      unreported += len;
      if (unreported >= kReportEvery) {
        uint64_t global = progress.words.fetch_add(unreported) + unreported;
        unreported = 0;
        double frac = std::min(1.0, static_cast<double>(global) /
                                        static_cast<double>(std::max<uint64_t>(total_words, 1)));
        alpha = cfg.alpha_begin + static_cast<float>(frac) * (cfg.alpha_end - cfg.alpha_begin);
        progress.alpha.store(alpha, std::memory_order_relaxed);
      }
    }
    progress.words.fetch_add(unreported);
    stats.words = local_words;
  }
};

}  // namespace

W2VStats train_word2vec(const W2VConfig& cfg, const W2VData& data, const simd::Kernels& k,
                        W2VProgress& progress, const std::function<bool()>& poll) {
  DV_CHECK(cfg.dim > 0, "dim must be positive");
  DV_CHECK(cfg.window > 0, "window must be positive");
  DV_CHECK(cfg.hs || cfg.negative > 0, "negative must be positive when hs is off");
  DV_CHECK(data.vocab > 0, "empty vocabulary");
  DV_CHECK(data.sent_begin <= data.sent_end, "bad sentence range");
  const uint64_t first_tok = data.offsets[data.sent_begin];
  const uint64_t total = data.offsets[data.sent_end] - first_tok;
  int threads = cfg.threads <= 0 ? hardware_threads() : cfg.threads;
  threads = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(threads, data.sent_end - data.sent_begin)));

  // Slice boundaries: equal token counts, cut at sentence ends.
  std::vector<uint64_t> cut(threads + 1, data.sent_end);
  cut[0] = data.sent_begin;
  for (int t = 1; t < threads; ++t) {
    uint64_t target = first_tok + total * static_cast<uint64_t>(t) / static_cast<uint64_t>(threads);
    const uint64_t* pos = std::lower_bound(data.offsets + data.sent_begin, data.offsets + data.sent_end, target);
    cut[t] = std::max<uint64_t>(cut[t - 1], static_cast<uint64_t>(pos - data.offsets));
  }
  W2VConfig c = cfg;
  c.threads = threads;
  progress.alpha.store(cfg.alpha_begin);
  std::vector<Worker> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) workers.emplace_back(c, data, k, progress, total);
  run_parallel(
      threads, [&](int t) { workers[t].run(cut[t], cut[t + 1], t); }, poll, progress.stop);
  W2VStats out;
  for (const Worker& w : workers) {
    out.words += w.stats.words;
    out.trained_words += w.stats.trained_words;
    out.predictions += w.stats.predictions;
    out.loss += w.stats.loss;
  }
  out.diverged = progress.diverged.load();
  return out;
}

}  // namespace dv
