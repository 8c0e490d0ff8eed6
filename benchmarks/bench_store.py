"""Store open time, lookup time, first cosine query and memory: densevec against gensim's KeyedVectors.

    python benchmarks/bench_store.py [--rows 1000000] [--dim 300] [--out FILE]
    python benchmarks/bench_store.py --fasttext-rows 2000000 [--dim 100] [--out FILE]

Writes a random rows x dim float32 store with densevec and the same vectors with
gensim's KeyedVectors.save, then, each in a fresh child process: opens it
(densevec: Embeddings.load, memory-mapped; gensim: KeyedVectors.load(mmap="r")),
reports the open time and the RSS growth, then looks up 1000 random words
(emb[word] / kv[word]: the vector as float32) and reports the mean time per
lookup and RSS again.

With ``--fasttext-rows N``, instead: a FastText store (``SubwordEmbeddings``)
whose n-gram matrix has N rows: its open time and what one out-of-vocabulary
lookup costs (time, RSS and page faults: only the rows of the word's n-grams
should be read), as ``bench_fasttext.py`` measures it.

Then, again in fresh child processes (the two tools alternating), the first
``most_similar(word, topn=10)`` after opening: its time, the time of a second
call, and the *anonymous* memory it adds (RssAnon of /proc/PID/status: the
resident memory less the mapped store's own pages), both at its peak (polled by
this process every millisecond while the call runs) and what stays after it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
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


def anon_kib(pid: int | str = "self") -> int:
    """Resident anonymous memory (RssAnon) of a process, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("no RssAnon in /proc/PID/status")


def child_query(tool: str, path: str) -> None:
    """Open, report anonymous memory, wait for the parent, run most_similar twice."""
    if tool == "densevec":
        import densevec as dv

        emb = dv.Embeddings.load(path)
        query = emb.most_similar
    else:
        from gensim.models import KeyedVectors

        kv = KeyedVectors.load(path, mmap="r")
        query = kv.most_similar
    print(json.dumps({"anon_open": anon_kib()}), flush=True)
    sys.stdin.readline()  # the parent polls from now on
    t0 = time.perf_counter()
    first = query("w1", topn=10)
    seconds = time.perf_counter() - t0
    print(json.dumps({"first": seconds, "anon_after": anon_kib(), "top": [w for w, _ in first]}), flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    query("w2", topn=10)
    print(json.dumps({"second": time.perf_counter() - t0}), flush=True)


def run_query(tool: str, path: str) -> dict:
    """One child of child_query: times, and RssAnon before, at its peak during the first call, after."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "query", tool, path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    opened = json.loads(proc.stdout.readline())
    peak = [opened["anon_open"]]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], anon_kib(proc.pid))
            except (OSError, RuntimeError):
                return
            time.sleep(0.001)

    watcher = threading.Thread(target=poll)
    watcher.start()
    proc.stdin.write("\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())
    stop.set()
    watcher.join()
    proc.stdin.write("\n")
    proc.stdin.flush()
    second = json.loads(proc.stdout.readline())
    proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} query child failed with status {proc.returncode}")
    peak[0] = max(peak[0], first["anon_after"])
    return {"first": first["first"], "second": second["second"], "top": first["top"],
            "peak_mib": (peak[0] - opened["anon_open"]) / 1024,
            "after_mib": (first["anon_after"] - opened["anon_open"]) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--query-repeat", type=int, default=3)
    ap.add_argument("--fasttext-rows", type=int, default=0,
                    help="measure a FastText store with this many n-gram rows instead")
    ap.add_argument("--out", default=None)
    ap.add_argument("_child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        if args._child[0] == "query":
            child_query(*args._child[1:])
        else:
            child(*args._child)
        return
    import densevec as dv

    if args.fasttext_rows:
        import bench_fasttext

        tmp = Path(tempfile.mkdtemp(prefix="dv-bench-store-"))
        try:
            lines = bench_fasttext.store_section(tmp, args.fasttext_rows, args.dim)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _common.emit("\n".join([f"Machine: {_common.machine_line()}.", "", *lines]), args.out)
        return
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
        query_runs: dict[str, list[dict]] = {tool: [] for tool in tools}
        for _ in range(args.query_repeat):
            for tool in tools:  # alternate: the machine is shared and noisy
                path = str(tmp / ("model.dv" if tool == "densevec" else "model.kv"))
                query_runs[tool].append(run_query(tool, path))
        matrix_mib = args.rows * args.dim * 4 / 2**20
        query_rows = []
        for tool, runs in query_runs.items():
            first = sorted(r["first"] for r in runs)
            second = sorted(r["second"] for r in runs)[len(runs) // 2]
            peak = max(r["peak_mib"] for r in runs)
            after = max(r["after_mib"] for r in runs)
            query_rows.append([tool, 1000 * first[0], 1000 * first[len(runs) // 2], 1000 * second, peak,
                               100 * peak / matrix_mib, after])
            print(f"{tool}: first most_similar {1000 * first[len(runs) // 2]:.0f} ms (median of {len(runs)}), "
                  f"second {1000 * second:.0f} ms, anonymous memory +{peak:.1f} MiB at peak "
                  f"({100 * peak / matrix_mib:.1f}% of the matrix), +{after:.1f} MiB after")
        if len(tools) == 2:
            same = query_runs["densevec"][0]["top"] == query_runs["gensim"][0]["top"]
            print(f"same top 10 as gensim: {same}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = "\n".join([
        f"## Store open: {args.rows:,} x {args.dim} float32 ({args.rows * args.dim * 4 / 2**20:,.0f} MiB)",
        "",
        f"Machine: {_common.machine_line()}. Fresh process per open; page cache warm.",
        "",
        _common.markdown_table(["tool", "open ms (best)", "open ms (median)", "lookup us (median)",
                                "RSS MiB after open", "RSS MiB after 1000 lookups"], rows),
        "",
        f"## First cosine query: most_similar(word, topn=10) after opening, {args.query_repeat} fresh processes "
        "per tool (alternating)",
        "",
        "Anonymous memory is RssAnon (resident memory less the mapped store's pages), polled every "
        "millisecond during the first call; the peak is the largest increase over all runs. densevec "
        "computes the row norms once (C++, all cores) and divides each score by its row's norm in "
        "the scan; gensim computes its norms with numpy and a full-size temporary.",
        "",
        _common.markdown_table(["tool", "first call ms (best)", "first call ms (median)", "second call ms (median)",
                                "anon MiB added at peak", "peak % of matrix", "anon MiB kept after"],
                               query_rows),
    ]) + "\n"
    _common.emit(report, args.out)


if __name__ == "__main__":
    main()
