// A plain GloVe trainer that follows the algorithm of Stanford's `shuffle` and
// `glove` tools as published (Pennington et al. 2014 and the tools' documented
// behaviour), for benchmarks/bench_glove.py to train on *the same counts* as
// densevec. It is written for clarity, not speed, and is not part of the
// library.
//
// What it does, in the order Stanford's pipeline does it:
//   * reads a densevec Cooccurrence directory's records.bin (uint32 row,
//     uint32 col, float32 value; an upper triangle when --upper, which is then
//     expanded to both orientations, the diagonal once);
//   * shuffles all records uniformly once (Fisher-Yates), like `shuffle` with
//     a memory budget that holds the whole file, and trains every epoch in
//     that same order on one thread, like `glove -threads 1`;
//   * double precision throughout; every vector entry and bias starts uniform
//     in [-0.5, 0.5) / dim, every AdaGrad accumulator at 1;
//   * per record: diff = w.c + b + b' - log x, fdiff = f(x) diff with
//     f(x) = min(1, (x / x_max)^alpha); cost += fdiff diff / 2; with
//     g = eta fdiff, each vector entry moves by g * (other entry) / sqrt(G)
//     computed from the old values, then G += (g * other entry)^2; biases
//     alike with gradient g;
//   * writes word + context vectors (Stanford's -model 2) as raw float32,
//     row-major, vocabulary order.
//
// Build: c++ -O3 -std=c++17 -fno-math-errno -o glove_reference glove_reference.cpp
// Usage: glove_reference RECORDS VOCAB DIM EPOCHS SEED UPPER(0|1) OUT
//        [X_MAX ALPHA ETA]
// Prints one line per epoch to stderr: "epoch N cost C seconds S".
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

struct Rec {
  uint32_t row, col;
  double value;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "glove_reference: %s\n", msg.c_str());
  std::exit(2);
}

// One AdaGrad step for a pair of rows, from the old values of both.
void update_rows(double* __restrict w, double* __restrict gw, double* __restrict c,
                 double* __restrict gc, double g, int dim) {
  for (int b = 0; b < dim; ++b) {
    const double dw = g * c[b], dc = g * w[b];
    w[b] -= dw / std::sqrt(gw[b]);
    c[b] -= dc / std::sqrt(gc[b]);
    gw[b] += dw * dw;
    gc[b] += dc * dc;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8 && argc != 11)
    die("usage: glove_reference RECORDS VOCAB DIM EPOCHS SEED UPPER OUT [X_MAX ALPHA ETA]");
  const char* path = argv[1];
  const long vocab = std::atol(argv[2]);
  const int dim = std::atoi(argv[3]);
  const int epochs = std::atoi(argv[4]);
  const unsigned long long seed = std::strtoull(argv[5], nullptr, 10);
  const bool upper = std::atoi(argv[6]) != 0;
  const char* out = argv[7];
  const double x_max = argc == 11 ? std::atof(argv[8]) : 100.0;
  const double alpha = argc == 11 ? std::atof(argv[9]) : 0.75;
  const double eta = argc == 11 ? std::atof(argv[10]) : 0.05;
  if (vocab <= 0 || dim <= 0 || epochs < 0 || !(x_max > 0) || !(eta > 0)) die("bad arguments");

  FILE* f = std::fopen(path, "rb");
  if (!f) die(std::string("cannot open ") + path);
  std::vector<Rec> recs;
  struct {
    uint32_t row, col;
    float value;
  } in[4096];
  static_assert(sizeof(in[0]) == 12, "records are 12 bytes");
  for (size_t got; (got = std::fread(in, 12, 4096, f)) > 0;) {
    for (size_t i = 0; i < got; ++i) {
      if (in[i].row >= vocab || in[i].col >= vocab || !(in[i].value > 0))
        die(std::string("bad record in ") + path);
      recs.push_back({in[i].row, in[i].col, in[i].value});
      if (upper && in[i].row != in[i].col) recs.push_back({in[i].col, in[i].row, in[i].value});
    }
  }
  std::fclose(f);

  std::mt19937_64 rng(seed);
  for (size_t i = recs.size(); i > 1; --i) {
    std::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap(recs[i - 1], recs[pick(rng)]);
  }
  const size_t ld = static_cast<size_t>(dim);
  std::vector<double> word(vocab * ld), ctx(vocab * ld), gword(vocab * ld, 1.0),
      gctx(vocab * ld, 1.0), bias(2 * vocab), gbias(2 * vocab, 1.0);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (auto* v : {&word, &ctx, &bias})
    for (double& x : *v) x = (u01(rng) - 0.5) / dim;

  for (int ep = 1; ep <= epochs; ++ep) {
    const auto t0 = std::chrono::steady_clock::now();
    double cost = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
      if (i + 4 < recs.size()) {  // start fetching the rows of a record ahead
        const Rec& a = recs[i + 4];
        for (size_t b = 0; b < ld; b += 8) {
          __builtin_prefetch(&word[a.row * ld + b], 1);
          __builtin_prefetch(&gword[a.row * ld + b], 1);
          __builtin_prefetch(&ctx[a.col * ld + b], 1);
          __builtin_prefetch(&gctx[a.col * ld + b], 1);
        }
      }
      const Rec& r = recs[i];
      double* w = &word[r.row * ld];
      double* c = &ctx[r.col * ld];
      double dot = 0;
      for (size_t b = 0; b < ld; ++b) dot += w[b] * c[b];
      double& bw = bias[r.row];
      double& bc = bias[vocab + r.col];
      const double diff = dot + bw + bc - std::log(r.value);
      const double fdiff = r.value > x_max ? diff : std::pow(r.value / x_max, alpha) * diff;
      cost += 0.5 * fdiff * diff;
      const double g = eta * fdiff;
      update_rows(w, &gword[r.row * ld], c, &gctx[r.col * ld], g, dim);
      bw -= g / std::sqrt(gbias[r.row]);
      bc -= g / std::sqrt(gbias[vocab + r.col]);
      gbias[r.row] += g * g;
      gbias[vocab + r.col] += g * g;
    }
    if (!std::isfinite(cost)) die("training diverged");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "epoch %d cost %.6f seconds %.2f\n", ep, cost / recs.size(), s);
  }

  const std::string tmp = std::string(out) + ".tmp";
  FILE* o = std::fopen(tmp.c_str(), "wb");
  if (!o) die("cannot write " + tmp);
  std::vector<float> row(ld);
  for (long i = 0; i < vocab; ++i) {
    for (size_t b = 0; b < ld; ++b) row[b] = static_cast<float>(word[i * ld + b] + ctx[i * ld + b]);
    if (std::fwrite(row.data(), sizeof(float), ld, o) != ld) die("write failed: " + tmp);
  }
  if (std::fclose(o) != 0 || std::rename(tmp.c_str(), out) != 0) die("cannot finish " + std::string(out));
  return 0;
}
