// Random numbers and the samplers word2vec needs: a per-thread generator, the
// unigram^power negative sampler (Walker's alias method) and the Huffman tree
// of hierarchical softmax.
#pragma once
#include <cstdint>
#include <vector>

namespace dv {

// splitmix64: tiny state, fast, good enough statistical quality for SGD.
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform integer in [0, n) from the high 32 bits (n < 2^32).
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  // Uniform float in [0, 1).
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

// Seed for one (run seed, epoch, thread) triple.
uint64_t mix_seed(uint64_t seed, uint64_t epoch, uint64_t thread);

// Alias table for sampling index i with probability w_i / sum(w).
// threshold[i] is in units of 2^-32; draw: i = uniform index, keep i if the
// other 32 random bits are below threshold[i], else take alias[i].
struct AliasTable {
  std::vector<uint32_t> threshold;
  std::vector<uint32_t> alias;
};
AliasTable build_alias(const std::vector<double>& weights);

// The uniform index a draw starts from: the low 32 random bits scaled to [0, n).
inline uint32_t alias_slot(uint64_t r, uint32_t n) {
  return static_cast<uint32_t>(((r & 0xFFFFFFFFull) * n) >> 32);
}

inline uint32_t alias_draw(const uint32_t* threshold, const uint32_t* alias, uint32_t n,
                           uint64_t r) {
  const uint32_t i = alias_slot(r, n);
  return static_cast<uint32_t>(r >> 32) < threshold[i] ? i : alias[i];
}

// Huffman tree over word counts, as word2vec's hierarchical softmax uses it:
// the path of word w is points[offsets[w] .. offsets[w+1]) (inner nodes from the
// root, numbered 0 .. V-2) with branch bits codes[...] (0 or 1).
struct Huffman {
  std::vector<uint8_t> codes;
  std::vector<uint32_t> points;
  std::vector<uint64_t> offsets;
};
Huffman build_huffman(const std::vector<uint64_t>& counts);

// The noise distribution of negative sampling, built once per vocabulary:
// word i with probability weights[i] / sum(weights).
class NoiseSampler {
 public:
  explicit NoiseSampler(const std::vector<double>& weights) : n_(static_cast<uint32_t>(weights.size())) {
    const AliasTable t = build_alias(weights);
    packed_.resize(n_);
    for (uint32_t i = 0; i < n_; ++i) packed_[i] = t.threshold[i] | (static_cast<uint64_t>(t.alias[i]) << 32);
  }
  uint32_t size() const { return n_; }
  // alias_draw over the table, reading one entry (threshold and alias side
  // by side) instead of two arrays: the same words, one cache miss per draw.
  uint32_t draw(uint64_t r) const {
    const uint32_t i = alias_slot(r, n_);
    const uint64_t e = packed_[i];
    return static_cast<uint32_t>(r >> 32) < static_cast<uint32_t>(e) ? i : static_cast<uint32_t>(e >> 32);
  }
  // Hints the table entry draw(r) reads into the cache (the table of a large
  // vocabulary does not fit in L2: drawing many words, prefetch them all first).
  void prefetch(uint64_t r) const { __builtin_prefetch(packed_.data() + alias_slot(r, n_)); }
  // The table as two arrays (for inspection; draws read the packed entries).
  AliasTable table() const {
    AliasTable t;
    t.threshold.reserve(n_);
    t.alias.reserve(n_);
    for (uint64_t e : packed_) {
      t.threshold.push_back(static_cast<uint32_t>(e));
      t.alias.push_back(static_cast<uint32_t>(e >> 32));
    }
    return t;
  }

 private:
  std::vector<uint64_t> packed_;  // threshold | alias << 32
  uint32_t n_;
};

// The Huffman tree of hierarchical softmax, built once per vocabulary.
class HuffmanTree {
 public:
  explicit HuffmanTree(const std::vector<uint64_t>& counts);
  uint64_t size() const { return tree_.offsets.size() - 1; }  // words
  uint64_t inner_nodes() const { return size() - 1; }
  int max_depth() const { return max_depth_; }
  uint64_t begin(uint32_t w) const { return tree_.offsets[w]; }
  uint64_t end(uint32_t w) const { return tree_.offsets[w + 1]; }
  uint32_t point(uint64_t p) const { return tree_.points[p]; }
  uint8_t code(uint64_t p) const { return tree_.codes[p]; }
  const Huffman& arrays() const { return tree_; }

 private:
  Huffman tree_;
  int max_depth_ = 0;
};

}  // namespace dv
