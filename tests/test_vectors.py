"""Embeddings: lookup, similarity queries, exact search, combining two embeddings.

Stores: test_store.py; foreign formats: test_interop.py; fuzzing: test_fuzz.py."""
from __future__ import annotations

import numpy as np
import pytest

from densevec import vectors as vectors_module
from densevec.vectors import Embeddings
from vector_helpers import random_embeddings


def reference_topk(scores: np.ndarray, k: int, largest: bool, exclude=()):
    """Order by score (best first), ties by lower index, excluded ids dropped."""
    out = []
    for row in scores:
        ids = np.arange(len(row))
        order = np.lexsort((ids, -row if largest else row))
        out.append([i for i in order if i not in set(exclude)][:k])
    return np.array(out, dtype=np.int64)


def reference_scores(emb: Embeddings, q: np.ndarray, metric: str) -> np.ndarray:
    v = emb.vectors.astype(np.float64)
    q = q.astype(np.float64)
    if metric == "dot":
        return q @ v.T
    if metric == "l2":
        return ((q[:, None, :] - v[None, :, :]) ** 2).sum(-1)
    vn = np.linalg.norm(v, axis=1, keepdims=True)
    qn = np.linalg.norm(q, axis=1, keepdims=True)
    return (q / np.where(qn > 0, qn, 1)) @ (v / np.where(vn > 0, vn, 1)).T


# ---------------------------------------------------------------- construction
def test_constructor_converts_and_exposes():
    v = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(4, 3))
    emb = Embeddings(v, ["a", "b", "c", "d"], np.array([4, 3, 2, 1]), {"k": 1})
    assert emb.vectors.dtype == np.float32 and emb.vectors.flags.c_contiguous
    assert np.array_equal(emb.vectors, v.astype(np.float32))
    assert len(emb) == 4 and emb.dim == 3
    assert "b" in emb and "z" not in emb
    assert emb.index_to_word == ["a", "b", "c", "d"]
    assert emb.key_to_index == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert emb.get_index("c") == 2
    assert emb.counts.dtype == np.int64 and list(emb.counts) == [4, 3, 2, 1]
    assert {k: v for k, v in emb.meta.items() if k != "space"} == {"k": 1}
    assert emb.meta["space"]["origin"] == "arrays"  # vectors from arrays: a space of their own
    assert np.array_equal(emb["b"], v[1].astype(np.float32))
    assert emb[["d", "a"]].shape == (2, 3)
    assert np.array_equal(emb[["d", "a"]], v[[3, 0]].astype(np.float32))


@pytest.mark.parametrize(
    "vectors, words, exc, match",
    [
        (np.zeros((2, 3)), ["a", "a"], ValueError, "'a'"),
        (np.zeros((2, 3)), ["a"], ValueError, "1 words for 2"),
        (np.zeros(3), ["a", "b", "c"], ValueError, "2-D"),
        (np.zeros((2, 3), dtype=np.int32), ["a", "b"], TypeError, "floating"),
    ],
)
def test_constructor_rejects(vectors, words, exc, match):
    with pytest.raises(exc, match=match):
        Embeddings(vectors, words)


def test_constructor_rejects_bad_counts():
    with pytest.raises(ValueError, match="shape"):
        Embeddings(np.zeros((2, 3)), ["a", "b"], np.array([1]))
    with pytest.raises(ValueError, match="non-negative"):
        Embeddings(np.zeros((2, 3)), ["a", "b"], np.array([1, -1]))


def test_unknown_word_keyerror_names_word():
    emb = random_embeddings()
    for call in (
        lambda: emb["nope"], lambda: emb[["w1", "nope"]], lambda: emb.get_index("nope"),
        lambda: emb.similarity("w1", "nope"), lambda: emb.most_similar("nope"),
        lambda: emb.most_similar("w1", negative=["nope"]), lambda: emb.analogy("w1", "nope", "w2"),
        lambda: emb.search(emb.vectors[:1], exclude=["nope"]),
    ):
        with pytest.raises(KeyError, match="nope"):
            call()


# ---------------------------------------------------------------- normalisation
def test_norms_unit_vectors_and_normalize():
    v = np.array([[3, 4], [0, 0], [-1, 0]], dtype=np.float32)
    emb = Embeddings(v, ["a", "b", "c"], meta={"x": 1})
    assert np.allclose(emb.norms, [5, 0, 1])
    assert np.allclose(emb.unit_vectors, [[0.6, 0.8], [0, 0], [-1, 0]])
    assert emb.unit_vectors.dtype == np.float32
    unit = emb.normalize()
    space = emb.meta["space"]
    assert unit.meta == {"x": 1, "normalized": True, "space": space} and emb.meta == {"x": 1, "space": space}
    assert np.array_equal(unit.vectors, emb.unit_vectors)
    assert unit.vectors is not emb.unit_vectors
    assert np.allclose(np.linalg.norm(unit.vectors, axis=1), [1, 0, 1])


def test_similarity_is_cosine():
    emb = random_embeddings()
    a, b = emb["w3"].astype(np.float64), emb["w5"].astype(np.float64)
    assert emb.similarity("w3", "w5") == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6)
    assert emb.similarity("w3", "w3") == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------- most_similar / analogy
def gender_world():
    """Vectors where man:king::woman:queen holds by construction."""
    male, female, royal, adult, child = np.eye(5, dtype=np.float32)
    words = {
        "man": male + adult, "woman": female + adult, "king": male + royal, "queen": female + royal,
        "boy": male + child, "girl": female + child, "royal": royal, "adult": adult,
    }
    return Embeddings(np.stack(list(words.values())), list(words))


def test_most_similar_known_answers():
    emb = gender_world()
    top = emb.most_similar("king", topn=3)
    assert [w for w, _ in top][:1] in (["queen"], ["man"], ["royal"])
    assert all(w != "king" for w, _ in top)
    assert dict(top)["royal"] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    # gensim semantics: mean of unit vectors of positive minus negative
    assert emb.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert emb.most_similar(positive="king", topn=100)[-1][0] in emb  # topn larger than vocab is fine
    assert len(emb.most_similar("king", topn=100)) == len(emb) - 1
    assert [w for w, _ in emb.most_similar("king", topn=2, restrict_vocab=3)] == ["man", "woman"]


def test_most_similar_scores_match_reference():
    emb = random_embeddings(n=60, dim=9, seed=3)
    got = emb.most_similar(positive=["w1", "w2"], negative=["w7"], topn=8)
    u = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
    q = (u[1] + u[2] - u[7]) / 3
    q /= np.linalg.norm(q)
    scores = u @ q
    ids = reference_topk(scores[None, :], 8, True, exclude=(1, 2, 7))[0]
    assert [w for w, _ in got] == [emb.index_to_word[i] for i in ids]
    assert np.allclose([s for _, s in got], scores[ids], atol=1e-6)


def test_most_similar_accepts_vectors():
    emb = gender_world()
    v = emb["queen"] * 3
    assert emb.most_similar(positive=[v], topn=1)[0][0] == "queen"
    with pytest.raises(ValueError):
        emb.most_similar(positive=[np.ones(3)])
    with pytest.raises(ValueError):
        emb.most_similar()


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogy_known_answers(method):
    emb = gender_world()
    assert emb.analogy("man", "king", "woman", method=method)[0][0] == "queen"
    assert emb.analogy("king", "queen", "boy", method=method)[0][0] == "girl"
    res = emb.analogy("man", "king", "woman", topn=20, method=method)
    assert len(res) == len(emb) - 3
    assert not {"man", "king", "woman"} & {w for w, _ in res}
    with pytest.raises(ValueError):
        emb.analogy("man", "king", "woman", method="bogus")  # type: ignore[arg-type]


def test_analogy_3cosmul_scores_match_formula():
    emb = random_embeddings(n=30, dim=5, seed=4)
    got = emb.analogy("w1", "w2", "w3", topn=5, method="3cosmul")
    u = emb.vectors.astype(np.float64)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    cos = lambda i: (u @ u[i] + 1) / 2  # noqa: E731
    scores = cos(2) * cos(3) / (cos(1) + 1e-3)
    ids = reference_topk(scores[None, :], 5, True, exclude=(1, 2, 3))[0]
    assert [w for w, _ in got] == [emb.index_to_word[i] for i in ids]
    assert np.allclose([s for _, s in got], scores[ids], rtol=1e-4)


def test_most_similar_and_analogy_match_gensim():
    gensim = pytest.importorskip("gensim")
    emb = random_embeddings(n=200, dim=16, seed=5)
    kv = gensim.models.KeyedVectors(16)
    kv.add_vectors(emb.index_to_word, emb.vectors)
    for pos, neg in ((["w3"], []), (["w3", "w9"], ["w11"]), (["w0"], ["w1", "w2"])):
        ours = emb.most_similar(positive=pos, negative=neg, topn=10)
        theirs = kv.most_similar(positive=pos, negative=neg, topn=10)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    ours = emb.most_similar("w4", topn=5, restrict_vocab=50)
    assert [w for w, _ in ours] == [w for w, _ in kv.most_similar("w4", topn=5, restrict_vocab=50)]


# ---------------------------------------------------------------- search
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("dim", [1, 3, 17, 301])
@pytest.mark.parametrize("small_blocks", [False, True])
def test_search_matches_reference(metric, dim, small_blocks, monkeypatch):
    if small_blocks:  # force many row and query blocks, so the running top-k merge is exercised
        monkeypatch.setattr(vectors_module, "_BLOCK_ELEMS", 50)
        monkeypatch.setattr(vectors_module, "_QUERY_BLOCK", 4)
    rng = np.random.default_rng(dim)
    emb = Embeddings(rng.standard_normal((97, dim)).astype(np.float32), [f"w{i}" for i in range(97)])
    q = rng.standard_normal((11, dim)).astype(np.float32)
    exclude = [3, "w10", 50]
    ids, scores = emb.search(q, k=7, metric=metric, exclude=exclude)
    assert ids.shape == scores.shape == (11, 7)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    ref = reference_scores(emb, q, metric)
    larger = metric != "l2"
    expected = reference_topk(ref, 7, larger, exclude=(3, 10, 50))
    # scores: the k best reference values, in order; ids: each id really has its score
    assert np.allclose(scores, np.take_along_axis(ref, expected, 1), rtol=1e-4, atol=1e-4)
    assert np.allclose(scores, np.take_along_axis(ref, ids, 1), rtol=1e-4, atol=1e-4)
    assert not np.isin(ids, [3, 10, 50]).any()
    assert all(len(set(row)) == len(row) for row in ids)
    # away from near-ties the ids are the reference ids
    gap = np.abs(np.diff(np.take_along_axis(ref, expected, 1), axis=1)).min(axis=1)
    clear = gap > 1e-3 * (1 + np.abs(ref).max())
    assert np.array_equal(ids[clear], expected[clear])


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("small_blocks", [False, True])
def test_search_ties_broken_by_lower_index(metric, small_blocks, monkeypatch):
    if small_blocks:
        monkeypatch.setattr(vectors_module, "_BLOCK_ELEMS", 16)
        monkeypatch.setattr(vectors_module, "_QUERY_BLOCK", 2)
    rng = np.random.default_rng(1)
    # every score is computed exactly, and there are many ties: small integers, and
    # for cosine scaled one-hot rows (their unit vectors are exact)
    if metric == "cosine":
        base = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]] * np.float32([[1], [2], [-3], [1], [-1], [5]])
    else:
        base = rng.integers(-2, 3, size=(6, 4)).astype(np.float32)
    v = base[rng.integers(0, 6, size=80)]
    emb = Embeddings(v, [f"w{i}" for i in range(80)])
    q = rng.integers(-2, 3, size=(5, 4)).astype(np.float32)
    ids, scores = emb.search(q, k=12, metric=metric, exclude=[0, 7])
    exact = reference_scores(emb, q, metric)
    assert np.array_equal(ids, reference_topk(exact, 12, metric != "l2", exclude=(0, 7)))


def test_search_shapes_and_edge_cases():
    emb = random_embeddings(n=10, dim=4)
    ids, scores = emb.search(emb.vectors[2], k=3)
    assert ids.shape == scores.shape == (3,)
    assert ids[0] == 2 and scores[0] == pytest.approx(1.0, abs=1e-6)
    ids, scores = emb.search(emb.vectors[:2], k=50, exclude=["w0"])
    assert ids.shape == (2, 9)
    ids, scores = emb.search(np.zeros((0, 4)), k=3)
    assert ids.shape == (0, 3)
    ids, _ = emb.search(emb.vectors[:2], k=0)
    assert ids.shape == (2, 0)
    ids, scores = emb.search(emb.vectors[5], k=1, metric="l2")
    assert ids[0] == 5 and scores[0] == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError):
        emb.search(np.zeros((2, 5)))
    with pytest.raises(ValueError):
        emb.search(np.zeros(4), metric="hamming")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        emb.search(np.zeros(4), exclude=[10])


# ---------------------------------------------------------------- one embedding space
def fingerprinted(space, n=30, seed=1):
    return random_embeddings(n=n, dim=6, seed=seed, meta={"space": None if space is None else {"id": space}})


def test_search_with_queries_from_another_embeddings():
    emb = fingerprinted("aaa")
    same = fingerprinted("aaa", n=5, seed=2)
    for got, want in zip(emb.search(same, k=3), emb.search(same.vectors, k=3)):
        assert np.array_equal(got, want)
    half = same.quantize("float16")  # quantised queries are searched as float32
    for got, want in zip(emb.search(half, k=3), emb.search(half.vectors.astype(np.float32), k=3)):
        assert np.array_equal(got, want)
    other = fingerprinted("bbb", n=5, seed=3)
    with pytest.raises(ValueError, match="allow_mixed") as info:
        emb.search(other, k=3)
    assert "'aaa'" in str(info.value) and "'bbb'" in str(info.value)
    for got, want in zip(emb.search(other, k=3, allow_mixed=True), emb.search(other.vectors, k=3)):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("a, b, refused", [
    ("aaa", "aaa", False), (None, None, "no embedding-space identity"), ("aaa", "bbb", "different embedding spaces"),
    ("aaa", None, "no embedding-space identity"), (None, "bbb", "no embedding-space identity"),
])
def test_a_missing_space_is_refused(a, b, refused):
    left, right = fingerprinted(a), fingerprinted(b, n=4, seed=5)
    if refused:
        with pytest.raises(ValueError, match=refused):
            left.search(right)
        assert left.search(right, allow_mixed=True)[0].shape == (4, 10)
    else:
        assert left.search(right)[0].shape == (4, 10)


def test_rescore_with_other_corpus_refused(tmp_path):
    emb = fingerprinted("aaa", n=60)
    stored = Embeddings.load(emb.quantize("int8").save(tmp_path / "q.dv"))  # no float32 source attached
    q = emb.vectors[:4]
    want = stored.search(q, k=5, rescore=20, rescore_with=emb)
    relabelled = Embeddings(emb.vectors, emb.index_to_word, meta={"space": {"id": "bbb"}})
    with pytest.raises(ValueError, match="rescore_with.*allow_mixed"):
        stored.search(q, k=5, rescore=20, rescore_with=relabelled)
    got = stored.search(q, k=5, rescore=20, rescore_with=relabelled, allow_mixed=True)
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
