#include "corpus.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>

#include "common.h"
#include "parallel.h"

namespace dv {

namespace {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IOError(path + ": cannot create: " + std::strerror(errno));
  }
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write_all(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
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
    if (fd_ >= 0 && ::close(fd_) != 0) {
      fd_ = -1;
      throw IOError(path_ + ": close failed: " + std::strerror(errno));
    }
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

std::vector<std::unique_ptr<InputFile>> open_all(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<InputFile>> files;
  for (const auto& p : paths) files.push_back(std::make_unique<InputFile>(p));
  return files;
}

int clamp_threads(int threads, size_t n_ranges) {
  if (threads <= 0) threads = hardware_threads();
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, n_ranges)));
}

}  // namespace

VocabResult count_files(const std::vector<std::string>& paths, uint64_t min_count,
                        uint64_t max_vocab, const ScanOptions& opt, ScanStats& stats,
                        std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                        const std::function<bool()>& poll) {
  auto files = open_all(paths);
  std::vector<FileRange> ranges = split_files(paths, opt.range_bytes);
  int threads = clamp_threads(opt.threads, ranges.size());
  std::vector<WordCounter> counters(threads);
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};

  run_parallel(
      threads,
      [&](int t) {
        WordCounter& counter = counters[t];
        for (size_t r = next++; r < ranges.size() && !stop.load(); r = next++) {
          const FileRange& fr = ranges[r];
          ScanStats local;
          scan_range(
              *files[fr.file], fr.begin, fr.end, opt.max_token_bytes,
              [&](const char* s, size_t n) { counter.add(s, n); }, [] {}, local, stop);
          tstats[t].add(local);
          bytes_done += local.bytes;
        }
      },
      poll, stop);

  for (int t = 1; t < threads; ++t) {
    counters[0].merge(counters[t]);
    counters[t] = WordCounter();
  }
  for (const auto& s : tstats) stats.add(s);
  VocabResult v = build_vocab(counters[0], min_count, max_vocab);
  stats.invalid_utf8 = v.invalid_utf8;
  stats.tokens -= v.invalid_utf8;
  return v;
}

EncodeResult encode_files(const std::vector<std::string>& paths,
                          const std::vector<std::string>& words, const std::string& ids_path,
                          const std::string& offsets_path, uint64_t max_sentence_length,
                          const ScanOptions& opt, std::atomic<uint64_t>& bytes_done,
                          std::atomic<bool>& stop, const std::function<bool()>& poll) {
  DV_CHECK(max_sentence_length > 0, "max_sentence_length must be positive");
  DV_CHECK(words.size() < 0xFFFFFFFFull, "vocabulary too large for uint32 ids");
  StringTable index(words.size() + 16);
  for (size_t i = 0; i < words.size(); ++i) {
    bool inserted;
    index.upsert(words[i].data(), words[i].size(), i, &inserted);
    DV_CHECK(inserted, "duplicate word in vocabulary: '" << words[i] << "'");
  }
  auto files = open_all(paths);
  std::vector<FileRange> ranges = split_files(paths, opt.range_bytes);
  int threads = clamp_threads(opt.threads, ranges.size());

  OutputFile ids_out(ids_path);
  OutputFile off_out(offsets_path);
  uint64_t zero = 0;
  off_out.write_all(&zero, sizeof zero);

  std::mutex mu;
  std::condition_variable cv;
  size_t turn = 0;  // the next range whose output may be written
  EncodeResult result;
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};

  run_parallel(
      threads,
      [&](int t) {
        try {
        std::vector<uint32_t> ids;
        std::vector<uint64_t> ends;  // sentence ends, relative to the range start
        for (size_t r = next++; r < ranges.size(); r = next++) {
          const FileRange& fr = ranges[r];
          ids.clear();
          ends.clear();
          uint64_t sent_start = 0;
          ScanStats local;
          scan_range(
              *files[fr.file], fr.begin, fr.end, opt.max_token_bytes,
              [&](const char* s, size_t n) {
                const uint64_t* id = index.find(s, n);
                if (!id) return;
                ids.push_back(static_cast<uint32_t>(*id));
                if (ids.size() - sent_start == max_sentence_length) {
                  ends.push_back(ids.size());
                  sent_start = ids.size();
                }
              },
              [&] {
                if (ids.size() > sent_start) {
                  ends.push_back(ids.size());
                  sent_start = ids.size();
                }
              },
              local, stop);
          tstats[t].add(local);
          bytes_done += local.bytes;
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return turn == r || stop.load(); });
          if (stop.load()) return;
          ids_out.write_all(ids.data(), ids.size() * sizeof(uint32_t));
          for (uint64_t& e : ends) e += result.n_tokens;
          off_out.write_all(ends.data(), ends.size() * sizeof(uint64_t));
          result.n_tokens += ids.size();
          result.n_sentences += ends.size();
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
  ids_out.close();
  off_out.close();
  for (const auto& s : tstats) result.stats.add(s);
  return result;
}

void validate_stream(const uint32_t* ids, uint64_t n_ids, const uint64_t* offsets,
                     uint64_t n_offsets, uint64_t vocab_size) {
  DV_CHECK(n_offsets >= 1, "sentence offsets are empty");
  DV_CHECK(offsets[0] == 0, "sentence offsets do not start at 0");
  DV_CHECK(offsets[n_offsets - 1] == n_ids, "sentence offsets end at "
                                                << offsets[n_offsets - 1] << " but the stream has "
                                                << n_ids << " ids");
  for (uint64_t i = 1; i < n_offsets; ++i)
    DV_CHECK(offsets[i] >= offsets[i - 1], "sentence offsets decrease at sentence " << i - 1);
  uint32_t max_id = 0;
  for (uint64_t i = 0; i < n_ids; ++i) max_id = std::max(max_id, ids[i]);
  DV_CHECK(n_ids == 0 || max_id < vocab_size,
           "id " << max_id << " out of range for a vocabulary of " << vocab_size << " words");
}

}  // namespace dv
