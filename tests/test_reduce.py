"""reduce.pca and its distortion report on planted low-rank structure; center / normalize."""
from __future__ import annotations

import json

import numpy as np
import pytest

from densevec import reduce
from densevec.vectors import Embeddings


def low_rank(n=600, dim=40, rank=5, noise=1e-3, seed=0):
    """Zero-mean vectors on a `rank`-dimensional subspace plus a little noise."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 1.0, rank)
    z = rng.standard_normal((n, rank)) * scales
    basis, _ = np.linalg.qr(rng.standard_normal((dim, rank)))
    x = z @ basis.T + noise * rng.standard_normal((n, dim))
    x -= x.mean(axis=0)
    return Embeddings(x.astype(np.float32), [f"w{i}" for i in range(n)], meta={"algorithm": "planted"})


@pytest.mark.parametrize("solver", ["full", "randomized"])
def test_pca_to_true_rank_keeps_neighbourhoods(solver):
    emb = low_rank()
    small, report = reduce.pca(emb, 5, sample=300, svd_solver=solver)
    assert small.dim == 5 and small.index_to_word == emb.index_to_word
    assert report.explained_variance_ratio == pytest.approx(1.0, abs=1e-4)
    assert report.neighbor_overlap > 0.97
    assert report.spearman > 0.999
    assert report.sample_words == 300 and report.k == 10
    pca_meta = small.meta["pca"]
    assert small.meta["reduced_from"]["algorithm"] == "planted" and small.meta["reduced_from"]["dim"] == 40
    assert len(pca_meta["mean"]) == 40 and len(pca_meta["explained_variance_ratio"]) == 5
    assert pca_meta["explained_variance_ratio"] == sorted(pca_meta["explained_variance_ratio"], reverse=True)
    json.dumps(small.meta, allow_nan=False)  # storable


def test_solvers_agree_and_match_numpy():
    emb = low_rank(rank=8, noise=0.05)
    full, _ = reduce.pca(emb, 3, svd_solver="full", sample=50)
    rand, _ = reduce.pca(emb, 3, svd_solver="randomized", sample=50)
    np.testing.assert_allclose(full.vectors, rand.vectors, atol=1e-3)
    x = emb.vectors.astype(np.float64) - emb.vectors.mean(axis=0)
    eigvals = np.sort(np.linalg.eigvalsh(np.cov(x.T)))[::-1]
    np.testing.assert_allclose(full.meta["pca"]["explained_variance"], eigvals[:3], rtol=1e-4)
    np.testing.assert_allclose(np.var(full.vectors, axis=0, ddof=1), eigvals[:3], rtol=1e-3)


def test_lower_rank_moves_neighbours():
    emb = low_rank(rank=10, noise=0.01)
    _, exact = reduce.pca(emb, 10, sample=200)
    _, squeezed = reduce.pca(emb, 2, sample=200)
    assert exact.neighbor_overlap > 0.9
    assert squeezed.neighbor_overlap < exact.neighbor_overlap - 0.3
    assert squeezed.explained_variance_ratio < 0.8
    assert squeezed.spearman < exact.spearman
    text = str(squeezed)
    assert "PCA 40 -> 2 dims" in text and "neighbour overlap" in text


def test_whiten_gives_unit_variance():
    small, report = reduce.pca(low_rank(), 3, whiten=True, sample=20)
    np.testing.assert_allclose(np.var(small.vectors, axis=0, ddof=1), 1.0, rtol=1e-3)
    assert report.whiten and small.meta["pca"]["whiten"]


def test_deterministic_signs_and_samples():
    emb = low_rank(noise=0.05)
    a, ra = reduce.pca(emb, 4, seed=7, sample=100)
    b, rb = reduce.pca(emb, 4, seed=7, sample=100)
    assert np.array_equal(a.vectors, b.vectors) and ra.to_dict() == rb.to_dict()


def test_analogy_before_after(tmp_path):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((12, 30))
    offset = rng.standard_normal(30) * 2
    words, vecs = [], []
    for i, x in enumerate(base):
        words += [f"a{i}", f"b{i}"]
        vecs += [x, x + offset]
    emb = Embeddings(np.array(vecs, dtype=np.float32), words)
    path = tmp_path / "q.txt"
    path.write_text(": rel\n" + "\n".join(f"a{i} b{i} a{j} b{j}" for i in range(6) for j in range(6) if i != j)
                    + "\n", encoding="utf-8")
    _, report = reduce.pca(emb, 12, analogies=path, sample=24)
    assert report.analogy_before == 1.0 and report.analogy_questions == 30
    assert report.analogy_after is not None and report.analogy_change == report.analogy_after - 1.0
    assert "analogy accuracy" in str(report)
    assert report.to_dict()["analogy_before"] == 1.0


@pytest.mark.parametrize("bad", [0, -1, 41, 2.5, True, "3"])
def test_bad_n_components(bad):
    with pytest.raises(ValueError, match="n_components"):
        reduce.pca(low_rank(n=50), bad)


def test_more_components_than_words():
    emb = low_rank(n=5)
    with pytest.raises(ValueError, match=r"\[1, 5\]"):
        reduce.pca(emb, 6)
    small, _ = reduce.pca(emb, 5)
    assert small.dim == 5


def test_bad_solver_and_sample():
    with pytest.raises(ValueError, match="svd_solver"):
        reduce.pca(low_rank(n=20), 2, svd_solver="arpack")
    with pytest.raises(ValueError, match="sample"):
        reduce.pca(low_rank(n=20), 2, sample=0)


def test_center_and_normalize():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 6)).astype(np.float32) + 5.0
    emb = Embeddings(x, [f"w{i}" for i in range(50)], meta={"normalized": True})
    c = reduce.center(emb)
    np.testing.assert_allclose(c.vectors.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(c.vectors[1] - c.vectors[0], x[1] - x[0], atol=1e-5)  # offsets kept
    assert c.meta["centered"] and not c.meta["normalized"]
    n = reduce.normalize(c)
    np.testing.assert_allclose(np.linalg.norm(n.vectors, axis=1), 1, atol=1e-5)
    assert n.meta["normalized"]
    np.testing.assert_allclose(n.unit_vectors, c.unit_vectors, atol=1e-6)  # cosine geometry unchanged


def test_distortion_refuses_other_space_and_pca_makes_a_child_space():
    emb = low_rank(n=100, dim=10)
    emb = Embeddings(emb.vectors, emb.index_to_word, meta={"corpus_fingerprint": "aaa", "space": {"id": "s1"}})
    small, _ = reduce.pca(emb, 3, sample=50)
    assert small.meta["corpus_fingerprint"] == "aaa"
    assert small.meta["space"]["parent"] == "s1" and small.meta["space"]["id"] != "s1"
    assert small.meta["space"]["origin"] == "pca"
    assert reduce.distortion(emb, small, sample=50).n_components == 3
    other = Embeddings(small.vectors, small.index_to_word, meta={"space": {"id": "bbb"}})
    with pytest.raises(ValueError, match="distortion.*allow_mixed"):
        reduce.distortion(emb, other, sample=50)
    assert reduce.distortion(emb, other, sample=50, allow_mixed=True).n_components == 3
