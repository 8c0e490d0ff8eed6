// fastText subwords (Bojanowski et al., "Enriching Word Vectors with Subword
// Information"): the character n-grams of a word and the input policy that
// trains a word as the bag of its own row and its n-gram rows.
//
// N-grams follow fastText's Dictionary::computeSubwords, so that ids
// interoperate with its .bin files: the word is wrapped as "<word>"; an n-gram
// is n consecutive UTF-8 characters (a byte 10xxxxxx continues the character
// before it; invalid UTF-8 is cut the same way, byte by byte), min_n <= n <=
// max_n, except the 1-grams "<" and ">"; its id is fastText's 32-bit FNV-1a
// hash (each byte sign-extended, as fastText's int8_t cast does) modulo
// `bucket`. Duplicates are kept, as fastText keeps them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "simd/kernels.h"
#include "w2v_policies.h"

namespace dv {

// fastText's Dictionary::hash.
inline uint32_t ft_hash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(c)));
    h *= 16777619u;
  }
  return h;
}

// Appends the n-gram ids (0 .. bucket-1) of `word` (without the markers).
void ft_ngrams(std::string_view word, int min_n, int max_n, uint32_t bucket, std::vector<uint32_t>& out);

// The n-gram ids of every word: word i's are ids[offsets[i] .. offsets[i+1]).
// Computed with `threads` threads.
struct SubwordTable {
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> ids;
};
SubwordTable ft_subword_table(const std::vector<std::string>& words, int min_n, int max_n,
                              uint32_t bucket, int threads);

// The n-gram matrix and the per-word n-gram lists a FastText model trains.
struct SubwordBags {
  float* rows = nullptr;              // bucket x dim
  uint64_t n_rows = 0;
  const uint64_t* offsets = nullptr;  // one more than the model's words
  const uint32_t* ids = nullptr;
};

// Input policy of FastText: a context word's input vector is the mean of its
// word row and its n-gram rows. A word's bag is summed once when its sentence
// position first enters a window, into a slot of a ring of the positions still
// in reach (centre - window .. centre + window); the kernel trains that slot in
// place, so later windows see the update, and when the position leaves reach
// the slot's total change is added to the word row and to every n-gram row
// (fastText and gensim add the full gradient to each; the mean then moves by
// exactly that change). The slots and their starting values are the only
// extra memory: 2 * (2 * window + 1) * dim floats. Rows are added with the
// kernels' axpy and combo at coefficients +-1 (exact: the same sums as a plain
// loop, any ISA); a bag is summed in registers by one combo.
class BagInputs {
 public:
  BagInputs(float* win, const SubwordBags& bags, size_t dim, int window, const simd::Kernels& k)
      : win_(win), bags_(bags), dim_(dim), window_(window), axpy_(k.axpy_f32), combo_(k.combo_f32) {}

  uint64_t max_rows(int window) const { return 2 * static_cast<uint64_t>(window); }

  void begin_sentence(const uint32_t*, int n) {
    slots_ = static_cast<int>(std::min<int64_t>(2 * int64_t{window_} + 1, n));
    if (cur_.size() < size_t(slots_) * dim_) {
      cur_.resize(size_t(slots_) * dim_);
      start_.resize(size_t(slots_) * dim_);
    }
    flushed_ = 0;
    composed_ = 0;
  }

  int gather(const uint32_t* sen, int lo, int hi, int centre, float** rows, float* locks) {
    while (flushed_ < composed_ && int64_t{flushed_} < int64_t{centre} - window_) flush(sen, flushed_++);
    while (composed_ <= hi) compose(sen, composed_++);
    int n = 0;
    for (int j = lo; j <= hi; ++j) {
      if (j == centre) continue;
      rows[n] = slot(cur_, j);
      locks[n++] = 1.0f;
    }
    return n;
  }

  void end_sentence(const uint32_t* sen, int) {
    while (flushed_ < composed_) flush(sen, flushed_++);
  }

  void prefetch(uint32_t w) const {
    simd::prefetch_floats(win_ + size_t(w) * dim_, dim_);
    for (uint64_t k = bags_.offsets[w]; k < bags_.offsets[w + 1]; ++k)
      simd::prefetch_floats(bags_.rows + size_t(bags_.ids[k]) * dim_, dim_);
  }

 private:
  float* slot(std::vector<float>& v, int pos) { return v.data() + size_t(pos % slots_) * dim_; }

  void compose(const uint32_t* sen, int pos) {
    const uint32_t w = sen[pos];
    float* c = slot(cur_, pos);
    const uint64_t b = bags_.offsets[w], e = bags_.offsets[w + 1];
    // the word's row, then its n-grams' rows, added in this order
    bag_.assign(1, win_ + size_t(w) * dim_);
    for (uint64_t q = b; q < e; ++q) bag_.push_back(bags_.rows + size_t(bags_.ids[q]) * dim_);
    const float one = 1.0f;
    combo_(bag_.data(), &one, static_cast<int>(bag_.size()), c, dim_, false, 0);
    if (e > b) {
      const float scale = 1.0f / static_cast<float>(e - b + 1);
      for (size_t k = 0; k < dim_; ++k) c[k] *= scale;
    }
    std::copy(c, c + dim_, slot(start_, pos));
  }

  void flush(const uint32_t* sen, int pos) {
    const uint32_t w = sen[pos];
    float* c = slot(cur_, pos);
    const float* s = slot(start_, pos);
    axpy_(-1.0f, s, c, dim_);  // the slot's total change
    axpy_(1.0f, c, win_ + size_t(w) * dim_, dim_);
    for (uint64_t q = bags_.offsets[w]; q < bags_.offsets[w + 1]; ++q)
      axpy_(1.0f, c, bags_.rows + size_t(bags_.ids[q]) * dim_, dim_);
  }

  float* win_;
  SubwordBags bags_;
  size_t dim_;
  int window_;
  void (*axpy_)(float a, const float* x, float* y, size_t n);
  void (*combo_)(float* const* rows, const float* coef, int k, float* out, size_t n, bool acc, size_t step);
  std::vector<float*> bag_;  // compose's rows
  int slots_ = 1;
  int flushed_ = 0, composed_ = 0;  // positions [flushed_, composed_) hold bags
  std::vector<float> cur_, start_;
};

}  // namespace dv
