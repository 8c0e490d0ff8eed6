"""word2vec throughput of two densevec builds, alternating, in one run.

    python benchmarks/bench_refactor.py --python-a OLD/bin/python --python-b NEW/bin/python \
        --corpus big.txt [--rounds 3] [--threads 1 2] [--modes skipgram cbow]

Used to check that a refactor keeps the speed: each round runs every
(mode, threads) case once with build A and once with build B, in that order
or the reverse (alternating by round), each in a fresh child process that
times ``Word2Vec.fit`` (1 epoch) on an already encoded corpus. Reports the
median words/s of each build and the ratio B / A, and the median CPU seconds
of training (all threads; on a shared VM less moved by other tenants than the
wall clock) with their ratio A / B (above 1: B needs less CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

CHILD = r"""
import json, sys, time
import densevec as dv
corpus, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = dv.Corpus.from_file(corpus, min_count=5)
m = dv.Word2Vec(dim=100, mode=mode, window=5, negative=5, sample=1e-3, alpha=0.025, epochs=1,
                threads=threads, seed=1)
t0, c0 = time.perf_counter(), time.process_time()
m.fit(c, progress=False)
s, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": s, "cpu_seconds": cpu, "words_per_second": c.vocab.raw_tokens / s}))
"""


def run(python: str, corpus: str, mode: str, threads: int) -> tuple[float, float]:
    """(words per second, CPU seconds of all threads) of one child."""
    out = subprocess.run([python, "-c", CHILD, corpus, mode, str(threads)], check=True,
                         capture_output=True, text=True, cwd="/")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return res["words_per_second"], res["cpu_seconds"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--python-a", required=True)
    p.add_argument("--python-b", required=True)
    p.add_argument("--label-a", default="before")
    p.add_argument("--label-b", default="after")
    p.add_argument("--corpus", default=str(Path.home() / ".cache/embedding-corpora/big.txt"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=["skipgram", "cbow"])
    p.add_argument("--out")
    a = p.parse_args()
    cases = [(m, t) for m in a.modes for t in a.threads]
    got: dict = {(c, b): [] for c in cases for b in "AB"}
    cpu: dict = {(c, b): [] for c in cases for b in "AB"}
    for r in range(a.rounds):
        for case in cases:
            order = [("A", a.python_a), ("B", a.python_b)]
            if r % 2:
                order.reverse()
            for build, py in order:
                wps, secs = run(py, a.corpus, *case)
                got[(case, build)].append(wps)
                cpu[(case, build)].append(secs)
                print(r, case, build, f"{wps:,.0f}", f"{secs:.1f} CPU s", flush=True)
    rows = []
    for case in cases:
        ma, mb = statistics.median(got[(case, "A")]), statistics.median(got[(case, "B")])
        ca, cb = statistics.median(cpu[(case, "A")]), statistics.median(cpu[(case, "B")])
        rows.append([case[0], case[1], ma, mb, f"{mb / ma:.3f}", f"{ca:.1f} / {cb:.1f}", f"{ca / cb:.3f}",
                     " / ".join(f"{x / 1e3:.0f}k" for x in got[(case, "A")]),
                     " / ".join(f"{x / 1e3:.0f}k" for x in got[(case, "B")])])
    table = _common.markdown_table(
        ["mode", "threads", f"{a.label_a} words/s", f"{a.label_b} words/s", "ratio",
         f"CPU s of training ({a.label_a} / {a.label_b})", f"CPU ratio ({a.label_a} / {a.label_b})",
         f"{a.label_a} runs", f"{a.label_b} runs"], rows)
    text = (f"## word2vec throughput, {a.label_a} vs {a.label_b} (1 epoch, {Path(a.corpus).name}, "
            f"median of {a.rounds} alternating rounds)\n\nMachine: {_common.machine_line()}\n\n{table}\n")
    _common.emit(text, a.out)


if __name__ == "__main__":
    main()
