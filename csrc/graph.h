// Graphs for node embeddings: a CSR adjacency (sorted neighbour lists, int ids)
// built from edge arrays or an edge-list file, and DeepWalk / node2vec random
// walks generated in parallel, reproducible from a seed whatever the number of
// threads.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dv {

// An edge list read from a text file: names in order of first appearance.
struct EdgeList {
  std::vector<std::string> names;
  std::vector<uint32_t> src, dst;
  std::vector<float> weight;  // empty when the file has no weight column
};

// Reads `src dst [weight]` lines (whitespace-separated, `#` starts a comment,
// blank lines skipped). A line with another number of fields, a weight that is
// not a finite non-negative number, or a file that mixes weighted and
// unweighted lines raises ValueError "<path>:<line>: ...".
EdgeList read_edge_list(const std::string& path, const std::atomic<bool>& stop);

// CSR adjacency. Row v lists v's out-neighbours (both directions for an
// undirected graph), sorted, without repeats or self-loops. weights is empty
// for an unweighted graph; with weights, alias tables per row (in the same
// slots as indices) draw a neighbour with probability proportional to weight.
struct Graph {
  uint32_t n = 0;
  bool directed = false;
  std::vector<uint64_t> indptr;   // n + 1
  std::vector<uint32_t> indices;  // sorted within each row
  std::vector<float> weights;     // empty: unweighted
  std::vector<uint32_t> alias_threshold, alias_index;  // weighted only
  uint64_t self_loops = 0;        // dropped
  uint64_t duplicates = 0;        // merged (largest weight kept)
  uint64_t zero_weight = 0;       // dropped

  uint32_t degree(uint32_t v) const { return static_cast<uint32_t>(indptr[v + 1] - indptr[v]); }
  bool has_edge(uint32_t from, uint32_t to) const;
};

// Builds the CSR from m edges over ids < n. weight may be null (unweighted).
// Edge i whose id is >= n, or whose weight is negative or not finite, raises
// ValueError naming `what` and i.
Graph build_graph(uint32_t n, const uint32_t* src, const uint32_t* dst, const float* weight,
                  uint64_t m, bool directed, const std::string& what);

struct WalkConfig {
  uint32_t walk_length = 80;
  uint32_t walks_per_node = 10;
  double p = 1.0, q = 1.0;
  uint64_t seed = 1;
  uint64_t round = 0;  // a further call's walks differ (continued training)
  int threads = 1;
};

struct Walks {
  std::vector<uint32_t> ids;
  std::vector<uint64_t> offsets;  // walks + 1
};

// walks_per_node walks from every node: pass r visits the nodes in a shuffled
// order; walk (node, r) draws from its own generator seeded by (seed, round,
// node, r), so the result is the same for any number of threads. A walk stops
// early at a node without out-neighbours (length 1 from an isolated node).
// p = q = 1: first-order (DeepWalk) steps, uniform or by weight; otherwise
// second-order node2vec steps by rejection sampling (memory O(edges)).
// `done` counts finished walks; poll() is called from the calling thread and
// stops the workers when it returns false (then IOError "interrupted").
Walks random_walks(const Graph& g, const WalkConfig& cfg, std::atomic<uint64_t>& done,
                   const std::function<bool()>& poll);

}  // namespace dv
