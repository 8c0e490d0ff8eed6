#include "doc2vec.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "parallel.h"
#include "simd/w2v_impl.h"
#include "w2v_policies.h"

namespace dv {

namespace {

constexpr uint64_t kReportEvery = 10000;
// Mixed into inference seeds so that they differ from the training threads'.
constexpr uint64_t kInferSalt = 0x5D0C2FEC1A55ull;

// The model rows of ids[b, e) after id mapping and subsampling.
void read_rows(const uint32_t* ids, uint64_t b, uint64_t e, const uint32_t* id_map,
               const float* keep, Rng& rng, std::vector<uint32_t>& sen) {
  sen.clear();
  for (uint64_t i = b; i < e; ++i) {
    uint32_t w = ids[i];
    if (id_map) {
      w = id_map[w];
      if (w == W2VStream::kNoRow) continue;
    }
    if (keep && keep[w] < 1.0f && rng.uniform() >= keep[w]) continue;
    sen.push_back(w);
  }
}

// The window's context words (lock factors from `lock`, or 1), appended at rows[n].
int gather_words(const float* win, const float* lock, size_t d, const uint32_t* sen, int lo, int hi,
                 int centre, float** rows, float* locks, int n) {
  for (int j = lo; j <= hi; ++j) {
    if (j == centre) continue;
    rows[n] = const_cast<float*>(win) + size_t(sen[j]) * d;
    locks[n++] = lock ? lock[sen[j]] : 1.0f;
  }
  return n;
}

size_t scratch_floats(int max_in, int max_out, size_t d) {
  return size_t(max_in) * d + size_t(max_in) * max_out + std::max(max_in, max_out) + 2 * d;
}

// One thread's training pass over a slice of sentences.
template <class Outputs>
class DocTrainer {
 public:
  DocTrainer(const D2VConfig& c, const W2VModel& m, const W2VStream& s, const D2VDocs& docs,
             const simd::Kernels& kern, W2VProgress& p, uint64_t total, Outputs out)
      : cfg_(c), model_(m), stream_(s), docs_(docs), k_(kern), progress_(p), total_words_(total),
        out_(std::move(out)) {}

  W2VStats stats;
  std::vector<uint64_t> updates;  // test hook, per doc row

  void run(uint64_t first_sentence, uint64_t last_sentence, int thread) {
    Rng rng(mix_seed(cfg_.seed, cfg_.epoch, static_cast<uint64_t>(thread)));
    const size_t d = cfg_.dim;
    const bool words = cfg_.dm || cfg_.dbow_words;
    uint64_t longest = 1;
    for (uint64_t s = first_sentence; s < last_sentence; ++s)
      longest = std::max<uint64_t>(longest, stream_.offsets[s + 1] - stream_.offsets[s]);
    const int max_words = words ? static_cast<int>(std::min<uint64_t>(2 * uint64_t(cfg_.window), longest)) : 0;
    const int max_in = max_words + docs_.max_tags;
    const int max_out = std::max(out_.max_rows(), 1);
    rows_.resize(max_in);
    locks_.resize(max_in);
    out_rows_.resize(max_out);
    labels_.resize(max_out);
    scratch_.resize(scratch_floats(max_in, max_out, d));
    if (docs_.updates) updates.assign(docs_.doc_rows, 0);
    simd::W2VWindow win{rows_.data(), 0, out_rows_.data(), labels_.data(), 0, d, 0.0f,
                        scratch_.data(), &simd::sigmoid_table(),
                        model_.lock ? locks_.data() : nullptr};

    uint64_t local_words = 0, unreported = 0;
    float alpha = cfg_.alpha_begin;
    for (uint64_t s = first_sentence; s < last_sentence; ++s) {
      if (progress_.stop.load(std::memory_order_relaxed)) break;
      const uint64_t b = stream_.offsets[s], e = stream_.offsets[s + 1];
      const uint32_t doc = docs_.sent_doc[s];
      const uint64_t tb = docs_.tag_offsets[doc], te = docs_.tag_offsets[doc + 1];
      read_rows(stream_.ids, b, e, stream_.id_map, model_.keep_prob, rng, sen_);
      const int n = static_cast<int>(sen_.size());
      const uint32_t* sen = sen_.data();
      out_.begin_sentence(rng, sen, n);
      for (int i = 0; i < n; ++i) {
        int ni = 0;
        if (words) {
          const int span = cfg_.window - static_cast<int>(rng.below(static_cast<uint32_t>(cfg_.window)));
          const int lo = std::max(0, i - span);
          const int hi = static_cast<int>(std::min<int64_t>(n - 1, int64_t{i} + span));
          ni = gather_words(model_.win, model_.lock, d, sen, lo, hi, i, rows_.data(), locks_.data(), 0);
        }
        out_.prepare_next(rng, sen, i, n);
        for (uint64_t t = tb; t < te; ++t) {
          rows_[ni] = docs_.docs + size_t(docs_.tag_rows[t]) * d;
          locks_[ni++] = 1.0f;
        }
        const int no = out_.fill(sen[i], out_rows_.data(), labels_.data());
        if (ni == 0) continue;
        win.n_in = ni;
        win.n_out = no;
        win.alpha = alpha;
        const double loss = cfg_.dm ? k_.cbow_window(win, true) : k_.sg_window(win);
        if (!std::isfinite(loss)) {
          progress_.diverged.store(true);
          progress_.stop.store(true);
          break;
        }
        stats.loss += loss;
        stats.predictions += static_cast<uint64_t>(cfg_.dm ? no : ni * no);
        ++stats.trained_words;
        if (docs_.updates)
          for (uint64_t t = tb; t < te; ++t) ++updates[docs_.tag_rows[t]];
      }
      const uint64_t len = e - b;
      local_words += len;
      unreported += len;
      if (unreported >= kReportEvery) {
        const uint64_t global = progress_.words.fetch_add(unreported) + unreported;
        unreported = 0;
        const double frac = std::min(1.0, static_cast<double>(global) /
                                              static_cast<double>(std::max<uint64_t>(total_words_, 1)));
        alpha = cfg_.alpha_begin + static_cast<float>(frac) * (cfg_.alpha_end - cfg_.alpha_begin);
        progress_.alpha.store(alpha, std::memory_order_relaxed);
      }
    }
    progress_.words.fetch_add(unreported);
    stats.words = local_words;
  }

 private:
  const D2VConfig& cfg_;
  const W2VModel& model_;
  const W2VStream& stream_;
  const D2VDocs& docs_;
  const simd::Kernels& k_;
  W2VProgress& progress_;
  uint64_t total_words_;
  Outputs out_;
  std::vector<uint32_t> sen_;
  std::vector<float*> rows_, out_rows_;
  std::vector<float> locks_, labels_, scratch_;
};

template <class Make>
W2VStats run_doc_trainers(int threads, const std::vector<uint64_t>& cut, Make make,
                          const D2VDocs& docs, W2VProgress& progress,
                          const std::function<bool()>& poll) {
  using T = decltype(make());
  std::vector<T> trainers;
  trainers.reserve(threads);
  for (int t = 0; t < threads; ++t) trainers.push_back(make());
  run_parallel(
      threads, [&](int t) { trainers[t].run(cut[t], cut[t + 1], t); }, poll, progress.stop);
  W2VStats out;
  for (const T& w : trainers) {
    out.words += w.stats.words;
    out.trained_words += w.stats.trained_words;
    out.predictions += w.stats.predictions;
    out.loss += w.stats.loss;
    if (docs.updates)
      for (size_t r = 0; r < w.updates.size(); ++r) docs.updates[r] += w.updates[r];
  }
  out.diverged = progress.diverged.load();
  return out;
}

// Inference of one document with frozen weights: per window, the input x (the
// document row, or in PV-DM the mean of the context words and the document
// row, as cbow_window forms it) predicts the output rows, and only the
// document row takes the summed gradient; no model row is written.
template <class Outputs>
class DocInferer {
 public:
  DocInferer(const D2VConfig& c, int epochs, const W2VModel& m, const simd::Kernels& kern, Outputs out)
      : cfg_(c), epochs_(epochs), model_(m), k_(kern), out_(std::move(out)) {
    const int max_in = (cfg_.dm ? 2 * cfg_.window : 0) + 1;
    const int max_out = std::max(out_.max_rows(), 1);
    rows_.resize(max_in);
    locks_.resize(max_in);
    out_rows_.resize(max_out);
    labels_.resize(max_out);
    h_.resize(cfg_.dim);
    e_.resize(cfg_.dim);
  }

  void run(const uint32_t* ids, uint64_t b, uint64_t e, uint64_t index, float* vec) {
    const size_t d = cfg_.dim;
    if (b == e) {
      std::fill(vec, vec + d, 0.0f);
      return;
    }
    Rng rng(mix_seed(cfg_.seed ^ kInferSalt, index, 0));
    for (size_t j = 0; j < d; ++j) vec[j] = (rng.uniform() - 0.5f) / static_cast<float>(d);
    const simd::SigmoidTable& sig = simd::sigmoid_table();
    for (int ep = 0; ep < epochs_; ++ep) {
      const float frac = epochs_ > 1 ? static_cast<float>(ep) / static_cast<float>(epochs_ - 1) : 0.0f;
      const float alpha = cfg_.alpha_begin + frac * (cfg_.alpha_end - cfg_.alpha_begin);
      read_rows(ids, b, e, nullptr, model_.keep_prob, rng, sen_);
      const int n = static_cast<int>(sen_.size());
      const uint32_t* sen = sen_.data();
      out_.begin_sentence(rng, sen, n);
      for (int i = 0; i < n; ++i) {
        const float* x = vec;
        if (cfg_.dm) {
          const int span = cfg_.window - static_cast<int>(rng.below(static_cast<uint32_t>(cfg_.window)));
          const int lo = std::max(0, i - span);
          const int hi = static_cast<int>(std::min<int64_t>(n - 1, int64_t{i} + span));
          int ni = gather_words(model_.win, nullptr, d, sen, lo, hi, i, rows_.data(), locks_.data(), 0);
          rows_[ni++] = vec;
          const float coef = 1.0f / static_cast<float>(ni);
          std::fill(h_.begin(), h_.end(), 0.0f);
          for (int c = 0; c < ni; ++c) k_.axpy_f32(coef, rows_[c], h_.data(), d);
          x = h_.data();
        }
        out_.prepare_next(rng, sen, i, n);
        const int no = out_.fill(sen[i], out_rows_.data(), labels_.data());
        std::fill(e_.begin(), e_.end(), 0.0f);
        double loss = 0;
        for (int o = 0; o < no; ++o) {
          const float f = k_.dot_f32(x, out_rows_[o], d);
          const float g = (labels_[o] - simd::sigmoid_and_loss(sig, f, labels_[o], &loss)) * alpha;
          k_.axpy_f32(g, out_rows_[o], e_.data(), d);
        }
        k_.axpy_f32(1.0f, e_.data(), vec, d);
      }
    }
  }

 private:
  const D2VConfig& cfg_;
  int epochs_;
  const W2VModel& model_;
  const simd::Kernels& k_;
  Outputs out_;
  std::vector<uint32_t> sen_;
  std::vector<float*> rows_, out_rows_;
  std::vector<float> locks_, labels_, h_, e_;
};

template <class Make>
bool run_inferers(const D2VConfig& cfg, Make make, const uint32_t* ids, const uint64_t* offsets,
                  uint64_t n_docs, uint64_t first_index, float* out, std::atomic<bool>& stop,
                  const std::function<bool()>& poll) {
  int threads = cfg.threads <= 0 ? hardware_threads() : cfg.threads;
  threads = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(threads, n_docs)));
  std::atomic<uint64_t> next{0};
  run_parallel(
      threads,
      [&](int) {
        auto inferer = make();
        for (;;) {
          if (stop.load(std::memory_order_relaxed)) return;
          const uint64_t i = next.fetch_add(1);
          if (i >= n_docs) return;
          inferer.run(ids, offsets[i], offsets[i + 1], first_index + i, out + size_t(i) * cfg.dim);
        }
      },
      poll, stop);
  return !stop.load();
}

std::vector<uint64_t> slice_cuts(const W2VStream& stream, int threads) {
  const uint64_t first_tok = stream.offsets[stream.sent_begin];
  const uint64_t total = stream.offsets[stream.sent_end] - first_tok;
  std::vector<uint64_t> cut(threads + 1, stream.sent_end);
  cut[0] = stream.sent_begin;
  for (int t = 1; t < threads; ++t) {
    const uint64_t target = first_tok + total * static_cast<uint64_t>(t) / static_cast<uint64_t>(threads);
    const uint64_t* pos = std::lower_bound(stream.offsets + stream.sent_begin, stream.offsets + stream.sent_end, target);
    cut[t] = std::max<uint64_t>(cut[t - 1], static_cast<uint64_t>(pos - stream.offsets));
  }
  return cut;
}

void check_config(const D2VConfig& cfg, const W2VModel& model) {
  DV_CHECK(cfg.dim > 0, "dim must be positive");
  DV_CHECK(cfg.window > 0, "window must be positive");
  DV_CHECK(cfg.hs || cfg.negative > 0, "negative must be positive when hs is off");
  DV_CHECK(model.rows > 0, "empty vocabulary");
  DV_CHECK(cfg.hs ? model.tree != nullptr : model.noise != nullptr,
           (cfg.hs ? "hierarchical softmax needs a Huffman tree" : "negative sampling needs a noise sampler"));
}

}  // namespace

W2VStats train_doc2vec(const D2VConfig& cfg, const W2VModel& model, const W2VStream& stream,
                       const D2VDocs& docs, const simd::Kernels& k, W2VProgress& progress,
                       const std::function<bool()>& poll) {
  check_config(cfg, model);
  DV_CHECK(docs.doc_rows > 0, "no document rows");
  DV_CHECK(docs.max_tags >= 1, "max_tags must be positive");
  DV_CHECK(stream.sent_begin <= stream.sent_end, "bad sentence range");
  const uint64_t total = stream.offsets[stream.sent_end] - stream.offsets[stream.sent_begin];
  int threads = cfg.threads <= 0 ? hardware_threads() : cfg.threads;
  threads = static_cast<int>(
      std::max<uint64_t>(1, std::min<uint64_t>(threads, stream.sent_end - stream.sent_begin)));
  const std::vector<uint64_t> cut = slice_cuts(stream, threads);
  D2VConfig c = cfg;
  c.threads = threads;
  progress.alpha.store(cfg.alpha_begin);
  if (cfg.hs) {
    using T = DocTrainer<HuffmanOutputs>;
    return run_doc_trainers(threads, cut, [&] {
      return T(c, model, stream, docs, k, progress, total, HuffmanOutputs(model.wout, c.dim, *model.tree));
    }, docs, progress, poll);
  }
  using T = DocTrainer<NegativeOutputs>;
  return run_doc_trainers(threads, cut, [&] {
    return T(c, model, stream, docs, k, progress, total,
             NegativeOutputs(model.wout, c.dim, *model.noise, c.negative));
  }, docs, progress, poll);
}

bool infer_doc2vec(const D2VConfig& cfg, int epochs, const W2VModel& model, const uint32_t* ids,
                   const uint64_t* offsets, uint64_t n_docs, uint64_t first_index, float* out,
                   const simd::Kernels& k, std::atomic<bool>& stop,
                   const std::function<bool()>& poll) {
  check_config(cfg, model);
  DV_CHECK(epochs > 0, "epochs must be positive");
  if (n_docs == 0) return true;
  if (cfg.hs)
    return run_inferers(cfg, [&] {
      return DocInferer<HuffmanOutputs>(cfg, epochs, model, k, HuffmanOutputs(model.wout, cfg.dim, *model.tree));
    }, ids, offsets, n_docs, first_index, out, stop, poll);
  return run_inferers(cfg, [&] {
    return DocInferer<NegativeOutputs>(cfg, epochs, model, k,
                                       NegativeOutputs(model.wout, cfg.dim, *model.noise, cfg.negative));
  }, ids, offsets, n_docs, first_index, out, stop, poll);
}

}  // namespace dv
