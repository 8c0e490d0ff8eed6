"""fastText subword models: densevec against gensim 4.4's FastText and Facebook's fastText.

    python benchmarks/bench_fasttext.py [--corpus big.txt] [--speed-tokens 3000000]
        [--threads 1 2] [--quality-tokens 6000000] [--quality-epochs 2] [--seeds 1 2 3] [--out report.md]

Every training runs in its own child process (peak RSS is the child's); the
tools alternate within one run. Parameters: dim 100, window 5, negative 5,
sample 1e-3, min_count 5, min_n 3, max_n 6, bucket 2,000,000.

* Speed: the first --speed-tokens tokens of the corpus (whole lines), one
  epoch, skip-gram for all three tools and CBOW for densevec and gensim, at
  each thread count: raw words / training second and peak RSS. densevec times
  ``train`` on an encoded corpus after ``build_vocab``; gensim times ``train``
  (corpus_file mode) after ``build_vocab``; fastText can only be timed as a whole command
  (vocabulary pass included), which flatters densevec by that pass.
* Quality: skip-gram on the first --quality-tokens tokens for
  --quality-epochs epochs, 2 threads: questions-words (overall and the
  syntactic sections, 3CosAdd over the 30k most frequent words) and WS353
  Spearman, judged by gensim's evaluators for every tool; once per --seeds
  seed (every tool gets the seed; the order of the tools alternates).
* Out of vocabulary: --oov-words words of mid frequency (ranks 3,000-10,000,
  letters only, 6+ characters) are deleted from the quality corpus; each
  tool trains on what is left, and the composed vector of each held-out word
  is compared with that tool's own full model (which saw the word): the mean
  overlap of the 10 nearest vocabulary words (among words both models share).
  A random vector scores about 0 (the control printed beside).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

P = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, min_n=3, max_n=6, bucket=2_000_000)
SYNTACTIC = "gram"


def worker(tool: str, mode: str, threads: int, epochs: int, corpus: str, out: str, oov_file: str,
           seed: int = 1) -> None:
    oov = [w for w in Path(oov_file).read_text(encoding="utf-8").split("\n") if w] if oov_file != "-" else []
    t0 = time.perf_counter()
    if tool == "densevec":
        import densevec as dv

        c = dv.Corpus.from_file(corpus, min_count=P["min_count"])
        model = dv.FastText(dim=P["dim"], mode=mode, window=P["window"], negative=P["negative"],
                            sample=P["sample"], epochs=epochs, threads=threads, min_n=P["min_n"],
                            max_n=P["max_n"], bucket=P["bucket"], seed=seed,
                            **json.loads(os.environ.get("DV_BENCH_FT_EXTRA", "{}")))
        model.build_vocab(c)
        t0 = time.perf_counter()
        emb = model.train(c, progress=False)
        seconds = time.perf_counter() - t0
        words, vectors = emb.index_to_word, np.asarray(emb.vectors)
        oov_vecs = np.stack([emb.get_vector(w, strict=False) for w in oov]) if oov else None
        raw = c.vocab.raw_tokens
    elif tool == "gensim":
        from gensim.models import FastText as GFT

        model = GFT(vector_size=P["dim"], window=P["window"], negative=P["negative"], sample=P["sample"],
                    min_count=P["min_count"], sg=int(mode == "skipgram"), workers=threads, epochs=epochs,
                    min_n=P["min_n"], max_n=P["max_n"], bucket=P["bucket"], seed=seed)
        model.build_vocab(corpus_file=corpus)
        t0 = time.perf_counter()
        model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=epochs)
        seconds = time.perf_counter() - t0
        words, vectors = list(model.wv.index_to_key), model.wv.vectors
        oov_vecs = np.stack([model.wv[w] for w in oov]) if oov else None
        raw = model.corpus_total_words
    elif tool == "fasttext":
        import fasttext

        kw = dict(model=mode, dim=P["dim"], ws=P["window"], loss="ns", neg=P["negative"], t=P["sample"],
                  minCount=P["min_count"], epoch=epochs, thread=threads, minn=P["min_n"], maxn=P["max_n"],
                  bucket=P["bucket"], verbose=0)
        try:
            m = fasttext.train_unsupervised(corpus, seed=seed, **kw)
        except TypeError as e:  # fastText 0.9.3 from PyPI takes no seed here (it uses 0); the
            if "seed" not in str(e):  # argument check fails before any training
                raise
            m = fasttext.train_unsupervised(corpus, **kw)
        seconds = time.perf_counter() - t0
        words = m.get_words()
        vectors = np.stack([m.get_word_vector(w) for w in words]).astype(np.float32)
        oov_vecs = np.stack([m.get_word_vector(w) for w in oov]) if oov else None
        raw = None
    else:
        raise SystemExit(f"unknown tool {tool}")
    np.save(out + ".npy", np.ascontiguousarray(vectors, dtype=np.float32))
    Path(out + ".words").write_text("\n".join(words), encoding="utf-8")
    if oov_vecs is not None:
        np.save(out + ".oov.npy", oov_vecs.astype(np.float32))
    print(json.dumps({"seconds": seconds, "raw_tokens": raw, "peak_rss_mib": _common.peak_rss_mib()}))


def head_tokens(src: str, n: int, dst: Path) -> int:
    """The first whole lines of `src` holding about `n` tokens, written to `dst`."""
    done = 0
    with open(src, encoding="utf-8", errors="replace") as f, open(dst, "w", encoding="utf-8") as g:
        for line in f:
            g.write(line)
            done += len(line.split())
            if done >= n:
                break
    return done


def pick_oov(words: list[str], k: int, seed: int = 0) -> list[str]:
    cand = [w for w in words[3000:10000] if re.fullmatch(r"[a-z]{6,}", w)]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(cand, size=min(k, len(cand)), replace=False).tolist())


def delete_words(src: Path, dst: Path, drop: set[str]) -> None:
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for line in f:
            g.write(" ".join(t for t in line.split() if t not in drop) + "\n")


def unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(n == 0, 1, n)


def neighbour_overlap(full_words, full_vecs, held_words, held_vecs, oov, oov_vecs, k=10) -> tuple[float, float]:
    """Mean top-k overlap between each held-out word's neighbours in the full
    model and its composed vector's neighbours in the held-out model, over the
    words both vocabularies share (the held-out words excluded); and the same
    score for random query vectors (the control)."""
    fi = {w: i for i, w in enumerate(full_words)}
    hi = {w: i for i, w in enumerate(held_words)}
    drop = set(oov)
    common = [w for w in held_words if w in fi and w not in drop]
    F = unit(full_vecs[[fi[w] for w in common]])
    H = unit(held_vecs[[hi[w] for w in common]])
    rng = np.random.default_rng(1)
    scores, control = [], []
    for w, v in zip(oov, oov_vecs):
        if w not in fi:
            continue
        ref = set(np.argsort(-(F @ unit(full_vecs[fi[w]][None])[0]))[:k].tolist())
        got = set(np.argsort(-(H @ unit(v[None])[0]))[:k].tolist())
        rnd = set(np.argsort(-(H @ unit(rng.standard_normal((1, H.shape[1])))[0]))[:k].tolist())
        scores.append(len(ref & got) / k)
        control.append(len(ref & rnd) / k)
    return float(np.mean(scores)), float(np.mean(control))


def quality(words: list[str], vectors: np.ndarray) -> dict:
    d = _common.eval_dir()
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    acc, sections = kv.evaluate_word_analogies(str(d / "questions-words.txt"), restrict_vocab=30000,
                                               case_insensitive=True)
    syn_c = sum(len(s["correct"]) for s in sections if s["section"].startswith(SYNTACTIC))
    syn_n = syn_c + sum(len(s["incorrect"]) for s in sections if s["section"].startswith(SYNTACTIC))
    ws = kv.evaluate_word_pairs(str(d / "wordsim353.tsv"), case_insensitive=True)
    return {"analogy": 100 * acc, "syntactic": 100 * syn_c / max(syn_n, 1), "ws353": float(ws[1][0])}


def rss_parts() -> dict:
    """RssAnon and RssFile of this process, MiB (Linux)."""
    out = {}
    for line in open("/proc/self/status"):
        if line.startswith(("RssAnon", "RssFile")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) / 1024
    return out


def store_section(tmp: Path, rows: int, dim: int, opens: int = 20) -> list[str]:
    """Open time of a FastText store with a `rows`-row n-gram matrix, and the
    memory an out-of-vocabulary lookup touches."""
    import densevec as dv
    from densevec.fasttext import SubwordEmbeddings

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50_000)]
    ngrams = np.lib.format.open_memmap(tmp / "ng.npy", mode="w+", dtype=np.float32, shape=(rows, dim))
    for start in range(0, rows, 1 << 18):
        ngrams[start:start + (1 << 18)] = rng.standard_normal((min(1 << 18, rows - start), dim), dtype=np.float32)
    known = np.ones(rows, dtype=bool)
    emb = SubwordEmbeddings(rng.standard_normal((len(words), dim), dtype=np.float32), words, ngrams, known, 3, 6)
    path = emb.save(tmp / "ft.dv")
    del emb, ngrams
    (tmp / "ng.npy").unlink()
    times = []
    for _ in range(opens):
        t0 = time.perf_counter()
        e = dv.Embeddings.load(path)
        times.append(time.perf_counter() - t0)
        del e
    e = dv.Embeddings.load(path)
    # a store checks its vocabulary's hash index at the first miss (O(vocabulary), once): not the n-grams' cost
    assert "notaword" not in e
    import resource

    before, f0 = rss_parts(), resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    v = e["unseenwordish"]
    lookup = time.perf_counter() - t0
    after, f1 = rss_parts(), resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    e["anotherunseenword"]
    warm = time.perf_counter() - t0
    f2 = resource.getrusage(resource.RUSAGE_SELF)
    n = len(e._ngram_ids("unseenwordish"))
    assert v.shape == (dim,)
    size = (path / "ngrams.npy").stat().st_size
    return [f"### Store: {rows:,} x {dim} n-gram matrix ({size / 2**20:,.0f} MiB file), {len(words):,} words", "",
            f"`Embeddings.load`: median {1e3 * float(np.median(times)):.2f} ms, max {1e3 * max(times):.2f} ms "
            f"over {opens} opens (page cache warm). One out-of-vocabulary lookup ({n} n-grams): "
            f"{1e3 * lookup:.2f} ms (the next: {1e3 * warm:.2f} ms), RSS +{after['RssFile'] - before['RssFile']:.2f} MiB file-backed, "
            f"+{after['RssAnon'] - before['RssAnon']:.2f} MiB anonymous "
            f"({n} rows of {4 * dim} bytes: at most {n} pages of 4 KiB = {n * 4 / 1024:.2f} MiB); "
            f"page faults: {f1.ru_minflt - f0.ru_minflt} minor, {f1.ru_majflt - f0.ru_majflt} major "
            f"(the next lookup: {f2.ru_minflt - f1.ru_minflt} minor).", ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--speed-tokens", type=int, default=3_000_000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quality-tokens", type=int, default=6_000_000)
    ap.add_argument("--quality-epochs", type=int, default=2, help="0 skips quality and OOV runs")
    ap.add_argument("--quality-modes", nargs="+", default=["skipgram"], choices=["skipgram", "cbow"],
                    help="modes judged for quality (the out-of-vocabulary score: skip-gram only)")
    ap.add_argument("--oov-words", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1],
                    help="seeds of the quality runs (every tool gets the same seed; mean rows when several)")
    ap.add_argument("--tools", nargs="*", default=["densevec", "gensim", "fasttext"])
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--store-rows", type=int, default=2_000_000, help="0 skips the store measurement")
    _common.add_extra_args(ap, "FastText")
    ap.add_argument("--out", default=None)
    ap.add_argument("_worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        w = args._worker
        worker(w[0], w[1], int(w[2]), int(w[3]), w[4], w[5], w[6], *(int(x) for x in w[7:8]))
        return

    if args.dv:  # reaches the densevec workers through their environment
        os.environ["DV_BENCH_FT_EXTRA"] = json.dumps(_common.parse_extra_args(args.dv))
    me = os.path.abspath(__file__)
    tmp = Path(tempfile.mkdtemp(prefix="dv-bench-ft-"))
    lines = [f"## fastText subwords: {Path(args.corpus).name}, dim {P['dim']}, window {P['window']}, "
             f"negative {P['negative']}, sample {P['sample']}, min_count {P['min_count']}, "
             f"n-grams {P['min_n']}-{P['max_n']}, bucket {P['bucket']:,}", "",
             f"Machine: {_common.machine_line()}.", ""]
    try:
        if args.store_rows:
            lines += store_section(tmp, args.store_rows, P["dim"])
        if not args.skip_speed:
            speed_file = tmp / "speed.txt"
            n = head_tokens(args.corpus, args.speed_tokens, speed_file)
            rows, wps = [], {}
            for mode in ("skipgram", "cbow"):
                for threads in args.threads:
                    for tool in args.tools:
                        if mode == "cbow" and tool == "fasttext":
                            continue
                        res, _, rss = _common.run_child([me, tool, mode, str(threads), "1", str(speed_file),
                                                         str(tmp / f"s-{tool}"), "-"])
                        wps[(tool, mode, threads)] = n / res["seconds"]
                        print(f"{mode} {tool} x{threads}: {n / res['seconds']:,.0f} words/s, {rss:.0f} MiB",
                              flush=True)
                        rows.append([mode, tool, threads, res["seconds"], n / res["seconds"], rss])
            table = []
            for mode, tool, threads, secs, w, rss in rows:
                g = wps.get(("gensim", mode, threads))
                f = wps.get(("fasttext", mode, threads))
                table.append([mode, tool, threads, secs, w, w / g if g else float("nan"),
                              w / f if f else float("nan"), rss])
            lines += [f"### Speed: first {n:,} tokens, 1 epoch", "",
                      _common.markdown_table(["mode", "tool", "threads", "train s", "words/s", "x gensim",
                                              "x fastText", "peak RSS MiB"], table), "",
                      "fastText's time includes its vocabulary pass (whole command timed).", ""]
        if args.quality_epochs > 0:
            qfile = tmp / "quality.txt"
            n = head_tokens(args.corpus, args.quality_tokens, qfile)
            import densevec as dv
            vocab = dv.Corpus.from_file(str(qfile), min_count=P["min_count"]).vocab
            oov = pick_oov(vocab.index_to_word, args.oov_words)
            held = tmp / "held.txt"
            delete_words(qfile, held, set(oov))
            (tmp / "oov.txt").write_text("\n".join(oov), encoding="utf-8")
            for mode in args.quality_modes:
                qrows, per_tool = [], {}
                for seed in args.seeds:
                    tools = args.tools if seed % 2 else args.tools[::-1]  # alternate who goes first
                    for tool in tools:
                        full, _, _ = _common.run_child([me, tool, mode, "2", str(args.quality_epochs), str(qfile),
                                                        str(tmp / f"q-{tool}"), "-", str(seed)])
                        fw = (tmp / f"q-{tool}.words").read_text(encoding="utf-8").split("\n")
                        fv = np.load(tmp / f"q-{tool}.npy")
                        q = quality(fw, fv)
                        ov = ctrl = float("nan")
                        if mode == "skipgram":
                            _common.run_child([me, tool, mode, "2", str(args.quality_epochs), str(held),
                                               str(tmp / f"h-{tool}"), str(tmp / "oov.txt"), str(seed)])
                            hw = (tmp / f"h-{tool}.words").read_text(encoding="utf-8").split("\n")
                            ov, ctrl = neighbour_overlap(fw, fv, hw, np.load(tmp / f"h-{tool}.npy"), oov,
                                                         np.load(tmp / f"h-{tool}.oov.npy"))
                        print(f"quality {mode} {tool} seed {seed}: {q}, OOV overlap@10 {ov:.3f} (random {ctrl:.3f})",
                              flush=True)
                        row = [tool, seed, q["analogy"], q["syntactic"], q["ws353"], ov, ctrl, full["seconds"]]
                        qrows.append(row)
                        per_tool.setdefault(tool, []).append(row)
                if len(args.seeds) > 1:
                    for tool, rows in per_tool.items():
                        qrows.append([f"**{tool} mean**", "-"] + [float(np.mean([r[k] for r in rows]))
                                                                    for k in range(2, 8)])
                lines += [f"### Quality: {mode}, first {n:,} tokens, {args.quality_epochs} epochs, 2 threads", "",
                          _common.markdown_table(["tool", "seed", "analogy %", "syntactic %", "WS353 ρ",
                                                  f"OOV overlap@10 ({len(oov)} words)", "random control",
                                                  "train s"], qrows), ""]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _common.emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
