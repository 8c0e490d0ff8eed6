"""word2vec quality parity with gensim over seeds, on a slice or the whole corpus.

    python benchmarks/bench_parity.py --tokens 10000000 --epochs 3 --seeds 1 2 3 \\
        [--modes skipgram cbow] [--tools densevec gensim] [--threads 2] \\
        [--dv negative_share=1 ...] [--out benchmarks/results/parity-10m.md]

The corpus is the first --tokens whitespace tokens of --corpus (0: all of it),
written to a temporary file that every tool reads. Each training runs in its
own child process, tools alternating within each (seed, mode), so that a
noisy machine slows both alike. Parameters are issue 19's protocol: dim 100,
window 5, negative 5, sample 1e-3, min_count 5, alpha 0.025 for both modes
(gensim's default), the given threads. Quality: questions-words accuracy
(3CosAdd, 30k most frequent words) and WordSim353 Spearman x 100, both with
gensim's evaluators when gensim is installed. Speed: raw corpus tokens x epochs
per training second (densevec times `fit` on an encoded corpus; gensim times
`train` in corpus_file mode after `build_vocab`; `gensim-iter` is gensim reading
the same file as an iterable of lines, its other mode). `--dv key=value` passes extra
constructor arguments to densevec's Word2Vec (a variant under study).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

PARAMS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025)


def worker(tool: str, mode: str, seed: int, threads: int, epochs: int, corpus: str, extra: str) -> None:
    p = PARAMS
    if tool == "densevec":
        import densevec as dv

        kw = json.loads(extra)
        c = dv.Corpus.from_file(corpus, min_count=p["min_count"])
        model = dv.Word2Vec(dim=p["dim"], mode=mode, window=p["window"], negative=p["negative"],
                            sample=p["sample"], alpha=p["alpha"], epochs=epochs, threads=threads,
                            seed=seed, **kw)
        t0 = time.perf_counter()
        emb = model.fit(c, progress=False)
        seconds = time.perf_counter() - t0
        words, vectors = emb.index_to_word, np.asarray(emb.vectors)
        raw = c.vocab.raw_tokens
    else:
        from gensim.models import Word2Vec as GW2V

        model = GW2V(vector_size=p["dim"], window=p["window"], negative=p["negative"],
                     sample=p["sample"], alpha=p["alpha"], min_count=p["min_count"],
                     sg=int(mode == "skipgram"), workers=threads, epochs=epochs, seed=seed)
        if tool == "gensim":
            model.build_vocab(corpus_file=corpus)
            t0 = time.perf_counter()
            model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=epochs)
        else:  # gensim-iter: an iterable of token lists, gensim's other mode
            from gensim.models.word2vec import LineSentence

            model.build_vocab(LineSentence(corpus))
            t0 = time.perf_counter()
            model.train(LineSentence(corpus), total_examples=model.corpus_count, epochs=epochs)
        seconds = time.perf_counter() - t0
        words, vectors = list(model.wv.index_to_key), model.wv.vectors
        raw = model.corpus_total_words
    q = _common.evaluate_quality(list(words), np.ascontiguousarray(vectors, dtype=np.float32))
    print(json.dumps({"seconds": seconds, "words_per_s": raw * epochs / seconds, **q,
                      "peak_rss_mib": _common.peak_rss_mib()}))


def slice_corpus(src: str, tokens: int, dst: Path) -> None:
    """The first `tokens` whitespace tokens of `src`, lines kept."""
    n = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            toks = line.split()
            if n + len(toks) >= tokens:
                out.write(" ".join(toks[: tokens - n]) + "\n")
                return
            out.write(line)
            n += len(toks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--tokens", type=int, default=10_000_000, help="0: the whole corpus")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--modes", nargs="+", choices=["skipgram", "cbow"], default=["skipgram", "cbow"])
    ap.add_argument("--tools", nargs="+", choices=["densevec", "gensim", "gensim-iter"], default=["densevec", "gensim"])
    ap.add_argument("--threads", type=int, default=2)
    _common.add_extra_args(ap, "Word2Vec")
    ap.add_argument("--out", default=None)
    ap.add_argument("_worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        _, tool, mode, seed, threads, epochs, corpus, extra = args._worker
        worker(tool, mode, int(seed), int(threads), int(epochs), corpus, extra)
        return
    extra = _common.parse_extra_args(args.dv)
    me = os.path.abspath(__file__)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if args.tokens:
            corpus = str(Path(tmp) / "slice.txt")
            slice_corpus(args.corpus, args.tokens, Path(corpus))
        runs = []
        for seed in args.seeds:
            for mode in args.modes:
                tools = args.tools if seed % 2 else args.tools[::-1]  # alternate who goes first
                for tool in tools:
                    res, _, _ = _common.run_child([me, "_", tool, mode, str(seed), str(args.threads),
                                                   str(args.epochs), corpus, json.dumps(extra)])
                    res.update(tool=tool, mode=mode, seed=seed)
                    runs.append(res)
                    print(f"{tool:9s} {mode:8s} seed {seed}: analogy {res['analogy']:.2f}  "
                          f"ws353 {100 * res['ws353']:.1f}  {res['words_per_s']:,.0f} words/s", flush=True)
    rows = []
    for mode in args.modes:
        for tool in args.tools:
            rs = [r for r in runs if r["tool"] == tool and r["mode"] == mode]
            if not rs:
                continue
            acc = [r["analogy"] for r in rs]
            ws = [100 * r["ws353"] for r in rs]
            wps = [r["words_per_s"] for r in rs]
            rows.append([mode, tool, ", ".join(f"{a:.1f}" for a in acc), statistics.mean(acc),
                         ", ".join(f"{w:.1f}" for w in ws), statistics.mean(ws), statistics.median(wps)])
    speed = {}
    for mode in args.modes:
        med = {t: statistics.median([r["words_per_s"] for r in runs if r["tool"] == t and r["mode"] == mode])
               for t in args.tools if any(r["tool"] == t and r["mode"] == mode for r in runs)}
        if "densevec" in med and "gensim" in med:
            speed[mode] = med["densevec"] / med["gensim"]
    report = [f"# word2vec quality parity over seeds ({args.tokens or 'all'} tokens, {args.epochs} epochs)", "",
              _common.machine_line(), "",
              f"Command: `python benchmarks/bench_parity.py {' '.join(sys.argv[1:])}`", "",
              f"dim 100, window 5, negative 5, sample 1e-3, min_count 5, alpha 0.025, {args.threads} threads; "
              f"densevec extra arguments: {extra or 'none (defaults)'}.", "",
              _common.markdown_table(["mode", "tool", "questions-words % per seed", "mean",
                                      "WordSim353 ρ×100 per seed", "mean", "median words/s"], rows), ""]
    for mode, r in speed.items():
        report.append(f"- {mode}: densevec {r:.2f}x gensim's words/s (medians, same run)")
    _common.emit("\n".join(report) + "\n", args.out)


if __name__ == "__main__":
    main()
