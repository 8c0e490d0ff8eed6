// The AVX-512 int8 batch kernel with VNNI (compiled with -mavx512vnni; only
// called when the CPU has it): batch_impl.h's kernel with each column pair's
// multiply-add and accumulation in one vpdpwssd (exact int32, as vpmaddwd +
// vpaddd: no saturation), 12 queries x 2 panels of 16 rows.
#include "simd/avx512_common.h"  // first: it silences a GCC 12 header warning

#include <cstring>

#include "simd/batch_impl.h"
#include "simd/kernels.h"

namespace dv::simd {
namespace {

struct V16Vnni {
  static constexpr size_t W = 16;
  using I = __m512i;
  static I izero() { return _mm512_setzero_si512(); }
  static I iload(const int16_t* p) { return _mm512_loadu_si512(p); }
  static I ibcast32(const int16_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
  }
  static I dot2(I acc, I a, I b) { return _mm512_dpwssd_epi32(acc, a, b); }
  static void isplit8(I v, __m256i* out) {
    out[0] = _mm512_castsi512_si256(v), out[1] = _mm512_extracti64x4_epi64(v, 1);
  }
};

}  // namespace

void filter_packed_i8_avx512vnni(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                                 const I8Keys* keys, const float* thr, uint32_t* idx, float* key,
                                 size_t stride, size_t* counts) {
  batch::filter_packed_i8<V16Vnni, 12>(q, nq, packed, n, d, keys, thr, idx, key, stride, counts);
}

bool avx512_vnni_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

}  // namespace dv::simd
