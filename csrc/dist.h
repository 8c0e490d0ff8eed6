// Building blocks of densevec.distributed (one task each on a worker, plus the
// client's vocabulary reduction): encoding split into a per-file scan, a
// vocabulary merge and a per-file encode pass, so that the cluster does the
// same two passes over the text as build_corpus on one machine; and the sum of
// partial co-occurrence matrices over a row range.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer.h"
#include "vocab.h"

namespace dv {

// Pass 1 of one file: counts its words and writes the file as a stream of
// word numbers (in order of first appearance) with 0xFFFFFFFF at every line
// end, to stream_path. words holds the words '\n'-separated in number order
// (a token never holds a '\n'); invalid[i] tells that word i is not UTF-8.
struct FileScan {
  std::string words;
  std::vector<uint64_t> counts;
  std::vector<uint8_t> invalid;
  ScanStats stats;
};
FileScan scan_file(const std::string& path, uint64_t max_token_bytes, const std::string& stream_path,
                   const std::atomic<bool>& stop);

// One part's scan as the vocabulary merge reads it.
struct ScanPart {
  std::string_view words;  // '\n'-separated, number order
  const uint64_t* counts;
  const uint8_t* invalid;
  size_t n;  // words in the part (== entries of counts and invalid)
};

// The parts' counts summed and pruned exactly as build_corpus does
// (build_vocab: invalid words dropped and counted, min_count, sort by count
// descending then bytes, max_vocab), and per part the final id of each word
// number (0xFFFFFFFF for a pruned or invalid word).
struct VocabMerge {
  VocabResult vocab;
  std::vector<std::vector<uint32_t>> lookups;
};
VocabMerge merge_scans(const std::vector<ScanPart>& parts, uint64_t min_count, uint64_t max_vocab);

// Pass 2 of one file: its stream mapped through `lookup` (pruned words
// dropped), lines cut into sentences of at most max_sentence_length ids
// (empty ones dropped), written as ids_path (uint32) and offsets_path (uint64,
// 0, end_1, ..., end_S) -- build_corpus's second pass. Returns {ids, sentences}.
std::pair<uint64_t, uint64_t> encode_stream(const std::string& stream_path, const uint32_t* lookup,
                                            size_t n_lookup, uint64_t max_sentence_length,
                                            const std::string& ids_path, const std::string& offsets_path);

// Sums the records of rows [lo, hi) of sorted co-occurrence record files
// (CoocRecord, sorted by (row, col)) in a k-way merge, values added in double
// in the files' order and rounded to float once, and writes them sorted to
// out_path. Returns {records written, records with row == col}.
std::pair<uint64_t, uint64_t> merge_cooc_rows(const std::vector<std::string>& paths, uint32_t lo,
                                              uint32_t hi, const std::string& out_path);

}  // namespace dv
