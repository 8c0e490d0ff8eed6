// Portable scan kernels (plain loops): the reference twin of scan_avx2.cpp and
// scan_avx512.cpp, and the kernels used where neither is available.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "simd/kernels.h"
#include "simd/pack_impl.h"

namespace dv::simd {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    const float f = std::ldexp(static_cast<float>(man), -24);
    return sign ? -f : f;
  }
  const uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (man << 13))
                                  : (sign | ((exp + 112u) << 23) | (man << 13));
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

namespace {

float dot1(const float* q, const float* r, size_t d) {
  float s = 0.0f;
  for (size_t j = 0; j < d; ++j) s += q[j] * r[j];
  return s;
}

void dot_rows_f32_serial(const float* q, const float* rows, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = dot1(q, rows + i * d, d);
}

void dot_rows_f16_serial(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t* r = rows + i * d;
    float s = 0.0f;
    for (size_t j = 0; j < d; ++j) s += q[j] * half_to_float(r[j]);
    out[i] = s;
  }
}

// Symmetric int8: -128 reads as -127 (as in the SIMD kernels).
inline int32_t clamp8(int8_t x) { return x < -127 ? -127 : x; }

void dot_rows_i8_serial(const int8_t* q, const int8_t* rows, size_t n, size_t d, int32_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int8_t* r = rows + i * d;
    int32_t s = 0;
    for (size_t j = 0; j < d; ++j) s += clamp8(q[j]) * clamp8(r[j]);
    out[i] = s;
  }
}

// The key formula of I8Keys, step by step (no fused multiply-add: this file
// is compiled without FMA, and the vector kernels use separate multiplies and
// adds in the same order).
inline float i8_key(int32_t dot, const I8Keys& k, size_t i) {
  float key = static_cast<float>(dot) * k.qscale;
  key *= k.scale[i];
  if (k.kind == I8Keys::Cosine && k.norms) {
    key = k.norms[i] > 0 ? key / k.norms[i] : 0.0f;
  } else if (k.kind == I8Keys::L2) {
    const float t = k.qq - 2.0f * key + k.norms[i] * k.norms[i];
    key = -(t < 0.0f ? 0.0f : t);
  }
  return key;
}

size_t filter_rows_i8_serial(const int8_t* q, const int8_t* rows, size_t n, size_t d,
                             const I8Keys& keys, float thr, uint32_t* idx, float* key) {
  size_t c = 0;
  for (size_t i = 0; i < n; ++i) {
    int32_t dot;
    dot_rows_i8_serial(q, rows + i * d, 1, d, &dot);
    const float k = i8_key(dot, keys, i);
    if (!(k <= thr)) idx[c] = static_cast<uint32_t>(i), key[c++] = k;
  }
  return c;
}

void l2_rows_f32_serial(const float* q, const float* rows, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float* r = rows + i * d;
    float s = 0.0f;
    for (size_t j = 0; j < d; ++j) {
      const float t = q[j] - r[j];
      s += t * t;
    }
    out[i] = s;
  }
}

void l2_rows_f16_serial(const float* q, const uint16_t* rows, size_t n, size_t d, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t* r = rows + i * d;
    float s = 0.0f;
    for (size_t j = 0; j < d; ++j) {
      const float t = q[j] - half_to_float(r[j]);
      s += t * t;
    }
    out[i] = s;
  }
}

constexpr size_t kPanel = 8;

void pack_f32_serial(const float* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, [](float x) { return x; });
}
void pack_f16_serial(const uint16_t* rows, size_t n, size_t d, float* packed) {
  pack_panels<kPanel>(rows, n, d, packed, half_to_float);
}

// Same order of operations as dot_rows_f32_serial for every (query, row).
void dot_packed_f32_serial(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                           float* out, size_t out_stride) {
  for (size_t k = 0; k < nq; ++k) {
    const float* qk = q + k * d;
    for (size_t i = 0; i < n; ++i) {
      const float* col = packed + (i / kPanel) * d * kPanel + i % kPanel;
      float s = 0.0f;
      for (size_t j = 0; j < d; ++j) s += qk[j] * col[j * kPanel];
      out[k * out_stride + i] = s;
    }
  }
}

// The key formula of FKeys, step by step (as i8_key).
inline float f_key(float dot, const FKeys& k, float qq, size_t i) {
  float key = dot;
  if (k.scale) key *= k.scale[i];
  if (k.kind == FKeys::Cosine && k.norms) {
    key = k.norms[i] != 0.0f ? key / k.norms[i] : 0.0f;
  } else if (k.kind == FKeys::L2) {
    const float t = qq - 2.0f * key + k.norms[i] * k.norms[i];
    key = -(t < 0.0f ? 0.0f : t);
  }
  return key;
}

// Scores in the order of dot_packed_f32_serial, then keys and the test.
void filter_packed_f32_serial(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                              const FKeys& keys, const float* thr, uint32_t* idx, float* key,
                              size_t stride, size_t* counts) {
  for (size_t s = 0; s < nq; ++s) {
    const float* qs = q + s * d;
    const float qq = keys.qq ? keys.qq[s] : 0.0f;
    size_t c = 0;
    for (size_t i = 0; i < n; ++i) {
      const float* col = packed + (i / kPanel) * d * kPanel + i % kPanel;
      float dot = 0.0f;
      for (size_t j = 0; j < d; ++j) dot += qs[j] * col[j * kPanel];
      const float k = f_key(dot, keys, qq, i);
      if (!(k <= thr[s])) idx[s * stride + c] = static_cast<uint32_t>(i), key[s * stride + c++] = k;
    }
    counts[s] = c;
  }
}

void pack_i8_serial(const int8_t* rows, size_t n, size_t d, int16_t* packed) {
  const size_t dp = (d + 1) / 2 * 2, panels = (n + kPanel - 1) / kPanel;
  for (size_t p = 0; p < panels; ++p)
    for (size_t r = 0; r < kPanel; ++r)
      for (size_t j = 0; j < dp; ++j) {
        const size_t i = p * kPanel + r;
        const int32_t v = i < n && j < d ? clamp8(rows[i * d + j]) : 0;
        packed[p * dp * kPanel + (j / 2) * 2 * kPanel + 2 * r + (j & 1)] = static_cast<int16_t>(v);
      }
}

void filter_packed_i8_serial(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                             const I8Keys* keys, const float* thr, uint32_t* idx, float* key,
                             size_t stride, size_t* counts) {
  const size_t dp = (d + 1) / 2 * 2;
  for (size_t s = 0; s < nq; ++s) {
    const int16_t* qs = q + s * dp;
    size_t c = 0;
    for (size_t i = 0; i < n; ++i) {
      const int16_t* col = packed + (i / kPanel) * dp * kPanel + 2 * (i % kPanel);
      int32_t dot = 0;
      for (size_t j = 0; j < dp; ++j) dot += int32_t(qs[j]) * col[(j / 2) * 2 * kPanel + (j & 1)];
      const float k = i8_key(dot, keys[s], i);
      if (!(k <= thr[s])) idx[s * stride + c] = static_cast<uint32_t>(i), key[s * stride + c++] = k;
    }
    counts[s] = c;
  }
}

}  // namespace

const ScanKernels& scan_kernels_serial() {
  static const ScanKernels k{dot_rows_f32_serial,     dot_rows_f16_serial,      dot_rows_i8_serial,
                             l2_rows_f32_serial,      l2_rows_f16_serial,       kPanel,
                             pack_f32_serial,         pack_f16_serial,          dot_packed_f32_serial,
                             filter_rows_i8_serial,   filter_packed_f32_serial, pack_i8_serial,
                             filter_packed_i8_serial};
  return k;
}

}  // namespace dv::simd
