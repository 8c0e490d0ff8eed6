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
#include <string>
#include <vector>

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
        const char* q = p;
        while (q < e && !is_separator(static_cast<unsigned char>(*q))) ++q;
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
      const char* q = p + 1;
      while (q < e && !is_separator(static_cast<unsigned char>(*q))) ++q;
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
