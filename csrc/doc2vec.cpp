#include "doc2vec.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "parallel.h"
#include "simd/w2v_impl.h"
#include "w2v_policies.h"
#include "window_trainer.h"

namespace dv {

namespace {

// Mixed into inference seeds so that they differ from the training threads'.
constexpr uint64_t kInferSalt = 0x5D0C2FEC1A55ull;

// The inputs of a Doc2Vec window (a WindowTrainer policy, window_trainer.h):
// the document's tag rows, after the context words when `Words` (PV-DM, and
// PV-DBOW with dbow_words). Without words no window size is drawn.
template <bool Words>
class DocInputs {
 public:
  static constexpr bool kDrawsWindow = Words;

  DocInputs(const W2VModel& m, const D2VDocs& docs, size_t dim)
      : words_{m.win, m.lock, dim}, docs_(docs), dim_(dim) {
    if (docs.updates) updates_.assign(docs.doc_rows, 0);
  }

  uint64_t max_rows(int window) const {
    return (Words ? words_.max_rows(window) : 0) + static_cast<uint64_t>(docs_.max_tags);
  }

  void begin_sentence(uint64_t s, const uint32_t*, int) {
    const uint32_t doc = docs_.sent_doc[s];
    tb_ = docs_.tag_offsets[doc];
    te_ = docs_.tag_offsets[doc + 1];
  }
  void end_sentence(const uint32_t*, int) {}

  int gather(const uint32_t* sen, int lo, int hi, int centre, float** rows, float* locks) {
    int n = 0;
    if constexpr (Words) n = words_.gather(sen, lo, hi, centre, rows, locks);
    for (uint64_t t = tb_; t < te_; ++t) {
      rows[n] = docs_.docs + size_t(docs_.tag_rows[t]) * dim_;
      locks[n++] = 1.0f;
      if (!updates_.empty()) ++updates_[docs_.tag_rows[t]];
    }
    return n;
  }

  void prefetch(uint32_t w) const {
    if constexpr (Words) words_.prefetch(w);
  }

  // Test hook: per document row, the windows that updated it.
  const std::vector<uint64_t>& updates() const { return updates_; }

 private:
  WordInputs words_;
  const D2VDocs& docs_;
  size_t dim_;
  uint64_t tb_ = 0, te_ = 0;
  std::vector<uint64_t> updates_;
};

// The word2vec configuration that runs Doc2Vec's windows: skip-gram over the
// inputs for PV-DBOW, CBOW with the mean for PV-DM.
W2VConfig window_config(const D2VConfig& c) {
  W2VConfig w;
  w.skipgram = !c.dm;
  w.hs = c.hs;
  w.negative = c.negative;
  w.window = c.window;
  w.cbow_mean = true;
  w.dim = c.dim;
  w.alpha_begin = c.alpha_begin;
  w.alpha_end = c.alpha_end;
  w.seed = c.seed;
  w.epoch = c.epoch;
  w.threads = c.threads;
  return w;
}

template <bool Words>
W2VStats train_docs(const W2VConfig& c, const W2VModel& model, const W2VStream& stream,
                    const D2VDocs& docs, const simd::Kernels& k, W2VProgress& progress,
                    uint64_t total, const std::vector<uint64_t>& cut,
                    const std::function<bool()>& poll) {
  const DocInputs<Words> inputs(model, docs, c.dim);
  const auto add_updates = [&](const auto& trainer) {
    const std::vector<uint64_t>& u = trainer.inputs().updates();
    for (size_t r = 0; r < u.size(); ++r) docs.updates[r] += u[r];
  };
  if (c.hs) {
    using T = WindowTrainer<DocInputs<Words>, HuffmanOutputs>;
    return run_trainers(c.threads, cut, [&] {
      return T(c, model, stream, k, progress, total, inputs, HuffmanOutputs(model.wout, c.dim, *model.tree));
    }, progress, poll, add_updates);
  }
  using T = WindowTrainer<DocInputs<Words>, NegativeOutputs>;
  return run_trainers(c.threads, cut, [&] {
    return T(c, model, stream, k, progress, total, inputs,
             NegativeOutputs(model.wout, c.dim, *model.noise, c.negative));
  }, progress, poll, add_updates);
}

// Inference of one document with frozen weights: per window, the input x (the
// document row, or in PV-DM the mean of the context words and the document
// row) predicts the output rows, and only the document row takes the summed
// gradient; no model row is written. The window is one kernel call
// (simd::D2VInferWindow): the dots of all outputs in one pass, then one pass
// that adds their shares to the document row, which lives in the inferer's
// own buffer until the document is done.
//
// A document is short and its windows cheap, so what costs is waiting for
// memory: the noise words' rows are anywhere in the output matrix. So the
// random numbers of all epochs are drawn first, in the order the training
// loop draws them (per epoch: the subsampling; the noise words of position 0;
// then per position i its window size and the noise words of i + 1); they
// are all the loop draws, so the vectors are those of drawing as it goes.
// Then the windows run, each prefetching the output rows of the window
// kAhead on (across epochs).
class DocInferer {
 public:
  DocInferer(const D2VConfig& c, int epochs, const W2VModel& m, const simd::Kernels& kern)
      : cfg_(c), epochs_(epochs), model_(m), k_(kern), words_{m.win, nullptr, c.dim} {
    const int max_in = (cfg_.dm ? 2 * cfg_.window : 0) + 1;
    const int max_out = cfg_.hs ? std::max(m.tree->max_depth(), 1) : cfg_.negative + 1;
    rows_.resize(max_in);
    locks_.resize(max_in);
    out_rows_.resize(max_out);
    labels_.resize(max_out);
    scratch_.resize(size_t(max_out) + cfg_.dim);
    vec_.resize(cfg_.dim);
  }

  void run(const uint32_t* ids, uint64_t b, uint64_t e, uint64_t index, float* out) {
    const size_t d = cfg_.dim;
    if (b == e) {
      std::fill(out, out + d, 0.0f);
      return;
    }
    // The vector trains in this thread's own buffer: the rows of `out` next
    // to it belong to documents that other threads are inferring.
    float* const vec = vec_.data();
    Rng rng(mix_seed(cfg_.seed ^ kInferSalt, index, 0));
    for (size_t j = 0; j < d; ++j) vec[j] = (rng.uniform() - 0.5f) / static_cast<float>(d);
    draw(ids, b, e, rng);
    const size_t total = start_[epochs_];
    for (size_t w = 0; w < std::min<size_t>(total, kAhead); ++w) prefetch_outputs(w);
    simd::D2VInferWindow win{vec, rows_.data(), 0, out_rows_.data(), labels_.data(), 0, d, 0.0f,
                             scratch_.data(), &simd::sigmoid_table()};
    for (int ep = 0; ep < epochs_; ++ep) {
      const float frac = epochs_ > 1 ? static_cast<float>(ep) / static_cast<float>(epochs_ - 1) : 0.0f;
      win.alpha = cfg_.alpha_begin + frac * (cfg_.alpha_end - cfg_.alpha_begin);
      const size_t first = start_[ep];
      const int n = static_cast<int>(start_[ep + 1] - first);
      const uint32_t* sen = sen_.data() + first;
      for (int i = 0; i < n; ++i) {
        const size_t w = first + size_t(i);
        if (w + kAhead < total) prefetch_outputs(w + kAhead);
        if (cfg_.dm) {  // x: the mean of the context words and the document
          const int lo = std::max(0, i - span_[w]);
          const int hi = static_cast<int>(std::min<int64_t>(n - 1, int64_t{i} + span_[w]));
          int ni = words_.gather(sen, lo, hi, i, rows_.data(), locks_.data());
          rows_[ni++] = vec;
          win.n_in = ni;
        }
        win.n_out = outputs(w);
        k_.d2v_infer_window(win);
      }
    }
    std::copy(vec, vec + d, out);
  }

 private:
  static constexpr size_t kAhead = 4;  // windows between a prefetch and its use

  // Every epoch's words (after subsampling), window sizes (PV-DM) and noise
  // words; epoch ep's windows are [start_[ep], start_[ep + 1]).
  void draw(const uint32_t* ids, uint64_t b, uint64_t e, Rng& rng) {
    const bool ns = !cfg_.hs;
    sen_.clear();
    start_.assign(1, 0);
    for (int ep = 0; ep < epochs_; ++ep) {
      read_rows(ids, b, e, nullptr, model_.keep_prob, rng, epoch_sen_);
      const size_t first = sen_.size(), n = epoch_sen_.size();
      sen_.insert(sen_.end(), epoch_sen_.begin(), epoch_sen_.end());
      if (cfg_.dm) span_.resize(first + n);
      if (ns) {
        n_noise_.resize(first + n);
        noise_.resize((first + n) * size_t(cfg_.negative));
        if (n > 0) n_noise_[first] = draw_noise(rng, first);
      }
      for (size_t i = 0; i < n; ++i) {
        if (cfg_.dm)
          span_[first + i] = cfg_.window - static_cast<int>(rng.below(static_cast<uint32_t>(cfg_.window)));
        if (ns && i + 1 < n) n_noise_[first + i + 1] = draw_noise(rng, first + i + 1);
      }
      start_.push_back(sen_.size());
    }
  }

  // Noise words of window w (those equal to its word are dropped).
  int draw_noise(Rng& rng, size_t w) {
    uint32_t* out = noise_.data() + w * size_t(cfg_.negative);
    int m = 0;
    for (int q = 0; q < cfg_.negative; ++q) {
      const uint32_t r = model_.noise->draw(rng.next());
      if (r != sen_[w]) out[m++] = r;
    }
    return m;
  }

  // The output rows and labels of window w, into out_rows_ and labels_.
  int outputs(size_t w) {
    const size_t d = cfg_.dim;
    int n = 0;
    if (cfg_.hs) {
      const HuffmanTree& tree = *model_.tree;
      for (uint64_t p = tree.begin(sen_[w]); p < tree.end(sen_[w]); ++p) {
        out_rows_[n] = model_.wout + size_t(tree.point(p)) * d;
        labels_[n++] = 1.0f - static_cast<float>(tree.code(p));
      }
      return n;
    }
    out_rows_[n] = model_.wout + size_t(sen_[w]) * d;
    labels_[n++] = 1.0f;
    const uint32_t* noise = noise_.data() + w * size_t(cfg_.negative);
    for (int q = 0; q < n_noise_[w]; ++q) {
      out_rows_[n] = model_.wout + size_t(noise[q]) * d;
      labels_[n++] = 0.0f;
    }
    return n;
  }

  void prefetch_outputs(size_t w) const {
    if (cfg_.hs) return;  // the tree's upper nodes, shared by every word, stay cached
    const size_t d = cfg_.dim;
    simd::prefetch_floats(model_.wout + size_t(sen_[w]) * d, d);
    const uint32_t* noise = noise_.data() + w * size_t(cfg_.negative);
    for (int q = 0; q < n_noise_[w]; ++q) simd::prefetch_floats(model_.wout + size_t(noise[q]) * d, d);
  }

  const D2VConfig& cfg_;
  int epochs_;
  const W2VModel& model_;
  const simd::Kernels& k_;
  WordInputs words_;  // PV-DM's context words
  std::vector<uint32_t> sen_, epoch_sen_, noise_;
  std::vector<size_t> start_;
  std::vector<int> span_, n_noise_;
  std::vector<float*> rows_, out_rows_;
  std::vector<float> locks_, labels_, scratch_, vec_;
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

}  // namespace

W2VStats train_doc2vec(const D2VConfig& cfg, const W2VModel& model, const W2VStream& stream,
                       const D2VDocs& docs, const simd::Kernels& k, W2VProgress& progress,
                       const std::function<bool()>& poll) {
  check_window_config(cfg, model);
  DV_CHECK(docs.doc_rows > 0, "no document rows");
  DV_CHECK(docs.max_tags >= 1, "max_tags must be positive");
  DV_CHECK(stream.sent_begin <= stream.sent_end, "bad sentence range");
  const uint64_t total = stream.offsets[stream.sent_end] - stream.offsets[stream.sent_begin];
  int threads = cfg.threads <= 0 ? hardware_threads() : cfg.threads;
  threads = static_cast<int>(
      std::max<uint64_t>(1, std::min<uint64_t>(threads, stream.sent_end - stream.sent_begin)));
  const std::vector<uint64_t> cut = slice_cuts(stream, threads);
  W2VConfig c = window_config(cfg);
  c.threads = threads;
  progress.alpha.store(cfg.alpha_begin);
  if (cfg.dm || cfg.dbow_words) return train_docs<true>(c, model, stream, docs, k, progress, total, cut, poll);
  return train_docs<false>(c, model, stream, docs, k, progress, total, cut, poll);
}

bool infer_doc2vec(const D2VConfig& cfg, int epochs, const W2VModel& model, const uint32_t* ids,
                   const uint64_t* offsets, uint64_t n_docs, uint64_t first_index, float* out,
                   const simd::Kernels& k, std::atomic<bool>& stop,
                   const std::function<bool()>& poll) {
  check_window_config(cfg, model);
  DV_CHECK(epochs > 0, "epochs must be positive");
  if (n_docs == 0) return true;
  return run_inferers(cfg, [&] { return DocInferer(cfg, epochs, model, k); }, ids, offsets, n_docs,
                      first_index, out, stop, poll);
}

}  // namespace dv
