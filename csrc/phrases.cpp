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

std::vector<std::unique_ptr<InputFile>> open_files(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<InputFile>> files;
  for (const auto& p : paths) files.push_back(std::make_unique<InputFile>(p));
  return files;
}

// Counts one range of text as gensim's _learn_vocab does (see phrases.h).
// Candidates are keyed by their tokens joined with one space.
class RangeCounter {
 public:
  explicit RangeCounter(const StringTable& connectors) : connectors_(connectors) {}

  void token(const char* s, size_t n) {
    ++words_;
    if (contains(connectors_, s, n)) {
      if (has_start_) push_between(s, n);
      return;
    }
    add(s, n);
    if (has_start_) {
      key_.assign(start_);
      for (size_t i = 0; i < n_between_; ++i) (key_ += ' ') += between_[i];
      key_ += ' ';
      key_.append(s, n);
      add(key_.data(), key_.size());
    }
    start_.assign(s, n);
    has_start_ = true;
    n_between_ = 0;
  }
  void line_end() {
    has_start_ = false;
    n_between_ = 0;
  }
  const StringTable& table() const { return table_; }
  uint64_t words() const { return words_; }

 private:
  void add(const char* s, size_t n) {
    bool inserted;
    table_.upsert(s, n, 0, &inserted) += 1;
  }
  void push_between(const char* s, size_t n) {
    if (n_between_ == between_.size()) between_.emplace_back();
    between_[n_between_++].assign(s, n);
  }
  const StringTable& connectors_;
  StringTable table_{1 << 16};
  std::string start_, key_;
  std::vector<std::string> between_;
  size_t n_between_ = 0;
  bool has_start_ = false;
  uint64_t words_ = 0;
};

// Drops entries with count < min_reduce (gensim's utils.prune_vocab); returns
// how many were dropped.
uint64_t prune(StringTable& table, uint64_t min_reduce) {
  StringTable kept(table.size() / 2 + 16);
  uint64_t dropped = 0;
  table.for_each([&](std::string_view w, uint64_t c) {
    if (c < min_reduce) {
      ++dropped;
      return;
    }
    bool inserted;
    kept.upsert(w.data(), w.size(), c, &inserted);
  });
  table = std::move(kept);
  return dropped;
}

// Counting pass: ranges counted in parallel, merged into `global` in range
// order (so pruning, when it happens, does not depend on the thread count).
StringTable count_ranges(const std::vector<std::string>& paths, const PhraseOptions& opt,
                         const StringTable& connectors, PhraseFitResult& result,
                         std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                         const std::function<bool()>& poll) {
  auto files = open_files(paths);
  const std::vector<FileRange> ranges = split_files(paths, opt.range_bytes);
  const int threads = clamp_threads(opt.threads, ranges.size());
  StringTable global(1 << 16);
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
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
            bytes_done += st.bytes;
            tstats[t].add(st);
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return turn == r || stop.load(); });
            if (stop.load()) return;
            rc.table().for_each([&](std::string_view w, uint64_t c) {
              bool inserted;
              global.upsert(w.data(), w.size(), 0, &inserted) += c;
            });
            result.corpus_word_count += rc.words();
            while (global.size() > opt.max_vocab) {
              result.pruned_entries += prune(global, result.min_reduce);
              ++result.min_reduce;
            }
            ++turn;
            cv.notify_all();
          }
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          stop.store(true);
          cv.notify_all();
          throw;
        }
      },
      [&] {
        bool go_on = poll();
        if (!go_on) {
          std::lock_guard<std::mutex> lock(mu);
          stop.store(true);
          cv.notify_all();
        }
        return go_on;
      },
      stop);
  for (const auto& st : tstats) result.stats.add(st);
  return global;
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
      const double diff = static_cast<double>(static_cast<__int128>(cab) - static_cast<__int128>(min_count));
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
  StringTable global = count_ranges(paths, opt, connectors, result, bytes_done, stop, poll);
  if (stop.load()) return result;

  // gensim keys its counts by the delimiter-joined string. When no token holds
  // the delimiter, joining is one-to-one and the table can be used as it is;
  // otherwise counts are re-aggregated by the joined string.
  global.for_each([&](std::string_view w, uint64_t) {
    if (!result.delimiter_in_tokens && w.find(opt.delimiter) != std::string_view::npos)
      result.delimiter_in_tokens = true;
  });
  StringTable joined_counts(result.delimiter_in_tokens ? global.size() + 16 : 16);
  if (result.delimiter_in_tokens) {
    global.for_each([&](std::string_view w, uint64_t c) {
      const std::string j = join_key(w, opt.delimiter);
      bool inserted;
      joined_counts.upsert(j.data(), j.size(), 0, &inserted) += c;
    });
  }
  const StringTable& counts = result.delimiter_in_tokens ? joined_counts : global;
  result.vocab_size = counts.size();
  const Scorer scorer{opt.scoring, opt.min_count, opt.threshold, result.vocab_size,
                      result.corpus_word_count};

  // Phrases as joining sees them: candidate (a, between..., b) scored from the
  // counts of a, b and the joined candidate (gensim's Phrases.score_candidate).
  std::vector<std::pair<std::string, double>> found, exported;
  global.for_each([&](std::string_view key, uint64_t c) {
    const size_t first = key.find(' ');
    if (first == std::string_view::npos) return;
    const size_t last = key.rfind(' ');
    const std::string_view a = key.substr(0, first), b = key.substr(last + 1);
    uint64_t cab = c;
    if (result.delimiter_in_tokens) cab = count_of(counts, join_key(key, opt.delimiter));
    double score;
    if (scorer.is_phrase(count_of(counts, a), count_of(counts, b), cab, &score))
      found.emplace_back(std::string(key), score);
  });

  // gensim's export_phrases(): every counted (joined) key with a delimiter,
  // split there and scored from its first and last part.
  if (!result.delimiter_in_tokens) {
    for (const auto& [k, s] : found) exported.emplace_back(join_key(k, opt.delimiter), s);
  } else {
    counts.for_each([&](std::string_view key, uint64_t c) {
      std::string_view a, b;
      if (!split_ends(key, opt.delimiter, &a, &b)) return;
      double score;
      if (scorer.is_phrase(count_of(counts, a), count_of(counts, b), c, &score))
        exported.emplace_back(std::string(key), score);
    });
  }
  sort_by_key(found, result.keys, result.scores);
  sort_by_key(exported, result.exported, result.exported_scores);
  return result;
}

// ---------------------------------------------------------------- joining

PhraseModel::PhraseModel(const std::vector<std::string>& keys,
                         const std::vector<std::string>& connectors, std::string delimiter)
    : phrases_(keys.size() + 16), connectors_(make_set(connectors)), delimiter_(std::move(delimiter)) {
  DV_CHECK(!delimiter_.empty(), "delimiter must not be empty");
  for (const auto& k : keys) {
    DV_CHECK(k.find(' ') != std::string::npos, "phrase key '" << k << "' has fewer than two tokens");
    bool inserted;
    phrases_.upsert(k.data(), k.size(), 1, &inserted);
    if (inserted) ++n_phrases_;
  }
}

// gensim's analyze_sentence, streaming: tokens in, tokens out.
class PhraseModel::Joiner {
 public:
  explicit Joiner(const PhraseModel& m) : m_(m) {}

  template <class Emit>
  void token(const char* s, size_t n, Emit&& emit) {
    if (contains(m_.connectors_, s, n)) {
      if (has_start_) {
        if (n_between_ == between_.size()) between_.emplace_back();
        between_[n_between_++].assign(s, n);
      } else {
        emit(s, n);
      }
      return;
    }
    if (has_start_) {
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
      flush(emit);
    }
    start_.assign(s, n);
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

class OutFile {
 public:
  explicit OutFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) throw IOError(path + ": cannot create: " + std::strerror(errno));
  }
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write_all(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw IOError(path_ + ": write failed: " + std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0 && errno != EINVAL) {
      ::close(fd);
      throw IOError(path_ + ": fsync failed: " + std::strerror(errno));
    }
    if (::close(fd) != 0) throw IOError(path_ + ": close failed: " + std::strerror(errno));
  }

 private:
  int fd_ = -1;
  std::string path_;
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
  OutFile out(out_path);
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
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
          std::lock_guard<std::mutex> lock(mu);
          stop.store(true);
          cv.notify_all();
          throw;
        }
      },
      [&] {
        bool go_on = poll();
        if (!go_on) {
          std::lock_guard<std::mutex> lock(mu);
          stop.store(true);
          cv.notify_all();
        }
        return go_on;
      },
      stop);
  ScanStats total;
  for (const auto& st : tstats) total.add(st);
  if (!stop.load()) out.close();
  return total;
}

}  // namespace dv
