// Exact k-nearest-neighbour search over float32, float16 or int8 rows.
//
// Scores (higher is better for dot and cosine; for l2 the squared Euclidean
// distance, smaller is better), with v_r = scale[r] * row r (scale = 1 when
// absent) and q the query:
//   dot     q . v_r
//   cosine  (q / |q|) . v_r / norms[r]      (0 for rows whose norm is 0; without
//                                            norms the rows are taken as unit length)
//   l2      |q - v_r|^2                     (without scale: computed directly;
//                                            with scale: |q|^2 - 2 q.v_r + norms[r]^2)
// int8 rows need a scale; the query is then quantised symmetrically to int8
// (its own scale max|q| / 127) and dot products are exact int32 sums.
//
// Results per query: the k best rows, best first; equal scores are ordered by
// the lower row id; NaN scores rank as the worst possible score. Rows listed
// in `exclude` are never returned; k is clipped to the rows left.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "simd/kernels.h"

namespace dv {

enum class Metric { Dot, Cosine, L2 };
enum class RowType { F32, F16, I8 };

struct SearchBase {
  const void* rows = nullptr;  // n x d, row-major, contiguous
  RowType type = RowType::F32;
  size_t n = 0, d = 0;
  const float* scale = nullptr;  // per-row multiplier (required for I8)
  const float* norms = nullptr;  // per-row |v_r| (cosine; l2 with scale)
};

struct SearchOutput {
  int64_t* ids;   // m x k
  float* scores;  // m x k
};

// Number of results per query: min(k, rows not excluded). `exclude` must be
// sorted and unique (see prepare_exclude).
size_t search_k(size_t k, size_t n, const std::vector<int64_t>& exclude);

// Sorts and de-duplicates `exclude`; throws ValueError for ids outside [0, n).
std::vector<int64_t> prepare_exclude(std::vector<int64_t> exclude, size_t n);

// Runs the search for m queries (m x d float32) with threads (0 = all cores);
// out holds m x search_k(k, ...) entries. Throws ValueError on bad arguments.
void search(const float* queries, size_t m, const SearchBase& base, Metric metric, size_t k,
            const std::vector<int64_t>& exclude, int threads, const simd::Kernels& kernels,
            SearchOutput out);

// L2 norm of every row of `base` (scale applied; base.norms is not read) into
// out[0, n), float32, with threads (0 = all cores). float32/float16 rows use
// the l2 scan kernel against a zero query (so the squares are summed in the
// kernel's order, which depends only on d: the result does not depend on
// threads); int8 rows take sqrt of the exact int32 sum of squares times their
// scale. Cosine search divides by these instead of scanning a unit-length copy.
void row_norms(const SearchBase& base, int threads, const simd::Kernels& kernels, float* out);

}  // namespace dv
