#include "phrases.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>

#include "common.h"
#include "parallel.h"

namespace dv {

namespace {

StringTable make_set(const std::vector<std::string>& words) {
  StringTable t(words.size() + 16);
  for (const auto& w : words) {
    bool inserted;
    t.upsert(w.data(), w.size(), 1, &inserted);
  }
  return t;
}

bool contains(const StringTable& set, const char* s, size_t n) {
  return set.size() != 0 && set.find(s, n) != nullptr;
}

uint64_t count_of(const StringTable& t, std::string_view w) {
  const uint64_t* v = t.find(w.data(), w.size());
  return v ? *v : 0;
}

int clamp_threads(int threads, size_t n_ranges) {
  if (threads <= 0) threads = hardware_threads();
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, n_ranges)));
}

// Open-addressing counter keyed by (first word id, second word id, between
// id): one 24-byte slot per bigram candidate, no strings.
class PairCounter {
 public:
  explicit PairCounter(size_t expected = 1 << 12) { reset(expected); }

  // A key with its count and hash, for batched adds.
  struct Item {
    uint32_t a, b, between;
    uint64_t count, hash;
  };
  static Item item(uint32_t a, uint32_t b, uint32_t between, uint64_t count) {
    return Item{a, b, between, count, hash(a, b, between)};
  }

  uint64_t& at(uint32_t a, uint32_t b, uint32_t between) {
    return at_hashed(hash(a, b, between), a, b, between);
  }
  // Adds every item; the slot of an item a few places ahead is prefetched, so
  // that the cache misses of a large table overlap instead of adding up.
  void add_all(const std::vector<Item>& items) {
    constexpr size_t kAhead = 8;
    const size_t n = items.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) __builtin_prefetch(&slots_[items[i + kAhead].hash & mask_]);
      const Item& it = items[i];
      at_hashed(it.hash, it.a, it.b, it.between) += it.count;
    }
  }
  uint64_t& at_hashed(uint64_t h, uint32_t a, uint32_t b, uint32_t between) {
    size_t i = h & mask_;
    while (true) {
      Slot& s = slots_[i];
      if (s.a == kEmpty) break;
      if (s.a == a && s.b == b && s.between == between) return s.count;
      i = (i + 1) & mask_;
    }
    if ((used_ + 1) * 10 > slots_.size() * 7) {
      grow();
      i = h & mask_;
      while (slots_[i].a != kEmpty) i = (i + 1) & mask_;
    }
    Slot& s = slots_[i];
    s = Slot{a, b, between, 0, 0};
    ++used_;
    return s.count;
  }
  size_t size() const { return used_; }
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.a != kEmpty) f(s.a, s.b, s.between, s.count);
  }
  void reset(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, 0, 0, 0, 0});
    mask_ = cap - 1;
    used_ = 0;
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint32_t a, b, between, pad;
    uint64_t count;
  };
  static uint64_t hash(uint32_t a, uint32_t b, uint32_t between) {
    const uint64_t k = (static_cast<uint64_t>(a) << 32 | b) ^ (static_cast<uint64_t>(between) << 17);
    return mix_mul(k ^ 0x9E3779B97F4A7C15ull, 0xA0761D6478BD642Full);
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{kEmpty, 0, 0, 0, 0});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.a == kEmpty) continue;
      size_t i = hash(s.a, s.b, s.between) & mask_;
      while (slots_[i].a != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, used_ = 0;
};

// Counts one range of text as gensim's _learn_vocab does (see phrases.h):
// words get range-local ids, runs of connector words between two words get
// "between" ids (0 = none), and candidates are counted by id triple.
class RangeCounter {
 public:
  explicit RangeCounter(const StringTable& connectors) : connectors_(connectors) {}

  void token(const char* s, size_t n) {
    ++words_;
    bool inserted;
    uint64_t& v = words_table_.upsert(s, n, counts_.size(), &inserted);
    if (inserted) {
      DV_CHECK(counts_.size() < 0xFFFFFFF0u, "too many distinct words in one range");
      counts_.push_back(0);
      is_connector_.push_back(contains(connectors_, s, n));
    }
    const uint32_t id = static_cast<uint32_t>(v);
    if (is_connector_[id]) {
      if (has_start_) {
        if (!between_.empty()) between_ += ' ';
        between_.append(s, n);
      }
      return;
    }
    ++counts_[id];
    if (has_start_) {
      uint32_t b = 0;
      if (!between_.empty()) {
        uint64_t& bid = between_table_.upsert(between_.data(), between_.size(),
                                              between_table_.size() + 1, &inserted);
        b = static_cast<uint32_t>(bid);
      }
      pending_.push_back(PairCounter::item(start_, id, b, 1));
      if (pending_.size() == kBatch) flush();
    }
    start_ = id;
    has_start_ = true;
    between_.clear();
  }
  void line_end() {
    has_start_ = false;
    between_.clear();
  }
  // Counts the candidates still buffered; call before reading pairs().
  void flush() {
    pairs_.add_all(pending_);
    pending_.clear();
  }

  uint64_t words() const { return words_; }
  const StringTable& words_table() const { return words_table_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  const StringTable& between_table() const { return between_table_; }
  const PairCounter& pairs() const { return pairs_; }

 private:
  const StringTable& connectors_;
  StringTable words_table_{1 << 13};
  std::vector<uint64_t> counts_;
  std::vector<uint8_t> is_connector_;
  StringTable between_table_{16};
  PairCounter pairs_{1 << 14};
  static constexpr size_t kBatch = 64;
  std::vector<PairCounter::Item> pending_;
  std::string between_;
  uint32_t start_ = 0;
  bool has_start_ = false;
  uint64_t words_ = 0;
};

// The merged counts: words (unigram counts; 0 = pruned), connector runs, and
// candidates by global id.
class GlobalCounts {
 public:
  explicit GlobalCounts(const std::string& delimiter) : delimiter_(delimiter) {}

  void merge(const RangeCounter& rc) {
    const std::vector<uint64_t>& lc = rc.counts();
    std::vector<uint32_t> remap(lc.size(), 0);
    rc.words_table().for_each([&](std::string_view w, uint64_t lid) {
      if (lc[lid] == 0) return;  // a connector, or a word only seen as one
      remap[lid] = word_id(w);
      uint64_t& c = counts_[remap[lid]];
      if (c == 0) ++live_words_;
      c += lc[lid];
    });
    std::vector<uint32_t> bremap(rc.between_table().size() + 1, 0);
    rc.between_table().for_each([&](std::string_view w, uint64_t lid) {
      bool inserted;
      uint64_t& g = betweens_.upsert(w.data(), w.size(), betweens_.size() + 1, &inserted);
      if (inserted) {
        between_words_.emplace_back(w);
        if (w.find(delimiter_) != std::string_view::npos) delimiter_in_tokens_ = true;
      }
      bremap[lid] = static_cast<uint32_t>(g);
    });
    std::vector<PairCounter::Item> items;
    items.reserve(rc.pairs().size());
    rc.pairs().for_each([&](uint32_t a, uint32_t b, uint32_t btw, uint64_t c) {
      items.push_back(PairCounter::item(remap[a], remap[b], bremap[btw], c));
    });
    pairs_.add_all(items);
  }

  // gensim's len(vocab): distinct unigrams and candidates with a count.
  uint64_t entries() const { return live_words_ + pairs_.size(); }

  // gensim's prune_vocab: drops every entry counted fewer than min_reduce
  // times; words no longer counted nor used by a candidate leave the index.
  uint64_t prune(uint64_t min_reduce) {
    const uint64_t before = entries();
    std::vector<uint8_t> keep(counts_.size(), 0);
    PairCounter kept_pairs(pairs_.size() / 2 + 16);
    pairs_.for_each([&](uint32_t a, uint32_t b, uint32_t, uint64_t c) {
      if (c < min_reduce) return;
      keep[a] = keep[b] = 1;
    });
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] < min_reduce) counts_[i] = 0;
      if (counts_[i] > 0) keep[i] = 1;
    }
    StringTable words(words_.size() / 2 + 16);
    std::vector<uint64_t> counts;
    std::vector<std::string> names;
    std::vector<uint32_t> renum(counts_.size(), 0);
    live_words_ = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (!keep[i]) continue;
      renum[i] = static_cast<uint32_t>(counts.size());
      bool inserted;
      words.upsert(names_[i].data(), names_[i].size(), counts.size(), &inserted);
      counts.push_back(counts_[i]);
      names.push_back(std::move(names_[i]));
      if (counts_[i] > 0) ++live_words_;
    }
    pairs_.for_each([&](uint32_t a, uint32_t b, uint32_t btw, uint64_t c) {
      if (c >= min_reduce) kept_pairs.at(renum[a], renum[b], btw) = c;
    });
    words_ = std::move(words);
    counts_ = std::move(counts);
    names_ = std::move(names);
    pairs_ = std::move(kept_pairs);
    return before - entries();
  }

  bool delimiter_in_tokens() const { return delimiter_in_tokens_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  const PairCounter& pairs() const { return pairs_; }
  // The candidate's tokens joined by `sep`.
  void key(uint32_t a, uint32_t b, uint32_t btw, const std::string& sep, std::string* out) const {
    out->assign(names_[a]);
    *out += sep;
    if (btw != 0) {
      for (char c : between_words_[btw - 1]) {
        if (c == ' ')
          *out += sep;
        else
          *out += c;
      }
      *out += sep;
    }
    *out += names_[b];
  }

 private:
  uint32_t word_id(std::string_view w) {
    bool inserted;
    uint64_t& id = words_.upsert(w.data(), w.size(), counts_.size(), &inserted);
    if (inserted) {
      DV_CHECK(counts_.size() < 0xFFFFFFF0u, "too many distinct words");
      counts_.push_back(0);
      names_.emplace_back(w);
      if (w.find(delimiter_) != std::string_view::npos) delimiter_in_tokens_ = true;
    }
    return static_cast<uint32_t>(id);
  }

  std::string delimiter_;
  StringTable words_{1 << 16};
  std::vector<uint64_t> counts_;
  std::vector<std::string> names_;
  StringTable betweens_{16};
  std::vector<std::string> between_words_;
  PairCounter pairs_{1 << 16};
  uint64_t live_words_ = 0;
  bool delimiter_in_tokens_ = false;
};

// Counting pass: ranges counted in parallel, merged into `global` in range
// order (so pruning, when it happens, does not depend on the thread count).
void count_ranges(const std::vector<std::string>& paths, const PhraseOptions& opt,
                  const StringTable& connectors, GlobalCounts& global, PhraseFitResult& result,
                  std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                  const std::function<bool()>& poll) {
  auto files = open_files(paths);
  const std::vector<FileRange> ranges = split_files(paths, opt.range_bytes);
  const int threads = clamp_threads(opt.threads, ranges.size());
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  const TurnStop halt{mu, cv, stop};
  size_t turn = 0;
  run_parallel(
      threads,
      [&](int t) {
        try {
          for (size_t r = next++; r < ranges.size() && !stop.load(); r = next++) {
            const FileRange& fr = ranges[r];
            RangeCounter rc(connectors);
            ScanStats st;
            scan_range(
                *files[fr.file], fr.begin, fr.end, opt.max_token_bytes,
                [&](const char* s, size_t n) { rc.token(s, n); }, [&] { rc.line_end(); }, st,
                stop);
            rc.flush();
            bytes_done += st.bytes;
            tstats[t].add(st);
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return turn == r || stop.load(); });
            if (stop.load()) return;
            global.merge(rc);
            result.corpus_word_count += rc.words();
            while (global.entries() > opt.max_vocab) {
              result.pruned_entries += global.prune(result.min_reduce);
              ++result.min_reduce;
            }
            ++turn;
            cv.notify_all();
          }
        } catch (...) {
          halt();
          throw;
        }
      },
      halt.polling(poll), stop);
  for (const auto& st : tstats) result.stats.add(st);
}

struct Scorer {
  PhraseScoring scoring;
  uint64_t min_count;
  double threshold;
  uint64_t vocab_size;
  uint64_t corpus_word_count;

  // gensim's original_scorer / npmi_scorer followed by `score > threshold`,
  // with the same floating-point operations in the same order.
  bool is_phrase(uint64_t ca, uint64_t cb, uint64_t cab, double* score) const {
    if (ca == 0 || cb == 0 || cab == 0) return false;
    double s;
    if (scoring == PhraseScoring::kDefault) {
      const double denom = static_cast<double>(static_cast<dv_u128>(ca) * cb);
      // the exact integer difference, rounded once (as Python's int - int, then float)
      const double diff = cab >= min_count ? static_cast<double>(cab - min_count)
                                           : -static_cast<double>(min_count - cab);
      s = diff / denom * static_cast<double>(vocab_size);
    } else {
      if (cab < min_count) return false;
      const double total = static_cast<double>(corpus_word_count);
      const double pa = static_cast<double>(ca) / total;
      const double pb = static_cast<double>(cb) / total;
      const double pab = static_cast<double>(cab) / total;
      s = std::log(pab / (pa * pb)) / -std::log(pab);
    }
    if (!(s > threshold)) return false;
    *score = s;
    return true;
  }
};

std::string join_key(std::string_view key, const std::string& delimiter) {
  std::string out;
  out.reserve(key.size() + 8);
  for (char c : key) {
    if (c == ' ')
      out += delimiter;
    else
      out += c;
  }
  return out;
}

// Python's s.split(delimiter)[0] and [-1]: non-overlapping matches from the left.
bool split_ends(std::string_view s, std::string_view delim, std::string_view* first,
                std::string_view* last) {
  size_t pos = s.find(delim);
  if (pos == std::string_view::npos) return false;
  *first = s.substr(0, pos);
  size_t last_end = pos + delim.size();
  while ((pos = s.find(delim, last_end)) != std::string_view::npos) last_end = pos + delim.size();
  *last = s.substr(last_end);
  return true;
}

void sort_by_key(std::vector<std::pair<std::string, double>>& v, std::vector<std::string>& keys,
                 std::vector<double>& scores) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  keys.reserve(v.size());
  scores.reserve(v.size());
  for (auto& [k, s] : v) {
    keys.push_back(std::move(k));
    scores.push_back(s);
  }
}

}  // namespace

PhraseFitResult fit_phrases(const std::vector<std::string>& paths, const PhraseOptions& opt,
                            std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                            const std::function<bool()>& poll) {
  DV_CHECK(!opt.delimiter.empty(), "delimiter must not be empty");
  DV_CHECK(opt.min_count >= 1, "min_count must be >= 1");
  DV_CHECK(opt.max_vocab >= 1, "max_vocab must be >= 1");
  PhraseFitResult result;
  const StringTable connectors = make_set(opt.connectors);
  GlobalCounts global(opt.delimiter);
  count_ranges(paths, opt, connectors, global, result, bytes_done, stop, poll);
  if (stop.load()) return result;

  // gensim keys its counts by the delimiter-joined string. When no token holds
  // the delimiter, joining is one-to-one and the counts by id are gensim's;
  // otherwise counts are re-aggregated by the joined string.
  result.delimiter_in_tokens = global.delimiter_in_tokens();
  const std::vector<std::string>& names = global.names();
  const std::vector<uint64_t>& ucounts = global.counts();
  StringTable joined(result.delimiter_in_tokens ? global.entries() + 16 : 16);
  std::string key;
  if (result.delimiter_in_tokens) {
    bool inserted;
    for (size_t i = 0; i < names.size(); ++i)
      if (ucounts[i] > 0) joined.upsert(names[i].data(), names[i].size(), 0, &inserted) += ucounts[i];
    global.pairs().for_each([&](uint32_t a, uint32_t b, uint32_t btw, uint64_t c) {
      global.key(a, b, btw, opt.delimiter, &key);
      joined.upsert(key.data(), key.size(), 0, &inserted) += c;
    });
    result.vocab_size = joined.size();
  } else {
    result.vocab_size = global.entries();
  }
  const Scorer scorer{opt.scoring, opt.min_count, opt.threshold, result.vocab_size,
                      result.corpus_word_count};

  // Phrases as joining sees them: candidate (a, between..., b) scored from the
  // counts of a, b and the joined candidate (gensim's Phrases.score_candidate).
  std::vector<std::pair<std::string, double>> found, exported;
  global.pairs().for_each([&](uint32_t a, uint32_t b, uint32_t btw, uint64_t c) {
    uint64_t ca = ucounts[a], cb = ucounts[b], cab = c;
    if (result.delimiter_in_tokens) {
      ca = count_of(joined, names[a]);
      cb = count_of(joined, names[b]);
      global.key(a, b, btw, opt.delimiter, &key);
      cab = count_of(joined, key);
    }
    double score;
    if (scorer.is_phrase(ca, cb, cab, &score)) {
      global.key(a, b, btw, " ", &key);
      found.emplace_back(key, score);
    }
  });

  // gensim's export_phrases(): every counted (joined) key with a delimiter,
  // split there and scored from its first and last part.
  if (!result.delimiter_in_tokens) {
    for (const auto& [k, s] : found) exported.emplace_back(join_key(k, opt.delimiter), s);
  } else {
    joined.for_each([&](std::string_view k, uint64_t c) {
      std::string_view a, b;
      if (!split_ends(k, opt.delimiter, &a, &b)) return;
      double score;
      if (scorer.is_phrase(count_of(joined, a), count_of(joined, b), c, &score))
        exported.emplace_back(std::string(k), score);
    });
  }
  sort_by_key(found, result.keys, result.scores);
  sort_by_key(exported, result.exported, result.exported_scores);
  return result;
}

// ---------------------------------------------------------------- joining

PhraseModel::PhraseModel(const std::vector<std::string>& keys,
                         const std::vector<std::string>& connectors, std::string delimiter)
    : phrases_(keys.size() + 16), roles_(connectors.size() + keys.size() / 4 + 16),
      delimiter_(std::move(delimiter)) {
  DV_CHECK(!delimiter_.empty(), "delimiter must not be empty");
  bool inserted;
  for (const auto& c : connectors) roles_.upsert(c.data(), c.size(), 0, &inserted) |= kConnector;
  for (const auto& k : keys) {
    const size_t first = k.find(' ');
    DV_CHECK(first != std::string::npos, "phrase key '" << k << "' has fewer than two tokens");
    phrases_.upsert(k.data(), k.size(), 1, &inserted);
    if (inserted) ++n_phrases_;
    roles_.upsert(k.data(), first, 0, &inserted) |= kStartsPhrase;
  }
}

// gensim's analyze_sentence, streaming: tokens in, tokens out.
class PhraseModel::Joiner {
 public:
  explicit Joiner(const PhraseModel& m) : m_(m) {}

  template <class Emit>
  void token(const char* s, size_t n, Emit&& emit) {
    const uint64_t* r = m_.roles_.find(s, n);
    const uint64_t role = r ? *r : 0;
    if (role & kConnector) {
      if (has_start_) {
        if (n_between_ == between_.size()) between_.emplace_back();
        between_[n_between_++].assign(s, n);
      } else {
        emit(s, n);
      }
      return;
    }
    if (has_start_ && (start_role_ & kStartsPhrase)) {  // else no candidate can be a phrase
      key_.assign(start_);
      for (size_t i = 0; i < n_between_; ++i) (key_ += ' ') += between_[i];
      key_ += ' ';
      key_.append(s, n);
      if (m_.phrases_.find(key_.data(), key_.size()) != nullptr) {
        joined_.clear();
        for (char c : key_) {
          if (c == ' ')
            joined_ += m_.delimiter_;
          else
            joined_ += c;
        }
        emit(joined_.data(), joined_.size());
        has_start_ = false;
        n_between_ = 0;
        return;
      }
    }
    if (has_start_) flush(emit);
    start_.assign(s, n);
    start_role_ = role;
    has_start_ = true;
    n_between_ = 0;
  }

  template <class Emit>
  void end_line(Emit&& emit) {
    if (has_start_) flush(emit);
    has_start_ = false;
    n_between_ = 0;
  }

 private:
  template <class Emit>
  void flush(Emit&& emit) {
    emit(start_.data(), start_.size());
    for (size_t i = 0; i < n_between_; ++i) emit(between_[i].data(), between_[i].size());
  }
  const PhraseModel& m_;
  std::string start_, key_, joined_;
  std::vector<std::string> between_;
  size_t n_between_ = 0;
  uint64_t start_role_ = 0;
  bool has_start_ = false;
};

namespace {

// Appends tokens to a text buffer: one space between tokens, '\n' per line.
struct LineWriter {
  std::string out;
  bool line_has_token = false;
  void token(const char* s, size_t n) {
    if (line_has_token) out += ' ';
    out.append(s, n);
    line_has_token = true;
  }
  void newline() {
    out += '\n';
    line_has_token = false;
  }
};

}  // namespace

std::string PhraseModel::transform_text(const char* data, size_t n) const {
  Joiner j(*this);
  LineWriter w;
  auto emit = [&](const char* s, size_t len) { w.token(s, len); };
  const char* p = data;
  const char* const e = data + n;
  while (p < e) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (is_separator(c)) {
      if (c == '\n') {
        j.end_line(emit);
        w.newline();
      }
      ++p;
      continue;
    }
    const char* q = find_separator(p + 1, e);
    j.token(p, static_cast<size_t>(q - p), emit);
    p = q;
  }
  j.end_line(emit);
  if (n > 0 && data[n - 1] != '\n') w.newline();
  return std::move(w.out);
}

ScanStats PhraseModel::transform_files(const std::vector<std::string>& paths,
                                       const std::string& out_path, uint64_t max_token_bytes,
                                       uint64_t range_bytes, int threads,
                                       std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                                       const std::function<bool()>& poll) const {
  DV_CHECK(max_token_bytes > 0, "max_token_bytes must be positive");
  auto files = open_files(paths);
  const std::vector<FileRange> ranges = split_files(paths, range_bytes);
  threads = clamp_threads(threads, ranges.size());
  OutputFile out(out_path);
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  const TurnStop halt{mu, cv, stop};
  size_t turn = 0;
  run_parallel(
      threads,
      [&](int t) {
        try {
          for (size_t r = next++; r < ranges.size() && !stop.load(); r = next++) {
            const FileRange& fr = ranges[r];
            Joiner j(*this);
            LineWriter w;
            auto emit = [&](const char* s, size_t len) { w.token(s, len); };
            ScanStats st;
            scan_range(
                *files[fr.file], fr.begin, fr.end, max_token_bytes,
                [&](const char* s, size_t n) { j.token(s, n, emit); },
                [&] {
                  j.end_line(emit);
                  w.newline();
                },
                st, stop);
            if (stop.load()) return;
            // The last newline call stands for the end of the range; when the
            // range itself ends with '\n' it has already been written.
            char last = 0;
            DV_CHECK(files[fr.file]->read_at(&last, 1, fr.end - 1) == 1,
                     paths[fr.file] << ": file shrank while reading");
            if (last == '\n' && !w.out.empty()) w.out.pop_back();
            bytes_done += st.bytes;
            tstats[t].add(st);
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return turn == r || stop.load(); });
            if (stop.load()) return;
            out.write_all(w.out.data(), w.out.size());
            ++turn;
            cv.notify_all();
          }
        } catch (...) {
          halt();
          throw;
        }
      },
      halt.polling(poll), stop);
  ScanStats total;
  for (const auto& st : tstats) total.add(st);
  if (!stop.load()) out.close();
  return total;
}

}  // namespace dv
