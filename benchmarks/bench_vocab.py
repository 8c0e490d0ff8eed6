"""Vocabulary + encoding throughput, densevec against gensim's build_vocab.

    python benchmarks/bench_vocab.py --corpus big.txt [--threads 1 2] [--repeat 1]

Each measurement runs in a child process (peak RSS is the child's). densevec
counts, prunes, sorts and writes the encoded id stream (cache disabled, so it
really tokenises); gensim 4.4's Word2Vec.build_vocab(corpus_file=...) only
counts and prunes. MB/s = input bytes / seconds.

--repeat N concatenates the corpus N times into a temporary file first (e.g.
--repeat 4 on big.txt gives ~120M tokens) to check that RSS stays bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def worker(tool: str, threads: int, corpus: str) -> None:
    if tool == "densevec":
        import densevec as dv

        t0 = time.perf_counter()
        c = dv.Corpus.from_file(corpus, min_count=5, threads=threads, cache=False)
        seconds = time.perf_counter() - t0
        info = {"words": len(c.vocab), "tokens": c.vocab.raw_tokens}
    else:
        from gensim.models import Word2Vec

        m = Word2Vec(vector_size=100, min_count=5, workers=threads)
        t0 = time.perf_counter()
        m.build_vocab(corpus_file=corpus)
        seconds = time.perf_counter() - t0
        info = {"words": len(m.wv), "tokens": m.corpus_total_words}
    print(json.dumps({"seconds": seconds, **info, "peak_rss_mib": _common.peak_rss_mib()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-gensim", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("_worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        tool, threads, corpus = args._worker
        worker(tool, int(threads), corpus)
        return
    corpus = Path(args.corpus).resolve()
    tmpdir = None
    if args.repeat > 1:
        tmpdir = Path(tempfile.mkdtemp(prefix="dv-bench-vocab-"))
        big = tmpdir / f"{corpus.stem}x{args.repeat}.txt"
        with open(big, "wb") as out:
            for _ in range(args.repeat):
                with open(corpus, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        corpus = big
    size_mb = corpus.stat().st_size / 1e6
    tools = ["densevec"]
    if not args.no_gensim:
        try:
            import gensim  # noqa: F401

            tools.append("gensim")
        except ImportError:
            pass
    me = os.path.abspath(__file__)
    rows, base = [], {}
    try:
        for threads in args.threads:
            for tool in tools:
                res, _, rss = _common.run_child([me, tool, str(threads), str(corpus)])
                mbs = size_mb / res["seconds"]
                base.setdefault(threads, {})[tool] = res["seconds"]
                print(f"{tool:8s} threads={threads}: {res['seconds']:.2f} s, {mbs:.1f} MB/s, "
                      f"peak RSS {rss:.0f} MiB, {res['words']} words", flush=True)
                rows.append([tool, threads, res["seconds"], mbs, rss, res["words"], res["tokens"]])
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    table = []
    for tool, threads, secs, mbs, rss, words, tokens in rows:
        g = base[threads].get("gensim")
        table.append([tool, threads, secs, mbs, (g / secs) if g else float("nan"), rss, words, tokens])
    report = "\n".join([
        f"## Vocabulary + encoding: {corpus.name} ({size_mb:.0f} MB), min_count 5",
        "",
        f"Machine: {_common.machine_line()}. densevec: count + prune + sort + write the id stream; "
        "gensim: build_vocab(corpus_file=...) (count + prune only).",
        "",
        _common.markdown_table(["tool", "threads", "seconds", "MB/s", "speed-up vs gensim",
                                "peak RSS MiB", "vocab", "tokens"], table),
    ]) + "\n"
    _common.emit(report, args.out)


if __name__ == "__main__":
    main()
