// Packing rows into column-major panels for the batch kernels (see
// ScanKernels in kernels.h). Included by each scan_<isa>.cpp with its panel
// width and its half-to-float conversion.
#pragma once
#include <cstddef>

namespace dv::simd {

template <size_t W, class T, class Conv>
void pack_panels(const T* rows, size_t n, size_t d, float* packed, Conv conv) {
  const size_t panels = (n + W - 1) / W;
  for (size_t p = 0; p < panels; ++p) {
    float* dst = packed + p * d * W;
    for (size_t r = 0; r < W; ++r) {
      const size_t i = p * W + r;
      if (i >= n) {
        for (size_t j = 0; j < d; ++j) dst[j * W + r] = 0.0f;
        continue;
      }
      const T* src = rows + i * d;
      for (size_t j = 0; j < d; ++j) dst[j * W + r] = conv(src[j]);
    }
  }
}

}  // namespace dv::simd
