#include "contrastive.h"

#include <algorithm>
#include <cmath>

#include "common.h"
#include "parallel.h"
#include "tokenizer.h"

namespace dv {

TokenTable::TokenTable(const uint8_t* blob, size_t blob_size, const int64_t* offsets, size_t n)
    : blob_(reinterpret_cast<const char*>(blob), blob_size), n_(n) {
  DV_CHECK(n < UINT32_MAX, "too many words for a token table: " << n);
  map_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t b = offsets[i], e = offsets[i + 1] - 1;
    DV_CHECK(b >= 0 && e >= b && static_cast<uint64_t>(offsets[i + 1]) <= blob_size,
             "vocabulary offsets out of order at word " << i);
    // the first row of a duplicated word wins (a store's words are unique)
    map_.emplace(std::string_view(blob_.data() + b, static_cast<size_t>(e - b)),
                 static_cast<uint32_t>(i));
  }
}

template <class F>
uint64_t Texts::for_each_row(const TokenTable& table, size_t i, F&& on_row) const {
  const Text& t = texts[i];
  uint64_t n = 0;
  if (t.split) {
    for (uint64_t s = t.begin; s < t.end; ++s, ++n) {
      const int64_t r = table.find(std::string_view(bytes.data() + spans[s].first, spans[s].second));
      if (r >= 0) on_row(static_cast<uint32_t>(r));
    }
    return n;
  }
  const char* p = bytes.data() + t.begin;
  const char* const e = bytes.data() + t.end;
  while (p < e) {
    if (is_separator(static_cast<unsigned char>(*p))) {
      ++p;
      continue;
    }
    const char* q = find_separator(p + 1, e);
    ++n;
    const int64_t r = table.find(std::string_view(p, static_cast<size_t>(q - p)));
    if (r >= 0) on_row(static_cast<uint32_t>(r));
    p = q;
  }
  return n;
}

namespace {

// v /= |v| unless v is zero; returns |v|.
float unit_in_place(float* v, size_t d, const simd::Kernels& k) {
  const float norm = std::sqrt(k.dot_f32(v, v, d));
  if (norm > 0) {
    const float inv = 1.0f / norm;
    for (size_t j = 0; j < d; ++j) v[j] *= inv;
  }
  return norm;
}

}  // namespace

EncodeStats encode_texts(const Texts& texts, const TokenTable& table, const float* vectors,
                         size_t dim, const EncodeOptions& opt, float* out,
                         const simd::Kernels& k, std::atomic<bool>& stop,
                         const std::function<bool()>& poll) {
  const size_t n = texts.size();
  const int threads = static_cast<int>(std::max<size_t>(1, std::min<size_t>(opt.threads, n)));
  std::vector<EncodeStats> per(threads);
  run_parallel(threads, [&](int t) {
    const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
    EncodeStats& st = per[t];
    std::vector<float*> rows;  // a text's known rows, in order
    std::vector<float> coef;   // ... and their weights (SIF); none: 1 for every row
    const float one = 1.0f;
    for (size_t i = lo; i < hi; ++i) {
      if ((i & 1023) == 0 && stop.load(std::memory_order_relaxed)) return;
      float* v = out + i * dim;
      rows.clear();
      coef.clear();
      st.tokens += texts.for_each_row(table, i, [&](uint32_t r) {
        rows.push_back(const_cast<float*>(vectors) + size_t(r) * dim);
        if (opt.weights) coef.push_back(opt.weights[r]);
      });
      const uint64_t known = rows.size();
      st.known += known;
      if (known == 0) {
        std::fill(v, v + dim, 0.0f);
        ++st.empty;
        continue;
      }
      // the weighted sum in registers: an axpy per row into a zeroed v, same order
      k.combo_f32(rows.data(), opt.weights ? coef.data() : &one, static_cast<int>(known), v, dim, false,
                  opt.weights ? 1 : 0);
      const float inv = 1.0f / static_cast<float>(known);
      for (size_t j = 0; j < dim; ++j) v[j] *= inv;
      if (opt.component) k.axpy_f32(-k.dot_f32(v, opt.component, dim), opt.component, v, dim);
      if (opt.normalize) unit_in_place(v, dim, k);
    }
  }, poll, stop);
  EncodeStats all;
  for (const EncodeStats& s : per) all.add(s);
  return all;
}

EncodeStats texts_to_ids(const Texts& texts, const TokenTable& table, std::vector<uint32_t>& ids,
                         std::vector<uint64_t>& offsets) {
  EncodeStats st;
  offsets.assign(1, 0);
  offsets.reserve(texts.size() + 1);
  for (size_t i = 0; i < texts.size(); ++i) {
    const size_t before = ids.size();
    st.tokens += texts.for_each_row(table, i, [&](uint32_t r) { ids.push_back(r); });
    if (ids.size() == before) ++st.empty;
    offsets.push_back(ids.size());
  }
  st.known = ids.size();
  return st;
}

namespace {

// Per-thread buffers of one batch.
struct BatchWork {
  std::vector<float> unit, grad;      // (B + B [+ B]) x d: unit text vectors, their gradients
  std::vector<float> norm;            // per text vector: its length before normalising
  std::vector<float> logits;          // B x m
  std::vector<int32_t> slot;          // row -> index in `touched`, or -1
  std::vector<uint32_t> touched;      // rows updated by the batch
  std::vector<float> acc;             // touched x d: their gradients
  std::vector<float*> rows;           // row pointers of one sum (combo's argument)
};

// Mean of the rows of text i (into v, summed in registers by one combo; `rows`
// is scratch); returns its length after normalising v.
float mean_unit(const IdTexts& side, size_t i, const float* w, size_t d, float* v,
                std::vector<float*>& rows, const simd::Kernels& k) {
  const uint64_t b = side.offsets[i], e = side.offsets[i + 1];
  rows.clear();
  for (uint64_t p = b; p < e; ++p) rows.push_back(const_cast<float*>(w) + size_t(side.ids[p]) * d);
  const float one = 1.0f;
  k.combo_f32(rows.data(), &one, static_cast<int>(rows.size()), v, d, false, 0);
  const float inv = 1.0f / static_cast<float>(e - b);
  for (size_t j = 0; j < d; ++j) v[j] *= inv;
  return unit_in_place(v, d, k);
}

// InfoNCE of `nq` queries q (unit rows) against `nc` candidates c (unit rows),
// query i's positive being candidate i. Adds scale * dL/dq to gq and
// scale * dL/dc to gc, where L is the mean over queries of
// -log softmax_j(<q_i, c_j> / tau)[i]; returns L.
double info_nce(const float* q, size_t nq, const float* c, size_t nc, size_t d, float tau,
                float scale, float* gq, float* gc, std::vector<float>& logits,
                std::vector<float*>& cand, const simd::Kernels& k) {
  logits.resize(nq * nc);
  cand.resize(nc);  // the candidates' rows, for combo
  for (size_t j = 0; j < nc; ++j) cand[j] = const_cast<float*>(c) + j * d;
  double loss = 0;
  const float inv_tau = 1.0f / tau;
  for (size_t i = 0; i < nq; ++i) {
    float* s = logits.data() + i * nc;
    float mx = -INFINITY;
    for (size_t j = 0; j < nc; ++j) {
      s[j] = k.dot_f32(q + i * d, c + j * d, d) * inv_tau;
      mx = std::max(mx, s[j]);
    }
    double z = 0;
    for (size_t j = 0; j < nc; ++j) z += std::exp(static_cast<double>(s[j] - mx));
    loss += std::log(z) + mx - s[i];
    // dL/ds_ij = (softmax_ij - [i == j]) / nq; times 1/tau for the dot products
    const float f = scale * inv_tau / static_cast<float>(nq);
    for (size_t j = 0; j < nc; ++j) {  // s becomes the row's gradient scales
      float g = static_cast<float>(std::exp(static_cast<double>(s[j] - mx)) / z);
      if (j == i) g -= 1.0f;
      s[j] = g * f;
    }
    // gq_i += sum_j s_j c_j in registers (an axpy per j, same order); gc_j += s_j q_i
    k.combo_f32(cand.data(), s, static_cast<int>(nc), gq + i * d, d, true, 1);
    for (size_t j = 0; j < nc; ++j) k.axpy_f32(s[j], q + i * d, gc + j * d, d);
  }
  return loss / static_cast<double>(nq);
}

// Gradient with respect to the unnormalised vector x = |x| u of a gradient g
// with respect to u: (g - (g . u) u) / |x|, in place.
void through_normalisation(float* g, const float* u, float norm, size_t d,
                           const simd::Kernels& k) {
  if (!(norm > 0)) {
    std::fill(g, g + d, 0.0f);
    return;
  }
  k.axpy_f32(-k.dot_f32(g, u, d), u, g, d);
  const float inv = 1.0f / norm;
  for (size_t j = 0; j < d; ++j) g[j] *= inv;
}

// Adds g / len to the accumulated gradient of every row of text i.
void scatter(const IdTexts& side, size_t i, const float* g, size_t d, BatchWork& bw,
             const simd::Kernels& k) {
  const uint64_t b = side.offsets[i], e = side.offsets[i + 1];
  const float inv = 1.0f / static_cast<float>(e - b);
  for (uint64_t p = b; p < e; ++p) {
    const uint32_t r = side.ids[p];
    int32_t s = bw.slot[r];
    if (s < 0) {
      s = bw.slot[r] = static_cast<int32_t>(bw.touched.size());
      bw.touched.push_back(r);
      bw.acc.resize(bw.touched.size() * d, 0.0f);
    }
    k.axpy_f32(inv, g, bw.acc.data() + size_t(s) * d, d);
  }
}

// Sparse AdaGrad on the rows the batch touched; clears the batch's buffers.
void apply_adagrad(ContrastiveModel& m, float lr, BatchWork& bw) {
  const size_t d = m.dim;
  for (size_t s = 0; s < bw.touched.size(); ++s) {
    const uint32_t r = bw.touched[s];
    bw.slot[r] = -1;
    const float lock = m.lock ? m.lock[r] : 1.0f;
    if (lock == 0.0f) continue;
    float* w = m.weights + size_t(r) * d;
    float* h = m.adagrad + size_t(r) * d;
    const float* g = bw.acc.data() + s * d;
    for (size_t j = 0; j < d; ++j) {
      h[j] += g[j] * g[j];
      w[j] -= lock * lr * g[j] / (std::sqrt(h[j]) + 1e-10f);
    }
  }
  bw.touched.clear();
  bw.acc.clear();
}

}  // namespace

ContrastiveStats contrastive_epoch(const ContrastiveConfig& cfg, ContrastiveModel& model,
                                   const IdTexts& anchors, const IdTexts& positives,
                                   const IdTexts* negatives, const uint32_t* order, size_t n,
                                   const simd::Kernels& k, std::atomic<uint64_t>& progress,
                                   std::atomic<bool>& stop, const std::function<bool()>& poll) {
  const size_t B = static_cast<size_t>(cfg.batch_size), d = model.dim;
  const size_t n_batches = (n + B - 1) / B;
  const int threads = static_cast<int>(std::max<size_t>(1, std::min<size_t>(cfg.threads, n_batches)));
  std::atomic<size_t> next{0};
  std::vector<ContrastiveStats> per(threads);
  run_parallel(threads, [&](int t) {
    BatchWork bw;
    bw.slot.assign(model.rows, -1);
    const size_t sides = negatives ? 3 : 2;
    bw.unit.resize(sides * B * d);
    bw.grad.resize(sides * B * d);
    bw.norm.resize(sides * B);
    ContrastiveStats& st = per[t];
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const size_t b = next.fetch_add(1);
      if (b >= n_batches) return;
      const uint32_t* pairs = order + b * B;
      const size_t nb = std::min(B, n - b * B);
      const IdTexts* side_of[3] = {&anchors, &positives, negatives};
      for (size_t s = 0; s < sides; ++s)
        for (size_t i = 0; i < nb; ++i) {
          const size_t row = s * nb + i;  // anchors, then positives, then negatives
          bw.norm[row] = mean_unit(*side_of[s], pairs[i], model.weights, d, bw.unit.data() + row * d, bw.rows, k);
        }
      float* ua = bw.unit.data();
      float* up = ua + nb * d;
      float* ga = bw.grad.data();
      float* gp = ga + nb * d;
      std::fill(ga, ga + sides * nb * d, 0.0f);
      const float half = cfg.symmetric ? 0.5f : 1.0f;
      // anchors against positives (and negatives, which follow them)
      double loss = half * info_nce(ua, nb, up, (sides - 1) * nb, d, cfg.temperature, half, ga, gp,
                                    bw.logits, bw.rows, k);
      if (cfg.symmetric)  // positives against anchors
        loss += half * info_nce(up, nb, ua, nb, d, cfg.temperature, half, gp, ga, bw.logits, bw.rows, k);
      if (!std::isfinite(loss)) {
        st.diverged = true;
        stop.store(true);
        return;
      }
      for (size_t s = 0; s < sides; ++s)
        for (size_t i = 0; i < nb; ++i) {
          const size_t row = s * nb + i;
          float* g = bw.grad.data() + row * d;
          through_normalisation(g, bw.unit.data() + row * d, bw.norm[row], d, k);
          scatter(*side_of[s], pairs[i], g, d, bw, k);
        }
      apply_adagrad(model, cfg.learning_rate, bw);
      st.loss += loss;
      st.batches += 1;
      st.pairs += nb;
      progress.fetch_add(nb, std::memory_order_relaxed);
    }
  }, poll, stop);
  ContrastiveStats all;
  for (const ContrastiveStats& s : per) all.add(s);
  return all;
}

}  // namespace dv
