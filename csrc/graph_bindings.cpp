// pybind11 glue for graph.h: edge-list reading, the CSR graph, random walks.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "py_poller.h"
#include "py_arrays.h"
#include "graph.h"

namespace py = pybind11;

namespace {

using dv::pybind::Poller;

using dv::pybind::vector_to_numpy;

// A read-only view of a graph's array that keeps the graph alive.
template <class T>
py::array_t<T> view(const std::vector<T>& v, py::handle owner) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()), v.data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

template <class T>
const T* array_data(const py::array& a, const char* name) {
  DV_CHECK(a.dtype().is(py::dtype::of<T>()), name << " has the wrong dtype");
  DV_CHECK(a.ndim() == 1 && (a.flags() & py::array::c_style), name << " must be 1-D and C-contiguous");
  return static_cast<const T*>(a.data());
}


py::dict read_edge_list(const std::string& path) {
  std::atomic<bool> stop{false};
  dv::EdgeList el;
  {
    py::gil_scoped_release release;
    el = dv::read_edge_list(path, stop);
  }
  py::list names;
  for (const auto& s : el.names) names.append(py::str(s));
  py::dict out;
  out["names"] = names;
  out["src"] = vector_to_numpy(std::move(el.src));
  out["dst"] = vector_to_numpy(std::move(el.dst));
  if (el.weight.empty())
    out["weight"] = py::none();
  else
    out["weight"] = vector_to_numpy(std::move(el.weight));
  return out;
}

std::shared_ptr<dv::Graph> make_graph(uint64_t n, const py::array& src, const py::array& dst,
                                      py::object weight, bool directed, const std::string& what) {
  DV_CHECK(n < 0xFFFFFFFFull, what << ": too many nodes (" << n << ")");
  const uint32_t* s = array_data<uint32_t>(src, "src");
  const uint32_t* d = array_data<uint32_t>(dst, "dst");
  DV_CHECK(src.size() == dst.size(), "src and dst differ in length");
  py::array w;
  const float* wp = nullptr;
  if (!weight.is_none()) {
    w = weight.cast<py::array>();
    wp = array_data<float>(w, "weight");
    DV_CHECK(w.size() == src.size(), "one weight per edge");
  }
  auto g = std::make_shared<dv::Graph>();
  py::gil_scoped_release release;
  *g = dv::build_graph(static_cast<uint32_t>(n), s, d, wp, static_cast<uint64_t>(src.size()), directed,
                       what);
  return g;
}

py::tuple random_walks(const std::shared_ptr<dv::Graph>& g, uint32_t walk_length, uint32_t walks_per_node,
                       double p, double q, uint64_t seed, uint64_t round, int threads,
                       py::object progress) {
  dv::WalkConfig cfg;
  cfg.walk_length = walk_length;
  cfg.walks_per_node = walks_per_node;
  cfg.p = p;
  cfg.q = q;
  cfg.seed = seed;
  cfg.round = round;
  cfg.threads = threads;
  std::atomic<uint64_t> done{0};
  Poller poller(progress);
  auto poll = poller.make([&](py::object& cb) { cb(done.load()); });
  dv::Walks walks = poller.call([&] { return dv::random_walks(*g, cfg, done, poll); });
  poller.rethrow();
  return py::make_tuple(vector_to_numpy(std::move(walks.ids)), vector_to_numpy(std::move(walks.offsets)));
}

}  // namespace

void bind_graph(py::module_& m) {
  m.def("read_edge_list", &read_edge_list, py::arg("path"),
        "Reads an edge-list file: dict(names, src, dst, weight or None).");
  py::class_<dv::Graph, std::shared_ptr<dv::Graph>>(m, "CSRGraph", "A graph's CSR adjacency (see graph.h).")
      .def(py::init(&make_graph), py::kw_only(), py::arg("n"), py::arg("src"), py::arg("dst"),
           py::arg("weight") = py::none(), py::arg("directed") = false, py::arg("what") = "edges")
      .def_property_readonly("n", [](const dv::Graph& g) { return g.n; })
      .def_property_readonly("directed", [](const dv::Graph& g) { return g.directed; })
      .def_property_readonly("weighted", [](const dv::Graph& g) { return !g.weights.empty(); })
      .def_property_readonly("self_loops", [](const dv::Graph& g) { return g.self_loops; })
      .def_property_readonly("duplicates", [](const dv::Graph& g) { return g.duplicates; })
      .def_property_readonly("zero_weight", [](const dv::Graph& g) { return g.zero_weight; })
      .def_property_readonly("indptr", [](py::object self) {
        return view(self.cast<const dv::Graph&>().indptr, self);
      })
      .def_property_readonly("indices", [](py::object self) {
        return view(self.cast<const dv::Graph&>().indices, self);
      })
      .def_property_readonly("weights", [](py::object self) -> py::object {
        const auto& g = self.cast<const dv::Graph&>();
        if (g.weights.empty()) return py::none();
        return view(g.weights, self);
      });
  m.def("random_walks", &random_walks, py::kw_only(), py::arg("graph"), py::arg("walk_length"),
        py::arg("walks_per_node"), py::arg("p") = 1.0, py::arg("q") = 1.0, py::arg("seed") = 1,
        py::arg("round") = 0, py::arg("threads") = 1, py::arg("progress") = py::none(),
        "Random walks (ids, offsets) on a CSRGraph; see graph.h.");
}
