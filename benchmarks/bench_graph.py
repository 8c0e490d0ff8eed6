"""node2vec / DeepWalk: densevec against PecanPy and the ``node2vec`` package.

    flock /tmp/dv-bench.lock python benchmarks/bench_graph.py --phase run --work /tmp/dv-graph-bench
    python benchmarks/bench_graph.py --phase eval --work /tmp/dv-graph-bench --out benchmarks/results/graph.md

Graphs: Zachary's karate club (networkx) and WordNet 3.0's noun + verb synset
graph (``wordnet_graph.py``: 95,882 synsets, 150,569 edges, 41 lexicographer
files as labels). Both are split once (seed 0): 10% of the edges are held out
for link prediction (never a node's last edge) and every method trains on the
rest, so one embedding per run serves both tasks.

``--phase run`` (under the benchmark lock) trains every (method, p, q,
threads) in a fresh child process, alternating the methods, and records walk
time, training time, end to end (graph loading included) and peak RSS; the
vectors go to ``--work``. ``--phase eval`` (no lock needed) scores them: node
classification (one-vs-rest logistic regression, 5-fold: micro-F1, macro-F1,
mean auROC; on WordNet a fixed sample of 5,000 labelled synsets) and link
prediction ROC AUC (cosine; Hadamard-feature logistic regression, 5-fold).

Same parameters for all: dim 128, walk length 80, 10 walks per node, window
10, one epoch, negative 5, gensim's sample=1e-3 / alpha 0.025 (densevec's
defaults are the same). PecanPy runs its fastest mode for the graph:
``FirstOrderUnweighted`` for p = q = 1, ``PreComp`` otherwise (small sparse
graphs); its walk time includes numba's compilation, as in real use.
``--phase quality`` (niced, no lock) trains and scores densevec alone over
seeds and ``share_negatives`` values (``--pq``, ``--seeds``, ``--shares``);
``--share-negatives`` sets it for densevec in ``--phase run``.
``--walk-memory`` also measures the peak RSS of walk generation alone
(densevec; PecanPy SparseOTF and PreComp) for p, q != 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

SETTINGS = [(1.0, 1.0), (1.0, 0.5), (1.0, 2.0)]
PARAMS = dict(dim=128, walk_length=80, walks_per_node=10, window=10)


# ------------------------------------------------------------------ children
def child(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    p, q, threads = args.p, args.q, args.threads[0]
    PARAMS["walks_per_node"] = args.walks_per_node
    out = {}
    if args.child == "densevec":
        from densevec.graph import Graph
        from densevec.node2vec import Node2Vec

        g = Graph.from_edgelist(args.edges)
        t_load = time.perf_counter() - t0
        if args.walks_only:
            ids, off = g.walks(PARAMS["walk_length"], PARAMS["walks_per_node"], p, q, seed=1, threads=threads)
            out = {"walk_s": time.perf_counter() - t0 - t_load, "walk_bytes": ids.nbytes + off.nbytes,
                   "csr_bytes": g.indptr.nbytes + g.indices.nbytes}
            if args.from_ids:
                import densevec as dv

                t1 = time.perf_counter()
                dv.Corpus.from_ids(ids, off, g.names)
                out["from_ids_s"] = time.perf_counter() - t1
        else:
            extra = {} if args.share_negatives is None else {"share_negatives": bool(args.share_negatives)}
            if args.noise_group is not None:
                extra["noise_group"] = args.noise_group
            model = Node2Vec(p=p, q=q, threads=threads, seed=args.seed, **PARAMS, **extra)
            emb = model.fit(g, progress=False)
            names = list(g.names)
            X = np.stack([emb[n] for n in names])
            out = {"load_s": t_load, "walk_s": model.timings_["walks"], "train_s": model.timings_["train"]}
    elif args.child == "pecanpy":
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
        import numba
        from gensim.models import Word2Vec
        from pecanpy import pecanpy as pp

        numba.set_num_threads(threads)
        mode = args.mode or ("FirstOrderUnweighted" if (p, q) == (1.0, 1.0) else "PreComp")
        g = getattr(pp, mode)(p=p, q=q, workers=threads, verbose=False, random_state=1)
        g.read_edg(args.edges, weighted=False, directed=False, delimiter=" ")
        t_load = time.perf_counter() - t0
        t1 = time.perf_counter()
        walks = g.simulate_walks(PARAMS["walks_per_node"], PARAMS["walk_length"])
        t2 = time.perf_counter()
        out = {"mode": mode, "load_s": t_load, "walk_s": t2 - t1}
        if not args.walks_only:
            w2v = Word2Vec(walks, vector_size=PARAMS["dim"], window=PARAMS["window"], sg=1, min_count=0,
                           workers=threads, epochs=1, seed=1)
            out["train_s"] = time.perf_counter() - t2
            names = list(g.nodes)
            X = w2v.wv[names]
    elif args.child == "node2vec":
        import networkx as nx
        from node2vec import Node2Vec as N2V

        G = nx.read_edgelist(args.edges, comments="#", nodetype=str)
        t_load = time.perf_counter() - t0
        t1 = time.perf_counter()
        n2v = N2V(G, dimensions=PARAMS["dim"], walk_length=PARAMS["walk_length"],
                  num_walks=PARAMS["walks_per_node"], p=p, q=q, workers=threads, quiet=True, seed=1)
        t2 = time.perf_counter()
        w2v = n2v.fit(window=PARAMS["window"], min_count=0, sg=1, epochs=1, seed=1)
        out = {"load_s": t_load, "walk_s": t2 - t1, "train_s": time.perf_counter() - t2}
        names = [str(n) for n in G.nodes]
        X = w2v.wv[names]
    out["total_s"] = time.perf_counter() - t0
    if not args.walks_only:
        np.save(args.emb + ".npy", np.asarray(X, dtype=np.float32))
        Path(args.emb + ".names").write_text("\n".join(names) + "\n")
    out["peak_rss_mib"] = _common.peak_rss_mib()
    print(json.dumps(out))


# ----------------------------------------------------------------- run phase
def prepare(work: Path) -> dict:
    """The graphs (train edges after holding out 10%) and labels, written into `work`."""
    import densevec as dv
    from densevec.graph import Graph
    from wordnet_graph import wordnet_graph

    graphs = {}
    import networkx as nx

    G = nx.karate_club_graph()
    karate = Graph.from_networkx(G, weight=None)
    kl = {str(n): G.nodes[n]["club"] for n in G.nodes}
    wpath, wl = wordnet_graph()
    for name, g, labels in (("karate", karate, kl), ("wordnet", Graph.from_edgelist(wpath), wl)):
        train, pos, neg = dv.evaluate.split_edges(g, 0.1, seed=0)
        rows = np.repeat(np.arange(train.n_nodes), train.degree())
        cols = train.indices.astype(np.int64)
        keep = rows < cols
        path = work / f"{name}-train.txt"
        with open(path, "w") as f:
            for a, b in zip(rows[keep], cols[keep]):
                f.write(f"{train.names[a]} {train.names[b]}\n")
        np.save(work / f"{name}-pos.npy", pos.astype(str))
        np.save(work / f"{name}-neg.npy", neg.astype(str))
        (work / f"{name}-labels.json").write_text(json.dumps(labels))
        graphs[name] = {"nodes": g.n_nodes, "edges": g.n_edges, "held_out": int(len(pos)),
                        "sum_deg2": int((g.degree() ** 2).sum()), "train": str(path)}
    return graphs


def run_phase(args: argparse.Namespace) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    graphs = prepare(work)
    runs = []
    here = os.path.abspath(__file__)
    plan = []
    for gname in args.graphs:
        for p, q in [tuple(x) for x in args.pq] or SETTINGS:
            for threads in args.threads:
                for method in args.methods:
                    if method != "densevec" and gname == "karate" and threads != max(args.threads):
                        continue  # a peer on karate measures mostly its imports and numba compilation
                    if method == "node2vec" and gname == "wordnet" and not (
                            (p, q) in [tuple(x) for x in args.node2vec_wordnet] and threads == max(args.threads)):
                        continue
                    if method == "pecanpy" and gname == "wordnet" and threads == 1 and (p, q) not in \
                            [tuple(x) for x in args.pecanpy_1thread]:
                        continue
                    plan.append((gname, p, q, threads, method))
    rounds = []
    for rnd in range(args.rounds):  # odd rounds run each setting's methods in the opposite order
        rounds += [(rnd, *x) for x in (plan if rnd % 2 == 0 else _reverse_methods(plan))]
    for rnd, gname, p, q, threads, method in rounds:
        tag = f"{gname}-{method}-p{p}-q{q}-t{threads}"
        if method == "densevec" and args.noise_group is not None:
            tag += f"-g{args.noise_group}"
        if args.rounds > 1:
            tag += f"-r{rnd}"
        cmd = [here, "--child", method, "--edges", graphs[gname]["train"], "--p", str(p), "--q", str(q),
               "--threads", str(threads), "--emb", str(work / tag),
               "--walks-per-node", str(args.wordnet_walks if gname == "wordnet" else 10)]
        if method == "densevec" and args.share_negatives is not None:
            cmd += ["--share-negatives", str(args.share_negatives)]
        if method == "densevec" and args.noise_group is not None:
            cmd += ["--noise-group", str(args.noise_group)]
        res, wall, rss = _common.run_child(cmd)
        res.update(graph=gname, method=method, p=p, q=q, threads=threads, wall_s=wall, tag=tag, round=rnd)
        runs.append(res)
        print(json.dumps(res), flush=True)
    mem = []
    if args.walk_memory:
        edges = graphs["wordnet"]["train"] if "wordnet" in args.graphs else graphs["karate"]["train"]
        for method, mode, extra in (("densevec", None, ["--from-ids"]), ("pecanpy", "SparseOTF", []),
                                    ("pecanpy", "PreComp", [])):
            cmd = [here, "--child", method, "--edges", edges, "--p", "1", "--q", "0.5", "--threads", "2",
                   "--walks-per-node", str(args.wordnet_walks),
                   "--walks-only", "--emb", str(work / "walks")] + (["--mode", mode] if mode else []) + extra
            res, wall, rss = _common.run_child(cmd)
            res.update(method=method, mode=mode or "rejection", wall_s=wall)
            mem.append(res)
            print(json.dumps(res), flush=True)
    (work / "runs.json").write_text(json.dumps({"graphs": graphs, "runs": runs, "walk_memory": mem,
                                                "rounds": args.rounds,
                                                "wordnet_walks": args.wordnet_walks,
                                                "machine": _common.machine_line()}, indent=1))


def _reverse_methods(plan: list) -> list:
    """`plan` with the methods of each (graph, p, q, threads) in reverse order."""
    out, i = [], 0
    while i < len(plan):
        j = i
        while j < len(plan) and plan[j][:4] == plan[i][:4]:
            j += 1
        out += plan[i:j][::-1]
        i = j
    return out


# ------------------------------------------------------------- quality phase
def quality_phase(args: argparse.Namespace) -> None:
    """densevec only, quality only (run it niced, no lock): every (p, q) of
    --pq x seed x share_negatives on the graphs, each scored as in --phase eval;
    prints one JSON line per run and writes ``quality.json`` into --work."""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    graphs = prepare(work)
    here = os.path.abspath(__file__)
    settings = [tuple(x) for x in args.pq] or SETTINGS
    rows = []
    for gname in args.graphs:
        for p, q in settings:
            for seed in args.seeds:
                for share, group in [(s, g) for s in args.shares for g in (args.noise_groups if s == 0 else [1])]:
                    tag = f"q-{gname}-densevec-p{p}-q{q}-t{args.threads[0]}-s{seed}-share{share}"
                    tag += f"-g{group}" if group != 1 else ""
                    cmd = [here, "--child", "densevec", "--edges", graphs[gname]["train"], "--p", str(p),
                           "--q", str(q), "--threads", str(args.threads[0]), "--emb", str(work / tag),
                           "--seed", str(seed), "--share-negatives", str(share), "--noise-group", str(group),
                           "--walks-per-node", str(args.wordnet_walks if gname == "wordnet" else 10)]
                    res, wall, _ = _common.run_child(cmd)
                    res.update(graph=gname, method="densevec", p=p, q=q, threads=args.threads[0], seed=seed,
                               share_negatives=share, noise_group=group, wall_s=wall, tag=tag)
                    res.update(score(work, res, args.sample))
                    rows.append(res)
                    print(json.dumps(res), flush=True)
    (work / "quality.json").write_text(json.dumps(rows, indent=1))


# ---------------------------------------------------------------- eval phase
def score(work: Path, r: dict, sample: int) -> dict:
    """Node classification and link prediction of one run's vectors (cached in `work`)."""
    import densevec as dv
    from densevec import evaluate

    cache = work / (r["tag"] + ".scores.json")
    if cache.is_file():
        return json.loads(cache.read_text())
    g = r["graph"]
    X = np.load(work / (r["tag"] + ".npy"))
    names = (work / (r["tag"] + ".names")).read_text().split("\n")[:-1]
    emb = dv.Embeddings(X, names)
    labels = {k: v for k, v in json.loads((work / f"{g}-labels.json").read_text()).items()
              if k in emb}  # synsets without noun/verb pointers are not in the graph
    if len(labels) > sample:
        keys = sorted(labels)
        pick = np.random.default_rng(0).permutation(len(keys))[:sample]  # the same sample for all
        labels = {keys[i]: labels[keys[i]] for i in sorted(pick)}
    nc = evaluate.node_classification(emb, labels, folds=5)
    pos, neg = np.load(work / f"{g}-pos.npy"), np.load(work / f"{g}-neg.npy")
    out = {"micro_f1": nc["micro_f1"], "macro_f1": nc["macro_f1"], "auroc": nc["auroc"],
           "link_auc_cos": evaluate.link_prediction(emb, pos, neg, "cosine")["auc"],
           "link_auc_had": evaluate.link_prediction(emb, pos, neg, "hadamard")["auc"]}
    cache.write_text(json.dumps(out))
    return out


def eval_phase(args: argparse.Namespace) -> None:
    work = Path(args.work)
    if args.score_log:  # score the runs a running --phase run has finished (its stdout)
        for line in Path(args.score_log).read_text().splitlines():
            if line.startswith("{") and '"tag"' in line:
                r = json.loads(line)
                print(r["tag"], score(work, r, args.sample), flush=True)
        return
    doc = json.loads((work / "runs.json").read_text())
    for r in doc["runs"]:
        if args.scored_only and not (work / (r["tag"] + ".scores.json")).is_file():
            continue  # reported without quality figures
        r.update(score(work, r, args.sample))
        print(r["tag"], round(r["macro_f1"], 3), round(r["link_auc_cos"], 3), flush=True)
    (work / "scored.json").write_text(json.dumps(doc, indent=1))
    _common.emit(report(doc), args.out)


def report(doc: dict) -> str:
    lines = ["# node2vec / DeepWalk: densevec vs PecanPy vs node2vec (PyPI)", "",
             f"Machine: {doc['machine']}. Parameters: dim 128, walk length 80, 10 walks/node, window 10, "
             "1 epoch" + (f" (WordNet: {doc.get('wordnet_walks')} walks/node)" if doc.get("wordnet_walks", 10) != 10
             else "") + ". Times in seconds; end to end is the whole child process (interpreter start, "
             "imports, reading the graph, walks, training; for PecanPy numba's compilation); RSS in MiB. Speed-up = peer end-to-end / densevec end-to-end, same graph, "
             "p, q and threads.", ""]
    for gname, info in doc["graphs"].items():
        lines += [f"## {gname}: {info['nodes']:,} nodes, {info['edges']:,} edges "
                  f"({info['held_out']:,} held out for link prediction)", ""]
        rows = []
        runs = [r for r in doc["runs"] if r["graph"] == gname]
        base = {(r["p"], r["q"], r["threads"]): r for r in runs if r["method"] == "densevec"}
        for r in sorted(runs, key=lambda r: (r["p"], r["q"], r["threads"], r["method"])):
            d = base.get((r["p"], r["q"], r["threads"]))
            speed = d and r["method"] != "densevec" and r["wall_s"] / d["wall_s"]
            rows.append([f"{r['method']}{' ' + r['mode'] if r.get('mode') else ''}", r["p"], r["q"],
                         r["threads"], r["walk_s"], r["train_s"], r["wall_s"],
                         f"{speed:.1f}x" if speed else "", r["peak_rss_mib"], r.get("micro_f1", float("nan")),
                         r.get("macro_f1", float("nan")), r.get("auroc", float("nan")),
                         r.get("link_auc_cos", float("nan")), r.get("link_auc_had", float("nan"))])
        lines += [_common.markdown_table(
            ["method", "p", "q", "threads", "walks s", "train s", "end-to-end s", "speed-up of densevec",
             "peak RSS", "micro-F1", "macro-F1", "auROC", "link AUC cos", "link AUC Hadamard"], rows), ""]
    if doc.get("rounds", 1) > 1:
        lines += summary(doc)
    if doc.get("walk_memory"):
        info = doc["graphs"].get("wordnet") or doc["graphs"]["karate"]
        lines += ["## Walk generation alone, p=1 q=0.5, 2 threads (peak RSS of the process)", "",
                  f"sum of degree^2 = {info['sum_deg2']:,} (what a precomputed second-order alias table "
                  "holds, per entry)", ""]
        rows = [[m["method"], m["mode"], m["walk_s"], m["peak_rss_mib"],
                 m.get("walk_bytes", 0) / 2**20 if m.get("walk_bytes") else float("nan"),
                 m.get("from_ids_s", float("nan"))] for m in doc["walk_memory"]]
        lines += [_common.markdown_table(["method", "mode", "walk s", "peak RSS MiB", "walks MiB (ids+offsets)",
                                          "Corpus.from_ids s"], rows), ""]
    return "\n".join(lines)


def summary(doc: dict) -> list[str]:
    """Several rounds: per setting, the median end-to-end time of each method,
    densevec's speed-up on the medians, and the quality averaged over the rounds
    with densevec's difference to the peer."""
    lines = [f"## Summary over {doc['rounds']} rounds (median end to end; quality: mean over the rounds)", ""]
    rows = []
    groups: dict = {}
    for r in doc["runs"]:
        groups.setdefault((r["graph"], r["p"], r["q"], r["threads"]), {}).setdefault(r["method"], []).append(r)
    for (g, p, q, t), by in sorted(groups.items()):
        d = by.get("densevec")
        for method, rs in sorted(by.items()):
            if method == "densevec" or not d:
                continue
            med = {m: float(np.median([x["wall_s"] for x in xs])) for m, xs in (("d", d), ("p", rs))}
            qual = {m: {k: float(np.mean([x.get(k, np.nan) for x in xs])) for k in ("macro_f1", "link_auc_cos")}
                    for m, xs in (("d", d), ("p", rs))}
            rows.append([g, p, q, t, method + (" " + rs[0]["mode"] if rs[0].get("mode") else ""),
                         " / ".join(f"{x['wall_s']:.1f}" for x in d), " / ".join(f"{x['wall_s']:.1f}" for x in rs),
                         f"{med['p'] / med['d']:.2f}x", qual["d"]["macro_f1"], qual["p"]["macro_f1"],
                         qual["d"]["macro_f1"] - qual["p"]["macro_f1"], qual["d"]["link_auc_cos"],
                         qual["p"]["link_auc_cos"], qual["d"]["link_auc_cos"] - qual["p"]["link_auc_cos"]])
    lines += [_common.markdown_table(
        ["graph", "p", "q", "threads", "peer", "densevec end-to-end s (rounds)", "peer end-to-end s (rounds)",
         "speed-up (medians)", "densevec macro-F1", "peer macro-F1", "difference", "densevec link AUC",
         "peer link AUC", "difference"], rows), ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=("run", "eval", "quality"))
    ap.add_argument("--work", default="/tmp/dv-graph-bench")
    ap.add_argument("--out", default=None)
    ap.add_argument("--graphs", nargs="+", default=["karate", "wordnet"])
    ap.add_argument("--methods", nargs="+", default=["densevec", "pecanpy", "node2vec"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--node2vec-wordnet", nargs="*", type=float, default=[], action="append",
                    help="(p q) settings the slow node2vec package runs on WordNet (default: none)")
    ap.add_argument("--pecanpy-1thread", nargs="*", type=float, default=[], action="append",
                    help="(p q) settings PecanPy runs with 1 thread on WordNet (default: none)")
    ap.add_argument("--walk-memory", action="store_true")
    ap.add_argument("--rounds", type=int, default=1,
                    help="--phase run: repeat the plan, alternating the methods' order (a summary of medians)")
    ap.add_argument("--wordnet-walks", type=int, default=10, help="walks per node on WordNet (karate: 10)")
    ap.add_argument("--walks-per-node", type=int, default=10, help=argparse.SUPPRESS)
    ap.add_argument("--score-log", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--scored-only", action="store_true", help="report only the quality of runs already scored")
    ap.add_argument("--sample", type=int, default=5000, help="labelled nodes for node classification")
    ap.add_argument("--share-negatives", type=int, choices=(0, 1), default=None,
                    help="densevec's Node2Vec(share_negatives=...) (default: the model's default)")
    ap.add_argument("--noise-group", type=int, default=None,
                    help="densevec's Node2Vec(noise_group=...) (default: the model's default)")
    ap.add_argument("--noise-groups", nargs="+", type=int, default=[1],
                    help="--phase quality: noise_group values for share_negatives=0")
    ap.add_argument("--pq", nargs=2, type=float, default=[], action="append",
                    help="a (p q) setting to run (repeatable; default: all three)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="--phase quality: seeds")
    ap.add_argument("--shares", nargs="+", type=int, choices=(0, 1), default=[1, 0],
                    help="--phase quality: share_negatives values")
    # child
    ap.add_argument("--child", choices=("densevec", "pecanpy", "node2vec"))
    ap.add_argument("--edges")
    ap.add_argument("--p", type=float, default=1.0)
    ap.add_argument("--q", type=float, default=1.0)
    ap.add_argument("--mode", default=None)
    ap.add_argument("--emb", default="")
    ap.add_argument("--walks-only", action="store_true")
    ap.add_argument("--from-ids", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    args.node2vec_wordnet = [x for x in args.node2vec_wordnet if x]
    args.pecanpy_1thread = [x for x in args.pecanpy_1thread if x]
    if args.child:
        child(args)
    elif args.phase == "run":
        run_phase(args)
    elif args.phase == "eval":
        eval_phase(args)
    elif args.phase == "quality":
        quality_phase(args)
    else:
        ap.error("give --phase run or --phase eval")


if __name__ == "__main__":
    main()
