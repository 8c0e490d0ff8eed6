"""Document evaluation: classification under cross-validation and kNN retrieval.

Imported by :mod:`densevec.evaluate` as :func:`densevec.evaluate.documents`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence, Union

import numpy as np

from densevec._validate import check_int
from densevec.vectors import Embeddings


@dataclass
class DocumentReport:
    """Scores of document vectors against labels.

    Attributes
    ----------
    accuracy : float
        Mean accuracy over the cross-validation folds.
    fold_accuracies : list of float
    classifier : str
        ``"logistic_regression"`` (scikit-learn's lbfgs, L2, C=1, at most 200
        iterations, one BLAS thread, on unit vectors standardised on the
        training fold) or ``"nearest_centroid"``
        (cosine to the class means of the training fold; numpy only).
    retrieval : float
        For each document, the share of its ``k`` nearest other documents
        (cosine) with its label, averaged over documents.
    k, folds, n_docs, n_labels : int
    chance : float
        The share of the most frequent label (what always guessing it scores).
    """

    accuracy: float
    fold_accuracies: list
    classifier: str
    retrieval: float
    k: int
    folds: int
    n_docs: int
    n_labels: int
    chance: float

    def as_dict(self) -> dict:
        return asdict(self)


_LR_MAX_ITER = 200


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def _nearest_centroid(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, n_labels: int) -> np.ndarray:
    cent = np.zeros((n_labels, xtr.shape[1]))
    np.add.at(cent, ytr, xtr)
    return np.argmax(xte @ _unit(cent).T, axis=1)


def _logistic(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, seed: int) -> np.ndarray:
    import contextlib
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    try:  # one BLAS thread: on a busy machine, BLAS threads spinning against each other cost 100x
        from threadpoolctl import threadpool_limits
        limit: Any = threadpool_limits(1)
    except ImportError:
        limit = contextlib.nullcontext()
    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std[std == 0] = 1.0  # features standardised on the training fold
    clf = LogisticRegression(max_iter=_LR_MAX_ITER, random_state=seed)
    with limit, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a capped solve is the documented setting
        clf.fit((xtr - mean) / std, ytr)
        return clf.predict((xte - mean) / std)


def documents(
    vectors: Union[Embeddings, np.ndarray],
    labels: Union[Sequence[Any], dict],
    folds: int = 5,
    k: int = 10,
    classifier: str = "auto",
    seed: int = 0,
    max_queries: int = 20000,
) -> DocumentReport:
    """Score document vectors against labels.

    Parameters
    ----------
    vectors : Embeddings or array (n_docs, dim)
        Document vectors; with Embeddings and a dict of labels, only the tags
        present in both are scored.
    labels : sequence (one per row) or dict tag -> label
    folds : int
        Stratification-free, seeded random split into this many folds.
    k : int
        Neighbours for retrieval.
    classifier : {"auto", "logistic", "centroid"}
        ``"auto"``: logistic regression when scikit-learn is installed, else
        nearest-centroid. The one used is named in the report.
    seed : int
    max_queries : int
        Retrieval is averaged over at most this many documents (a seeded
        sample; neighbours are searched among all of them).

    Returns
    -------
    DocumentReport
    """
    folds = check_int("folds", folds, 2)
    k = check_int("k", k, 1)
    max_queries = check_int("max_queries", max_queries, 1)
    if isinstance(vectors, Embeddings):
        if isinstance(labels, dict):
            keys = [w for w in vectors.index_to_word if w in labels]
            x = vectors[keys] if keys else np.zeros((0, vectors.dim))
            y_raw = [labels[w] for w in keys]
        else:
            x, y_raw = np.asarray(vectors.vectors), list(labels)
    else:
        if isinstance(labels, dict):
            raise TypeError("labels as a dict need vectors as Embeddings (keyed by tag)")
        x, y_raw = np.asarray(vectors), list(labels)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {x.shape}")
    if len(y_raw) != x.shape[0]:
        raise ValueError(f"{x.shape[0]} vectors but {len(y_raw)} labels")
    if x.shape[0] < folds:
        raise ValueError(f"need at least folds={folds} labelled documents, got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("vectors hold NaN or infinite values")
    names, y = np.unique(np.asarray([str(v) for v in y_raw]), return_inverse=True)
    if len(names) < 2:
        raise ValueError("need at least 2 distinct labels")
    if classifier == "auto":
        try:
            import sklearn  # noqa: F401
            classifier = "logistic"
        except ImportError:
            classifier = "centroid"
    if classifier not in ("logistic", "centroid"):
        raise ValueError(f"classifier must be 'auto', 'logistic' or 'centroid', got {classifier!r}")
    xu = _unit(x)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(x.shape[0]) % folds
    accs = []
    for f in range(folds):
        tr, te = fold_of != f, fold_of == f
        if classifier == "logistic":
            pred = _logistic(xu[tr], y[tr], xu[te], seed)
        else:
            pred = _nearest_centroid(xu[tr], y[tr], xu[te], len(names))
        accs.append(float(np.mean(pred == y[te])))
    n = x.shape[0]
    kk = min(k, n - 1)
    queries = rng.choice(n, size=min(n, max_queries), replace=False)
    shares = []
    for start in range(0, len(queries), 1024):
        q = queries[start:start + 1024]
        sim = xu[q] @ xu.T
        sim[np.arange(len(q)), q] = -np.inf
        nn = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
        shares.append(np.mean(y[nn] == y[q][:, None], axis=1))
    retrieval = float(np.mean(np.concatenate(shares)))
    chance = float(np.bincount(y).max() / n)
    return DocumentReport(float(np.mean(accs)), accs, "logistic_regression" if classifier == "logistic"
                          else "nearest_centroid", retrieval, kk, folds, n, len(names), chance)
