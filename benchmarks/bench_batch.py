"""Batched exact top-10 search: densevec (float32, float16, int8 rows) against
faiss IndexFlatIP on its BLAS path.

Run alone on a quiet machine:
    python benchmarks/bench_batch.py [--sizes 1000000x100,1000000x300] [--out FILE]

For each size, batches of 1000 queries (metric dot) over rows drawn around a
thousand random centres, on 1 and on 2 threads (each thread count in its own
child process, so that faiss's OpenMP pool and OpenBLAS have that many
threads). faiss takes its BLAS path: `faiss.cvar.distance_compute_blas_threshold`
is lowered to 1, so every batch goes through sgemm in blocks and a separate
top-k. OpenBLAS must know the CPU: on a virtual AMD EPYC (Zen 3, AVX2) the
OpenBLAS in faiss-cpu 1.15 detects "Prescott" and runs a generic sgemm about 5x
slower, and SkylakeX dies with an illegal instruction (no AVX-512), so the
children get OPENBLAS_CORETYPE from --openblas-coretype (default: the
environment's, else Haswell on a CPU without AVX-512, else OpenBLAS's own
detection); the report says which. The engines take turns: ROUNDS rounds, each
running every engine once with the order rotating, and the median per engine
is reported, so that drift of a shared machine affects all alike and the
ratios hold within a run. Also reported: agreement of densevec's float32
top-10 with faiss's (ids), and int8 recall against float32.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

K = 10
M = 1000
ROUNDS = 3


def clustered(n: int, d: int, m: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, d), dtype=np.float32)
    x = np.empty((n + m, d), np.float32)
    for a in range(0, n + m, 100_000):  # in slices: no second full-size temporary
        b = min(n + m, a + 100_000)
        x[a:b] = centres[rng.integers(0, 1000, size=b - a)]
        x[a:b] += np.float32(0.5) * rng.standard_normal((b - a, d), dtype=np.float32)
        x[a:b] *= rng.uniform(0.5, 2.0, size=(b - a, 1)).astype(np.float32)
    return x[:n], np.ascontiguousarray(x[n:])


def default_coretype() -> str:
    """Haswell (AVX2 sgemm) where the CPU has no AVX-512, else '' (detection)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    return "" if "avx512f" in flags else "Haswell" if "avx2" in flags else ""


def run_size(n: int, d: int, threads: int) -> dict:
    import faiss
    import numpy as np

    from densevec import Embeddings

    faiss.omp_set_num_threads(threads)
    faiss.cvar.distance_compute_blas_threshold = 1
    x, qs = clustered(n, d, M)
    emb = Embeddings(x, [str(i) for i in range(n)])
    index = faiss.IndexFlatIP(d)
    index.add(x)
    engines = {
        "f32": lambda: emb.search(qs, k=K, metric="dot", threads=threads)[0],
        "f16": lambda e=emb.quantize("float16"): e.search(qs, k=K, metric="dot", threads=threads)[0],
        "i8": lambda e=emb.quantize("int8"): e.search(qs, k=K, metric="dot", threads=threads)[0],
        "faiss": lambda: index.search(qs, K)[1],
    }
    times: dict = {name: [] for name in engines}
    ids: dict = {}
    names = list(engines)
    for r in range(ROUNDS):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            ids[name] = engines[name]()
            times[name].append(time.perf_counter() - t)
    qps = {name: M / sorted(v)[len(v) // 2] for name, v in times.items()}

    def agree(a, b):
        return sum(len(set(u) & set(v)) for u, v in zip(a, b)) / a.size

    return {"n": n, "d": d, "threads": threads, "qps": qps,
            "all_qps": {name: [M / t for t in v] for name, v in times.items()},
            "f32_vs_faiss": agree(ids["f32"], ids["faiss"]),
            "f16_recall": agree(ids["f16"], ids["f32"]), "i8_recall": agree(ids["i8"], ids["f32"])}


def child(threads: int, sizes) -> None:
    out = []
    for n, d in sizes:
        out.append(run_size(n, d, threads))
        print(f"# done {n}x{d} threads={threads}: {out[-1]['qps']}", file=sys.stderr, flush=True)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="1000000x100,1000000x300", help="rows x dim, comma separated")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    ap.add_argument("--openblas-coretype", default=os.environ.get("OPENBLAS_CORETYPE") or default_coretype(),
                    help="OPENBLAS_CORETYPE for faiss's sgemm ('' = OpenBLAS's own detection)")
    ap.add_argument("--out", default=None, help="write the report here (under benchmarks/results/)")
    args = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    if args.child:
        child(args.child, sizes)
        return
    runs = []
    for threads in [int(t) for t in args.threads.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        env.pop("OPENBLAS_CORETYPE", None)
        if args.openblas_coretype:
            env["OPENBLAS_CORETYPE"] = args.openblas_coretype
        cmd = [sys.executable, __file__, "--child", str(threads), "--sizes", args.sizes]
        out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
        runs += json.loads(out.strip().splitlines()[-1])
    from densevec import _core
    import faiss

    rows = []
    for r in runs:
        q = r["qps"]
        rows.append([f"{r['n'] // 1000}k x {r['d']}", r["threads"], q["faiss"], q["f32"], q["f16"], q["i8"],
                     f"{q['f32'] / q['faiss']:.2f}x", f"{q['f16'] / q['faiss']:.2f}x",
                     f"{q['i8'] / q['f32']:.2f}x", f"{r['f32_vs_faiss']:.4f}", f"{r['i8_recall']:.4f}"])
    report = "\n".join([
        f"# Batched exact top-{K} search: {M} queries (metric dot)",
        "",
        f"Machine: {_common.machine_line()}; densevec SIMD: {_core.simd_active()}; faiss {faiss.__version__} "
        f"on its BLAS path (distance_compute_blas_threshold = 1), OPENBLAS_CORETYPE="
        f"{args.openblas_coretype or '(unset: OpenBLAS detection)'}.",
        f"Queries per second, median of {ROUNDS} rounds, the engines taking turns in one run.",
        "",
        _common.markdown_table(
            ["rows x dim", "threads", "faiss BLAS q/s", "f32 q/s", "f16 q/s", "int8 q/s", "f32 / faiss",
             "f16 / faiss", "int8 / f32", "f32 top-10 = faiss", "int8 recall@10"], rows),
        "",
        "Every round's q/s: " + "; ".join(
            f"{r['n'] // 1000}k x {r['d']} {r['threads']} thr: "
            + ", ".join(f"{k} " + "/".join(f"{v:.0f}" for v in vs) for k, vs in r["all_qps"].items())
            for r in runs),
    ]) + "\n"
    _common.emit(report, args.out)


if __name__ == "__main__":
    main()
