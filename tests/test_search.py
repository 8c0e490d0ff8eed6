"""Exact search: scan kernels at every SIMD level against float64 numpy, the C++
top-k against argsort, threads, quantised embeddings and their stores."""
from __future__ import annotations

import json

import numpy as np
import pytest

from densevec import _core
from densevec.vectors import Embeddings

ISAS = _core.simd_isas()
DIMS = [1, 3, 17, 100, 301]
ROWS = [1, 2, 5, 8, 11]


def unaligned(shape, dtype, rng, low=-1.0, high=1.0):
    """A C-contiguous array starting one element past an aligned buffer."""
    size = int(np.prod(shape))
    if np.dtype(dtype).kind == "i":
        buf = rng.integers(-127, 128, size=size + 1).astype(dtype)  # symmetric int8
    else:
        buf = rng.uniform(low, high, size=size + 1).astype(dtype)
    out = buf[1:].reshape(shape)
    assert out.flags.c_contiguous
    return out


def ref_topk(scores: np.ndarray, k: int, largest: bool, exclude=()) -> np.ndarray:
    """Best first, ties by lower id, excluded ids dropped (float64 scores)."""
    out = []
    for row in scores:
        order = np.lexsort((np.arange(len(row)), -row if largest else row))
        out.append([i for i in order if i not in set(exclude)][:k])
    return np.array(out, dtype=np.int64).reshape(len(scores), -1)


# ------------------------------------------------------------------ kernels
def check_float_kernels(isa, rng, n, d, dtype):
    """dot and l2 of a random query against n random unaligned rows equal float64 numpy."""
    rows = unaligned((n, d), dtype, rng)
    q = unaligned((d,), np.float32, rng)
    r64, q64 = rows.astype(np.float64), q.astype(np.float64)
    tol = dict(rel=1e-4, abs=1e-4 * np.sqrt(d))
    assert _core.testing.dot_rows(q, rows, isa) == pytest.approx(r64 @ q64, **tol)
    assert _core.testing.l2_rows(q, rows, isa) == pytest.approx(((r64 - q64) ** 2).sum(1), **tol)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_kernels(isa, d, n, dtype):
    check_float_kernels(isa, np.random.default_rng(d * 100 + n), n, d, dtype)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", DIMS + [16, 32, 33, 64])
@pytest.mark.parametrize("n", ROWS)
def test_int8_kernel_is_exact(isa, d, n):
    rng = np.random.default_rng(d * 100 + n)
    rows = unaligned((n, d), np.int8, rng)
    q = unaligned((d,), np.int8, rng)
    got = _core.testing.dot_rows(q, rows, isa)
    assert got.dtype == np.int32
    assert np.array_equal(got, rows.astype(np.int64) @ q.astype(np.int64))
    extreme = np.full((n, d), -127, dtype=np.int8)  # the largest |products|
    assert np.array_equal(_core.testing.dot_rows(np.full(d, -127, np.int8), extreme, isa), np.full(n, 16129 * d))
    assert np.array_equal(_core.testing.dot_rows(np.full(d, 127, np.int8), extreme, isa), np.full(n, -16129 * d))
    # symmetric int8: -128 reads as -127
    assert np.array_equal(_core.testing.dot_rows(np.full(d, -128, np.int8), extreme - 1, isa), np.full(n, 16129 * d))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("n", ROWS + [16, 17, 33])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_packed_batch_kernel(isa, d, n, dtype):
    rng = np.random.default_rng(d + 7 * n)
    rows = unaligned((n, d), dtype, rng)
    qs = unaligned((7, d), np.float32, rng)
    got = _core.testing.dot_packed(qs, rows, isa)
    ref = qs.astype(np.float64) @ rows.astype(np.float64).T
    assert got == pytest.approx(ref, rel=1e-4, abs=1e-4 * np.sqrt(d))
    # a query's scores do not depend on which queries share the call
    for sub in (slice(0, 1), slice(6, 7), slice(2, 5), slice(1, 5)):
        part = _core.testing.dot_packed(np.ascontiguousarray(qs[sub]), rows, isa)
        assert np.array_equal(part.view(np.uint32), got[sub].view(np.uint32))


# d = 8..15 up to d >= 96: every count of query vectors the AVX2 scan keeps in
# registers (1, 2, 4, ..., 12), with and without a tail, and 12 plus an even or
# odd number read from memory.
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [8, 15, 24, 40, 50, 64, 75, 90, 96, 112, 120])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_kernels_every_register_split(isa, d, dtype):
    check_float_kernels(isa, np.random.default_rng(d), 13, d, dtype)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [5, 17, 100, 301])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_kernels_infinity_is_not_nan(isa, d, dtype):
    """A row's tail may be read with columns it already counted; they must add
    nothing, not inf * 0 = NaN."""
    rows = np.ones((3, d), dtype)
    rows[1, max(d - 8, 0)] = np.inf
    q = np.ones(d, np.float32)
    dot = _core.testing.dot_rows(q, rows, isa)
    l2 = _core.testing.l2_rows(q, rows, isa)
    assert dot[0] == dot[2] == d and dot[1] == np.inf
    assert l2[0] == l2[2] == 0 and l2[1] == np.inf


def test_half_conversion_special_values():
    vals = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, np.inf, -np.inf], dtype=np.float16)
    rows = vals[:, None]
    for isa in ISAS:
        got = _core.testing.dot_rows(np.ones(1, np.float32), rows, isa)
        assert np.array_equal(got, vals.astype(np.float32))


# ------------------------------------------------------------------ exact top-k
def int_problem(n=300, d=12, m=9, seed=0):
    """Small-integer data: every score is exact in float32 and ties are frequent."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(-3, 4, size=(n, d)).astype(np.float32)
    q = rng.integers(-127, 128, size=(m, d)).astype(np.float32)
    q[:, 0] = 127  # int8 query quantisation is then exact (scale 1)
    return rows, q


def stored(rows, dtype):
    if dtype == "int8":
        return rows.astype(np.int8), np.ones(len(rows), np.float32)
    return rows.astype(dtype), None


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
@pytest.mark.parametrize("metric", ["dot", "l2"])
@pytest.mark.parametrize("threads", [1, 2])
def test_topk_equals_argsort_with_ties_and_exclude(isa, dtype, metric, threads):
    rows, q = int_problem()
    base, scale = stored(rows, dtype)
    norms = np.linalg.norm(rows, axis=1).astype(np.float32) if scale is not None else None
    exclude = np.array([5, 0, 77, 5, 299], dtype=np.int64)
    ids, scores = _core.search(q, base, 25, metric, scale, norms, exclude, threads, isa)
    r64, q64 = rows.astype(np.float64), q.astype(np.float64)
    ref = q64 @ r64.T if metric == "dot" else ((q64[:, None, :] - r64[None]) ** 2).sum(-1)
    expected = ref_topk(ref, 25, metric == "dot", exclude=(0, 5, 77, 299))
    assert ids.shape == scores.shape == (9, 25) and ids.dtype == np.int64 and scores.dtype == np.float32
    if dtype == "int8" and metric == "l2":  # |q|^2 - 2 q.v + |v|^2 with |v| rounded: ties may move
        assert np.allclose(scores, np.take_along_axis(ref, expected, 1), rtol=1e-5)
        assert np.allclose(np.take_along_axis(ref, ids, 1), np.take_along_axis(ref, expected, 1))
        return
    assert np.array_equal(ids, expected)
    assert np.array_equal(scores, np.take_along_axis(ref, expected, 1).astype(np.float32))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cosine_topk_matches_reference(isa, dtype):
    rng = np.random.default_rng(3)
    rows = (rng.standard_normal((500, 33)) * rng.uniform(0.1, 3, size=(500, 1))).astype(dtype)
    rows[7] = 0
    q = rng.standard_normal((6, 33)).astype(np.float32)
    norms = np.linalg.norm(rows.astype(np.float32), axis=1).astype(np.float32)
    ids, scores = _core.search(q, rows, 10, "cosine", None, norms, None, 1, isa)
    r64 = rows.astype(np.float64)
    ref = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ r64.T / np.where(norms > 0, norms, 1)
    expected = ref_topk(ref, 10, True)
    assert np.allclose(scores, np.take_along_axis(ref, expected, 1), atol=1e-5)
    assert np.array_equal(ids, expected)  # random data: no near-ties at this size


def test_k_clipped_and_everything_excluded():
    rows, q = int_problem(n=6, m=2)
    ids, scores = _core.search(q, rows, 50, "dot")
    assert ids.shape == (2, 6)
    ids, _ = _core.search(q, rows, 3, "dot", exclude=np.arange(6, dtype=np.int64))
    assert ids.shape == (2, 0)
    ids, _ = _core.search(np.zeros((0, 12), np.float32), rows, 3, "dot")
    assert ids.shape == (0, 3)


def test_nan_rows_rank_last():
    rows = np.array([[1.0], [np.nan], [3.0], [2.0]], dtype=np.float32)
    ids, scores = _core.search(np.ones((1, 1), np.float32), rows, 4, "dot")
    assert list(ids[0]) == [2, 3, 0, 1] and scores[0, 3] == -np.inf
    ids, _ = _core.search(np.ones((1, 1), np.float32), rows, 4, "l2")
    assert list(ids[0]) == [0, 3, 2, 1]


# The int8 scan computes keys and applies the top-k threshold inside the
# kernel (filter_rows_i8). d covers short rows (< 32 columns), every block
# count the AVX2 kernel unrolls (1..12, with and without a tail) and the
# runtime loop beyond (d >= 416); n covers partial groups of 8 rows and several
# chunks; k = 1200 outgrows the first chunk (the threshold stays open).
I8_DIMS = [1, 3, 17, 31, 32, 33, 64, 100, 128, 160, 300, 301, 384, 416, 450]


def int8_problem(n, d, m, seed):
    """int8 rows (with -128, read as -127), odd scales (zero, NaN, repeats for
    ties), norms (some zero) and integer queries whose int8 scale is exactly 1."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(-128, 128, size=(n, d)).astype(np.int8)
    rows[3] = rows[n // 2]  # duplicate rows with the same scale: equal keys, lower id first
    scale = rng.uniform(0.001, 0.02, size=n).astype(np.float32)
    scale[n // 2] = scale[3]
    scale[[5, n - 1]] = 0.0
    scale[7] = np.nan
    norms = (np.linalg.norm(np.maximum(rows, -127).astype(np.float64), axis=1) * scale).astype(np.float32)
    norms[[11, n - 2]] = 0.0
    q = rng.integers(-127, 128, size=(m, d)).astype(np.float32)
    q[:, 0] = 127
    return rows, scale, norms, q


def int8_keys_reference(rows, scale, norms, q, metric):
    """Keys as csrc/simd/kernels.h (I8Keys) defines them, step by step in float32."""
    dots = (q.astype(np.int64) @ np.maximum(rows, -127).astype(np.int64).T).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        key = dots * np.float32(1.0) * scale  # the query's int8 scale is 1
        if metric == "l2":
            qq = (q.astype(np.float64) ** 2).sum(1).astype(np.float32)[:, None]
            t = qq - np.float32(2) * key + norms * norms
            return np.where(t < 0, np.float32(0), t)  # distances; NaN stays NaN
    return key


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", I8_DIMS)
@pytest.mark.parametrize("metric", ["dot", "l2"])
def test_int8_fused_scan_equals_float32_reference(isa, d, metric):
    n = 2000 + d % 7
    rows, scale, norms, q = int8_problem(n, d, 3, seed=d)
    exclude = np.array([0, 3, 8, n - 1, 1000], dtype=np.int64)
    ref = int8_keys_reference(rows, scale, norms, q, metric)
    rank = np.where(np.isnan(ref), np.inf if metric == "l2" else -np.inf, ref)  # NaN ranks last
    for k in (10, 1200):
        ids, scores = _core.search(q, rows, k, metric, scale, norms, exclude, 1, isa)
        expected = ref_topk(rank, k, metric == "dot", exclude=set(exclude.tolist()))
        assert np.array_equal(ids, expected)
        want = np.take_along_axis(rank, expected, 1).astype(np.float32)
        assert np.array_equal(scores.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("isa", [i for i in ISAS if i != "serial"])
@pytest.mark.parametrize("d", I8_DIMS)
@pytest.mark.parametrize("metric", ["dot", "cosine", "l2"])
def test_int8_fused_scan_bit_identical_to_serial(isa, d, metric):
    """Float queries (any int8 scale), cosine included: every ISA returns the
    serial kernel's ids and score bits, single queries and a batch."""
    n = 5000 + d % 5
    rows, scale, norms, _ = int8_problem(n, d, 1, seed=100 + d)
    q = np.random.default_rng(d).standard_normal((6, d)).astype(np.float32)
    exclude = np.array([2, 4095, 4096, n - 3], dtype=np.int64)
    for k in (1, 10, 1200):
        want = _core.search(q, rows, k, metric, scale, norms, exclude, 1, "serial")
        for qs in (q, q[:1]):
            got = _core.search(qs, rows, k, metric, scale, norms, exclude, 1, isa)
            assert np.array_equal(got[0], want[0][:len(qs)])
            assert np.array_equal(got[1].view(np.uint32), want[1][:len(qs)].view(np.uint32))
    if metric == "cosine":  # without norms the rows count as unit length
        want = _core.search(q, rows, 10, "cosine", scale, None, None, 1, "serial")
        got = _core.search(q, rows, 10, "cosine", scale, None, None, 1, isa)
        assert np.array_equal(got[0], want[0])
        assert np.array_equal(got[1].view(np.uint32), want[1].view(np.uint32))


@pytest.mark.parametrize("isa", ISAS)
def test_int8_nan_keys_rank_last_and_fill_the_heap(isa):
    rows = np.array([[1], [1], [2], [1]], dtype=np.int8)
    scale = np.array([np.nan, 1.0, 1.0, np.nan], dtype=np.float32)
    ids, scores = _core.search(np.ones((1, 1), np.float32), rows, 4, "dot", scale, None, None, 1, isa)
    assert list(ids[0]) == [2, 1, 0, 3] and list(scores[0][2:]) == [-np.inf, -np.inf]


@pytest.mark.parametrize("m", [1, 3, 70])
@pytest.mark.parametrize("metric", ["dot", "cosine", "l2"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_threads_give_identical_results(m, metric, dtype):
    rng = np.random.default_rng(m)
    n = 40000 if m == 1 else 3000  # one query over >= 2 x 16384 rows uses 2 threads
    rows = rng.standard_normal((n, 17)).astype(np.float32)
    emb = Embeddings(rows, [f"w{i}" for i in range(n)])
    if dtype != "float32":
        emb = emb.quantize(dtype)
    q = rng.standard_normal((m, 17)).astype(np.float32)
    one = emb.search(q, k=20, metric=metric, exclude=[1, 2], threads=1)
    two = emb.search(q, k=20, metric=metric, exclude=[1, 2], threads=2)
    assert np.array_equal(one[0], two[0])
    assert np.array_equal(one[1].view(np.uint32), two[1].view(np.uint32))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_batch_path_is_exact_and_independent_of_batch_composition(dtype):
    rng = np.random.default_rng(5)
    emb = Embeddings(rng.standard_normal((2000, 100)).astype(np.float32), [f"w{i}" for i in range(2000)])
    if dtype == "float16":
        emb = emb.quantize("float16")
    q = rng.standard_normal((67, 100)).astype(np.float32)
    ids, scores = emb.search(q, k=10, metric="dot", threads=1)
    for part in (slice(0, 9), slice(30, 41), slice(58, 67)):
        sub = emb.search(q[part], k=10, metric="dot", threads=1)
        assert np.array_equal(sub[0], ids[part])
        assert np.array_equal(sub[1].view(np.uint32), scores[part].view(np.uint32))
    ref = q.astype(np.float64) @ emb.vectors.astype(np.float64).T
    assert np.array_equal(ids, ref_topk(ref, 10, True))
    assert np.allclose(scores, np.take_along_axis(ref, ids, 1), rtol=1e-5, atol=1e-4)
    single = np.stack([emb.search(x, k=10, metric="dot")[0] for x in q])
    assert np.array_equal(single, ids)  # random data: no near-ties


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda q, r: _core.search(q.astype(np.float64), r, 3), "queries"),
        (lambda q, r: _core.search(q, r.astype(np.float64), 3), "rows"),
        (lambda q, r: _core.search(q, r[0], 3), "rows"),
        (lambda q, r: _core.search(q, np.asfortranarray(r), 3), "contiguous"),
        (lambda q, r: _core.search(np.ascontiguousarray(q[:, :5]), r, 3), "columns"),
        (lambda q, r: _core.search(q, r, 0), "k must be positive"),
        (lambda q, r: _core.search(q, r, -2), "k must be positive"),
        (lambda q, r: _core.search(q, r, 3, "hamming"), "metric"),
        (lambda q, r: _core.search(q, r, 3, scale=np.ones(3, np.float32)), "scale"),
        (lambda q, r: _core.search(q, r, 3, norms=np.ones(300)), "norms"),
        (lambda q, r: _core.search(q, r.astype(np.int8), 3), "scale"),
        (lambda q, r: _core.search(q, r.astype(np.int8), 3, "l2", np.ones(300, np.float32)), "norms"),
        (lambda q, r: _core.search(q, r, 3, exclude=np.array([300])), r"\[0, 300\)"),
        (lambda q, r: _core.search(q, r, 3, exclude=np.array([-1])), "exclude"),
        (lambda q, r: _core.search(q, r, 3, exclude=np.array([1], np.int32)), "exclude"),
        (lambda q, r: _core.search(q, r, 3, isa="sse9"), "SIMD"),
        (lambda q, r: _core.testing.dot_rows(q[0, :5], r), "columns"),
        (lambda q, r: _core.testing.l2_rows(q[0].astype(np.int8), r.astype(np.int8)), "float"),
    ],
)
def test_bad_inputs_raise_valueerror(call, match):
    rows, q = int_problem()
    with pytest.raises(ValueError, match=match):
        call(q, rows)


# ------------------------------------------------------------------ quantised embeddings
def clustered(n=20000, m=200, d=64, centres=300, noise=0.35, seed=0):
    """Rows and held-out queries around a few hundred random centres."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)).astype(np.float32)
    pick = rng.integers(0, centres, size=n + m)
    x = (c[pick] + noise * rng.standard_normal((n + m, d))).astype(np.float32)
    x *= rng.uniform(0.5, 2.0, size=(n + m, 1)).astype(np.float32)
    return Embeddings(x[:n], [f"w{i}" for i in range(n)]), x[n:]


def recall(got, want):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(got, want)])


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_float16_recall(metric):
    emb, q = clustered()
    exact, _ = emb.search(q, k=10, metric=metric)
    f16 = emb.quantize("float16")
    assert f16.dtype == "float16" and f16.vectors.dtype == np.float16
    assert f16.vectors.nbytes == emb.vectors.nbytes // 2
    got, _ = f16.search(q, k=10, metric=metric)
    assert recall(got, exact) >= 0.99


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_int8_rescored_top10_equals_exact(metric):
    emb, q = clustered()
    exact, exact_scores = emb.search(q, k=10, metric=metric)
    i8 = emb.quantize("int8")
    assert i8.dtype == "int8" and i8.vectors.nbytes == emb.vectors.nbytes // 4
    assert i8.meta["dtype"] == "int8" and i8.meta["quantization"]["method"] == "int8-symmetric"
    plain, _ = i8.search(q, k=10, metric=metric)
    assert recall(plain, exact) >= 0.9
    ids, scores = i8.search(q, k=10, metric=metric, rescore=50)
    assert np.mean([np.array_equal(a, b) for a, b in zip(ids, exact)]) >= 0.99
    assert np.allclose(scores, exact_scores, rtol=1e-4, atol=1e-4)


def test_int8_quantisation_scheme():
    v = np.array([[1.0, -0.5, 0.25], [0, 0, 0], [-3, 1, 2]], dtype=np.float32)
    i8 = Embeddings(v, ["a", "b", "c"]).quantize("int8")
    assert np.allclose(i8.scales, [1 / 127, 0, 3 / 127])
    assert np.array_equal(i8.vectors, [[127, -64, 32], [0, 0, 0], [-127, 42, 85]])
    assert np.allclose(i8["c"], v[2], atol=3 / 127 / 2 + 1e-7)
    assert i8["c"].dtype == np.float32
    assert np.allclose(i8.norms, np.linalg.norm(i8[["a", "b", "c"]], axis=1))
    with pytest.raises(ValueError):
        i8.quantize("int8")
    with pytest.raises(ValueError):
        Embeddings(v, ["a", "b", "c"]).quantize("int4")  # type: ignore[arg-type]


def test_quantised_most_similar_and_analogy():
    male, female, royal, adult = np.eye(4, dtype=np.float32)
    words = {"man": male + adult, "woman": female + adult, "king": male + royal, "queen": female + royal}
    emb = Embeddings(np.stack(list(words.values())), list(words))
    for dt in ("float16", "int8"):
        qe = emb.quantize(dt)
        assert qe.analogy("man", "king", "woman")[0][0] == "queen"
        assert qe.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
        assert qe.similarity("man", "king") == pytest.approx(0.5, abs=1e-2)


@pytest.mark.parametrize("dtype", ["float16", "int8"])
@pytest.mark.parametrize("mmap", [True, False])
def test_quantised_store_round_trip(tmp_path, dtype, mmap):
    emb, q = clustered(n=500, m=5, d=16)
    qe = emb.quantize(dtype)
    path = qe.save(tmp_path / "q.dv")
    back = Embeddings.load(path, mmap=mmap)
    assert back.dtype == dtype and back.meta == qe.meta
    assert np.array_equal(back.vectors, qe.vectors)
    assert (back.scales is None) == (dtype == "float16")
    if dtype == "int8":
        assert np.array_equal(back.scales, qe.scales)
        assert {"scales.npy", "vectors.npy", "vocab_blob.npy"} <= {p.name for p in path.iterdir()}
    doc = json.loads((path / "meta.json").read_text())
    assert doc["dtype"] == dtype
    for a, b in zip(back.search(q, k=5), qe.search(q, k=5)):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="rescore_with"):
        back.search(q, k=5, rescore=20)
    ids, _ = back.search(q, k=5, rescore=20, rescore_with=emb)
    assert np.array_equal(ids, emb.search(q, k=5)[0])


def _rewrite_meta(path, **changes):
    doc = json.loads((path / "meta.json").read_text())
    doc.update(changes)
    (path / "meta.json").write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "corrupt, fname",
    [
        (lambda p: (p / "scales.npy").unlink(), "scales.npy"),
        (lambda p: np.save(p / "scales.npy", np.ones(39, np.float32)), "scales.npy"),
        (lambda p: np.save(p / "scales.npy", np.ones(40)), "scales.npy"),
        (lambda p: np.save(p / "scales.npy", np.full(40, -1, np.float32)), "scales.npy"),
        (lambda p: np.save(p / "scales.npy", np.full(40, np.nan, np.float32)), "scales.npy"),
        (lambda p: (p / "scales.npy").write_bytes((p / "scales.npy").read_bytes()[:-2]), "scales.npy"),
        (lambda p: _rewrite_meta(p, dtype="float16"), "meta.json"),
        (lambda p: _rewrite_meta(p, dtype="int4"), "meta.json"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((40, 7), np.uint8)), "vectors.npy"),
    ],
)
def test_int8_store_corruption_raises_valueerror_naming_file(tmp_path, corrupt, fname):
    rng = np.random.default_rng(0)
    emb = Embeddings(rng.standard_normal((40, 7)).astype(np.float32), [f"w{i}" for i in range(40)])
    path = emb.quantize("int8").save(tmp_path / "m.dv")
    corrupt(path)
    with pytest.raises(ValueError, match=fname):
        Embeddings.load(path)


def test_search_arguments():
    emb, q = clustered(n=300, m=3, d=8)
    with pytest.raises(ValueError, match="rescore"):
        emb.quantize("int8").search(q, k=10, rescore=5)
    with pytest.raises(ValueError, match="rescore_with needs"):
        emb.search(q, k=10, rescore_with=emb)
    with pytest.raises(ValueError, match="float32"):
        emb.quantize("int8").search(q, k=10, rescore=20, rescore_with=emb.quantize("float16"))
    # rescoring float32 embeddings is a no-op on the ranking
    assert np.array_equal(emb.search(q, k=10, rescore=30)[0], emb.search(q, k=10)[0])


def test_int8_rescored_top10_on_trained_vectors():
    # word2vec vectors of the generated world corpus (706 words), every word a query
    from densevec import datasets
    from densevec.corpus import Corpus
    from densevec.word2vec import Word2Vec

    corpus = Corpus.from_sentences(datasets.world_sentences(20000, seed=3), min_count=1)
    emb = Word2Vec(dim=48, epochs=2, threads=2, seed=1).fit(corpus, progress=False)
    q = np.asarray(emb.vectors)
    for metric in ("cosine", "dot"):
        exact, _ = emb.search(q, k=10, metric=metric)
        ids, _ = emb.quantize("int8").search(q, k=10, metric=metric, rescore=40)
        assert np.mean([np.array_equal(a, b) for a, b in zip(ids, exact)]) >= 0.99, metric
