"""Embeddings.encode / TextEncoder: pooled token vectors against a numpy reference."""
from __future__ import annotations

import numpy as np
import pytest

import densevec as dv
from densevec.encode import TextEncoder


def store(n: int = 50, dim: int = 17, seed: int = 0) -> dv.Embeddings:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n)]
    counts = np.sort(rng.integers(1, 1000, n))[::-1].copy()
    return dv.Embeddings(rng.standard_normal((n, dim)).astype(np.float32), words, counts=counts)


def random_texts(emb: dv.Embeddings, m: int, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(m):
        toks = [f"w{j}" for j in rng.integers(0, len(emb), rng.integers(1, 9))]
        toks += ["unknown"] * int(rng.integers(0, 2))
        rng.shuffle(toks)
        texts.append(toks if i % 2 else " \t".join(toks))  # token lists and strings
    return texts


def reference(emb: dv.Embeddings, texts: list, weights=None, component=None, normalize=True) -> np.ndarray:
    vecs = emb.to_numpy(np.float64)
    out = np.zeros((len(texts), emb.dim))
    for i, t in enumerate(texts):
        toks = t.split() if isinstance(t, str) else t
        rows = [emb.get_index(w) for w in toks if w in emb]
        if not rows:
            continue
        w = np.ones(len(rows)) if weights is None else weights[rows]
        v = (w[:, None] * vecs[rows]).sum(0) / len(rows)
        if component is not None:
            v -= (v @ component) * component
        if normalize:
            v /= np.linalg.norm(v)
        out[i] = v
    return out


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("threads", [1, 3])
def test_mean_equals_numpy(normalize, threads):
    emb = store()
    texts = random_texts(emb, 200)
    got = emb.encode(texts, normalize=normalize, threads=threads)
    assert got.dtype == np.float32 and got.shape == (200, emb.dim)
    np.testing.assert_allclose(got, reference(emb, texts, normalize=normalize), rtol=1e-5, atol=1e-5)


def test_sif_weights_and_component_equal_numpy():
    emb = store()
    texts = random_texts(emb, 300)
    enc = TextEncoder(emb, pooling="sif", sif_a=1e-2).fit(texts)
    p = emb.counts / emb.counts.sum()
    weights = 1e-2 / (1e-2 + p)
    # the component: first right singular vector of the weighted means (uncentred)
    x = reference(emb, texts, weights=weights, normalize=False)
    u = np.linalg.svd(x[np.any(x != 0, axis=1)], full_matrices=False)[2][0]
    assert abs(abs(float(enc.component_ @ u)) - 1) < 1e-5
    got = enc.encode(texts)
    np.testing.assert_allclose(got, reference(emb, texts, weights, u), rtol=1e-4, atol=1e-5)
    # the common direction is gone: no row keeps a component along u
    assert np.abs(got @ u).max() < 1e-4
    # Embeddings.encode(pooling="sif") fits on the texts themselves (with the default a)
    default = TextEncoder(emb, pooling="sif").fit(texts).encode(texts)
    np.testing.assert_allclose(emb.encode(texts, pooling="sif"), default, atol=1e-6)
    assert np.abs(default - got).max() > 1e-3  # a matters


def test_unknown_only_texts_are_zero_rows_and_counted():
    emb = store()
    stats: dict = {}
    out = emb.encode(["w1 w2", "nothing known", [], "", ["w3", "x"]], stats=stats)
    assert not out[1].any() and not out[2].any() and not out[3].any()
    assert np.allclose(np.linalg.norm(out[[0, 4]], axis=1), 1)
    assert stats == {"texts": 5, "tokens": 6, "known_tokens": 3, "empty_texts": 3}


def test_empty_list_and_bad_texts():
    emb = store(dim=5)
    assert emb.encode([]).shape == (0, 5)
    assert emb.encode([], pooling="sif").shape == (0, 5)
    with pytest.raises(TypeError, match="text 1, token 0 must be a string, got int"):
        emb.encode(["w1", [3]])
    with pytest.raises(TypeError, match="text 0 must be a string or a list"):
        emb.encode([b"w1"])
    with pytest.raises(TypeError, match="single str"):
        emb.encode("w1 w2")
    with pytest.raises(ValueError, match="text 0 cannot be encoded as UTF-8"):
        emb.encode(["\ud800"])
    with pytest.raises(ValueError, match="pooling must be"):
        emb.encode(["w1"], pooling="max")
    with pytest.raises(ValueError, match="needs word counts"):
        dv.Embeddings(np.ones((2, 3), np.float32), ["a", "b"]).encode(["a"], pooling="sif")
    with pytest.raises(RuntimeError, match="fit"):
        TextEncoder(emb, pooling="sif").encode(["w1"])


def test_strings_split_like_the_corpus_tokenizer(tmp_path):
    """A string is split on ASCII whitespace and NUL only, case kept, as Corpus does."""
    line = "Alpha\x00beta\x0bgamma\u00a0delta  alpha"
    path = tmp_path / "c.txt"
    path.write_text(line + "\n", encoding="utf-8")
    words = dv.Corpus.from_file(path, min_count=1).vocab.index_to_word
    emb = dv.Embeddings(np.eye(len(words), dtype=np.float32), words)
    out = emb.encode([line], normalize=False)[0]
    assert np.allclose(out * len(words), np.ones(len(words)))  # every corpus token found once


def test_keyed_collection_is_a_searchable_store(tmp_path):
    emb = store()
    docs = {"d0": "w1 w2 w3", "d1": "w10 w11", "d2": "w20 w21 w22 w23"}
    enc = TextEncoder(emb)
    index = enc.encode_keyed(list(docs.values()), list(docs))
    path = index.save(tmp_path / "docs.dv")
    loaded = dv.Embeddings.load(path)
    ids, _ = loaded.search(enc.encode(["w11 w10 unknown"])[0], k=1)
    assert loaded.word(int(ids[0])) == "d1"
    assert loaded.meta["encoder"]["pooling"] == "mean"
    assert loaded.meta["space"]["id"] == emb.meta["space"]["id"]
