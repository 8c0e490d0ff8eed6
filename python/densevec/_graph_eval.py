"""Evaluation of node embeddings (re-exported by :mod:`densevec.evaluate`):
node classification and link prediction, the metrics of the node2vec and
PecanPy papers."""
from __future__ import annotations

from typing import Any, Literal, Mapping, Sequence

import numpy as np

from densevec.vectors import Embeddings


def _sklearn(what: str) -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{what} needs scikit-learn (pip install scikit-learn)") from e
    return sklearn


def roc_auc(scores: Any, positive: Any) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positive``
    (Mann-Whitney U with average ranks for ties); NaN without both classes."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _rows(emb: Embeddings, names: Sequence[str], what: str) -> np.ndarray:
    missing = [n for n in names if n not in emb]
    if missing:
        raise KeyError(f"{what}: {len(missing)} node(s) have no vector, e.g. {missing[0]!r}")
    return np.stack([np.asarray(emb[n], dtype=np.float64) for n in names]) if names else np.zeros((0, emb.dim))


def node_classification(emb: Embeddings, labels: Mapping[str, Any], folds: int = 5, seed: int = 0,
                        C: float = 1.0, max_iter: int = 200, solver: str = "liblinear") -> dict:
    """Cross-validated one-vs-rest logistic regression on node vectors.

    Parameters
    ----------
    emb : Embeddings
        Node vectors keyed by node name.
    labels : mapping of node name to label
        One label per node (single-label classification). Classes with fewer
        than ``folds`` nodes are left out (reported as ``dropped_classes``).
    folds : int
        Stratified folds; every node is predicted once, by the model that did
        not see it.
    seed, C, max_iter, solver
        Fold shuffling; scikit-learn's ``LogisticRegression`` settings
        (liblinear: the binary solver of the one-vs-rest classifiers).

    Returns
    -------
    dict
        ``micro_f1``, ``macro_f1``, ``auroc`` (mean over classes of each
        class's one-vs-rest ROC AUC), ``nodes``, ``classes``,
        ``dropped_classes``, ``folds``. Needs scikit-learn.
    """
    _sklearn("node_classification")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier

    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    names = list(labels)
    y_all = np.array([str(labels[n]) for n in names])
    classes, counts = np.unique(y_all, return_counts=True)
    kept = set(classes[counts >= folds].tolist())
    keep = np.array([c in kept for c in y_all], dtype=bool)
    names = [n for n, k in zip(names, keep) if k]
    y_text = y_all[keep]
    if len(kept) < 2:
        raise ValueError(f"node_classification needs at least 2 classes with >= {folds} nodes each")
    X = _rows(emb, names, "node_classification")
    X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    cls = np.array(sorted(kept))
    y = np.searchsorted(cls, y_text)
    pred = np.empty(len(y), dtype=np.int64)
    score = np.empty((len(y), len(cls)), dtype=np.float64)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        clf = OneVsRestClassifier(LogisticRegression(C=C, max_iter=max_iter, solver=solver))
        clf.fit(X[train], y[train])
        dec = clf.decision_function(X[test])
        score[test] = np.stack([-dec, dec], axis=1) if dec.ndim == 1 else dec  # two classes: one column
        pred[test] = clf.classes_[np.argmax(score[test], axis=1)]
    aucs = [roc_auc(score[:, k], y == k) for k in range(len(cls))]
    return {
        "micro_f1": float(f1_score(y, pred, average="micro")),
        "macro_f1": float(f1_score(y, pred, average="macro")),
        "auroc": float(np.nanmean(aucs)),
        "nodes": len(y),
        "classes": len(cls),
        "dropped_classes": int(len(classes) - len(cls)),
        "folds": folds,
    }


def split_edges(graph: Any, fraction: float = 0.1, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """Hold out edges for link prediction.

    Removes about ``fraction`` of the (undirected) edges, never the last edge
    of a node, and draws as many node pairs that are not edges.

    Returns
    -------
    (train_graph, positives, negatives)
        The graph without the held-out edges (same nodes, same names, same
        ids), and two ``(k, 2)`` arrays of node names: the held-out edges and
        the non-edges.
    """
    from densevec.graph import Graph

    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if graph.directed:
        raise ValueError("split_edges: link prediction here is for undirected graphs")
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), graph.degree())
    cols = graph.indices.astype(np.int64)
    upper = rows < cols
    src, dst = rows[upper], cols[upper]
    w = None if graph.weights is None else graph.weights[upper]
    deg = graph.degree().copy()
    held = np.zeros(src.size, dtype=bool)
    target, taken = int(round(fraction * src.size)), 0
    for e in rng.permutation(src.size).tolist():
        if taken >= target:
            break
        a, b = src[e], dst[e]
        if deg[a] > 1 and deg[b] > 1:
            held[e] = True
            taken += 1
            deg[a] -= 1
            deg[b] -= 1
    train = Graph.from_arrays(src[~held], dst[~held], graph.names, None if w is None else w[~held],
                              directed=False, what="train edges")
    n = graph.n_nodes
    existing = set((src * n + dst).tolist())
    negatives: list = []
    while len(negatives) < int(held.sum()):
        a, b = rng.integers(0, n, 2)
        a, b = min(a, b), max(a, b)
        if a != b and a * n + b not in existing:
            existing.add(a * n + b)
            negatives.append((a, b))
    names = np.array(graph.names, dtype=object)
    pos = np.stack([names[src[held]], names[dst[held]]], axis=1) if held.any() else np.zeros((0, 2), object)
    neg = names[np.array(negatives, dtype=np.int64).reshape(-1, 2)]
    return train, pos, neg


def link_prediction(emb: Embeddings, positives: Any, negatives: Any,
                    method: Literal["cosine", "hadamard"] = "cosine", folds: int = 5,
                    seed: int = 0) -> dict:
    """ROC AUC of telling held-out edges from non-edges by their node vectors.

    ``cosine`` scores a pair by the cosine of its two vectors (no training).
    ``hadamard`` scores it by a logistic regression on the element-wise
    product of the two vectors, cross-validated over the pairs (``folds``;
    needs scikit-learn). Returns ``{"auc", "pairs", "method"}``.
    """
    pos = np.asarray(positives, dtype=object).reshape(-1, 2)
    neg = np.asarray(negatives, dtype=object).reshape(-1, 2)
    pairs = np.concatenate([pos, neg])
    y = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    a = _rows(emb, [str(x) for x in pairs[:, 0]], "link_prediction")
    b = _rows(emb, [str(x) for x in pairs[:, 1]], "link_prediction")
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    if method == "cosine":
        score = (a * b).sum(axis=1)
    elif method == "hadamard":
        _sklearn("link_prediction(method='hadamard')")
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        X = a * b
        score = np.empty(len(y))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
            clf = LogisticRegression(max_iter=500, solver="liblinear").fit(X[train], y[train])
            score[test] = clf.decision_function(X[test])
    else:
        raise ValueError(f"method must be 'cosine' or 'hadamard', got {method!r}")
    return {"auc": roc_auc(score, y), "pairs": int(len(y)), "method": method}


__all__ = ["node_classification", "link_prediction", "split_edges", "roc_auc"]
