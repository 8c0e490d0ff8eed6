// fastText subwords: n-gram ids of words (see fasttext.h) and their bindings.
#include "fasttext.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <thread>

#include "common.h"
#include "parallel.h"

namespace py = pybind11;

namespace dv {

void ft_ngrams(std::string_view word, int min_n, int max_n, uint32_t bucket, std::vector<uint32_t>& out) {
  if (max_n < 1 || bucket == 0) return;
  std::string w;
  w.reserve(word.size() + 2);
  w.push_back('<');
  w.append(word);
  w.push_back('>');
  const size_t size = w.size();
  std::string gram;
  for (size_t i = 0; i < size; ++i) {
    if ((static_cast<unsigned char>(w[i]) & 0xC0) == 0x80) continue;  // inside a character
    gram.clear();
    size_t j = i;
    for (int n = 1; j < size && n <= max_n; ++n) {
      gram.push_back(w[j++]);
      while (j < size && (static_cast<unsigned char>(w[j]) & 0xC0) == 0x80) gram.push_back(w[j++]);
      if (n >= min_n && !(n == 1 && (i == 0 || j == size))) out.push_back(ft_hash(gram) % bucket);
    }
  }
}

SubwordTable ft_subword_table(const std::vector<std::string>& words, int min_n, int max_n,
                              uint32_t bucket, int threads) {
  const size_t n = words.size();
  threads = std::max(1, std::min<int>(threads <= 0 ? hardware_threads() : threads,
                                      static_cast<int>(std::max<size_t>(1, n / 4096))));
  // each thread computes a contiguous range of words; the lists are then joined
  std::vector<std::vector<uint32_t>> parts(threads);
  std::vector<uint64_t> lengths(n);
  const auto work = [&](int t) {
    const size_t b = n * t / threads, e = n * (t + 1) / threads;
    for (size_t i = b; i < e; ++i) {
      const size_t before = parts[t].size();
      ft_ngrams(words[i], min_n, max_n, bucket, parts[t]);
      lengths[i] = parts[t].size() - before;
    }
  };
  if (threads == 1) {
    work(0);  // a few words (an out-of-vocabulary lookup): no thread to start
  } else {
    std::atomic<bool> stop{false};
    run_parallel(threads, work, [] { return true; }, stop);
  }
  SubwordTable table;
  table.offsets.resize(n + 1);
  table.offsets[0] = 0;
  for (size_t i = 0; i < n; ++i) table.offsets[i + 1] = table.offsets[i] + lengths[i];
  table.ids.reserve(table.offsets[n]);
  for (const auto& p : parts) table.ids.insert(table.ids.end(), p.begin(), p.end());
  return table;
}

}  // namespace dv

namespace {

void check_ngram_args(int min_n, int max_n, int64_t bucket) {
  DV_CHECK(max_n >= 0, "max_n must be >= 0, got " << max_n);
  DV_CHECK(max_n == 0 || (min_n >= 1 && min_n <= max_n),
           "min_n must be in 1..max_n, got min_n=" << min_n << ", max_n=" << max_n);
  DV_CHECK(bucket >= 1 && bucket <= 0xFFFFFFFFll, "bucket must be in 1..2^32-1, got " << bucket);
}

py::tuple subword_table(const std::vector<std::string>& words, int min_n, int max_n, int64_t bucket,
                        int threads) {
  check_ngram_args(min_n, max_n, bucket);
  dv::SubwordTable t;
  {
    py::gil_scoped_release release;
    t = dv::ft_subword_table(words, min_n, max_n, static_cast<uint32_t>(bucket), threads);
  }
  py::array_t<uint64_t> off(t.offsets.size());
  std::copy(t.offsets.begin(), t.offsets.end(), off.mutable_data());
  py::array_t<uint32_t> ids(t.ids.size());
  std::copy(t.ids.begin(), t.ids.end(), ids.mutable_data());
  return py::make_tuple(off, ids);
}

// out[i] = mean of word_rows[i] (when given) and the n-gram rows of word i;
// zeros for a word with neither.
py::array_t<float> compose(py::object word_rows, const py::array_t<float, py::array::c_style>& ngrams,
                           const py::array_t<uint64_t, py::array::c_style>& offsets,
                           const py::array_t<uint32_t, py::array::c_style>& ids, int threads) {
  DV_CHECK(ngrams.ndim() == 2, "ngrams must be 2-dimensional");
  DV_CHECK(offsets.ndim() == 1 && offsets.size() >= 1, "offsets must be 1-dimensional and non-empty");
  const size_t d = static_cast<size_t>(ngrams.shape(1));
  const uint64_t n = static_cast<uint64_t>(offsets.size()) - 1, rows = static_cast<uint64_t>(ngrams.shape(0));
  const uint64_t* off = offsets.data();
  const uint32_t* id = ids.data();
  DV_CHECK(off[0] == 0 && off[n] == static_cast<uint64_t>(ids.size()), "offsets must run from 0 to len(ids)");
  for (uint64_t i = 0; i < n; ++i) DV_CHECK(off[i] <= off[i + 1], "offsets must not decrease");
  for (py::ssize_t i = 0; i < ids.size(); ++i) DV_CHECK(id[i] < rows, "ids refer past the rows of ngrams");
  py::array_t<float, py::array::c_style> words;
  const float* wr = nullptr;
  if (!word_rows.is_none()) {
    words = word_rows.cast<py::array_t<float, py::array::c_style>>();
    DV_CHECK(words.ndim() == 2 && static_cast<uint64_t>(words.shape(0)) == n &&
                 static_cast<size_t>(words.shape(1)) == d,
             "word_rows must have one row of ngrams' width per word");
    wr = words.data();
  }
  py::array_t<float> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(d)});
  float* o = out.mutable_data();
  const float* g = ngrams.data();
  {
    py::gil_scoped_release release;
    int t = threads <= 0 ? dv::hardware_threads() : threads;
    t = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(t, n / 1024)));
    std::atomic<bool> stop{false};
    dv::run_parallel(
        t,
        [&](int k) {
          for (uint64_t i = n * k / t; i < n * (k + 1) / t; ++i) {
            float* r = o + i * d;
            std::fill(r, r + d, 0.0f);
            if (wr)
              for (size_t c = 0; c < d; ++c) r[c] = wr[i * d + c];
            for (uint64_t q = off[i]; q < off[i + 1]; ++q)
              for (size_t c = 0; c < d; ++c) r[c] += g[size_t(id[q]) * d + c];
            const uint64_t parts = off[i + 1] - off[i] + (wr ? 1 : 0);
            if (parts > 1) {
              const float scale = 1.0f / static_cast<float>(parts);
              for (size_t c = 0; c < d; ++c) r[c] *= scale;
            }
          }
        },
        [] { return true; }, stop);
  }
  return out;
}

}  // namespace

void bind_fasttext(py::module_& m) {
  m.def("ft_subwords", &subword_table, py::kw_only(), py::arg("words"), py::arg("min_n"),
        py::arg("max_n"), py::arg("bucket"), py::arg("threads") = 0,
        "fastText n-gram ids of each word (UTF-8 str), computed in parallel: (offsets uint64 "
        "(n+1,), ids uint32): word i's n-grams are ids[offsets[i]:offsets[i+1]].");
  m.def("ft_compose", &compose, py::kw_only(), py::arg("word_rows"), py::arg("ngrams"), py::arg("offsets"),
        py::arg("ids"), py::arg("threads") = 0,
        "Mean of each word's row (word_rows, or None) and its n-gram rows, float32 (n, dim), in parallel.");
  m.def("ft_hash", [](const py::bytes& b) { return dv::ft_hash(std::string_view(b)); }, py::arg("data"),
        "fastText's 32-bit FNV-1a hash of bytes (each byte sign-extended, as fastText does).");
}
