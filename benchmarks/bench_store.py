"""Store open time, lookup time and resident memory: densevec against gensim's KeyedVectors.

    python benchmarks/bench_store.py [--rows 1000000] [--dim 300]

Writes a random rows x dim float32 store with densevec and the same vectors with
gensim's KeyedVectors.save, then, each in a fresh child process: opens it
(densevec: Embeddings.load, memory-mapped; gensim: KeyedVectors.load(mmap="r")),
reports the open time and the RSS growth, then looks up 1000 random words
(emb[word] / kv[word]: the vector as float32) and reports the mean time per
lookup and RSS again.
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


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(tool: str, path: str, rows: str) -> None:
    words = [f"w{i}" for i in np.random.default_rng(1).integers(0, int(rows), size=1000)]
    if tool == "densevec":
        import densevec as dv

        before = rss_mib()
        t0 = time.perf_counter()
        emb = dv.Embeddings.load(path)
        seconds = time.perf_counter() - t0
        opened = rss_mib()
        get = emb.__getitem__
    else:
        from gensim.models import KeyedVectors

        before = rss_mib()
        t0 = time.perf_counter()
        kv = KeyedVectors.load(path, mmap="r")
        seconds = time.perf_counter() - t0
        opened = rss_mib()
        get = kv.__getitem__
    t0 = time.perf_counter()
    for w in words:
        get(w)
    lookup = (time.perf_counter() - t0) / len(words)
    after = rss_mib()
    print(json.dumps({"seconds": seconds, "lookup": lookup, "rss_open": opened - before,
                      "rss_lookup": after - before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("_child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        child(*args._child)
        return
    import densevec as dv

    tmp = Path(tempfile.mkdtemp(prefix="dv-bench-store-"))
    try:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
        words = [f"w{i}" for i in range(args.rows)]
        dv.Embeddings(vectors, words).save(tmp / "model.dv")
        tools = ["densevec"]
        try:
            from gensim.models import KeyedVectors

            kv = KeyedVectors(args.dim)
            kv.add_vectors(words, vectors)
            kv.save(str(tmp / "model.kv"))
            tools.append("gensim")
        except ImportError:
            pass
        del vectors
        rows = []
        for tool in tools:
            path = str(tmp / ("model.dv" if tool == "densevec" else "model.kv"))
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run([sys.executable, os.path.abspath(__file__), tool, path, str(args.rows)],
                                     check=True, capture_output=True, text=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            best = min(runs, key=lambda r: r["seconds"])
            med = sorted(r["seconds"] for r in runs)[len(runs) // 2]
            lookup = sorted(r["lookup"] for r in runs)[len(runs) // 2]
            rows.append([tool, 1000 * best["seconds"], 1000 * med, 1e6 * lookup, best["rss_open"],
                         best["rss_lookup"]])
            print(f"{tool}: open {1000 * med:.2f} ms (median of {args.repeat}), lookup {1e6 * lookup:.1f} us, "
                  f"RSS +{best['rss_open']:.1f} MiB open, +{best['rss_lookup']:.1f} MiB after 1000 lookups")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = "\n".join([
        f"## Store open: {args.rows:,} x {args.dim} float32 ({args.rows * args.dim * 4 / 2**20:,.0f} MiB)",
        "",
        f"Machine: {_common.machine_line()}. Fresh process per open; page cache warm.",
        "",
        _common.markdown_table(["tool", "open ms (best)", "open ms (median)", "lookup us (median)",
                                "RSS MiB after open", "RSS MiB after 1000 lookups"], rows),
    ]) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
