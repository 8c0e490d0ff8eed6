"""Quality sweep of densevec's Contrastive on the WordNet reverse dictionary's *dev* split (not timed).

    nice -n 19 python benchmarks/sweep_contrastive.py [--train-pairs 100000] [--queries 3000]
        [--seeds 1,2,3] [--temperature 0.05,0.1] [--learning-rate 0.1,0.15] [--symmetric]

Fine-tunes the benchmark's skip-gram vectors (``bench_contrastive.word_vectors``)
on the same seeded sample of train pairs as ``bench_contrastive.py --train-pairs``
for every (temperature, learning rate, seed) and prints recall@10 and MRR on a
seeded sample of the dev queries, then the mean over the seeds of each setting.
The dev split is for choosing defaults; the test split is for the benchmark.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_contrastive  # noqa: E402
import wordnet_pairs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-pairs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--temperature", default="0.05,0.1")
    ap.add_argument("--learning-rate", default="0.1,0.15")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--symmetric", action="store_true")
    args = ap.parse_args()

    import densevec as dv
    from densevec import evaluate

    pairs, _ = bench_contrastive.load_data(args.train_pairs, 0)
    dev = json.loads((wordnet_pairs.CACHE / "dev.json").read_text(encoding="utf-8"))
    pick = np.sort(np.random.default_rng(7).choice(len(dev["queries"]), min(args.queries, len(dev["queries"])),
                                                   replace=False))
    queries, relevant = [dev["queries"][i] for i in pick], [dev["relevant"][i] for i in pick]
    vectors = dv.Embeddings.load(bench_contrastive.word_vectors(args.threads), mmap=False)
    floats = lambda s: [float(x) for x in s.split(",")]  # noqa: E731
    summary: dict = {}
    for t, lr, seed in itertools.product(floats(args.temperature), floats(args.learning_rate),
                                         [int(x) for x in args.seeds.split(",")]):
        model = dv.Contrastive(init=vectors, temperature=t, learning_rate=lr, epochs=args.epochs,
                               batch_size=args.batch, symmetric=args.symmetric, threads=args.threads, seed=seed)
        model.fit(pairs, progress=False)
        r = evaluate.retrieval(queries, dev["candidates"], relevant, encoder=dv.TextEncoder(model.embeddings_))
        summary.setdefault((t, lr), []).append((r.recall[10], r.mrr))
        print(f"temperature {t} lr {lr} seed {seed}: recall@10 {r.recall[10]:.4f} MRR {r.mrr:.4f} "
              f"loss {model.history[-1]['loss']:.3f}", flush=True)
    print(f"\nmean over seeds ({len(pairs):,} train pairs, {len(queries):,} dev queries, "
          f"{args.epochs} epoch(s), batch {args.batch}{', symmetric' if args.symmetric else ''}):")
    for (t, lr), v in summary.items():
        m = np.mean(v, axis=0)
        print(f"  temperature {t} lr {lr}: recall@10 {m[0]:.4f} MRR {m[1]:.4f}")


if __name__ == "__main__":
    main()
