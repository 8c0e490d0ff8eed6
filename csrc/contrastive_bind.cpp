// Bindings of text encoding and contrastive training (csrc/contrastive.h):
// texts are copied out of Python objects with the GIL held, then the work
// runs with the GIL released while the calling thread polls for Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "py_poller.h"
#include "contrastive.h"
#include "simd/kernels.h"

namespace py = pybind11;

namespace {

using dv::pybind::Poller;

template <class T>
const T* array_of(const py::array& a, const char* name, int ndim) {
  DV_CHECK(a.dtype().is(py::dtype::of<T>()), name << " has the wrong dtype");
  DV_CHECK(a.ndim() == ndim, name << " must be " << ndim << "-dimensional");
  DV_CHECK(a.flags() & py::array::c_style, name << " must be C-contiguous");
  return static_cast<const T*>(a.data());
}


void append_utf8(std::string& bytes, const py::handle& s, size_t i, const char* what) {
  Py_ssize_t len = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s.ptr(), &len);
  if (p == nullptr) {
    PyErr_Clear();
    throw dv::ValueError("text " + std::to_string(i) + what + " cannot be encoded as UTF-8");
  }
  bytes.append(p, static_cast<size_t>(len));
}

// Copies a list of texts (each a str, or a list / tuple of str tokens).
dv::Texts gather(const py::list& texts) {
  dv::Texts out;
  out.texts.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    py::handle t = texts[i];
    dv::Texts::Text& rec = out.texts[i];
    if (PyUnicode_Check(t.ptr())) {
      rec.begin = out.bytes.size();
      append_utf8(out.bytes, t, i, "");
      rec.end = out.bytes.size();
      continue;
    }
    if (!PyList_Check(t.ptr()) && !PyTuple_Check(t.ptr()))
      throw py::type_error("text " + std::to_string(i) + " must be a string or a list of string tokens, got " +
                           std::string(Py_TYPE(t.ptr())->tp_name));
    py::sequence toks = py::reinterpret_borrow<py::sequence>(t);
    rec.split = true;
    rec.begin = out.spans.size();
    const size_t n = toks.size();
    for (size_t j = 0; j < n; ++j) {
      py::object tok = toks[j];
      if (!PyUnicode_Check(tok.ptr()))
        throw py::type_error("text " + std::to_string(i) + ", token " + std::to_string(j) +
                             " must be a string, got " + std::string(Py_TYPE(tok.ptr())->tp_name));
      const uint64_t b = out.bytes.size();
      append_utf8(out.bytes, tok, i, (", token " + std::to_string(j)).c_str());
      out.spans.emplace_back(b, static_cast<uint32_t>(out.bytes.size() - b));
    }
    rec.end = out.spans.size();
  }
  return out;
}

py::dict stats_dict(const dv::EncodeStats& st, size_t texts) {
  py::dict d;
  d["texts"] = texts;
  d["tokens"] = st.tokens;
  d["known_tokens"] = st.known;
  d["empty_texts"] = st.empty;
  return d;
}

std::shared_ptr<dv::TokenTable> make_table(const py::array& blob, const py::array& offsets) {
  const uint8_t* b = array_of<uint8_t>(blob, "blob", 1);
  const int64_t* o = array_of<int64_t>(offsets, "offsets", 1);
  DV_CHECK(offsets.size() >= 1 && o[0] == 0, "offsets must start at 0");
  const size_t n = static_cast<size_t>(offsets.size()) - 1;
  DV_CHECK(static_cast<uint64_t>(o[n]) == static_cast<uint64_t>(blob.size()), "offsets must end at the blob's size");
  py::gil_scoped_release release;
  return std::make_shared<dv::TokenTable>(b, static_cast<size_t>(blob.size()), o, n);
}

py::tuple encode_texts(const dv::TokenTable& table, const py::array& vectors, const py::list& texts,
                       const py::object& weights, const py::object& component, bool normalize,
                       int threads) {
  const float* v = array_of<float>(vectors, "vectors", 2);
  DV_CHECK(static_cast<size_t>(vectors.shape(0)) == table.size(), "one vector per word of the table");
  const size_t dim = static_cast<size_t>(vectors.shape(1));
  dv::EncodeOptions opt;
  opt.normalize = normalize;
  opt.threads = threads < 1 ? 1 : threads;
  py::array w, c;
  if (!weights.is_none()) {
    w = weights.cast<py::array>();
    opt.weights = array_of<float>(w, "weights", 1);
    DV_CHECK(static_cast<size_t>(w.size()) == table.size(), "one weight per word of the table");
  }
  if (!component.is_none()) {
    c = component.cast<py::array>();
    opt.component = array_of<float>(c, "component", 1);
    DV_CHECK(static_cast<size_t>(c.size()) == dim, "component must have " << dim << " values");
  }
  dv::Texts batch = gather(texts);
  py::array_t<float> out({static_cast<py::ssize_t>(batch.size()), static_cast<py::ssize_t>(dim)});
  float* o = out.mutable_data();
  std::atomic<bool> stop{false};
  Poller intr{py::none()};
  auto poll = intr.make([](py::object&) {});
  dv::EncodeStats st =
      intr.call([&] { return dv::encode_texts(batch, table, v, dim, opt, o, dv::simd::active_kernels(), stop, poll); });
  intr.rethrow();
  return py::make_tuple(out, stats_dict(st, batch.size()));
}

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(heap->size()), heap->data(), owner);
}

py::tuple texts_to_ids(const dv::TokenTable& table, const py::list& texts) {
  dv::Texts batch = gather(texts);
  std::vector<uint32_t> ids;
  std::vector<uint64_t> offsets;
  dv::EncodeStats st;
  {
    py::gil_scoped_release release;
    st = dv::texts_to_ids(batch, table, ids, offsets);
  }
  return py::make_tuple(to_numpy(std::move(ids)), to_numpy(std::move(offsets)), stats_dict(st, batch.size()));
}

dv::IdTexts id_texts(const py::array& ids, const py::array& offsets, size_t rows, const char* name,
                     size_t* n_texts) {
  dv::IdTexts s;
  s.ids = array_of<uint32_t>(ids, name, 1);
  s.offsets = array_of<uint64_t>(offsets, name, 1);
  const size_t n = static_cast<size_t>(offsets.size());
  DV_CHECK(n >= 1 && s.offsets[0] == 0 && s.offsets[n - 1] == static_cast<uint64_t>(ids.size()),
           name << ": offsets must run from 0 to the number of ids");
  for (size_t i = 0; i + 1 < n; ++i)
    DV_CHECK(s.offsets[i] <= s.offsets[i + 1], name << ": offsets decrease at text " << i);
  for (py::ssize_t i = 0; i < ids.size(); ++i)
    DV_CHECK(s.ids[i] < rows, name << ": id " << s.ids[i] << " past the " << rows << " rows");
  *n_texts = n - 1;
  return s;
}

py::dict contrastive_epoch(const dv::ContrastiveConfig& cfg, py::array weights, py::array adagrad,
                           const py::object& lock, const py::array& anchor_ids,
                           const py::array& anchor_offsets, const py::array& positive_ids,
                           const py::array& positive_offsets, const py::object& negative_ids,
                           const py::object& negative_offsets, const py::array& order,
                           const py::object& progress) {
  DV_CHECK(cfg.temperature > 0 && std::isfinite(cfg.temperature), "temperature must be positive");
  DV_CHECK(cfg.batch_size >= 1, "batch_size must be positive");
  dv::ContrastiveModel m;
  array_of<float>(weights, "weights", 2);
  array_of<float>(adagrad, "adagrad", 2);
  DV_CHECK(weights.writeable() && adagrad.writeable(), "weights and adagrad must be writeable");
  DV_CHECK(weights.shape(0) == adagrad.shape(0) && weights.shape(1) == adagrad.shape(1),
           "weights and adagrad differ in shape");
  m.weights = static_cast<float*>(weights.mutable_data());
  m.adagrad = static_cast<float*>(adagrad.mutable_data());
  m.rows = static_cast<size_t>(weights.shape(0));
  m.dim = static_cast<size_t>(weights.shape(1));
  py::array lk;
  if (!lock.is_none()) {
    lk = lock.cast<py::array>();
    m.lock = array_of<float>(lk, "lock", 1);
    DV_CHECK(static_cast<size_t>(lk.size()) == m.rows, "one lock value per row");
  }
  size_t na = 0, np_ = 0, nn = 0;
  dv::IdTexts a = id_texts(anchor_ids, anchor_offsets, m.rows, "anchors", &na);
  dv::IdTexts p = id_texts(positive_ids, positive_offsets, m.rows, "positives", &np_);
  DV_CHECK(na == np_, "anchors and positives differ in number");
  dv::IdTexts neg;
  py::array ni, no;
  const bool has_neg = !negative_ids.is_none();
  if (has_neg) {
    ni = negative_ids.cast<py::array>();
    no = negative_offsets.cast<py::array>();
    neg = id_texts(ni, no, m.rows, "negatives", &nn);
    DV_CHECK(nn == na, "negatives and anchors differ in number");
  }
  const uint32_t* ord = array_of<uint32_t>(order, "order", 1);
  const size_t n = static_cast<size_t>(order.size());
  auto empty = [](const dv::IdTexts& s, uint32_t i) { return s.offsets[i] == s.offsets[i + 1]; };
  for (size_t i = 0; i < n; ++i) {
    DV_CHECK(ord[i] < na, "order refers past the pairs");
    DV_CHECK(!empty(a, ord[i]) && !empty(p, ord[i]) && !(has_neg && empty(neg, ord[i])),
             "order lists pair " << ord[i] << ", which has a side without a known token");
  }
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  Poller intr(progress);
  auto poll = intr.make([&](py::object& cb) { cb(done.load()); });
  dv::ContrastiveStats st = intr.call([&] {
    return dv::contrastive_epoch(cfg, m, a, p, has_neg ? &neg : nullptr, ord, n, dv::simd::active_kernels(),
                                 done, stop, poll);
  });
  intr.rethrow();
  py::dict out;
  out["loss"] = st.batches ? st.loss / static_cast<double>(st.batches) : 0.0;
  out["batches"] = st.batches;
  out["pairs"] = st.pairs;
  out["diverged"] = st.diverged;
  return out;
}

}  // namespace

void bind_contrastive(py::module_& m) {
  py::class_<dv::TokenTable, std::shared_ptr<dv::TokenTable>>(
      m, "TokenTable", "word -> row lookup for text encoding, built once from a vocabulary blob.")
      .def(py::init(&make_table), py::arg("blob"), py::arg("offsets"))
      .def("__len__", &dv::TokenTable::size);
  m.def("encode_texts", &encode_texts, py::kw_only(), py::arg("table"), py::arg("vectors"),
        py::arg("texts"), py::arg("weights") = py::none(), py::arg("component") = py::none(),
        py::arg("normalize") = true, py::arg("threads") = 1,
        "Pooled token vectors of texts: (float32 (n, dim), stats dict).");
  m.def("texts_to_ids", &texts_to_ids, py::kw_only(), py::arg("table"), py::arg("texts"),
        "Known rows of texts as (ids uint32, offsets uint64, stats dict).");
  py::class_<dv::ContrastiveConfig>(m, "ContrastiveConfig",
                                    "Contrastive training hyperparameters of one epoch, by field name.")
      .def(py::init<>())
      .def_readwrite("temperature", &dv::ContrastiveConfig::temperature)
      .def_readwrite("learning_rate", &dv::ContrastiveConfig::learning_rate)
      .def_readwrite("batch_size", &dv::ContrastiveConfig::batch_size)
      .def_readwrite("symmetric", &dv::ContrastiveConfig::symmetric)
      .def_readwrite("threads", &dv::ContrastiveConfig::threads);
  m.def("contrastive_epoch", &contrastive_epoch, py::kw_only(), py::arg("config"), py::arg("weights"),
        py::arg("adagrad"), py::arg("lock"), py::arg("anchor_ids"), py::arg("anchor_offsets"),
        py::arg("positive_ids"), py::arg("positive_offsets"), py::arg("negative_ids") = py::none(),
        py::arg("negative_offsets") = py::none(), py::arg("order"), py::arg("progress") = py::none(),
        "One epoch of InfoNCE training with in-batch negatives (see csrc/contrastive.h).");
}
