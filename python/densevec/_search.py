"""Helpers of :class:`densevec.Embeddings` for quantisation and exact search.

The scans and the top-k selection run in C++ (``densevec._core.search``, with
the GIL released); this module prepares its operands, quantises rows and
rescores short candidate lists in float32.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from densevec import _core
from densevec._validate import MAX_THREADS, check_int

StorageDtype = Literal["float32", "float16", "int8"]
DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2"), "int8": np.dtype("i1")}
_CHUNK_ROWS = 65536
_RESCORE_QUERIES = 256


def dequantize(rows: np.ndarray, scales: np.ndarray | None) -> np.ndarray:
    """Rows (any storage dtype) as float32; int8 rows are multiplied by their scale."""
    out = np.asarray(rows, dtype=np.float32)
    if scales is not None:
        out = out * np.asarray(scales, dtype=np.float32)[..., None]
    return out


def row_norms(vectors: np.ndarray, scales: np.ndarray | None, threads: int = 0) -> np.ndarray:
    """L2 norm of each dequantised row, float32 ``(n,)``.

    Computed in C++ (``_core.row_norms``: the scan kernels, threads, GIL
    released), reading the rows once and allocating nothing but the result.
    """
    rows = np.asarray(vectors).view(np.ndarray)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float32)
    return _core.row_norms(rows, None if scales is None else np.asarray(scales, dtype=np.float32), threads)


def unit_rows(rows: np.ndarray, norms: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 `rows` ``(..., dim)`` divided by their `norms` ``(...)``; zero rows stay zero.

    Writes into `out` when given (no temporary as large as `rows`).
    """
    safe = np.where(norms == 0, np.float32(1), norms).astype(np.float32)[..., None]
    return np.divide(rows, safe, out=out, dtype=np.float32)


def unit_copy(vectors: np.ndarray, scales: np.ndarray | None, norms: np.ndarray) -> np.ndarray:
    """A new float32 array of the dequantised rows scaled to unit length, built in chunks."""
    out = np.empty(vectors.shape, dtype=np.float32)
    for start in range(0, len(vectors), _CHUNK_ROWS):
        stop = min(len(vectors), start + _CHUNK_ROWS)
        block = dequantize(vectors[start:stop], None if scales is None else scales[start:stop])
        unit_rows(block, norms[start:stop], out=out[start:stop])
    return out


def cosine_scores(
    queries: np.ndarray, rows: np.ndarray, scale: np.ndarray | None, norms: np.ndarray | None,
) -> np.ndarray:
    """Cosine of every query ``(m, dim)`` with every row ``(n, dim)``, float32 ``(m, n)``.

    `rows`, `scale` and `norms` are what :meth:`Embeddings._operands` gives
    for ``"cosine"``: rows as stored (dequantised here, a chunk at a time),
    their per-row int8 scales and cached norms (None: the rows have unit
    length). No copy of the matrix is made; zero rows and zero queries score 0.
    """
    q = np.asarray(queries, dtype=np.float32)
    q = unit_rows(q, np.linalg.norm(q, axis=1))
    out = np.empty((len(q), len(rows)), dtype=np.float32)
    for start in range(0, len(rows), _CHUNK_ROWS):
        stop = min(len(rows), start + _CHUNK_ROWS)
        block = dequantize(rows[start:stop], None if scale is None else scale[start:stop]) @ q.T
        if norms is not None:
            nb = np.asarray(norms[start:stop], dtype=np.float32)
            block /= np.where(nb == 0, np.float32(1), nb)[:, None]
        out[:, start:stop] = block.T
    return out


def quantize_int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: ``scale = max|x| / 127``, ``q = round(x / scale)``.

    Returns the int8 rows ``(n, dim)`` and the float32 scales ``(n,)``; a zero
    row gets scale 0.
    """
    n = len(vectors)
    q = np.empty(vectors.shape, dtype=np.int8)
    scales = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK_ROWS):
        block = np.asarray(vectors[start:start + _CHUNK_ROWS], dtype=np.float32)
        s = (np.abs(block).max(axis=1) / np.float32(127)).astype(np.float32) if block.shape[1] else 0
        scales[start:start + len(block)] = s
        safe = np.where(s > 0, s, np.float32(1))[:, None]
        q[start:start + len(block)] = np.clip(np.rint(block / safe), -127, 127).astype(np.int8)
    return q, scales


def rescore(
    queries: np.ndarray,
    cand: np.ndarray,
    source: np.ndarray,
    metric: str,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact float32 scores of candidate ids ``(m, R)`` against `source`; the k best.

    Ties are ordered by the lower row id, as in the C++ search.
    """
    m = len(queries)
    ids_out = np.empty((m, min(k, cand.shape[1])), dtype=np.int64)
    scores_out = np.empty(ids_out.shape, dtype=np.float32)
    for q0 in range(0, m, _RESCORE_QUERIES):
        q = queries[q0:q0 + _RESCORE_QUERIES]
        c = cand[q0:q0 + _RESCORE_QUERIES]
        rows = np.asarray(source[c.ravel()], dtype=np.float32).reshape(c.shape + (source.shape[1],))
        if metric == "l2":
            diff = rows - q[:, None, :]
            s = np.einsum("mrd,mrd->mr", diff, diff)
            key = s
        else:
            s = np.einsum("mrd,md->mr", rows, q)
            if metric == "cosine":
                qn = np.linalg.norm(q, axis=1)[:, None]
                rn = np.linalg.norm(rows, axis=2) * np.where(qn > 0, qn, np.float32(1))
                s = np.where(rn > 0, s / np.where(rn > 0, rn, np.float32(1)), np.float32(0))
            key = -s
        order = np.lexsort((c, key), axis=-1)[:, :ids_out.shape[1]]
        ids_out[q0:q0 + len(q)] = np.take_along_axis(c, order, axis=1)
        scores_out[q0:q0 + len(q)] = np.take_along_axis(s, order, axis=1)
    return ids_out, scores_out


def core_search(
    queries: np.ndarray,
    operands: tuple[np.ndarray, np.ndarray | None, np.ndarray | None],
    k: int,
    metric: str,
    exclude: np.ndarray | None,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``_core.search`` over ``operands = (rows, scale, norms)``; empty results
    where there is nothing to search."""
    k = check_int("k", k, 0)  # above the row count it means all rows
    threads = check_int("threads", threads, 0, MAX_THREADS)
    rows, scale, norms = operands
    n_left = len(rows) - (0 if exclude is None else len(exclude))
    k = min(k, n_left)
    if k <= 0 or len(queries) == 0:
        shape = (len(queries), max(k, 0))
        return np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.float32)
    return _core.search(
        np.ascontiguousarray(queries, dtype=np.float32), rows, k, metric,
        scale, norms, exclude, threads,
    )
