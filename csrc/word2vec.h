// Hogwild word2vec training over an encoded id stream.
//
// A worker walks its sentences and, for every centre word, asks an *input
// policy* for the rows a window reads (w2v_inputs.h: the context words today;
// bags of subword or document rows later) and an *output policy* for the rows
// it predicts with their labels (negative sampling or a Huffman path), then
// runs one `Ops` kernel over them. A new model adds a policy, not a branch.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "sampling.h"
#include "simd/kernels.h"

namespace dv {

struct SubwordBags;  // fasttext.h

// Hyperparameters of one training call. Bound to Python by field name
// (`_core.W2VConfig`), so that two of them cannot be swapped silently.
struct W2VConfig {
  bool skipgram = true;
  bool hs = false;         // hierarchical softmax instead of negative sampling
  int negative = 5;
  // Skip-gram: one set of noise words for all the context words of a window
  // (true), or fresh ones for every context word as word2vec.c draws them.
  bool share_negatives = true;
  // With share_negatives false: consecutive context words of a window that
  // share one fresh set (1: a set for every context word, word2vec.c's way).
  int noise_group = 1;
  int window = 5;
  bool cbow_mean = true;
  size_t dim = 100;
  float alpha_begin = 0.025f;  // learning rate at the first word of this call
  float alpha_end = 0.025f;    // ... and after the last word of this call
  uint64_t seed = 1;
  uint64_t epoch = 0;          // mixed into the per-thread seeds
  int threads = 1;
};

// The trainable model, all borrowed (numpy arrays on the Python side).
struct W2VModel {
  float* win = nullptr;               // rows x dim input vectors
  float* wout = nullptr;              // output vectors: rows (NS) or rows-1 (HS)
  uint64_t rows = 0;                  // words of the model's vocabulary
  const float* lock = nullptr;        // per row: update factor (0 = frozen), or nullptr
  const float* out_lock = nullptr;    // per row of wout: update factor, or nullptr
  const float* keep_prob = nullptr;   // per row: subsampling, or nullptr for none
  const NoiseSampler* noise = nullptr;  // negative sampling
  const HuffmanTree* tree = nullptr;    // hierarchical softmax
  const SubwordBags* bags = nullptr;    // fastText: each word's n-gram rows, or nullptr
};

// An id stream (validated when its Corpus was built or opened) and the
// sentences of it to train on. `id_map`, when set, maps the stream's ids to
// model rows (kNoRow: not in the model, skipped), so a corpus encoded with
// another vocabulary trains without being re-encoded.
struct W2VStream {
  static constexpr uint32_t kNoRow = 0xFFFFFFFFu;
  const uint32_t* ids = nullptr;
  const uint64_t* offsets = nullptr;  // sentence ends: n_sentences + 1 entries
  uint64_t sent_begin = 0, sent_end = 0;
  const uint32_t* id_map = nullptr;
};

struct W2VStats {
  uint64_t words = 0;          // tokens read (before subsampling)
  uint64_t trained_words = 0;  // centre words trained (after subsampling)
  uint64_t predictions = 0;    // binary predictions made
  double loss = 0;             // summed -log sigmoid over all predictions
  bool diverged = false;       // a window's loss was not finite: training stopped
};

// Live counters the caller can read while training runs.
struct W2VProgress {
  std::atomic<uint64_t> words{0};
  std::atomic<float> alpha{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> diverged{false};  // set (with stop) at the first non-finite window loss
};

// Trains one pass over the sentences with `threads` Hogwild workers, each on a
// contiguous slice holding about the same number of tokens. The learning rate
// falls linearly from alpha_begin to alpha_end with the words read.
W2VStats train_word2vec(const W2VConfig& cfg, const W2VModel& model, const W2VStream& stream,
                        const simd::Kernels& k, W2VProgress& progress,
                        const std::function<bool()>& poll);

}  // namespace dv
