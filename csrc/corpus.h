// Counting words over files and encoding them into a stream of uint32 ids.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tokenizer.h"
#include "vocab.h"

namespace dv {

struct ScanOptions {
  uint64_t max_token_bytes = 1000;      // longer tokens are dropped and counted
  uint64_t range_bytes = 16ull << 20;   // work unit: files are cut at line starts near this size
  int threads = 1;
};

// Counts every token of the files (ranges spread over threads; the result does
// not depend on the thread count) and builds the pruned, sorted vocabulary.
// bytes_done is advanced as input is read; set stop to abandon the work.
VocabResult count_files(const std::vector<std::string>& paths, uint64_t min_count,
                        uint64_t max_vocab, const ScanOptions& opt, ScanStats& stats,
                        std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                        const std::function<bool()>& poll);

struct EncodeResult {
  uint64_t n_tokens = 0;     // ids written
  uint64_t n_sentences = 0;  // sentences written (non-empty)
  ScanStats stats;
};

// Encodes the files with the vocabulary `words` (id = position): ids of
// in-vocabulary tokens go to ids_path (uint32 little-endian); the offsets of
// sentence ends go to offsets_path (uint64: 0, end_1, ..., end_S). A line is a
// sentence; lines longer than max_sentence_length in-vocabulary tokens are cut
// into pieces of that length; lines without an in-vocabulary token are dropped.
EncodeResult encode_files(const std::vector<std::string>& paths,
                          const std::vector<std::string>& words, const std::string& ids_path,
                          const std::string& offsets_path, uint64_t max_sentence_length,
                          const ScanOptions& opt, std::atomic<uint64_t>& bytes_done,
                          std::atomic<bool>& stop, const std::function<bool()>& poll);

// Checks an encoded stream: every id < vocab_size, offsets start at 0, never
// decrease and end at n_ids. Throws ValueError describing the first problem.
void validate_stream(const uint32_t* ids, uint64_t n_ids, const uint64_t* offsets,
                     uint64_t n_offsets, uint64_t vocab_size);

}  // namespace dv
