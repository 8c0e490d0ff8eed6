"""densevec.distributed: cluster overhead of encoding and counting, and accuracy against workers.

Three parts, each writing its figures to ``<results>/distributed-<part>.json``;
``--part report`` (also run after every part) turns whatever is there into
``distributed.md`` and ``distributed-accuracy.png``:

* ``count``: big.txt split into ``--files`` files by line ranges; the local
  encoder (``Corpus.from_file`` on all files, ``--threads`` threads) and local
  ``cooccurrence`` against ``distributed.encode`` / ``distributed.cooccurrence``
  on a LocalCluster of 2 worker processes with 1 thread each, alternated,
  ``--reps`` times; the results are compared for equality.
* ``sim``: ``distributed.simulate`` with k = ``--ks`` workers on the first
  ``--sim-lines`` lines of big.txt, densevec's merge (``--merge``, ``--syncs``
  merges per epoch, default: the library's) over ``--seeds`` against naive
  averaging at the end of every epoch (Spark MLlib's scheme, first seed),
  then the merge variants at the largest k.
* ``train``: real data-parallel training on a LocalCluster of 2 workers (1
  thread each, in-process) on the same slice, against the simulation's k = 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def split_lines(src: Path, n_files: int, out_dir: Path, max_lines: int | None = None) -> list[Path]:
    """`src` (its first `max_lines` lines) cut into `n_files` files of consecutive lines."""
    with open(src, "rb") as f:
        lines = f.readlines() if max_lines is None else [l for _, l in zip(range(max_lines), f)]
    paths = []
    for i, chunk in enumerate(np.array_split(np.arange(len(lines)), n_files)):
        p = out_dir / f"part{i:02d}.txt"
        with open(p, "wb") as f:
            f.writelines(lines[j] for j in chunk)
        paths.append(p)
    return paths


def breakdown(tasks: list, w0: float, w1: float, steps: tuple) -> dict:
    """Where a Dask job's wall time [w0, w1] went, from its task stream: for each
    step (a task key prefix, in order) the span from its first task's start to its
    last task's end and the workers' compute seconds in it; "client" is the rest
    (preparing and submitting, the vocabulary reduction between the steps,
    installing the result); "transfer" the seconds spent moving task data."""
    out: dict = {"total": w1 - w0, "transfer": 0.0}
    spans = []
    for step in steps:
        mine = [t for t in tasks if t["key"].startswith(f"densevec-{step}-")]
        comp = [s for t in mine for s in t["startstops"] if s["action"] == "compute"]
        if not comp:
            continue
        b, e = min(s["start"] for s in comp), max(s["stop"] for s in comp)
        spans.append((b, e))
        out[step] = {"span": e - b, "compute": sum(s["stop"] - s["start"] for s in comp), "tasks": len(mine)}
    for t in tasks:
        out["transfer"] += sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "transfer")
    out["client"] = out["total"] - sum(e - b for b, e in spans)
    return out


def part_count(a, tmp: Path) -> dict:
    import densevec as dv
    from dask.distributed import Client, LocalCluster, get_task_stream
    from densevec import distributed as dd

    files = split_lines(Path(a.corpus), a.files, tmp)
    rows = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("densevec.distributed"))  # imports are not part of the job
        for rep in range(a.reps):
            for tool in ("local", "dask") if rep % 2 == 0 else ("dask", "local"):
                phases: dict = {}
                t0 = time.perf_counter()
                if tool == "local":
                    corpus = dv.Corpus.from_file(files, min_count=5, threads=a.threads, cache=False)
                else:
                    with get_task_stream(client) as ts:
                        w0 = time.time()
                        corpus = dd.encode(client, files, tmp / f"enc{rep}", min_count=5)
                        w1 = time.time()
                    phases["encode"] = breakdown(ts.data, w0, w1, ("count", "encode"))
                t_enc = time.perf_counter() - t0
                t0 = time.perf_counter()
                if tool == "local":
                    cooc = dv.cooccurrence(corpus, window=a.window, threads=a.threads, memory_gb=a.memory_gb)
                else:
                    with get_task_stream(client) as ts:
                        w0 = time.time()
                        cooc = dd.cooccurrence(client, corpus, window=a.window, memory_gb=a.memory_gb / 2,
                                               path=tmp / f"cooc{rep}")
                        w1 = time.time()
                    phases["count"] = breakdown(ts.data, w0, w1, ("cooc-count", "cooc-merge"))
                t_cooc = time.perf_counter() - t0
                rows.append({"rep": rep, "tool": tool, "encode_s": t_enc, "count_s": t_cooc,
                             "n_tokens": corpus.n_tokens, "vocab": len(corpus.vocab), "nnz": cooc.nnz,
                             **({"phases": phases} if phases else {})})
                print(rows[-1], flush=True)
                if tool == "local":
                    local, local_cooc = corpus, cooc
                else:
                    dist, dist_cooc = corpus, cooc
    whole = dist.to_corpus()
    same_corpus = (whole.vocab.index_to_word == local.vocab.index_to_word
                   and np.array_equal(whole.vocab.counts, local.vocab.counts)
                   and np.array_equal(whole.ids, local.ids) and np.array_equal(whole.offsets, local.offsets))
    ra, rb = dist_cooc.records, local_cooc.records
    same_pairs = bool(len(ra) == len(rb) and np.array_equal(ra["row"], rb["row"])
                      and np.array_equal(ra["col"], rb["col"]))
    rel = float(np.max(np.abs(ra["value"] - rb["value"]) / rb["value"])) if same_pairs else float("nan")
    if not (same_corpus and same_pairs and rel < 1e-5):
        raise AssertionError(f"distributed results differ from the local ones: corpus equal {same_corpus}, "
                             f"pairs equal {same_pairs}, largest relative value difference {rel:.3g}")
    return {"files": a.files, "threads_local": a.threads, "window": a.window, "rows": rows,
            "equal_corpus": bool(same_corpus), "equal_pairs": same_pairs, "max_rel_value_diff": rel}


def sim_corpus(a, tmp: Path):
    import densevec as dv

    [path] = split_lines(Path(a.corpus), 1, tmp, a.sim_lines)
    return dv.Corpus.from_file(path, min_count=5, threads=a.threads, cache=False)


def model(a, seed: int = 1):
    import densevec as dv

    return dv.Word2Vec(dim=a.dim, epochs=a.epochs, threads=a.threads, seed=seed)


def quality(emb) -> dict:
    return _common.evaluate_quality(list(emb.index_to_word), np.asarray(emb.vectors))


def part_sim(a, tmp: Path) -> dict:
    from densevec import distributed as dd

    corpus = sim_corpus(a, tmp)
    saved = RESULTS / "distributed-sim.json"
    old = json.loads(saved.read_text()) if (a.add_merge or a.append) and saved.exists() else None
    runs = old["runs"] if old else []
    commands = (old.get("command", "") + "; ") if old else ""

    def run(k, merge, syncs, label, seed=a.seeds[0]):
        t0 = time.perf_counter()
        m = model(a, seed)
        try:
            emb = dd.simulate(m, corpus, workers=k, syncs_per_epoch=syncs, merge=merge)
            q = quality(emb)
        except FloatingPointError:  # diverged: reported as such, the other runs go on
            q = {"analogy": float("nan"), "ws353": float("nan"), "diverged": True}
        used = m.history[-1]["syncs"] if m.history else syncs
        r = {"k": k, "merge": merge, "syncs": used, "label": label, "seed": seed,
             "seconds": time.perf_counter() - t0, **q}
        runs.append(r)
        print(r, flush=True)
        save()  # a run cut short by a time limit keeps what it measured

    def payload() -> dict:  # the runs so far, with every command that made them
        return {"tokens": corpus.n_tokens, "vocab": len(corpus.vocab), "epochs": a.epochs, "dim": a.dim,
                "threads": a.threads, "runs": runs,
                "command": commands + "python benchmarks/bench_distributed.py " + " ".join(sys.argv[1:])}

    def save():
        saved.write_text(json.dumps(payload(), indent=1))

    if a.add_merge:  # one more merge beside the runs already saved
        for k in a.ks:
            run(k, a.add_merge, a.syncs, a.add_merge)
        return payload()
    for seed in a.seeds:
        for k in a.ks:
            run(k, a.merge, a.syncs, "densevec", seed)
            if k > 1 and not any(r["k"] == k and r["label"] == "naive" for r in runs):
                run(k, "average", 1, "naive", seed)
    if not a.no_variants:
        kmax = a.variant_k or max(a.ks)
        for merge in [m for m in dd.MERGES if m != a.merge]:
            run(kmax, merge, a.syncs, "variant")
        run(kmax, a.merge, max(1, (a.syncs or dd._auto_syncs(corpus.n_tokens, kmax)) // 4), "variant")
    return payload()


def part_train(a, tmp: Path) -> dict:
    from dask.distributed import Client, LocalCluster
    from densevec import distributed as dd

    corpus = sim_corpus(a, tmp)
    out = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        m = model(a)
        m.threads = 1
        t0 = time.perf_counter()
        emb = dd.train(client, m, corpus, syncs_per_epoch=a.syncs, merge=a.merge)
        out["dask"] = {"seconds": time.perf_counter() - t0, **quality(emb)}
        syncs = m.history[-1]["syncs"]
    print(out, flush=True)
    t0 = time.perf_counter()
    m = model(a)
    emb = m.fit(corpus, progress=False)
    out["local"] = {"seconds": time.perf_counter() - t0, "threads": a.threads, **quality(emb)}
    print(out, flush=True)
    return {"tokens": corpus.n_tokens, "syncs": syncs, "merge": a.merge, **out}


def report(a) -> str:
    parts = {p: json.loads((RESULTS / f"distributed-{p}.json").read_text())
             for p in ("count", "sim", "train") if (RESULTS / f"distributed-{p}.json").exists()}
    lines = ["# densevec.distributed on Dask", "", _common.machine_line(), ""]
    if "count" in parts:
        c = parts["count"]
        lines += [f"## Encoding and counting: big.txt in {c['files']} files",
                  "", f"Local: {c['threads_local']} threads. Dask: LocalCluster, 2 worker processes x 1 thread "
                  f"(same 2 cores). Co-occurrence window {c['window']}. Best of the alternated repetitions.", ""]
        best = {}
        for r in c["rows"]:
            for key in ("encode_s", "count_s"):
                best[(r["tool"], key)] = min(best.get((r["tool"], key), float("inf")), r[key])
        table = []
        for key, name in (("encode_s", "encode"), ("count_s", "co-occurrence")):
            table.append([name, best[("local", key)], best[("dask", key)], best[("dask", key)] / best[("local", key)]])
        tl = best[("local", "encode_s")] + best[("local", "count_s")]
        td = best[("dask", "encode_s")] + best[("dask", "count_s")]
        table.append(["both", tl, td, td / tl])
        lines += [_common.markdown_table(["job", "local s", "dask s", "dask / local"], table), ""]
        timed = [r for r in c["rows"] if r["tool"] == "dask" and "phases" in r]
        if timed:
            r = min(timed, key=lambda x: x["encode_s"] + x["count_s"])
            ptable = []
            for job, name, steps in (("encode", "encode", (("count", "scan files"), ("encode", "encode files"))),
                                     ("count", "co-occurrence", (("cooc-count", "count parts"),
                                                                 ("cooc-merge", "merge row ranges")))):
                ph = r["phases"][job]
                for key, label in steps:
                    if key in ph:
                        ptable.append([name, f"{label} ({ph[key]['tasks']} tasks)", ph[key]["span"],
                                       ph[key]["compute"]])
                ptable.append([name, "client (prepare, reduce between steps, install)", ph["client"], float("nan")])
                ptable.append([name, "transfers (inside the spans)", float("nan"), ph["transfer"]])
            lines += [f"Where the Dask time went (rep {r['rep']}, from the task stream): span = first task start "
                      "to last task end; compute = the workers' task seconds (2 workers: up to 2x the span).", "",
                      _common.markdown_table(["job", "step", "span s", "compute s"], ptable), ""]
        lines += [
                  f"Equal results: corpus (vocabulary, counts, ids, offsets) {c['equal_corpus']}; "
                  f"co-occurrence pairs {c['equal_pairs']}, largest relative value difference "
                  f"{c['max_rel_value_diff']:.2g} (float summation order).", ""]
    if "sim" in parts:
        s = parts["sim"]
        runs = s["runs"]
        seeds = sorted({r.get("seed", 1) for r in runs if r["label"] == "densevec"})
        one_first = naive_reference(runs)
        lines += ["## Accuracy against simulated workers", "",
                  f"`distributed.simulate` on the first {s['tokens']:,} tokens of big.txt ({s['vocab']:,} words), "
                  f"skip-gram NS, dim {s['dim']}, {s['epochs']} epochs, {s['threads']} threads per simulated "
                  f"worker. densevec: merge `{runs[0]['merge']}` (see `distributed._merge`), the merges per "
                  f"epoch of the table, seeds {', '.join(map(str, seeds))} (densevec's columns are means "
                  "over the seeds each k ran). Naive: copies averaged at the end of every epoch (Spark MLlib's scheme), "
                  f"seed {one_first.get('seed', 1)}, against k = 1 of that seed. Analogy: questions-words % (restrict_vocab "
                  "30000); WS353: Spearman.", ""]
        one = mean_run(runs, 1, "densevec")
        table = []
        for k in sorted({r["k"] for r in runs if r["label"] == "densevec"}):
            d = mean_run(runs, k, "densevec")
            n = one_first if k == 1 else next((r for r in runs if r["k"] == k and r["label"] == "naive"), None)
            table.append([k, d["syncs"], " / ".join(f"{x:.2f}" for x in d["each"]), d["analogy"],
                          d["analogy"] - one["analogy"], d["ws353"],
                          n["analogy"] if n else float("nan"), (n["analogy"] - one_first["analogy"]) if n else float("nan"),
                          n["ws353"] if n else float("nan")])
        lines += [_common.markdown_table(["k", "merges/epoch", "densevec analogy by seed", "mean", "Δ vs k=1",
                                          "WS353 (mean)", "naive analogy", "Δ vs k=1", "naive WS353"], table), ""]
        for extra in sorted({r["label"] for r in runs} - {"densevec", "naive", "variant"}):
            rows_x = [[r["k"], r["syncs"], r["analogy"], r["analogy"] - one["analogy"], r["ws353"]]
                      for r in sorted(runs, key=lambda r: r["k"]) if r["label"] == extra]
            lines += [f"Merge `{extra}` (added run; at k <= 2 it is the same computation as `delta`):", "",
                      _common.markdown_table(["k", "merges/epoch", "analogy", "Δ vs k=1", "WS353"], rows_x), ""]
        kvar = max((r["k"] for r in runs if r["label"] == "variant"), default=None)
        if kvar is not None:  # the run had variants (not --no-variants)
            var = [[r["k"], r["merge"], r["syncs"], r["analogy"], r["ws353"], r["seconds"]]
                   for r in runs if r["label"] != "naive" and r["k"] == kvar]
            lines += [f"Merge variants at k = {kvar}:", "",
                      _common.markdown_table(["k", "merge", "merges/epoch", "analogy", "WS353", "seconds"], var), ""]
        png = plot(runs)
        if png:
            lines += [f"![accuracy against workers]({Path(png).name})", ""]
    if "train" in parts:
        t = parts["train"]
        sim2 = None
        if "sim" in parts and parts["sim"]["tokens"] == t["tokens"]:  # the same text, else not comparable
            sim2 = next((r for r in parts["sim"]["runs"] if r["k"] == 2 and r["label"] == "densevec"), None)
        lines += ["## Real 2-worker training", "",
                  f"LocalCluster, 2 workers x 1 thread (in-process), the same text ({t['tokens']:,} tokens) and "
                  f"parameters, {t['syncs']} merges per epoch.", "",
                  _common.markdown_table(["run", "analogy", "WS353", "seconds"],
                                         [["dask, 2 workers", t["dask"]["analogy"], t["dask"]["ws353"],
                                           t["dask"]["seconds"]]]
                                         + ([["simulated k=2", sim2["analogy"], sim2["ws353"], sim2["seconds"]]]
                                            if sim2 else [])
                                         + [[f"local, {t['local']['threads']} threads", t["local"]["analogy"],
                                             t["local"]["ws353"], t["local"]["seconds"]]]), ""]
    notes = RESULTS / "distributed-notes.md"  # hand-written findings, kept across reruns
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    lines += ["Commands (the timed part under a benchmark lock with a 720 s limit, "
              "`nice -n 19` for the quality parts):", ""]
    lines += [f"* {p}: `{parts[p].get('command', '?')}`" for p in parts]
    lines += [""]
    return "\n".join(lines)


def naive_reference(runs: list) -> dict:
    """The k = 1 run of densevec's merge with the seed naive averaging ran with
    (the first seed when there is no naive run): naive's reference point."""
    seed = next((r.get("seed", 1) for r in runs if r["label"] == "naive"),
                min(r.get("seed", 1) for r in runs if r["label"] == "densevec"))
    return next(r for r in runs if r["k"] == 1 and r["label"] == "densevec" and r.get("seed", 1) == seed)


def mean_run(runs: list, k: int, label: str) -> dict:
    """The runs of (`k`, `label`) over their seeds: mean analogy and WS353, the
    per-seed analogy figures, and the merges per epoch."""
    mine = sorted((r for r in runs if r["k"] == k and r["label"] == label), key=lambda r: r.get("seed", 1))
    return {"analogy": float(np.mean([r["analogy"] for r in mine])),
            "ws353": float(np.mean([r["ws353"] for r in mine])), "each": [r["analogy"] for r in mine],
            "syncs": mine[0]["syncs"]}


def plot(runs: list) -> str | None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(9, 3.6))
    FigureCanvasAgg(fig)
    seeds = sorted({r.get("seed", 1) for r in runs if r["label"] == "densevec"})
    one = naive_reference(runs)
    for i, (metric, name) in enumerate((("analogy", "questions-words accuracy (%)"), ("ws353", "WordSim353 ρ"))):
        ax = fig.add_subplot(1, 2, i + 1)
        two = next((r for r in runs if r["label"] == "densevec" and r["k"] == 2), None)
        extras = sorted({r["label"] for r in runs} - {"densevec", "naive", "variant"})
        for label, style in [("densevec", "o-"), ("naive", "s--")] + [(x, "^-") for x in extras]:
            if label == "densevec":  # the mean over the seeds
                pts = [(k, mean_run(runs, k, label)[metric]) for k in sorted({r["k"] for r in runs if r["label"] == label})]
            else:  # one seed's runs
                pts = [(1, one[metric])] + [(r["k"], r[metric]) for r in runs if r["label"] == label and r["k"] > 1]
            if label in extras and two is not None:  # at k <= 2 the same computation as delta
                pts.append((2, two[metric]))
            pts.sort()
            legend = {"densevec": f"densevec `{one['merge']}` (merged often; mean of up to {len(seeds)} seeds)",
                    "naive": "naive end-of-epoch average"}.get(label, f"densevec `{label}`")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=legend)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("workers k")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = RESULTS / "distributed-accuracy.png"
    fig.savefig(path, dpi=110)
    return str(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["count", "sim", "train", "report"], required=True)
    p.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--memory-gb", type=float, default=4.0)
    p.add_argument("--sim-lines", type=int, default=500_000)
    p.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--syncs", type=int, default=None,
                   help="merges per epoch (default: distributed's own, which depends on k and the corpus)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1],
                   help="sim: densevec's merge runs once per seed (naive averaging and the variants: first seed)")
    p.add_argument("--merge", default="scaled", help="densevec's merge (the others are run as variants)")
    p.add_argument("--no-variants", action="store_true", help="sim: only densevec's merge and naive averaging")
    p.add_argument("--variant-k", type=int, default=None,
                   help="sim: the number of workers the other merges run at (default: the largest of --ks)")
    p.add_argument("--add-merge", default=None,
                   help="sim: only run this merge for --ks, added to the saved runs (a column of its own)")
    p.add_argument("--append", action="store_true",
                   help="sim: keep the saved runs and add this run's (more seeds, say)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--out", default=str(RESULTS / "distributed.md"))
    a = p.parse_args()
    if a.part != "report":
        with tempfile.TemporaryDirectory(dir=os.environ.get("DENSEVEC_BENCH_TMP")) as tmp:
            result = {"count": part_count, "sim": part_sim, "train": part_train}[a.part](a, Path(tmp))
        result.setdefault("command", "python benchmarks/bench_distributed.py " + " ".join(sys.argv[1:]))
        (RESULTS / f"distributed-{a.part}.json").write_text(json.dumps(result, indent=1))
    _common.emit(report(a), a.out)


if __name__ == "__main__":
    main()
