#include "corpus.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>

#include "common.h"
#include "parallel.h"

namespace dv {

namespace {

int clamp_threads(int threads, size_t n_ranges) {
  if (threads <= 0) threads = hardware_threads();
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, n_ranges)));
}

}  // namespace

namespace {

constexpr uint32_t kLineEnd = 0xFFFFFFFFu;

// Per-thread word table: word -> local number, with counts by local number.
struct LocalCounts {
  StringTable table{1 << 16};
  std::vector<uint64_t> counts;
  std::vector<uint8_t> invalid;

  uint32_t add(const char* s, size_t n) {
    bool inserted;
    uint64_t& v = table.upsert(s, n, counts.size(), &inserted);
    if (inserted) {
      DV_CHECK(counts.size() < kLineEnd, "too many distinct words for one thread");
      counts.push_back(0);
      invalid.push_back(!valid_utf8(reinterpret_cast<const unsigned char*>(s), n));
    }
    ++counts[v];
    return static_cast<uint32_t>(v);
  }
};

std::string part_path(const std::string& dir, size_t r) {
  return dir + "/part-" + std::to_string(r) + ".u32";
}

}  // namespace

CorpusResult build_corpus(const std::vector<std::string>& paths, uint64_t min_count,
                          uint64_t max_vocab, uint64_t max_sentence_length,
                          const ScanOptions& opt, const std::string& tmp_dir,
                          const std::string& ids_path, const std::string& offsets_path,
                          std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                          const std::function<bool()>& poll) {
  DV_CHECK(max_sentence_length > 0, "max_sentence_length must be positive");
  auto files = open_files(paths);
  std::vector<FileRange> ranges = split_files(paths, opt.range_bytes);
  const int threads = clamp_threads(opt.threads, ranges.size());
  std::vector<LocalCounts> local(threads);
  std::vector<int> owner(ranges.size(), 0);  // which thread's numbering a part uses
  std::vector<ScanStats> tstats(threads);
  std::atomic<size_t> next{0};
  CorpusResult result;

  // Pass 1: count, and write each range as local numbers and line ends.
  run_parallel(
      threads,
      [&](int t) {
        LocalCounts& lc = local[t];
        std::vector<uint32_t> out;
        out.reserve(1 << 18);
        for (size_t r = next++; r < ranges.size() && !stop.load(); r = next++) {
          owner[r] = t;
          const FileRange& fr = ranges[r];
          OutputFile part(part_path(tmp_dir, r));
          auto spill = [&] {
            part.write_all(out.data(), out.size() * sizeof(uint32_t));
            out.clear();
          };

          ScanStats st;
          scan_range(
              *files[fr.file], fr.begin, fr.end, opt.max_token_bytes,
              [&](const char* s, size_t n) {
                out.push_back(lc.add(s, n));
                if (out.size() >= (1 << 18)) spill();
              },
              [&] { out.push_back(kLineEnd); }, st, stop);
          spill();
          part.close();
          tstats[t].add(st);
          bytes_done += st.bytes;
        }
      },
      poll, stop);
  if (stop.load()) return result;

  // Merge the per-thread counts (sums do not depend on the split) and prune.
  size_t largest = 0;
  for (const LocalCounts& lc : local) largest = std::max(largest, lc.counts.size());
  WordCounter merged(largest + largest / 4);  // sized once: no rehash while merging
  for (const LocalCounts& lc : local)
    lc.table.for_each([&](std::string_view w, uint64_t id) {
      merged.add(w.data(), w.size(), lc.counts[id], lc.invalid[id] != 0);
    });
  result.vocab = build_vocab(merged, min_count, max_vocab);
  merged = WordCounter();
  for (const auto& st : tstats) result.stats.add(st);
  result.stats.invalid_utf8 = result.vocab.invalid_utf8;
  result.stats.tokens -= result.vocab.invalid_utf8;

  // Local number -> final id (kLineEnd for pruned or invalid words).
  StringTable final_ids(result.vocab.words.size() + 16);
  for (size_t i = 0; i < result.vocab.words.size(); ++i) {
    bool inserted;
    final_ids.upsert(result.vocab.words[i].data(), result.vocab.words[i].size(), i, &inserted);
  }
  std::vector<std::vector<uint32_t>> remap(threads);
  for (int t = 0; t < threads; ++t) {
    LocalCounts& lc = local[t];
    remap[t].assign(lc.counts.size(), kLineEnd);
    lc.table.for_each([&](std::string_view w, uint64_t id) {
      if (const uint64_t* f = final_ids.find(w.data(), w.size()))
        remap[t][id] = static_cast<uint32_t>(*f);
    });
    lc = LocalCounts();
  }

  // Pass 2: each part remapped and cut into sentences (in parallel), then
  // appended to the outputs in range order.
  OutputFile ids_out(ids_path);
  OutputFile off_out(offsets_path);
  const uint64_t zero = 0;
  off_out.write_all(&zero, sizeof zero);
  uint64_t written = 0;
  std::mutex mu;
  std::condition_variable cv;
  const TurnStop halt{mu, cv, stop};
  size_t turn = 0;
  next = 0;
  run_parallel(
      threads,
      [&](int) {
        std::vector<uint32_t> in, ids;
        std::vector<uint64_t> ends;  // sentence ends relative to the part's first id
        try {
          for (size_t r = next++; r < ranges.size() && !stop.load(); r = next++) {
            const std::vector<uint32_t>& map = remap[owner[r]];
            const std::string pp = part_path(tmp_dir, r);
            {
              InputFile part(pp);
              in.resize(part.size() / sizeof(uint32_t));
              size_t got = part.read_at(reinterpret_cast<char*>(in.data()), part.size(), 0);
              DV_CHECK(got == part.size(), pp << ": short read");
            }
            std::remove(pp.c_str());
            ids.clear();
            ends.clear();
            uint64_t sent_start = 0;
            for (uint32_t local_id : in) {
              if (local_id == kLineEnd) {
                if (ids.size() > sent_start) ends.push_back(sent_start = ids.size());
                continue;
              }
              uint32_t id = map[local_id];
              if (id == kLineEnd) continue;
              ids.push_back(id);
              if (ids.size() - sent_start == max_sentence_length) ends.push_back(sent_start = ids.size());
            }
            if (ids.size() > sent_start) ends.push_back(ids.size());
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return turn == r || stop.load(); });
            if (stop.load()) return;
            ids_out.write_all(ids.data(), ids.size() * sizeof(uint32_t));
            for (uint64_t& e : ends) e += written;
            off_out.write_all(ends.data(), ends.size() * sizeof(uint64_t));
            written += ids.size();
            result.n_sentences += ends.size();
            ++turn;
            cv.notify_all();
          }
        } catch (...) {
          halt();
          throw;
        }
      },
      halt.polling(poll), stop);
  ids_out.close();
  off_out.close();
  result.n_tokens = written;
  return result;
}

void validate_span(const uint32_t* ids, uint64_t n_ids, const uint64_t* offsets,
                   uint64_t sent_begin, uint64_t sent_end, uint64_t vocab_size) {
  for (uint64_t s = sent_begin; s < sent_end; ++s)
    DV_CHECK(offsets[s] <= offsets[s + 1], "offsets decrease at sentence " << s);
  const uint64_t a = offsets[sent_begin], b = offsets[sent_end];
  DV_CHECK(a <= b && b <= n_ids, "offsets point past the ids");
  uint32_t max_id = 0;
  for (uint64_t i = a; i < b; ++i) max_id = std::max(max_id, ids[i]);
  DV_CHECK(b == a || max_id < vocab_size,
           "ids refer past the vocabulary: id " << max_id << " with " << vocab_size << " words");
}

void validate_stream_files(const std::string& ids_path, const std::string& offsets_path,
                           uint64_t vocab_size) {
  InputFile ids(ids_path), offs(offsets_path);
  DV_CHECK(ids.size() % sizeof(uint32_t) == 0, ids_path << ": size is not a multiple of 4");
  DV_CHECK(offs.size() % sizeof(uint64_t) == 0 && offs.size() > 0,
           offsets_path << ": size is not a positive multiple of 8");
  const uint64_t n_ids = ids.size() / sizeof(uint32_t);
  constexpr size_t kBlock = 1 << 20;
  std::vector<uint64_t> obuf(kBlock);
  uint64_t prev = 0, n_off = offs.size() / sizeof(uint64_t);
  for (uint64_t i = 0; i < n_off; i += kBlock) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, n_off - i));
    size_t got = offs.read_at(reinterpret_cast<char*>(obuf.data()), n * sizeof(uint64_t), i * sizeof(uint64_t));
    DV_CHECK(got == n * sizeof(uint64_t), offsets_path << ": short read");
    for (size_t k = 0; k < n; ++k) {
      DV_CHECK(i + k > 0 || obuf[k] == 0, offsets_path << ": does not start at 0");
      DV_CHECK(obuf[k] >= prev, offsets_path << ": offsets decrease at sentence " << i + k);
      prev = obuf[k];
    }
  }
  DV_CHECK(prev == n_ids, offsets_path << ": ends at " << prev << " but " << ids_path << " holds "
                                       << n_ids << " ids");
  std::vector<uint32_t> ibuf(kBlock);
  uint32_t max_id = 0;
  for (uint64_t i = 0; i < n_ids; i += kBlock) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, n_ids - i));
    size_t got = ids.read_at(reinterpret_cast<char*>(ibuf.data()), n * sizeof(uint32_t), i * sizeof(uint32_t));
    DV_CHECK(got == n * sizeof(uint32_t), ids_path << ": short read");
    for (size_t k = 0; k < n; ++k) max_id = std::max(max_id, ibuf[k]);
  }
  DV_CHECK(n_ids == 0 || max_id < vocab_size, ids_path << ": id " << max_id
                                                        << " out of range for a vocabulary of "
                                                        << vocab_size << " words");
}

}  // namespace dv
