"""word2vec against its peers, in one run, on the same corpus and parameters.

    python benchmarks/compare_word2vec.py --corpus big.txt [--mode skipgram|cbow]
        [--threads 1 2] [--speed-epochs 1] [--quality-epochs 5]
        [--peers gensim word2vec_c fasttext]

Every training runs in its own child process (peak RSS is the child's). Speed:
raw corpus tokens x epochs / training seconds, at each thread count. Quality:
analogy accuracy (questions-words, 3CosAdd, 30k most frequent words) and
WordSim353 Spearman of a separate run with --quality-epochs, judged by gensim's
evaluators for every tool. Writes a markdown table to --out.

Timing boundaries: densevec times Word2Vec.fit on an already encoded corpus
(encoding is benchmarked in bench_vocab.py), gensim times model.train in
corpus_file mode after build_vocab; word2vec.c and fastText can only be timed
as a whole command, vocabulary pass included, which flatters densevec by the
few seconds their vocabulary pass takes (stated in the table).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

PARAMS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025)


def worker(tool: str, mode: str, loss: str, threads: int, epochs: int, corpus: str, out: str) -> None:
    p = PARAMS
    sg = mode == "skipgram"
    hs = loss == "hs"
    negative = 0 if hs else p["negative"]
    t0 = time.perf_counter()
    if tool == "densevec":
        import densevec as dv
        from densevec.word2vec import Word2Vec

        c = dv.Corpus.from_file(corpus, min_count=p["min_count"])
        model = Word2Vec(dim=p["dim"], mode=mode, loss=loss, window=p["window"], negative=negative,
                         sample=p["sample"], alpha=p["alpha"], epochs=epochs, threads=threads)
        t0 = time.perf_counter()
        emb = model.fit(c, progress=False)
        seconds = time.perf_counter() - t0
        words, vectors = emb.index_to_word, np.asarray(emb.vectors)
        raw = c.vocab.raw_tokens
    elif tool == "gensim":
        from gensim.models import Word2Vec as GW2V

        model = GW2V(vector_size=p["dim"], window=p["window"], negative=negative,
                     sample=p["sample"], alpha=p["alpha"], min_count=p["min_count"], sg=int(sg),
                     hs=int(hs), workers=threads, epochs=epochs)
        model.build_vocab(corpus_file=corpus)
        t0 = time.perf_counter()
        model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=epochs)
        seconds = time.perf_counter() - t0
        words, vectors = list(model.wv.index_to_key), model.wv.vectors
        raw = model.corpus_total_words
    elif tool == "word2vec_c":
        exe = shutil.which("word2vec")
        if exe is None:
            raise SystemExit("word2vec binary not found (pip install word2vec)")
        vec = out + ".bin"
        cmd = [exe, "-train", corpus, "-output", vec, "-size", str(p["dim"]), "-window",
               str(p["window"]), "-sample", str(p["sample"]), "-hs", str(int(hs)), "-negative",
               str(negative), "-threads", str(threads), "-iter", str(epochs), "-min-count",
               str(p["min_count"]), "-alpha", str(p["alpha"]), "-binary", "1", "-cbow",
               "0" if sg else "1"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        words, vectors = read_w2v_binary(vec)
        raw = None
    elif tool == "fasttext":
        import fasttext

        m = fasttext.train_unsupervised(corpus, model=mode, dim=p["dim"], ws=p["window"],
                                        loss="hs" if hs else "ns", neg=p["negative"], t=p["sample"], minCount=p["min_count"],
                                        lr=p["alpha"], epoch=epochs, thread=threads, minn=0,
                                        maxn=0, verbose=0)
        seconds = time.perf_counter() - t0
        words = m.get_words()
        vectors = np.stack([m.get_word_vector(w) for w in words]).astype(np.float32)
        raw = None
    else:
        raise SystemExit(f"unknown tool {tool}")
    np.save(out + ".npy", np.ascontiguousarray(vectors, dtype=np.float32))
    Path(out + ".words").write_text("\n".join(words), encoding="utf-8")
    print(json.dumps({"seconds": seconds, "raw_tokens": raw, "peak_rss_mib": _common.peak_rss_mib()}))


def read_w2v_binary(path: str):
    with open(path, "rb") as f:
        n, d = map(int, f.readline().split())
        words, rows = [], np.empty((n, d), dtype=np.float32)
        for i in range(n):
            w = bytearray()
            while (ch := f.read(1)) != b" ":
                if ch != b"\n":
                    w += ch
            words.append(w.decode("utf-8", errors="replace"))
            rows[i] = np.frombuffer(f.read(4 * d), dtype=np.float32)
    return words, rows


def available(tool: str) -> bool:
    if tool == "densevec":
        return True
    if tool == "word2vec_c":
        return shutil.which("word2vec") is not None
    try:
        __import__(tool)
        return True
    except ImportError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--mode", choices=["skipgram", "cbow"], default="skipgram")
    ap.add_argument("--loss", choices=["ns", "hs"], default="ns")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--speed-epochs", type=int, default=1)
    ap.add_argument("--quality-epochs", type=int, default=5, help="0 skips the quality runs")
    ap.add_argument("--quality-threads", type=int, default=2)
    ap.add_argument("--peers", nargs="*", default=["gensim", "word2vec_c", "fasttext"])
    ap.add_argument("--quality-tools", nargs="*", default=None,
                    help="tools to run the quality training for (default: all)")
    ap.add_argument("--out", default=None)
    ap.add_argument("_worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        tool, mode, loss, threads, epochs, corpus, out = args._worker
        worker(tool, mode, loss, int(threads), int(epochs), corpus, out)
        return

    import densevec as dv

    corpus = str(Path(args.corpus).resolve())
    c = dv.Corpus.from_file(corpus, min_count=PARAMS["min_count"], progress=True)  # warm the cache
    raw_tokens = c.vocab.raw_tokens
    tools = ["densevec"] + [t for t in args.peers if available(t)]
    skipped = [t for t in args.peers if not available(t)]
    tmp = Path(tempfile.mkdtemp(prefix="dv-bench-"))
    me = os.path.abspath(__file__)
    rows, speed = [], {}
    try:
        for tool in tools:
            for threads in args.threads:
                res, _, rss = _common.run_child([me, tool, args.mode, args.loss, str(threads), str(args.speed_epochs),
                                                 corpus, str(tmp / f"{tool}-{threads}")])
                wps = raw_tokens * args.speed_epochs / res["seconds"]
                speed[(tool, threads)] = wps
                print(f"{tool:10s} threads={threads}: {wps:,.0f} words/s, peak RSS {rss:.0f} MiB",
                      flush=True)
                rows.append([tool, threads, res["seconds"], wps, wps / threads, rss])
        quality = {}
        if args.quality_epochs > 0:
            for tool in tools:
                if args.quality_tools is not None and tool not in args.quality_tools:
                    continue
                prefix = str(tmp / f"{tool}-quality")
                res, _, _ = _common.run_child([me, tool, args.mode, args.loss, str(args.quality_threads),
                                               str(args.quality_epochs), corpus, prefix])
                words = Path(prefix + ".words").read_text(encoding="utf-8").split("\n")
                q = _common.evaluate_quality(words, np.load(prefix + ".npy"))
                q["seconds"] = res["seconds"]
                quality[tool] = q
                print(f"{tool:10s} quality: analogy {q['analogy']:.2f}% ({q['analogy_n']} q), "
                      f"WS353 {q['ws353']:.3f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    table_rows = []
    for tool, threads, secs, wps, wpst, rss in rows:
        base = speed.get(("gensim", threads))
        q = quality.get(tool, {})
        table_rows.append([tool, threads, secs, wps, wpst, (wps / base) if base else float("nan"), rss,
                           q.get("analogy", float("nan")), q.get("ws353", float("nan"))])
    text = [
        f"## word2vec {args.mode}, {'hierarchical softmax' if args.loss == 'hs' else 'negative sampling'}: {Path(corpus).name} "
        f"({raw_tokens:,} tokens), dim {PARAMS['dim']}, window {PARAMS['window']}, "
        f"negative {PARAMS['negative']}, sample {PARAMS['sample']}, min_count {PARAMS['min_count']}",
        "",
        f"Machine: {_common.machine_line()}. Speed: {args.speed_epochs} epoch(s); quality: "
        f"{args.quality_epochs} epochs with {args.quality_threads} threads "
        f"(analogy: questions-words, 3CosAdd, 30k words; judged by "
        f"{next(iter(quality.values()), {}).get('referee', '–')}'s evaluators).",
        "",
        _common.markdown_table(
            ["tool", "threads", "train s", "words/s", "words/s/thread", "x gensim", "peak RSS MiB",
             "analogy %", "WS353 ρ"], table_rows),
        "",
        "word2vec_c and fasttext times include their vocabulary pass (whole command timed).",
    ]
    if skipped:
        text.append(f"Not installed, skipped: {', '.join(skipped)}.")
    report = "\n".join(text) + "\n"
    _common.emit(report, args.out)
    if args.out:
        png = _common.bar_chart(str(Path(args.out).with_suffix(".png")), text[0].lstrip("# "),
                                [f"{r[0]} x{r[1]}" for r in table_rows], [r[3] for r in table_rows],
                                "raw words / s")
        if png:
            print(f"chart: {png}")


if __name__ == "__main__":
    main()
