#include "vocab.h"

#include <algorithm>
#include <numeric>

#include "tokenizer.h"

namespace dv {

StringTable::StringTable(size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap <<= 1;
  slots_.assign(cap, Slot{0, 0, 0, 0, kEmpty});
  mask_ = cap - 1;
}

void StringTable::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{0, 0, 0, 0, kEmpty});
  mask_ = slots_.size() - 1;
  for (const Slot& sl : old) {
    if (sl.len == kEmpty) continue;
    size_t i = sl.hash & mask_;
    while (slots_[i].len != kEmpty) i = (i + 1) & mask_;
    slots_[i] = sl;
  }
}

std::string_view StringTable::word_of(const Slot& sl) const {
  scratch_.assign(reinterpret_cast<const char*>(&sl.head), sl.len < 8 ? sl.len : 8);
  if (sl.len > 8) scratch_.append(arena_.data() + sl.off, sl.len - 8);
  return scratch_;
}

uint64_t& StringTable::upsert(const char* s, size_t n, uint64_t init, bool* inserted) {
  const uint64_t h = hash_bytes(s, n), head = head_of(s, n);
  size_t i = h & mask_;
  while (true) {
    Slot& sl = slots_[i];
    if (sl.len == kEmpty) break;
    if (same(sl, h, head, s, n)) {
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
  sl.head = head;
  sl.off = arena_.size();
  sl.len = static_cast<uint32_t>(n);
  sl.value = init;
  if (n > 8) arena_.insert(arena_.end(), s + 8, s + n);
  ++used_;
  *inserted = true;
  return sl.value;
}

const uint64_t* StringTable::find(const char* s, size_t n) const {
  const uint64_t h = hash_bytes(s, n), head = head_of(s, n);
  size_t i = h & mask_;
  while (true) {
    const Slot& sl = slots_[i];
    if (sl.len == kEmpty) return nullptr;
    if (same(sl, h, head, s, n)) return &sl.value;
    i = (i + 1) & mask_;
  }
}

void WordCounter::add(const char* s, size_t n, uint64_t count, bool invalid) {
  bool inserted;
  uint64_t& v = table_.upsert(s, n, invalid ? 1 : 0, &inserted);
  v += count << 1;
}

VocabResult build_vocab(const WordCounter& counter, uint64_t min_count, uint64_t max_vocab) {
  VocabResult r;
  std::vector<std::pair<std::string, uint64_t>> kept;  // copies: for_each's view is transient
  counter.for_each([&](std::string_view w, uint64_t c, bool valid) {
    if (!valid) {
      r.invalid_utf8 += c;
      return;
    }
    r.raw_tokens += c;
    ++r.distinct_words;
    if (c >= min_count) kept.emplace_back(std::string(w), c);
  });
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  if (max_vocab > 0 && kept.size() > max_vocab) kept.resize(max_vocab);
  r.words.reserve(kept.size());
  r.counts.reserve(kept.size());
  for (auto& [w, c] : kept) {
    r.words.push_back(std::move(w));
    r.counts.push_back(c);
  }
  return r;
}

}  // namespace dv
