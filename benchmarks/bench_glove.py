"""GloVe on a real corpus: co-occurrence counting and training, with quality,
beside Stanford GloVe's figures.

    python benchmarks/bench_glove.py [--corpus big.txt] [--epochs 15] [--out results/glove.md]

In one run, each measurement in a fresh child process (so peak RSS is its own):

* encoding the text (tokenise, count, build the id stream; Stanford's
  ``vocab_count`` plus the reading half of ``cooccur``), without the cache;
* counting (window 10, symmetric, 1/distance) with 1 and 2 threads, with a
  4 GB budget and with 0.5 GB (which makes densevec spill sorted runs);
* training (dim 100, x_max 100, alpha 0.75, learning rate 0.05) for
  ``--epochs`` epochs with 1 and 2 threads: seconds per epoch, ns per
  non-zero per epoch, final cost, then analogy accuracy (questions-words,
  3CosAdd, 30k most frequent words) and WordSim353 Spearman of word + context
  vectors.

Stanford GloVe's C tools are not installable from a package registry here;
their figures (same machine type, same corpus, window 10, d100, 15 epochs)
come from the GloVe issue and are quoted, not re-measured. To compare quality
on *the same counts*, the run also trains ``glove_reference.cpp`` (next to
this file; compiled here with ``$CXX`` or ``c++``): a plain double-precision
trainer that follows Stanford's algorithm (one uniform shuffle, the same order
every epoch, one thread). It is slow (memory-bound double-precision rows) and
adds about 12 minutes; ``--no-reference`` skips it.
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
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

STANFORD = {
    "cooccur_4gb_s": 19.3, "cooccur_4gb_rss_mib": 1.5 * 1024, "cooccur_05gb_s": 24.4,
    "cooccur_05gb_rss_mib": 296, "cooccur_05gb_files": 13, "nnz": 40.55e6, "shuffle_s": 10.3,
    "epoch_s_default": 70.0, "epoch_s_fast": 23.7, "ns_per_nnz_fast": 585,
    "analogy": 17.0, "analogy_n": 8384, "ws353": 0.383,
}


def child_encode(corpus: str) -> dict:
    import densevec as dv

    t0 = time.perf_counter()
    c = dv.Corpus.from_file(corpus, min_count=5, cache=False)
    return {"seconds": time.perf_counter() - t0, "words": len(c.vocab), "tokens": c.n_tokens,
            "peak_rss_mib": _common.peak_rss_mib()}


def child_count(corpus: str, threads: int, memory_gb: float, save: str) -> dict:
    import densevec as dv

    c = dv.Corpus.from_file(corpus, min_count=5)
    t0 = time.perf_counter()
    co = dv.cooccurrence(c, window=10, symmetric=True, memory_gb=memory_gb, threads=threads,
                         path=save or None)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "nnz": co.nnz, "runs": co.stats["runs_spilled"],
            "peak_rss_mib": _common.peak_rss_mib()}


def child_train(cooc_path: str, threads: int, epochs: int) -> dict:
    import densevec as dv

    co = dv.Cooccurrence.load(cooc_path)
    model = dv.GloVe(dim=100, x_max=100, alpha=0.75, learning_rate=0.05, epochs=epochs,
                     threads=threads, seed=1)
    t0 = time.perf_counter()
    emb = model.fit(co, progress=False)
    total = time.perf_counter() - t0
    epoch_s = [h["seconds"] for h in model.history]
    q = _common.evaluate_quality(emb.index_to_word, emb.vectors)
    return {"total_s": total, "epoch_s": epoch_s, "prepare_s": total - sum(epoch_s),
            "cost": model.history[-1]["cost"], "nnz": co.nnz, **q,
            "peak_rss_mib": _common.peak_rss_mib()}


def child_reference(cooc_path: str, epochs: int, binary: str) -> dict:
    import subprocess

    import densevec as dv
    import numpy as np

    co = dv.Cooccurrence.load(cooc_path)
    out = os.path.join(cooc_path, "reference-vectors.f32")
    t0 = time.perf_counter()
    proc = subprocess.run([binary, os.path.join(cooc_path, "records.bin"), str(len(co.vocab)),
                           "100", str(epochs), "1", str(int(co.upper)), out],
                          stderr=subprocess.PIPE, text=True, check=True)
    total = time.perf_counter() - t0
    epochs_seen = [l.split() for l in proc.stderr.splitlines() if l.startswith("epoch ")]
    vectors = np.fromfile(out, dtype=np.float32).reshape(len(co.vocab), 100)
    q = _common.evaluate_quality(list(co.vocab.index_to_word), vectors)
    return {"total_s": total, "epoch_s": [float(e[5]) for e in epochs_seen],
            "cost": float(epochs_seen[-1][3]), "nnz": co.nnz, **q,
            "peak_rss_mib": _common.peak_rss_mib()}


def build_reference(work: Path) -> Optional[str]:
    """Compiles glove_reference.cpp; None (with a message) without a compiler."""
    import subprocess

    src = Path(__file__).with_name("glove_reference.cpp")
    exe = work / "glove_reference"
    cxx = os.environ.get("CXX", "c++")
    try:
        subprocess.run([cxx, "-O3", "-std=c++17", "-fno-math-errno", "-o", str(exe), str(src)],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"reference trainer not built ({e}); skipping it", file=sys.stderr)
        return None
    return str(exe)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default=None, help="markdown file to write (default: print)")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the Stanford-algorithm reference trainer (saves ~12 minutes)")
    ap.add_argument("--child", choices=("encode", "count", "train", "reference"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--binary", default="", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--memory-gb", type=float, default=4.0, help=argparse.SUPPRESS)
    ap.add_argument("--save", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "encode":
        print(json.dumps(child_encode(args.corpus)))
        return
    if args.child == "count":
        print(json.dumps(child_count(args.corpus, args.threads, args.memory_gb, args.save)))
        return
    if args.child == "train":
        print(json.dumps(child_train(args.save, args.threads, args.epochs)))
        return
    if args.child == "reference":
        print(json.dumps(child_reference(args.save, args.epochs, args.binary)))
        return

    if not os.path.isfile(args.corpus):
        sys.exit(f"{args.corpus}: not found; build it with shared/data/make_corpora.sh")
    me = os.path.abspath(__file__)
    work = Path(tempfile.mkdtemp(prefix="densevec-bench-glove-"))
    try:
        enc, _, enc_rss = _common.run_child([me, "--child", "encode", "--corpus", args.corpus])
        counts = []
        for mem in (4.0, 0.5):
            for threads in (1, 2):
                save = str(work / "cooc") if (mem, threads) == (4.0, 2) else ""
                r, _, rss = _common.run_child([me, "--child", "count", "--corpus", args.corpus,
                                               "--threads", str(threads), "--memory-gb", str(mem),
                                               "--save", save])
                counts.append((mem, threads, r, rss))
                print(f"count {mem} GB {threads} thr: {r['seconds']:.2f} s, {r['runs']} runs, "
                      f"{rss:.0f} MiB", file=sys.stderr)
        trains = []
        for threads in (1, 2):
            r, _, rss = _common.run_child([me, "--child", "train", "--save", str(work / "cooc"),
                                           "--threads", str(threads), "--epochs", str(args.epochs)])
            trains.append((threads, r, rss))
            print(f"train {threads} thr: {sum(r['epoch_s']) / len(r['epoch_s']):.2f} s/epoch, "
                  f"{r['analogy']:.2f}% {r['ws353']:.3f}", file=sys.stderr)
        reference = None
        binary = None if args.no_reference else build_reference(work)
        if binary:
            r, _, rss = _common.run_child([me, "--child", "reference", "--save", str(work / "cooc"),
                                           "--epochs", str(args.epochs), "--binary", binary])
            reference = (r, rss)
            print(f"reference: {sum(r['epoch_s']) / len(r['epoch_s']):.2f} s/epoch, "
                  f"{r['analogy']:.2f}% {r['ws353']:.3f}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    S = STANFORD
    nnz = counts[0][2]["nnz"]
    lines = [
        "# GloVe: co-occurrence counting and training",
        "",
        f"Machine: {_common.machine_line()}. Corpus: `{Path(args.corpus).name}` "
        f"({enc['tokens']:,} tokens, {enc['words']:,} words at min_count 5). Window 10, symmetric, "
        "1/distance weighting. Stanford GloVe figures are quoted from the GloVe issue (same machine "
        "type and corpus, 82,891 words; not installable here), not re-measured.",
        "",
        f"Encoding the text (tokenise, count, id stream; no cache): **{enc['seconds']:.2f} s**, "
        f"peak RSS {enc_rss:.0f} MiB. densevec counts co-occurrences from the encoded corpus, "
        "which `Corpus.from_file` caches; Stanford's `cooccur` re-reads the text.",
        "",
        "## Counting",
        "",
    ]
    rows = []
    for mem, threads, r, rss in counts:
        ref = S["cooccur_4gb_s"] if mem == 4.0 else S["cooccur_05gb_s"]
        rows.append([f"densevec, {threads} thr", f"{mem:g} GB", f"{r['seconds']:.2f}",
                     f"{ref / r['seconds']:.1f}x", f"{ref / (r['seconds'] + enc['seconds']):.1f}x",
                     f"{rss:,.0f}", r["runs"], f"{r['nnz']:,}"])
    rows.append(["Stanford cooccur", "4 GB", f"{S['cooccur_4gb_s']:.1f}", "1x", "1x",
                 f"{S['cooccur_4gb_rss_mib']:,.0f}", 0, "40,550,000"])
    rows.append(["Stanford cooccur", "0.5 GB", f"{S['cooccur_05gb_s']:.1f}", "1x", "1x",
                 f"{S['cooccur_05gb_rss_mib']:,.0f}", S["cooccur_05gb_files"], "40,550,000"])
    lines.append(_common.markdown_table(
        ["tool", "budget", "seconds", "speed-up vs Stanford", "incl. encoding", "peak RSS MiB",
         "spilled runs", "nnz"], rows))
    lines += ["", f"## Training ({args.epochs} epochs, d100, x_max 100)", ""]
    rows = []
    for threads, r, rss in trains:
        per_epoch = sum(r["epoch_s"]) / len(r["epoch_s"])
        rows.append([f"densevec, {threads} thr", f"{per_epoch:.2f}",
                     f"{per_epoch * 1e9 / r['nnz']:.0f}", f"{S['epoch_s_fast'] / per_epoch:.1f}x",
                     f"{r['prepare_s']:.1f}", f"{r['cost']:.4f}", f"{r['analogy']:.2f}",
                     r["analogy_n"], f"{r['ws353']:.3f}", f"{rss:,.0f}"])
    if reference:
        r, rss = reference
        per_epoch = sum(r["epoch_s"]) / len(r["epoch_s"])
        rows.append(["reference (Stanford's algorithm, same counts), 1 thr", f"{per_epoch:.2f}",
                     f"{per_epoch * 1e9 / r['nnz']:.0f}", f"{S['epoch_s_fast'] / per_epoch:.1f}x",
                     "–", f"{r['cost']:.4f}", f"{r['analogy']:.2f}", r["analogy_n"],
                     f"{r['ws353']:.3f}", f"{rss:,.0f}"])
    rows.append(["Stanford glove (fast build), 1 thr", f"{S['epoch_s_fast']:.1f}",
                 f"{S['ns_per_nnz_fast']}", "1x", f"{S['shuffle_s']:.1f} (shuffle)", "–",
                 f"{S['analogy']:.2f}", S["analogy_n"], f"{S['ws353']:.3f}", "–"])
    rows.append(["Stanford glove (default flags), 1 thr", f"{S['epoch_s_default']:.1f}", "–",
                 f"{S['epoch_s_fast'] / S['epoch_s_default']:.2f}x", "–", "–", "–", "–", "–", "–"])
    lines.append(_common.markdown_table(
        ["tool", "s / epoch", "ns / nnz / epoch", "speed-up vs Stanford fast", "prepare / shuffle s",
         "final cost", "analogy %", "questions", "WS353 ρ", "peak RSS MiB"], rows))
    lines += ["", f"Counting nnz: densevec {nnz:,}; Stanford {S['nnz']:,.0f} (23 more words "
              "in its vocabulary).", ""]
    if reference:
        lines += ["The reference row trains `benchmarks/glove_reference.cpp` on the very records "
                  "densevec trained on: Stanford's algorithm (double precision, one uniform "
                  "shuffle kept for every epoch, one thread, uniform ±0.5/dim start, AdaGrad from "
                  "1), written for clarity rather than speed. Stanford's own rows are quoted from "
                  "the issue and were measured on an earlier build of the corpus (82,891 words).",
                  ""]
    text = "\n".join(lines)
    if args.out:
        tmp = args.out + ".tmp"
        Path(tmp).write_text(text)
        os.replace(tmp, args.out)
    print(text)


if __name__ == "__main__":
    main()
