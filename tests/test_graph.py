"""Graphs and random walks: CSR building from every source, bad input, walks
reproducible across thread counts, and the empirical step distribution against
node2vec's transition probabilities (with negative controls)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from densevec.graph import Graph, as_graph

# a small weighted undirected graph with triangles, a pendant node and hubs
SMALL = [(0, 1, 1.0), (1, 2, 2.0), (1, 3, 1.0), (1, 4, 3.0), (0, 2, 1.0), (2, 3, 1.0), (3, 4, 1.0),
         (4, 5, 1.0), (0, 5, 2.0), (2, 6, 0.5), (6, 7, 1.0), (3, 7, 4.0)]


def write(tmp_path, text, name="edges.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------- building
def test_edgelist_csr_sorted_names_comments_weights(tmp_path):
    path = write(tmp_path, "# a comment\n\nb a 2.5\n c\td 1   # trailing comment\na c 0.5\n")
    g = Graph.from_edgelist(path)
    assert g.names == ["b", "a", "c", "d"]
    assert g.weighted and not g.directed and g.n_edges == 3
    assert g.neighbors("a") == ["b", "c"]      # sorted by id: b=0, c=2
    assert g.neighbors("c") == ["a", "d"]
    for v in range(len(g)):
        row = g.indices[g.indptr[v]:g.indptr[v + 1]]
        assert np.all(np.diff(row.astype(np.int64)) > 0)
    i = g.index("a")
    nb = list(g.indices[g.indptr[i]:g.indptr[i + 1]])
    assert g.weights[int(g.indptr[i]) + nb.index(g.index("b"))] == pytest.approx(2.5)
    assert not Graph.from_edgelist(path, weighted=False).weighted
    assert not g.indices.flags.writeable


def test_directed_self_loops_duplicates_and_isolated(tmp_path):
    g = Graph.from_edges([("a", "b", 1.0), ("a", "b", 3.0), ("b", "a", 2.0), ("c", "c", 1.0)],
                         nodes=["a", "b", "c", "iso"])
    assert g.self_loops_dropped == 1
    assert g.duplicates_merged == 2           # a-b listed three times: one edge
    assert g.n_edges == 1
    assert g.weights.tolist() == [3.0, 3.0]   # the largest weight is kept
    assert g.degree().tolist() == [1, 1, 0, 0]
    d = Graph.from_edges([("a", "b"), ("b", "c")], directed=True)
    assert d.directed and d.neighbors("b") == ["c"] and d.neighbors("c") == []
    ids, off = d.walks(walk_length=5, walks_per_node=1, seed=1, threads=1)
    walks = {tuple(ids[off[k]:off[k + 1]]) for k in range(len(off) - 1)}
    assert walks == {(0, 1, 2), (1, 2), (2,)}  # walks stop at a node without out-edges
    ids, off = g.walks(walk_length=4, walks_per_node=2, seed=3, threads=1)
    lengths = np.diff(off)
    starts = ids[off[:-1]]
    assert set(lengths[starts == g.index("iso")]) == {1}  # isolated: walks of length 1
    assert set(lengths[starts == g.index("a")]) == {4}


def test_scipy_and_networkx_agree_with_edge_list():
    sp = pytest.importorskip("scipy.sparse")
    rows = [u for u, _, _ in SMALL]
    cols = [v for _, v, _ in SMALL]
    w = [x for _, _, x in SMALL]
    m = sp.coo_matrix((w, (rows, cols)), shape=(9, 9)).tocsr()
    a = Graph.from_scipy(m)
    b = Graph.from_edges(SMALL, nodes=range(9))
    assert a.names == b.names and a.n_nodes == 9
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.degree()[8] == 0                 # an empty row: an isolated node
    assert a.fingerprint == b.fingerprint
    assert as_graph(m).fingerprint == a.fingerprint
    nx = pytest.importorskip("networkx")
    G = nx.Graph()
    G.add_nodes_from(range(9))
    G.add_weighted_edges_from(SMALL)
    c = Graph.from_networkx(G)
    assert c.fingerprint == a.fingerprint
    assert Graph.from_networkx(G, weight=None).weights is None
    assert Graph.from_networkx(nx.DiGraph([(0, 1)])).directed


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"edges\.txt:3: expected 'src dst \[weight\]', got 1 field"):
        Graph.from_edgelist(write(tmp_path, "a b\n# ok\nc\n"))
    with pytest.raises(ValueError, match=r"edges\.txt:2: expected .* got 4 fields"):
        Graph.from_edgelist(write(tmp_path, "a b\na b 1 2\n"))
    with pytest.raises(ValueError, match=r"edges\.txt:2: negative weight -1"):
        Graph.from_edgelist(write(tmp_path, "a b 1\nb c -1\n"))
    with pytest.raises(ValueError, match=r"edges\.txt:1: weight 'nan' is not a finite number"):
        Graph.from_edgelist(write(tmp_path, "a b nan\n"))
    with pytest.raises(ValueError, match=r"edges\.txt:1: weight 'x1' is not a number"):
        Graph.from_edgelist(write(tmp_path, "a b x1\n"))
    with pytest.raises(ValueError, match=r"edges\.txt:2: no weight, but line 1 has one"):
        Graph.from_edgelist(write(tmp_path, "a b 1\nb c\n"))
    with pytest.raises(ValueError, match="no edges"):
        Graph.from_edgelist(write(tmp_path, "# nothing\n\n"))
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        Graph.from_edgelist(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="edge 1 has target id 5, out of range for 3 nodes"):
        Graph.from_arrays([0, 1], [1, 5], ["a", "b", "c"])
    with pytest.raises(ValueError, match="edge 0 has source id -1"):
        Graph.from_arrays([-1], [1], ["a", "b", "c"])
    with pytest.raises(ValueError, match="edge 1 has weight nan"):
        Graph.from_arrays([0, 1], [1, 2], ["a", "b", "c"], weight=[1.0, math.nan])
    with pytest.raises(ValueError, match="node names must be unique"):
        Graph.from_arrays([0], [1], ["a", "a"])
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="edge 0 has weight -2"):
        Graph.from_scipy(sp.csr_matrix(np.array([[0, -2.0], [0, 0]])))
    with pytest.raises(ValueError, match="must be square"):
        Graph.from_scipy(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(TypeError, match="expected a densevec Graph"):
        as_graph([("a", "b")])
    g = Graph.from_edges([(0, 1)])
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="p must be a positive finite number"):
            g.walks(p=bad)
        with pytest.raises(ValueError, match="q must be a positive finite number"):
            g.walks(q=bad)


# ---------------------------------------------------------------------- walks
def random_graph(n=600, m=3000, seed=0, weighted=True):
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.gamma(1.0, size=m) + 0.01 if weighted else None
    return Graph.from_arrays(src, dst, [f"n{i}" for i in range(n)], weight=w)


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.5, 2.0), (4.0, 0.25)])
def test_walks_are_the_same_for_any_thread_count(p, q):
    g = random_graph()
    ids1, off1 = g.walks(walk_length=30, walks_per_node=3, p=p, q=q, seed=7, threads=1)
    assert len(off1) == 3 * g.n_nodes + 1
    for threads in (2, 3, 8):
        ids, off = g.walks(walk_length=30, walks_per_node=3, p=p, q=q, seed=7, threads=threads)
        np.testing.assert_array_equal(ids, ids1)
        np.testing.assert_array_equal(off, off1)
    other, _ = g.walks(walk_length=30, walks_per_node=3, p=p, q=q, seed=8, threads=2)
    assert not np.array_equal(other, ids1)
    later, _ = g.walks(walk_length=30, walks_per_node=3, p=p, q=q, seed=7, threads=2, round=1)
    assert not np.array_equal(later, ids1)
    # every step follows an edge; every pass starts once from every node
    steps = np.ones(len(ids1), bool)
    steps[off1[:-1]] = False
    cur, prev = ids1[1:][steps[1:]], ids1[:-1][steps[1:]]
    key = prev.astype(np.int64) * g.n_nodes + cur
    rows = np.repeat(np.arange(g.n_nodes), g.degree())
    edges = rows * g.n_nodes + g.indices
    assert np.isin(key, edges).all()
    starts = ids1[off1[:-1]].reshape(3, g.n_nodes)
    assert all(sorted(s) == list(range(g.n_nodes)) for s in starts)


def transition_table(g, p, q):
    """node2vec's P(x | t, v) for every (t, v) edge: {(t, v): (neighbours of v, probabilities)}."""
    table = {}
    for t in range(g.n_nodes):
        nt = set(g.indices[g.indptr[t]:g.indptr[t + 1]].tolist())
        for v in nt:
            nb = g.indices[g.indptr[v]:g.indptr[v + 1]]
            w = g.weights[g.indptr[v]:g.indptr[v + 1]].astype(np.float64)
            alpha = np.array([1 / p if x == t else (1.0 if x in nt else 1 / q) for x in nb])
            pr = w * alpha
            table[(t, v)] = (nb, pr / pr.sum())
    return table


def chi_square(ids, off, table, first_order=False):
    """Pearson's statistic of the observed steps against `table`, summed over
    every (t, v) context seen at least 30 times, and its degrees of freedom."""
    n = int(max(max(k) for k in table)) + 1
    pos = np.arange(len(ids))
    walk = np.repeat(np.arange(len(off) - 1), np.diff(off).astype(np.int64))
    ok = pos[2:][walk[2:] == walk[:-2]]           # steps with two predecessors in their walk
    t, v, x = (ids[ok - 2].astype(np.int64), ids[ok - 1].astype(np.int64), ids[ok].astype(np.int64))
    keys, freq = np.unique((t * n + v) * n + x, return_counts=True)
    counts: dict = {}
    for key, c in zip(keys.tolist(), freq.tolist()):
        ctx, nxt = divmod(key, n)
        counts.setdefault(divmod(ctx, n), {})[nxt] = c
    stat, df = 0.0, 0
    for ctx, nexts in counts.items():
        total = sum(nexts.values())
        if total < 30:
            continue
        nb, pr = table[ctx]
        obs = np.array([nexts.get(int(x), 0) for x in nb], dtype=np.float64)
        assert sum(nexts.values()) == obs.sum()    # no step outside the neighbours
        exp = pr * total
        stat += float(((obs - exp) ** 2 / exp).sum())
        df += len(nb) - 1
    return stat, df


def chi2_upper(df, z=3.72):
    """Wilson-Hilferty: the chi-square quantile with upper tail ~1e-4 (z = 3.72)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize("p,q", [(0.25, 4.0), (4.0, 0.25), (1.0, 1.0)])
def test_second_order_steps_follow_node2vec_probabilities(p, q):
    g = Graph.from_edges(SMALL)
    ids, off = g.walks(walk_length=40, walks_per_node=150, p=p, q=q, seed=11, threads=2)
    stat, df = chi_square(ids, off, transition_table(g, p, q))
    assert df > 30
    assert stat < chi2_upper(df), (stat, df)
    # negative controls: the probabilities of other parameters are rejected
    for wrong in ((1.0, 1.0), (q, p), (p, q * 2)):
        if wrong == (p, q):
            continue
        bad, _ = chi_square(ids, off, transition_table(g, *wrong))
        assert bad > 3 * chi2_upper(df), (wrong, bad, df)


def test_first_order_steps_follow_weights_and_uniform_without():
    g = Graph.from_edges(SMALL)
    u = Graph.from_edges([(a, b) for a, b, _ in SMALL])
    ids, off = g.walks(walk_length=40, walks_per_node=150, seed=5, threads=2)
    stat, df = chi_square(ids, off, transition_table(g, 1, 1))
    assert stat < chi2_upper(df)
    uniform = {k: (nb, np.full(len(nb), 1 / len(nb))) for k, (nb, _) in transition_table(g, 1, 1).items()}
    bad, _ = chi_square(ids, off, uniform)
    assert bad > 3 * chi2_upper(df)
    ids, off = u.walks(walk_length=40, walks_per_node=150, seed=5, threads=2)
    stat, df = chi_square(ids, off, uniform)
    assert stat < chi2_upper(df)
