#include "word2vec.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "fasttext.h"
#include "parallel.h"
#include "w2v_policies.h"
#include "window_trainer.h"

namespace dv {

namespace {

// Fresh noise words per context word: a skip-gram choice (a CBOW window has
// one input, its context mean, so it always draws one set).
bool own_negatives(const W2VConfig& c) { return c.skipgram && !c.share_negatives; }

// fastText: the inputs are bags of word and n-gram rows (fasttext.h).
W2VStats train_with_bags(const W2VConfig& c, const W2VModel& model, const W2VStream& stream,
                         const simd::Kernels& k, W2VProgress& progress, uint64_t total,
                         const std::vector<uint64_t>& cut, const std::function<bool()>& poll) {
  DV_CHECK(model.lock == nullptr, "row locks are not supported with subword bags");
  const BagInputs inputs(model.win, *model.bags, c.dim, c.window, k);
  if (c.hs) {
    using T = WindowTrainer<BagInputs, HuffmanOutputs>;
    return run_trainers(c.threads, cut, [&] {
      return T(c, model, stream, k, progress, total, inputs, HuffmanOutputs(model.wout, c.dim, *model.tree));
    }, progress, poll);
  }
  using T = WindowTrainer<BagInputs, NegativeOutputs>;
  return run_trainers(c.threads, cut, [&] {
    return T(c, model, stream, k, progress, total, inputs,
             NegativeOutputs(model.wout, c.dim, *model.noise, c.negative, own_negatives(c), c.noise_group));
  }, progress, poll);
}

}  // namespace

W2VStats train_word2vec(const W2VConfig& cfg, const W2VModel& model, const W2VStream& stream,
                        const simd::Kernels& k, W2VProgress& progress,
                        const std::function<bool()>& poll) {
  check_window_config(cfg, model);
  DV_CHECK(cfg.noise_group >= 1, "noise_group must be at least 1");
  DV_CHECK(stream.sent_begin <= stream.sent_end, "bad sentence range");
  const uint64_t total = stream.offsets[stream.sent_end] - stream.offsets[stream.sent_begin];
  int threads = cfg.threads <= 0 ? hardware_threads() : cfg.threads;
  threads = static_cast<int>(
      std::max<uint64_t>(1, std::min<uint64_t>(threads, stream.sent_end - stream.sent_begin)));
  const std::vector<uint64_t> cut = slice_cuts(stream, threads);  // equal token counts, cut at sentence ends

  W2VConfig c = cfg;
  c.threads = threads;
  progress.alpha.store(cfg.alpha_begin);
  if (model.bags) return train_with_bags(c, model, stream, k, progress, total, cut, poll);
  const WordInputs inputs{model.win, model.lock, c.dim};
  if (cfg.hs) {
    using T = WindowTrainer<WordInputs, HuffmanOutputs>;
    return run_trainers(threads, cut, [&] {
      return T(c, model, stream, k, progress, total, inputs, HuffmanOutputs(model.wout, c.dim, *model.tree));
    }, progress, poll);
  }
  using T = WindowTrainer<WordInputs, NegativeOutputs>;
  return run_trainers(threads, cut, [&] {
    return T(c, model, stream, k, progress, total, inputs,
             NegativeOutputs(model.wout, c.dim, *model.noise, c.negative, own_negatives(c), c.noise_group));
  }, progress, poll);
}

}  // namespace dv
