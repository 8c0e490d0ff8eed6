// Input and output policies of the word2vec window trainer (word2vec.cpp).
//
// An input policy fills the rows a window reads (and their lock factors); an
// output policy fills the rows a window predicts and their labels. The window
// loop calls them in a fixed order, so that random numbers are drawn in the
// same order whatever the policies:
//   out.begin_sentence(rng, sen, n)          once per sentence
//   out.prepare_next(rng, sen, i, n)         after the window size of i is drawn
//   in.begin_sentence(sen, n)                once per sentence, before its windows
//   in.gather(sen, lo, hi, i, rows, locks)   the window's inputs
//   out.fill(rng, sen[i], rows, labels, ni)  the window's outputs (ni: its inputs)
//   in.end_sentence(sen, n)                  after the sentence's last window
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "sampling.h"
#include "simd/kernels.h"
#include "word2vec.h"

namespace dv {

// Plain word2vec: the inputs of a window are its context words.
struct WordInputs {
  float* win;
  const float* lock;  // nullptr: every row trains
  size_t dim;

  uint64_t max_rows(int window) const { return 2 * static_cast<uint64_t>(window); }
  void begin_sentence(const uint32_t*, int) {}
  void end_sentence(const uint32_t*, int) {}

  int gather(const uint32_t* sen, int lo, int hi, int centre, float** rows, float* locks) const {
    int n = 0;
    if (!lock) {  // the common case: no lock factors to copy (the kernel reads none)
      for (int j = lo; j <= hi; ++j)
        if (j != centre) rows[n++] = win + size_t(sen[j]) * dim;
      return n;
    }
    for (int j = lo; j <= hi; ++j) {
      if (j == centre) continue;
      rows[n] = win + size_t(sen[j]) * dim;
      locks[n++] = lock[sen[j]];
    }
    return n;
  }

  void prefetch(uint32_t w) const { simd::prefetch_floats(win + size_t(w) * dim, dim); }
};

// Negative sampling: the centre word with label 1, then `negative` noise words
// with label 0 (noise words equal to the centre are skipped).
//
// Shared (per_input = false): one set of noise words per window, predicted by
// every input of the window. The noise words of position i + 1 are drawn
// while position i trains, so that their rows can be prefetched.
//
// Per input (per_input = true, skip-gram only): every input of the window gets
// its own `negative` noise words, as word2vec.c and gensim draw them; the
// window's rows are laid out input by input, `stride()` apart, and a noise
// word equal to the centre becomes an unused slot (label -1). With group > 1,
// each run of `group` consecutive inputs of a window shares one fresh set
// (group 1: word2vec.c's sampling; the kernel still updates the rows input by
// input, so a later input of the group reads what the earlier ones wrote).
class NegativeOutputs {
 public:
  NegativeOutputs(float* wout, size_t dim, const NoiseSampler& noise, int negative, bool per_input = false,
                  int group = 1)
      : wout_(wout), dim_(dim), noise_(noise), negative_(negative), per_input_(per_input),
        group_(std::max(group, 1)), cur_(std::max(negative, 1)), next_(std::max(negative, 1)) {}

  int max_rows() const { return negative_ + 1; }
  // Distance between two inputs' outputs in the window's rows; 0: shared.
  int stride() const { return per_input_ ? negative_ + 1 : 0; }

  void begin_sentence(Rng& rng, const uint32_t* sen, int n) {
    if (per_input_) return;
    n_cur_ = n == 0 ? 0 : draw(rng, sen[0], cur_);
  }

  void prepare_next(Rng& rng, const uint32_t* sen, int i, int n) {
    n_next_ = 0;
    if (i + 1 >= n) return;
    simd::prefetch_floats(wout_ + size_t(sen[i + 1]) * dim_, dim_);
    if (per_input_) return;
    n_next_ = draw(rng, sen[i + 1], next_);
    for (int q = 0; q < n_next_; ++q) simd::prefetch_floats(wout_ + size_t(next_[q]) * dim_, dim_);
  }

  // The window's rows: the shared set, or (per input) one set for each of its n_in inputs.
  int fill(Rng& rng, uint32_t centre, float** rows, float* labels, int n_in) {
    if (!per_input_) return fill(centre, rows, labels);
    float* const c_row = wout_ + size_t(centre) * dim_;
    const int s = negative_ + 1;
    // The random numbers first (in the order word2vec.c draws them, a set per
    // group), so that the sampler's table entries are fetched in parallel.
    const int sets = (n_in + group_ - 1) / group_;
    raw_.resize(size_t(sets) * negative_);
    for (uint64_t& r : raw_) {
      r = rng.next();
      noise_.prefetch(r);
    }
    for (int c = 0; c < n_in; ++c) {
      float** r = rows + size_t(c) * s;
      float* l = labels + size_t(c) * s;
      if (c % group_ != 0) {  // the group's set, drawn for its first input
        std::copy(r - s, r, r);
        std::copy(l - s, l, l);
        continue;
      }
      r[0] = c_row;
      l[0] = 1.0f;
      const uint64_t* raw = raw_.data() + size_t(c / group_) * negative_;
      for (int q = 1; q < s; ++q) {
        const uint32_t w = noise_.draw(raw[q - 1]);
        r[q] = w == centre ? c_row : wout_ + size_t(w) * dim_;
        l[q] = w == centre ? -1.0f : 0.0f;
        // the kernel prefetches the later inputs' rows itself
        if (c < simd::W2VWindow::kPrefetchAhead) simd::prefetch_floats(r[q], dim_);
      }
    }
    return s;
  }

  int fill(uint32_t centre, float** rows, float* labels) {
    int n = 0;
    rows[n] = wout_ + size_t(centre) * dim_;
    labels[n++] = 1.0f;
    for (int q = 0; q < n_cur_; ++q) {
      rows[n] = wout_ + size_t(cur_[q]) * dim_;
      labels[n++] = 0.0f;
    }
    std::swap(cur_, next_);
    n_cur_ = n_next_;
    return n;
  }

 private:
  int draw(Rng& rng, uint32_t centre, std::vector<uint32_t>& out) const {
    int m = 0;
    for (int q = 0; q < negative_; ++q) {
      const uint32_t w = noise_.draw(rng.next());
      if (w != centre) out[m++] = w;
    }
    return m;
  }

  float* wout_;
  size_t dim_;
  const NoiseSampler& noise_;
  int negative_;
  bool per_input_;
  int group_;
  std::vector<uint32_t> cur_, next_;
  std::vector<uint64_t> raw_;  // per input: the window's random numbers, `negative_` per set
  int n_cur_ = 0, n_next_ = 0;
};

// Hierarchical softmax: the inner nodes on the centre word's Huffman path,
// labelled 1 - code.
class HuffmanOutputs {
 public:
  HuffmanOutputs(float* wout, size_t dim, const HuffmanTree& tree)
      : wout_(wout), dim_(dim), tree_(tree) {}

  int max_rows() const { return tree_.max_depth(); }
  int stride() const { return 0; }
  void begin_sentence(Rng&, const uint32_t*, int) {}
  void prepare_next(Rng&, const uint32_t*, int, int) {}

  int fill(Rng&, uint32_t centre, float** rows, float* labels, int) const {
    return fill(centre, rows, labels);
  }

  int fill(uint32_t centre, float** rows, float* labels) const {
    int n = 0;
    for (uint64_t p = tree_.begin(centre); p < tree_.end(centre); ++p) {
      rows[n] = wout_ + size_t(tree_.point(p)) * dim_;
      labels[n++] = 1.0f - static_cast<float>(tree_.code(p));
    }
    return n;
  }

 private:
  float* wout_;
  size_t dim_;
  const HuffmanTree& tree_;
};

}  // namespace dv
