// Streaming whitespace tokenizer over byte ranges of files.
//
// Tokens are maximal runs of bytes that are not separators. Separators are the
// ASCII whitespace bytes (space, \t, \n, \v, \f, \r) and NUL. '\n' also ends a
// sentence. Files are read with pread in fixed blocks, so memory stays bounded
// whatever the line length.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dv {

struct ByteClass {
  bool sep[256];
  constexpr ByteClass() : sep() {
    sep[static_cast<unsigned char>(' ')] = true;
    sep[static_cast<unsigned char>('\t')] = true;
    sep[static_cast<unsigned char>('\n')] = true;
    sep[static_cast<unsigned char>('\v')] = true;
    sep[static_cast<unsigned char>('\f')] = true;
    sep[static_cast<unsigned char>('\r')] = true;
    sep[0] = true;
  }
};
inline constexpr ByteClass kByteClass{};

inline bool is_separator(unsigned char c) { return kByteClass.sep[c]; }

// First separator in [p, e), or e. SSE2 (part of every x86-64) classifies 16
// bytes at a time; other CPUs use the byte table.
inline const char* find_separator(const char* p, const char* e) {
#if defined(__SSE2__)
  const __m128i nine = _mm_set1_epi8(9), four = _mm_set1_epi8(4), space = _mm_set1_epi8(' ');
  while (e - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i t = _mm_sub_epi8(x, nine);  // \t..\r -> 0..4
    const __m128i ctrl = _mm_cmpeq_epi8(_mm_min_epu8(t, four), t);
    const __m128i sep = _mm_or_si128(_mm_or_si128(ctrl, _mm_cmpeq_epi8(x, space)),
                                     _mm_cmpeq_epi8(x, _mm_setzero_si128()));
    const int mask = _mm_movemask_epi8(sep);
    if (mask) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < e && !is_separator(static_cast<unsigned char>(*p))) ++p;
  return p;
}

// Strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
// the same rule as Python's bytes.decode("utf-8").
bool valid_utf8(const unsigned char* s, size_t n);

// A byte range [begin, end) of one file, starting at the beginning of a line.
struct FileRange {
  uint32_t file = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Splits files into ranges of about target_bytes each, every range starting at
// a line start, so that range contents do not depend on the thread count.
std::vector<FileRange> split_files(const std::vector<std::string>& paths, uint64_t target_bytes);

// Counters of what the tokenizer dropped.
struct ScanStats {
  uint64_t tokens = 0;        // tokens delivered
  uint64_t invalid_utf8 = 0;  // tokens dropped: not valid UTF-8 (set by callers that check)
  uint64_t too_long = 0;      // tokens dropped: longer than max_token_bytes
  uint64_t bytes = 0;         // bytes read
  void add(const ScanStats& o) {
    tokens += o.tokens;
    invalid_utf8 += o.invalid_utf8;
    too_long += o.too_long;
    bytes += o.bytes;
  }
};

// Open file descriptor with RAII close. Throws IOError naming the path on failure.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  // Reads up to n bytes at offset; returns the count (0 at EOF). Retries EINTR.
  size_t read_at(char* buf, size_t n, uint64_t offset) const;
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Opens every path (in order); IOError / ValueError naming the first that fails.
std::vector<std::unique_ptr<InputFile>> open_files(const std::vector<std::string>& paths);

// A file written front to back, created (or truncated) with RAII close.
// Throws IOError naming the path on failure. close() reports a failed close;
// durability (fsync) is the Python writer's job, which installs the file.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write_all(const void* data, size_t n);  // retries EINTR and short writes
  void close();

 private:
  int fd_ = -1;
  std::string path_;
};

// Scans [begin, end) of a file. on_token(const char*, size_t) gets every token
// of at most max_token_bytes bytes; on_newline() is called at each '\n' and once
// at the end of the range. Longer tokens are dropped and counted. Returns early
// (without the final on_newline) when *stop becomes true.
template <class OnToken, class OnNewline>
void scan_range(const InputFile& in, uint64_t begin, uint64_t end, size_t max_token_bytes,
                OnToken&& on_token, OnNewline&& on_newline, ScanStats& stats,
                const std::atomic<bool>& stop) {
  constexpr size_t kBlock = size_t(1) << 20;
  std::vector<char> buf(kBlock);
  std::string carry;       // a token cut by the end of the previous block
  bool carry_too_long = false;
  bool in_token = false;   // the previous block ended inside a token
  uint64_t pos = begin;
  while (pos < end) {
    if (stop.load(std::memory_order_relaxed)) return;
    size_t want = static_cast<size_t>(std::min<uint64_t>(kBlock, end - pos));
    size_t got = in.read_at(buf.data(), want, pos);
    if (got == 0) break;  // file shrank while reading: treat as end
    stats.bytes += got;
    pos += got;
    const char* p = buf.data();
    const char* const e = p + got;
    while (p < e) {
      if (in_token) {
        const char* q = find_separator(p, e);
        if (!carry_too_long) {
          if (carry.size() + static_cast<size_t>(q - p) > max_token_bytes) {
            carry_too_long = true;
            carry.clear();
          } else {
            carry.append(p, q);
          }
        }
        p = q;
        if (q == e) break;  // token continues in the next block
        in_token = false;
        if (carry_too_long) {
          ++stats.too_long;
        } else {
          ++stats.tokens;
          on_token(carry.data(), carry.size());
        }
        carry.clear();
        carry_too_long = false;
        continue;
      }
      unsigned char c = static_cast<unsigned char>(*p);
      if (is_separator(c)) {
        if (c == '\n') on_newline();
        ++p;
        continue;
      }
      const char* q = find_separator(p + 1, e);
      if (q == e) {  // may continue in the next block
        in_token = true;
        carry_too_long = static_cast<size_t>(q - p) > max_token_bytes;
        if (!carry_too_long) carry.assign(p, q);
        p = q;
        break;
      }
      if (static_cast<size_t>(q - p) > max_token_bytes) {
        ++stats.too_long;
      } else {
        ++stats.tokens;
        on_token(p, static_cast<size_t>(q - p));
      }
      p = q;
    }
  }
  if (in_token) {
    if (carry_too_long) {
      ++stats.too_long;
    } else {
      ++stats.tokens;
      on_token(carry.data(), carry.size());
    }
  }
  on_newline();
}

}  // namespace dv
