"""Word vectors: storage, lookup, normalisation, similarity queries and search.

:class:`Embeddings` holds a ``(n, dim)`` float32 matrix and its vocabulary, with
the names a gensim ``KeyedVectors`` user looks for (``emb["word"]``,
``"word" in emb``, ``most_similar``, ``save_word2vec_format``); gensim's other
queries (``most_similar_cosmul``, ``doesnt_match``, ``n_similarity``,
``distances``, ``rank``, ``get_mean_vector``, ``add_vectors``, ...) come from
the mixin in ``densevec/_keyed.py``.

Files it reads and writes:

* a densevec *store*, a directory ``NAME.dv/`` holding ``vectors.npy``
  (``numpy.load(mmap_mode="r")`` opens it), a binary vocabulary
  (``vocab_*.npy``, see :meth:`Embeddings.save`) and ``meta.json``;
  :meth:`Embeddings.load` memory-maps it and parses nothing;
* the word2vec text and binary formats of ``word2vec.c`` and gensim, which
  are also fastText's ``.vec`` and (without the header line) GloVe's text
  format.

Every file is validated before it is used: bad input raises ``ValueError``
naming the file and the problem, and every writer writes to a temporary name
in the destination directory and renames it into place, so an interrupted
write never leaves a half-written file under the final name.
"""
from __future__ import annotations

import codecs
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

import numpy as np

from densevec import _search, _space
from densevec._keyed import KeyedQueries, check_topn
from densevec._fs import PathLike
from densevec._store_format import read_store, write_store
from densevec._store_vocab import ListVocab, StoreVocab
from densevec._w2v_format import read_vectors, write_vectors
from densevec._w2v_format import read_counts, write_counts
from densevec._search import StorageDtype
from densevec._validate import check_int

Metric = Literal["cosine", "dot", "l2"]
AnalogyMethod = Literal["3cosadd", "3cosmul"]

COSMUL_EPS = 1e-3  # Levy & Goldberg (2014)

_BLOCK_ELEMS = 1 << 22  # scores held at once by the blocked top-k (16 MiB of float32)
_QUERY_BLOCK = 1024


class Embeddings(KeyedQueries):
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
        have unit length; ``meta["space"]`` (set by training) identifies the
        embedding space, see below; without one, the new embeddings get a
        space of their own.

    Notes
    -----
    Norms and unit vectors are computed once and cached: treat ``vectors`` as
    read-only (vectors loaded from a store are memory-mapped read-only).
    Quantised embeddings (float16, or int8 with a per-row scale) come from
    :meth:`quantize` or from a quantised store; the constructor always makes
    float32 embeddings.

    One embedding space: operations that combine two ``Embeddings``
    (``search(queries=other)``, ``search(rescore_with=other)``,
    ``densevec.reduce.distortion``) raise ``ValueError`` unless both record
    the same ``meta["space"]["id"]``, or when called with ``allow_mixed=True``
    (see :func:`check_same_space`). Every training run makes a new space;
    :meth:`normalize`, :meth:`quantize`, stores and the word2vec / GloVe
    files (through their ``.densevec.json`` sidecar) keep it; vectors read
    from a file densevec did not write get an id derived from their content;
    vectors built from arrays get a new space of their own (``origin:
    "arrays"``) unless ``meta["space"]`` gives one (e.g. ``meta=emb.meta``).
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
        if meta is None or "space" not in meta:  # vectors from arrays: a space of their own
            meta = dict(meta or {}, space=_space.new_space("arrays"))
        self._init(np.ascontiguousarray(arr, dtype=np.float32), None, ListVocab(words, counts), meta)

    @classmethod
    def _from_storage(
        cls, vectors: np.ndarray, scales: np.ndarray | None, vocab: ListVocab | StoreVocab,
        meta: dict | None,
    ) -> Embeddings:
        """Embeddings over float32/float16/int8 rows as stored (int8 with float32 `scales`)."""
        obj = cls.__new__(cls)
        obj._init(vectors, scales, vocab, meta)
        return obj

    def _init(
        self, arr: np.ndarray, scales: np.ndarray | None, vocab: ListVocab | StoreVocab,
        meta: dict | None,
    ) -> None:
        if len(vocab) != arr.shape[0]:
            raise ValueError(f"{len(vocab)} words for {arr.shape[0]} vectors")
        self._vectors = arr
        self._plain = arr.view(np.ndarray)  # row reads without np.memmap's per-index overhead (~3 us)
        self._scales = scales
        self._source: np.ndarray | None = None  # float32 rows a quantised copy came from
        self._vocab = vocab
        self._meta = dict(meta) if meta is not None else {}
        self._norms: np.ndarray | None = None
        self._unit: np.ndarray | None = None

    # ------------------------------------------------------------------ basics
    @property
    def vectors(self) -> np.ndarray:
        """The ``(n, dim)`` matrix as stored, one row per word.

        float32 (float16 or int8 for quantised embeddings: row ``i`` is then
        ``vectors[i] * scales[i]``). ``emb["word"]`` always gives float32.
        For the float32 values of every row use :meth:`to_numpy`; a PyTorch
        layer: ``torch.nn.Embedding.from_pretrained(torch.from_numpy(emb.to_numpy()))``.
        """
        return self._vectors

    @property
    def dtype(self) -> StorageDtype:
        """Storage type of :attr:`vectors`: ``"float32"``, ``"float16"`` or ``"int8"``."""
        return {"f": "float32", "e": "float16", "b": "int8"}[self._vectors.dtype.char]  # type: ignore[return-value]

    @property
    def scales(self) -> np.ndarray | None:
        """Per-row float32 dequantisation scales ``(n,)`` of int8 embeddings, else None."""
        return self._scales

    @property
    def index_to_word(self) -> list[str]:
        """Words in row order (a list of length n; do not modify it).

        For a store opened with :meth:`load` the list is built on first use
        (about 0.1 s per million words, with the full check of the vocabulary
        files) and cached; lookups (``emb[word]``, ``word in emb``,
        :meth:`get_index`) and query results never need it.
        """
        return self._vocab.index_to_word

    @property
    def key_to_index(self) -> dict[str, int]:
        """Map from word to row index (do not modify it).

        For a store opened with :meth:`load` the dict is built on first use
        (with :attr:`index_to_word`; about 0.5 s more per million words) and
        cached; :meth:`get_index` and ``word in emb`` use the store's hash
        index instead.
        """
        return self._vocab.key_to_index

    @property
    def counts(self) -> np.ndarray | None:
        """Word counts, int64 array of shape ``(n,)``, or None when unknown.

        Memory-mapped for a store opened with ``load(mmap=True)``.
        """
        return self._vocab.counts

    @property
    def meta(self) -> dict:
        """Description of what produced the vectors (JSON-serialisable dict)."""
        return self._meta

    @property
    def dim(self) -> int:
        """Number of dimensions of each vector."""
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return len(self._vocab)

    def __contains__(self, word: object) -> bool:
        return self._vocab.index(word) >= 0

    def __repr__(self) -> str:
        dt = "" if self.dtype == "float32" else f", dtype={self.dtype}"
        return f"Embeddings(n={len(self)}, dim={self.dim}{dt})"

    def get_index(self, word: str) -> int:
        """Row index of `word`; ``KeyError`` naming the word if it is unknown."""
        i = self._vocab.index(word)
        if i < 0:
            raise KeyError(f"word {word!r} not in vocabulary")
        return i

    def word(self, index: int) -> str:
        """The word of row `index` (``0 <= index < len(self)``), without building :attr:`index_to_word`."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"row index must be an integer, got {index!r}")
        if not 0 <= index < len(self):
            raise IndexError(f"row index {index} out of range for {len(self)} rows")
        return self._vocab.word(int(index))

    def __getitem__(self, word: str | Sequence[str]) -> np.ndarray:
        """Vector of one word, shape ``(dim,)``, or of a list of words, shape ``(len(words), dim)``."""
        if isinstance(word, str):
            return self._rows(self.get_index(word))
        if isinstance(word, (int, np.integer, slice)) or not isinstance(word, Iterable):
            raise TypeError(
                f"emb[...] takes a word or a list of words, got {type(word).__name__} {word!r}; "
                f"rows by index: emb.vectors[i] (as stored), emb.to_numpy()[i] (float32), emb.word(i) (its word)"
            )
        return self._rows(np.array([self.get_index(w) for w in word], dtype=np.int64))

    def _rows(self, ids: int | slice | np.ndarray) -> np.ndarray:
        """Rows as float32 (dequantised); a view for float32 embeddings."""
        if self._vectors.dtype == np.float32:
            return self._plain[ids]
        return _search.dequantize(self._plain[ids], None if self._scales is None else self._scales[ids])

    def _unit_rows(self, ids: np.ndarray) -> np.ndarray:
        """Rows `ids` scaled to unit length (float32 copies; zero rows stay zero).

        Their norms are computed here, from these rows only: no O(n) work.
        """
        rows = np.asarray(self._rows(ids), dtype=np.float32)
        return _search.unit_rows(rows, np.linalg.norm(rows, axis=-1))

    # --------------------------------------------------------- normalisation
    @property
    def norms(self) -> np.ndarray:
        """L2 norm of each row, float32 array of shape ``(n,)`` (cached).

        Computed on first use in C++ (one pass over the rows, all cores, GIL
        released): ``n`` floats, the only thing cosine queries add to memory.
        """
        if self._norms is None:
            self._norms = _search.row_norms(self._vectors, self._scales)
        return self._norms

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length, float32 ``(n, dim)`` (cached); zero rows stay zero.

        A full float32 copy of the matrix, built only when asked for:
        similarity queries and cosine search never use it (they divide by
        :attr:`norms` instead). For quantised embeddings the copy is dequantised.
        """
        if self._unit is None:
            self._unit = _search.unit_copy(self._vectors, self._scales, self.norms)
        return self._unit

    def normalize(self) -> Embeddings:
        """New :class:`Embeddings` whose rows have unit length (``meta["normalized"] = True``).

        The new object holds a float32 unit-length copy of the rows (the only
        cosine path that copies the matrix).
        """
        meta = dict(self._meta)
        meta["normalized"] = True
        meta.pop("quantization", None)
        if "dtype" in meta:
            meta["dtype"] = "float32"
        unit = (self._unit.copy() if self._unit is not None
                else _search.unit_copy(self._vectors, self._scales, self.norms))
        return Embeddings._from_storage(unit, None, self._vocab, meta)

    # ---------------------------------------------------------- similarity
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the vectors of words `a` and `b` (0 if either is zero)."""
        u = self._unit_rows(np.array([self.get_index(a), self.get_index(b)]))
        return float(np.dot(u[0], u[1]))

    def most_similar(
        self,
        positive: str | np.ndarray | Sequence[str | np.ndarray] = (),
        negative: str | np.ndarray | Sequence[str | np.ndarray] = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words closest to the mean of `positive` minus `negative`, as gensim does it.

        Each word (or ``(dim,)`` vector) is unit-normalised; the query is the mean
        of the positive ones and the negated negative ones, normalised again. Words
        are ranked by cosine similarity with it; the input words are excluded.

        Parameters
        ----------
        positive, negative : str, array of shape (dim,), or a sequence of them
        topn : int or None
            Number of results; None returns the cosine of every candidate
            word with the query, input words included, as a float32 array
            (gensim's ``topn=None``).
        restrict_vocab : int, optional
            Only the first `restrict_vocab` words are candidates.

        Returns
        -------
        list of (str, float), or numpy.ndarray of float32, shape (n,) or (restrict_vocab,)
            Words and cosine similarities, best first (ties: lower index first).
        """
        topn = check_topn(topn)
        pos = _as_items(positive)
        neg = _as_items(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one positive or negative item")
        mean = np.zeros(self.dim, dtype=np.float32)
        exclude = []
        for items, weight in ((pos, 1.0), (neg, -1.0)):
            for item in items:
                if isinstance(item, str):
                    i = self.get_index(item)
                    exclude.append(i)
                    vec = self._unit_rows(np.array([i]))[0]
                else:
                    vec = _unit(np.asarray(item, dtype=np.float32), self.dim)
                mean += np.float32(weight) * vec
        query = _unit(mean / np.float32(len(pos) + len(neg)), self.dim)
        stop = self._clip(restrict_vocab)
        if topn is None:
            return self._all_cosines(query[None, :], stop)[0]
        excl = np.unique(np.array(exclude, dtype=np.int64))
        ids, scores = _search.core_search(
            query[None, :], self._operands("cosine", stop), topn, "cosine", excl[excl < stop], 0,
        )
        return [(self._vocab.word(int(i)), float(s)) for i, s in zip(ids[0], scores[0])]

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
            (self._vocab.word(int(i)), float(s)) for i, s in zip(top_ids[0], top_scores[0]) if s != -np.inf
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
        stop = self._clip(restrict_vocab)
        row_exclude = np.stack([a, b, c], axis=1).astype(np.int64)
        if method == "3cosadd":
            query = (self._unit_rows(b) - self._unit_rows(a) + self._unit_rows(c)) / np.float32(3)
            qn = np.linalg.norm(query, axis=1, keepdims=True)
            query = (query / np.where(qn > 0, qn, np.float32(1))).astype(np.float32)
            ids, scores = _search.core_search(query, self._operands("cosine", stop), topn + 3, "cosine", None, 0)
            return _drop_row_excluded(ids, scores, row_exclude, min(topn, stop))
        ua, ub, uc = self._unit_rows(a), self._unit_rows(b), self._unit_rows(c)
        norms = self.norms

        def score(q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
            out = np.empty((q1 - q0, r1 - r0), dtype=np.float32)
            for s0 in range(r0, r1, _search._CHUNK_ROWS):  # bounded temporaries for any dtype
                s1 = min(r1, s0 + _search._CHUNK_ROWS)
                block = self._rows(slice(s0, s1)).T
                nb = norms[s0:s1]
                safe = np.where(nb == 0, np.float32(1), nb)  # zero rows score cos 0; NaN stays NaN
                sa, sb, sc = (((x[q0:q1] @ block) / safe + 1) / 2 for x in (ua, ub, uc))
                out[:, s0 - r0:s1 - r0] = sb * sc / (sa + np.float32(COSMUL_EPS))
            return out

        return _topk(len(a), stop, topn, score, largest=True, row_exclude=row_exclude)

    def _clip(self, restrict_vocab: int | None) -> int:
        n = len(self)
        if restrict_vocab is None:
            return n
        if restrict_vocab < 0:
            raise ValueError(f"restrict_vocab must be >= 0, got {restrict_vocab}")
        return min(int(restrict_vocab), n)

    def _operands(
        self, metric: str, stop: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Rows, per-row scale and norms for ``_core.search`` (see csrc/search.h).

        Cosine scans the rows as stored and divides each score by the row's
        cached norm (:attr:`norms`; no copy of the matrix), except over float32
        rows whose ``meta["normalized"]`` says they have unit length (checked
        on a sample when a store is loaded), which are scanned without norms.
        """
        stop = len(self) if stop is None else stop
        rows, scale = self._vectors[:stop], None if self._scales is None else self._scales[:stop]
        if self._vectors.dtype == np.float32:
            if metric == "cosine" and not self._meta.get("normalized"):
                return rows, None, self.norms[:stop]
            return rows, None, None
        needs_norms = metric == "cosine" or (metric == "l2" and scale is not None)
        return rows, scale, self.norms[:stop] if needs_norms else None

    # ------------------------------------------------------------- encoding
    def encode(
        self,
        texts: Sequence[str | Sequence[str]],
        pooling: Literal["mean", "sif"] = "mean",
        normalize: bool = True,
        threads: int = 0,
        stats: dict | None = None,
    ) -> np.ndarray:
        """Texts as pooled token vectors, float32 ``(len(texts), dim)`` (C++, GIL released).

        ``texts`` are strings (split as the corpus tokenizer splits a line) or
        token lists; unknown tokens are skipped; a text with no known token is
        a zero row (counted in ``stats["empty_texts"]``); an empty list gives
        ``(0, dim)``. ``pooling="sif"`` weights tokens by ``a / (a + p(w))``
        (``p`` from :attr:`counts`) and removes the common component fitted on
        these same texts; to encode queries and documents with one component,
        use :class:`densevec.encode.TextEncoder` (``fit`` once, then ``encode``).
        See :mod:`densevec.encode`.
        """
        from densevec.encode import encode

        return encode(self, texts, pooling=pooling, normalize=normalize, threads=threads, stats=stats)

    # --------------------------------------------------------------- search
    def search(
        self,
        queries: np.ndarray | Embeddings,
        k: int = 10,
        metric: Metric = "cosine",
        exclude: Iterable[str | int] | None = None,
        *,
        threads: int = 0,
        rescore: int | None = None,
        rescore_with: Embeddings | None = None,
        allow_mixed: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact k-nearest-neighbour search over all rows (C++ SIMD scan, GIL released).

        Parameters
        ----------
        queries : numpy.ndarray of shape (m, dim) or (dim,), or Embeddings
            Query vectors; an :class:`Embeddings` object searches with every one
            of its rows (as float32), after the corpus check of `allow_mixed`.
        k : int
            Neighbours per query; fewer if fewer rows are left after `exclude`.
        metric : {"cosine", "dot", "l2"}
            Higher cosine / dot is better; for ``"l2"`` the score is the squared
            Euclidean distance, smaller is better.
        exclude : iterable of str or int, optional
            Words (or row indices) never returned.
        threads : int
            Worker threads (0: all cores). One query (or fewer queries than
            threads) splits the rows; a batch splits the queries. Results do
            not depend on it.
        rescore : int, optional
            For quantised embeddings: take the best `rescore` (>= k) candidates
            of the quantised scan and return the k best of them by exact float32
            scores, computed from the float32 vectors this object was quantised
            from (:meth:`quantize` keeps a reference to them, no copy) or from
            `rescore_with`.
        rescore_with : Embeddings, optional
            float32 embeddings with the same rows, for `rescore` (needed for a
            quantised store opened with :meth:`load`).
        allow_mixed : bool
            When `queries` or `rescore_with` is another :class:`Embeddings`, it
            must record the same embedding space (``meta["space"]["id"]``) as
            this one: vectors of different training runs live in different
            spaces. A difference, or a missing identity, raises ``ValueError``
            unless ``allow_mixed=True`` (see :func:`check_same_space`).

        Returns
        -------
        ids : numpy.ndarray of int64, shape (m, k') or (k',)
        scores : numpy.ndarray of float32, same shape
            Best first; equal scores are ordered by the lower row index; NaN
            scores rank last. Quantised embeddings score their stored rows
            (int8: the query is quantised to int8 too, see ``csrc/search.h``).
        """
        if isinstance(queries, Embeddings):
            check_same_space(self, queries, "search(queries=...)", allow_mixed)
            q = queries._rows(slice(None)) if len(queries) else np.zeros((0, queries.dim), np.float32)
        else:
            q = np.asarray(queries, dtype=np.float32)
        if rescore_with is not None:
            check_same_space(self, rescore_with, "search(rescore_with=...)", allow_mixed)
        single = q.ndim == 1
        if single:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (m, {self.dim}) or ({self.dim},), got {np.shape(queries)}")
        if metric not in ("cosine", "dot", "l2"):
            raise ValueError(f"metric must be 'cosine', 'dot' or 'l2', got {metric!r}")
        k = check_int("k", k, 0)
        n = len(self)
        excl = np.unique(np.array(
            [self.get_index(x) if isinstance(x, str) else _check_index(x, n) for x in (exclude or ())],
            dtype=np.int64,
        ))
        source = self._rescore_source(rescore, k, rescore_with)
        want = k if source is None else int(rescore)  # type: ignore[arg-type]
        ids, scores = _search.core_search(q, self._operands(metric), want, metric, excl, threads)
        if source is not None:
            ids, scores = _search.rescore(q, ids, source, metric, k)
        return (ids[0], scores[0]) if single else (ids, scores)

    def _rescore_source(
        self, rescore: int | None, k: int, rescore_with: Embeddings | None,
    ) -> np.ndarray | None:
        if rescore is None:
            if rescore_with is not None:
                raise ValueError("rescore_with needs rescore=R")
            return None
        rescore = check_int("rescore", rescore, 0)
        if rescore < k:
            raise ValueError(f"rescore must be >= k ({k}), got {rescore}")
        if rescore_with is not None:
            if rescore_with.dtype != "float32" or rescore_with.vectors.shape != self._vectors.shape:
                raise ValueError(
                    f"rescore_with must be float32 embeddings of shape {self._vectors.shape}, "
                    f"got {rescore_with.dtype} {rescore_with.vectors.shape}"
                )
            return rescore_with.vectors
        if self._vectors.dtype == np.float32:
            return self._vectors
        if self._source is None:
            raise ValueError("rescore needs the float32 vectors: pass rescore_with=float32 embeddings")
        return self._source

    def quantize(self, dtype: Literal["int8", "float16"]) -> Embeddings:
        """A quantised copy: ``"float16"`` (half the memory) or ``"int8"`` (a quarter).

        int8 is symmetric per row: ``scale[i] = max|x_i| / 127`` and
        ``q_i = round(x_i / scale[i])``, so row ``i`` is ``q_i * scale[i]``.
        ``meta["dtype"]`` and ``meta["quantization"]`` record the scheme; the
        copy keeps a reference (not a copy) to these float32 vectors for
        ``search(..., rescore=R)``; :meth:`save` writes only the quantised rows.
        """
        if self.dtype != "float32":
            raise ValueError(f"already quantised ({self.dtype})")
        if dtype == "float16":
            vec, scales, scheme = self._vectors.astype(np.float16), None, {"method": "float16"}
        elif dtype == "int8":
            vec, scales = _search.quantize_int8(self._vectors)
            scheme = {"method": "int8-symmetric", "scale": "per-row", "scale_value": "max|x|/127"}
        else:
            raise ValueError(f"dtype must be 'int8' or 'float16', got {dtype!r}")
        meta = dict(self._meta, dtype=dtype, quantization=scheme)
        out = Embeddings._from_storage(vec, scales, self._vocab, meta)
        out._source = self._vectors
        return out

    # ---------------------------------------------------------------- store
    def save(self, path: PathLike, *, overwrite: bool = False) -> Path:
        """Write a store directory atomically; :meth:`load` opens it in milliseconds at any size.

        Files (format version 2; all arrays are ``.npy``, so
        ``numpy.load(mmap_mode="r")`` opens each one):

        * ``vectors.npy``: the rows as stored, float32, float16 or int8
          ``(n, dim)``; int8 stores add ``scales.npy`` (float32 ``(n,)``);
        * ``vocab_blob.npy`` (the UTF-8 words, each followed by a newline),
          ``vocab_offsets.npy`` (int64 ``(n + 1,)``, where each word starts),
          ``vocab_hash.npy`` (a bucketed crc32 hash index: word -> row) and,
          when counts are known, ``vocab_counts.npy`` (int64 ``(n,)``); see
          ``densevec/_store_vocab.py`` for the exact layout;
        * ``meta.json``: format and version, ``dim``, ``count``, ``dtype``,
          ``quantization``, ``normalized``, ``has_counts``, the vocabulary's
          byte size and bucket count, and :attr:`meta` (algorithm, parameters,
          corpus fingerprint, densevec version).

        ``meta.json`` also lists the SHA-256 of every file, which
        ``load(verify=True)`` and ``densevec info --verify`` check.

        Words must be non-empty, without a newline and encodable as UTF-8;
        ``meta.json`` must stay under 16 MiB. Everything :meth:`load` checks
        is checked before anything is written. The store is built in a
        temporary sibling directory, fsynced and renamed into place.

        Parameters
        ----------
        path : str or os.PathLike
            The store directory to create.
        overwrite : bool
            Replace an existing *complete* densevec store at `path` (atomically:
            the path holds the old or the new store at every instant). Anything
            else at `path` -- a store without ``overwrite``, a directory of other
            files, an incomplete store, a file -- raises ``FileExistsError`` and
            is left untouched (an empty directory is replaced).

        Returns
        -------
        pathlib.Path
            `path`.
        """
        return write_store(Path(path), self._vectors, self._scales, self.index_to_word, self.counts, self._meta,
                           overwrite=overwrite)

    @classmethod
    def load(cls, path: PathLike, mmap: bool = True, verify: bool = False) -> Embeddings:
        """Open a store written by :meth:`save`, memory-mapped read-only by default.

        Opening reads ``meta.json`` and the ``.npy`` headers and maps the
        files: no vocabulary is parsed and no dict is built, so it takes about
        a millisecond whatever the size. The headers are checked against
        ``meta.json`` and the file sizes before anything is mapped, and every
        later read of the vocabulary checks what it reads; a problem raises
        ``ValueError`` naming the file. ``verify=True`` runs the O(n) checks of
        the vocabulary at once (every offset, UTF-8, unique words, the hash
        index, counts); they also run when :attr:`index_to_word` or
        :attr:`key_to_index` is first built. A missing `path` raises
        ``FileNotFoundError``.

        Stores of format version 1 (``vocab.txt``, densevec 0.1) are read too,
        by parsing ``vocab.txt`` (slow for big vocabularies: save them again
        to convert).

        Parameters
        ----------
        path : str or os.PathLike
            The store directory.
        mmap : bool
            Map the files read-only (default) or read them into memory.
        verify : bool
            Check the whole vocabulary now, and the SHA-256 of every file
            against ``meta.json`` (stores written before densevec recorded
            checksums have none to check).
        """
        doc, vectors, scales, vocab = read_store(Path(path), mmap, verify)
        emb = cls._from_storage(vectors, scales, vocab, doc["meta"])
        if "subwords" in doc:  # a FastText store: the n-gram matrix beside the rows
            from densevec.fasttext import SubwordEmbeddings
            return SubwordEmbeddings._open(Path(path), doc, emb, mmap)
        return emb

    # ----------------------------------------- word2vec, fastText and GloVe text
    def save_word2vec_format(self, path: PathLike, binary: bool = False, write_header: bool = True,
                             *, overwrite: bool = True, fvocab: PathLike | None = None) -> Path:
        """Write the word2vec text or binary format (as ``word2vec.c`` and gensim do), atomically.

        Text: a ``"count dim"`` header line, then ``word v1 v2 ...`` per row with
        the shortest decimal that reads back to the same float32: this is also
        fastText's ``.vec`` format, and, with ``write_header=False``, the GloVe
        text format. Binary: the same header, then per row the UTF-8 word, a
        space, ``dim`` little-endian float32 and a newline. Quantised rows are
        written dequantised. Words must be non-empty without ASCII whitespace.

        When :attr:`meta` records an embedding space (every trained model
        does), a sidecar ``PATH.densevec.json`` is written beside the file: the
        metadata (space id, algorithm, parameters) and the file's SHA-256, so
        that :meth:`load_word2vec_format` gives the vectors back in the same
        space. Keep it next to the file when you copy it; without it the file
        reads as foreign vectors. (Without a space, a stale densevec sidecar at
        that name is removed.)

        Parameters
        ----------
        path : str or os.PathLike
        binary : bool
            word2vec binary instead of text.
        write_header : bool
            False: no ``"count dim"`` line (GloVe); text only.
        overwrite : bool
            Replace an existing regular file at `path` (atomically: written
            under a temporary name, fsynced, renamed). False raises
            ``FileExistsError``; a directory or special file is always refused.
        fvocab : str or os.PathLike, optional
            Also write the word counts to this file, ``word count`` per line in
            row order (gensim's ``fvocab``), so that
            ``load_word2vec_format(..., fvocab=...)`` gets them back. Needs
            :attr:`counts`.
        """
        path = Path(path)
        if fvocab is not None and self.counts is None:
            raise ValueError("fvocab: these embeddings have no counts to write")
        n, step = len(self), 4096
        chunks = ((s, self._vocab.words(s, min(n, s + step)), self._rows(slice(s, s + step)))
                  for s in range(0, n, step))
        out = write_vectors(path, n, self.dim, chunks, binary, write_header, overwrite)
        if fvocab is not None:
            write_counts(Path(fvocab), self.index_to_word, np.asarray(self.counts), overwrite)
        _space.write_sidecar(path, self._meta)
        return out

    @classmethod
    def load_word2vec_format(
        cls, path: PathLike, binary: bool = False, no_header: bool = False, *,
        limit: int | None = None, unicode_errors: str = "strict", fvocab: PathLike | None = None,
    ) -> Embeddings:
        """Read a word2vec text or binary file, a fastText ``.vec`` or (``no_header=True``) a GloVe text file.

        The file is streamed (a line or a 1 MiB block at a time) into one
        float32 matrix. Malformed input raises ``ValueError`` naming the file
        and the line (text) or record (binary): a bad header, a header that
        promises more or fewer rows than follow, a row with the wrong number of
        fields, a bad number, invalid UTF-8. A duplicate word is refused,
        naming both lines (gensim keeps the first and logs a warning). GloVe
        files take their dimension from the first line and end at the end of
        the file (or a blank line followed only by whitespace).

        :attr:`meta` comes from the sidecar ``PATH.densevec.json`` that
        :meth:`save_word2vec_format` writes, when it is there and still
        matches the file (its SHA-256); otherwise the vectors are foreign and
        ``meta["space"]`` gets an id derived from the words and values read
        (``origin: "file"``): reading the same file twice gives the same
        space, any other file (or the model that exported it, without the
        sidecar) another one.

        Parameters
        ----------
        path : str or os.PathLike
        binary : bool
            word2vec binary instead of text.
        no_header : bool
            The file has no ``"count dim"`` line (GloVe); text only.
        limit : int, optional
            Read only the first `limit` vectors (gensim's ``limit``; the rest
            of the file is not read, nor checked).
        unicode_errors : str
            How words that are not valid UTF-8 are decoded, as in
            ``bytes.decode``: ``"strict"`` (default) raises ``ValueError``,
            ``"replace"`` or ``"ignore"`` repair them (gensim's ``unicode_errors``).
        fvocab : str or os.PathLike, optional
            A ``word count`` per line file (gensim's ``fvocab``, written by
            ``save_word2vec_format(..., fvocab=...)``) giving :attr:`counts`.

        A file that is not a vector file gets a message saying what it is: a
        Python pickle (gensim's ``save``), a fastText ``.bin`` model, or a
        word2vec binary file read without ``binary=True``.
        """
        path = Path(path)
        if limit is not None:
            limit = check_int("limit", limit, 0)
        try:
            codecs.lookup_error(unicode_errors)
        except (LookupError, TypeError):
            raise ValueError(f"unicode_errors must be an error handler of bytes.decode ('strict', 'replace', "
                             f"'ignore', ...), got {unicode_errors!r}") from None
        words, index, vectors = read_vectors(path, binary, no_header, limit, unicode_errors)
        counts = None if fvocab is None else read_counts(Path(fvocab), words, unicode_errors)
        meta = _space.file_meta(path, words, vectors)
        return cls._from_storage(vectors, None, ListVocab(words, counts, index), meta)


# ======================================================================= helpers
def check_same_space(a: Embeddings, b: Embeddings, what: str, allow_mixed: bool = False,
                     *, derived_ok: bool = False) -> None:
    """``ValueError`` unless `a` and `b` live in the same embedding space (or `allow_mixed`).

    The space is ``meta["space"]["id"]`` (see :mod:`densevec._space`):
    assigned by every training run, kept by :meth:`Embeddings.normalize`,
    :meth:`Embeddings.quantize`, stores and word2vec / GloVe files written with
    their sidecar; ``densevec.reduce.pca`` and ``center`` make a new space
    whose ``parent`` is the original. Same id: accepted. Different ids:
    refused (with `derived_ok`, a space and its direct parent are accepted:
    ``densevec.reduce.distortion`` compares exactly those). Vectors without an
    identity (a store written before densevec recorded spaces, a
    ``meta["space"]`` removed or malformed) are refused too, since nothing
    says they are in the same space, unless `a` and `b` are the same object.
    """
    if allow_mixed or a is b:
        return
    ia, ib = _space.space_id(a.meta), _space.space_id(b.meta)
    if ia is not None and ia == ib:
        return
    related = ia is not None and ib is not None and (
        _space.parent_id(b.meta) == ia or _space.parent_id(a.meta) == ib)
    if derived_ok and related:
        return
    if ia is None or ib is None:
        which = "both have" if ia is None and ib is None else ("the first has" if ia is None else "the second has")
        raise ValueError(
            f"{what}: {which} no embedding-space identity (meta['space']; a store written by an older "
            f"densevec?), so nothing says the two live in the same space; "
            f"pass allow_mixed=True if you know they do"
        )
    sa, sb = a.meta["space"], b.meta["space"]
    hint = ""
    if related:
        hint = " (one is derived from the other: a PCA, centring or further training makes a new space)"
    raise ValueError(
        f"{what}: the embeddings come from different embedding spaces (space {ia!r}, "
        f"{sa.get('origin', '?')}, vs {ib!r}, {sb.get('origin', '?')}){hint}: different training runs or "
        f"models give unrelated coordinates; pass allow_mixed=True to combine them anyway"
    )


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


def _drop_row_excluded(
    ids: np.ndarray, scores: np.ndarray, row_exclude: np.ndarray, k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, drop the ids in ``row_exclude[row]`` and keep the first k others.

    Rows left with fewer than k candidates are padded with excluded ids whose
    score is ``-inf``.
    """
    bad = (ids[:, :, None] == row_exclude[:, None, :]).any(axis=2)
    order = np.argsort(bad, axis=1, kind="stable")[:, :k]
    ids = np.take_along_axis(ids, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    scores[np.take_along_axis(bad, order, axis=1)] = -np.inf
    return ids, scores


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
