// Word counting and vocabulary construction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dv {

// Deterministic 64-bit hash of a byte string (no per-process seed, so results
// never depend on the run).
inline uint64_t hash_bytes(const char* s, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(n) * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, s, 8);
    h = (h ^ v) * 0x87C37B91114253D5ull;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  if (n) {
    uint64_t v = 0;
    std::memcpy(&v, s, n);
    h = (h ^ v) * 0x4CF5AD432745937Full;
    h ^= h >> 32;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

// Open-addressing hash table from byte strings to a 64-bit value, with the
// strings kept in one arena. Used as a word counter and as a word -> id index.
class StringTable {
 public:
  explicit StringTable(size_t expected = 1024);

  // Returns the slot value for the word, inserting it with value `init` if new;
  // *inserted tells which happened.
  uint64_t& upsert(const char* s, size_t n, uint64_t init, bool* inserted);
  // Returns a pointer to the value, or nullptr if the word is absent.
  const uint64_t* find(const char* s, size_t n) const;
  size_t size() const { return used_; }

  template <class F>
  void for_each(F&& f) const {
    for (const Slot& sl : slots_)
      if (sl.len != kEmpty) f(std::string_view(arena_.data() + sl.off, sl.len), sl.value);
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t hash;
    uint64_t off;
    uint64_t value;
    uint32_t len;
  };
  void grow();
  std::vector<Slot> slots_;
  std::vector<char> arena_;
  size_t used_ = 0;
  size_t mask_ = 0;
};

// Word counter that also remembers which words are not valid UTF-8.
class WordCounter {
 public:
  void add(const char* s, size_t n);
  void merge(const WordCounter& other);
  // Calls f(word, count, valid_utf8) for every distinct word.
  template <class F>
  void for_each(F&& f) const {
    table_.for_each([&](std::string_view w, uint64_t v) { f(w, v >> 1, (v & 1) == 0); });
  }
  size_t size() const { return table_.size(); }

 private:
  // value = count << 1 | invalid_flag
  void add_count(const char* s, size_t n, uint64_t count, bool invalid_known, bool invalid);
  StringTable table_{1 << 16};
};

// Vocabulary: words sorted by count (descending), ties by byte order.
struct VocabResult {
  std::vector<std::string> words;
  std::vector<uint64_t> counts;
  uint64_t raw_tokens = 0;       // valid tokens seen (before pruning)
  uint64_t distinct_words = 0;   // distinct valid words seen (before pruning)
  uint64_t invalid_utf8 = 0;     // tokens dropped for invalid UTF-8
};

// Keeps words with count >= min_count, sorts, and keeps the first max_vocab
// (0 = no limit).
VocabResult build_vocab(const WordCounter& counter, uint64_t min_count, uint64_t max_vocab);

}  // namespace dv
