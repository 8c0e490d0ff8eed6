// Co-occurrence counting over an encoded id stream within a memory budget.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace dv {

// One non-zero of the co-occurrence matrix as stored on disk (12 bytes,
// little-endian, records sorted by (row, col)).
struct CoocRecord {
  uint32_t row;
  uint32_t col;
  float value;
};
static_assert(sizeof(CoocRecord) == 12, "CoocRecord must be packed to 12 bytes");

struct CoocConfig {
  uint32_t window = 10;
  bool symmetric = true;    // count both sides; else X[i][j] = j after i
  bool harmonic = true;     // add 1/distance; else 1
  uint64_t memory_bytes = 4ull << 30;  // accumulation budget, all threads together
  int threads = 1;
  std::string tmp_dir;      // sorted runs are spilled here
  uint64_t chunk_tokens = 1 << 20;  // work unit (whole sentences)
};

struct CoocStats {
  uint64_t nnz = 0;          // non-zeros of the matrix
  uint64_t stored = 0;       // records written: with symmetric counting, the upper triangle
  uint64_t events = 0;       // (word, context) pairs seen (before merging)
  uint64_t runs_spilled = 0; // sorted runs written to tmp_dir
  uint64_t dense_cells = 0;  // per-thread dense block size, in cells
  uint64_t hash_slots = 0;   // per-thread hash table size, in slots
  uint64_t max_product = 0;  // (row+1)(col+1) below this is counted in the dense block
  double count_seconds = 0;  // accumulating the pairs
  double size_seconds = 0;   // merge pass 1: records per output row
  double write_seconds = 0;  // merge pass 2: writing the records
};

// Counts word pairs within `window` tokens of each other inside each sentence
// of ids[offsets[s] .. offsets[s+1]) (s < n_sentences) and writes the sorted
// records to out_path: with symmetric counting only the upper triangle
// (row <= col) of the symmetric matrix, else every non-zero.
// The stream must already be validated (validate_span: offsets in order,
// ids < vocab).
//
// Each thread accumulates in doubles: pairs whose frequency ranks have a small
// product in a dense block (the frequent pairs), the rest in an open-addressing
// hash table that is sorted and spilled to a run file in tmp_dir when half full.
// With symmetric counting only one triangle is accumulated (the pair's two
// orientations get the same weight). The runs and dense blocks are merged at
// the end. Results depend on the thread count only
// through the order of floating-point additions. tokens_done advances as
// sentences are counted; setting stop abandons the work (files are removed).
CoocStats count_cooccurrence(const CoocConfig& cfg, const uint32_t* ids, const uint64_t* offsets,
                             uint64_t n_sentences, uint32_t vocab,
                             const std::string& out_path, std::atomic<uint64_t>& tokens_done,
                             std::atomic<bool>& stop, const std::function<bool()>& poll);

// Checks a record array: rows and cols < vocab, values finite and > 0,
// strictly increasing (row, col), and row <= col when `upper` (a symmetric
// matrix stored as its upper triangle). Throws ValueError naming the first
// bad record.
void validate_cooc(const CoocRecord* recs, uint64_t n, uint32_t vocab, bool upper);

}  // namespace dv
