"""Embeddings: lookup, similarity queries, exact search, stores and word2vec files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from densevec import vectors as vectors_module
from densevec.vectors import Embeddings

UNICODE_WORDS = ["naïve", "日本", "straße", "🙂", "a\u00a0b", "Zürich", "x"]


def random_embeddings(n=40, dim=7, seed=0, words=None, counts=True):
    rng = np.random.default_rng(seed)
    words = words or [f"w{i}" for i in range(n)]
    c = rng.integers(0, 1000, size=len(words)) if counts else None
    return Embeddings(rng.standard_normal((len(words), dim)).astype(np.float32), words, c, {"seed": seed})


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
    assert emb.meta == {"k": 1}
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
    assert unit.meta == {"x": 1, "normalized": True} and emb.meta == {"x": 1}
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


# ---------------------------------------------------------------- store
def assert_same(a: Embeddings, b: Embeddings):
    assert a.index_to_word == b.index_to_word
    assert np.array_equal(a.vectors.view(np.uint32), b.vectors.view(np.uint32))
    if a.counts is None:
        assert b.counts is None
    else:
        assert np.array_equal(a.counts, b.counts)


def special_embeddings():
    v = np.random.default_rng(2).standard_normal((len(UNICODE_WORDS), 5)).astype(np.float32)
    v[0, :4] = [np.nan, np.inf, -0.0, 1e-45]
    return Embeddings(v, UNICODE_WORDS, np.arange(len(UNICODE_WORDS)) * 7, {"algo": "test", "nested": {"a": [1, 2]}})


@pytest.mark.parametrize("mmap", [True, False])
def test_store_round_trip_bit_exact(tmp_path, mmap):
    emb = special_embeddings()
    path = emb.save(tmp_path / "model.dv")
    assert sorted(os.listdir(path)) == ["meta.json", "vectors.npy", "vocab.txt"]
    assert os.listdir(tmp_path) == ["model.dv"]
    back = Embeddings.load(path, mmap=mmap)
    assert_same(emb, back)
    assert back.meta == emb.meta
    assert back.vectors.flags.writeable is not mmap
    assert np.load(path / "vectors.npy", mmap_mode="r").shape == (len(emb), 5)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    assert meta["format"] == "densevec-store" and meta["format_version"] == 1
    assert (meta["dim"], meta["count"], meta["dtype"], meta["normalized"]) == (5, len(emb), "float32", False)
    assert (path / "vocab.txt").read_text(encoding="utf-8").splitlines()[1] == "日本\t7"


def test_store_without_counts_and_normalized(tmp_path):
    emb = Embeddings(np.eye(3, dtype=np.float32), ["a", "b", "c"]).normalize()
    back = Embeddings.load(emb.save(tmp_path / "m.dv"))
    assert back.counts is None and back.meta == {"normalized": True}
    assert json.loads((tmp_path / "m.dv" / "meta.json").read_text())["normalized"] is True
    empty = Embeddings(np.zeros((0, 4), np.float32), [])
    assert len(Embeddings.load(empty.save(tmp_path / "e.dv"))) == 0


def test_store_replaces_existing_store_only(tmp_path):
    path = tmp_path / "m.dv"
    random_embeddings(seed=1).save(path)
    old = Embeddings.load(path)  # still mapped while being replaced
    new = random_embeddings(seed=2)
    new.save(path)
    assert_same(new, Embeddings.load(path))
    assert np.isfinite(old.vectors).all()
    assert os.listdir(tmp_path) == ["m.dv"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        new.save(other)
    assert os.listdir(other) == ["keep.txt"]
    assert os.listdir(tmp_path) == sorted(["m.dv", "other"]) or set(os.listdir(tmp_path)) == {"m.dv", "other"}


def test_store_rejects_unstorable_words(tmp_path):
    with pytest.raises(ValueError, match="tab"):
        Embeddings(np.zeros((1, 2)), ["a\tb"]).save(tmp_path / "x.dv")
    with pytest.raises(TypeError):
        Embeddings(np.zeros((1, 2)), ["a"], meta={"f": object()}).save(tmp_path / "y.dv")
    assert os.listdir(tmp_path) == []


def _rewrite_meta(path, **changes):
    meta = json.loads((path / "meta.json").read_text())
    meta.update(changes)
    (path / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "corrupt, fname",
    [
        (lambda p: _rewrite_meta(p, format="other"), "meta.json"),
        (lambda p: _rewrite_meta(p, format_version=2), "meta.json"),
        (lambda p: _rewrite_meta(p, count=41), "vocab.txt"),
        (lambda p: _rewrite_meta(p, dim=8), "vectors.npy"),
        (lambda p: _rewrite_meta(p, dtype="float16"), "meta.json"),
        (lambda p: _rewrite_meta(p, count=True), "meta.json"),
        (lambda p: (p / "meta.json").write_text("{not json"), "meta.json"),
        (lambda p: (p / "meta.json").unlink(), "meta.json"),
        (lambda p: (p / "vocab.txt").unlink(), "vocab.txt"),
        (lambda p: (p / "vectors.npy").unlink(), "vectors.npy"),
        (lambda p: (p / "vocab.txt").write_text("a\t1\n" * 40), "vocab.txt"),  # duplicates
        (lambda p: (p / "vocab.txt").write_bytes((p / "vocab.txt").read_bytes()[:-1]), "vocab.txt"),
        (lambda p: (p / "vocab.txt").write_bytes(b"w\t\xff\n" * 40), "vocab.txt"),
        (lambda p: (p / "vocab.txt").write_text("".join(f"w{i}\tx\n" for i in range(40))), "vocab.txt"),
        (lambda p: (p / "vectors.npy").write_bytes((p / "vectors.npy").read_bytes()[:-4]), "vectors.npy"),
        (lambda p: (p / "vectors.npy").write_bytes((p / "vectors.npy").read_bytes() + b"x"), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((40, 7))), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((7, 40), np.float32).T), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((39, 7), np.float32)), "vectors.npy"),
        (lambda p: (p / "vectors.npy").write_bytes(b"garbage"), "vectors.npy"),
    ],
)
def test_store_corruption_raises_valueerror_naming_file(tmp_path, corrupt, fname):
    path = random_embeddings(n=40, dim=7).save(tmp_path / "m.dv")
    corrupt(path)
    with pytest.raises(ValueError, match=fname):
        Embeddings.load(path)


def test_store_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        Embeddings.load(tmp_path / "nothing.dv")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError):
        Embeddings.load(tmp_path / "file")


# ---------------------------------------------------------------- word2vec format
@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_round_trip_bit_exact(tmp_path, binary):
    v = np.random.default_rng(7).standard_normal((len(UNICODE_WORDS), 13)).astype(np.float32) * 1e3
    v[0, :5] = [np.inf, -0.0, 1e-45, -3.4028235e38, 1e-30]
    if binary:
        v[1, 0] = np.nan
    emb = Embeddings(v, UNICODE_WORDS)
    path = emb.save_word2vec_format(tmp_path / "v.bin", binary=binary)
    assert os.listdir(tmp_path) == ["v.bin"]
    assert path.read_bytes().startswith(f"{len(emb)} 13\n".encode())
    back = Embeddings.load_word2vec_format(path, binary=binary)
    assert back.index_to_word == emb.index_to_word
    assert np.array_equal(back.vectors.view(np.uint32), v.view(np.uint32))


def test_word2vec_binary_layout(tmp_path):
    emb = Embeddings(np.array([[1.5, -2.0]], np.float32), ["é"])
    data = emb.save_word2vec_format(tmp_path / "v.bin", binary=True).read_bytes()
    assert data == b"1 2\n" + "é".encode() + b" " + np.array([1.5, -2.0], "<f4").tobytes() + b"\n"
    text = emb.save_word2vec_format(tmp_path / "v.txt").read_text(encoding="utf-8")
    assert text == "1 2\né 1.5 -2.0\n"


def test_word2vec_rejects_unwritable_words(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        Embeddings(np.zeros((1, 2)), ["a b"]).save_word2vec_format(tmp_path / "v.txt")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "content, match",
    [
        (b"2 3\na 1 2 3\nb 1.5 2.5\n", "line 3.*found 3 fields"),
        (b"2 3\na 1 2 3\nb 1 2 x\n", "line 3.*'x'"),
        (b"3 3\na 1 2 3\nb 1 2 3\n", "line 4|truncated"),
        (b"1 3\na 1 2 3\nb 1 2 3\n", "after"),
        (b"2 3\na 1 2 3\na 1 2 3\n", "duplicate"),
        (b"two 3\na 1 2 3\n", "line 1"),
        (b"1 0\na\n", "line 1"),
        (b"1 3 4\na 1 2 3\n", "line 1"),
        (b"", "line 1"),
        (b"1 3\n 1 2 3\n", "line 2"),
        (b"1 3\n\xff 1 2 3\n", "line 2.*UTF-8"),
    ],
)
def test_word2vec_text_malformed(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        Embeddings.load_word2vec_format(path)
    assert "bad.txt" in str(info.value)


def test_word2vec_binary_malformed(tmp_path):
    good = b"2 2\na " + np.ones(2, "<f4").tobytes() + b"\nb " + np.ones(2, "<f4").tobytes() + b"\n"
    cases = {
        "trunc": good[:-3],
        "count": good.replace(b"2 2\n", b"3 2\n"),
        "extra": good + b"c " + np.ones(2, "<f4").tobytes(),
        "noword": b"1 2\n " + np.ones(2, "<f4").tobytes(),
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(content)
        with pytest.raises(ValueError, match=f"{name}.bin"):
            Embeddings.load_word2vec_format(path, binary=True)
    # gensim writes no newline after each vector: accepted
    path = tmp_path / "nonl.bin"
    path.write_bytes(good.replace(b"\nb", b"b")[:-1])
    assert Embeddings.load_word2vec_format(path, binary=True).index_to_word == ["a", "b"]


def _fuzz_cases(data: bytes, rng: np.random.Generator, n: int = 60):
    yield b""
    for cut in np.unique(np.linspace(0, len(data) - 1, n).astype(int)):
        yield data[:cut]
    for _ in range(n):
        mutated = bytearray(data)
        for pos in rng.integers(0, len(data), size=rng.integers(1, 4)):
            mutated[pos] = int(rng.integers(0, 256))
        yield bytes(mutated)
    for _ in range(n // 3):
        yield rng.integers(0, 256, size=int(rng.integers(1, 200)), dtype=np.uint8).tobytes()
        yield b"3 4\n" + rng.integers(0, 256, size=int(rng.integers(1, 200)), dtype=np.uint8).tobytes()


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_fuzz_only_valueerror(tmp_path, binary):
    rng = np.random.default_rng(11)
    good = tmp_path / "good"
    random_embeddings(n=6, dim=4, words=["a", "bb", "ccc", "é", "日本", "f"]).save_word2vec_format(good, binary=binary)
    path = tmp_path / "fuzz"
    for case in _fuzz_cases(good.read_bytes(), rng):
        path.write_bytes(case)
        try:
            emb = Embeddings.load_word2vec_format(path, binary=binary)
        except ValueError as e:
            assert "fuzz" in str(e)
        else:
            assert emb.vectors.shape[1] >= 1


@pytest.mark.parametrize("fname", ["meta.json", "vocab.txt", "vectors.npy"])
def test_store_fuzz_only_valueerror(tmp_path, fname):
    rng = np.random.default_rng(12)
    store = random_embeddings(n=5, dim=3).save(tmp_path / "m.dv")
    target = store / fname
    good = target.read_bytes()
    for case in _fuzz_cases(good, rng):
        target.write_bytes(case)
        try:
            Embeddings.load(store)
        except ValueError as e:
            assert fname in str(e) or "m.dv" in str(e)


# ---------------------------------------------------------------- gensim interop
@pytest.mark.parametrize("binary", [False, True])
def test_gensim_interop_bit_exact(tmp_path, binary):
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(9)
    v = (rng.standard_normal((len(UNICODE_WORDS), 11)) * 10.0 ** rng.integers(-8, 8, size=(1, 11))).astype(np.float32)
    words = [w.replace("\u00a0", "_") for w in UNICODE_WORDS]
    # gensim -> densevec
    kv = gensim.models.KeyedVectors(11)
    kv.add_vectors(words, v)
    kv.save_word2vec_format(str(tmp_path / "g"), binary=binary)
    ours = Embeddings.load_word2vec_format(tmp_path / "g", binary=binary)
    assert ours.index_to_word == words
    assert np.array_equal(ours.vectors.view(np.uint32), v.view(np.uint32))
    # densevec -> gensim
    Embeddings(v, words).save_word2vec_format(tmp_path / "d", binary=binary)
    kv2 = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "d"), binary=binary)
    assert kv2.index_to_key == words
    assert np.array_equal(kv2.vectors.view(np.uint32), v.view(np.uint32))
