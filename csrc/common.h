// Shared helpers: input validation that maps to Python exceptions.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace dv {

// Thrown for bad arguments or bad input data; bindings map it to ValueError.
struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown for operating-system failures (open, read, write); mapped to OSError.
struct IOError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace dv

// Validate user input at the boundary: DV_CHECK(n > 0, "dim must be positive, got " << n).
#define DV_CHECK(cond, msg)                     \
  do {                                          \
    if (!(cond)) {                              \
      std::ostringstream dv_check_os_;          \
      dv_check_os_ << msg;                      \
      throw ::dv::ValueError(dv_check_os_.str()); \
    }                                           \
  } while (0)
