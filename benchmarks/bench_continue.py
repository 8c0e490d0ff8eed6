"""Continued training against one run, on the same corpus and total epochs.

    python benchmarks/bench_continue.py --corpus big.txt [--epochs 5] [--threads 2]
        [--seeds 1 2] [--out benchmarks/results/continue.md]

For each seed: (a) one skip-gram run over the whole file; (b) a run over the
first half of its lines, saved as a full model, then loaded in a *new
process*, grown with ``build_vocab(update=True)`` on the second half and
trained on it. Both see every token ``--epochs`` times. Each step runs in its
own child process. Quality: questions-words (3CosAdd, 30k words) and
WordSim353, judged by gensim's evaluators when gensim is installed.

``--variants order`` is the control for (b): one process, the whole file's
vocabulary and counts, then ``--epochs`` over the first half and ``--epochs``
over the second under the same split schedule, with no save, load or
vocabulary update. What it loses against (a) is the cost of the data order
alone (every pass over the first half comes before every pass over the
second), which no way of saving or continuing a model can recover.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

PARAMS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5)


def split_point(m, args: dict) -> float:
    """The rate where the first half's schedule ends and the second's starts:
    ``split_at`` of the way from ``alpha`` down to the final rate."""
    end = getattr(m, "final_alpha", m.min_alpha)
    return m.alpha - (m.alpha - end) * args.get("split_at", 0.5)


def child(step: str, args: dict) -> None:
    import numpy as np

    import densevec as dv

    t0 = time.perf_counter()
    out: dict = {}
    if step == "whole":
        c = dv.Corpus.from_file(args["corpus"], min_count=PARAMS["min_count"])
        m = dv.Word2Vec(epochs=args["epochs"], threads=args["threads"], seed=args["seed"], **PARAMS)
        emb = m.fit(c, progress=False)
    elif step == "order":  # the control: the halves in one process, the whole file's vocabulary
        m = dv.Word2Vec(epochs=args["epochs"], threads=args["threads"], seed=args["seed"], **PARAMS)
        m.build_vocab(dv.Corpus.from_file(args["corpus"], min_count=PARAMS["min_count"]))
        first, second = (dv.Corpus.from_file(path, min_count=1) for path in args["halves"])
        m.train(first, progress=False, end_alpha=split_point(m, args), allow_mixed=True)
        emb = m.train(second, progress=False, start_alpha=split_point(m, args), allow_mixed=True)
    elif step == "first":
        c = dv.Corpus.from_file(args["corpus"], min_count=PARAMS["min_count"])
        m = dv.Word2Vec(epochs=args["epochs"], threads=args["threads"], seed=args["seed"], **PARAMS)
        if args.get("split"):  # the first half of one schedule: alpha -> midpoint
            m.build_vocab(c)
            m.train(c, progress=False, end_alpha=split_point(m, args))
        else:
            m.fit(c, progress=False)
        m.save(args["model"])
        emb = None
        out["words_first"] = len(c.vocab)
    else:  # "second": a new process continues the saved model
        m = dv.Word2Vec.load(args["model"])
        # min_count=1 keeps the model's words that are rare in this half; update adds
        # the half's new words that reach the model's min_count (gensim's rule)
        c = dv.Corpus.from_file(args["corpus"], min_count=args["second_min_count"])
        before = len(m.state)
        m.build_vocab(c, update=True, allow_mixed=True)
        out["words_added"] = len(m.state) - before
        if args.get("split"):  # ... and its second half: midpoint -> min_alpha
            emb = m.train(c, progress=False, start_alpha=split_point(m, args))
        else:
            emb = m.train(c, progress=False)
    out["seconds"] = time.perf_counter() - t0
    if emb is not None:
        out.update(_common.evaluate_quality(emb.index_to_word, np.asarray(emb.vectors)))
        out["words"] = len(emb)
    print(json.dumps(out))


def gensim_child(step: str, args: dict) -> None:
    """The same steps with gensim 4.4 (corpus_file mode), for comparison."""
    import numpy as np
    from gensim.models import Word2Vec

    t0 = time.perf_counter()
    kw = dict(vector_size=PARAMS["dim"], window=PARAMS["window"], negative=PARAMS["negative"],
              sample=PARAMS["sample"], min_count=PARAMS["min_count"], sg=1, epochs=args["epochs"],
              workers=args["threads"], seed=args["seed"])
    mid = (0.025 + 0.0001) / 2
    out: dict = {}
    if step == "whole":
        m = Word2Vec(corpus_file=args["corpus"], **kw)
    elif step == "first":
        m = Word2Vec(**kw)
        m.build_vocab(corpus_file=args["corpus"])
        end = mid if args.get("split") else 0.0001
        m.train(corpus_file=args["corpus"], total_words=m.corpus_total_words, epochs=args["epochs"],
                start_alpha=0.025, end_alpha=end)
        m.save(args["model"])
        print(json.dumps({"seconds": time.perf_counter() - t0}))
        return
    else:
        m = Word2Vec.load(args["model"])
        m.build_vocab(corpus_file=args["corpus"], update=True)
        start = mid if args.get("split") else 0.025
        m.train(corpus_file=args["corpus"], total_words=m.corpus_total_words, epochs=args["epochs"],
                start_alpha=start, end_alpha=0.0001)
    out["seconds"] = time.perf_counter() - t0
    out.update(_common.evaluate_quality(list(m.wv.index_to_key), np.asarray(m.wv.vectors)))
    out["words"] = len(m.wv)
    print(json.dumps(out))


def run_child(step: str, args: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", step, json.dumps(args)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default=str(Path.home() / ".cache/embedding-corpora/big.txt"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--variants", nargs="+", default=["restart", "split"], choices=["restart", "split", "order"],
                   help="restart: each half runs alpha -> min_alpha; split: one schedule split in two "
                        "(alpha -> midpoint, midpoint -> min_alpha); order: the split schedule's halves "
                        "in one process over the whole file's vocabulary (densevec; the data order's "
                        "cost alone)")
    p.add_argument("--no-whole", action="store_true", help="skip the one-run baseline")
    p.add_argument("--tools", nargs="+", default=["densevec"], choices=["densevec", "gensim"])
    p.add_argument("--second-min-count", type=int, default=1,
                   help="min_count of the second half's encoding (densevec; 1 keeps the model's "
                        "words that are rare in it, as gensim's update does)")
    p.add_argument("--split-at", type=float, default=0.5,
                   help="split: the fraction of the schedule's fall from alpha to the final rate "
                        "that the first half covers (densevec)")
    p.add_argument("--out")
    p.add_argument("--child", nargs=2)
    a = p.parse_args()
    if a.child:
        args = json.loads(a.child[1])
        (gensim_child if args.get("tool") == "gensim" else child)(a.child[0], args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-continue-"))
    lines = Path(a.corpus).read_bytes().split(b"\n")
    half = len(lines) // 2
    (tmp / "first.txt").write_bytes(b"\n".join(lines[:half]) + b"\n")
    (tmp / "second.txt").write_bytes(b"\n".join(lines[half:]))
    del lines
    rows = []
    for tool, seed in [(t, s) for s in a.seeds for t in a.tools]:
        common = dict(epochs=a.epochs, threads=a.threads, seed=seed, tool=tool,
                      second_min_count=a.second_min_count, split_at=a.split_at)
        if not a.no_whole:
            whole = run_child("whole", dict(common, corpus=a.corpus))
            rows.append([tool, seed, "one run, whole file", whole["words"], whole["analogy"],
                         whole["analogy_n"], whole["ws353"], whole["seconds"]])
            print(rows[-1], flush=True)
        variants = []
        if "restart" in a.variants:
            variants.append((False, "first half, save; new process: update + second half (schedule restarted)"))
        if "split" in a.variants:
            variants.append((True, "first half, save; new process: update + second half (one split schedule)"))
        if "order" in a.variants and tool == "densevec":
            order = run_child("order", dict(common, corpus=a.corpus,
                                            halves=[str(tmp / "first.txt"), str(tmp / "second.txt")]))
            rows.append([tool, seed, "control: both halves in one process, whole file's vocabulary "
                         "(split schedule)", order["words"], order["analogy"], order["analogy_n"],
                         order["ws353"], order["seconds"]])
            print(rows[-1], flush=True)
        for split, label in variants:
            model = str(tmp / f"model-{tool}-{seed}-{int(split)}")
            first = run_child("first", dict(common, corpus=str(tmp / "first.txt"), model=model, split=split))
            second = run_child("second", dict(common, corpus=str(tmp / "second.txt"), model=model,
                                              split=split))
            rows.append([tool, seed, label, second["words"], second["analogy"], second["analogy_n"],
                         second["ws353"], first["seconds"] + second["seconds"]])
            print(rows[-1], flush=True)
    table = _common.markdown_table(
        ["tool", "seed", "training", "words", "analogy %", "questions", "WS353 rho", "seconds (incl. encoding)"], rows)
    text = (f"## Continued training: skip-gram, {Path(a.corpus).name}, {a.epochs} epochs per token, "
            f"{a.threads} threads\n\nMachine: {_common.machine_line()}. "
            f"`python benchmarks/bench_continue.py --epochs {a.epochs} --threads {a.threads} "
            f"--seeds {' '.join(map(str, a.seeds))} --tools {' '.join(a.tools)} "
            f"--variants {' '.join(a.variants)} --second-min-count {a.second_min_count} --split-at {a.split_at}`\n\n{table}\n")
    shutil.rmtree(tmp, ignore_errors=True)
    _common.emit(text, a.out)


if __name__ == "__main__":
    main()
