// GloVe training: weighted least squares on log co-occurrence counts, AdaGrad
// per parameter, threads updating shared parameters without locks (Hogwild).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "cooccur.h"
#include "simd/kernels.h"

namespace dv {

// A training record: the pair, log(x) and the weight f(x), computed once.
struct GloveRec {
  uint32_t row;
  uint32_t col;
  float logx;
  float weight;
};
static_assert(sizeof(GloveRec) == 16, "GloveRec must be 16 bytes");

// Fills out[0..n_out) with the training records of in[0..n), in a
// cache-friendly random order, with logx = log(x) and
// weight = min(1, (x / x_max)^alpha). With `upper`, in[] is the upper triangle
// of a symmetric matrix and each off-diagonal record yields both (row, col)
// and (col, row); n_out must be the resulting count.
//
// The (row, col) plane is cut into tiles of tile_rows x tile_rows words;
// records are grouped by tile (tiles in row-major order) and shuffled
// uniformly inside each tile, so that training on one tile keeps its rows in
// cache. With tile_rows = 0 there is one tile, cut into buckets of about
// bucket_records (Rao-Sandelius: records dealt to random buckets, each
// shuffled), i.e. a uniform shuffle of everything. Returns the tile starts
// (tiles + 1 offsets into out). The order depends only on seed, not on the
// thread count. Throws ValueError on a record outside the vocabulary, below
// the diagonal of an upper triangle, or with a value that is not positive
// and finite.
std::vector<uint64_t> glove_prepare(const CoocRecord* in, uint64_t n, bool upper, uint32_t vocab,
                                    double x_max, double alpha, uint64_t seed, uint32_t tile_rows,
                                    uint64_t bucket_records, int threads, GloveRec* out,
                                    uint64_t n_out, std::atomic<bool>& stop,
                                    const std::function<bool()>& poll);

// Parameters, updated in place. word and ctx hold, per word, 2 * ld floats:
// the vector (dim values, then zeros up to ld) and its AdaGrad accumulators
// (ld values, starting at 1). The biases hold, per word, [bias, accumulator]
// as doubles (two scalars per record: precision for free).
struct GloveModel {
  float* word;
  float* ctx;
  double* word_bias;
  double* ctx_bias;
  uint32_t vocab;
  size_t ld;  // a multiple of 16
};

struct GloveEpochConfig {
  float eta = 0.05f;
  uint64_t seed = 1;
  uint64_t epoch = 0;
  uint64_t max_chunk = 1 << 16;  // work unit: at most this many records of one tile
  int threads = 1;
};

struct GloveEpochStats {
  double cost = 0;        // sum over records of 0.5 * f(x) * diff^2
  uint64_t records = 0;   // records trained
  bool diverged = false;  // a non-finite error was met: training stopped
};

// One pass over recs[0..n) (prepared by glove_prepare, whose tile starts are
// tiles[0..n_tiles]): tiles are taken in an order drawn from (seed, epoch),
// each cut into chunks of at most max_chunk records that `threads` workers
// take in turn. For each record, diff = w.c + bw + bc - log x, the cost is
// 0.5 f diff^2 and each parameter p with gradient g moves by
// -eta g / sqrt(G_p), then G_p += (eta g)^2 (GloVe's reference update).
GloveEpochStats glove_epoch(const GloveEpochConfig& cfg, const GloveModel& m, const GloveRec* recs,
                            uint64_t n, const uint64_t* tiles, uint64_t n_tiles,
                            const simd::Kernels& k, std::atomic<uint64_t>& done,
                            std::atomic<bool>& stop, const std::function<bool()>& poll);

}  // namespace dv
