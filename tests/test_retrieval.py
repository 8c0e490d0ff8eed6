"""evaluate.retrieval: recall@k, MRR and nDCG@10 against a direct numpy computation."""
from __future__ import annotations

import numpy as np
import pytest

import densevec as dv
from densevec import evaluate


def direct(q: np.ndarray, c: np.ndarray, rel: list) -> dict:
    """Full ranking per query with argsort, metrics from their definitions."""
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    cn = c / np.linalg.norm(c, axis=1, keepdims=True)
    out = {"recall@1": [], "recall@5": [], "recall@10": [], "hits@10": [], "mrr": [], "ndcg@10": []}
    for i in range(len(q)):
        s = cn @ qn[i].astype(np.float64)
        order = list(np.argsort(-s, kind="stable"))
        r = set(int(x) for x in np.atleast_1d(rel[i]))
        positions = sorted(order.index(j) + 1 for j in r)
        for k in (1, 5, 10):
            out[f"recall@{k}"].append(sum(p <= k for p in positions) / len(r))
        out["hits@10"].append(float(positions[0] <= 10))
        out["mrr"].append(1 / positions[0])
        dcg = sum(1 / np.log2(p + 1) for p in positions if p <= 10)
        idcg = sum(1 / np.log2(p + 1) for p in range(1, min(len(r), 10) + 1))
        out["ndcg@10"].append(dcg / idcg)
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_metrics_equal_direct_numpy_on_random_data():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((120, 8)).astype(np.float32)
    c = rng.standard_normal((300, 8)).astype(np.float32)
    rel = [rng.choice(300, size=int(rng.integers(1, 4)), replace=False) for _ in range(119)] + [7]
    got = evaluate.retrieval(q, c, rel).as_dict()
    want = direct(q, c, rel)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
    # a real signal: queries near their relevant candidate score far above chance
    near = c[[int(np.atleast_1d(r)[0]) for r in rel]] + 0.05 * rng.standard_normal((120, 8)).astype(np.float32)
    rep = evaluate.retrieval(near, c, rel)
    assert rep.hits[1] > 0.9 and rep.mrr > 0.9
    assert evaluate.retrieval(q, c, rel).mrr < 0.2
    # fewer candidates than the cut-offs
    few = [int(np.atleast_1d(r)[0]) % 4 for r in rel]
    got = evaluate.retrieval(q, c[:4], few).as_dict()
    for key, value in direct(q, c[:4], few).items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_encoders_texts_and_callables_score_the_same():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(40)]
    emb = dv.Embeddings(rng.standard_normal((40, 6)).astype(np.float32), words)
    queries = [" ".join(rng.choice(words, 3)) for _ in range(30)]
    candidates = [" ".join(rng.choice(words, 4)) for _ in range(50)]
    rel = [int(i) for i in rng.integers(0, 50, 30)]
    a = evaluate.retrieval(queries, candidates, rel, encoder=emb)
    b = evaluate.retrieval(queries, candidates, rel, encoder=lambda t: emb.encode(t))
    c = evaluate.retrieval(emb.encode(queries), emb.encode(candidates), rel)
    assert a.as_dict() == b.as_dict() == c.as_dict()


def test_bad_input():
    q = np.ones((2, 3), np.float32)
    c = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="2 queries"):
        evaluate.retrieval(q, c, [0])
    with pytest.raises(ValueError, match=r"relevant\[1\]: candidate index out of range"):
        evaluate.retrieval(q, c, [0, 3])
    with pytest.raises(ValueError, match=r"relevant\[0\]: query 0 has no relevant"):
        evaluate.retrieval(q, c, [[], 1])
    with pytest.raises(ValueError, match="dim"):
        evaluate.retrieval(q, np.eye(4, dtype=np.float32), [0, 1])
    with pytest.raises(TypeError, match="encoder must be"):
        evaluate.retrieval(["a"], ["b"], [0], encoder=3)
