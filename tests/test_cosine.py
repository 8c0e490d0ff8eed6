"""Cosine without a copy: row norms in C++ at every SIMD level, and every cosine
path (search, most_similar, analogy, similarity) scanning the stored rows and
dividing by those norms, against a float64 numpy reference."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from densevec import _core
from densevec.vectors import COSMUL_EPS, Embeddings

ISAS = _core.simd_isas()
DIMS = [1, 3, 17, 97, 301]


def stored_rows(rng, n, d, dtype):
    """Random rows of varied length in `dtype`, with zero rows; int8 comes with scales."""
    x = rng.standard_normal((n, d)) * rng.uniform(0.1, 5, size=(n, 1))
    x[[0, n // 2]] = 0
    if dtype == "int8":
        q = rng.integers(-127, 128, size=(n, d)).astype(np.int8)
        q[[0, n // 2]] = 0
        return q, rng.uniform(0.001, 0.1, size=n).astype(np.float32)
    return x.astype(dtype), None


def ref_norms(rows, scale):
    r = rows.astype(np.float64)
    out = np.sqrt((r * r).sum(axis=1))
    return out * scale if scale is not None else out


# ------------------------------------------------------------------ row norms
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_row_norms_match_float64_and_serial(isa, d, dtype):
    rng = np.random.default_rng(d)
    rows, scale = stored_rows(rng, 37, d, dtype)
    got = _core.row_norms(rows, scale, 1, isa)
    assert got.dtype == np.float32 and got.shape == (37,)
    assert got == pytest.approx(ref_norms(rows, scale), rel=2e-6, abs=0)
    assert got[0] == 0 and got[37 // 2] == 0
    serial = _core.row_norms(rows, scale, 1, "serial")
    if dtype == "int8":  # exact integer sums: bit-identical in every ISA
        assert np.array_equal(got.view(np.uint32), serial.view(np.uint32))
    else:  # the scalar twin sums in another order: equal to the last bits
        assert got == pytest.approx(serial, rel=1e-6, abs=0)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_row_norms_do_not_depend_on_threads(dtype):
    rows, scale = stored_rows(np.random.default_rng(5), 50000, 17, dtype)  # >= 3 x 16384 rows: 3 threads
    one = _core.row_norms(rows, scale, 1)
    three = _core.row_norms(rows, scale, 3)
    assert np.array_equal(one.view(np.uint32), three.view(np.uint32))


def test_row_norms_special_rows_and_bad_input():
    rows = np.array([[3, 4], [0, 0], [np.nan, 1], [np.inf, 0]], dtype=np.float32)
    got = _core.row_norms(rows)
    assert got[:2].tolist() == [5, 0] and np.isnan(got[2]) and got[3] == np.inf
    assert _core.row_norms(np.zeros((3, 0), np.float32)).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="scale"):
        _core.row_norms(np.zeros((3, 2), np.int8))
    with pytest.raises(ValueError, match="scale must have one entry per row"):
        _core.row_norms(np.zeros((3, 2), np.float32), np.ones(2, np.float32))
    with pytest.raises(ValueError, match="dtype"):
        _core.row_norms(np.zeros((3, 2), np.float64))


# ------------------------------------------------------- the search kernel with norms
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("m", [1, 9])  # 9 queries: the packed batch kernel
def test_cosine_with_norms_equals_reference(isa, d, dtype, m):
    rng = np.random.default_rng(d + m)
    rows, _ = stored_rows(rng, 400, d, dtype)
    norms = _core.row_norms(rows, None, 1, isa)
    q = rng.standard_normal((m, d)).astype(np.float32)
    ids, scores = _core.search(q, rows, 12, "cosine", None, norms, None, 1, isa)
    r64 = rows.astype(np.float64)
    n64 = np.sqrt((r64 * r64).sum(1))
    ref = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ r64.T / np.where(n64 > 0, n64, 1)
    assert np.allclose(scores, np.take_along_axis(ref, ids, 1), atol=2e-6)
    # same top-k as the reference up to near-ties: the k-th best score bounds the rest
    kth = np.sort(ref, axis=1)[:, -12][:, None]
    assert (np.take_along_axis(ref, ids, 1) >= kth - 2e-6).all()
    # best first, ties by lower row id (with d = 1 every nonzero row scores exactly +-1)
    expected = np.argsort(-ref, axis=1, kind="stable")[:, :12]
    assert np.array_equal(ids, expected)


# ----------------------------------------------------------- Embeddings paths
def emb_and_ref(d, dtype="float32", seed=0, n=300):
    rng = np.random.default_rng(seed + d)
    x = (rng.standard_normal((n, d)) * rng.uniform(0.1, 5, size=(n, 1))).astype(np.float32)
    x[[3, 150]] = 0
    emb = Embeddings(x, [f"w{i}" for i in range(n)])
    if dtype != "float32":
        emb = emb.quantize(dtype)
    r64 = np.asarray(emb._rows(slice(None)), dtype=np.float64)
    n64 = np.linalg.norm(r64, axis=1)
    unit = r64 / np.where(n64 > 0, n64, 1)[:, None]
    return emb, unit


def unit64(v):
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_most_similar_and_search_cosine_match_numpy(d, dtype):
    emb, unit = emb_and_ref(d, dtype)
    got = emb.most_similar(positive=["w1", "w7"], negative=["w9"], topn=10)
    q = unit64(unit64(unit[1] + unit[7] - unit[9]))
    ref = unit @ q
    ref[[1, 7, 9]] = -np.inf
    tol = {"float32": 2e-6, "float16": 1e-3, "int8": 1e-2}[dtype]  # int8 quantises the query too
    for w, s in got:
        assert s == pytest.approx(ref[int(w[1:])], abs=tol)
    kth = np.sort(ref)[-10]
    assert all(ref[int(w[1:])] >= kth - tol for w, _ in got)
    if d > 1 and dtype == "float32":
        assert [w for w, _ in got] == [f"w{i}" for i in np.argsort(-ref, kind="stable")[:10]]
    qs = np.random.default_rng(d).standard_normal((5, d)).astype(np.float32)
    ids, scores = emb.search(qs, k=7, metric="cosine")
    ref = (qs / np.linalg.norm(qs, axis=1, keepdims=True)) @ unit.T
    assert np.allclose(scores, np.take_along_axis(ref, ids, 1), atol=tol)
    assert emb._unit is None  # no unit-length copy was built


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogy_and_similarity_match_numpy(d, method):
    emb, unit = emb_and_ref(d, seed=1)
    got = emb.analogy("w4", "w5", "w6", topn=5, method=method)
    cos = unit @ np.stack([unit[4], unit[5], unit[6]]).T  # (n, 3)
    if method == "3cosadd":
        ref = unit @ unit64(unit[5] - unit[4] + unit[6])
    else:
        c = (cos + 1) / 2
        ref = c[:, 1] * c[:, 2] / (c[:, 0] + COSMUL_EPS)
    ref[[4, 5, 6]] = -np.inf
    for w, s in got:
        assert s == pytest.approx(ref[int(w[1:])], rel=1e-5, abs=1e-5)
    if d > 1:
        assert [w for w, _ in got] == [f"w{i}" for i in np.argsort(-ref, kind="stable")[:5]]
    assert emb.similarity("w10", "w11") == pytest.approx(unit[10] @ unit[11], abs=2e-6)
    assert emb.similarity("w10", "w3") == 0  # zero row
    assert emb._unit is None


def test_zero_rows_score_zero_and_nan_rows_rank_last():
    x = np.array([[1, 0], [0, 0], [np.nan, 1], [-1, 0], [0, 2]], dtype=np.float32)
    emb = Embeddings(x, ["a", "zero", "nan", "neg", "up"])
    ids, scores = emb.search(np.array([1, 0], np.float32), k=5, metric="cosine")
    assert ids.tolist() == [0, 1, 4, 3, 2]
    assert scores[:4].tolist() == [1, 0, 0, -1] and scores[4] == -np.inf


def test_normalized_rows_and_normalize_copy():
    emb, unit = emb_and_ref(17)
    norm = emb.normalize()
    assert norm.meta["normalized"] and emb._unit is None  # normalize copies once, caches nothing here
    assert np.allclose(norm.vectors, unit, atol=1e-6)
    a = emb.most_similar("w2", topn=8)
    b = norm.most_similar("w2", topn=8)
    assert [w for w, _ in a] == [w for w, _ in b]
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=2e-6)
    assert norm._norms is None  # unit rows are scanned without norms


def test_cosine_queries_add_only_the_norms_to_memory():
    n, d = 100000, 64  # a 24 MiB matrix
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    emb = Embeddings(x, [f"w{i}" for i in range(n)])
    small = Embeddings(x[:50], [f"w{i}" for i in range(50)])
    small.most_similar("w1")  # modules numpy imports on first use are not the queries' memory
    small.analogy("w1", "w2", "w3")
    tracemalloc.start()
    try:
        emb.most_similar("w1", topn=10)
        emb.analogy("w1", "w2", "w3", method="3cosadd")
        emb.search(x[:20], k=5, metric="cosine")
        emb.similarity("w1", "w2")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        _ = emb.unit_vectors  # negative control: the copy the queries avoid
        _, copy_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 0.1 * x.nbytes, peak
    assert copy_peak >= x.nbytes
