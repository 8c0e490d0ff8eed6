#include "dist.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common.h"
#include "cooccur.h"
#include "py_arrays.h"

namespace dv {

namespace {

constexpr uint32_t kMark = 0xFFFFFFFFu;  // line end in a stream; "no id" in a lookup

}  // namespace

FileScan scan_file(const std::string& path, uint64_t max_token_bytes, const std::string& stream_path,
                   const std::atomic<bool>& stop) {
  InputFile in(path);
  StringTable table(1 << 16);
  FileScan r;
  std::vector<uint32_t> out;
  out.reserve(1 << 18);
  OutputFile stream(stream_path);
  auto spill = [&] {
    stream.write_all(out.data(), out.size() * sizeof(uint32_t));
    out.clear();
  };
  scan_range(
      in, 0, in.size(), static_cast<size_t>(max_token_bytes),
      [&](const char* s, size_t n) {
        bool inserted;
        uint64_t& v = table.upsert(s, n, r.counts.size(), &inserted);
        if (inserted) {
          DV_CHECK(r.counts.size() < kMark, path << ": too many distinct words");
          r.counts.push_back(0);
          r.invalid.push_back(!valid_utf8(reinterpret_cast<const unsigned char*>(s), n));
        }
        ++r.counts[v];
        out.push_back(static_cast<uint32_t>(v));
        if (out.size() >= (1 << 18)) spill();
      },
      [&] { out.push_back(kMark); }, r.stats, stop);
  spill();
  stream.close();
  std::vector<std::string> by_number(r.counts.size());  // copies: for_each's view is transient
  size_t bytes = 0;
  table.for_each([&](std::string_view w, uint64_t v) {
    by_number[v].assign(w);
    bytes += w.size() + 1;
  });
  r.words.reserve(bytes);
  for (size_t i = 0; i < by_number.size(); ++i) {
    if (i) r.words.push_back('\n');
    r.words.append(by_number[i]);
  }
  return r;
}

namespace {

// Calls f(i, word) for the n '\n'-separated words of a part; checks their number.
template <class F>
void each_word(const ScanPart& p, F&& f) {
  DV_CHECK(p.n > 0 || p.words.empty(), "a part lists words but no counts");
  size_t pos = 0;
  for (size_t i = 0; i < p.n; ++i) {
    const bool last = i + 1 == p.n;
    size_t nl = p.words.find('\n', pos);
    DV_CHECK(last == (nl == std::string_view::npos), "a part lists a different number of words than "
                                                    << p.n << " counts");
    if (last) nl = p.words.size();
    f(i, p.words.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

}  // namespace

VocabMerge merge_scans(const std::vector<ScanPart>& parts, uint64_t min_count, uint64_t max_vocab) {
  size_t largest = 0;
  for (const ScanPart& p : parts) largest = std::max(largest, p.n);
  WordCounter merged(largest + largest / 4);
  for (const ScanPart& p : parts)
    each_word(p, [&](size_t i, std::string_view w) {
      merged.add(w.data(), w.size(), p.counts[i], p.invalid[i] != 0);
    });
  VocabMerge r;
  r.vocab = build_vocab(merged, min_count, max_vocab);
  merged = WordCounter();
  StringTable final_ids(r.vocab.words.size() + 16);
  for (size_t i = 0; i < r.vocab.words.size(); ++i) {
    bool inserted;
    final_ids.upsert(r.vocab.words[i].data(), r.vocab.words[i].size(), i, &inserted);
  }
  r.lookups.resize(parts.size());
  for (size_t k = 0; k < parts.size(); ++k) {
    std::vector<uint32_t>& lookup = r.lookups[k];
    lookup.assign(parts[k].n, kMark);
    each_word(parts[k], [&](size_t i, std::string_view w) {
      if (const uint64_t* f = final_ids.find(w.data(), w.size())) lookup[i] = static_cast<uint32_t>(*f);
    });
  }
  return r;
}

std::pair<uint64_t, uint64_t> encode_stream(const std::string& stream_path, const uint32_t* lookup,
                                            size_t n_lookup, uint64_t max_sentence_length,
                                            const std::string& ids_path, const std::string& offsets_path) {
  DV_CHECK(max_sentence_length > 0, "max_sentence_length must be positive");
  InputFile in(stream_path);
  DV_CHECK(in.size() % sizeof(uint32_t) == 0, stream_path << ": size is not a multiple of 4");
  OutputFile ids_out(ids_path), off_out(offsets_path);
  constexpr size_t kBlock = 1 << 20;
  std::vector<uint32_t> buf(kBlock), ids;
  std::vector<uint64_t> ends{0};
  ids.reserve(kBlock + 1);
  uint64_t written = 0, sentences = 0, sent_start = 0;  // sent_start: absolute id position
  auto flush = [&] {
    ids_out.write_all(ids.data(), ids.size() * sizeof(uint32_t));
    written += ids.size();
    ids.clear();
    off_out.write_all(ends.data(), ends.size() * sizeof(uint64_t));
    sentences += ends.size();
    ends.clear();
  };
  const uint64_t n = in.size() / sizeof(uint32_t);
  for (uint64_t at = 0; at < n; at += kBlock) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBlock, n - at));
    const size_t got = in.read_at(reinterpret_cast<char*>(buf.data()), want * sizeof(uint32_t),
                                  at * sizeof(uint32_t));
    DV_CHECK(got == want * sizeof(uint32_t), stream_path << ": short read");
    for (size_t k = 0; k < want; ++k) {
      const uint32_t local = buf[k];
      const uint64_t pos = written + ids.size();
      if (local == kMark) {
        if (pos > sent_start) ends.push_back(sent_start = pos);
        continue;
      }
      DV_CHECK(local < n_lookup, stream_path << ": word number " << local << " past the lookup of "
                                              << n_lookup << " words");
      const uint32_t id = lookup[local];
      if (id == kMark) continue;
      ids.push_back(id);
      if (pos + 1 - sent_start == max_sentence_length) ends.push_back(sent_start = pos + 1);
    }
    flush();
  }
  const uint64_t pos = written + ids.size();
  if (pos > sent_start) ends.push_back(pos);
  flush();
  ids_out.close();
  off_out.close();
  return {written, sentences - 1};  // the leading 0 is not a sentence
}

namespace {

// A forward reader of the records of rows [lo, hi) of one sorted record file.
class RecordCursor {
 public:
  RecordCursor(const std::string& path, uint32_t lo, uint32_t hi) : in_(path) {
    DV_CHECK(in_.size() % sizeof(CoocRecord) == 0, path << ": size is not a multiple of 12");
    const uint64_t n = in_.size() / sizeof(CoocRecord);
    pos_ = lower_row(lo, n);
    end_ = lower_row(hi, n);
    fill();
  }
  bool done() const { return at_ == buf_.size(); }
  uint64_t key() const { return uint64_t(buf_[at_].row) << 32 | buf_[at_].col; }
  const CoocRecord& rec() const { return buf_[at_]; }
  void next() {
    if (++at_ == buf_.size()) fill();
  }

 private:
  CoocRecord read(uint64_t i) const {
    CoocRecord r;
    DV_CHECK(in_.read_at(reinterpret_cast<char*>(&r), sizeof r, i * sizeof r) == sizeof r,
             in_.path() << ": short read");
    return r;
  }
  uint64_t lower_row(uint32_t row, uint64_t n) const {  // first record whose row >= `row`
    uint64_t a = 0, b = n;
    while (a < b) {
      uint64_t m = a + (b - a) / 2;
      if (read(m).row < row) a = m + 1; else b = m;
    }
    return a;
  }
  void fill() {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBlock, end_ - pos_));
    buf_.resize(want);
    at_ = 0;
    if (want == 0) return;
    DV_CHECK(in_.read_at(reinterpret_cast<char*>(buf_.data()), want * sizeof(CoocRecord),
                         pos_ * sizeof(CoocRecord)) == want * sizeof(CoocRecord),
             in_.path() << ": short read");
    pos_ += want;
  }
  static constexpr size_t kBlock = 1 << 16;
  InputFile in_;
  uint64_t pos_ = 0, end_ = 0;
  std::vector<CoocRecord> buf_;
  size_t at_ = 0;
};

}  // namespace

std::pair<uint64_t, uint64_t> merge_cooc_rows(const std::vector<std::string>& paths, uint32_t lo,
                                              uint32_t hi, const std::string& out_path) {
  std::vector<std::unique_ptr<RecordCursor>> runs;
  for (const std::string& p : paths) {
    auto c = std::make_unique<RecordCursor>(p, lo, hi);
    if (!c->done()) runs.push_back(std::move(c));
  }
  OutputFile out(out_path);
  std::vector<CoocRecord> buf;
  buf.reserve(1 << 16);
  uint64_t stored = 0, diag = 0;
  uint64_t prev = 0;
  bool first = true;
  while (!runs.empty()) {
    uint64_t key = runs[0]->key();
    for (size_t k = 1; k < runs.size(); ++k) key = std::min(key, runs[k]->key());
    DV_CHECK(first || key > prev, "the partial records are not sorted by (row, col)");
    first = false;
    prev = key;
    double sum = 0;
    for (size_t k = 0; k < runs.size();) {  // in the files' order
      if (runs[k]->key() == key) {
        sum += runs[k]->rec().value;
        runs[k]->next();
        DV_CHECK(runs[k]->done() || runs[k]->key() > key, "a partial record file is not sorted by (row, col) "
                                                            "or repeats a pair");
        if (runs[k]->done()) {
          runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(k));
          continue;
        }
      }
      ++k;
    }
    const CoocRecord r{static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key), static_cast<float>(sum)};
    diag += r.row == r.col;
    buf.push_back(r);
    if (buf.size() == buf.capacity()) {
      out.write_all(buf.data(), buf.size() * sizeof(CoocRecord));
      stored += buf.size();
      buf.clear();
    }
  }
  out.write_all(buf.data(), buf.size() * sizeof(CoocRecord));
  stored += buf.size();
  out.close();
  return {stored, diag};
}

}  // namespace dv

// ---------------------------------------------------------------- bindings
namespace py = pybind11;

namespace {

using dv::pybind::vector_to_numpy;

// Checks an array argument (dtype by value: an array may carry an equal dtype
// object other than numpy's cached one) and returns its data.
template <class T>
const T* checked(const py::array& a, const char* name) {
  DV_CHECK(a.dtype().equal(py::dtype::of<T>()) && a.ndim() == 1 && (a.flags() & py::array::c_style),
           name << " must be a 1-dimensional C-contiguous array of "
                << py::str(py::dtype::of<T>()).cast<std::string>() << ", got "
                << py::str(a.dtype()).cast<std::string>());
  return static_cast<const T*>(a.data());
}

py::dict dist_scan_file(const std::string& path, uint64_t max_token_bytes, const std::string& stream_path) {
  std::atomic<bool> stop{false};
  dv::FileScan r;
  {
    py::gil_scoped_release release;
    r = dv::scan_file(path, max_token_bytes, stream_path, stop);
  }
  py::dict out;
  out["words"] = py::bytes(r.words);
  out["counts"] = vector_to_numpy(std::move(r.counts));
  out["invalid"] = vector_to_numpy(std::move(r.invalid));
  out["tokens"] = r.stats.tokens;
  out["too_long"] = r.stats.too_long;
  out["bytes"] = r.stats.bytes;
  return out;
}

py::dict dist_merge_scans(const py::list& words, const py::list& counts, const py::list& invalid,
                          uint64_t min_count, uint64_t max_vocab) {
  DV_CHECK(words.size() == counts.size() && words.size() == invalid.size(),
           "words, counts and invalid must have one entry per part");
  std::vector<std::string> blobs;  // copies: the merge runs without the GIL
  std::vector<py::array> arrays;   // keeps the arrays alive
  std::vector<dv::ScanPart> parts;
  for (size_t k = 0; k < words.size(); ++k) {
    blobs.push_back(words[k].cast<std::string>());
    arrays.push_back(counts[k].cast<py::array>());
    arrays.push_back(invalid[k].cast<py::array>());
  }
  for (size_t k = 0; k < blobs.size(); ++k) {
    const py::array& c = arrays[2 * k];
    const py::array& v = arrays[2 * k + 1];
    const uint64_t* cd = checked<uint64_t>(c, "counts");
    const uint8_t* vd = checked<uint8_t>(v, "invalid");
    DV_CHECK(c.size() == v.size(), "part " << k << ": counts and invalid differ in length");
    parts.push_back({blobs[k], cd, vd, static_cast<size_t>(c.size())});
  }
  dv::VocabMerge r;
  {
    py::gil_scoped_release release;
    r = dv::merge_scans(parts, min_count, max_vocab);
  }
  std::string joined;
  for (size_t i = 0; i < r.vocab.words.size(); ++i) {
    if (i) joined.push_back('\n');
    joined.append(r.vocab.words[i]);
  }
  py::list lookups;
  for (auto& l : r.lookups) lookups.append(vector_to_numpy(std::move(l)));
  py::dict out;
  out["words"] = py::bytes(joined);
  out["counts"] = vector_to_numpy(std::move(r.vocab.counts));
  out["lookups"] = lookups;
  out["raw_tokens"] = r.vocab.raw_tokens;
  out["distinct_words"] = r.vocab.distinct_words;
  out["invalid_utf8"] = r.vocab.invalid_utf8;
  return out;
}

py::tuple dist_encode_stream(const std::string& stream_path, const py::array& lookup,
                             uint64_t max_sentence_length, const std::string& ids_path,
                             const std::string& offsets_path) {
  const uint32_t* l = checked<uint32_t>(lookup, "lookup");
  const size_t n = static_cast<size_t>(lookup.size());
  std::pair<uint64_t, uint64_t> r;
  {
    py::gil_scoped_release release;
    r = dv::encode_stream(stream_path, l, n, max_sentence_length, ids_path, offsets_path);
  }
  return py::make_tuple(r.first, r.second);
}

py::tuple dist_merge_cooc_rows(const std::vector<std::string>& paths, uint32_t lo, uint32_t hi,
                               const std::string& out_path) {
  std::pair<uint64_t, uint64_t> r;
  {
    py::gil_scoped_release release;
    r = dv::merge_cooc_rows(paths, lo, hi, out_path);
  }
  return py::make_tuple(r.first, r.second);
}

}  // namespace

void bind_dist(py::module_& m) {
  m.def("dist_scan_file", &dist_scan_file, py::kw_only(), py::arg("path"), py::arg("max_token_bytes"),
        py::arg("stream_path"),
        "Pass 1 of one file for densevec.distributed: words (bytes, '\\n'-separated, in number order), "
        "counts, invalid flags and scan statistics; the file's word-number stream goes to stream_path.");
  m.def("dist_merge_scans", &dist_merge_scans, py::kw_only(), py::arg("words"), py::arg("counts"),
        py::arg("invalid"), py::arg("min_count"), py::arg("max_vocab"),
        "The parts' scans reduced to one vocabulary (build_corpus's pruning and order) and a lookup per part.");
  m.def("dist_encode_stream", &dist_encode_stream, py::kw_only(), py::arg("stream_path"), py::arg("lookup"),
        py::arg("max_sentence_length"), py::arg("ids_path"), py::arg("offsets_path"),
        "Pass 2 of one file: its stream mapped, cut and written; returns (ids, sentences).");
  m.def("dist_merge_cooc_rows", &dist_merge_cooc_rows, py::kw_only(), py::arg("paths"), py::arg("lo"),
        py::arg("hi"), py::arg("out_path"),
        "Rows [lo, hi) of sorted partial co-occurrence record files summed into out_path; "
        "returns (records, diagonal records).");
}
