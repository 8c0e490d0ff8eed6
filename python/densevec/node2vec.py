"""node2vec and DeepWalk: random walks on a graph fed to skip-gram.

:class:`Node2Vec` generates walks in C++ (:meth:`densevec.graph.Graph.walks`:
parallel, reproducible from the seed whatever the number of threads) and
trains densevec's skip-gram with negative sampling on them as an in-memory id
stream: walks never become text. ``p = q = 1`` is DeepWalk (first-order walks,
uniform or weighted by edge weight); other values give node2vec's
second-order walks (Grover & Leskovec 2016), drawn by rejection sampling as
in KnightKing, so memory stays O(edges) (no per-edge alias tables of
O(sum of degree^2)).

Documented choices:

* Each :meth:`Node2Vec.train` call draws ``walks_per_node`` fresh walks from
  every node (a new walk round: continued training sees new walks), then runs
  ``epochs`` skip-gram passes over them (as PecanPy and the ``node2vec``
  package do with gensim).
* The vocabulary is every node of the graph, in the graph's id order; node
  counts (for the noise distribution and subsampling) are the nodes'
  occurrences in the walks, summed over rounds.
* Isolated nodes get walks of length 1: no training pairs, so they keep their
  initial random vectors (see :mod:`densevec.graph` for self-loops, duplicate
  edges and weights).
* Ctrl-C while walks are drawn raises ``KeyboardInterrupt`` (nothing was
  trained yet); during training it returns the vectors trained so far with a
  warning, as :class:`densevec.Word2Vec` does.
* Skip-gram settings follow gensim's defaults used by PecanPy and ``node2vec``
  (``sample=1e-3``, ``alpha=0.025``, ``negative=5``, fresh noise nodes:
  ``share_negatives=False``, unlike :class:`densevec.Word2Vec`'s default,
  one set per two context nodes: ``noise_group=2``, where gensim draws one
  per context node), with the window, dimension and walk parameters of the
  node2vec paper.
"""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import numpy as np

from densevec._validate import INT32_MAX, check_hyperparameter_not_data
from densevec.corpus import Vocab, _check_int, resolve_threads
from densevec.graph import Graph, _check_positive, as_graph
from densevec.train._base import Callback
from densevec.vectors import Embeddings
from densevec.word2vec import Word2Vec

GraphLike = Any  # Graph, edge-list path, SciPy sparse matrix, networkx graph


class _Walks:
    """The walks of one round as :meth:`Word2Vec.train` reads a corpus: an
    in-memory id stream over the graph's nodes, identified by the graph."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, vocab: Vocab, fingerprint: str):
        self.ids = ids
        self.offsets = offsets
        self.vocab = vocab
        self.fingerprint = fingerprint
        self.n_tokens = int(ids.shape[0])
        self.n_sentences = int(offsets.shape[0]) - 1


class Node2Vec(Word2Vec):
    """node2vec / DeepWalk trainer.

    Parameters
    ----------
    dim : int
        Vector dimensionality.
    walk_length : int
        Nodes per walk (the start node included).
    walks_per_node : int
        Walks started from every node per :meth:`train` call.
    window : int
        Skip-gram window over the walks.
    p : float
        Return parameter (> 0): a step back to the previous node is weighted
        ``1/p``.
    q : float
        In-out parameter (> 0): a step to a node not adjacent to the previous
        node is weighted ``1/q``; ``p = q = 1`` is DeepWalk.
    negative : int
        Noise nodes per context node (per window with ``share_negatives``).
    epochs : int
        Skip-gram passes over each round of walks.
    sample : float
        Subsampling threshold of frequent nodes (gensim's default; 0 disables).
    alpha, min_alpha : float
        Learning rate, falling linearly over the epochs.
    threads : int
        Threads for walks and training; 0 = all cores.
    seed : int
        Seeds the walks, the initialisation and the sampling. Walks are the
        same for any ``threads``; training with ``threads=1`` is bit-identical
        run to run.
    ns_exponent : float
        Exponent of the noise distribution over node counts.
    share_negatives : bool
        Fresh ``negative`` noise nodes for every context node, as gensim (and
        so PecanPy and ``node2vec``) draws them (False, the default), or one
        set per window shared by all its context nodes (True: faster, but on
        WordNet's synset graph about 0.01 lower link-prediction AUC and
        macro-F1); see :class:`densevec.Word2Vec`.
    noise_group : int
        With ``share_negatives=False``: how many consecutive context nodes of
        a window share one fresh set of noise nodes (1: a set for every
        context node, as gensim draws them). The default, 2, draws and reads
        half as many random output rows as 1 (training is memory-bound when
        the output matrix does not fit in cache), and on WordNet matched
        noise_group=1 and PecanPy within 0.01 on link-prediction AUC and
        macro-F1 over two seeds; the rows are still updated context node by
        context node.

    Examples
    --------
    >>> g = Graph.from_edgelist("edges.txt")                      # doctest: +SKIP
    >>> emb = Node2Vec(dim=64, p=1, q=0.5).fit(g)                 # doctest: +SKIP
    >>> emb.most_similar("some-node")                             # doctest: +SKIP
    """

    algorithm = "node2vec"
    _init_span = 1.0  # word2vec.c's range, with which its quality was measured
    _display_name = "node2vec"
    _unit = "node"

    def __init__(
        self,
        dim: int = 128,
        walk_length: int = 80,
        walks_per_node: int = 10,
        window: int = 10,
        p: float = 1.0,
        q: float = 1.0,
        negative: int = 5,
        epochs: int = 1,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        threads: int = 0,
        seed: int = 1,
        ns_exponent: float = 0.75,
        share_negatives: bool = False,
        noise_group: int = 2,
    ):
        check_hyperparameter_not_data("Node2Vec", dim)
        negative = _check_int("negative", negative, 1, INT32_MAX)
        super().__init__(dim=dim, mode="skipgram", loss="ns", window=window, negative=negative,
                         sample=sample, alpha=alpha, min_alpha=min_alpha, epochs=epochs, min_count=1,
                         threads=threads, seed=seed, cbow_mean=True, ns_exponent=ns_exponent,
                         share_negatives=share_negatives)
        self.walk_length = _check_int("walk_length", walk_length, 1, INT32_MAX)
        self.walks_per_node = _check_int("walks_per_node", walks_per_node, 1, INT32_MAX)
        self.noise_group = _check_int("noise_group", noise_group, 1, INT32_MAX)
        self.p = _check_positive("p", p)
        self.q = _check_positive("q", q)
        self.timings_: dict = {}

    # ------------------------------------------------------------------ fit
    def fit(  # type: ignore[override]
        self,
        graph: GraphLike,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        init: Optional[Embeddings] = None,
        freeze: bool = False,
    ) -> Embeddings:
        """Train from scratch on a graph and return the node vectors.

        Parameters
        ----------
        graph : Graph, edge-list path, SciPy sparse matrix or networkx graph
            See :func:`densevec.graph.as_graph` (a path is read undirected).
        progress, callbacks, init, freeze
            As for :meth:`densevec.Word2Vec.fit`.

        Returns
        -------
        Embeddings
            One row per node, keyed by node name.
        """
        g = self._as_graph(graph)
        self.build_vocab(g)
        if init is not None:
            self.warm_start(init, freeze=freeze)
        return self.train(g, progress=progress, callbacks=callbacks)

    def build_vocab(self, graph: GraphLike, update: bool = False,  # type: ignore[override]
                    allow_mixed: bool = False) -> "Node2Vec":
        """Set up (``update``: grow) the model over the graph's nodes.

        ``update=True`` keeps every existing row and adds the graph's new
        nodes with fresh rows (a graph other than the one trained on needs
        ``allow_mixed=True``).
        """
        g = self._as_graph(graph)
        stub = _Walks(np.zeros(0, np.uint32), np.zeros(1, np.uint64),
                      Vocab(g.names, np.zeros(len(g), np.uint64)), g.fingerprint)
        return super().build_vocab(stub, update=update, allow_mixed=allow_mixed)  # type: ignore[return-value]

    def _update_min_count(self) -> int:
        return 0  # every node of the graph joins (its walk counts come with training)

    def train(  # type: ignore[override]
        self,
        graph: GraphLike,
        epochs: Optional[int] = None,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        allow_mixed: bool = False,
        start_alpha: Optional[float] = None,
        end_alpha: Optional[float] = None,
    ) -> Embeddings:
        """Draw a new round of walks and train on them from the current weights.

        Nodes not in the model are skipped (grow it first with
        ``build_vocab(graph, update=True)``). ``epochs``, ``start_alpha`` and
        ``end_alpha`` are as for :meth:`densevec.Word2Vec.train`. The time
        spent on walks and on training is kept in ``timings_``.
        """
        state = self._require_state("train")
        g = self._as_graph(graph)
        self._admit_corpus(g.fingerprint, allow_mixed, "train")
        rounds = int(state.info.get("walk_rounds", 0))
        t0 = time.perf_counter()
        ids, offsets = g.walks(self.walk_length, self.walks_per_node, self.p, self.q, seed=self.seed,
                               threads=resolve_threads(self.threads), round=rounds)
        t1 = time.perf_counter()
        state.info["walk_rounds"] = rounds + 1
        counts = np.bincount(ids, minlength=len(g)).astype(np.uint64)
        walks = _Walks(ids, offsets, Vocab(g.names, counts), g.fingerprint)
        id_map = self._id_map(walks)  # type: ignore[arg-type]
        if id_map is None:
            state.counts = state.counts + counts
        else:
            merged = state.counts.copy()
            known = id_map != 0xFFFFFFFF
            np.add.at(merged, id_map[known].astype(np.int64), counts[known])
            state.counts = merged
        self._samplers = None  # the counts changed
        emb = super().train(walks, epochs=epochs, progress=progress, callbacks=callbacks,  # type: ignore[arg-type]
                            allow_mixed=allow_mixed, start_alpha=start_alpha, end_alpha=end_alpha)
        t2 = time.perf_counter()
        self.timings_ = {"walks": t1 - t0, "train": t2 - t1, "tokens": int(ids.shape[0])}
        return emb

    # ------------------------------------------------------------- helpers
    def _as_graph(self, graph: Any) -> Graph:
        g = as_graph(graph)
        if g.n_edges == 0:
            raise ValueError(f"{g.source}: the graph has no edges (after dropping self-loops and "
                             "zero weights): there is nothing to walk")
        return g

    def _as_corpus(self, corpus: Any) -> Any:
        if isinstance(corpus, _Walks):
            return corpus
        raise TypeError(f"Node2Vec trains on a graph (densevec.Graph, an edge-list path, a SciPy sparse "
                        f"matrix or a networkx graph), got {type(corpus).__name__}")
