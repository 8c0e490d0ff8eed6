// Vector kernels with one implementation per instruction set, chosen at run
// time: serial (portable C++), avx2 (AVX2 + FMA) and avx512 (AVX-512 F/BW/DQ/VL).
// Kernel names follow <what>_<isa>; each ISA lives in its own source file with
// its own compile flags (see CMakeLists.txt), and tests compare every ISA
// against the serial one and against numpy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dv::simd {

// Sigmoid and log-sigmoid on a grid over [-kMax, kMax], linearly interpolated.
// Outside that range the sigmoid saturates to 0 or 1 (as word2vec's table does).
struct SigmoidTable {
  static constexpr int kSize = 2048;
  static constexpr float kMax = 8.0f;
  // kSize + 1 points from -kMax to kMax, then a copy of the last one, so that
  // an argument just below kMax whose index rounds up to kSize interpolates
  // inside the table without a clamp in the hot loop.
  float sig[kSize + 2];
  float logsig[kSize + 2];
  SigmoidTable();
};
const SigmoidTable& sigmoid_table();

// One word2vec update over a window. In skip-gram every input row (context
// word) predicts every output row (the centre word and its negatives, or the
// inner nodes of its Huffman path) with the matching label (1 or 0). In CBOW
// the mean (or sum) of the input rows predicts the outputs. Gradients are
// computed from the old values of both sides, then applied. Returns the summed
// loss -log sigmoid(+-x) over all predictions.
struct W2VWindow {
  float* const* in_rows;
  int n_in;
  float* const* out_rows;
  const float* labels;
  int n_out;
  size_t dim;
  float alpha;
  float* scratch;  // sg: n_in*dim + n_in*n_out + max(n_in, n_out) floats; cbow: 2*dim + n_out
  const SigmoidTable* sig;
  // Per input row, a factor on its update (gensim's lockf): 0 freezes the row
  // (it is not written at all), 1 trains it. nullptr: every row trains.
  const float* in_lock = nullptr;
  // 0: every input row predicts the same n_out rows (one shared set per
  // window). Otherwise input c predicts its own n_out rows and labels, at
  // out_rows + c * out_stride and labels + c * out_stride (sg only); a label
  // below 0 marks an unused slot, which takes no update and adds no loss.
  int out_stride = 0;
  // Per output slot (laid out as labels), a factor on that output row's own
  // update, or nullptr: every output row takes its full update. The inputs'
  // gradients use the unscaled errors either way.
  const float* out_lock = nullptr;
  // With out_stride > 0: how many inputs ahead the kernel prefetches the
  // output rows (the caller should prefetch those of the first ones).
  static constexpr int kPrefetchAhead = 2;
};

// One window of Doc2Vec inference, the model frozen: x predicts the output
// rows and only the document's vector `vec` takes the gradient:
//   g[o] = (labels[o] - sigmoid(<x, out_rows[o]>)) * alpha      (all from the old x)
//   vec += sum_o g[o] * out_rows[o]   (o ascending, one multiply-add per term)
// x is vec itself when n_in = 0 (PV-DBOW), else the mean of in_rows (PV-DM:
// the context words and vec), formed in scratch. No loss is computed.
struct D2VInferWindow {
  float* vec;
  float* const* in_rows;
  int n_in;
  float* const* out_rows;
  const float* labels;
  int n_out;
  size_t dim;
  float alpha;
  float* scratch;  // n_out + dim floats
  const SigmoidTable* sig;
};

// Hints every cache line that p[0 .. n) touches into the cache (no effect on
// results): from the line holding p[0] to the line holding p[n - 1]. (Stepping
// 64 bytes from p itself misses the last line whenever p is not on a line
// boundary: a 512-byte row 16 bytes past one spans nine lines, and its ninth
// then arrived as a demand miss.)
inline void prefetch_floats(const float* p, size_t n) {
  if (n == 0) return;
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
  const uintptr_t last = reinterpret_cast<uintptr_t>(p + n - 1);
  for (uintptr_t a = first; a <= last; a += 64) __builtin_prefetch(reinterpret_cast<const void*>(a));
}

// Search keys of int8 rows (see csrc/search.h), computed in float32 in this
// order, the same in every ISA (scores are bit-identical across them):
//   key = float(<q, row i>) * qscale;  key *= scale[i];  then
//   Cosine (norms given): key = norms[i] > 0 ? key / norms[i] : 0
//   L2:                   key = -max(qq - 2 * key + norms[i] * norms[i], 0)
// (max(x, 0) keeps a NaN x). scale and norms start at the first row scanned.
struct I8Keys {
  enum Kind { Dot, Cosine, L2 } kind = Dot;
  float qscale = 1.0f;
  const float* scale = nullptr;  // required
  const float* norms = nullptr;  // Cosine: optional (none = unit rows); L2: required
  float qq = 0.0f;               // L2: |q|^2
};

// Search keys of float32 / float16 rows from raw dot products (the formula
// of csrc/search.cpp, in this order, float32, no fused multiply-add):
//   key = dot;  if scale: key *= scale[i];  then
//   Cosine (norms given): key = norms[i] != 0 ? key / norms[i] : 0
//   L2 (norms required):  key = -max(qq - 2 * key + norms[i] * norms[i], 0)
// (max(x, 0) keeps a NaN x). scale and norms start at the first row of the
// call; qq[s] is |query s|^2 (L2 only, may be null otherwise).
struct FKeys {
  enum Kind { Dot, Cosine, L2 } kind = Dot;
  const float* scale = nullptr;
  const float* norms = nullptr;
  const float* qq = nullptr;
};

// Scans of one query over n contiguous rows of dim d (row i starts at
// rows + i * d; no alignment needed), for exact search (csrc/search.cpp).
struct ScanKernels {
  // out[i] = <q, row i>
  void (*dot_rows_f32)(const float* q, const float* rows, size_t n, size_t d, float* out);
  // rows are IEEE binary16 bit patterns
  void (*dot_rows_f16)(const float* q, const uint16_t* rows, size_t n, size_t d, float* out);
  // exact integer dot products; -128 reads as -127 (symmetric int8)
  void (*dot_rows_i8)(const int8_t* q, const int8_t* rows, size_t n, size_t d, int32_t* out);
  // out[i] = ||q - row i||^2
  void (*l2_rows_f32)(const float* q, const float* rows, size_t n, size_t d, float* out);
  void (*l2_rows_f16)(const float* q, const uint16_t* rows, size_t n, size_t d, float* out);

  // Batches: rows are first packed into panels of `panel` rows stored column
  // by column (row i, column j at (i / panel) * d * panel + j * panel + i % panel;
  // rows past n in the last panel are zero), so that the kernel keeps one row
  // per vector lane and needs no horizontal sums. packed_size(n, d) floats.
  size_t panel;
  void (*pack_f32)(const float* rows, size_t n, size_t d, float* packed);
  void (*pack_f16)(const uint16_t* rows, size_t n, size_t d, float* packed);
  // nq (1 to 4) queries q + i * d against n packed rows:
  // out[i * out_stride + r] = <query i, row r>, summed over j in order with
  // one FMA per column, whatever nq is (so a query's scores do not depend on
  // which queries share its call).
  void (*dot_packed_f32)(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                         float* out, size_t out_stride);
  size_t packed_size(size_t n, size_t d) const { return (n + panel - 1) / panel * panel * d; }

  // int8 scan fused with the first step of top-k selection: for every row i
  // (ascending) whose key (see I8Keys; q as in dot_rows_i8) is not <= thr,
  // writes idx[c] = i and key[c] = its key, and returns how many there are
  // (at most n). NaN keys always pass, and thr = NaN passes every row; the
  // caller ranks what passes. Most rows fail once the top-k is full, so their
  // scores never leave registers.
  size_t (*filter_rows_i8)(const int8_t* q, const int8_t* rows, size_t n, size_t d,
                           const I8Keys& keys, float thr, uint32_t* idx, float* key);

  // Batches fused with top-k selection. nq queries (any number) against n
  // packed rows: for query s, every row i (ascending) whose key is not <=
  // thr[s] is written to idx[s * stride + c], key[s * stride + c], and
  // counts[s] is how many (at most n; stride >= n). float32 / float16: rows
  // packed by pack_f32 / pack_f16, scores summed exactly as dot_packed_f32
  // (bit-identical), keys as FKeys. int8: rows packed by pack_i8 into int16
  // column pairs (packed_i8_size), queries q + s * dp as int16 (dp = d rounded
  // up to even, zero padded; -127..127), exact int32 dot products, keys as
  // keys[s] (I8Keys, bit-identical to filter_rows_i8; all of one kind).
  void (*filter_packed_f32)(const float* q, size_t nq, const float* packed, size_t n, size_t d,
                            const FKeys& keys, const float* thr, uint32_t* idx, float* key,
                            size_t stride, size_t* counts);
  void (*pack_i8)(const int8_t* rows, size_t n, size_t d, int16_t* packed);
  void (*filter_packed_i8)(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                           const I8Keys* keys, const float* thr, uint32_t* idx, float* key,
                           size_t stride, size_t* counts);
  size_t packed_i8_size(size_t n, size_t d) const {
    return (n + panel - 1) / panel * panel * ((d + 1) / 2 * 2);
  }
};

const ScanKernels& scan_kernels_serial();
#if defined(DV_HAVE_X86_KERNELS)
const ScanKernels& scan_kernels_avx2();
const ScanKernels& scan_kernels_avx512();
// The AVX-512 int8 batch kernel with VNNI (vpdpwssd), and whether this CPU
// has it; scan_kernels_avx512 takes it where it does.
void filter_packed_i8_avx512vnni(const int16_t* q, size_t nq, const int16_t* packed, size_t n, size_t d,
                                 const I8Keys* keys, const float* thr, uint32_t* idx, float* key,
                                 size_t stride, size_t* counts);
bool avx512_vnni_supported();
#endif

// IEEE binary16 -> float, portable (the serial kernels' conversion).
float half_to_float(uint16_t h);

struct Kernels {
  const char* name;
  float (*dot_f32)(const float* a, const float* b, size_t n);
  void (*axpy_f32)(float a, const float* x, float* y, size_t n);
  double (*sg_window)(const W2VWindow& w);
  double (*cbow_window)(const W2VWindow& w, bool mean);
  // One GloVe AdaGrad step on a word row w and a context row c, each holding
  // ld values then their ld accumulators (ld a multiple of 16). With
  // step = eta * f(x) * diff, per lane j (old values on both sides):
  //   gw = step * c[j], gc = step * w[j]
  //   w[j] -= gw / sqrt(Gw[j]), c[j] -= gc / sqrt(Gc[j]), Gw[j] += gw^2, Gc[j] += gc^2
  // The vector ISAs take 1/sqrt from the hardware estimate refined by one
  // Newton step (relative error about 1e-7 rather than exact rounding). The
  // accumulators are float32: float64 ones (which keep the small late
  // increments of frequent words exactly) made no difference to the vectors'
  // quality on big.txt and cost 1.5x the time per epoch.
  void (*glove_adagrad)(float* w, float* c, float step, size_t ld);
  const ScanKernels* scan;
  void (*d2v_infer_window)(const D2VInferWindow& w);
  // out[j] (+)= sum_i coef[i * step] * rows[i][j], i = 0 .. k-1 in order
  // (step 0: one coefficient for every row): per column the multiply-adds of
  // an axpy per row into out (zeroed first unless acc), summed in registers.
  void (*combo_f32)(float* const* rows, const float* coef, int k, float* out, size_t n, bool acc,
                    size_t step);
};

const Kernels& kernels_serial();
#if defined(DV_HAVE_X86_KERNELS)
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();
#endif

// Names of the ISAs this CPU can run, best last ("serial" always first).
std::vector<std::string> available_isas();
// Kernels for a named ISA; throws ValueError when unknown or unsupported here.
const Kernels& kernels_for(const std::string& isa);
// The default: the best supported ISA, or DENSEVEC_SIMD from the environment
// (capped at what the CPU supports). Chosen once, thread-safe.
const Kernels& active_kernels();

}  // namespace dv::simd
