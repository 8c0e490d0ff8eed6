"""Graphs for node embeddings (:class:`densevec.Node2Vec`).

A :class:`Graph` is a CSR adjacency held in C++ (sorted neighbour lists, node
ids ``0 .. n-1``) with a name <-> id vocabulary. Build it from an edge-list
file (:meth:`Graph.from_edgelist`), a SciPy sparse matrix
(:meth:`Graph.from_scipy`), a networkx graph (:meth:`Graph.from_networkx`,
when networkx is installed) or a sequence of pairs (:meth:`Graph.from_edges`).

Documented choices, the same for every source:

* **Undirected** (the default): each edge is walkable both ways. **Directed**:
  only from source to target; a node without out-edges ends a walk.
* **Self-loops** are dropped (counted in :attr:`Graph.self_loops_dropped`):
  node2vec's second-order bias is not defined for them.
* **Duplicate edges** (an edge listed twice, or both ``a b`` and ``b a`` in an
  undirected graph) are merged into one edge that keeps the largest weight
  (counted in :attr:`Graph.duplicates_merged`).
* **Weights** must be finite and non-negative; an edge of weight 0 is dropped
  (it could never be walked). Walks step to a neighbour with probability
  proportional to the weight (uniform when unweighted).
* **Isolated nodes** (no edges, e.g. an empty row of a SciPy matrix or a node
  of a networkx graph without edges) stay in the vocabulary; their walks have
  length 1, so they see no training pair and keep their initial random vector.
"""
from __future__ import annotations

import hashlib
import math
import os
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from densevec import _core
from densevec._validate import MAX_THREADS, UINT64_MAX, check_int

__all__ = ["Graph", "as_graph"]


def _check_names(names: Sequence[str]) -> list[str]:
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        seen: set = set()
        dup = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise ValueError(f"node names must be unique; {dup!r} appears twice")
    return names


class Graph:
    """A graph as node2vec walks it (see the module docstring).

    Use the ``from_*`` constructors. Attributes: :attr:`names` (node id ->
    name), :attr:`indptr`, :attr:`indices`, :attr:`weights` (read-only CSR
    arrays; ``weights`` is None when unweighted), :attr:`directed`.
    """

    def __init__(self, csr: Any, names: list[str], source: str):
        self._csr = csr
        self.names: list[str] = names
        self.source = source
        self._fingerprint: Optional[str] = None
        self._index: Optional[dict[str, int]] = None

    # ---------------------------------------------------------------- build
    @classmethod
    def from_arrays(cls, src: Any, dst: Any, names: Sequence[str], weight: Any = None,
                    directed: bool = False, what: str = "edges") -> "Graph":
        """A graph from integer edge arrays over ``len(names)`` nodes.

        ``src[i] -> dst[i]`` is edge ``i`` (with ``weight[i]``); ids outside
        ``0 .. len(names)-1``, or a negative / non-finite weight, raise
        ``ValueError`` naming the edge.
        """
        names = _check_names(names)
        n = len(names)
        s = np.asarray(src)
        d = np.asarray(dst)
        if s.shape != d.shape or s.ndim != 1:
            raise ValueError(f"{what}: src and dst must be 1-D arrays of one length, got {s.shape} and {d.shape}")
        for label, arr in (("source", s), ("target", d)):
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"{what}: {label} ids must be integers, got dtype {arr.dtype}")
            if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= n):
                bad = int(np.flatnonzero((arr < 0) | (arr >= n))[0])
                raise ValueError(f"{what}: edge {bad} has {label} id {int(arr[bad])}, out of range "
                                 f"for {n} nodes")
        w = None
        if weight is not None:
            w64 = np.asarray(weight, dtype=np.float64)
            if w64.shape != s.shape:
                raise ValueError(f"{what}: {w64.size} weights for {s.size} edges")
            bad_mask = ~np.isfinite(w64) | (w64 < 0)
            if bad_mask.any():
                bad = int(np.flatnonzero(bad_mask)[0])
                raise ValueError(f"{what}: edge {bad} has weight {w64[bad]}: weights must be finite and >= 0")
            w = w64.astype(np.float32)
        csr = _core.CSRGraph(n=n, src=np.ascontiguousarray(s, dtype=np.uint32),
                             dst=np.ascontiguousarray(d, dtype=np.uint32), weight=w,
                             directed=bool(directed), what=what)
        return cls(csr, names, what)

    @classmethod
    def from_edgelist(cls, path: Any, directed: bool = False, weighted: Optional[bool] = None) -> "Graph":
        """Read an edge-list file: one ``src dst [weight]`` per line.

        Fields are separated by whitespace; node names are any strings without
        whitespace; ``#`` starts a comment; blank lines are skipped. Every line
        has a weight or none does.

        Parameters
        ----------
        path : str or os.PathLike
        directed : bool
        weighted : bool, optional
            None: use the weights when the file has them. False: ignore them.
            True: the file must have them.

        Raises
        ------
        ValueError
            ``"<path>:<line>: ..."`` for a malformed line, a weight that is
            not a finite non-negative number; a file without edges.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such edge-list file")
        parsed = _core.read_edge_list(path)
        if len(parsed["src"]) == 0:
            raise ValueError(f"{path}: no edges (every line is blank or a comment)")
        weight = parsed["weight"]
        if weighted is True and weight is None:
            raise ValueError(f"{path}: weighted=True but the lines have no weight column")
        if weighted is False:
            weight = None
        csr = _core.CSRGraph(n=len(parsed["names"]), src=parsed["src"], dst=parsed["dst"],
                             weight=weight, directed=bool(directed), what=path)
        return cls(csr, list(parsed["names"]), path)

    @classmethod
    def from_edges(cls, edges: Iterable[Sequence[Any]], directed: bool = False,
                   nodes: Optional[Iterable[Any]] = None) -> "Graph":
        """A graph from ``(u, v)`` or ``(u, v, weight)`` tuples; names are ``str(u)``.

        ``nodes`` lists nodes first (isolated ones included), fixing the id order.
        """
        index: dict[str, int] = {}
        names: list[str] = []

        def node_id(x: Any) -> int:
            key = str(x)
            i = index.get(key)
            if i is None:
                i = index[key] = len(names)
                names.append(key)
            return i

        for x in nodes or ():
            node_id(x)
        src, dst, wts = [], [], []
        for k, e in enumerate(edges):
            if len(e) not in (2, 3):
                raise ValueError(f"edges: edge {k} has {len(e)} items, expected (u, v) or (u, v, weight)")
            src.append(node_id(e[0]))
            dst.append(node_id(e[1]))
            wts.append(float(e[2]) if len(e) == 3 else None)
        has_w = [w is not None for w in wts]
        if any(has_w) and not all(has_w):
            raise ValueError("edges: some edges have a weight and some do not")
        weight = np.array(wts, dtype=np.float64) if (wts and all(has_w)) else None
        return cls.from_arrays(np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), names,
                               weight, directed, "edges")

    @classmethod
    def from_scipy(cls, matrix: Any, names: Optional[Sequence[str]] = None, directed: bool = False,
                   weighted: bool = True) -> "Graph":
        """A graph from a square SciPy sparse adjacency matrix.

        Entry ``(i, j)`` is an edge ``i -> j`` with its value as weight
        (``weighted=False``: every stored non-zero entry has weight 1).
        Undirected: ``(i, j)`` and ``(j, i)`` are the same edge (a symmetric
        or a triangular matrix both work). ``names`` defaults to ``"0" ..
        "n-1"``. Rows without entries are isolated nodes.
        """
        try:
            import scipy.sparse as sp
        except ImportError as e:  # pragma: no cover - scipy is a test dependency
            raise ImportError("Graph.from_scipy needs scipy") from e
        if not sp.issparse(matrix):
            raise TypeError(f"from_scipy expects a SciPy sparse matrix, got {type(matrix).__name__}")
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"from_scipy: the adjacency matrix must be square, got shape {matrix.shape}")
        n = int(matrix.shape[0])
        if names is None:
            names = [str(i) for i in range(n)]
        elif len(names) != n:
            raise ValueError(f"from_scipy: {len(names)} names for a {n} x {n} matrix")
        coo = matrix.tocoo()
        data = np.asarray(coo.data, dtype=np.float64)
        keep = data != 0 if not weighted else np.ones(data.shape, dtype=bool)
        row, col = np.asarray(coo.row)[keep], np.asarray(coo.col)[keep]
        weight = data[keep] if weighted else None
        return cls.from_arrays(row, col, names, weight, directed, "sparse matrix")

    @classmethod
    def from_networkx(cls, graph: Any, weight: Optional[str] = "weight") -> "Graph":
        """A graph from a networkx graph (networkx is imported only here).

        Directed when ``graph.is_directed()``. Node names are ``str(node)``;
        every node is kept, isolated ones included. ``weight`` names the edge
        attribute holding the weight (edges without it weigh 1); None ignores
        weights. A multigraph's parallel edges merge (largest weight).
        """
        try:
            import networkx as nx  # noqa: F401
        except ImportError as e:
            raise ImportError("Graph.from_networkx needs networkx (pip install networkx)") from e
        nodes = list(graph.nodes())
        names = _check_names(nodes)
        index = {node: i for i, node in enumerate(nodes)}
        src, dst, wts = [], [], []
        for u, v, data in graph.edges(data=True):
            src.append(index[u])
            dst.append(index[v])
            if weight is not None:
                wts.append(data.get(weight, 1.0))
        w = None
        if weight is not None and any(weight in d for _, _, d in graph.edges(data=True)):
            w = np.array(wts, dtype=np.float64)
        return cls.from_arrays(np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), names, w,
                               graph.is_directed(), "networkx graph")

    # ----------------------------------------------------------- properties
    @property
    def n_nodes(self) -> int:
        return int(self._csr.n)

    def __len__(self) -> int:
        return self.n_nodes

    @property
    def n_edges(self) -> int:
        """Edges after merging duplicates and dropping self-loops (an
        undirected edge counts once)."""
        slots = int(self._csr.indptr[-1])
        return slots if self.directed else slots // 2

    @property
    def directed(self) -> bool:
        return bool(self._csr.directed)

    @property
    def weighted(self) -> bool:
        return bool(self._csr.weighted)

    @property
    def indptr(self) -> np.ndarray:
        return self._csr.indptr

    @property
    def indices(self) -> np.ndarray:
        return self._csr.indices

    @property
    def weights(self) -> Optional[np.ndarray]:
        return self._csr.weights

    @property
    def self_loops_dropped(self) -> int:
        return int(self._csr.self_loops)

    @property
    def duplicates_merged(self) -> int:
        return int(self._csr.duplicates)

    def degree(self) -> np.ndarray:
        """Out-degree of every node (int64)."""
        return np.diff(self.indptr).astype(np.int64)

    def neighbors(self, node: str) -> list[str]:
        """The (out-)neighbours of a node, by name."""
        i = self.index(node)
        return [self.names[j] for j in self.indices[self.indptr[i]:self.indptr[i + 1]]]

    def index(self, node: str) -> int:
        """The id of a node; ``KeyError`` naming it when absent."""
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self.names)}
        try:
            return self._index[node]
        except KeyError:
            raise KeyError(f"node {node!r} not in the graph") from None

    @property
    def fingerprint(self) -> str:
        """sha256 of the adjacency, weights and names (identifies the graph a model trained on)."""
        if self._fingerprint is None:
            h = hashlib.sha256(b"densevec-graph-1\0")
            h.update(b"directed" if self.directed else b"undirected")
            for arr in (self.indptr, self.indices, self.weights):
                if arr is not None:
                    h.update(np.ascontiguousarray(arr).tobytes())
            h.update("\n".join(self.names).encode("utf-8", "surrogatepass"))
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        kind = ("directed" if self.directed else "undirected") + (", weighted" if self.weighted else "")
        return f"Graph({self.n_nodes} nodes, {self.n_edges} edges, {kind})"

    # ---------------------------------------------------------------- walks
    def walks(self, walk_length: int = 80, walks_per_node: int = 10, p: float = 1.0, q: float = 1.0,
              seed: int = 1, threads: int = 0, round: int = 0, progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Random walks as an id stream ``(ids uint32, offsets uint64)``.

        ``walks_per_node`` passes; each visits every node once, in a seeded
        shuffled order, and walks ``walk_length`` nodes from it (fewer when it
        reaches a node without out-edges). p = q = 1: DeepWalk's first-order
        walk (uniform or weight-proportional, alias tables); otherwise
        node2vec's second-order walk with return parameter ``p`` and in-out
        parameter ``q``, drawn by rejection sampling (O(edges) memory; in a
        directed graph "adjacent to the previous node" means an edge from it). Walk
        ``(node, pass)`` has its own generator seeded from ``(seed, round,
        node, pass)``: the result is the same for any ``threads``.
        Walk ``k`` is ``ids[offsets[k]:offsets[k + 1]]``.
        """
        from densevec.corpus import resolve_threads

        walk_length = check_int("walk_length", walk_length, 1, 2**31 - 1)
        walks_per_node = check_int("walks_per_node", walks_per_node, 1, 2**31 - 1)
        p = _check_positive("p", p)
        q = _check_positive("q", q)
        seed = check_int("seed", seed, 0, UINT64_MAX)
        round = check_int("round", round, 0, UINT64_MAX)
        threads = resolve_threads(check_int("threads", threads, 0, MAX_THREADS))
        return _core.random_walks(graph=self._csr, walk_length=walk_length, walks_per_node=walks_per_node,
                                  p=p, q=q, seed=seed, round=round, threads=threads, progress=progress)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def as_graph(data: Any, directed: bool = False) -> Graph:
    """A :class:`Graph` from a Graph, an edge-list path, a SciPy sparse matrix or a networkx graph."""
    if isinstance(data, Graph):
        return data
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return Graph.from_edgelist(os.fsdecode(data), directed=directed)
    mod = type(data).__module__ or ""
    if mod.startswith("scipy.sparse"):
        return Graph.from_scipy(data, directed=directed)
    if mod.startswith("networkx"):
        return Graph.from_networkx(data)
    raise TypeError(f"expected a densevec Graph, an edge-list path, a SciPy sparse matrix or a networkx "
                    f"graph, got {type(data).__name__}")


