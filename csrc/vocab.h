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
  uint64_t v = 0;
  if (n) std::memcpy(&v, s, n);
  h = mix_mul(h ^ v ^ 0xE7037ED1A0B428DBull, 0x8EBC6AF09C88C6E3ull);
  return mix_mul(h, 0x589965CC75374CC3ull);
}

// Open-addressing hash table from byte strings to a 64-bit value, with the
// strings kept in one arena. Used as a word counter and as a word -> id index.
class StringTable {
 public:
  explicit StringTable(size_t expected = 1024);

  // Returns the slot value for the word, inserting it with value `init` if new;
  // *inserted tells which happened.
  uint64_t& upsert(const char* s, size_t n, uint64_t init, bool* inserted) {
    return upsert_hashed(hash_bytes(s, n), s, n, init, inserted);
  }
  // Returns a pointer to the value, or nullptr if the word is absent.
  const uint64_t* find(const char* s, size_t n) const { return find_hashed(hash_bytes(s, n), s, n); }
  // The same with the hash already computed (h == hash_bytes(s, n)).
  uint64_t& upsert_hashed(uint64_t h, const char* s, size_t n, uint64_t init, bool* inserted);
  const uint64_t* find_hashed(uint64_t h, const char* s, size_t n) const;
  // Starts loading the home slot of hash h into the cache.
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
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
  static uint64_t head_of(const char* s, size_t n) {
    uint64_t v = 0;
    std::memcpy(&v, s, n < 8 ? n : 8);
    return v;
  }
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

// Two StringTables: a small one that stays in the L2 cache for the first
// kHotWords words inserted (frequent words come first: in counting because they
// appear early, in encoding because the caller inserts by rank), and a large
// one for the rest. Every word lives in exactly one of them.
class TieredTable {
 public:
  static constexpr size_t kHotWords = 4096;
  explicit TieredTable(size_t expected = 1 << 16) : hot_(kHotWords), cold_(expected) {}

  uint64_t& upsert_hashed(uint64_t h, const char* s, size_t n, uint64_t init, bool* inserted) {
    if (hot_.size() < kHotWords) return hot_.upsert_hashed(h, s, n, init, inserted);
    if (uint64_t* v = const_cast<uint64_t*>(hot_.find_hashed(h, s, n))) {
      *inserted = false;
      return *v;
    }
    return cold_.upsert_hashed(h, s, n, init, inserted);
  }
  const uint64_t* find_hashed(uint64_t h, const char* s, size_t n) const {
    const uint64_t* v = hot_.find_hashed(h, s, n);
    return v ? v : cold_.find_hashed(h, s, n);
  }
  uint64_t& upsert(const char* s, size_t n, uint64_t init, bool* inserted) {
    return upsert_hashed(hash_bytes(s, n), s, n, init, inserted);
  }
  const uint64_t* find(const char* s, size_t n) const { return find_hashed(hash_bytes(s, n), s, n); }
  void prefetch(uint64_t h) const {
    hot_.prefetch(h);
    cold_.prefetch(h);
  }
  size_t size() const { return hot_.size() + cold_.size(); }
  template <class F>
  void for_each(F&& f) const {
    hot_.for_each(f);
    cold_.for_each(f);
  }

 private:
  StringTable hot_, cold_;
};

// Tokens queued for lookup: each token's hash is computed and its slots are
// prefetched when it is queued, and the lookups run when the batch is flushed,
// so that the cache misses of rare words overlap instead of queueing up.
// Tokens are copied, so they may come from a buffer that is about to change.
class LookupBatch {
 public:
  static constexpr size_t kMax = 32;
  template <class Table>
  void push(const Table& table, const char* s, size_t n) {
    uint64_t h = hash_bytes(s, n);
    table.prefetch(h);
    items_.push_back({h, bytes_.size(), n});
    bytes_.append(s, n);
  }
  bool full() const { return items_.size() >= kMax; }
  // Calls f(hash, word, length) for the queued tokens in order, then clears.
  template <class F>
  void flush(F&& f) {
    for (const Item& it : items_) f(it.hash, bytes_.data() + it.off, it.len);
    items_.clear();
    bytes_.clear();
  }

 private:
  struct Item {
    uint64_t hash;
    size_t off;
    size_t len;
  };
  std::vector<Item> items_;
  std::string bytes_;
};

// Word counter that also remembers which words are not valid UTF-8.
class WordCounter {
 public:
  void add(const char* s, size_t n);
  void add_hashed(uint64_t h, const char* s, size_t n);
  // Adds `count` occurrences of a word whose UTF-8 validity is already known.
  void add_many(const char* s, size_t n, uint64_t count, bool invalid);
  void merge(const WordCounter& other);
  const TieredTable& table() const { return table_; }
  // Calls f(word, count, valid_utf8) for every distinct word.
  template <class F>
  void for_each(F&& f) const {
    table_.for_each([&](std::string_view w, uint64_t v) { f(w, v >> 1, (v & 1) == 0); });
  }
  size_t size() const { return table_.size(); }

 private:
  // value = count << 1 | invalid_flag
  void add_count(uint64_t h, const char* s, size_t n, uint64_t count, bool invalid_known,
                 bool invalid);
  TieredTable table_{1 << 16};
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
