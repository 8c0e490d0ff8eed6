"""Retrieval evaluation: rank candidates for queries by exact cosine search.

:func:`retrieval` (also ``densevec.evaluate.retrieval``) encodes queries and
candidates with any encoder -- an :class:`~densevec.Embeddings` (mean pooling),
a :class:`~densevec.encode.TextEncoder`, or any callable from a list of texts to
an ``(n, dim)`` array, so other models are scored the same way -- ranks every
candidate for every query by cosine similarity (all of them: exact search, in
blocks of queries), and reports, averaged over queries, with ``R`` the
relevant candidates of a query:

* ``recall@k``: the fraction of ``R`` among the first ``k`` candidates;
* ``hits@k``: 1 when any of ``R`` is among the first ``k``, else 0;
* ``mrr``: ``1 / rank`` of the best-ranked relevant candidate (full ranking);
* ``ndcg@10``: binary-relevance nDCG, ``sum over ranks r <= 10 of rel_r / log2(r + 1)``
  divided by its ideal value ``sum over r <= min(|R|, 10) of 1 / log2(r + 1)``.

Ranking: higher cosine first; equal scores in candidate order (lower index
first). A zero vector (a text with no known token) has cosine 0 with everything.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

_BLOCK_ELEMS = 1 << 22

Encoder = Union[Any, Callable[[list], np.ndarray]]


@dataclass
class RetrievalReport:
    """Result of :func:`retrieval`; metrics are means over queries."""

    recall: dict[int, float]
    hits: dict[int, float]
    mrr: float
    ndcg_at_10: float
    n_queries: int
    n_candidates: int
    encode_seconds: float = 0.0
    ranks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def as_dict(self) -> dict:
        """Flat JSON-serialisable summary (``recall@1``, ..., ``mrr``, ``ndcg@10``)."""
        out: dict = {f"recall@{k}": v for k, v in self.recall.items()}
        out.update({f"hits@{k}": v for k, v in self.hits.items()})
        out.update(mrr=self.mrr, **{"ndcg@10": self.ndcg_at_10}, n_queries=self.n_queries,
                   n_candidates=self.n_candidates)
        return out


def _encode(encoder: Encoder, texts: Any, what: str) -> np.ndarray:
    from densevec.encode import TextEncoder
    from densevec.vectors import Embeddings

    if encoder is None:
        x = np.asarray(texts)
    elif isinstance(encoder, (Embeddings, TextEncoder)):
        x = encoder.encode(list(texts))
    elif callable(encoder):
        x = np.asarray(encoder(list(texts)))
    else:
        raise TypeError(f"encoder must be Embeddings, a TextEncoder, a callable or None, got {type(encoder).__name__}")
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{what}: the encoder must give a 2-D numeric array, got shape {x.shape} {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: the encoded vectors hold NaN or infinite values")
    return x.astype(np.float32, copy=False)


def _relevant_sets(relevant: Sequence[Any], n_queries: int, n_candidates: int) -> list[np.ndarray]:
    if len(relevant) != n_queries:
        raise ValueError(f"relevant: {len(relevant)} entries for {n_queries} queries")
    out = []
    for i, r in enumerate(relevant):
        arr = np.unique(np.atleast_1d(np.asarray(r)))
        if arr.size == 0:
            raise ValueError(f"relevant[{i}]: query {i} has no relevant candidate")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"relevant[{i}] must hold candidate indices (integers), got {arr.dtype}")
        if arr[0] < 0 or arr[-1] >= n_candidates:
            raise ValueError(f"relevant[{i}]: candidate index out of range [0, {n_candidates})")
        out.append(arr.astype(np.int64))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def retrieval(queries: Any, candidates: Any, relevant: Sequence[Union[int, Sequence[int]]],
              encoder: Encoder = None, ks: Sequence[int] = (1, 5, 10)) -> RetrievalReport:
    """Score an encoder on a retrieval task (see the module docstring).

    Parameters
    ----------
    queries, candidates : list of texts, or arrays (n, dim) with ``encoder=None``
    relevant : sequence, one entry per query
        The index (or indices) into ``candidates`` of the query's relevant
        candidate(s); at least one each.
    encoder : Embeddings, TextEncoder, callable or None
        Applied to ``queries`` and to ``candidates`` (a list of texts each);
        None: both are already vectors.
    ks : sequence of int
        Cut-offs of ``recall@k`` and ``hits@k``.

    Returns
    -------
    RetrievalReport
        ``ranks`` holds, per query, the rank (1-based) of its best relevant candidate.
    """
    t0 = time.perf_counter()
    q = _encode(encoder, queries, "queries")
    c = _encode(encoder, candidates, "candidates")
    seconds = time.perf_counter() - t0
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have dim {q.shape[1]}, candidates {c.shape[1]}")
    n_q, n_c = q.shape[0], c.shape[0]
    if n_c == 0:
        raise ValueError("no candidates")
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    rel = _relevant_sets(relevant, n_q, n_c)
    q, c = _unit(q), _unit(c)
    top = max(ks + [10])
    recall = {k: 0.0 for k in ks}
    hits = {k: 0.0 for k in ks}
    ranks = np.zeros(n_q, dtype=np.int64)
    ndcg = 0.0
    discount = 1.0 / np.log2(np.arange(2, top + 2))
    block = max(1, _BLOCK_ELEMS // n_c)
    for b0 in range(0, n_q, block):
        scores = q[b0:b0 + block] @ c.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
        for i in range(scores.shape[0]):
            r = rel[b0 + i]
            s = scores[i]
            # rank of each relevant candidate: better scores, then equal scores at lower indices
            rank = np.array([int((s > s[j]).sum()) + int((s[:j] == s[j]).sum()) + 1 for j in r])
            ranks[b0 + i] = rank.min()
            in_top = np.isin(order[i], r)
            for k in ks:
                found = int(in_top[:k].sum())
                recall[k] += found / r.size
                hits[k] += float(found > 0)
            ideal = discount[:min(r.size, 10)].sum()
            ndcg += float((in_top[:10] * discount[:in_top[:10].size]).sum() / ideal)
    n = max(n_q, 1)
    return RetrievalReport(
        recall={k: v / n for k, v in recall.items()}, hits={k: v / n for k, v in hits.items()},
        mrr=float((1.0 / ranks).mean()) if n_q else 0.0, ndcg_at_10=ndcg / n, n_queries=n_q,
        n_candidates=n_c, encode_seconds=seconds, ranks=ranks)
