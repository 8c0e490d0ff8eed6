"""Exact top-10 search: densevec (float32, float16, int8) against numpy and faiss.

Run alone on a quiet machine:  python benchmarks/bench_search.py [--quick]

For each size (100k and 1M rows, dim 100 and 300) it measures, on rows drawn
around a thousand random centres (so that quantisation quality means
something):

* single-query latency (1 thread, median over 30 queries) and the scan rate in
  GB/s of the stored rows, next to this machine's single-thread read bandwidth
  (numpy sum over a 1 GB array). The engines take turns: 6 rounds of 5
  queries each, the order rotating every round, so that drift of the machine
  over seconds (+-10% on a shared VM) affects every engine alike and ratios
  between them (int8 against float32, densevec against faiss) hold within a run;
* batch throughput for 1000 queries with 1 and 2 threads;
* recall@10 of float16 and int8 (and int8 rescored in float32 from its best 40)
  against exact float32 search, and the share of queries whose int8+rescore
  top-10 equals the exact top-10.

Each thread count runs in its own child process, so that numpy's BLAS and
faiss's OpenMP pools have that many threads. Writes
benchmarks/results/search.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

K = 10
N_SINGLE = 30
ROUNDS = 6  # single queries: N_SINGLE / ROUNDS per engine per round
N_BATCH = 1000
RESCORE = 40
SIZES = [(100_000, 100), (100_000, 300), (1_000_000, 100), (1_000_000, 300)]
OUT = Path(__file__).resolve().parent / "results" / "search.md"


def clustered(n: int, d: int, m: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, d), dtype=np.float32)
    pick = rng.integers(0, 1000, size=n + m)
    x = centres[pick]
    x += np.float32(0.5) * rng.standard_normal((n + m, d), dtype=np.float32)
    x *= rng.uniform(0.5, 2.0, size=(n + m, 1)).astype(np.float32)
    return x[:n], np.ascontiguousarray(x[n:])


def bandwidth_gbs() -> float:
    import numpy as np

    a = np.ones(1 << 27)  # 1 GiB of float64
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return a.nbytes / best / 1e9


def interleaved_median_ms(fns: dict, queries) -> dict:
    """Median single-query time in ms of each engine, the engines taking turns.

    Every engine answers the same queries: ROUNDS rounds, each a slice of the
    queries for every engine in turn (the order rotating by one per round);
    one untimed warm-up query each first.
    """
    names = list(fns)
    for name in names:
        fns[name](queries[0])
    times: dict = {name: [] for name in names}
    per = len(queries) // ROUNDS
    for r in range(ROUNDS):
        part = queries[r * per:(r + 1) * per]
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[name]
            for q in part:
                t = time.perf_counter()
                fn(q)
                times[name].append(time.perf_counter() - t)
    return {name: 1e3 * sorted(v)[len(v) // 2] for name, v in times.items()}


def numpy_single(x, q):
    import numpy as np

    s = x @ q
    top = np.argpartition(s, -K)[-K:]
    return top[np.argsort(-s[top], kind="stable")]


def numpy_batch(x, qs):
    import numpy as np

    out = []
    for i in range(0, len(qs), 100):
        s = qs[i:i + 100] @ x.T
        top = np.argpartition(s, -K, axis=1)[:, -K:]
        order = np.argsort(-np.take_along_axis(s, top, 1), axis=1, kind="stable")
        out.append(np.take_along_axis(top, order, 1))
    return np.concatenate(out)


def recall(got, want) -> float:
    return sum(len(set(a) & set(b)) for a, b in zip(got, want)) / want.size


def run_size(n: int, d: int, threads: int, single: bool) -> dict:
    import numpy as np

    from densevec import Embeddings

    x, qs = clustered(n, d, N_BATCH)
    emb = Embeddings(x, [str(i) for i in range(n)])
    variants = {"f32": emb, "f16": emb.quantize("float16"), "i8": emb.quantize("int8")}
    res: dict = {"n": n, "d": d, "threads": threads, "single_ms": {}, "batch_qps": {}, "bytes": {}}
    peers = {"numpy": None}
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
        index = faiss.IndexFlatIP(d)
        index.add(x)
        peers["faiss"] = index
    except ImportError:
        pass
    i8 = variants["i8"]
    if single:
        fns = {name: (lambda q, e=e: e.search(q, k=K, metric="dot", threads=1)) for name, e in variants.items()}
        fns["i8+rescore"] = lambda q: i8.search(q, k=K, metric="dot", threads=1, rescore=RESCORE)
        fns["numpy"] = lambda q: numpy_single(x, q)
        if "faiss" in peers:
            fns["faiss"] = lambda q, index=peers["faiss"]: index.search(q[None], K)
        res["single_ms"] = interleaved_median_ms(fns, qs[:N_SINGLE])
    for name, e in variants.items():
        res["bytes"][name] = e.vectors.nbytes
        t = time.perf_counter()
        ids, _ = e.search(qs, k=K, metric="dot", threads=threads)
        res["batch_qps"][name] = N_BATCH / (time.perf_counter() - t)
        res.setdefault("ids", {})[name] = ids
    t = time.perf_counter()
    ids, _ = i8.search(qs, k=K, metric="dot", threads=threads, rescore=RESCORE)
    res["batch_qps"]["i8+rescore"] = N_BATCH / (time.perf_counter() - t)
    res["ids"]["i8+rescore"] = ids
    t = time.perf_counter()
    numpy_batch(x, qs)
    res["batch_qps"]["numpy"] = N_BATCH / (time.perf_counter() - t)
    if "faiss" in peers:
        index = peers["faiss"]
        t = time.perf_counter()
        index.search(qs, K)
        res["batch_qps"]["faiss"] = N_BATCH / (time.perf_counter() - t)
    exact = res.pop("ids")
    res["recall"] = {k: recall(v, exact["f32"]) for k, v in exact.items() if k != "f32"}
    res["rescore_equal"] = float(np.mean([np.array_equal(a, b) for a, b in zip(exact["i8+rescore"], exact["f32"])]))
    return res


def child(threads: int, sizes) -> None:
    out = {"threads": threads, "runs": []}
    if threads == 1:
        out["bandwidth_gbs"] = bandwidth_gbs()
    for n, d in sizes:
        out["runs"].append(run_size(n, d, threads, single=threads == 1))
        print(f"# done {n}x{d} threads={threads}", file=sys.stderr, flush=True)
    print(json.dumps(out))


def run_child(threads: int, quick: bool) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    args = [sys.executable, __file__, "--child", str(threads)] + (["--quick"] if quick else [])
    out = subprocess.run(args, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(one: dict, two: dict) -> str:
    from densevec import _core

    bw = one["bandwidth_gbs"]
    lines = [
        "# Exact top-10 search (metric dot)",
        "",
        f"CPU: {cpu_model()}, SIMD level used: {_core.simd_active()}; "
        f"single-thread read bandwidth (numpy sum over 1 GiB): **{bw:.1f} GB/s**.",
        f"Rows around 1000 random centres (+ noise, random scale); {N_SINGLE} single queries "
        f"(median; the engines take turns, {ROUNDS} rounds of {N_SINGLE // ROUNDS} queries each), "
        f"batches of {N_BATCH} queries; int8+rescore rescores the best {RESCORE} in float32.",
        "",
        "| rows x dim | engine | single query ms (1 thr) | scan GB/s | % of bw | batch q/s 1 thr | batch q/s 2 thr | recall@10 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r1, r2 in zip(one["runs"], two["runs"]):
        size = f"{r1['n'] // 1000}k x {r1['d']}"
        for eng in ["f32", "f16", "i8", "i8+rescore", "numpy", "faiss"]:
            if eng not in r1["single_ms"]:
                continue
            ms = r1["single_ms"][eng]
            nbytes = r1["bytes"].get({"numpy": "f32", "faiss": "f32", "i8+rescore": "i8"}.get(eng, eng))
            gbs = nbytes / (ms / 1e3) / 1e9
            rec = r1["recall"].get(eng)
            rec_s = "exact" if eng == "f32" else ("-" if rec is None else f"{rec:.4f}")
            if eng == "i8+rescore":
                rec_s += f" (top-10 equal: {r1['rescore_equal']:.3f})"
            name = {"f32": "densevec f32", "f16": "densevec f16", "i8": "densevec int8",
                    "i8+rescore": f"densevec int8+rescore{RESCORE}", "numpy": "numpy @ + argpartition",
                    "faiss": "faiss IndexFlatIP"}[eng]
            lines.append(
                f"| {size} | {name} | {ms:.2f} | {gbs:.1f} | {100 * gbs / bw:.0f}% | "
                f"{r1['batch_qps'][eng]:.0f} | {r2['batch_qps'][eng]:.0f} | {rec_s} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="100k rows only")
    args = ap.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    if args.child:
        child(args.child, sizes)
        return
    one = run_child(1, args.quick)
    two = run_child(2, args.quick)
    text = table(one, two)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
