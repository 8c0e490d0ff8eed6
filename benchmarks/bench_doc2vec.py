"""Doc2Vec beside gensim 4.4's Doc2Vec on labelled paragraphs.

    python benchmarks/bench_doc2vec.py [--docs 200000] [--epochs 5] [--threads 1 2]
        [--modes dbow dbow_words dm] [--out benchmarks/results/doc2vec.md]

Data: the paragraphs (lines) of the sources in ``parts/*.txt`` of the corpora
directory (``$DENSEVEC_CORPORA``, default ``~/.cache/embedding-corpora``),
labelled by source file. Lines with fewer than ``--min-tokens`` tokens are left
out (headings, dictionary entries); ``--docs`` of the rest are drawn with
``numpy.random.default_rng(--seed)`` (without replacement, in random order) and
written one per line, so that line ``i`` is document ``i`` for every
implementation.

Each (implementation, mode, threads) runs in its own child process (peak RSS
is the child's): densevec (``Documents.from_file`` + ``Doc2Vec``), gensim in
``corpus_file`` mode and gensim in iterable mode (``TaggedDocument`` list in
memory), alternated within one run. Same hyperparameters: dim 100, window 5,
negative 5, sample 1e-3, min_count 5, alpha 0.025 -> 1e-4. Reported:

* peak RSS: the child's own high-water mark (``VmHWM``, not ``ru_maxrss``,
  which a child inherits from its parent), after training and inference (the
  text read for inference and evaluation included, the same for all);
* prep s: densevec's encoding / gensim's ``build_vocab``; train s: training only;
* docs/s and words/s: documents x epochs and whitespace tokens x epochs over train s;
* inference: ``--infer-docs`` documents of the set, densevec's batched
  ``infer_vectors`` (the run's threads) against a loop of gensim's
  ``infer_vector`` (both with the model's epochs), the best of
  ``--infer-reps`` timed passes each; infer cos: the mean cosine between a
  document's inferred vector and its trained one (the inferred documents are
  training documents), a check that the inferred vectors are right;
* quality on the first ``--eval-docs`` documents' trained vectors:
  ``densevec.evaluate.documents`` (5-fold logistic regression when scikit-learn
  is installed, else nearest-centroid; kNN retrieval share, k = 10).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

PARAMS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025, min_alpha=1e-4)


def build_data(parts: Path, n: int, seed: int, min_tokens: int, out_dir: Path) -> tuple[Path, Path, dict]:
    """Writes docs.txt (one paragraph per line) and labels.json; returns their paths and a summary."""
    import numpy as np

    texts: list[str] = []
    labels: list[str] = []
    files = sorted(parts.glob("*.txt"))
    if not files:
        raise SystemExit(f"{parts}: no *.txt sources")
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                toks = line.split()
                if len(toks) >= min_tokens:
                    texts.append(" ".join(toks))
                    labels.append(f.stem)
    rng = np.random.default_rng(seed)
    take = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    docs = out_dir / "docs.txt"
    docs.write_text("".join(texts[i] + "\n" for i in take), encoding="utf-8")
    lab = out_dir / "labels.json"
    lab.write_text(json.dumps([labels[i] for i in take]))
    tokens = sum(len(texts[i].split()) for i in take)
    return docs, lab, {"sources": len(files), "eligible": len(texts), "docs": len(take), "tokens": tokens}


def mean_cosine(a, b) -> float:
    """Mean cosine between the rows of a and b (rows where either is zero left out)."""
    import numpy as np

    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    return float(np.mean(np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])))


def child(cfg: dict) -> None:
    import numpy as np

    from densevec import evaluate

    mode, threads, epochs = cfg["mode"], cfg["threads"], cfg["epochs"]
    lines = Path(cfg["docs"]).read_text(encoding="utf-8").splitlines()
    labels = json.loads(Path(cfg["labels"]).read_text())
    tokens = sum(len(l.split()) for l in lines)
    infer_docs = [l.split() for l in lines[: cfg["infer_docs"]]]
    n_eval = cfg["eval_docs"]
    out: dict = {}
    if cfg["impl"] == "densevec":
        import densevec as dv

        t0 = time.perf_counter()
        docs = dv.Documents.from_file(cfg["docs"], min_count=PARAMS["min_count"], threads=threads)
        prep = time.perf_counter() - t0
        model = dv.Doc2Vec(mode="dm" if mode == "dm" else "dbow", dbow_words=mode == "dbow_words",
                           epochs=epochs, threads=threads, seed=1, **PARAMS)
        t0 = time.perf_counter()
        emb = model.fit(docs, progress=False)
        train = time.perf_counter() - t0
        vecs = emb[[str(i) for i in range(n_eval)]]
        model.infer_vectors(infer_docs[:50], threads=threads)  # warm-up
        infer = float("inf")
        for _ in range(cfg["infer_reps"]):
            t0 = time.perf_counter()
            inferred = model.infer_vectors(infer_docs, threads=threads)
            infer = min(infer, time.perf_counter() - t0)
        trained = emb[[str(i) for i in range(len(infer_docs))]]
    else:
        from gensim.models.doc2vec import Doc2Vec, TaggedDocument

        model = Doc2Vec(vector_size=PARAMS["dim"], dm=1 if mode == "dm" else 0, dm_mean=1,
                        dbow_words=1 if mode == "dbow_words" else 0, window=PARAMS["window"],
                        negative=PARAMS["negative"], hs=0, sample=PARAMS["sample"],
                        min_count=PARAMS["min_count"], alpha=PARAMS["alpha"], min_alpha=PARAMS["min_alpha"],
                        epochs=epochs, workers=threads, seed=1)
        if cfg["impl"] == "gensim-file":
            t0 = time.perf_counter()
            model.build_vocab(corpus_file=cfg["docs"])
            prep = time.perf_counter() - t0
            t0 = time.perf_counter()
            model.train(corpus_file=cfg["docs"], total_examples=model.corpus_count,
                        total_words=model.corpus_total_words, epochs=epochs)
            train = time.perf_counter() - t0
        else:
            t0 = time.perf_counter()
            tagged = [TaggedDocument(l.split(), [i]) for i, l in enumerate(lines)]
            model.build_vocab(tagged)
            prep = time.perf_counter() - t0
            t0 = time.perf_counter()
            model.train(tagged, total_examples=model.corpus_count, epochs=epochs)
            train = time.perf_counter() - t0
        vecs = np.stack([model.dv[i] for i in range(n_eval)])
        for d in infer_docs[:50]:  # warm-up
            model.infer_vector(d)
        infer = float("inf")
        for _ in range(cfg["infer_reps"]):
            t0 = time.perf_counter()
            inferred = np.stack([model.infer_vector(d) for d in infer_docs])
            infer = min(infer, time.perf_counter() - t0)
        trained = np.stack([model.dv[i] for i in range(len(infer_docs))])
    rss = _common.own_peak_rss_mib()  # training and inference, before the evaluation's own memory
    rep = evaluate.documents(np.asarray(vecs), labels[:n_eval], folds=5, k=10)
    out.update(prep_s=prep, train_s=train, docs_per_s=len(lines) * epochs / train,
               words_per_s=tokens * epochs / train, infer_docs_per_s=len(infer_docs) / infer,
               infer_cos=mean_cosine(np.asarray(inferred), np.asarray(trained)),
               accuracy=100 * rep.accuracy, retrieval=100 * rep.retrieval, classifier=rep.classifier,
               peak_rss_mib=rss)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=Path, default=_common.default_corpus_dir() / "parts")
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--min-tokens", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--modes", nargs="+", default=["dbow", "dbow_words", "dm"],
                    choices=["dbow", "dbow_words", "dm"])
    ap.add_argument("--impls", nargs="+", default=["densevec", "gensim-file", "gensim-iter"],
                    choices=["densevec", "gensim-file", "gensim-iter"])
    ap.add_argument("--infer-docs", type=int, default=2000)
    ap.add_argument("--infer-reps", type=int, default=3)
    ap.add_argument("--eval-docs", type=int, default=10_000)
    ap.add_argument("--out")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(prefix="bench-d2v-") as tmp:
        docs, labels, summary = build_data(args.parts, args.docs, args.seed, args.min_tokens, Path(tmp))
        rows, results = [], {}
        for mode in args.modes:
            for threads in args.threads:
                for impl in args.impls:  # alternated within each (mode, threads)
                    cfg = dict(impl=impl, mode=mode, threads=threads, epochs=args.epochs, docs=str(docs),
                               labels=str(labels), infer_docs=args.infer_docs, eval_docs=args.eval_docs,
                               infer_reps=args.infer_reps)
                    res, wall, rss = _common.run_child([__file__, "--child", json.dumps(cfg)])
                    results[(mode, threads, impl)] = res
                    print(f"# {mode} t={threads} {impl}: {json.dumps(res)}", file=sys.stderr, flush=True)
                gensim = [results[(mode, threads, i)] for i in args.impls if i != "densevec"]
                best = max(gensim, key=lambda r: r["docs_per_s"]) if gensim else None
                best_inf = max(gensim, key=lambda r: r["infer_docs_per_s"]) if gensim else None
                for impl in args.impls:
                    r = results[(mode, threads, impl)]
                    rows.append([mode, threads, impl, r["prep_s"], r["train_s"], r["docs_per_s"],
                                 r["words_per_s"], r["peak_rss_mib"], r["infer_docs_per_s"], r["infer_cos"],
                                 r["accuracy"],
                                 r["retrieval"],
                                 r["docs_per_s"] / best["docs_per_s"] if best else float("nan"),
                                 r["infer_docs_per_s"] / best_inf["infer_docs_per_s"] if best_inf else float("nan")])
    classifier = next(iter(results.values()))["classifier"]
    report = "\n".join([
        "# Doc2Vec: densevec vs gensim 4.4",
        "",
        f"Machine: {_common.machine_line()}",
        f"Data: {summary['docs']:,} paragraphs ({summary['tokens']:,} tokens) drawn (seed {args.seed}) from "
        f"{summary['eligible']:,} lines of >= {args.min_tokens} tokens of {summary['sources']} sources in parts/, "
        "labelled by source.",
        f"Parameters: dim 100, window 5, negative 5, sample 1e-3, min_count 5, epochs {args.epochs}. "
        f"Quality: first {args.eval_docs:,} documents' trained vectors, {classifier.replace('_', ' ')} "
        f"(5-fold accuracy %), kNN retrieval (same-source share of 10 nearest, %). Inference: "
        f"{args.infer_docs:,} documents, {args.epochs} epochs each, best of {args.infer_reps} passes; infer cos: "
        "mean cosine of inferred and trained vectors. x gensim: over the faster gensim mode "
        "of the same mode and threads (training docs/s; inference docs/s).",
        "",
        _common.markdown_table(
            ["mode", "threads", "impl", "prep s", "train s", "docs/s", "words/s", "peak RSS MiB",
             "infer docs/s", "infer cos", "accuracy", "retrieval", "x gensim train", "x gensim infer"], rows),
        "",
        "Command: `python benchmarks/bench_doc2vec.py " + " ".join(sys.argv[1:]) + "`",
    ])
    _common.emit(report, args.out)


if __name__ == "__main__":
    main()
