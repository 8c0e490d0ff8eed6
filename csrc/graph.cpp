#include "graph.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include "common.h"
#include "parallel.h"
#include "sampling.h"
#include "tokenizer.h"

namespace dv {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Parses one line (without '\n') into the edge list.
void parse_line(std::string_view line, const std::string& path, uint64_t lineno, EdgeList& out,
                std::unordered_map<std::string, uint32_t>& ids, int& weighted_state,
                uint64_t& first_line) {
  const size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  std::string_view fields[4];
  int nf = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (nf < 4) fields[nf] = line.substr(i, j - i);
    ++nf;
    i = j;
  }
  if (nf == 0) return;
  DV_CHECK(nf == 2 || nf == 3, path << ":" << lineno << ": expected 'src dst [weight]', got " << nf
                                    << " field" << (nf == 1 ? "" : "s"));
  const int has_w = nf == 3 ? 1 : 0;
  if (weighted_state < 0) {
    weighted_state = has_w;
    first_line = lineno;
  }
  DV_CHECK(weighted_state == has_w,
           path << ":" << lineno << ": " << (has_w ? "a weight" : "no weight") << ", but line "
                << first_line << " has " << (has_w ? "none" : "one")
                << " (give every edge a weight, or none)");
  uint32_t id[2];
  for (int k = 0; k < 2; ++k) {
    std::string name(fields[k]);
    auto it = ids.find(name);
    if (it == ids.end()) {
      DV_CHECK(out.names.size() < 0xFFFFFFFEull, path << ":" << lineno << ": too many nodes");
      const uint32_t next = static_cast<uint32_t>(out.names.size());
      it = ids.emplace(name, next).first;
      out.names.push_back(std::move(name));
    }
    id[k] = it->second;
  }
  out.src.push_back(id[0]);
  out.dst.push_back(id[1]);
  if (has_w) {
    std::string text(fields[2]);
    char* end = nullptr;
    errno = 0;
    const double w = std::strtod(text.c_str(), &end);
    DV_CHECK(end != text.c_str() && *end == '\0',
             path << ":" << lineno << ": weight '" << text << "' is not a number");
    DV_CHECK(std::isfinite(w) && errno != ERANGE,
             path << ":" << lineno << ": weight '" << text << "' is not a finite number");
    DV_CHECK(w >= 0, path << ":" << lineno << ": negative weight " << text);
    out.weight.push_back(static_cast<float>(w));
  }
}

// Alias table of one row (weights w[0..d)), written into thr/idx (local indices).
void row_alias(const float* w, uint32_t d, uint32_t* thr, uint32_t* idx, std::vector<double>& scaled,
               std::vector<uint32_t>& small, std::vector<uint32_t>& large) {
  double total = 0;
  for (uint32_t i = 0; i < d; ++i) total += w[i];
  scaled.resize(d);
  small.clear();
  large.clear();
  for (uint32_t i = 0; i < d; ++i) {
    scaled[i] = static_cast<double>(w[i]) * d / total;
    thr[i] = 0xFFFFFFFFu;
    idx[i] = i;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    thr[s] = static_cast<uint32_t>(std::min(scaled[s] * 4294967296.0, 4294967295.0));
    idx[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
}

// One generator per walk: a hash of (seed, round, node, pass).
uint64_t walk_seed(uint64_t seed, uint64_t round, uint64_t node, uint64_t pass) {
  Rng r(seed ^ 0x6A09E667F3BCC909ull);
  uint64_t h = r.next() ^ (round * 0x9E3779B97F4A7C15ull);
  Rng r2(h);
  h = r2.next() ^ (node * 0xC2B2AE3D27D4EB4Full);
  Rng r3(h);
  h = r3.next() ^ (pass * 0x165667B19E3779F9ull);
  Rng r4(h);
  return r4.next();
}

double uniform01(Rng& rng) { return static_cast<double>(rng.next() >> 11) * (1.0 / 9007199254740992.0); }

// A first-order step from v: a neighbour slot, uniform or by weight.
inline uint64_t first_order_slot(const Graph& g, uint64_t begin, uint32_t d, Rng& rng) {
  const uint64_t r = rng.next();
  if (g.weights.empty()) return begin + static_cast<uint32_t>(((r >> 32) * d) >> 32);
  return begin + alias_draw(g.alias_threshold.data() + begin, g.alias_index.data() + begin, d, r);
}

}  // namespace

bool Graph::has_edge(uint32_t from, uint32_t to) const {
  const uint32_t* b = indices.data() + indptr[from];
  const uint32_t* e = indices.data() + indptr[from + 1];
  const uint32_t* it = std::lower_bound(b, e, to);
  return it != e && *it == to;
}

EdgeList read_edge_list(const std::string& path, const std::atomic<bool>& stop) {
  InputFile in(path);
  EdgeList out;
  std::unordered_map<std::string, uint32_t> ids;
  constexpr size_t kBlock = size_t(1) << 20;
  std::vector<char> buf(kBlock);
  std::string carry;
  uint64_t offset = 0, lineno = 0, first_line = 0;
  int weighted_state = -1;
  for (;;) {
    if (stop.load()) throw ValueError("interrupted");
    const size_t got = in.read_at(buf.data(), kBlock, offset);
    if (got == 0) break;
    offset += got;
    size_t start = 0;
    for (size_t i = 0; i < got; ++i) {
      if (buf[i] != '\n') continue;
      ++lineno;
      if (!carry.empty()) {
        carry.append(buf.data() + start, i - start);
        parse_line(carry, path, lineno, out, ids, weighted_state, first_line);
        carry.clear();
      } else {
        parse_line(std::string_view(buf.data() + start, i - start), path, lineno, out, ids,
                   weighted_state, first_line);
      }
      start = i + 1;
    }
    carry.append(buf.data() + start, got - start);
  }
  if (!carry.empty()) parse_line(carry, path, ++lineno, out, ids, weighted_state, first_line);
  return out;
}

Graph build_graph(uint32_t n, const uint32_t* src, const uint32_t* dst, const float* weight,
                  uint64_t m, bool directed, const std::string& what) {
  Graph g;
  g.n = n;
  g.directed = directed;
  std::vector<uint64_t> count(static_cast<size_t>(n) + 1, 0);
  for (uint64_t i = 0; i < m; ++i) {
    DV_CHECK(src[i] < n && dst[i] < n, what << ": edge " << i << " (" << src[i] << ", " << dst[i]
                                            << ") has a node id out of range (" << n << " nodes)");
    if (weight) {
      const float w = weight[i];
      DV_CHECK(std::isfinite(w), what << ": edge " << i << " has a weight that is not finite (" << w << ")");
      DV_CHECK(w >= 0, what << ": edge " << i << " has a negative weight (" << w << ")");
      if (w == 0) {
        ++g.zero_weight;
        continue;
      }
    }
    if (src[i] == dst[i]) {
      ++g.self_loops;
      continue;
    }
    ++count[src[i] + 1];
    if (!directed) ++count[dst[i] + 1];
  }
  for (uint32_t v = 0; v < n; ++v) count[v + 1] += count[v];
  const uint64_t slots = count[n];
  std::vector<uint32_t> nbr(slots);
  std::vector<float> wt(weight ? slots : 0);
  std::vector<uint64_t> fill(count.begin(), count.end() - 1);
  for (uint64_t i = 0; i < m; ++i) {
    if (src[i] == dst[i] || (weight && weight[i] == 0)) continue;
    const float w = weight ? weight[i] : 1.0f;
    uint64_t s = fill[src[i]]++;
    nbr[s] = dst[i];
    if (weight) wt[s] = w;
    if (!directed) {
      s = fill[dst[i]]++;
      nbr[s] = src[i];
      if (weight) wt[s] = w;
    }
  }
  // sort each row, merge repeats (largest weight), compact
  g.indptr.assign(static_cast<size_t>(n) + 1, 0);
  std::vector<std::pair<uint32_t, float>> row;
  uint64_t out = 0;
  for (uint32_t v = 0; v < n; ++v) {
    const uint64_t b = count[v], e = count[v + 1];
    row.clear();
    for (uint64_t s = b; s < e; ++s) row.emplace_back(nbr[s], weight ? wt[s] : 1.0f);
    std::sort(row.begin(), row.end());
    for (size_t k = 0; k < row.size(); ++k) {
      if (k > 0 && row[k].first == row[k - 1].first) {
        ++g.duplicates;
        if (weight) wt[out - 1] = std::max(wt[out - 1], row[k].second);
        continue;
      }
      nbr[out] = row[k].first;
      if (weight) wt[out] = row[k].second;
      ++out;
    }
    g.indptr[v + 1] = out;
  }
  if (!directed) g.duplicates /= 2;  // each undirected repeat was counted in both rows
  nbr.resize(out);
  nbr.shrink_to_fit();
  g.indices = std::move(nbr);
  if (weight) {
    wt.resize(out);
    wt.shrink_to_fit();
    g.weights = std::move(wt);
    g.alias_threshold.resize(out);
    g.alias_index.resize(out);
    std::vector<double> scaled;
    std::vector<uint32_t> small, large;
    for (uint32_t v = 0; v < n; ++v) {
      const uint64_t b = g.indptr[v];
      const uint32_t d = g.degree(v);
      if (d > 0)
        row_alias(g.weights.data() + b, d, g.alias_threshold.data() + b, g.alias_index.data() + b,
                  scaled, small, large);
    }
  }
  return g;
}

Walks random_walks(const Graph& g, const WalkConfig& cfg, std::atomic<uint64_t>& done,
                   const std::function<bool()>& poll) {
  DV_CHECK(cfg.walk_length >= 1, "walk_length must be positive");
  DV_CHECK(cfg.walks_per_node >= 1, "walks_per_node must be positive");
  DV_CHECK(cfg.p > 0 && cfg.q > 0 && std::isfinite(cfg.p) && std::isfinite(cfg.q),
           "p and q must be positive and finite");
  DV_CHECK(g.n > 0, "the graph has no nodes");
  const uint64_t n = g.n, L = cfg.walk_length, passes = cfg.walks_per_node;
  const uint64_t n_walks = n * passes;
  // the order in which each pass visits the nodes: a seeded shuffle
  std::vector<uint32_t> order(n_walks);
  for (uint64_t r = 0; r < passes; ++r) {
    uint32_t* o = order.data() + r * n;
    std::iota(o, o + n, 0u);
    Rng rng(walk_seed(cfg.seed, cfg.round, 0xFFFFFFFFFFFFull, r));
    for (uint64_t i = n - 1; i > 0; --i) {
      const uint64_t j = rng.next() % (i + 1);
      std::swap(o[i], o[j]);
    }
  }
  Walks out;
  out.ids.resize(n_walks * L);
  std::vector<uint32_t> lengths(n_walks);
  const bool second = !(cfg.p == 1.0 && cfg.q == 1.0);
  const double inv_p = 1.0 / cfg.p, inv_q = 1.0 / cfg.q;
  const double f_max = std::max({inv_p, 1.0, inv_q});
  const double f_min = std::min({inv_p, 1.0, inv_q});
  const double lo = f_min / f_max;  // below this a proposal is accepted without a look-up
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
  constexpr uint64_t kChunk = 256;
  auto work = [&](int) {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const uint64_t first = next.fetch_add(kChunk);
      if (first >= n_walks) return;
      const uint64_t last = std::min(first + kChunk, n_walks);
      for (uint64_t k = first; k < last; ++k) {
        const uint64_t r = k / n;
        const uint32_t start = order[k];
        Rng rng(walk_seed(cfg.seed, cfg.round, start, r));
        uint32_t* w = out.ids.data() + k * L;
        w[0] = start;
        uint32_t len = 1;
        while (len < L) {
          const uint32_t cur = w[len - 1];
          const uint64_t b = g.indptr[cur];
          const uint32_t d = static_cast<uint32_t>(g.indptr[cur + 1] - b);
          if (d == 0) break;
          uint32_t x;
          if (!second || len == 1) {
            x = g.indices[first_order_slot(g, b, d, rng)];
          } else {
            const uint32_t prev = w[len - 2];
            for (;;) {
              x = g.indices[first_order_slot(g, b, d, rng)];
              const double u = uniform01(rng);
              if (u < lo) break;
              const double f = x == prev ? inv_p : (g.has_edge(prev, x) ? 1.0 : inv_q);
              if (u * f_max < f) break;
            }
          }
          w[len++] = x;
        }
        lengths[k] = len;
      }
      done.fetch_add(last - first, std::memory_order_relaxed);
    }
  };
  run_parallel(cfg.threads, work, poll, stop);
  if (stop.load()) throw ValueError("interrupted");
  // compact the walks that stopped early (in place, front to back)
  out.offsets.resize(n_walks + 1);
  out.offsets[0] = 0;
  uint64_t pos = 0;
  for (uint64_t k = 0; k < n_walks; ++k) {
    const uint32_t len = lengths[k];
    if (pos != k * L) std::memmove(out.ids.data() + pos, out.ids.data() + k * L, len * sizeof(uint32_t));
    pos += len;
    out.offsets[k + 1] = pos;
  }
  if (pos != out.ids.size()) {
    out.ids.resize(pos);
    out.ids.shrink_to_fit();
  }
  return out;
}

}  // namespace dv
