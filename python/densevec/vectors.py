"""Word vectors: storage, lookup, normalisation, similarity queries and search.

:class:`Embeddings` holds a ``(n, dim)`` float32 matrix and its vocabulary, with
the names a gensim ``KeyedVectors`` user looks for (``emb["word"]``,
``"word" in emb``, ``most_similar``, ``save_word2vec_format``).

Files it reads and writes:

* a densevec *store*, a directory ``NAME.dv/`` holding ``vectors.npy``
  (``numpy.load(mmap_mode="r")`` opens it), ``vocab.txt`` (``word<TAB>count``
  per line, UTF-8) and ``meta.json``; :meth:`Embeddings.load` memory-maps it;
* the word2vec text and binary formats of ``word2vec.c`` and gensim.

Every file is validated before it is used: bad input raises ``ValueError``
naming the file and the problem, and every writer writes to a temporary name
in the destination directory and renames it into place, so an interrupted
write never leaves a half-written file under the final name.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]
Metric = Literal["cosine", "dot", "l2"]
AnalogyMethod = Literal["3cosadd", "3cosmul"]

STORE_FORMAT = "densevec-store"
STORE_FORMAT_VERSION = 1
COSMUL_EPS = 1e-3  # Levy & Goldberg (2014)

_BLOCK_ELEMS = 1 << 22  # scores held at once by the blocked top-k (16 MiB of float32)
_QUERY_BLOCK = 1024
_MAX_WORD_BYTES = 1 << 16
_MAX_HEADER_BYTES = 1024
_READ_CHUNK = 1 << 20
_COUNT_RE = re.compile(r"[0-9]+")


class Embeddings:
    """Word vectors with their vocabulary.

    Parameters
    ----------
    vectors : numpy.ndarray, shape (n, dim)
        Floating-point vectors, one row per word; stored as C-contiguous float32
        (converted if needed, without copying when already so).
    words : sequence of str, length n
        The word of each row. Duplicates are refused.
    counts : numpy.ndarray of int, shape (n,), optional
        Corpus frequency of each word (non-negative).
    meta : dict, optional
        Free-form, JSON-serialisable description of what produced the vectors
        (algorithm, parameters, ...). ``meta["normalized"]`` is True when the rows
        have unit length.

    Notes
    -----
    Norms and unit vectors are computed once and cached: treat ``vectors`` as
    read-only (vectors loaded from a store are memory-mapped read-only).
    """

    def __init__(
        self,
        vectors: np.ndarray,
        words: Sequence[str],
        counts: np.ndarray | None = None,
        meta: dict | None = None,
    ) -> None:
        arr = np.asarray(vectors)
        if arr.ndim != 2:
            raise ValueError(f"vectors must be 2-D (n, dim), got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"vectors must have a floating dtype, got {arr.dtype}")
        self._vectors = np.ascontiguousarray(arr, dtype=np.float32)
        words = list(words)
        if len(words) != arr.shape[0]:
            raise ValueError(f"{len(words)} words for {arr.shape[0]} vectors")
        key_to_index: dict[str, int] = {}
        for i, w in enumerate(words):
            if not isinstance(w, str):
                raise TypeError(f"words must be str, got {type(w).__name__} at index {i}")
            if w in key_to_index:
                raise ValueError(f"duplicate word {w!r} at indices {key_to_index[w]} and {i}")
            key_to_index[w] = i
        self._words = words
        self._key_to_index = key_to_index
        if counts is not None:
            c = np.asarray(counts)
            if c.shape != (len(words),):
                raise ValueError(f"counts must have shape ({len(words)},), got {c.shape}")
            if c.size and not np.issubdtype(c.dtype, np.integer):
                raise TypeError(f"counts must be integers, got {c.dtype}")
            if c.size and c.min() < 0:
                raise ValueError("counts must be non-negative")
            counts = c.astype(np.int64)
        self._counts = counts
        self._meta = dict(meta) if meta is not None else {}
        self._norms: np.ndarray | None = None
        self._unit: np.ndarray | None = None

    # ------------------------------------------------------------------ basics
    @property
    def vectors(self) -> np.ndarray:
        """The ``(n, dim)`` float32 matrix, one row per word."""
        return self._vectors

    @property
    def index_to_word(self) -> list[str]:
        """Words in row order (a list of length n)."""
        return self._words

    @property
    def key_to_index(self) -> dict[str, int]:
        """Map from word to row index."""
        return self._key_to_index

    @property
    def counts(self) -> np.ndarray | None:
        """Word counts, int64 array of shape ``(n,)``, or None when unknown."""
        return self._counts

    @property
    def meta(self) -> dict:
        """Description of what produced the vectors (JSON-serialisable dict)."""
        return self._meta

    @property
    def dim(self) -> int:
        """Number of dimensions of each vector."""
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._key_to_index

    def __repr__(self) -> str:
        return f"Embeddings(n={len(self)}, dim={self.dim})"

    def get_index(self, word: str) -> int:
        """Row index of `word`; ``KeyError`` naming the word if it is unknown."""
        try:
            return self._key_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} not in vocabulary") from None

    def __getitem__(self, word: str | Sequence[str]) -> np.ndarray:
        """Vector of one word, shape ``(dim,)``, or of a list of words, shape ``(len(words), dim)``."""
        if isinstance(word, str):
            return self._vectors[self.get_index(word)]
        ids = np.array([self.get_index(w) for w in word], dtype=np.int64)
        return self._vectors[ids]

    # --------------------------------------------------------- normalisation
    @property
    def norms(self) -> np.ndarray:
        """L2 norm of each row, float32 array of shape ``(n,)`` (cached)."""
        if self._norms is None:
            self._norms = np.linalg.norm(self._vectors, axis=1).astype(np.float32)
        return self._norms

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length, float32 ``(n, dim)`` (cached); zero rows stay zero."""
        if self._unit is None:
            norms = self.norms
            safe = np.where(norms > 0, norms, np.float32(1))
            self._unit = (self._vectors / safe[:, None]).astype(np.float32)
        return self._unit

    def normalize(self) -> Embeddings:
        """New :class:`Embeddings` whose rows have unit length (``meta["normalized"] = True``)."""
        meta = dict(self._meta)
        meta["normalized"] = True
        return Embeddings(self.unit_vectors.copy(), self._words, self._counts, meta)

    # ---------------------------------------------------------- similarity
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the vectors of words `a` and `b` (0 if either is zero)."""
        u = self.unit_vectors
        return float(np.dot(u[self.get_index(a)], u[self.get_index(b)]))

    def most_similar(
        self,
        positive: str | np.ndarray | Sequence[str | np.ndarray] = (),
        negative: str | np.ndarray | Sequence[str | np.ndarray] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Words closest to the mean of `positive` minus `negative`, as gensim does it.

        Each word (or ``(dim,)`` vector) is unit-normalised; the query is the mean
        of the positive ones and the negated negative ones, normalised again. Words
        are ranked by cosine similarity with it; the input words are excluded.

        Parameters
        ----------
        positive, negative : str, array of shape (dim,), or a sequence of them
        topn : int
            Number of results.
        restrict_vocab : int, optional
            Only the first `restrict_vocab` words are candidates.

        Returns
        -------
        list of (str, float)
            Words and cosine similarities, best first (ties: lower index first).
        """
        pos = _as_items(positive)
        neg = _as_items(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one positive or negative item")
        unit = self.unit_vectors
        mean = np.zeros(self.dim, dtype=np.float32)
        exclude = []
        for items, weight in ((pos, 1.0), (neg, -1.0)):
            for item in items:
                if isinstance(item, str):
                    i = self.get_index(item)
                    exclude.append(i)
                    vec = unit[i]
                else:
                    vec = _unit(np.asarray(item, dtype=np.float32), self.dim)
                mean += np.float32(weight) * vec
        query = _unit(mean / np.float32(len(pos) + len(neg)), self.dim)
        stop = self._clip(restrict_vocab)
        excl = np.unique(np.array(exclude, dtype=np.int64))
        available = stop - int(np.count_nonzero(excl < stop))
        ids, scores = _topk(
            1, stop, min(topn, available), lambda q0, q1, r0, r1: unit[r0:r1] @ query,
            largest=True, exclude=excl, row_scores=True,
        )
        return [(self._words[i], float(s)) for i, s in zip(ids[0], scores[0])]

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        topn: int = 1,
        method: AnalogyMethod = "3cosadd",
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Solve "`a` is to `b` as `c` is to ?".

        ``"3cosadd"`` ranks words by cosine with ``b - a + c`` (unit vectors, as
        ``most_similar(positive=[b, c], negative=[a])``); ``"3cosmul"`` ranks them
        by ``cos'(d, b) * cos'(d, c) / (cos'(d, a) + 1e-3)`` with
        ``cos' = (cos + 1) / 2`` (Levy & Goldberg, 2014). `a`, `b` and `c` are
        never returned.

        Returns
        -------
        list of (str, float)
            Up to `topn` words with their scores, best first.
        """
        ids = [np.array([self.get_index(w)], dtype=np.int64) for w in (a, b, c)]
        top_ids, top_scores = self._analogy_topk(*ids, topn=topn, method=method, restrict_vocab=restrict_vocab)
        return [
            (self._words[i], float(s)) for i, s in zip(top_ids[0], top_scores[0]) if s != -np.inf
        ]

    def _analogy_topk(
        self,
        a: np.ndarray,
        b: np.ndarray,
        c: np.ndarray,
        topn: int,
        method: AnalogyMethod = "3cosadd",
        restrict_vocab: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Batched analogies: ids and scores ``(q, min(topn, R))`` for index arrays of shape ``(q,)``.

        Each row excludes its own a, b, c; excluded slots (only when fewer
        candidates remain than `topn`) hold the score ``-inf``.
        """
        if method not in ("3cosadd", "3cosmul"):
            raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
        unit = self.unit_vectors
        stop = self._clip(restrict_vocab)
        row_exclude = np.stack([a, b, c], axis=1).astype(np.int64)
        if method == "3cosadd":
            query = (unit[b] - unit[a] + unit[c]) / np.float32(3)
            qn = np.linalg.norm(query, axis=1, keepdims=True)
            query = (query / np.where(qn > 0, qn, np.float32(1))).astype(np.float32)

            def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
                return query[q0:q1] @ unit[r0:r1].T
        else:
            ua, ub, uc = unit[a], unit[b], unit[c]

            def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
                block = unit[r0:r1].T
                sa, sb, sc = ((x[q0:q1] @ block + 1) / 2 for x in (ua, ub, uc))
                return (sb * sc / (sa + np.float32(COSMUL_EPS))).astype(np.float32)

        return _topk(len(a), stop, topn, score, largest=True, row_exclude=row_exclude)

    def _clip(self, restrict_vocab: int | None) -> int:
        n = len(self._words)
        if restrict_vocab is None:
            return n
        if restrict_vocab < 0:
            raise ValueError(f"restrict_vocab must be >= 0, got {restrict_vocab}")
        return min(int(restrict_vocab), n)

    # --------------------------------------------------------------- search
    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        metric: Metric = "cosine",
        exclude: Iterable[str | int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact k-nearest-neighbour search over all rows (numpy brute force).

        Parameters
        ----------
        queries : numpy.ndarray, shape (m, dim) or (dim,)
        k : int
            Neighbours per query; fewer if fewer rows are left after `exclude`.
        metric : {"cosine", "dot", "l2"}
            Higher cosine / dot is better; for ``"l2"`` the score is the squared
            Euclidean distance, smaller is better.
        exclude : iterable of str or int, optional
            Words (or row indices) never returned.

        Returns
        -------
        ids : numpy.ndarray of int64, shape (m, k') or (k',)
        scores : numpy.ndarray of float32, same shape
            Best first; ties are broken by the lower row index.
        """
        q = np.asarray(queries, dtype=np.float32)
        single = q.ndim == 1
        if single:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (m, {self.dim}) or ({self.dim},), got {np.shape(queries)}")
        if metric not in ("cosine", "dot", "l2"):
            raise ValueError(f"metric must be 'cosine', 'dot' or 'l2', got {metric!r}")
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        n = len(self)
        excl = np.unique(np.array(
            [self.get_index(x) if isinstance(x, str) else _check_index(x, n) for x in (exclude or ())],
            dtype=np.int64,
        ))
        k = min(k, n - len(excl))
        if metric == "cosine":
            qn = np.linalg.norm(q, axis=1, keepdims=True)
            qs = np.ascontiguousarray(q / np.where(qn > 0, qn, np.float32(1)), dtype=np.float32)
            db = self.unit_vectors

            def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
                return qs[q0:q1] @ db[r0:r1].T
        elif metric == "dot":
            db = self._vectors

            def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
                return q[q0:q1] @ db[r0:r1].T
        else:
            db = self._vectors
            qsq = np.einsum("ij,ij->i", q, q)

            def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
                rows = db[r0:r1]
                d = (q[q0:q1] @ rows.T) * np.float32(-2)
                d += qsq[q0:q1, None]
                d += np.einsum("ij,ij->i", rows, rows)[None, :]
                return np.maximum(d, np.float32(0))

        ids, scores = _topk(len(q), n, k, score, largest=metric != "l2", exclude=excl)
        return (ids[0], scores[0]) if single else (ids, scores)

    # ---------------------------------------------------------------- store
    def save(self, path: PathLike) -> Path:
        """Write a store directory (``vectors.npy``, ``vocab.txt``, ``meta.json``) atomically.

        The store is built in a temporary sibling directory and renamed into
        place; an existing store at `path` is replaced only once the new one is
        complete. Returns the path of the store.
        """
        path = Path(path)
        for i, w in enumerate(self._words):
            if not w or any(ch in w for ch in "\t\n\r"):
                raise ValueError(f"word {w!r} at index {i} cannot be stored in vocab.txt (empty or has tab/newline)")
        doc = {
            "format": STORE_FORMAT,
            "format_version": STORE_FORMAT_VERSION,
            "dim": self.dim,
            "count": len(self),
            "dtype": "float32",
            "normalized": bool(self._meta.get("normalized", False)),
            "has_counts": self._counts is not None,
            "meta": self._meta,
        }
        meta_text = json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        counts = self._counts if self._counts is not None else np.zeros(len(self), dtype=np.int64)
        tmp = _fresh_sibling(path, "tmp")
        os.mkdir(tmp)
        try:
            with open(tmp / "vectors.npy", "wb") as f:
                np.save(f, np.ascontiguousarray(self._vectors), allow_pickle=False)
                _sync(f)
            with open(tmp / "vocab.txt", "w", encoding="utf-8", newline="\n") as f:
                for start in range(0, len(self), 65536):
                    chunk = zip(self._words[start:start + 65536], counts[start:start + 65536].tolist())
                    f.write("".join(f"{w}\t{c}\n" for w, c in chunk))
                _sync(f)
            with open(tmp / "meta.json", "w", encoding="utf-8", newline="\n") as f:
                f.write(meta_text)
                _sync(f)
            _replace_dir(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: PathLike, mmap: bool = True) -> Embeddings:
        """Open a store written by :meth:`save`, memory-mapped read-only by default.

        ``meta.json``, ``vocab.txt`` and the header of ``vectors.npy`` are checked
        against each other before anything is mapped; a problem raises
        ``ValueError`` naming the file. A missing `path` raises ``FileNotFoundError``.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such store")
        if not path.is_dir():
            raise ValueError(f"{path}: not a densevec store (not a directory)")
        doc = _read_store_meta(path / "meta.json")
        count, dim = doc["count"], doc["dim"]
        words, counts = _read_vocab(path / "vocab.txt", count)
        vpath = path / "vectors.npy"
        _check_npy(vpath, (count, dim))
        try:
            arr = np.load(vpath, mmap_mode="r" if mmap and count > 0 else None, allow_pickle=False)
        except Exception as e:  # header was checked; this is an I/O-level failure
            raise ValueError(f"{vpath}: cannot load: {e}") from e
        try:
            return cls(arr, words, counts if doc["has_counts"] else None, doc["meta"])
        except ValueError as e:
            raise ValueError(f"{path / 'vocab.txt'}: {e}") from None

    # ------------------------------------------------------ word2vec format
    def save_word2vec_format(self, path: PathLike, binary: bool = False) -> Path:
        """Write the word2vec text or binary format (as ``word2vec.c`` and gensim do), atomically.

        Text: a ``"count dim"`` header line, then ``word v1 v2 ...`` per row with
        the shortest decimal that reads back to the same float32. Binary: the same
        header, then per row the UTF-8 word, a space, ``dim`` little-endian float32
        and a newline.
        """
        path = Path(path)
        for i, w in enumerate(self._words):
            if not w or any(ch in w for ch in " \t\n\r"):
                raise ValueError(f"word {w!r} at index {i} cannot be written in word2vec format (empty or whitespace)")
        tmp = _fresh_sibling(path, "tmp")
        try:
            with open(tmp, "xb") as f:
                f.write(f"{len(self)} {self.dim}\n".encode("ascii"))
                for start in range(0, len(self), 4096):
                    rows = np.asarray(self._vectors[start:start + 4096])
                    words = self._words[start:start + 4096]
                    if binary:
                        raw = rows.astype("<f4").tobytes()
                        step = 4 * self.dim
                        f.write(b"".join(
                            w.encode("utf-8") + b" " + raw[j * step:(j + 1) * step] + b"\n" for j, w in enumerate(words)
                        ))
                    else:
                        f.write("".join(
                            w + " " + " ".join(map(str, row)) + "\n" for w, row in zip(words, rows)
                        ).encode("utf-8"))
                _sync(f)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load_word2vec_format(cls, path: PathLike, binary: bool = False) -> Embeddings:
        """Read a word2vec text or binary file; ``ValueError`` naming the file and line on malformed input."""
        path = Path(path)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.readline(_MAX_HEADER_BYTES)
            n, dim = _parse_w2v_header(path, head)
            left = size - len(head)
            min_row = 4 * dim + 2 if binary else 2 * dim + 2
            if n * min_row - 1 > left:
                raise ValueError(f"{path}: truncated: header says {n} rows of dim {dim}, only {left} bytes follow")
            reader = _read_w2v_binary if binary else _read_w2v_text
            words, vectors = reader(f, path, n, dim)
        try:
            return cls(vectors, words)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


# ======================================================================= helpers
def _as_items(x: object) -> list:
    if x is None:
        return []
    if isinstance(x, (str, np.ndarray)):
        return [x]
    return list(x)  # type: ignore[call-overload]


def _unit(v: np.ndarray, dim: int) -> np.ndarray:
    if v.shape != (dim,):
        raise ValueError(f"vector must have shape ({dim},), got {v.shape}")
    n = np.linalg.norm(v)
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


def _check_index(i: object, n: int) -> int:
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise TypeError(f"exclude items must be words or row indices, got {i!r}")
    if not 0 <= int(i) < n:
        raise IndexError(f"row index {i} out of range for {n} rows")
    return int(i)


def _topk(
    m: int,
    n: int,
    k: int,
    score: Callable[[int, int, int, int], np.ndarray],
    largest: bool,
    exclude: np.ndarray | None = None,
    row_exclude: np.ndarray | None = None,
    row_scores: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Blocked exact top-k of an implicit ``(m, n)`` score matrix.

    ``score(q0, q1, r0, r1)`` returns the float32 block ``[q0:q1, r0:r1]`` (or,
    with `row_scores`, the 1-D scores of rows ``r0:r1`` for the single query).
    Excluded cells (global column ids `exclude`, per-query ids `row_exclude`
    of shape ``(m, e)``) get the worst possible score. Order: best first, ties
    by lower column index.
    """
    k = max(0, min(k, n))
    ids_out = np.zeros((m, k), dtype=np.int64)
    out = np.zeros((m, k), dtype=np.float32)
    if k == 0 or m == 0:
        return ids_out, out
    for q0 in range(0, m, _QUERY_BLOCK):
        q1 = min(m, q0 + _QUERY_BLOCK)
        rb = max(k, _BLOCK_ELEMS // (q1 - q0))
        best_ids = best_key = None
        for r0 in range(0, n, rb):
            r1 = min(n, r0 + rb)
            block = score(q0, q1, r0, r1)
            key = np.array(block[None, :] if row_scores else block, dtype=np.float32)
            if largest:
                np.negative(key, out=key)
            if exclude is not None and len(exclude):
                key[:, exclude[(exclude >= r0) & (exclude < r1)] - r0] = np.inf
            if row_exclude is not None:
                rex = row_exclude[q0:q1]
                rows, cols = np.nonzero((rex >= r0) & (rex < r1))
                key[rows, rex[rows, cols] - r0] = np.inf
            bi, bk = _block_topk(key, k)
            bi += r0
            if best_ids is None:
                best_ids, best_key = bi, bk
            else:
                cat_ids = np.concatenate([best_ids, bi], axis=1)
                cat_key = np.concatenate([best_key, bk], axis=1)
                order = np.argsort(cat_key, axis=1, kind="stable")[:, :k]
                best_ids = np.take_along_axis(cat_ids, order, axis=1)
                best_key = np.take_along_axis(cat_key, order, axis=1)
        ids_out[q0:q1] = best_ids
        out[q0:q1] = -best_key if largest else best_key
    return ids_out, out


def _block_topk(key: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest `k` keys per row of `key`, ascending, ties by lower column."""
    m, b = key.shape
    if k >= b:
        order = np.argsort(key, axis=1, kind="stable")
        return order, np.take_along_axis(key, order, axis=1)
    part = np.argpartition(key, k - 1, axis=1)[:, :k]
    part.sort(axis=1)
    vals = np.take_along_axis(key, part, axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    # argpartition picks arbitrarily among keys tied with the k-th one: redo those rows.
    kth = vals[:, -1:]
    for r in np.nonzero(np.count_nonzero(key <= kth, axis=1) > k)[0]:
        o = np.argsort(key[r], kind="stable")[:k]
        ids[r] = o
        vals[r] = key[r, o]
    return ids, vals


def _fresh_sibling(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _is_store(path: Path) -> bool:
    try:
        with open(path / "meta.json", encoding="utf-8") as f:
            return json.load(f).get("format") == STORE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _replace_dir(tmp: Path, path: Path) -> None:
    """Move the finished directory `tmp` to `path`, replacing an existing store there."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    if not path.is_dir() or path.is_symlink() or not (_is_store(path) or not any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not a densevec store; refusing to replace it")
    old = _fresh_sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _read_store_meta(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(1 << 24).decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not valid UTF-8 JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if doc.get("format") != STORE_FORMAT:
        raise ValueError(f"{path}: format is {doc.get('format')!r}, expected {STORE_FORMAT!r}")
    if doc.get("format_version") != STORE_FORMAT_VERSION or type(doc.get("format_version")) is not int:
        raise ValueError(f"{path}: unsupported format_version {doc.get('format_version')!r}")
    for key, lo in (("dim", 1), ("count", 0)):
        v = doc.get(key)
        if type(v) is not int or v < lo:
            raise ValueError(f"{path}: {key} must be an integer >= {lo}, got {v!r}")
    if doc.get("dtype") != "float32":
        raise ValueError(f"{path}: unsupported dtype {doc.get('dtype')!r}")
    for key in ("normalized", "has_counts"):
        if type(doc.get(key)) is not bool:
            raise ValueError(f"{path}: {key} must be true or false, got {doc.get(key)!r}")
    if not isinstance(doc.get("meta"), dict):
        raise ValueError(f"{path}: meta must be a JSON object")
    return doc


def _read_vocab(path: Path, count: int) -> tuple[list[str], np.ndarray]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    lines = text.split("\n")
    if lines[-1] != "":
        raise ValueError(f"{path}: line {len(lines)}: missing final newline (truncated?)")
    lines.pop()
    if len(lines) != count:
        raise ValueError(f"{path}: {len(lines)} lines, meta.json says count={count}")
    words: list[str] = []
    counts = np.empty(count, dtype=np.int64)
    for i, line in enumerate(lines):
        word, tab, c = line.rpartition("\t")
        if not tab or not word or not _COUNT_RE.fullmatch(c) or len(c) > 18:
            raise ValueError(f"{path}: line {i + 1}: expected 'word<TAB>count', got {line[:80]!r}")
        words.append(word)
        counts[i] = int(c)
    return words, counts


def _check_npy(path: Path, shape: tuple[int, int]) -> None:
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except Exception as e:  # numpy raises assorted errors on garbage headers
        raise ValueError(f"{path}: not a valid .npy file: {e}") from None
    if dtype != np.dtype("<f4"):
        raise ValueError(f"{path}: dtype {dtype}, expected little-endian float32")
    if fortran:
        raise ValueError(f"{path}: Fortran order, expected C order")
    if tuple(hshape) != shape:
        raise ValueError(f"{path}: shape {tuple(hshape)}, meta.json/vocab.txt say {shape}")
    expected = offset + 4 * shape[0] * shape[1]
    if size != expected:
        raise ValueError(f"{path}: {size} bytes, expected {expected} (truncated or padded)")


def _parse_w2v_header(path: Path, head: bytes) -> tuple[int, int]:
    parts = head.split()
    if (
        not head.endswith(b"\n") or len(parts) != 2
        or not all(p.isdigit() and len(p) < 19 for p in parts)
    ):
        raise ValueError(f"{path}: line 1: expected a 'count dim' header, got {head[:80]!r}")
    n, dim = int(parts[0]), int(parts[1])
    if dim < 1:
        raise ValueError(f"{path}: line 1: dim must be >= 1, got {dim}")
    return n, dim


def _read_w2v_text(f, path: Path, n: int, dim: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
    for i in range(n):
        line_no = i + 2
        raw = f.readline()
        if not raw:
            raise ValueError(f"{path}: line {line_no}: unexpected end of file; header says {n} rows, found {i}")
        try:
            parts = raw.decode("utf-8").rstrip().split(" ")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: line {line_no}: not valid UTF-8 at byte {e.start}") from None
        if len(parts) != dim + 1 or not parts[0]:
            raise ValueError(f"{path}: line {line_no}: expected a word and {dim} numbers, found {len(parts)} fields")
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_float(p))
            raise ValueError(f"{path}: line {line_no}: bad number {bad[:40]!r}") from None
        words.append(parts[0])
    _check_trailing(f, path, n, b" \t\r\n")
    return words, vectors


def _is_float(s: str) -> bool:
    try:
        np.float32(s)
        return True
    except ValueError:
        return False


def _read_w2v_binary(f, path: Path, n: int, dim: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
    row = 4 * dim
    buf = b""
    pos = 0
    eof = False

    def fill(need: int) -> bool:
        nonlocal buf, pos, eof
        while len(buf) - pos < need and not eof:
            chunk = f.read(max(_READ_CHUNK, need))
            eof = not chunk
            buf = buf[pos:] + chunk
            pos = 0
        return len(buf) - pos >= need

    for i in range(n):
        where = f"{path}: record {i + 1} of {n}"
        while True:
            sp = buf.find(b" ", pos, pos + _MAX_WORD_BYTES + 1)
            if sp >= 0 or len(buf) - pos > _MAX_WORD_BYTES:
                break
            before = len(buf) - pos
            fill(before + 1)
            if len(buf) - pos == before:
                raise ValueError(f"{where}: unexpected end of file while reading a word")
        if sp < 0:
            raise ValueError(f"{where}: no space after the word within {_MAX_WORD_BYTES} bytes")
        word_bytes = buf[pos:sp].lstrip(b"\n")
        if not word_bytes or b"\n" in word_bytes:
            raise ValueError(f"{where}: malformed word {word_bytes[:40]!r}")
        try:
            word = word_bytes.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: word is not valid UTF-8 at byte {e.start}") from None
        pos = sp + 1
        if not fill(row):
            raise ValueError(f"{where}: truncated vector ({len(buf) - pos} of {row} bytes)")
        vectors[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
        pos += row
        words.append(word)
    rest = buf[pos:]
    if rest.strip(b"\n"):
        raise ValueError(f"{path}: data after the {n} records the header announces")
    _check_trailing(f, path, n, b"\n")
    return words, vectors


def _check_trailing(f, path: Path, n: int, allowed: bytes) -> None:
    while True:
        chunk = f.read(_READ_CHUNK)
        if not chunk:
            return
        if chunk.strip(allowed):
            raise ValueError(f"{path}: data after the {n} rows the header announces")
