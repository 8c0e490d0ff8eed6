#include "sampling.h"

#include <algorithm>
#include <numeric>

#include "common.h"

namespace dv {

uint64_t mix_seed(uint64_t seed, uint64_t epoch, uint64_t thread) {
  Rng r(seed ^ 0xD1B54A32D192ED03ull);
  uint64_t a = r.next() ^ (epoch * 0x9E3779B97F4A7C15ull);
  Rng r2(a);
  uint64_t b = r2.next() ^ (thread * 0xC2B2AE3D27D4EB4Full);
  Rng r3(b);
  return r3.next();
}

AliasTable build_alias(const std::vector<double>& weights) {
  const size_t n = weights.size();
  DV_CHECK(n > 0, "cannot build a sampler over zero words");
  DV_CHECK(n < 0xFFFFFFFFull, "too many words for the sampler");
  double total = 0;
  for (double w : weights) {
    DV_CHECK(w >= 0 && w == w, "sampler weights must be non-negative numbers");
    total += w;
  }
  DV_CHECK(total > 0, "sampler weights sum to zero");
  std::vector<double> scaled(n);
  for (size_t i = 0; i < n; ++i) scaled[i] = weights[i] * static_cast<double>(n) / total;
  AliasTable t;
  t.threshold.assign(n, 0xFFFFFFFFu);
  t.alias.resize(n);
  std::iota(t.alias.begin(), t.alias.end(), 0u);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back();
    small.pop_back();
    uint32_t l = large.back();
    t.threshold[s] = static_cast<uint32_t>(std::min(scaled[s] * 4294967296.0, 4294967295.0));
    t.alias[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Leftovers are 1 up to rounding: always keep themselves.
  for (uint32_t i : small) t.threshold[i] = 0xFFFFFFFFu, t.alias[i] = i;
  for (uint32_t i : large) t.threshold[i] = 0xFFFFFFFFu, t.alias[i] = i;
  return t;
}

Huffman build_huffman(const std::vector<uint64_t>& counts) {
  const size_t n = counts.size();
  DV_CHECK(n >= 2, "hierarchical softmax needs at least 2 words in the vocabulary");
  // Leaves sorted by ascending count (ties by index, for determinism).
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return counts[a] < counts[b]; });
  // Nodes 0..n-1 are leaves (by word id), n..2n-2 inner nodes in creation order.
  std::vector<uint64_t> weight(2 * n - 1);
  std::vector<uint32_t> parent(2 * n - 1, 0);
  std::vector<uint8_t> bit(2 * n - 1, 0);
  for (size_t i = 0; i < n; ++i) weight[i] = counts[i];
  size_t leaf = 0, inner = n, next_inner = n;  // two queues: leaves, then inner nodes
  auto pop_min = [&]() -> uint32_t {
    if (leaf < n && (inner >= next_inner || weight[order[leaf]] <= weight[inner]))
      return order[leaf++];
    return static_cast<uint32_t>(inner++);
  };
  for (size_t k = 0; k + 1 < n; ++k) {
    uint32_t a = pop_min();
    uint32_t b = pop_min();
    weight[next_inner] = weight[a] + weight[b];
    parent[a] = parent[b] = static_cast<uint32_t>(next_inner);
    bit[a] = 0;
    bit[b] = 1;
    ++next_inner;
  }
  const uint32_t root = static_cast<uint32_t>(2 * n - 2);
  Huffman h;
  h.offsets.assign(n + 1, 0);
  std::vector<uint32_t> path;
  std::vector<uint8_t> code;
  for (size_t w = 0; w < n; ++w) {
    path.clear();
    code.clear();
    for (uint32_t node = static_cast<uint32_t>(w); node != root; node = parent[node]) {
      code.push_back(bit[node]);
      // Inner node ids are renumbered so the root is 0: id = root - node.
      path.push_back(root - parent[node]);
    }
    std::reverse(path.begin(), path.end());
    std::reverse(code.begin(), code.end());
    h.points.insert(h.points.end(), path.begin(), path.end());
    h.codes.insert(h.codes.end(), code.begin(), code.end());
    h.offsets[w + 1] = h.points.size();
  }
  return h;
}

HuffmanTree::HuffmanTree(const std::vector<uint64_t>& counts) : tree_(build_huffman(counts)) {
  for (size_t w = 0; w + 1 < tree_.offsets.size(); ++w)
    max_depth_ = std::max<int>(max_depth_, static_cast<int>(tree_.offsets[w + 1] - tree_.offsets[w]));
}

}  // namespace dv
