#include "tokenizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common.h"

namespace dv {

bool valid_utf8(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlongs
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlongs
      if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
    } else {
      return false;
    }
    if (i + len > n) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
    i += len;
  }
  return true;
}

InputFile::InputFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IOError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    ::close(fd_);
    throw IOError(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw ValueError(path + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

std::vector<std::unique_ptr<InputFile>> open_files(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<InputFile>> files;
  for (const auto& p : paths) files.push_back(std::make_unique<InputFile>(p));
  return files;
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IOError(path + ": cannot create: " + std::strerror(errno));
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::write_all(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IOError(path_ + ": write failed: " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void OutputFile::close() {
  const int fd = fd_;
  fd_ = -1;
  if (fd >= 0 && ::close(fd) != 0) throw IOError(path_ + ": close failed: " + std::strerror(errno));
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

size_t InputFile::read_at(char* buf, size_t n, uint64_t offset) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IOError(path_ + ": read failed: " + std::strerror(errno));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

// Offset just past the first '\n' at or after `from`, or the file size.
static uint64_t next_line_start(const InputFile& in, uint64_t from) {
  std::vector<char> buf(1 << 16);
  uint64_t pos = from;
  while (pos < in.size()) {
    size_t got = in.read_at(buf.data(), buf.size(), pos);
    if (got == 0) break;
    const void* nl = std::memchr(buf.data(), '\n', got);
    if (nl) return pos + static_cast<uint64_t>(static_cast<const char*>(nl) - buf.data()) + 1;
    pos += got;
  }
  return in.size();
}

std::vector<FileRange> split_files(const std::vector<std::string>& paths, uint64_t target_bytes) {
  if (target_bytes == 0) target_bytes = 1;
  std::vector<FileRange> ranges;
  for (uint32_t f = 0; f < paths.size(); ++f) {
    InputFile in(paths[f]);
    uint64_t size = in.size();
    uint64_t begin = 0;
    while (begin < size) {
      uint64_t end = size;
      if (size - begin > target_bytes) end = next_line_start(in, begin + target_bytes - 1);
      ranges.push_back({f, begin, end});
      begin = end;
    }
  }
  return ranges;
}

}  // namespace dv
