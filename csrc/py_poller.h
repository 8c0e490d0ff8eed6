// The Python side of a parallel C++ job, shared by every binding file.
#pragma once
#include <pybind11/pybind11.h>

#include <functional>
#include <memory>
#include <utility>

// pybind11 builds with hidden visibility; a class holding py::object must match
#define DV_PY_HIDDEN __attribute__((visibility("hidden")))

namespace dv::pybind {

namespace py = pybind11;

// Polls from the calling thread while workers run: re-takes the GIL, lets
// Python handle signals (Ctrl-C) and calls the user's progress callback.
// A KeyboardInterrupt or a callback exception stops the workers and is
// re-raised once they have joined.
class DV_PY_HIDDEN Poller {
 public:
  explicit Poller(py::object callback) : callback_(std::move(callback)) {}
  template <class Report>
  std::function<bool()> make(Report report) {
    return [this, report]() {
      py::gil_scoped_acquire gil;
      if (error_) return false;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!callback_.is_none()) report(callback_);
      } catch (py::error_already_set& e) {
        error_ = std::make_unique<py::error_already_set>(std::move(e));
        return false;
      }
      return true;
    };
  }
  // Runs work() with the GIL released. When it throws after this poller has
  // caught an exception (Ctrl-C: the workers stopped and the C++ side gave
  // up, e.g. "interrupted"), the poller's exception is raised instead, so an
  // interrupt always surfaces as KeyboardInterrupt. Call with the GIL held.
  template <class Work>
  auto call(Work work) -> decltype(work()) {
    try {
      py::gil_scoped_release release;
      return work();
    } catch (...) {
      rethrow();
      throw;
    }
  }
  // Call with the GIL held, after the workers have joined.
  void rethrow() {
    if (error_) {
      std::unique_ptr<py::error_already_set> e = std::move(error_);
      throw py::error_already_set(std::move(*e));
    }
  }

 private:
  py::object callback_;
  std::unique_ptr<py::error_already_set> error_;
};

}  // namespace dv::pybind
