// Hogwild word2vec training over an encoded id stream.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "simd/kernels.h"

namespace dv {

struct W2VConfig {
  bool skipgram = true;
  bool hs = false;         // hierarchical softmax instead of negative sampling
  int negative = 5;
  int window = 5;
  bool cbow_mean = true;
  size_t dim = 100;
  float alpha_begin = 0.025f;  // learning rate at the first word of this call
  float alpha_end = 0.025f;    // ... and after the last word of this call
  uint64_t seed = 1;
  uint64_t epoch = 0;          // mixed into the per-thread seeds
  int threads = 1;
};

// Model and data, all borrowed (numpy arrays on the Python side).
struct W2VData {
  float* win = nullptr;           // vocab x dim
  float* wout = nullptr;          // vocab x dim (NS) or (vocab-1) x dim (HS)
  uint64_t vocab = 0;
  const uint32_t* ids = nullptr;  // encoded corpus
  const uint64_t* offsets = nullptr;  // sentence ends: n_sentences + 1 entries
  uint64_t sent_begin = 0, sent_end = 0;  // sentences to train on
  const float* keep_prob = nullptr;   // per word, or nullptr for no subsampling
  const uint32_t* neg_threshold = nullptr;  // alias table of the noise distribution
  const uint32_t* neg_alias = nullptr;
  const uint8_t* hs_codes = nullptr;  // Huffman paths
  const uint32_t* hs_points = nullptr;
  const uint64_t* hs_offsets = nullptr;
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
W2VStats train_word2vec(const W2VConfig& cfg, const W2VData& data, const simd::Kernels& k,
                        W2VProgress& progress, const std::function<bool()>& poll);

}  // namespace dv
