// word2vec window updates, written once over an ISA's primitive operations.
// Included by each kernels_<isa>.cpp with its own `Ops`:
//   dot(a, b, n)                      -> float
//   dot_many(x, rows, k, out, n)      out[i] = dot(x, rows[i])
//   combo(rows, coef, k, out, n, acc[, step])
//                                     out (+)= sum_i coef[i * step] * rows[i]
//   axpy(a, x, y, n)                  y += a * x
#pragma once
#include <algorithm>
#include <cmath>

#include "simd/kernels.h"

namespace dv::simd {

// sigmoid(x) from the table (interpolated); saturates outside it, NaN for NaN.
inline float table_sigmoid(const SigmoidTable& t, float x) {
  constexpr float scale = SigmoidTable::kSize / (2 * SigmoidTable::kMax);
  if (x > -SigmoidTable::kMax && x < SigmoidTable::kMax) {
    float pos = (x + SigmoidTable::kMax) * scale;
    int i = static_cast<int>(pos);
    float f = pos - static_cast<float>(i);
    return t.sig[i] + f * (t.sig[i + 1] - t.sig[i]);
  }
  if (x >= SigmoidTable::kMax) return 1.0f;
  if (x <= -SigmoidTable::kMax) return 0.0f;
  return x;  // NaN
}

// sigmoid(x) and -log sigmoid(label ? x : -x). The table is read only for
// -kMax < x < kMax (a test that NaN fails): outside it the sigmoid saturates,
// the loss is computed (to float precision), +-inf give exact limits (a loss
// of 0 or +inf), and NaN gives a NaN sigmoid and a NaN loss, which the trainer
// reads as divergence.
inline float sigmoid_and_loss(const SigmoidTable& t, float x, float label, double* loss) {
  constexpr float scale = SigmoidTable::kSize / (2 * SigmoidTable::kMax);
  float z = label > 0.5f ? x : -x;  // loss = -log sigmoid(z)
  if (z > -SigmoidTable::kMax && z < SigmoidTable::kMax) {
    float pos = (z + SigmoidTable::kMax) * scale;
    // z just below kMax can round pos up to kSize: the table has a spare entry
    int i = static_cast<int>(pos);
    float f = pos - static_cast<float>(i);
    *loss -= t.logsig[i] + f * (t.logsig[i + 1] - t.logsig[i]);
  } else {
    // |z| >= kMax (or NaN): log1p(e) with e = exp(-|z|) <= exp(-8) is
    // e - e^2/2 to within e^3/3, below float precision relative to the sum, so
    // one float exp serves (node2vec saturates many logits: the double exp and
    // log1p took about 3% of its training). +-inf give 0 / +inf, NaN gives NaN.
    const float e = std::exp(-std::fabs(z));
    const double tail = static_cast<double>(e - 0.5f * e * e);
    *loss += z >= SigmoidTable::kMax ? tail : tail - static_cast<double>(z);
  }
  return table_sigmoid(t, x);
}

// Skip-gram with its own output rows per input (W2VWindow::out_stride > 0):
// word2vec.c's fresh negatives for every context word, and its order: each
// context word's outputs are updated before the next context word reads
// them. The input rows take their gradients at the end of the window.
template <class Ops>
double sg_window_own_outputs(const W2VWindow& w) {
  const int ni = w.n_in, no = w.n_out;
  const size_t d = w.dim, stride = static_cast<size_t>(w.out_stride);
  float* grad = w.scratch;              // ni x d: accumulated input gradients
  float* g = grad + size_t(ni) * d;     // no: scaled errors of one input
  double loss = 0;
  for (int c = 0; c < ni; ++c) {
    // The noise rows are random rows of a large matrix: fetch those of the
    // input kPrefetchAhead later while this one trains (its slot 0 is the
    // centre, already cached; the policy fetched the first inputs' rows).
    if (c + W2VWindow::kPrefetchAhead < ni)
      for (int o = 1; o < no; ++o) prefetch_floats(w.out_rows[(c + W2VWindow::kPrefetchAhead) * stride + o], d);
    const float* lab = w.labels + c * stride;
    float* const* rows = w.out_rows + c * stride;
    const float* in = w.in_rows[c];
    Ops::dot_many(in, rows, no, g, d);
    for (int o = 0; o < no; ++o)
      g[o] = lab[o] < 0.0f ? 0.0f : (lab[o] - sigmoid_and_loss(*w.sig, g[o], lab[o], &loss)) * w.alpha;
    Ops::combo(rows, g, no, grad + size_t(c) * d, d, false);
    const float* ol = w.out_lock ? w.out_lock + c * stride : nullptr;
    for (int o = 0; o < no; ++o)
      if (g[o] != 0.0f) Ops::axpy(ol ? g[o] * ol[o] : g[o], in, rows[o], d);
  }
  for (int c = 0; c < ni; ++c) {
    const float lock = w.in_lock ? w.in_lock[c] : 1.0f;
    if (lock != 0.0f) Ops::axpy(lock, grad + size_t(c) * d, w.in_rows[c], d);
  }
  return loss;
}

template <class Ops>
double sg_window_impl(const W2VWindow& w) {
  if (w.out_stride > 0) return sg_window_own_outputs<Ops>(w);
  const int ni = w.n_in, no = w.n_out;
  const size_t d = w.dim;
  float* grad = w.scratch;              // ni x d: accumulated input gradients
  float* g = grad + size_t(ni) * d;     // ni x no: scaled errors
  float* col = g + size_t(ni) * no;     // no: one column of g, then of logits
  double loss = 0;
  for (int c = 0; c < ni; ++c) {
    float* gc = g + size_t(c) * no;
    Ops::dot_many(w.in_rows[c], w.out_rows, no, gc, d);
    for (int o = 0; o < no; ++o)
      gc[o] = (w.labels[o] - sigmoid_and_loss(*w.sig, gc[o], w.labels[o], &loss)) * w.alpha;
  }
  for (int c = 0; c < ni; ++c)
    Ops::combo(w.out_rows, g + size_t(c) * no, no, grad + size_t(c) * d, d, false);
  for (int o = 0; o < no; ++o) {
    for (int c = 0; c < ni; ++c) col[c] = g[size_t(c) * no + o];
    if (w.out_lock)
      for (int c = 0; c < ni; ++c) col[c] *= w.out_lock[o];
    Ops::combo(w.in_rows, col, ni, w.out_rows[o], d, true);
  }
  if (!w.in_lock) {  // nothing frozen: every input row takes its gradient
    for (int c = 0; c < ni; ++c) Ops::axpy(1.0f, grad + size_t(c) * d, w.in_rows[c], d);
    return loss;
  }
  for (int c = 0; c < ni; ++c)
    if (w.in_lock[c] != 0.0f) Ops::axpy(w.in_lock[c], grad + size_t(c) * d, w.in_rows[c], d);
  return loss;
}

template <class Ops>
double cbow_window_impl(const W2VWindow& w, bool mean) {
  const int ni = w.n_in, no = w.n_out;
  const size_t d = w.dim;
  float* h = w.scratch;   // d: mean (or sum) of the inputs
  float* e = h + d;       // d: gradient for every input
  float* gs = e + d;      // no: logits, then scaled errors
  double loss = 0;
  // h = coef * sum(inputs): one combo with a repeated coefficient (the
  // multiply-adds of an axpy per input into a zeroed h, summed in registers)
  const float coef = mean ? 1.0f / static_cast<float>(ni) : 1.0f;
  Ops::combo(w.in_rows, &coef, ni, h, d, false, 0);
  Ops::dot_many(h, w.out_rows, no, gs, d);
  for (int o = 0; o < no; ++o)
    gs[o] = (w.labels[o] - sigmoid_and_loss(*w.sig, gs[o], w.labels[o], &loss)) * w.alpha;
  Ops::combo(w.out_rows, gs, no, e, d, false);
  for (int o = 0; o < no; ++o) Ops::axpy(w.out_lock ? gs[o] * w.out_lock[o] : gs[o], h, w.out_rows[o], d);
  for (int c = 0; c < ni; ++c) {
    const float lock = w.in_lock ? w.in_lock[c] : 1.0f;
    if (lock != 0.0f) Ops::axpy(lock, e, w.in_rows[c], d);
  }
  return loss;
}

// Doc2Vec inference (D2VInferWindow): the dots of all outputs in one pass
// over x, the gradient scales, then one pass that adds every output's share to
// vec.
template <class Ops>
void d2v_infer_window_impl(const D2VInferWindow& w) {
  const size_t d = w.dim;
  float* g = w.scratch;  // n_out: logits, then scaled errors
  const float* x = w.vec;
  if (w.n_in > 0) {
    float* h = g + w.n_out;  // d: the mean of the inputs
    const float coef = 1.0f / static_cast<float>(w.n_in);
    Ops::combo(w.in_rows, &coef, w.n_in, h, d, false, 0);
    x = h;
  }
  Ops::dot_many(x, w.out_rows, w.n_out, g, d);
  for (int o = 0; o < w.n_out; ++o) g[o] = (w.labels[o] - table_sigmoid(*w.sig, g[o])) * w.alpha;
  Ops::combo(w.out_rows, g, w.n_out, w.vec, d, true);
}

}  // namespace dv::simd
