"""Embeddings shared by the store, interop and fuzz tests."""
from __future__ import annotations

import numpy as np

from densevec.vectors import Embeddings

UNICODE_WORDS = ["naïve", "日本", "straße", "🙂", "a\u00a0b", "Zürich", "x"]


def random_embeddings(n=40, dim=7, seed=0, words=None, counts=True, meta=None):
    rng = np.random.default_rng(seed)
    words = words or [f"w{i}" for i in range(n)]
    c = rng.integers(0, 1000, size=len(words)) if counts else None
    return Embeddings(rng.standard_normal((len(words), dim)).astype(np.float32), words, c,
                      {"seed": seed} if meta is None else meta)


def special_embeddings():
    """Unicode words, counts, nested meta and special floats (NaN, inf, -0, a denormal)."""
    v = np.random.default_rng(2).standard_normal((len(UNICODE_WORDS), 5)).astype(np.float32)
    v[0, :4] = [np.nan, np.inf, -0.0, 1e-45]
    return Embeddings(v, UNICODE_WORDS, np.arange(len(UNICODE_WORDS)) * 7, {"algo": "test", "nested": {"a": [1, 2]}})


def assert_same(a: Embeddings, b: Embeddings):
    """Same words, bit-identical vectors, same counts."""
    assert a.index_to_word == b.index_to_word
    assert a.vectors.dtype == b.vectors.dtype
    assert np.array_equal(a.vectors.view(np.uint8), b.vectors.view(np.uint8))
    if a.counts is None:
        assert b.counts is None
    else:
        assert np.array_equal(a.counts, b.counts)
