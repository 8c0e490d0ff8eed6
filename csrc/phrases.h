// Phrase detection (collocations such as "new_york"), gensim-compatible.
//
// Counting follows gensim 4.4's Phrases._learn_vocab: within a sentence (a
// line), every token that is not a connector word is counted as a unigram, and
// the span from the previous non-connector token through any connectors to it
// ("bank of america") is counted as one bigram candidate. Connector words are
// never counted alone and never start or end a candidate.
//
// Scoring follows gensim's score_candidate: a candidate (a, between..., b) is a
// phrase when count(a), count(b) and count(candidate) are positive and
//   default: (count(ab) - min_count) / (count(a) * count(b)) * N > threshold,
//            N = number of distinct entries counted (unigrams + candidates,
//            gensim's len(vocab));
//   npmi:    count(ab) >= min_count and
//            ln(p(ab) / (p(a) p(b))) / -ln(p(ab)) > threshold,
//            p(x) = count(x) / (all tokens, connectors included).
// Counts are looked up by the delimiter-joined string, as gensim keys them, so
// tokens that already contain the delimiter share counts exactly as in gensim.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer.h"
#include "vocab.h"

namespace dv {

enum class PhraseScoring { kDefault, kNpmi };

struct PhraseOptions {
  std::vector<std::string> connectors;
  std::string delimiter = "_";
  uint64_t min_count = 5;
  double threshold = 10.0;
  PhraseScoring scoring = PhraseScoring::kDefault;
  // Bound on the merged count table (unigrams + candidates). When a merge makes
  // it larger, entries with count < min_reduce are dropped and min_reduce grows
  // by one, until it fits again (gensim's prune_vocab rule, applied per range of
  // text instead of per sentence).
  uint64_t max_vocab = 40000000;
  uint64_t max_token_bytes = 1000;
  uint64_t range_bytes = 1 << 20;  // work unit; results do not depend on the thread count
  int threads = 0;
};

struct PhraseFitResult {
  // Candidates that are phrases, as the tokens joined by one space (tokens never
  // hold whitespace), sorted by bytes, with their scores. This is what joining
  // uses (gensim's Phrases[sentence]).
  std::vector<std::string> keys;
  std::vector<double> scores;
  // gensim's export_phrases(): every counted key split at the delimiter, scored
  // from its first and last part; delimiter-joined and sorted. Equal to `keys`
  // joined whenever no token contains the delimiter.
  std::vector<std::string> exported;
  std::vector<double> exported_scores;
  uint64_t corpus_word_count = 0;  // tokens, connectors included
  uint64_t vocab_size = 0;         // N: distinct joined entries
  uint64_t pruned_entries = 0;     // entries dropped by max_vocab pruning (0: exact counts)
  uint64_t min_reduce = 1;         // gensim's min_reduce after pruning (1: never pruned)
  bool delimiter_in_tokens = false;
  ScanStats stats;
};

// Counts and scores the files (threads over ranges, GIL-free). bytes_done
// advances with the input read; setting stop abandons the work.
PhraseFitResult fit_phrases(const std::vector<std::string>& paths, const PhraseOptions& opt,
                            std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                            const std::function<bool()>& poll);

// A fitted model: joins phrases greedily from left to right (gensim's
// analyze_sentence).
class PhraseModel {
 public:
  PhraseModel(const std::vector<std::string>& keys, const std::vector<std::string>& connectors,
              std::string delimiter);
  size_t size() const { return n_phrases_; }
  const std::string& delimiter() const { return delimiter_; }

  // Transforms whitespace-separated text: one output line per input line,
  // tokens separated by one space.
  std::string transform_text(const char* data, size_t n) const;

  // Transforms the files into out_path (one output line per input line; each
  // file's last line ends with '\n'). Tokens longer than max_token_bytes are
  // dropped (counted in the returned stats).
  ScanStats transform_files(const std::vector<std::string>& paths, const std::string& out_path,
                            uint64_t max_token_bytes, uint64_t range_bytes, int threads,
                            std::atomic<uint64_t>& bytes_done, std::atomic<bool>& stop,
                            const std::function<bool()>& poll) const;

  class Joiner;

 private:
  static constexpr uint64_t kConnector = 1, kStartsPhrase = 2;
  StringTable phrases_{16};
  StringTable roles_{16};  // word -> kConnector | kStartsPhrase (absent: neither)
  std::string delimiter_;
  size_t n_phrases_ = 0;
};

}  // namespace dv
