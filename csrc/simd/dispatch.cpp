// Run-time choice of kernels from CPU features.
#include <cmath>
#include <cstdlib>

#include "common.h"
#include "simd/kernels.h"

namespace dv::simd {

SigmoidTable::SigmoidTable() : sig(), logsig() {
  for (int i = 0; i <= kSize; ++i) {
    double x = -static_cast<double>(kMax) + 2.0 * kMax * i / kSize;
    sig[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    logsig[i] = static_cast<float>(-std::log1p(std::exp(-x)));
  }
  sig[kSize + 1] = sig[kSize];
  logsig[kSize + 1] = logsig[kSize];
}

const SigmoidTable& sigmoid_table() {
  static const SigmoidTable table;
  return table;
}

namespace {

bool cpu_has(const std::string& isa) {
  if (isa == "serial") return true;
#if defined(DV_HAVE_X86_KERNELS)
  __builtin_cpu_init();
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           cpu_has("avx2");
#endif
  return false;
}

const Kernels& choose_default() {
  std::vector<std::string> isas = available_isas();
  const char* env = std::getenv("DENSEVEC_SIMD");
  if (env && *env) {
    std::string want(env);
    // Take the forced level if this CPU can run it; otherwise the best below it.
    static const char* order[] = {"serial", "avx2", "avx512"};
    int want_rank = -1;
    for (int i = 0; i < 3; ++i)
      if (want == order[i]) want_rank = i;
    for (int i = want_rank; i >= 0; --i)
      if (cpu_has(order[i])) return kernels_for(order[i]);
  }
  return kernels_for(isas.back());
}

}  // namespace

std::vector<std::string> available_isas() {
  std::vector<std::string> out{"serial"};
  for (const char* isa : {"avx2", "avx512"})
    if (cpu_has(isa)) out.emplace_back(isa);
  return out;
}

const Kernels& kernels_for(const std::string& isa) {
  DV_CHECK(isa == "serial" || isa == "avx2" || isa == "avx512",
           "unknown SIMD level '" << isa << "' (expected serial, avx2 or avx512)");
  DV_CHECK(cpu_has(isa), "SIMD level '" << isa << "' is not supported by this CPU or build");
#if defined(DV_HAVE_X86_KERNELS)
  if (isa == "avx2") return kernels_avx2();
  if (isa == "avx512") return kernels_avx512();
#endif
  return kernels_serial();
}

const Kernels& active_kernels() {
  static const Kernels& k = choose_default();
  return k;
}

}  // namespace dv::simd
