// Word counting and vocabulary construction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dv {

__extension__ typedef unsigned __int128 dv_u128;

// 64x64 -> 128-bit multiply folded to 64 bits: a strong, cheap mixer.
inline uint64_t mix_mul(uint64_t a, uint64_t b) {
  dv_u128 r = static_cast<dv_u128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// The first min(n, 8) bytes of s as a little-endian integer, zero-padded,
// without a variable-length memcpy call (reads only bytes s[0..n)).
inline uint64_t load_upto8(const char* s, size_t n) {
  if (n >= 8) {
    uint64_t v;
    std::memcpy(&v, s, 8);
    return v;
  }
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    return a | (static_cast<uint64_t>(b) << (8 * (n - 4)));  // overlapping bytes agree
  }
  if (n == 0) return 0;
  const unsigned char* u = reinterpret_cast<const unsigned char*>(s);
  return u[0] | (static_cast<uint64_t>(u[n / 2]) << (8 * (n / 2))) |
         (static_cast<uint64_t>(u[n - 1]) << (8 * (n - 1)));
}

// Deterministic 64-bit hash of a byte string (no per-process seed, so results
// never depend on the run). Every output bit depends on every input bit, so the
// low bits used to index the table are well spread.
inline uint64_t hash_bytes(const char* s, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(n);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, s, 8);
    h = mix_mul(h ^ v, 0xA0761D6478BD642Full);
    s += 8;
    n -= 8;
  }
  h = mix_mul(h ^ load_upto8(s, n) ^ 0xE7037ED1A0B428DBull, 0x8EBC6AF09C88C6E3ull);
  return mix_mul(h, 0x589965CC75374CC3ull);
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

  // Calls f(word, value) for every entry; the view is valid only during the call.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& sl : slots_)
      if (sl.len != kEmpty) f(word_of(sl), sl.value);
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  // The first 8 bytes of the word live in the slot, so that most lookups
  // (frequent words are short) never touch the arena.
  struct Slot {
    uint64_t hash;
    uint64_t head;   // first min(len, 8) bytes, zero-padded
    uint64_t value;
    uint64_t off;    // arena offset of bytes 8.. (words longer than 8 bytes)
    uint32_t len;
  };
  static uint64_t head_of(const char* s, size_t n) { return load_upto8(s, n); }
  bool same(const Slot& sl, uint64_t h, uint64_t head, const char* s, size_t n) const {
    return sl.hash == h && sl.len == n && sl.head == head &&
           (n <= 8 || std::memcmp(arena_.data() + sl.off, s + 8, n - 8) == 0);
  }
  void grow();
  std::string_view word_of(const Slot& sl) const;
  std::vector<Slot> slots_;
  mutable std::string scratch_;
  std::vector<char> arena_;
  size_t used_ = 0;
  size_t mask_ = 0;
};

// Word counter that also remembers which words are not valid UTF-8.
class WordCounter {
 public:
  explicit WordCounter(size_t expected = 1 << 16) : table_(expected) {}
  // Adds `count` occurrences of a word whose UTF-8 validity is known.
  void add(const char* s, size_t n, uint64_t count, bool invalid);
  // Calls f(word, count, valid_utf8) for every distinct word.
  template <class F>
  void for_each(F&& f) const {
    table_.for_each([&](std::string_view w, uint64_t v) { f(w, v >> 1, (v & 1) == 0); });
  }
  size_t size() const { return table_.size(); }

 private:
  // value = count << 1 | invalid_flag
  StringTable table_;
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
