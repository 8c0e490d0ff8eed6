// Paragraph vectors (Le & Mikolov 2014) over an encoded id stream.
//
// PV-DBOW is skip-gram whose input is the document's row: every word of a
// document is predicted from the document's tag rows (with `dbow_words`, also
// from its context words, as skip-gram does). PV-DM is CBOW whose context is
// the mean of the context words and the document's tag rows. Both reuse the
// word2vec output policies (w2v_policies.h) and window kernels (simd/).
//
// Documents are not lines: every sentence of the stream carries the index of
// its document (`D2VDocs::sent_doc`), so a document cut into several sentences
// (a long line) trains all of them under its tags, whatever the thread slices.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "word2vec.h"

namespace dv {

struct D2VConfig {
  bool dm = false;          // PV-DM instead of PV-DBOW
  bool dbow_words = false;  // PV-DBOW: also train word vectors by skip-gram
  bool hs = false;          // hierarchical softmax instead of negative sampling
  int negative = 5;
  int window = 5;
  size_t dim = 100;
  float alpha_begin = 0.025f;
  float alpha_end = 0.025f;
  uint64_t seed = 1;
  uint64_t epoch = 0;  // mixed into the per-thread seeds
  int threads = 1;
};

// Documents of a stream: sentence s belongs to document sent_doc[s], whose
// tag rows (rows of the document matrix) are
// tag_rows[tag_offsets[d] .. tag_offsets[d + 1]).
struct D2VDocs {
  float* docs = nullptr;  // doc_rows x dim
  uint64_t doc_rows = 0;
  const uint32_t* sent_doc = nullptr;
  const uint64_t* tag_offsets = nullptr;
  const uint32_t* tag_rows = nullptr;
  uint64_t n_docs = 0;
  int max_tags = 1;              // most tags of one document
  uint64_t* updates = nullptr;   // test hook: per doc row, windows that updated it
};

// One pass over sentences [stream.sent_begin, stream.sent_end) with Hogwild
// threads, each on a contiguous slice of about the same number of tokens. The
// word model (`model.win` ...) is word2vec's; `model.lock` freezes word rows.
W2VStats train_doc2vec(const D2VConfig& cfg, const W2VModel& model, const W2VStream& stream,
                       const D2VDocs& docs, const simd::Kernels& k, W2VProgress& progress,
                       const std::function<bool()>& poll);

// Inference of new document vectors with the model frozen: document i is
// ids[offsets[i] .. offsets[i + 1]) (model rows), and its vector, written to
// out + i * dim, starts from a uniform draw in [-0.5/dim, 0.5/dim) and trains
// `epochs` passes with the learning rate falling linearly from alpha_begin to
// alpha_end. Every random number of document i comes from a generator seeded
// by (cfg.seed, first_index + i), so a vector depends on neither the thread
// count nor the other documents. A document without ids gets a zero vector.
// Returns false when stopped by poll().
bool infer_doc2vec(const D2VConfig& cfg, int epochs, const W2VModel& model, const uint32_t* ids,
                   const uint64_t* offsets, uint64_t n_docs, uint64_t first_index, float* out,
                   const simd::Kernels& k, std::atomic<bool>& stop,
                   const std::function<bool()>& poll);

}  // namespace dv
