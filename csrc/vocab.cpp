#include "vocab.h"

#include <algorithm>
#include <numeric>

#include "tokenizer.h"

namespace dv {

StringTable::StringTable(size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap <<= 1;
  slots_.assign(cap, Slot{0, 0, 0, kEmpty});
  mask_ = cap - 1;
}

void StringTable::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{0, 0, 0, kEmpty});
  mask_ = slots_.size() - 1;
  for (const Slot& sl : old) {
    if (sl.len == kEmpty) continue;
    size_t i = sl.hash & mask_;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask_;
    slots_[i] = sl;
  }
}

uint64_t& StringTable::upsert(const char* s, size_t n, uint64_t init, bool* inserted) {
  uint64_t h = hash_bytes(s, n);
  size_t i = h & mask_;
  while (true) {
    Slot& sl = slots_[i];
    if (sl.len == kEmpty) break;
    if (sl.hash == h && sl.len == n && std::memcmp(arena_.data() + sl.off, s, n) == 0) {
      *inserted = false;
      return sl.value;
    }
    i = (i + 1) & mask_;
  }
  if ((used_ + 1) * 10 > slots_.size() * 7) {  // keep load under 0.7
    grow();
    i = h & mask_;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask_;
  }
  Slot& sl = slots_[i];
  sl.hash = h;
  sl.off = arena_.size();
  sl.len = static_cast<uint32_t>(n);
  sl.value = init;
  arena_.insert(arena_.end(), s, s + n);
  ++used_;
  *inserted = true;
  return sl.value;
}

const uint64_t* StringTable::find(const char* s, size_t n) const {
  uint64_t h = hash_bytes(s, n);
  size_t i = h & mask_;
  while (true) {
    const Slot& sl = slots_[i];
    if (sl.len == kEmpty) return nullptr;
    if (sl.hash == h && sl.len == n && std::memcmp(arena_.data() + sl.off, s, n) == 0)
      return &sl.value;
    i = (i + 1) & mask_;
  }
}

void WordCounter::add_count(const char* s, size_t n, uint64_t count, bool invalid_known,
                            bool invalid) {
  bool inserted;
  uint64_t& v = table_.upsert(s, n, 0, &inserted);
  if (inserted) {
    bool bad = invalid_known ? invalid
                             : !valid_utf8(reinterpret_cast<const unsigned char*>(s), n);
    v = bad ? 1 : 0;
  }
  v += count << 1;
}

void WordCounter::add(const char* s, size_t n) { add_count(s, n, 1, false, false); }

void WordCounter::merge(const WordCounter& other) {
  other.table_.for_each([&](std::string_view w, uint64_t v) {
    add_count(w.data(), w.size(), v >> 1, true, (v & 1) != 0);
  });
}

VocabResult build_vocab(const WordCounter& counter, uint64_t min_count, uint64_t max_vocab) {
  VocabResult r;
  std::vector<std::pair<std::string_view, uint64_t>> kept;
  counter.for_each([&](std::string_view w, uint64_t c, bool valid) {
    if (!valid) {
      r.invalid_utf8 += c;
      return;
    }
    r.raw_tokens += c;
    ++r.distinct_words;
    if (c >= min_count) kept.emplace_back(w, c);
  });
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  if (max_vocab > 0 && kept.size() > max_vocab) kept.resize(max_vocab);
  r.words.reserve(kept.size());
  r.counts.reserve(kept.size());
  for (const auto& [w, c] : kept) {
    r.words.emplace_back(w);
    r.counts.push_back(c);
  }
  return r;
}

}  // namespace dv
