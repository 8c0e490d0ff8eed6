// Portable reference kernels: plain loops, no intrinsics.
#include <cmath>

#include "simd/kernels.h"
#include "simd/w2v_impl.h"

namespace dv::simd {
namespace {

struct OpsSerial {
  static float dot(const float* a, const float* b, size_t n) {
    float s = 0.0f;
    for (size_t j = 0; j < n; ++j) s += a[j] * b[j];
    return s;
  }
  static void dot_many(const float* x, float* const* rows, int k, float* out, size_t n) {
    for (int i = 0; i < k; ++i) out[i] = dot(x, rows[i], n);
  }
  static void combo(float* const* rows, const float* coef, int k, float* out, size_t n,
                    bool acc, size_t step = 1) {
    if (!acc)
      for (size_t j = 0; j < n; ++j) out[j] = 0.0f;
    for (int i = 0; i < k; ++i)
      for (size_t j = 0; j < n; ++j) out[j] += coef[i * step] * rows[i][j];
  }
  static void axpy(float a, const float* x, float* y, size_t n) {
    for (size_t j = 0; j < n; ++j) y[j] += a * x[j];
  }
};

float dot_f32_serial(const float* a, const float* b, size_t n) { return OpsSerial::dot(a, b, n); }
void axpy_f32_serial(float a, const float* x, float* y, size_t n) { OpsSerial::axpy(a, x, y, n); }
void combo_f32_serial(float* const* rows, const float* coef, int k, float* out, size_t n, bool acc,
                      size_t step) {
  OpsSerial::combo(rows, coef, k, out, n, acc, step);
}

void glove_adagrad_serial(float* w, float* c, float step, size_t ld) {
  float* gw = w + ld;
  float* gc = c + ld;
  for (size_t j = 0; j < ld; ++j) {
    const float dw = step * c[j], dc = step * w[j];
    w[j] -= dw / std::sqrt(gw[j]);
    c[j] -= dc / std::sqrt(gc[j]);
    gw[j] += dw * dw;
    gc[j] += dc * dc;
  }
}
double sg_window_serial(const W2VWindow& w) { return sg_window_impl<OpsSerial>(w); }
double cbow_window_serial(const W2VWindow& w, bool mean) {
  return cbow_window_impl<OpsSerial>(w, mean);
}

void d2v_infer_window_serial(const D2VInferWindow& w) { d2v_infer_window_impl<OpsSerial>(w); }

}  // namespace

const Kernels& kernels_serial() {
  static const Kernels k{"serial", dot_f32_serial, axpy_f32_serial, sg_window_serial,
                         cbow_window_serial, glove_adagrad_serial,
                         &scan_kernels_serial(), d2v_infer_window_serial, combo_f32_serial};
  return k;
}

}  // namespace dv::simd
