// numpy arrays from C++ containers, shared by the binding files.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <utility>
#include <vector>

namespace dv::pybind {

// Moves v into a 1-dimensional numpy array that owns it (no copy).
template <class T>
pybind11::array_t<T> vector_to_numpy(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  pybind11::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return pybind11::array_t<T>(static_cast<pybind11::ssize_t>(heap->size()), heap->data(), owner);
}

}  // namespace dv::pybind
