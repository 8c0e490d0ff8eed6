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

struct CorpusResult {
  VocabResult vocab;         // pruned, sorted vocabulary (id = position)
  uint64_t n_tokens = 0;     // ids written
  uint64_t n_sentences = 0;  // sentences written (non-empty)
  ScanStats stats;
};

// Counts and encodes the files in one pass over the text.
//
// Pass 1 (threads over ranges of ~range_bytes cut at line starts): each thread
// counts words in its own table and writes, per range, a temporary stream of
// thread-local word numbers with a marker at every line end (in tmp_dir).
// Then the counts are merged, pruned (min_count, max_vocab) and sorted (count
// descending, ties by bytes). Pass 2 reads the temporary streams in range
// order, maps local numbers to final ids (dropping pruned words), cuts lines
// into sentences (a line is a sentence; lines longer than max_sentence_length
// in-vocabulary tokens are cut into pieces; empty ones are dropped) and writes
// ids_path (uint32) and offsets_path (uint64: 0, end_1, ..., end_S).
// Nothing depends on the thread count. bytes_done advances with the input
// read; setting stop abandons the work.
CorpusResult build_corpus(const std::vector<std::string>& paths, uint64_t min_count,
                          uint64_t max_vocab, uint64_t max_sentence_length,
                          const ScanOptions& opt, const std::string& tmp_dir,
                          const std::string& ids_path, const std::string& offsets_path,
                          std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                          const std::function<bool()>& poll);

// Checks the part of an encoded stream that sentences [sent_begin, sent_end)
// cover: their offsets never decrease and stay within the n_ids ids, and every
// id there is < vocab_size. The caller guarantees sent_end indexes `offsets`.
// Throws ValueError describing the first problem.
void validate_span(const uint32_t* ids, uint64_t n_ids, const uint64_t* offsets,
                   uint64_t sent_begin, uint64_t sent_end, uint64_t vocab_size);

// The same checks on the files themselves, read in blocks (bounded memory:
// mapping and scanning a large stream would make all of it resident).
void validate_stream_files(const std::string& ids_path, const std::string& offsets_path,
                           uint64_t vocab_size);

}  // namespace dv
