// pybind11 glue only: argument checks, GIL release, numpy buffers, progress
// callbacks. All work happens in the other files.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "cooccur.h"
#include "doc2vec.h"
#include "corpus.h"
#include "fasttext.h"
#include "glove.h"
#include "parallel.h"
#include "phrases.h"
#include "py_poller.h"
#include "sampling.h"
#include "search.h"
#include "simd/kernels.h"
#include "simd/w2v_impl.h"
#include "word2vec.h"

namespace py = pybind11;
using dv::ValueError;

void bind_contrastive(py::module_& m);  // csrc/contrastive_bind.cpp
void bind_dist(py::module_& m);  // csrc/dist.cpp

namespace {

using dv::pybind::Poller;

const char* dtype_name(const py::dtype& dt) {
  static std::string s;
  s = py::str(dt).cast<std::string>();
  return s.c_str();
}

// Checks dtype, dimensionality and C-contiguity of an array argument.
template <class T>
void check_array(const py::array& a, const char* name, int ndim) {
  DV_CHECK(a.dtype().is(py::dtype::of<T>()), name << " must have dtype "
                                                 << dtype_name(py::dtype::of<T>()) << ", got "
                                                 << dtype_name(a.dtype()));
  DV_CHECK(a.ndim() == ndim, name << " must be " << ndim << "-dimensional, got " << a.ndim());
  DV_CHECK(a.flags() & py::array::c_style, name << " must be C-contiguous");
}

template <class T>
const T* in_data(const py::array& a, const char* name, int ndim = 1) {
  check_array<T>(a, name, ndim);
  return static_cast<const T*>(a.data());
}

// Optional float32 array of n entries (one per row, or per slot), nullptr for
// None; `keep` holds the reference.
const float* per_row(const py::object& obj, size_t n, const char* name, py::array& keep, int ndim = 1) {
  if (obj.is_none()) return nullptr;
  keep = obj.cast<py::array>();
  const float* p = in_data<float>(keep, name, ndim);
  DV_CHECK(static_cast<size_t>(keep.size()) == n,
           name << " must have one entry per row (" << n << "), got " << keep.size());
  return p;
}

template <class T>
T* out_data(py::array& a, const char* name, int ndim) {
  check_array<T>(a, name, ndim);
  DV_CHECK(a.writeable(), name << " must be writeable");
  return static_cast<T*>(a.mutable_data());
}

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(heap->size()), heap->data(), owner);
}


dv::ScanOptions scan_options(uint64_t max_token_bytes, uint64_t range_bytes, int threads) {
  DV_CHECK(max_token_bytes > 0, "max_token_bytes must be positive");
  DV_CHECK(range_bytes > 0, "range_bytes must be positive");
  dv::ScanOptions opt;
  opt.max_token_bytes = max_token_bytes;
  opt.range_bytes = range_bytes;
  opt.threads = threads;
  return opt;
}

py::dict build_corpus(const std::vector<std::string>& paths, uint64_t min_count,
                      uint64_t max_vocab, uint64_t max_sentence_length, uint64_t max_token_bytes,
                      uint64_t range_bytes, int threads, const std::string& tmp_dir,
                      const std::string& ids_path, const std::string& offsets_path,
                      py::object progress) {
  dv::ScanOptions opt = scan_options(max_token_bytes, range_bytes, threads);
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> stop{false};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(bytes.load()); });
  dv::CorpusResult r;
  {
    py::gil_scoped_release release;
    r = dv::build_corpus(paths, min_count, max_vocab, max_sentence_length, opt, tmp_dir, ids_path,
                         offsets_path, bytes, stop, poll);
  }
  poller.rethrow();
  py::list words;
  for (const auto& w : r.vocab.words) words.append(py::str(w));
  py::dict out;
  out["words"] = words;
  out["counts"] = to_numpy(std::move(r.vocab.counts));
  out["raw_tokens"] = r.vocab.raw_tokens;
  out["distinct_words"] = r.vocab.distinct_words;
  out["invalid_utf8"] = r.stats.invalid_utf8;
  out["too_long"] = r.stats.too_long;
  out["bytes"] = r.stats.bytes;
  out["n_tokens"] = r.n_tokens;
  out["n_sentences"] = r.n_sentences;
  return out;
}

void validate_stream_files(const std::string& ids_path, const std::string& offsets_path,
                           uint64_t vocab_size) {
  py::gil_scoped_release release;
  dv::validate_stream_files(ids_path, offsets_path, vocab_size);
}

std::shared_ptr<dv::NoiseSampler> make_noise_sampler(const py::array& weights) {
  const double* w = in_data<double>(weights, "weights");
  return std::make_shared<dv::NoiseSampler>(std::vector<double>(w, w + weights.size()));
}

std::shared_ptr<dv::HuffmanTree> make_huffman_tree(const py::array& counts) {
  const uint64_t* c = in_data<uint64_t>(counts, "counts");
  return std::make_shared<dv::HuffmanTree>(std::vector<uint64_t>(c, c + counts.size()));
}

template <class T>
py::array_t<T> copy_to_numpy(const std::vector<T>& v) {
  return to_numpy(std::vector<T>(v));
}

const dv::simd::Kernels& kernels_arg(const std::string& isa) {
  return isa.empty() ? dv::simd::active_kernels() : dv::simd::kernels_for(isa);
}

// One pass of a Hogwild window trainer (word2vec, Doc2Vec) with the GIL
// released: train(prog, poll) runs it, publishing the words read and the
// learning rate in `prog`, which `poll` reports to the Python callback
// `progress` (Ctrl-C stops the workers and surfaces as KeyboardInterrupt);
// its statistics as a dict.
template <class Train>
py::dict train_pass(py::object progress, Train train) {
  dv::W2VProgress prog;
  Poller poller(std::move(progress));
  const std::function<bool()> poll =
      poller.make([&](py::object& cb) { cb(prog.words.load(), prog.alpha.load()); });
  const dv::W2VStats st = poller.call([&] { return train(prog, poll); });
  poller.rethrow();
  py::dict out;
  out["words"] = st.words;
  out["trained_words"] = st.trained_words;
  out["predictions"] = st.predictions;
  out["loss"] = st.loss;
  out["diverged"] = st.diverged;
  return out;
}

// The id stream was validated when its Corpus was built or opened; here only
// the sizes of what is passed are checked (constant time).
py::dict train_word2vec(const dv::W2VConfig& config, py::array win, py::array wout,
                        const py::array& ids, const py::array& offsets, uint64_t sent_begin,
                        uint64_t sent_end, py::object keep_prob, py::object noise, py::object tree,
                        py::object lock, py::object id_map, py::object progress,
                        const std::string& isa, py::object ngrams, py::object subword_offsets,
                        py::object subword_ids, py::object out_lock) {
  dv::W2VConfig cfg = config;
  DV_CHECK(cfg.window > 0, "window must be positive, got " << cfg.window);
  DV_CHECK(cfg.negative >= 0, "negative must be >= 0, got " << cfg.negative);
  DV_CHECK(cfg.hs || cfg.negative > 0, "negative must be positive with negative sampling");
  DV_CHECK(cfg.alpha_begin > 0 && cfg.alpha_end >= 0, "learning rates must be positive");

  dv::W2VModel model;
  model.win = out_data<float>(win, "win", 2);
  model.wout = out_data<float>(wout, "wout", 2);
  model.rows = static_cast<uint64_t>(win.shape(0));
  cfg.dim = static_cast<size_t>(win.shape(1));
  DV_CHECK(cfg.dim > 0, "win has zero columns");
  DV_CHECK(static_cast<size_t>(wout.shape(1)) == cfg.dim, "win and wout differ in dim");
  DV_CHECK(model.rows > 0, "win has zero rows");
  const uint64_t out_rows = static_cast<uint64_t>(wout.shape(0));
  py::array kp, lk, olk, im;
  model.keep_prob = per_row(keep_prob, model.rows, "keep_prob", kp);
  model.lock = per_row(lock, model.rows, "lock", lk);
  model.out_lock = per_row(out_lock, out_rows, "out_lock", olk);
  std::shared_ptr<dv::HuffmanTree> tree_ptr;
  std::shared_ptr<dv::NoiseSampler> noise_ptr;
  if (cfg.hs) {
    DV_CHECK(!tree.is_none(), "hierarchical softmax needs a HuffmanTree");
    tree_ptr = tree.cast<std::shared_ptr<dv::HuffmanTree>>();
    DV_CHECK(tree_ptr->size() == model.rows, "the Huffman tree has " << tree_ptr->size()
                                                 << " words, win has " << model.rows << " rows");
    DV_CHECK(out_rows == tree_ptr->inner_nodes(), "wout must have one row per inner node of the tree");
    model.tree = tree_ptr.get();
  } else {
    DV_CHECK(!noise.is_none(), "negative sampling needs a NoiseSampler");
    noise_ptr = noise.cast<std::shared_ptr<dv::NoiseSampler>>();
    DV_CHECK(noise_ptr->size() == model.rows, "the noise sampler has " << noise_ptr->size()
                                                  << " words, win has " << model.rows << " rows");
    DV_CHECK(out_rows == model.rows, "wout must have one row per word with negative sampling");
    model.noise = noise_ptr.get();
  }

  dv::W2VStream stream;
  stream.ids = in_data<uint32_t>(ids, "ids");
  stream.offsets = in_data<uint64_t>(offsets, "offsets");
  const uint64_t n_off = static_cast<uint64_t>(offsets.size());
  DV_CHECK(sent_begin <= sent_end && sent_end + 1 <= n_off,
           "sentence range [" << sent_begin << ", " << sent_end << ") out of bounds");
  DV_CHECK(stream.offsets[sent_end] <= static_cast<uint64_t>(ids.size()),
           "offsets refer past the ids");
  stream.sent_begin = sent_begin;
  stream.sent_end = sent_end;
  if (!id_map.is_none()) {
    im = id_map.cast<py::array>();
    stream.id_map = in_data<uint32_t>(im, "id_map");
    const uint64_t n = static_cast<uint64_t>(im.size());
    for (uint64_t i = 0; i < n; ++i)
      DV_CHECK(stream.id_map[i] < model.rows || stream.id_map[i] == dv::W2VStream::kNoRow,
               "id_map refers past the rows of win");
  }
  // fastText: the n-gram matrix and each row's n-gram ids (validated here, in
  // linear time, since a bad id would write outside the matrix)
  dv::SubwordBags bags;
  py::array ng, so, si;
  if (!ngrams.is_none()) {
    ng = ngrams.cast<py::array>();
    so = subword_offsets.cast<py::array>();
    si = subword_ids.cast<py::array>();
    bags.rows = out_data<float>(ng, "ngrams", 2);
    bags.n_rows = static_cast<uint64_t>(ng.shape(0));
    DV_CHECK(static_cast<size_t>(ng.shape(1)) == cfg.dim, "win and ngrams differ in dim");
    bags.offsets = in_data<uint64_t>(so, "subword_offsets");
    bags.ids = in_data<uint32_t>(si, "subword_ids");
    DV_CHECK(static_cast<uint64_t>(so.size()) == model.rows + 1,
             "subword_offsets must have one entry per row of win, plus one");
    DV_CHECK(bags.offsets[0] == 0 && bags.offsets[model.rows] == static_cast<uint64_t>(si.size()),
             "subword_offsets must run from 0 to len(subword_ids)");
    for (uint64_t i = 0; i < model.rows; ++i)
      DV_CHECK(bags.offsets[i] <= bags.offsets[i + 1], "subword_offsets must not decrease");
    for (uint64_t i = 0; i < static_cast<uint64_t>(si.size()); ++i)
      DV_CHECK(bags.ids[i] < bags.n_rows, "subword_ids refer past the rows of ngrams");
    model.bags = &bags;
  }
  const dv::simd::Kernels& k = kernels_arg(isa);

  return train_pass(std::move(progress), [&](dv::W2VProgress& prog, const std::function<bool()>& poll) {
    return dv::train_word2vec(cfg, model, stream, k, prog, poll);
  });
}

// One window update on explicit rows, for testing kernels against references.
double w2v_window(py::array win, py::array wout, const py::array& in_ids,
                  const py::array& out_ids, const py::array& labels, float alpha,
                  bool skipgram, bool cbow_mean, const std::string& isa, py::object in_lock,
                  py::object out_lock) {
  float* wi = out_data<float>(win, "win", 2);
  float* wo = out_data<float>(wout, "wout", 2);
  const size_t d = static_cast<size_t>(win.shape(1));
  DV_CHECK(static_cast<size_t>(wout.shape(1)) == d, "win and wout differ in dim");
  const uint32_t* ii = in_data<uint32_t>(in_ids, "in_ids");
  // out_ids of shape (n_in, n_out): every input predicts its own rows (sg)
  const bool own = out_ids.ndim() == 2;
  const uint32_t* oi = in_data<uint32_t>(out_ids, "out_ids", own ? 2 : 1);
  const float* lab = in_data<float>(labels, "labels", own ? 2 : 1);
  const int ni = static_cast<int>(in_ids.size());
  DV_CHECK(!own || (skipgram && out_ids.shape(0) == ni), "2-d out_ids need skipgram and one row per input");
  const int no = static_cast<int>(own ? out_ids.shape(1) : out_ids.size());
  DV_CHECK(ni > 0 && no > 0, "need at least one input and one output row");
  DV_CHECK(labels.size() == out_ids.size(), "one label per output row");
  std::vector<float*> ir(ni), orow(out_ids.size());
  for (int c = 0; c < ni; ++c) {
    DV_CHECK(ii[c] < static_cast<uint64_t>(win.shape(0)), "in_ids out of range");
    ir[c] = wi + size_t(ii[c]) * d;
  }
  for (size_t o = 0; o < orow.size(); ++o) {
    DV_CHECK(oi[o] < static_cast<uint64_t>(wout.shape(0)), "out_ids out of range");
    orow[o] = wo + size_t(oi[o]) * d;
  }
  std::vector<float> scratch(size_t(ni) * d + size_t(ni) * no + std::max(ni, no) + 2 * d);
  dv::simd::W2VWindow w{ir.data(), ni, orow.data(), lab, no, d, alpha, scratch.data(),
                        &dv::simd::sigmoid_table()};
  if (own) w.out_stride = no;
  py::array lk, olk;
  w.in_lock = per_row(in_lock, static_cast<size_t>(in_ids.size()), "in_lock", lk);
  w.out_lock = per_row(out_lock, static_cast<size_t>(out_ids.size()), "out_lock", olk, own ? 2 : 1);
  const dv::simd::Kernels& k = kernels_arg(isa);
  return skipgram ? k.sg_window(w) : k.cbow_window(w, cbow_mean);
}

// One Doc2Vec inference window (D2VInferWindow) on explicit rows, vec updated
// in place. PV-DBOW (dm false): x is vec. PV-DM: x is the mean of the rows
// in_ids of win and of vec itself, as the inferer gathers them.
void d2v_infer_window(py::array vec, const py::array& win, const py::array& wout, const py::array& in_ids,
                      const py::array& out_ids, const py::array& labels, float alpha, bool dm,
                      const std::string& isa) {
  float* v = out_data<float>(vec, "vec", 1);
  const float* wi = in_data<float>(win, "win", 2);
  const float* wo = in_data<float>(wout, "wout", 2);
  const size_t d = static_cast<size_t>(vec.size());
  DV_CHECK(d > 0 && static_cast<size_t>(win.shape(1)) == d && static_cast<size_t>(wout.shape(1)) == d,
           "vec, win and wout differ in dim");
  const uint32_t* ii = in_data<uint32_t>(in_ids, "in_ids");
  const uint32_t* oi = in_data<uint32_t>(out_ids, "out_ids");
  const float* lab = in_data<float>(labels, "labels");
  const int nw = static_cast<int>(in_ids.size()), no = static_cast<int>(out_ids.size());
  DV_CHECK(dm || nw == 0, "in_ids are PV-DM's context words (dm=True)");
  DV_CHECK(no > 0 && labels.size() == out_ids.size(), "need one label per output row, and at least one");
  std::vector<float*> ir, orow(no);
  for (int c = 0; c < nw; ++c) {
    DV_CHECK(ii[c] < static_cast<uint64_t>(win.shape(0)), "in_ids out of range");
    ir.push_back(const_cast<float*>(wi) + size_t(ii[c]) * d);
  }
  if (dm) ir.push_back(v);
  for (int o = 0; o < no; ++o) {
    DV_CHECK(oi[o] < static_cast<uint64_t>(wout.shape(0)), "out_ids out of range");
    orow[o] = const_cast<float*>(wo) + size_t(oi[o]) * d;
  }
  std::vector<float> scratch(size_t(no) + d);
  const dv::simd::D2VInferWindow w{v, ir.data(), static_cast<int>(ir.size()), orow.data(), lab, no, d, alpha,
                                   scratch.data(), &dv::simd::sigmoid_table()};
  kernels_arg(isa).d2v_infer_window(w);
}

float dot_f32(const py::array& a, const py::array& b, const std::string& isa) {
  const float* x = in_data<float>(a, "a");
  const float* y = in_data<float>(b, "b");
  DV_CHECK(a.size() == b.size(), "a and b differ in length");
  return kernels_arg(isa).dot_f32(x, y, static_cast<size_t>(a.size()));
}

// y += a * x in place (the kernels' axpy), and out (+)= sum_i coef[i] * rows[i]
// in place (their combo): the test compares a combo with the axpys it replaces.
void axpy_f32(float a, const py::array& x, py::array& y, const std::string& isa) {
  const float* xp = in_data<float>(x, "x");
  float* yp = out_data<float>(y, "y", 1);
  DV_CHECK(x.size() == y.size(), "x and y differ in length");
  kernels_arg(isa).axpy_f32(a, xp, yp, static_cast<size_t>(y.size()));
}

// coef holds one entry per row, or one for every row (the kernel's step 0).
void combo_f32(const py::array& rows, const py::array& coef, py::array& out, bool acc, const std::string& isa) {
  const float* r = in_data<float>(rows, "rows", 2);
  const float* c = in_data<float>(coef, "coef");
  float* o = out_data<float>(out, "out", 1);
  const size_t k = static_cast<size_t>(rows.shape(0)), n = static_cast<size_t>(rows.shape(1));
  const bool one = coef.size() == 1 && k != 1;
  DV_CHECK(one || static_cast<size_t>(coef.size()) == k, "coef must have one entry per row (or one for all)");
  DV_CHECK(static_cast<size_t>(out.size()) == n, "out must have one entry per column");
  std::vector<float*> ptrs(k);
  for (size_t i = 0; i < k; ++i) ptrs[i] = const_cast<float*>(r) + i * n;
  kernels_arg(isa).combo_f32(ptrs.data(), c, static_cast<int>(k), o, n, acc, one ? 0 : 1);
}

// ------------------------------------------------------------------ search
dv::RowType row_type(const py::array& rows, const char* name) {
  DV_CHECK(rows.ndim() == 2, name << " must be 2-dimensional, got " << rows.ndim());
  DV_CHECK(rows.flags() & py::array::c_style, name << " must be C-contiguous");
  if (rows.dtype().is(py::dtype::of<float>())) return dv::RowType::F32;
  if (rows.dtype().is(py::dtype("float16"))) return dv::RowType::F16;
  if (rows.dtype().is(py::dtype::of<int8_t>())) return dv::RowType::I8;
  throw ValueError(std::string(name) + " must have dtype float32, float16 or int8, got " +
                   dtype_name(rows.dtype()));
}

dv::Metric metric_arg(const std::string& metric) {
  if (metric == "dot") return dv::Metric::Dot;
  if (metric == "cosine") return dv::Metric::Cosine;
  if (metric == "l2") return dv::Metric::L2;
  throw ValueError("metric must be 'dot', 'cosine' or 'l2', got '" + metric + "'");
}

py::tuple search(const py::array& queries, const py::array& rows, int64_t k,
                 const std::string& metric, const py::object& scale, const py::object& norms,
                 const py::object& exclude, int threads, const std::string& isa) {
  const float* q = in_data<float>(queries, "queries", 2);
  dv::SearchBase b;
  b.type = row_type(rows, "rows");
  b.rows = rows.data();
  b.n = static_cast<size_t>(rows.shape(0));
  b.d = static_cast<size_t>(rows.shape(1));
  const size_t m = static_cast<size_t>(queries.shape(0));
  DV_CHECK(static_cast<size_t>(queries.shape(1)) == b.d,
           "queries have " << queries.shape(1) << " columns, rows have " << b.d);
  DV_CHECK(k > 0, "k must be positive, got " << k);
  const dv::Metric met = metric_arg(metric);
  py::array keep_scale, keep_norms;
  b.scale = per_row(scale, b.n, "scale", keep_scale);
  b.norms = per_row(norms, b.n, "norms", keep_norms);
  std::vector<int64_t> ex;
  if (!exclude.is_none()) {
    py::array e = exclude.cast<py::array>();
    const int64_t* p = in_data<int64_t>(e, "exclude");
    ex.assign(p, p + e.size());
  }
  ex = dv::prepare_exclude(std::move(ex), b.n);
  const size_t kk = dv::search_k(static_cast<size_t>(k), b.n, ex);
  const dv::simd::Kernels& kern = kernels_arg(isa);
  py::array_t<int64_t> ids({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(kk)});
  py::array_t<float> scores({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(kk)});
  dv::SearchOutput out{ids.mutable_data(), scores.mutable_data()};
  {
    py::gil_scoped_release release;
    dv::search(q, m, b, met, static_cast<size_t>(k), ex, threads, kern, out);
  }
  return py::make_tuple(ids, scores);
}

// L2 norm of every row (float32 (n,)); see dv::row_norms.
py::array row_norms(const py::array& rows, const py::object& scale, int threads, const std::string& isa) {
  dv::SearchBase b;
  b.type = row_type(rows, "rows");
  b.rows = rows.data();
  b.n = static_cast<size_t>(rows.shape(0));
  b.d = static_cast<size_t>(rows.shape(1));
  py::array keep_scale;
  b.scale = per_row(scale, b.n, "scale", keep_scale);
  const dv::simd::Kernels& kern = kernels_arg(isa);
  py::array_t<float> out(static_cast<py::ssize_t>(b.n));
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    dv::row_norms(b, threads, kern, o);
  }
  return py::array(out);
}

// One query against every row with a raw scan kernel (for tests): float32 out
// for float32/float16 rows, exact int32 dot products for int8 rows (int8 query).
py::array scan_rows(const py::array& q, const py::array& rows, bool l2, const std::string& isa) {
  const dv::RowType t = row_type(rows, "rows");
  const size_t n = static_cast<size_t>(rows.shape(0)), d = static_cast<size_t>(rows.shape(1));
  DV_CHECK(static_cast<size_t>(q.size()) == d, "q has " << q.size() << " entries, rows have " << d << " columns");
  const dv::simd::ScanKernels& sk = *kernels_arg(isa).scan;
  if (t == dv::RowType::I8) {
    DV_CHECK(!l2, "l2_rows supports float32 and float16 rows");
    const int8_t* qp = in_data<int8_t>(q, "q");
    py::array_t<int32_t> out(static_cast<py::ssize_t>(n));
    sk.dot_rows_i8(qp, static_cast<const int8_t*>(rows.data()), n, d, out.mutable_data());
    return py::array(out);
  }
  const float* qp = in_data<float>(q, "q");
  py::array_t<float> out(static_cast<py::ssize_t>(n));
  if (t == dv::RowType::F32)
    (l2 ? sk.l2_rows_f32 : sk.dot_rows_f32)(qp, static_cast<const float*>(rows.data()), n, d, out.mutable_data());
  else
    (l2 ? sk.l2_rows_f16 : sk.dot_rows_f16)(qp, static_cast<const uint16_t*>(rows.data()), n, d, out.mutable_data());
  return py::array(out);
}

// Queries (nq, d) against rows packed as the batch path packs them (for tests).
py::array dot_packed(const py::array& queries, const py::array& rows, const std::string& isa) {
  const float* qp = in_data<float>(queries, "queries", 2);
  const dv::RowType t = row_type(rows, "rows");
  DV_CHECK(t != dv::RowType::I8, "dot_packed supports float32 and float16 rows");
  const size_t n = static_cast<size_t>(rows.shape(0)), d = static_cast<size_t>(rows.shape(1));
  const size_t nq = static_cast<size_t>(queries.shape(0));
  DV_CHECK(static_cast<size_t>(queries.shape(1)) == d, "queries have " << queries.shape(1) << " columns, rows have " << d);
  const dv::simd::ScanKernels& sk = *kernels_arg(isa).scan;
  std::vector<float> packed(sk.packed_size(n, d));
  if (t == dv::RowType::F32)
    sk.pack_f32(static_cast<const float*>(rows.data()), n, d, packed.data());
  else
    sk.pack_f16(static_cast<const uint16_t*>(rows.data()), n, d, packed.data());
  py::array_t<float> out({static_cast<py::ssize_t>(nq), static_cast<py::ssize_t>(n)});
  if (n > 0 && nq > 0) sk.dot_packed_f32(qp, nq, packed.data(), n, d, out.mutable_data(), n);
  return py::array(out);
}

// ------------------------------------------------------------------ GloVe
// A C-contiguous array of fixed-size records of any dtype (numpy structured
// arrays, raw bytes): returns its base pointer and record count.
template <class Rec>
Rec* records_arg(const py::array& a, const char* name, bool writeable) {
  DV_CHECK(a.flags() & py::array::c_style, name << " must be C-contiguous");
  DV_CHECK(!writeable || a.writeable(), name << " must be writeable");
  const uint64_t bytes = static_cast<uint64_t>(a.nbytes());
  DV_CHECK(bytes % sizeof(Rec) == 0,
           name << " holds " << bytes << " bytes, not a whole number of " << sizeof(Rec) << "-byte records");
  return static_cast<Rec*>(const_cast<void*>(a.data()));
}

py::dict count_cooccurrence(const py::array& ids, const py::array& offsets, uint32_t vocab_size,
                            uint32_t window, bool symmetric, bool harmonic, uint64_t memory_bytes,
                            int threads, const std::string& tmp_dir, const std::string& out_path,
                            uint64_t chunk_tokens, py::object progress) {
  const uint32_t* id = in_data<uint32_t>(ids, "ids");
  const uint64_t* off = in_data<uint64_t>(offsets, "offsets");
  DV_CHECK(offsets.size() >= 1, "offsets must have at least one entry");
  const uint64_t n_sent = static_cast<uint64_t>(offsets.size()) - 1;
  // The stream was validated when its Corpus was built or opened.
  DV_CHECK(off[0] == 0 && off[n_sent] == static_cast<uint64_t>(ids.size()),
           "offsets do not span the ids");
  dv::CoocConfig cfg;
  cfg.window = window;
  cfg.symmetric = symmetric;
  cfg.harmonic = harmonic;
  cfg.memory_bytes = memory_bytes;
  cfg.threads = threads;
  cfg.tmp_dir = tmp_dir;
  cfg.chunk_tokens = chunk_tokens;
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(done.load()); });
  dv::CoocStats st;
  {
    py::gil_scoped_release release;
    try {
      st = dv::count_cooccurrence(cfg, id, off, n_sent, vocab_size, out_path, done, stop, poll);
    } catch (...) {
      ::unlink(out_path.c_str());
      py::gil_scoped_acquire gil;
      poller.rethrow();
      throw;
    }
  }
  poller.rethrow();
  py::dict out;
  out["nnz"] = st.nnz;
  out["stored"] = st.stored;
  out["events"] = st.events;
  out["runs_spilled"] = st.runs_spilled;
  out["dense_cells"] = st.dense_cells;
  out["hash_slots"] = st.hash_slots;
  out["max_product"] = st.max_product;
  out["count_seconds"] = st.count_seconds;
  out["size_seconds"] = st.size_seconds;
  out["write_seconds"] = st.write_seconds;
  return out;
}

void validate_cooc(const py::array& records, uint32_t vocab_size, bool upper) {
  const dv::CoocRecord* r = records_arg<const dv::CoocRecord>(records, "records", false);
  const uint64_t n = static_cast<uint64_t>(records.nbytes()) / sizeof(dv::CoocRecord);
  py::gil_scoped_release release;
  dv::validate_cooc(r, n, vocab_size, upper);
}

py::array_t<uint64_t> glove_prepare(const py::array& records, bool upper, uint32_t vocab_size,
                                    double x_max, double alpha, uint64_t seed, uint32_t tile_rows,
                                    uint64_t bucket_records, int threads, py::array out) {
  const dv::CoocRecord* r = records_arg<const dv::CoocRecord>(records, "records", false);
  dv::GloveRec* o = records_arg<dv::GloveRec>(out, "out", true);
  const uint64_t n = static_cast<uint64_t>(records.nbytes()) / sizeof(dv::CoocRecord);
  DV_CHECK(static_cast<uint64_t>(out.nbytes()) % sizeof(dv::GloveRec) == 0,
           "out must hold whole 16-byte records");
  const uint64_t n_out = static_cast<uint64_t>(out.nbytes()) / sizeof(dv::GloveRec);
  std::atomic<bool> stop{false};
  Poller poller{py::none()};
  auto poll = poller.make([](py::object&) {});
  std::vector<uint64_t> tiles = poller.call([&] {
    return dv::glove_prepare(r, n, upper, vocab_size, x_max, alpha, seed, tile_rows,
                             bucket_records, threads, o, n_out, stop, poll);
  });
  poller.rethrow();
  return to_numpy(std::move(tiles));
}

dv::GloveModel glove_model(py::array& word, py::array& ctx, py::array& word_bias, py::array& ctx_bias) {
  dv::GloveModel m;
  m.word = out_data<float>(word, "word", 2);
  m.ctx = out_data<float>(ctx, "ctx", 2);
  m.word_bias = out_data<double>(word_bias, "word_bias", 2);
  m.ctx_bias = out_data<double>(ctx_bias, "ctx_bias", 2);
  const auto V = word.shape(0);
  DV_CHECK(V > 0 && V < (py::ssize_t(1) << 32), "word must have between 1 and 2^32-1 rows");
  DV_CHECK(ctx.shape(0) == V && word_bias.shape(0) == V && ctx_bias.shape(0) == V,
           "word, ctx and the biases must have the same number of rows");
  DV_CHECK(word.shape(1) == ctx.shape(1), "word and ctx differ in width");
  DV_CHECK(word.shape(1) % 32 == 0 && word.shape(1) > 0,
           "word rows must hold 2 * ld floats with ld a multiple of 16, got " << word.shape(1));
  DV_CHECK(word_bias.shape(1) == 2 && ctx_bias.shape(1) == 2, "biases must have shape (V, 2)");
  m.vocab = static_cast<uint32_t>(V);
  m.ld = static_cast<size_t>(word.shape(1)) / 2;
  return m;
}

py::dict glove_epoch(py::array word, py::array ctx, py::array word_bias, py::array ctx_bias,
                     const py::array& records, const py::array& tiles, float eta,
                     uint64_t seed, uint64_t epoch, uint64_t max_chunk, int threads,
                     const std::string& isa, py::object progress) {
  const dv::GloveModel m = glove_model(word, ctx, word_bias, ctx_bias);
  const dv::GloveRec* r = records_arg<const dv::GloveRec>(records, "records", false);
  const uint64_t n = static_cast<uint64_t>(records.nbytes()) / sizeof(dv::GloveRec);
  const uint64_t* tl = in_data<uint64_t>(tiles, "tiles");
  DV_CHECK(tiles.size() >= 2, "tiles must hold at least two offsets");
  const uint64_t n_tiles = static_cast<uint64_t>(tiles.size()) - 1;
  DV_CHECK(eta > 0 && std::isfinite(eta), "learning_rate must be positive, got " << eta);
  dv::GloveEpochConfig cfg;
  cfg.eta = eta;
  cfg.seed = seed;
  cfg.epoch = epoch;
  cfg.max_chunk = max_chunk;
  cfg.threads = threads;
  const dv::simd::Kernels& k = kernels_arg(isa);
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(done.load()); });
  dv::GloveEpochStats st;
  {
    py::gil_scoped_release release;
    for (uint64_t i = 0; i < n; ++i)
      DV_CHECK(r[i].row < m.vocab && r[i].col < m.vocab,
               "training record " << i << " refers to a word past the " << m.vocab << "-row model");
    st = dv::glove_epoch(cfg, m, r, n, tl, n_tiles, k, done, stop, poll);
  }
  poller.rethrow();
  py::dict out;
  out["cost"] = st.cost;
  out["records"] = st.records;
  out["diverged"] = st.diverged;
  out["interrupted"] = stop.load() && !st.diverged;
  return out;
}

// One AdaGrad step on explicit rows (2 * ld floats each), for kernel tests.
void glove_adagrad(py::array w, py::array c, float step, const std::string& isa) {
  float* wp = out_data<float>(w, "w", 1);
  float* cp = out_data<float>(c, "c", 1);
  DV_CHECK(w.size() == c.size(), "w and c differ in length");
  DV_CHECK(w.size() % 32 == 0 && w.size() > 0, "rows must hold 2 * ld floats, ld a multiple of 16");
  kernels_arg(isa).glove_adagrad(wp, cp, step, static_cast<size_t>(w.size()) / 2);
}

}  // namespace

void bind_fasttext(py::module_& m);  // fasttext.cpp

// ---------------------------------------------------------------- phrases
namespace {

py::list bytes_list(const std::vector<std::string>& v) {
  py::list out;
  for (const auto& s : v) out.append(py::bytes(s));
  return out;
}

py::dict fit_phrases(const std::vector<std::string>& paths, const std::vector<std::string>& connectors,
                     const std::string& delimiter, uint64_t min_count, double threshold,
                     const std::string& scoring, uint64_t max_vocab, uint64_t max_token_bytes,
                     uint64_t range_bytes, int threads, py::object progress) {
  DV_CHECK(scoring == "default" || scoring == "npmi",
           "scoring must be 'default' or 'npmi', got '" << scoring << "'");
  DV_CHECK(max_token_bytes > 0, "max_token_bytes must be positive");
  DV_CHECK(range_bytes > 0, "range_bytes must be positive");
  dv::PhraseOptions opt;
  opt.connectors = connectors;
  opt.delimiter = delimiter;
  opt.min_count = min_count;
  opt.threshold = threshold;
  opt.scoring = scoring == "npmi" ? dv::PhraseScoring::kNpmi : dv::PhraseScoring::kDefault;
  opt.max_vocab = max_vocab;
  opt.max_token_bytes = max_token_bytes;
  opt.range_bytes = range_bytes;
  opt.threads = threads;
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> stop{false};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(bytes.load()); });
  dv::PhraseFitResult r;
  {
    py::gil_scoped_release release;
    r = dv::fit_phrases(paths, opt, bytes, stop, poll);
  }
  poller.rethrow();
  py::dict out;
  out["keys"] = bytes_list(r.keys);
  out["scores"] = to_numpy(std::move(r.scores));
  out["exported"] = bytes_list(r.exported);
  out["exported_scores"] = to_numpy(std::move(r.exported_scores));
  out["corpus_word_count"] = r.corpus_word_count;
  out["vocab_size"] = r.vocab_size;
  out["pruned_entries"] = r.pruned_entries;
  out["min_reduce"] = r.min_reduce;
  out["delimiter_in_tokens"] = r.delimiter_in_tokens;
  out["tokens"] = r.stats.tokens;
  out["too_long"] = r.stats.too_long;
  out["bytes"] = r.stats.bytes;
  return out;
}

py::dict phrase_transform_files(const dv::PhraseModel& model, const std::vector<std::string>& paths,
                                const std::string& out_path, uint64_t max_token_bytes,
                                uint64_t range_bytes, int threads, py::object progress) {
  DV_CHECK(range_bytes > 0, "range_bytes must be positive");
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> stop{false};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(bytes.load()); });
  dv::ScanStats st;
  {
    py::gil_scoped_release release;
    st = model.transform_files(paths, out_path, max_token_bytes, range_bytes, threads, bytes, stop,
                               poll);
  }
  poller.rethrow();
  py::dict out;
  out["tokens"] = st.tokens;
  out["too_long"] = st.too_long;
  out["bytes"] = st.bytes;
  out["interrupted"] = stop.load();
  return out;
}

void bind_phrases(py::module_& m) {
  m.def("fit_phrases", &fit_phrases, py::kw_only(), py::arg("paths"), py::arg("connectors"),
        py::arg("delimiter"), py::arg("min_count"), py::arg("threshold"), py::arg("scoring"),
        py::arg("max_vocab"), py::arg("max_token_bytes"), py::arg("range_bytes"),
        py::arg("threads"), py::arg("progress") = py::none(),
        "Counts unigrams and bigram candidates and scores them (csrc/phrases.h).");
  py::class_<dv::PhraseModel, std::shared_ptr<dv::PhraseModel>>(
      m, "PhraseModel", "Fitted phrases: joins detected candidates (csrc/phrases.h).")
      .def(py::init<const std::vector<std::string>&, const std::vector<std::string>&, std::string>(),
           py::arg("keys"), py::arg("connectors"), py::arg("delimiter"))
      .def("__len__", &dv::PhraseModel::size)
      .def("transform_text",
           [](const dv::PhraseModel& model, const py::bytes& text) {
             std::string_view in = text;
             std::string out;
             {
               py::gil_scoped_release release;
               out = model.transform_text(in.data(), in.size());
             }
             return py::bytes(out);
           },
           py::arg("text"))
      .def("transform_files", &phrase_transform_files, py::kw_only(), py::arg("paths"),
           py::arg("out_path"), py::arg("max_token_bytes"), py::arg("range_bytes"),
           py::arg("threads"), py::arg("progress") = py::none());
}

// ----------------------------------------------------------------- doc2vec
// The word side of a doc2vec model (checked like train_word2vec's); the
// arrays it points into are kept alive by `keep`.
dv::W2VModel doc2vec_words(bool hs, bool write, size_t* dim, py::array& win, py::array& wout, py::object keep_prob,
                           py::object noise, py::object tree, py::object lock, std::vector<py::object>& keep,
                           std::shared_ptr<dv::NoiseSampler>& noise_ptr, std::shared_ptr<dv::HuffmanTree>& tree_ptr) {
  dv::W2VModel model;
  // inference only reads the weights (a read-only mapping is fine)
  model.win = write ? out_data<float>(win, "win", 2) : const_cast<float*>(in_data<float>(win, "win", 2));
  model.wout = write ? out_data<float>(wout, "wout", 2) : const_cast<float*>(in_data<float>(wout, "wout", 2));
  model.rows = static_cast<uint64_t>(win.shape(0));
  *dim = static_cast<size_t>(win.shape(1));
  DV_CHECK(*dim > 0 && model.rows > 0, "win must have rows and columns");
  DV_CHECK(static_cast<size_t>(wout.shape(1)) == *dim, "win and wout differ in dim");
  const uint64_t out_rows = static_cast<uint64_t>(wout.shape(0));
  py::array kp, lk;
  model.keep_prob = per_row(keep_prob, model.rows, "keep_prob", kp);
  model.lock = per_row(lock, model.rows, "lock", lk);
  keep.push_back(kp);
  keep.push_back(lk);
  if (hs) {
    DV_CHECK(!tree.is_none(), "hierarchical softmax needs a HuffmanTree");
    tree_ptr = tree.cast<std::shared_ptr<dv::HuffmanTree>>();
    DV_CHECK(tree_ptr->size() == model.rows && out_rows == tree_ptr->inner_nodes(),
             "the Huffman tree does not match win / wout");
    model.tree = tree_ptr.get();
  } else {
    DV_CHECK(!noise.is_none(), "negative sampling needs a NoiseSampler");
    noise_ptr = noise.cast<std::shared_ptr<dv::NoiseSampler>>();
    DV_CHECK(noise_ptr->size() == model.rows && out_rows == model.rows,
             "the noise sampler does not match win / wout");
    model.noise = noise_ptr.get();
  }
  return model;
}

void check_d2v_config(const dv::D2VConfig& cfg) {
  DV_CHECK(cfg.window > 0, "window must be positive, got " << cfg.window);
  DV_CHECK(cfg.hs || cfg.negative > 0, "negative must be positive with negative sampling");
  DV_CHECK(cfg.alpha_begin > 0 && cfg.alpha_end >= 0, "learning rates must be positive");
}

// Sentences [sent_begin, sent_end) of the stream; sentence s belongs to
// document sent_doc[s], whose rows of `docs` are tag_rows[tag_offsets[d] ..
// tag_offsets[d + 1]). Every index is checked here (linear time) before any
// thread starts. `updates` (uint64, one per row of docs): test hook.
py::dict train_doc2vec(const dv::D2VConfig& config, py::array win, py::array wout, py::array docs,
                       const py::array& ids, const py::array& offsets, uint64_t sent_begin,
                       uint64_t sent_end, const py::array& sent_doc, const py::array& tag_offsets,
                       const py::array& tag_rows, py::object keep_prob, py::object noise,
                       py::object tree, py::object lock, py::object id_map, py::object updates,
                       py::object progress, const std::string& isa) {
  dv::D2VConfig cfg = config;
  check_d2v_config(cfg);
  std::vector<py::object> keep;
  std::shared_ptr<dv::NoiseSampler> noise_ptr;
  std::shared_ptr<dv::HuffmanTree> tree_ptr;
  dv::W2VModel model = doc2vec_words(cfg.hs, true, &cfg.dim, win, wout, keep_prob, noise, tree, lock, keep,
                                     noise_ptr, tree_ptr);
  dv::D2VDocs d;
  d.docs = out_data<float>(docs, "docs", 2);
  d.doc_rows = static_cast<uint64_t>(docs.shape(0));
  DV_CHECK(static_cast<size_t>(docs.shape(1)) == cfg.dim, "docs and win differ in dim");
  DV_CHECK(d.doc_rows > 0, "docs has zero rows");
  d.sent_doc = in_data<uint32_t>(sent_doc, "sent_doc");
  d.tag_offsets = in_data<uint64_t>(tag_offsets, "tag_offsets");
  d.tag_rows = in_data<uint32_t>(tag_rows, "tag_rows");
  DV_CHECK(tag_offsets.size() >= 1, "tag_offsets must have n_docs + 1 entries");
  d.n_docs = static_cast<uint64_t>(tag_offsets.size()) - 1;
  DV_CHECK(d.tag_offsets[0] == 0 && d.tag_offsets[d.n_docs] == static_cast<uint64_t>(tag_rows.size()),
           "tag_offsets must start at 0 and end at len(tag_rows)");
  d.max_tags = 1;
  for (uint64_t i = 0; i < d.n_docs; ++i) {
    DV_CHECK(d.tag_offsets[i] <= d.tag_offsets[i + 1], "tag_offsets decrease at document " << i);
    d.max_tags = std::max<int>(d.max_tags, static_cast<int>(d.tag_offsets[i + 1] - d.tag_offsets[i]));
  }
  for (py::ssize_t i = 0; i < tag_rows.size(); ++i)
    DV_CHECK(d.tag_rows[i] < d.doc_rows, "tag_rows refers past the rows of docs");

  dv::W2VStream stream;
  stream.ids = in_data<uint32_t>(ids, "ids");
  stream.offsets = in_data<uint64_t>(offsets, "offsets");
  DV_CHECK(sent_begin <= sent_end && sent_end + 1 <= static_cast<uint64_t>(offsets.size()),
           "sentence range [" << sent_begin << ", " << sent_end << ") out of bounds");
  DV_CHECK(stream.offsets[sent_end] <= static_cast<uint64_t>(ids.size()), "offsets refer past the ids");
  DV_CHECK(static_cast<uint64_t>(sent_doc.size()) >= sent_end, "sent_doc must have one entry per sentence");
  for (uint64_t s = sent_begin; s < sent_end; ++s)
    DV_CHECK(d.sent_doc[s] < d.n_docs, "sent_doc refers past the documents at sentence " << s);
  stream.sent_begin = sent_begin;
  stream.sent_end = sent_end;
  py::array im, up;
  if (!id_map.is_none()) {
    im = id_map.cast<py::array>();
    stream.id_map = in_data<uint32_t>(im, "id_map");
    for (py::ssize_t i = 0; i < im.size(); ++i)
      DV_CHECK(stream.id_map[i] < model.rows || stream.id_map[i] == dv::W2VStream::kNoRow,
               "id_map refers past the rows of win");
  }
  if (!updates.is_none()) {
    up = updates.cast<py::array>();
    d.updates = out_data<uint64_t>(up, "updates", 1);
    DV_CHECK(static_cast<uint64_t>(up.size()) == d.doc_rows, "updates must have one entry per row of docs");
  }
  const dv::simd::Kernels& k = kernels_arg(isa);
  return train_pass(std::move(progress), [&](dv::W2VProgress& prog, const std::function<bool()>& poll) {
    return dv::train_doc2vec(cfg, model, stream, d, k, prog, poll);
  });
}

// Document i is ids[offsets[i] .. offsets[i + 1]) (model rows); returns the
// inferred vectors, float32 (n_docs, dim), the model untouched.
py::array_t<float> infer_doc2vec(const dv::D2VConfig& config, int epochs, py::array win,
                                 py::array wout, const py::array& ids, const py::array& offsets,
                                 uint64_t first_index, py::object keep_prob, py::object noise,
                                 py::object tree, py::object progress, const std::string& isa) {
  dv::D2VConfig cfg = config;
  check_d2v_config(cfg);
  DV_CHECK(epochs > 0, "epochs must be positive, got " << epochs);
  std::vector<py::object> keep;
  std::shared_ptr<dv::NoiseSampler> noise_ptr;
  std::shared_ptr<dv::HuffmanTree> tree_ptr;
  dv::W2VModel model = doc2vec_words(cfg.hs, false, &cfg.dim, win, wout, keep_prob, noise, tree, py::none(),
                                     keep, noise_ptr, tree_ptr);
  const uint32_t* id = in_data<uint32_t>(ids, "ids");
  const uint64_t* off = in_data<uint64_t>(offsets, "offsets");
  DV_CHECK(offsets.size() >= 1 && off[0] == 0, "offsets must start with 0");
  const uint64_t n_docs = static_cast<uint64_t>(offsets.size()) - 1;
  for (uint64_t i = 0; i < n_docs; ++i) DV_CHECK(off[i] <= off[i + 1], "offsets decrease at document " << i);
  DV_CHECK(off[n_docs] == static_cast<uint64_t>(ids.size()), "offsets must end at len(ids)");
  for (py::ssize_t i = 0; i < ids.size(); ++i) DV_CHECK(id[i] < model.rows, "ids refer past the rows of win");
  py::array_t<float> out({static_cast<py::ssize_t>(n_docs), static_cast<py::ssize_t>(cfg.dim)});
  float* o = out.mutable_data();
  const dv::simd::Kernels& k = kernels_arg(isa);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(done.load()); });
  poller.call([&] { return dv::infer_doc2vec(cfg, epochs, model, id, off, n_docs, first_index, o, k, stop, poll); });
  poller.rethrow();
  return out;
}

void bind_doc2vec(py::module_& m) {
  py::class_<dv::D2VConfig>(m, "D2VConfig", "doc2vec hyperparameters of one call, set by field name.")
      .def(py::init<>())
      .def_readwrite("dm", &dv::D2VConfig::dm)
      .def_readwrite("dbow_words", &dv::D2VConfig::dbow_words)
      .def_readwrite("hs", &dv::D2VConfig::hs)
      .def_readwrite("negative", &dv::D2VConfig::negative)
      .def_readwrite("window", &dv::D2VConfig::window)
      .def_readwrite("alpha_begin", &dv::D2VConfig::alpha_begin)
      .def_readwrite("alpha_end", &dv::D2VConfig::alpha_end)
      .def_readwrite("seed", &dv::D2VConfig::seed)
      .def_readwrite("epoch", &dv::D2VConfig::epoch)
      .def_readwrite("threads", &dv::D2VConfig::threads);
  m.def("train_doc2vec", &train_doc2vec, py::kw_only(), py::arg("config"), py::arg("win"),
        py::arg("wout"), py::arg("docs"), py::arg("ids"), py::arg("offsets"), py::arg("sent_begin"),
        py::arg("sent_end"), py::arg("sent_doc"), py::arg("tag_offsets"), py::arg("tag_rows"),
        py::arg("keep_prob") = py::none(), py::arg("noise") = py::none(), py::arg("tree") = py::none(),
        py::arg("lock") = py::none(), py::arg("id_map") = py::none(), py::arg("updates") = py::none(),
        py::arg("progress") = py::none(), py::arg("isa") = "");
  m.def("infer_doc2vec", &infer_doc2vec, py::kw_only(), py::arg("config"), py::arg("epochs"),
        py::arg("win"), py::arg("wout"), py::arg("ids"), py::arg("offsets"), py::arg("first_index") = 0,
        py::arg("keep_prob") = py::none(), py::arg("noise") = py::none(), py::arg("tree") = py::none(),
        py::arg("progress") = py::none(), py::arg("isa") = "");
}

}  // namespace

void bind_graph(py::module_& m);  // graph_bindings.cpp

PYBIND11_MODULE(_core, m) {
  m.doc() = "densevec compiled core (private: use the densevec package)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const dv::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const dv::IOError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
  m.attr("__version__") = DV_VERSION;
  m.def("simd_isas", &dv::simd::available_isas, "SIMD levels this CPU and build can run.");
  m.def("simd_active", [] { return std::string(dv::simd::active_kernels().name); },
        "The SIMD level used by default.");
  m.def("build_corpus", &build_corpus, py::arg("paths"), py::arg("min_count"),
        py::arg("max_vocab"), py::arg("max_sentence_length"), py::arg("max_token_bytes"),
        py::arg("range_bytes"), py::arg("threads"), py::arg("tmp_dir"), py::arg("ids_path"),
        py::arg("offsets_path"), py::arg("progress") = py::none());
  m.def("validate_stream_files", &validate_stream_files, py::arg("ids_path"),
        py::arg("offsets_path"), py::arg("vocab_size"));
  py::class_<dv::W2VConfig>(m, "W2VConfig",
                            "word2vec hyperparameters of one training call, set by field name.")
      .def(py::init<>())
      .def_readwrite("skipgram", &dv::W2VConfig::skipgram)
      .def_readwrite("hs", &dv::W2VConfig::hs)
      .def_readwrite("negative", &dv::W2VConfig::negative)
      .def_readwrite("share_negatives", &dv::W2VConfig::share_negatives)
      .def_readwrite("noise_group", &dv::W2VConfig::noise_group)
      .def_readwrite("window", &dv::W2VConfig::window)
      .def_readwrite("cbow_mean", &dv::W2VConfig::cbow_mean)
      .def_readwrite("alpha_begin", &dv::W2VConfig::alpha_begin)
      .def_readwrite("alpha_end", &dv::W2VConfig::alpha_end)
      .def_readwrite("seed", &dv::W2VConfig::seed)
      .def_readwrite("epoch", &dv::W2VConfig::epoch)
      .def_readwrite("threads", &dv::W2VConfig::threads);
  py::class_<dv::NoiseSampler, std::shared_ptr<dv::NoiseSampler>>(
      m, "NoiseSampler", "Negative-sampling noise distribution (alias table), built once.")
      .def(py::init(&make_noise_sampler), py::arg("weights"))
      .def("__len__", &dv::NoiseSampler::size)
      .def_property_readonly("threshold", [](const dv::NoiseSampler& s) { return copy_to_numpy(s.table().threshold); })
      .def_property_readonly("alias", [](const dv::NoiseSampler& s) { return copy_to_numpy(s.table().alias); })
      .def("draw", [](const dv::NoiseSampler& s, const py::array& random) {
        // the words the trainers draw for these 64-bit random numbers (testing)
        const uint64_t* r = in_data<uint64_t>(random, "random");
        std::vector<uint32_t> out(static_cast<size_t>(random.size()));
        for (size_t i = 0; i < out.size(); ++i) out[i] = s.draw(r[i]);
        return copy_to_numpy(out);
      }, py::arg("random"));
  py::class_<dv::HuffmanTree, std::shared_ptr<dv::HuffmanTree>>(
      m, "HuffmanTree", "Huffman tree of hierarchical softmax, built once.")
      .def(py::init(&make_huffman_tree), py::arg("counts"))
      .def("__len__", &dv::HuffmanTree::size)
      .def_property_readonly("max_depth", &dv::HuffmanTree::max_depth)
      .def_property_readonly("codes", [](const dv::HuffmanTree& t) { return copy_to_numpy(t.arrays().codes); })
      .def_property_readonly("points", [](const dv::HuffmanTree& t) { return copy_to_numpy(t.arrays().points); })
      .def_property_readonly("offsets", [](const dv::HuffmanTree& t) { return copy_to_numpy(t.arrays().offsets); });
  m.def("train_word2vec", &train_word2vec, py::kw_only(), py::arg("config"), py::arg("win"),
        py::arg("wout"), py::arg("ids"), py::arg("offsets"), py::arg("sent_begin"),
        py::arg("sent_end"), py::arg("keep_prob") = py::none(), py::arg("noise") = py::none(),
        py::arg("tree") = py::none(), py::arg("lock") = py::none(), py::arg("id_map") = py::none(),
        py::arg("progress") = py::none(), py::arg("isa") = "", py::arg("ngrams") = py::none(),
        py::arg("subword_offsets") = py::none(), py::arg("subword_ids") = py::none(),
        py::arg("out_lock") = py::none());
  m.def("search", &search, py::arg("queries"), py::arg("rows"), py::arg("k"),
        py::arg("metric") = "dot", py::arg("scale") = py::none(), py::arg("norms") = py::none(),
        py::arg("exclude") = py::none(), py::arg("threads") = 0, py::arg("isa") = "",
        "Exact top-k search (see csrc/search.h): returns (ids int64 (m, k'), scores float32 (m, k')).");
  m.def("row_norms", &row_norms, py::arg("rows"), py::arg("scale") = py::none(), py::arg("threads") = 0,
        py::arg("isa") = "",
        "L2 norm of each row (scale applied), float32 (n,), computed with threads, GIL released.");
  m.def("count_cooccurrence", &count_cooccurrence, py::kw_only(), py::arg("ids"), py::arg("offsets"),
        py::arg("vocab_size"), py::arg("window"), py::arg("symmetric"), py::arg("harmonic"),
        py::arg("memory_bytes"), py::arg("threads"), py::arg("tmp_dir"), py::arg("out_path"),
        py::arg("chunk_tokens") = 1 << 20, py::arg("progress") = py::none());
  m.def("validate_cooc", &validate_cooc, py::arg("records"), py::arg("vocab_size"),
        py::arg("upper") = false);
  m.def("glove_prepare", &glove_prepare, py::kw_only(), py::arg("records"), py::arg("upper"), py::arg("vocab_size"),
        py::arg("x_max"), py::arg("alpha"), py::arg("seed"), py::arg("tile_rows"),
        py::arg("bucket_records"), py::arg("threads"), py::arg("out"));
  m.def("glove_epoch", &glove_epoch, py::kw_only(), py::arg("word"), py::arg("ctx"), py::arg("word_bias"),
        py::arg("ctx_bias"), py::arg("records"), py::arg("tiles"), py::arg("eta"), py::arg("seed"),
        py::arg("epoch"), py::arg("max_chunk") = 1 << 16, py::arg("threads") = 1, py::arg("isa") = "",
        py::arg("progress") = py::none());
  py::module_ testing = m.def_submodule("testing", "Test-only hooks (private).");
  // Single kernels on explicit rows, for checking each ISA against references.
  testing.def("w2v_window", &w2v_window, py::arg("win"), py::arg("wout"), py::arg("in_ids"),
        py::arg("out_ids"), py::arg("labels"), py::arg("alpha"), py::arg("skipgram"),
        py::arg("cbow_mean") = true, py::arg("isa") = "", py::arg("in_lock") = py::none(),
        py::arg("out_lock") = py::none());
  testing.def("dot_f32", &dot_f32, py::arg("a"), py::arg("b"), py::arg("isa") = "");
  testing.def("axpy_f32", &axpy_f32, py::arg("a"), py::arg("x"), py::arg("y"), py::arg("isa") = "");
  testing.def("combo_f32", &combo_f32, py::arg("rows"), py::arg("coef"), py::arg("out"), py::arg("acc"),
              py::arg("isa") = "");
  testing.def("d2v_infer_window", &d2v_infer_window, py::arg("vec"), py::arg("win"), py::arg("wout"),
              py::arg("in_ids"), py::arg("out_ids"), py::arg("labels"), py::arg("alpha"), py::arg("dm"),
              py::arg("isa") = "");
  testing.def("dot_rows", [](const py::array& q, const py::array& rows, const std::string& isa) {
          return scan_rows(q, rows, false, isa);
        }, py::arg("q"), py::arg("rows"), py::arg("isa") = "");
  testing.def("l2_rows", [](const py::array& q, const py::array& rows, const std::string& isa) {
          return scan_rows(q, rows, true, isa);
        }, py::arg("q"), py::arg("rows"), py::arg("isa") = "");
  testing.def("dot_packed", &dot_packed, py::arg("queries"), py::arg("rows"), py::arg("isa") = "");
  testing.def("glove_adagrad", &glove_adagrad, py::arg("w"), py::arg("c"), py::arg("step"),
        py::arg("isa") = "");
  testing.def("fail_thread_start", &dv::testing::fail_thread_start, py::arg("n"),
              "Make the n-th thread start from now fail (1 = the next); 0 turns it off.");
  testing.def("sigmoid_and_loss", [](float x, float label) {
        double loss = 0;
        const float s = dv::simd::sigmoid_and_loss(dv::simd::sigmoid_table(), x, label, &loss);
        return py::make_tuple(s, loss);
      }, py::arg("x"), py::arg("label"),
      "The table sigmoid of x and the loss -log sigmoid(label ? x : -x) it adds.");
  bind_phrases(m);
  bind_graph(m);
  bind_doc2vec(m);
  bind_contrastive(m);
  bind_dist(m);
  bind_fasttext(m);
}
