// Texts as pooled token vectors, and contrastive (InfoNCE) training of the
// token vectors with in-batch negatives.
//
// A text is either a string, split into tokens the way the corpus tokenizer
// splits a line (ASCII whitespace and NUL separate tokens, see tokenizer.h), or
// a list of tokens taken as they are. Tokens are looked up in a TokenTable;
// unknown tokens are skipped.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "simd/kernels.h"

namespace dv {

// word -> row, built once from a vocabulary given as a blob of UTF-8 words,
// word i being blob[offsets[i], offsets[i + 1] - 1) (each word followed by one
// separator byte, as in a store's vocab_blob.npy).
class TokenTable {
 public:
  TokenTable(const uint8_t* blob, size_t blob_size, const int64_t* offsets, size_t n);
  // Row of `word`, or -1.
  int64_t find(std::string_view word) const {
    auto it = map_.find(word);
    return it == map_.end() ? -1 : static_cast<int64_t>(it->second);
  }
  size_t size() const { return n_; }

 private:
  std::string blob_;
  size_t n_ = 0;
  std::unordered_map<std::string_view, uint32_t> map_;
};

// Texts copied out of Python objects (so that workers never touch them).
struct Texts {
  struct Text {
    uint64_t begin = 0, end = 0;  // pre-split: a range of `spans`; else a byte range of `bytes`
    bool split = false;
  };
  std::string bytes;
  std::vector<Text> texts;
  std::vector<std::pair<uint64_t, uint32_t>> spans;  // (byte offset, length) of pre-split tokens
  size_t size() const { return texts.size(); }

  // Calls on_row(row) for every known token of text i, in order; returns the
  // number of tokens, known or not.
  template <class F>
  uint64_t for_each_row(const TokenTable& table, size_t i, F&& on_row) const;
};

struct EncodeStats {
  uint64_t tokens = 0;  // tokens in all texts
  uint64_t known = 0;   // tokens found in the table
  uint64_t empty = 0;   // texts without a known token (encoded as zero rows)
  void add(const EncodeStats& o) {
    tokens += o.tokens;
    known += o.known;
    empty += o.empty;
  }
};

struct EncodeOptions {
  const float* weights = nullptr;    // per-row weights (SIF), or none: mean
  const float* component = nullptr;  // unit vector (dim) removed from every text vector, or none
  bool normalize = true;             // scale every non-zero result to unit length
  int threads = 1;
};

// out (texts.size() x dim): for text t with known rows r_1..r_m,
//   v = (1/m) sum_k w(r_k) * vectors[r_k]   (w = 1 without weights)
//   v -= (v . u) u                           (with a component u)
//   v /= |v|                                 (normalize, v != 0)
// and a zero row when m == 0. Threads split the texts.
EncodeStats encode_texts(const Texts& texts, const TokenTable& table, const float* vectors,
                         size_t dim, const EncodeOptions& opt, float* out,
                         const simd::Kernels& k, std::atomic<bool>& stop,
                         const std::function<bool()>& poll);

// Known rows of every text as one id stream: text i is ids[offsets[i], offsets[i+1]).
EncodeStats texts_to_ids(const Texts& texts, const TokenTable& table, std::vector<uint32_t>& ids,
                         std::vector<uint64_t>& offsets);

// A side of the training pairs: text i is ids[offsets[i], offsets[i + 1]), every
// id a row of the weights, every text non-empty (checked by the caller).
struct IdTexts {
  const uint32_t* ids = nullptr;
  const uint64_t* offsets = nullptr;
};

struct ContrastiveConfig {
  float temperature = 0.05f;
  float learning_rate = 0.05f;
  int batch_size = 256;
  bool symmetric = false;
  int threads = 1;
};

struct ContrastiveModel {
  float* weights = nullptr;    // rows x dim
  float* adagrad = nullptr;    // rows x dim accumulators of squared gradients
  const float* lock = nullptr; // rows: 0 freezes a row, else it trains (or nullptr)
  size_t rows = 0, dim = 0;
};

struct ContrastiveStats {
  double loss = 0;          // summed over batches of the batch's mean loss
  uint64_t batches = 0;
  uint64_t pairs = 0;
  bool diverged = false;
  void add(const ContrastiveStats& o) {
    loss += o.loss;
    batches += o.batches;
    pairs += o.pairs;
    diverged = diverged || o.diverged;
  }
};

// One epoch: `order` lists the pairs (indices into the sides) in training
// order; batch b is order[b * B, min((b + 1) * B, n)). Threads take batches in
// turn from a shared counter and update the weights without locks (Hogwild);
// with one thread the result is deterministic. `progress` counts pairs done.
ContrastiveStats contrastive_epoch(const ContrastiveConfig& cfg, ContrastiveModel& model,
                                   const IdTexts& anchors, const IdTexts& positives,
                                   const IdTexts* negatives, const uint32_t* order, size_t n,
                                   const simd::Kernels& k, std::atomic<uint64_t>& progress,
                                   std::atomic<bool>& stop, const std::function<bool()>& poll);

}  // namespace dv
