"""Node classification and link prediction on planted data, with negative controls."""
from __future__ import annotations

import numpy as np
import pytest

import densevec as dv
from densevec import evaluate
from densevec.graph import Graph


def planted(n=300, k=3, dim=16, spread=0.6, seed=0):
    """Vectors around k class means, and a graph whose edges stay within a class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    means = rng.normal(size=(k, dim))
    X = (means[labels] + spread * rng.normal(size=(n, dim))).astype(np.float32)
    names = [f"v{i}" for i in range(n)]
    src, dst = [], []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        for _ in range(4 * len(members)):
            a, b = rng.choice(members, 2, replace=False)
            src.append(a)
            dst.append(b)
    graph = Graph.from_arrays(np.array(src), np.array(dst), names)
    return dv.Embeddings(X, names), {nm: f"class{c}" for nm, c in zip(names, labels)}, graph


def test_roc_auc_matches_pairwise_definition():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 5, 200).astype(float)  # many ties
    y = rng.random(200) < 0.3
    pos, neg = s[y], s[~y]
    ref = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    assert evaluate.roc_auc(s, y) == pytest.approx(ref)
    assert evaluate.roc_auc([0.1, 0.9], [False, True]) == 1.0
    assert np.isnan(evaluate.roc_auc([1, 2], [True, True]))


def test_node_classification_planted_and_shuffled_control():
    pytest.importorskip("sklearn")
    emb, labels, _ = planted()
    r = evaluate.node_classification(emb, labels, folds=3)
    assert r["classes"] == 3 and r["nodes"] == 300
    assert r["micro_f1"] > 0.9 and r["macro_f1"] > 0.9 and r["auroc"] > 0.95
    rng = np.random.default_rng(5)
    shuffled = dict(zip(labels, rng.permutation(list(labels.values()))), v0="rare")
    c = evaluate.node_classification(emb, shuffled, folds=3)
    assert c["micro_f1"] < 0.5 and c["auroc"] < 0.65
    assert c["dropped_classes"] == 1 and c["nodes"] == 299
    two = {n: lab for n, lab in labels.items() if lab != "class2"}   # binary: one decision column
    b = evaluate.node_classification(emb, two, folds=3)
    assert b["classes"] == 2 and b["micro_f1"] > 0.9 and b["auroc"] > 0.95
    with pytest.raises(KeyError, match="no vector"):
        evaluate.node_classification(emb, dict(labels, ghost="class0"), folds=3)


@pytest.mark.parametrize("method", ["cosine", "hadamard"])
def test_link_prediction_planted_and_random_control(method):
    if method == "hadamard":
        pytest.importorskip("sklearn")
    emb, _, graph = planted()
    train, pos, neg = evaluate.split_edges(graph, fraction=0.2, seed=3)
    assert len(pos) == len(neg) > 0.15 * graph.n_edges
    assert train.n_edges == graph.n_edges - len(pos)
    assert train.names == graph.names and (train.degree() >= 1).all()
    for a, b in pos:
        assert b not in train.neighbors(a) and b in graph.neighbors(a)
    for a, b in neg:
        assert b not in graph.neighbors(a) and a != b
    r = evaluate.link_prediction(emb, pos, neg, method=method)
    assert r["auc"] > 0.75  # a third of the non-edges are same-class pairs: at most ~0.83
    noise = dv.Embeddings(np.random.default_rng(0).normal(size=(len(emb), 16)).astype(np.float32),
                          graph.names)
    assert abs(evaluate.link_prediction(noise, pos, neg, method=method)["auc"] - 0.5) < 0.1
    with pytest.raises(ValueError, match="method must be"):
        evaluate.link_prediction(emb, pos, neg, method="dot")
