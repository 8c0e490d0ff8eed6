"""Batched search (the register-blocked kernels fused with top-k, used from 8
queries on): results bit-identical to the kernels that rank them one at a time.

float32/float16: every (query, row) pair is summed over the columns in order,
one fused multiply-add per column in the SIMD kernels (a multiply and an add
in the serial one): a numpy reference of that order must equal the existing
batch kernel `dot_packed` bit for bit, and the batch search must return the
top-k of that reference under the key formula of csrc/search.h, applied step
by step in float32, and the top-k rule (best first, ties by lower id, NaN last). int8: dot products are exact, so a
batch must return exactly what each query searched alone by the serial
kernel returns."""
from __future__ import annotations

import numpy as np
import pytest

from densevec import _core

ISAS = _core.simd_isas()


def topk_by_key(key: np.ndarray, k: int, exclude=()) -> np.ndarray:
    """Best (highest key) first, ties by lower id, NaN last, excluded dropped."""
    rank = np.where(np.isnan(key), -np.inf, key)
    skip = set(exclude)
    out = []
    for row in rank:
        order = np.lexsort((np.arange(len(row)), -row))
        out.append([i for i in order if i not in skip][:k])
    return np.array(out, dtype=np.int64)


def ordered_dots(q: np.ndarray, rows: np.ndarray, fused: bool) -> np.ndarray:
    """Every (query, row) dot product summed over the columns in order from 0,
    in float32: one rounding per column with a fused multiply-add (the SIMD
    kernels), or the product then the sum rounded separately (the serial one).
    The fused step is a float64 sum rounded to float32: the product of two
    float32 is exact in float64, so this is the fused result except at
    double-rounding midpoints (rare; the data here have none)."""
    qd, rd = q.astype(np.float64), rows.astype(np.float32).astype(np.float64)
    acc = np.zeros((len(q), len(rows)), np.float32)
    for j in range(q.shape[1]):
        if fused:
            acc = (qd[:, j, None] * rd[None, :, j] + acc).astype(np.float32)
        else:
            acc = acc + (q[:, j, None] * rows[None, :, j].astype(np.float32))
    return acc


def float_keys(scores, metric, scale, norms, qq):
    """The key formula of csrc/search.h in float32, one operation at a time."""
    key = scores.copy()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if scale is not None:
            key = key * scale
        if metric == "cosine" and norms is not None:
            key = np.where(norms != 0, key / np.where(norms != 0, norms, 1), np.float32(0))
        if metric == "l2":
            t = (qq[:, None] - np.float32(2) * key) + norms * norms
            key = -np.where(t < 0, np.float32(0), t)
    return key.astype(np.float32)


def float_problem(n, d, m, dtype, seed):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, d)).astype(dtype)
    rows[n // 3] = np.nan  # NaN scores rank last
    rows[n // 2] = rows[5]  # equal scores: lower id first
    # integer queries: |q|^2 is exact whatever the summation order; cosine
    # queries have four entries +-1, so their normalisation (divide by 2) is exact
    q = rng.integers(-3, 4, size=(m, d)).astype(np.float32)
    return rows, q


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("metric", ["dot", "dot-scaled", "cosine", "l2-scaled"])
@pytest.mark.parametrize("d", [3, 100, 301])
def test_float_batch_equals_dot_packed_then_topk(isa, dtype, metric, d):
    n, m = 1201, 13  # several tiles, a partial last panel, a partial last group of queries
    rows, q = float_problem(n, d, m, dtype, seed=d)
    rng = np.random.default_rng(d + 1)
    scale = norms = None
    if metric.endswith("scaled"):
        scale = rng.uniform(0.5, 2.0, size=n).astype(np.float32)
        scale[9] = 0.0
    if metric in ("cosine", "l2-scaled"):
        norms = rng.uniform(0.5, 2.0, size=n).astype(np.float32)
        norms[[4, n - 1]] = 0.0
    name = metric.split("-")[0]
    if name == "cosine":
        nnz = 4 if d >= 4 else 1  # norm 2 or 1
        q[:] = 0
        for i in range(m):
            q[i, rng.choice(d, size=nnz, replace=False)] = rng.choice([-1.0, 1.0], size=nnz)
        qn = q / np.float32(np.sqrt(nnz))
    else:
        qn = q
    qq = (q.astype(np.float64) ** 2).sum(1).astype(np.float32)
    exclude = np.array([0, 77, n - 2], dtype=np.int64)
    raw = ordered_dots(qn, rows, fused=isa != "serial")  # the scalar reference of the order
    packed = _core.testing.dot_packed(np.ascontiguousarray(qn), rows, isa)  # the existing batch kernel
    assert np.array_equal(raw, packed, equal_nan=True)
    key = float_keys(raw, name, scale, norms, qq)
    for k in (1, 10, 500):  # 500: the threshold stays open over several tiles
        ids, scores = _core.search(q, rows, k, name, scale, norms, exclude, 1, isa)
        want = topk_by_key(key, k, exclude=exclude.tolist())
        assert np.array_equal(ids, want)
        want_scores = np.take_along_axis(key, want, 1)
        if name == "l2":
            want_scores = -want_scores
        assert np.array_equal(scores.view(np.uint32), want_scores.view(np.uint32))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [1, 31, 100, 301])
@pytest.mark.parametrize("metric", ["dot", "cosine", "l2"])
def test_int8_batch_bit_identical_to_single_query_serial(isa, d, metric):
    rng = np.random.default_rng(200 + d)
    n, m = 1203, 11
    rows = rng.integers(-128, 128, size=(n, d)).astype(np.int8)  # -128 reads as -127
    rows[3] = rows[n // 2]
    scale = rng.uniform(0.001, 0.02, size=n).astype(np.float32)
    scale[n // 2] = scale[3]  # equal keys: lower id first
    scale[[5, n - 1]] = 0.0
    scale[7] = np.nan
    norms = (np.linalg.norm(np.maximum(rows, -127).astype(np.float64), axis=1) * scale).astype(np.float32)
    norms[[11, n - 2]] = 0.0
    q = rng.standard_normal((m, d)).astype(np.float32)
    exclude = np.array([2, 1000, n - 3], dtype=np.int64)
    for k in (1, 10, 500):
        ids, scores = _core.search(q, rows, k, metric, scale, norms, exclude, 1, isa)
        for i in range(m):  # one query: the single-query scan, serial kernel
            w_ids, w_scores = _core.search(q[i : i + 1], rows, k, metric, scale, norms, exclude, 1, "serial")
            assert np.array_equal(ids[i], w_ids[0])
            assert np.array_equal(scores[i].view(np.uint32), w_scores[0].view(np.uint32))


def test_float_batch_matches_single_queries_and_float64():
    """The batch path against independent references: float64 ids, and every
    query searched alone (another kernel and summation order) gives the same ids."""
    rng = np.random.default_rng(8)
    rows = rng.standard_normal((3000, 64)).astype(np.float32)
    q = rng.standard_normal((20, 64)).astype(np.float32)
    ids, scores = _core.search(q, rows, 10, "dot", None, None, None, 2, "")
    ref = q.astype(np.float64) @ rows.astype(np.float64).T
    assert np.array_equal(ids, topk_by_key(ref, 10))
    assert np.allclose(scores, np.take_along_axis(ref, ids, 1), rtol=1e-5, atol=1e-5)
    single = np.concatenate([_core.search(q[i : i + 1], rows, 10)[0] for i in range(20)])
    assert np.array_equal(single, ids)
