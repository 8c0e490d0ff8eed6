#!/usr/bin/env bash
# Runs every benchmark in sequence (never two at once) and writes the tables
# to benchmarks/results/. CORPUS defaults to big.txt from make_corpora.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-$HOME/.cache/embedding-corpora/big.txt}
mkdir -p benchmarks/results
python benchmarks/bench_vocab.py --corpus "$CORPUS" --out benchmarks/results/vocab.md
python benchmarks/compare_word2vec.py --corpus "$CORPUS" --mode skipgram --quality-tools densevec gensim \
  --out benchmarks/results/word2vec-skipgram-ns.md
python benchmarks/compare_word2vec.py --corpus "$CORPUS" --mode cbow --peers gensim \
  --out benchmarks/results/word2vec-cbow-ns.md
python benchmarks/compare_word2vec.py --corpus "$CORPUS" --mode skipgram --loss hs --peers gensim \
  --quality-epochs 0 --out benchmarks/results/word2vec-skipgram-hs.md
python benchmarks/compare_word2vec.py --corpus "$CORPUS" --mode cbow --loss hs --peers gensim \
  --quality-epochs 0 --out benchmarks/results/word2vec-cbow-hs.md
python benchmarks/bench_glove.py --corpus "$CORPUS" --out benchmarks/results/glove.md
python benchmarks/bench_search.py
python benchmarks/bench_store.py --out benchmarks/results/store.md
if python -c "import dask.distributed" 2>/dev/null; then  # the densevec[dask] extra
  for part in count sim train; do
    python benchmarks/bench_distributed.py --part "$part" --corpus "$CORPUS" --sim-lines 150000 --merge delta \
      --out benchmarks/results/distributed.md
  done
fi
