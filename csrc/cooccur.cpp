#include "cooccur.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "common.h"
#include "parallel.h"

namespace dv {
namespace {

// A sparse accumulator slot / a spilled run record: key = row * V + col.
struct Entry {
  uint64_t key;
  double value;
};
constexpr uint64_t kEmpty = ~0ull;
constexpr uint64_t kDenseCapBytes = 512ull << 20;  // per thread

std::string errno_text() { return std::strerror(errno); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A zero-filled array in anonymous memory, backed by transparent huge pages
// where the system allows: the accumulators are hit at random, and 4 KiB pages
// would make most of those hits TLB misses too.
template <class T>
class HugeArray {
 public:
  explicit HugeArray(size_t n) : n_(n) {
    bytes_ = std::max<size_t>(n * sizeof(T), 1);
    constexpr size_t kHuge = 2u << 20;
    if (bytes_ >= kHuge) bytes_ = (bytes_ + kHuge - 1) / kHuge * kHuge;
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw IOError("cannot allocate " + std::to_string(bytes_ >> 20) + " MiB for counting: " + errno_text());
#ifdef MADV_HUGEPAGE
    if (bytes_ >= kHuge) ::madvise(p, bytes_, MADV_HUGEPAGE);
#endif
    data_ = static_cast<T*>(p);
  }
  HugeArray(const HugeArray&) = delete;
  HugeArray& operator=(const HugeArray&) = delete;
  ~HugeArray() { release(); }
  void release() {
    if (data_) ::munmap(data_, bytes_);
    data_ = nullptr;
    n_ = 0;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  size_t n_;
  size_t bytes_;
  T* data_ = nullptr;
};

// Which cells are counted in the dense block: row r holds columns
// [lo(r), hi(r)), those whose rank product (r+1)(c+1) is at most P (the
// frequent pairs, in a Zipfian vocabulary sorted by count). With symmetric
// counting only the upper triangle (c >= r) is stored.
struct DenseLayout {
  uint32_t V = 0;
  bool tri = false;
  uint64_t P = 0;
  std::vector<uint32_t> hi;   // V
  std::vector<uint64_t> off;  // V + 1

  uint32_t lo(uint32_t r) const { return tri ? r : 0; }

  static uint32_t hi_for(uint64_t P, uint32_t r, uint32_t V, bool tri) {
    uint64_t h = std::min<uint64_t>(V, P / (static_cast<uint64_t>(r) + 1));
    if (tri && h < r) h = r;
    return static_cast<uint32_t>(h);
  }
  static uint64_t cells_for(uint64_t P, uint32_t V, bool tri) {
    uint64_t s = 0;
    for (uint32_t r = 0; r < V; ++r) s += hi_for(P, r, V, tri) - (tri ? r : 0);
    return s;
  }
  // The largest region that fits in max_cells.
  DenseLayout(uint32_t vocab, bool triangular, uint64_t max_cells) : V(vocab), tri(triangular) {
    uint64_t lo_p = 0, hi_p = static_cast<uint64_t>(V) * V + 1;
    if (cells_for(hi_p, V, tri) <= max_cells) {
      lo_p = hi_p;
    } else {
      while (hi_p - lo_p > 1) {  // invariant: cells(lo_p) fits, cells(hi_p) does not
        uint64_t mid = lo_p + (hi_p - lo_p) / 2;
        (cells_for(mid, V, tri) <= max_cells ? lo_p : hi_p) = mid;
      }
    }
    P = lo_p;
    hi.resize(V);
    off.resize(static_cast<size_t>(V) + 1);
    off[0] = 0;
    for (uint32_t r = 0; r < V; ++r) {
      hi[r] = hi_for(P, r, V, tri);
      off[r + 1] = off[r] + (hi[r] - lo(r));
    }
  }
  uint64_t cells() const { return off.back(); }
};

// LSD radix sort of a[0..n) by key, 11 bits per pass; tmp holds n entries.
void radix_sort(Entry* a, Entry* tmp, uint64_t n, int key_bits) {
  constexpr int kBits = 11;
  constexpr uint64_t kBuckets = 1u << kBits;
  const int passes = (key_bits + kBits - 1) / kBits;
  if (n < 2 || passes == 0) return;
  std::vector<uint64_t> count(static_cast<size_t>(passes) * kBuckets, 0);
  for (uint64_t i = 0; i < n; ++i)
    for (int p = 0; p < passes; ++p) ++count[p * kBuckets + ((a[i].key >> (p * kBits)) & (kBuckets - 1))];
  Entry* src = a;
  Entry* dst = tmp;
  for (int p = 0; p < passes; ++p) {
    uint64_t* c = &count[p * kBuckets];
    bool trivial = false;
    uint64_t sum = 0;
    for (uint64_t b = 0; b < kBuckets; ++b) {
      if (c[b] == n) trivial = true;
      uint64_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    if (trivial) continue;  // this digit is the same everywhere
    for (uint64_t i = 0; i < n; ++i) dst[c[(src[i].key >> (p * kBits)) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  if (src != a) std::memcpy(a, src, n * sizeof(Entry));
}

// Removes files on destruction (spilled runs), whatever happened.
struct TempFiles {
  std::mutex mu;
  std::vector<std::string> paths;
  void add(const std::string& p) {
    std::lock_guard<std::mutex> lock(mu);
    paths.push_back(p);
  }
  ~TempFiles() {
    for (const auto& p : paths) ::unlink(p.c_str());
  }
};

// A read-only mapping of a spilled run.
class MappedRun {
 public:
  explicit MappedRun(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw IOError(path + ": cannot open spilled run: " + errno_text());
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw IOError(path + ": cannot stat spilled run: " + errno_text());
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw IOError(path + ": cannot map spilled run: " + errno_text());
      }
      data_ = p;
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  MappedRun(const MappedRun&) = delete;
  MappedRun& operator=(const MappedRun&) = delete;
  ~MappedRun() {
    if (data_) ::munmap(data_, size_);
  }
  const Entry* entries() const { return static_cast<const Entry*>(data_); }
  uint64_t count() const { return size_ / sizeof(Entry); }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// One thread's accumulator: the dense block plus the hash table, fed through a
// short queue so that each cell is prefetched a few pairs before it is updated.
class Accumulator {
 public:
  // The hash table starts small and doubles while it (with the copy a
  // doubling needs) stays within hash_bytes; past that it is spilled instead.
  Accumulator(const DenseLayout& layout, const double* weights, uint64_t hash_bytes, int key_bits,
              std::string run_prefix, TempFiles& temps)
      : L_(layout),
        weights_(weights),
        dense_(layout.cells()),
        table_(max_slots(hash_bytes)),
        hash_bytes_(hash_bytes),
        key_bits_(key_bits),
        run_prefix_(std::move(run_prefix)),
        temps_(temps) {
    set_slots(std::min<uint64_t>(table_.size(), 1u << 16));
    clear_table();
    const uint64_t cells = std::max<uint64_t>(layout.cells(), 1);
    while ((cells >> bucket_shift_) > kBuckets) ++bucket_shift_;
    batch_cap_ = std::min<uint64_t>(1u << 19, std::max<uint64_t>(1u << 10, cells));
    batch_.resize(batch_cap_);
    sorted_.resize(batch_cap_);
  }

  static uint64_t max_slots(uint64_t bytes) {
    uint64_t s = 64;
    while (s * 2 * sizeof(Entry) <= bytes) s *= 2;
    return s;
  }

  // Adds weights[code] to cell (r, c).
  void push(uint32_t r, uint32_t c, uint32_t code) {
    if (c < L_.hi[r]) {
      batch_[n_batch_++] = DenseEvent{static_cast<uint32_t>(L_.off[r] + (c - L_.lo(r))), code};
      if (n_batch_ == batch_cap_) flush_dense();
      return;
    }
    Pending& p = ring_[head_ & (kLag - 1)];
    if (head_ >= kLag) apply(p);
    p.w = weights_[code];
    p.key = static_cast<uint64_t>(r) * L_.V + c;
    __builtin_prefetch(&table_[slot_of(p.key)], 1);
    ++head_;
  }

  void flush() {
    flush_dense();
    for (uint64_t i = head_ >= kLag ? head_ - kLag : 0; i < head_; ++i) apply(ring_[i & (kLag - 1)]);
    head_ = 0;
  }

  // Sorts what the table holds into its first half, to be merged from memory.
  void finish() {
    flush();
    n_sorted_ = compact_and_sort();
  }

  const double* dense() const { return dense_.data(); }
  const Entry* sorted() const { return table_.data(); }
  uint64_t n_sorted() const { return n_sorted_; }
  const std::vector<std::string>& runs() const { return runs_; }

 private:
  static constexpr uint64_t kLag = 16;
  static constexpr uint64_t kBuckets = 1024;
  struct Pending {
    uint64_t key;
    double w;
  };
  struct DenseEvent {
    uint32_t cell;
    uint32_t code;
  };

  // Dense updates are batched and grouped by region of the block (a stable
  // counting sort, so each cell still sees its additions in order), then
  // applied region by region: each region fits in cache, where updating the
  // block in event order would miss on almost every pair.
  void flush_dense() {
    if (n_batch_ == 0) return;
    uint32_t count[kBuckets + 1] = {};
    for (uint64_t i = 0; i < n_batch_; ++i) ++count[(batch_[i].cell >> bucket_shift_) + 1];
    for (uint64_t b = 1; b <= kBuckets; ++b) count[b] += count[b - 1];
    for (uint64_t i = 0; i < n_batch_; ++i) sorted_[count[batch_[i].cell >> bucket_shift_]++] = batch_[i];
    double* d = dense_.data();
    constexpr uint64_t kAhead = 24;  // cells of a region are still mostly cache misses
    const uint64_t n = n_batch_;
    for (uint64_t i = 0; i < n; ++i) {
      if (i + kAhead < n) __builtin_prefetch(&d[sorted_[i + kAhead].cell], 1);
      d[sorted_[i].cell] += weights_[sorted_[i].code];
    }
    n_batch_ = 0;
  }

  uint64_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  void set_slots(uint64_t n) {
    slots_ = n;
    mask_ = n - 1;
    shift_ = 64 - log2_exact(n);
    max_size_ = n / 2;
  }

  void insert_new(uint64_t key, double value) {
    uint64_t s = slot_of(key);
    while (table_[s].key != kEmpty) s = (s + 1) & mask_;
    table_[s] = Entry{key, value};
  }

  // Doubles the table (a copy of the entries is kept meanwhile).
  void grow() {
    std::vector<Entry> old;
    old.reserve(size_);
    for (uint64_t i = 0; i < slots_; ++i)
      if (table_[i].key != kEmpty) old.push_back(table_[i]);
    set_slots(slots_ * 2);
    clear_table();
    for (const Entry& e : old) insert_new(e.key, e.value);
    size_ = old.size();
  }

  bool can_grow() const {
    return slots_ * 2 <= table_.size() &&
           (slots_ * 2 + slots_ / 2) * sizeof(Entry) <= hash_bytes_;
  }

  static int log2_exact(uint64_t n) {
    int b = 0;
    while ((1ull << b) < n) ++b;
    return b;
  }

  void apply(const Pending& p) {
    uint64_t s = slot_of(p.key);
    while (true) {
      Entry& e = table_[s];
      if (e.key == p.key) {
        e.value += p.w;
        return;
      }
      if (e.key == kEmpty) {
        e.key = p.key;
        e.value = p.w;
        if (++size_ >= max_size_) {
          if (can_grow()) grow();
          else spill();
        }
        return;
      }
      s = (s + 1) & mask_;
    }
  }

  // Moves the entries to the front of the table and sorts them, using the
  // (then empty) second half as the sort's scratch space.
  uint64_t compact_and_sort() {
    uint64_t n = 0;
    for (uint64_t i = 0; i < slots_; ++i)
      if (table_[i].key != kEmpty) table_[n++] = table_[i];
    radix_sort(table_.data(), table_.data() + slots_ / 2, n, key_bits_);
    return n;
  }

  void spill() {
    const uint64_t n = compact_and_sort();
    std::string path = run_prefix_ + std::to_string(runs_.size()) + ".bin";
    temps_.add(path);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw IOError(path + ": cannot create spill file: " + errno_text());
    size_t wrote = std::fwrite(table_.data(), sizeof(Entry), n, f);
    bool ok = wrote == n;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) throw IOError(path + ": cannot write spill file (disk full?): " + errno_text());
    runs_.push_back(path);
    clear_table();
  }

  void clear_table() {
    for (uint64_t i = 0; i < slots_; ++i) table_[i] = Entry{kEmpty, 0.0};
    size_ = 0;
  }

  const DenseLayout& L_;
  const double* weights_;
  HugeArray<double> dense_;
  HugeArray<Entry> table_;
  uint64_t hash_bytes_;
  uint64_t slots_ = 0;
  uint64_t mask_ = 0;
  int shift_ = 64;
  uint64_t size_ = 0;
  uint64_t max_size_ = 0;
  int key_bits_;
  std::string run_prefix_;
  TempFiles& temps_;
  std::vector<std::string> runs_;
  uint64_t n_sorted_ = 0;
  Pending ring_[kLag] = {};
  uint64_t head_ = 0;
  int bucket_shift_ = 0;
  uint64_t batch_cap_ = 0;
  uint64_t n_batch_ = 0;
  std::vector<DenseEvent> batch_, sorted_;
};

// K-way merge of sorted runs, summing equal keys (in run order, so the sum
// does not depend on the order the heap happens to hold them in).
class Merger {
 public:
  struct Run {
    const Entry* p;
    uint64_t n;
  };
  explicit Merger(std::vector<Run> runs) : runs_(std::move(runs)), pos_(runs_.size(), 0) {
    for (uint32_t i = 0; i < runs_.size(); ++i)
      if (runs_[i].n > 0) heap_.push_back(Head{runs_[i].p[0].key, i});
    std::make_heap(heap_.begin(), heap_.end(), later);
  }
  bool next(uint64_t& key, double& value) {
    if (heap_.empty()) return false;
    const uint64_t best = heap_.front().key;
    double sum = 0;
    while (!heap_.empty() && heap_.front().key == best) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      Head& h = heap_.back();
      const Run& r = runs_[h.run];
      sum += r.p[pos_[h.run]].value;
      if (++pos_[h.run] < r.n) {
        h.key = r.p[pos_[h.run]].key;
        std::push_heap(heap_.begin(), heap_.end(), later);
      } else {
        heap_.pop_back();
      }
    }
    key = best;
    value = sum;
    return true;
  }

 private:
  struct Head {
    uint64_t key;
    uint32_t run;
  };
  static bool later(const Head& a, const Head& b) {
    return a.key > b.key || (a.key == b.key && a.run > b.run);
  }
  std::vector<Run> runs_;
  std::vector<uint64_t> pos_;
  std::vector<Head> heap_;
};

// Streams rows [r0, r1) of the upper-triangle (symmetric) or full (directed)
// matrix in (row, col) order: per row, the dense cells summed over threads,
// then the merged sparse entries (whose columns all lie past the dense ones).
// The runs must hold only keys of those rows.
template <class Emit>
void merge_rows(const DenseLayout& L, const std::vector<const double*>& dense,
                std::vector<Merger::Run> runs, uint32_t r0, uint32_t r1, Emit&& emit) {
  Merger m(std::move(runs));
  uint64_t key = 0;
  double v = 0;
  bool have = m.next(key, v);
  const uint64_t V = L.V;
  for (uint32_t r = r0; r < r1; ++r) {
    const uint64_t base = L.off[r], cells = L.off[r + 1] - base;
    const uint32_t lo = L.lo(r);
    for (uint64_t k = 0; k < cells; ++k) {
      double s = 0;
      for (const double* d : dense) s += d[base + k];
      if (s != 0) emit(r, static_cast<uint32_t>(lo + k), s);
    }
    const uint64_t row_end = (r + 1) * V;
    while (have && key < row_end) {
      emit(r, static_cast<uint32_t>(key - r * V), v);
      have = m.next(key, v);
    }
  }
}

// The part of each run holding rows [r0, r1).
std::vector<Merger::Run> runs_for_rows(const std::vector<Merger::Run>& runs, uint64_t V, uint32_t r0,
                                       uint32_t r1) {
  std::vector<Merger::Run> out;
  for (const Merger::Run& run : runs) {
    auto key_less = [](const Entry& e, uint64_t k) { return e.key < k; };
    const Entry* b = std::lower_bound(run.p, run.p + run.n, r0 * V, key_less);
    const Entry* e = std::lower_bound(b, run.p + run.n, r1 * V, key_less);
    if (e > b) out.push_back({b, static_cast<uint64_t>(e - b)});
  }
  return out;
}

// The output file: each thread writes its own stretch through a buffer
// (pwrite at known offsets), so that the records never sit in this
// process's memory.
class OutputFile {
 public:
  OutputFile(const std::string& path, uint64_t n) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) throw IOError(path + ": cannot create: " + errno_text());
    const off_t size = static_cast<off_t>(n * sizeof(CoocRecord));
    if (size > 0 && ::posix_fallocate(fd_, 0, size) != 0 && ::ftruncate(fd_, size) != 0)
      fail("cannot size");
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Buffered sequential writer from record `first` on.
  class Writer {
   public:
    Writer(OutputFile& f, uint64_t first) : f_(f), next_(first) { buf_.reserve(kBuffer); }
    void put(const CoocRecord& r) {
      buf_.push_back(r);
      if (buf_.size() == kBuffer) flush();
    }
    void flush() {
      f_.write_at(next_, buf_.data(), buf_.size());
      next_ += buf_.size();
      buf_.clear();
    }

   private:
    static constexpr size_t kBuffer = 1 << 16;
    OutputFile& f_;
    uint64_t next_;
    std::vector<CoocRecord> buf_;
  };

  void write_at(uint64_t first, const CoocRecord* recs, size_t n) {
    const char* p = reinterpret_cast<const char*>(recs);
    size_t left = n * sizeof(CoocRecord);
    off_t off = static_cast<off_t>(first * sizeof(CoocRecord));
    while (left > 0) {
      const ssize_t w = ::pwrite(fd_, p, left, off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail("cannot write");
      p += w;
      off += w;
      left -= static_cast<size_t>(w);
    }
  }

  void close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw IOError(path_ + ": cannot close: " + errno_text());
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw IOError(path_ + ": " + what + " the output (disk full?): " + errno_text());
  }
  std::string path_;
  int fd_ = -1;
};

}  // namespace

CoocStats count_cooccurrence(const CoocConfig& cfg, const uint32_t* ids, const uint64_t* offsets,
                             uint64_t n_sentences, uint32_t vocab,
                             const std::string& out_path, std::atomic<uint64_t>& tokens_done,
                             std::atomic<bool>& stop, const std::function<bool()>& poll) {
  DV_CHECK(cfg.window > 0, "window must be positive, got " << cfg.window);
  DV_CHECK(vocab > 0, "the vocabulary is empty");
  DV_CHECK(cfg.chunk_tokens > 0, "chunk_tokens must be positive");
  const int T = std::max(1, cfg.threads);
  const bool tri = cfg.symmetric;

  // Budget: split evenly over threads; up to half of each share (capped) for
  // the dense block, the rest for the hash table (which grows on demand).
  const uint64_t per_thread = cfg.memory_bytes / T;
  const uint64_t full_cells = DenseLayout::cells_for(static_cast<uint64_t>(vocab) * vocab + 1, vocab, tri);
  const uint64_t dense_cells = std::min(full_cells, std::min(per_thread / 2, kDenseCapBytes) / sizeof(double));
  DenseLayout layout(vocab, tri, dense_cells);
  const bool all_dense = layout.cells() == full_cells;
  const uint64_t dense_bytes = layout.cells() * sizeof(double);
  const uint64_t min_hash = 64 * 2 * sizeof(Entry);
  const uint64_t hash_bytes = all_dense ? min_hash : std::max(min_hash, per_thread > dense_bytes ? per_thread - dense_bytes : 0);
  const uint64_t vv = static_cast<uint64_t>(vocab) * vocab;
  int key_bits = 0;
  while (key_bits < 64 && (1ull << key_bits) < vv) ++key_bits;

  // Work units: runs of whole sentences of about chunk_tokens tokens.
  std::vector<uint64_t> chunks{0};
  while (chunks.back() < n_sentences) {
    const uint64_t s = chunks.back();
    const uint64_t* e = std::lower_bound(offsets + s + 1, offsets + n_sentences + 1, offsets[s] + cfg.chunk_tokens);
    chunks.push_back(std::min<uint64_t>(static_cast<uint64_t>(e - offsets), n_sentences));
  }
  const uint64_t n_chunks = chunks.size() - 1;

  // Weight codes: d for a pair at distance d, window + 1 + d for a word
  // paired with itself (both orientations land on the diagonal).
  // No pair is further apart than the longest sentence: a larger window
  // (up to 2^32 - 1) counts the same pairs, so the weight table stops there.
  uint64_t longest = 1;
  for (uint64_t s = 0; s < n_sentences; ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
  const uint32_t W = static_cast<uint32_t>(std::min<uint64_t>(cfg.window, longest));
  std::vector<double> weights(2 * (static_cast<size_t>(W) + 1), 0.0);
  for (uint32_t d = 1; d <= W; ++d) {
    weights[d] = cfg.harmonic ? 1.0 / d : 1.0;
    weights[W + 1 + d] = 2 * weights[d];
  }

  TempFiles temps;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Accumulator>> acc(T);
  std::vector<uint64_t> events(T, 0);
  std::atomic<uint64_t> next_chunk{0};
  run_parallel(
      T,
      [&](int t) {
        acc[t] = std::make_unique<Accumulator>(
            layout, weights.data(), hash_bytes, key_bits, cfg.tmp_dir + "/run-" + std::to_string(t) + "-", temps);
        Accumulator& a = *acc[t];
        uint64_t ev = 0;
        for (;;) {
          const uint64_t ch = next_chunk.fetch_add(1);
          if (ch >= n_chunks || stop.load(std::memory_order_relaxed)) break;
          for (uint64_t s = chunks[ch]; s < chunks[ch + 1]; ++s) {
            const uint32_t* sent = ids + offsets[s];
            const uint64_t n = offsets[s + 1] - offsets[s];
            for (uint64_t i = 1; i < n; ++i) {
              const uint32_t right = sent[i];
              const uint64_t dmax = std::min<uint64_t>(cfg.window, i);
              for (uint64_t d = 1; d <= dmax; ++d) {
                const uint32_t left = sent[i - d];
                const uint32_t code = static_cast<uint32_t>(d);
                if (!tri) {
                  a.push(left, right, code);
                } else {  // branch-free: the order of the two words is a coin flip
                  const uint32_t lo = std::min(left, right), hi = std::max(left, right);
                  a.push(lo, hi, left == right ? code + W + 1 : code);
                }
              }
              ev += dmax;
            }
          }
          tokens_done.fetch_add(offsets[chunks[ch + 1]] - offsets[chunks[ch]], std::memory_order_relaxed);
        }
        a.finish();
        events[t] = ev;
      },
      poll, stop);
  DV_CHECK(!stop.load(), "co-occurrence counting was interrupted");

  CoocStats st;
  st.count_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < T; ++t) st.events += (tri ? 2 : 1) * events[t];
  st.dense_cells = layout.cells();
  st.hash_slots = all_dense ? 0 : Accumulator::max_slots(hash_bytes);
  st.max_product = layout.P;

  std::vector<std::unique_ptr<MappedRun>> mapped;
  std::vector<Merger::Run> runs;
  std::vector<const double*> dense;
  for (int t = 0; t < T; ++t) {
    dense.push_back(acc[t]->dense());
    for (const auto& p : acc[t]->runs()) {
      mapped.push_back(std::make_unique<MappedRun>(p));
      runs.push_back({mapped.back()->entries(), mapped.back()->count()});
    }
    if (acc[t]->n_sorted()) runs.push_back({acc[t]->sorted(), acc[t]->n_sorted()});
  }
  st.runs_spilled = mapped.size();

  // The merge runs on `T` threads over row ranges of about equal work (dense
  // cells plus sparse entries). Pass 1 counts each row's records, pass 2
  // writes every range's records in place (each range is one sequential
  // stretch of the file), so the file does not depend on the thread count.
  // With symmetric counting the file holds the upper triangle (row <= col).
  const uint64_t V = vocab;
  auto work_below = [&](uint32_t r) {
    uint64_t w = layout.off[r];
    for (const Merger::Run& run : runs)
      w += static_cast<uint64_t>(std::lower_bound(run.p, run.p + run.n, r * V,
                                                  [](const Entry& e, uint64_t k) { return e.key < k; }) -
                                 run.p);
    return w;
  };
  std::vector<uint32_t> bounds{0};
  const uint64_t total_work = work_below(vocab);
  for (int t = 1; t < T; ++t) {
    uint32_t lo = bounds.back(), hi = vocab;
    while (lo < hi) {  // first row whose preceding work reaches t/T of the total
      const uint32_t mid = lo + (hi - lo) / 2;
      if (work_below(mid) * T < total_work * t) lo = mid + 1; else hi = mid;
    }
    bounds.push_back(lo);
  }
  bounds.push_back(vocab);
  std::vector<uint64_t> per_row(vocab, 0), diagonal(T, 0);
  run_parallel(
      T,
      [&](int t) {
        uint64_t diag = 0;
        merge_rows(layout, dense, runs_for_rows(runs, V, bounds[t], bounds[t + 1]), bounds[t],
                   bounds[t + 1], [&](uint32_t r, uint32_t c, double) {
                     ++per_row[r];
                     diag += r == c;
                   });
        diagonal[t] = diag;
      },
      poll, stop);
  DV_CHECK(!stop.load(), "co-occurrence counting was interrupted");
  st.size_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<uint64_t> cursor(vocab);
  uint64_t total = 0, diag = 0;
  for (uint32_t r = 0; r < vocab; ++r) {
    cursor[r] = total;
    total += per_row[r];
  }
  for (int t = 0; t < T; ++t) diag += diagonal[t];
  OutputFile out(out_path, total);
  run_parallel(
      T,
      [&](int t) {
        OutputFile::Writer w(out, bounds[t] < vocab ? cursor[bounds[t]] : total);
        merge_rows(layout, dense, runs_for_rows(runs, V, bounds[t], bounds[t + 1]), bounds[t],
                   bounds[t + 1], [&](uint32_t r, uint32_t c, double v) {
                     w.put(CoocRecord{r, c, static_cast<float>(v)});
                   });
        w.flush();
      },
      poll, stop);
  DV_CHECK(!stop.load(), "co-occurrence counting was interrupted");
  out.close();
  st.write_seconds = seconds_since(t0);
  st.stored = total;
  st.nnz = tri ? 2 * total - diag : total;
  return st;
}

void validate_cooc(const CoocRecord* recs, uint64_t n, uint32_t vocab, bool upper) {
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const CoocRecord& r = recs[i];
    DV_CHECK(r.row < vocab && r.col < vocab,
             "record " << i << " refers to word " << std::max(r.row, r.col) << ", past the "
                       << vocab << "-word vocabulary");
    DV_CHECK(std::isfinite(r.value) && r.value > 0,
             "record " << i << " has value " << r.value << " (expected a positive finite count)");
    DV_CHECK(!upper || r.row <= r.col,
             "record " << i << " (" << r.row << ", " << r.col << ") lies below the diagonal of an "
                       << "upper-triangle (symmetric) matrix");
    const uint64_t key = static_cast<uint64_t>(r.row) * vocab + r.col;
    DV_CHECK(i == 0 || key > prev, "record " << i << " is out of (row, col) order or repeated");
    prev = key;
  }
}

}  // namespace dv
