// The word2vec window loop, shared by every model that trains windows of a
// sentence with the window kernels: word2vec (WordInputs), fastText (BagInputs,
// fasttext.h) and Doc2Vec (DocInputs, doc2vec.cpp).
//
// Besides the calls w2v_policies.h lists, an input policy may define:
//   in.begin_sentence(s, sen, n)      instead of begin_sentence(sen, n): it also
//                                     receives the sentence's index s in the
//                                     stream (Doc2Vec looks up its document)
//   static constexpr bool kDrawsWindow = false
//                                     its gather reads no context words, so no
//                                     window size is drawn (gather gets lo =
//                                     hi = centre); the default is true
// Both are resolved at compile time; a policy without them runs exactly the
// loop word2vec always ran.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.h"
#include "parallel.h"
#include "w2v_policies.h"
#include "word2vec.h"

namespace dv {

// The model rows of ids[b, e) after id mapping (id_map may be nullptr) and
// subsampling (keep may be nullptr), into `sen`.
inline void read_rows(const uint32_t* ids, uint64_t b, uint64_t e, const uint32_t* id_map,
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

// The checks every window trainer's entry makes of its configuration (a
// W2VConfig or a config with the same fields) and its model.
template <class Config>
void check_window_config(const Config& cfg, const W2VModel& model) {
  DV_CHECK(cfg.dim > 0, "dim must be positive");
  DV_CHECK(cfg.window > 0, "window must be positive");
  DV_CHECK(cfg.hs || cfg.negative > 0, "negative must be positive when hs is off");
  DV_CHECK(model.rows > 0, "empty vocabulary");
  DV_CHECK(cfg.hs ? model.tree != nullptr : model.noise != nullptr,
           (cfg.hs ? "hierarchical softmax needs a Huffman tree" : "negative sampling needs a noise sampler"));
}

// Thread slices of sentences [stream.sent_begin, stream.sent_end): equal token
// counts, cut at sentence ends (cut[t] .. cut[t + 1] is thread t's).
inline std::vector<uint64_t> slice_cuts(const W2VStream& stream, int threads) {
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

// The optional hooks above, detected.
template <class In, class = void>
struct TakesSentenceIndex : std::false_type {};
template <class In>
struct TakesSentenceIndex<In, std::void_t<decltype(std::declval<In&>().begin_sentence(
                                  uint64_t{}, static_cast<const uint32_t*>(nullptr), 0))>>
    : std::true_type {};

template <class In, class = void>
struct DrawsWindow : std::true_type {};
template <class In>
struct DrawsWindow<In, std::void_t<decltype(In::kDrawsWindow)>> : std::bool_constant<In::kDrawsWindow> {};

// One thread's pass over a slice of sentences: the window loop, written once
// over an input policy and an output policy (w2v_policies.h lists the calls;
// window_trainer.h's top comment the optional ones).
template <class Inputs, class Outputs>
class alignas(64) WindowTrainer {  // aligned: two threads' trainers share no cache line
 public:
  WindowTrainer(const W2VConfig& c, const W2VModel& m, const W2VStream& s, const simd::Kernels& kern,
                W2VProgress& p, uint64_t total, Inputs in, Outputs out)
      : cfg_(c), model_(m), stream_(s), k_(kern), progress_(p), total_words_(total),
        in_(std::move(in)), out_(std::move(out)) {}

  W2VStats stats;
  const Inputs& inputs() const { return in_; }

  void run(uint64_t first_sentence, uint64_t last_sentence, int thread) {
    Rng rng(mix_seed(cfg_.seed, cfg_.epoch, static_cast<uint64_t>(thread)));
    const size_t d = cfg_.dim;
    // Inputs of a window: what the policy asks for a window no wider than the
    // longest sentence of this slice (in 64 bits: window may be near 2^31).
    uint64_t longest = 1;
    for (uint64_t s = first_sentence; s < last_sentence; ++s)
      longest = std::max<uint64_t>(longest, stream_.offsets[s + 1] - stream_.offsets[s]);
    const int max_in = static_cast<int>(in_.max_rows(static_cast<int>(std::min<uint64_t>(cfg_.window, longest))));
    const int max_out = std::max(out_.max_rows(), 1);
    const int stride = out_.stride();  // 0: one set of outputs per window
    const size_t out_slots = size_t(max_out) * (stride ? size_t(max_in) : 1);
    in_rows_.resize(max_in);
    in_locks_.resize(max_in);
    out_rows_.resize(out_slots);
    labels_.resize(out_slots);
    out_locks_.resize(model_.out_lock ? out_slots : 0);
    scratch_.resize(size_t(max_in) * d + size_t(max_in) * max_out + std::max(max_in, max_out) + 2 * d);
    simd::W2VWindow win{in_rows_.data(), 0, out_rows_.data(), labels_.data(), 0, d, 0.0f,
                        scratch_.data(), &simd::sigmoid_table(),
                        model_.lock ? in_locks_.data() : nullptr, stride,
                        model_.out_lock ? out_locks_.data() : nullptr};

    uint64_t local_words = 0, unreported = 0;
    float alpha = cfg_.alpha_begin;
    for (uint64_t s = first_sentence; s < last_sentence; ++s) {
      if (progress_.stop.load(std::memory_order_relaxed)) break;
      const uint64_t b = stream_.offsets[s], e = stream_.offsets[s + 1];
      read_sentence(b, e, rng);
      const int n = static_cast<int>(sen_.size());
      const uint32_t* sen = sen_.data();
      out_.begin_sentence(rng, sen, n);
      if constexpr (TakesSentenceIndex<Inputs>::value)
        in_.begin_sentence(s, sen, n);
      else
        in_.begin_sentence(sen, n);
      for (int i = 0; i < n; ++i) {
        int lo = i, hi = i;
        if constexpr (DrawsWindow<Inputs>::value) {
          const int reduced = static_cast<int>(rng.below(static_cast<uint32_t>(cfg_.window)));
          const int span = cfg_.window - reduced;
          lo = std::max(0, i - span);
          hi = static_cast<int>(std::min<int64_t>(n - 1, int64_t{i} + span));
        }
        out_.prepare_next(rng, sen, i, n);
        if (i + 1 < n) in_.prefetch(sen[std::min<int64_t>(n - 1, int64_t{i} + 1 + cfg_.window)]);
        const int ni = in_.gather(sen, lo, hi, i, in_rows_.data(), in_locks_.data());
        const int no = out_.fill(rng, sen[i], out_rows_.data(), labels_.data(), ni);
        if (ni == 0) continue;
        if (model_.out_lock) {  // each output slot's factor, from its row of wout
          const size_t slots = stride ? size_t(ni) * size_t(stride) : size_t(no);
          for (size_t q = 0; q < slots; ++q)
            out_locks_[q] = model_.out_lock[size_t(out_rows_[q] - model_.wout) / d];
        }
        win.n_in = ni;
        win.n_out = no;
        win.alpha = alpha;
        const double loss = cfg_.skipgram ? k_.sg_window(win) : k_.cbow_window(win, cfg_.cbow_mean);
        if (!std::isfinite(loss)) {  // NaN or inf in the weights: stop every worker
          progress_.diverged.store(true);
          progress_.stop.store(true);
          break;
        }
        stats.loss += loss;
        stats.predictions += static_cast<uint64_t>(cfg_.skipgram ? ni * no : no);
        ++stats.trained_words;
      }
      in_.end_sentence(sen, n);
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
  // The sentence's model rows after id mapping and subsampling.
  void read_sentence(uint64_t b, uint64_t e, Rng& rng) {
    read_rows(stream_.ids, b, e, stream_.id_map, model_.keep_prob, rng, sen_);
  }

  // How often (in words read) a worker publishes progress and refreshes alpha.
  static constexpr uint64_t kReportEvery = 10000;

  const W2VConfig& cfg_;
  const W2VModel& model_;
  const W2VStream& stream_;
  const simd::Kernels& k_;
  W2VProgress& progress_;
  uint64_t total_words_;
  Inputs in_;
  Outputs out_;
  std::vector<uint32_t> sen_;
  std::vector<float*> in_rows_, out_rows_;
  std::vector<float> in_locks_, out_locks_, labels_, scratch_;
};

// Runs `make()`'s trainers over the slices `cut`, sums their statistics, and
// hands each finished trainer to `each` (in thread order).
template <class Make, class Each>
W2VStats run_trainers(int threads, const std::vector<uint64_t>& cut, Make make, W2VProgress& progress,
                      const std::function<bool()>& poll, Each each) {
  using Trainer = decltype(make());
  // Each trainer is built on the thread that runs it, so the buffers its
  // policies allocate (written for every window) come from that thread's
  // heap, not from blocks next to another thread's on the same cache lines
  // (false sharing: built on the calling thread, two-thread skip-gram lost
  // 25-30%). make() only reads shared state.
  std::vector<std::optional<Trainer>> trainers(threads);
  run_parallel(
      threads,
      [&](int t) {
        trainers[t].emplace(make());
        trainers[t]->run(cut[t], cut[t + 1], t);
      },
      poll, progress.stop);
  W2VStats out;
  for (const std::optional<Trainer>& slot : trainers) {
    const Trainer& w = *slot;
    out.words += w.stats.words;
    out.trained_words += w.stats.trained_words;
    out.predictions += w.stats.predictions;
    out.loss += w.stats.loss;
    each(w);
  }
  out.diverged = progress.diverged.load();
  return out;
}

template <class Make>
W2VStats run_trainers(int threads, const std::vector<uint64_t>& cut, Make make, W2VProgress& progress,
                      const std::function<bool()>& poll) {
  return run_trainers(threads, cut, make, progress, poll, [](const auto&) {});
}

}  // namespace dv
