"""The queries of gensim's ``KeyedVectors`` that :class:`densevec.Embeddings` adds to its own.

:class:`KeyedQueries` is a mixin of :class:`~densevec.Embeddings`: ``doesnt_match``,
``n_similarity``, ``distance``/``distances``, ``rank``, ``similar_by_word``/
``similar_by_vector``, ``most_similar_cosmul``, ``get_mean_vector``,
``add_vectors``/``__setitem__`` and ``to_numpy``, each with gensim 4's meaning
(scores agree with gensim's to 1e-6; ``tests/test_keyedvectors.py`` checks
them against gensim). Where densevec differs it says so in the docstring; the
common differences: an unknown word raises ``KeyError`` naming it (gensim
skips it in ``doesnt_match`` and ``get_mean_vector``), empty inputs raise
``ValueError``, and zero vectors have cosine 0 (gensim: NaN).

Every cosine over all rows goes through :func:`densevec._search.cosine_scores`
with the rows, scales and cached norms of ``Embeddings._operands``: no
unit-length copy of the matrix.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence, Union, overload

import numpy as np

from densevec import _search
from densevec._store_vocab import ListVocab
from densevec._validate import check_int

if TYPE_CHECKING:
    from densevec.vectors import Embeddings

GENSIM_COSMUL_EPS = 1e-6  # gensim's most_similar_cosmul (analogy(method="3cosmul") uses Levy & Goldberg's 1e-3)

Item = Union[str, np.ndarray]


def check_topn(topn: object, allow_none: bool = True) -> int | None:
    """`topn` as an int >= 0 (None passes when `allow_none`); TypeError/ValueError naming it."""
    if topn is None and allow_none:
        return None
    return check_int("topn", topn, 0)


def _word_list(name: str, words: object) -> list[str]:
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise TypeError(f"{name} must be a list of words, got {type(words).__name__} {words!r:.60}")
    return list(words)


class KeyedQueries:
    """gensim ``KeyedVectors`` queries, mixed into :class:`densevec.Embeddings`."""

    # ------------------------------------------------------------- matrices
    def to_numpy(self: Embeddings, dtype: np.dtype | type | str = np.float32) -> np.ndarray:
        """The vectors as a new in-memory array of `dtype`, shape ``(n, dim)``.

        Quantised rows are dequantised (int8 rows times their scale, float16
        widened), so this is what the words' vectors really are, unlike
        ``np.asarray(emb.vectors, np.float32)`` (the int8 codes). The result
        is a writable copy, also for float32 embeddings and memory-mapped
        stores, e.g. for PyTorch::

            torch.nn.Embedding.from_pretrained(torch.from_numpy(emb.to_numpy()))

        Parameters
        ----------
        dtype : floating dtype
            ``float32`` (default), ``float16`` or ``float64``.
        """
        dt = np.dtype(dtype)
        if not np.issubdtype(dt, np.floating):
            raise TypeError(f"to_numpy: dtype must be a floating type (float16, float32, float64), got {dt}")
        out = np.empty((len(self), self.dim), dtype=dt)
        for start in range(0, len(self), _search._CHUNK_ROWS):
            stop = min(len(self), start + _search._CHUNK_ROWS)
            out[start:stop] = self._rows(slice(start, stop))
        return out

    def _all_cosines(self: Embeddings, queries: np.ndarray, stop: int | None = None) -> np.ndarray:
        """Cosine of each query ``(m, dim)`` with the first `stop` rows, float32 ``(m, stop)``."""
        return _search.cosine_scores(queries, *self._operands("cosine", stop))

    def _unit_items(self: Embeddings, items: Sequence[Item]) -> tuple[np.ndarray, list[int]]:
        """Unit vectors ``(len(items), dim)`` of words or vectors, and the rows of the words."""
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        rows = []
        for j, item in enumerate(items):
            if isinstance(item, str):
                i = self.get_index(item)
                rows.append(i)
                out[j] = self._unit_rows(np.array([i]))[0]
            else:
                out[j] = self._vector_arg(item)
        norms = np.linalg.norm(out, axis=1)
        return _search.unit_rows(out, norms), rows

    def _vector_arg(self: Embeddings, vector: object) -> np.ndarray:
        v = np.asarray(vector)
        if not (np.issubdtype(v.dtype, np.floating) or np.issubdtype(v.dtype, np.integer)):
            raise TypeError(f"expected a word or a vector of shape ({self.dim},), got {type(vector).__name__}")
        if v.shape != (self.dim,):
            raise ValueError(f"vector must have shape ({self.dim},), got {v.shape}")
        return v.astype(np.float32)

    # ------------------------------------------------------------- queries
    def similar_by_word(
        self: Embeddings, word: str, topn: int | None = 10, restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """``most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)`` (gensim's name)."""
        if not isinstance(word, str):
            raise TypeError(f"similar_by_word takes a word (str), got {type(word).__name__}; "
                            f"for a vector use similar_by_vector")
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(
        self: Embeddings, vector: np.ndarray, topn: int | None = 10, restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words closest (cosine) to `vector` ``(dim,)``; no word is excluded (gensim's meaning)."""
        return self.most_similar(positive=[self._vector_arg(vector)], topn=topn, restrict_vocab=restrict_vocab)

    @overload
    def most_similar_cosmul(self, positive: Item | Sequence[Item] = ..., negative: Item | Sequence[Item] = ...,
                            topn: int = ..., restrict_vocab: int | None = ...) -> list[tuple[str, float]]: ...

    @overload
    def most_similar_cosmul(self, positive: Item | Sequence[Item] = ..., negative: Item | Sequence[Item] = ...,
                            *, topn: None, restrict_vocab: int | None = ...) -> np.ndarray: ...

    def most_similar_cosmul(
        self: Embeddings,
        positive: Item | Sequence[Item] = (),
        negative: Item | Sequence[Item] = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words ranked by gensim's multiplicative combination (3CosMul, Levy & Goldberg 2014).

        The score of word ``d`` is ``prod_p s(d, p) / (prod_n s(d, n) + 1e-6)``
        with ``s = (1 + cos) / 2`` (cosines shifted to [0, 1]), over the
        `positive` items ``p`` and the `negative` items ``n``: gensim's
        ``most_similar_cosmul`` exactly, epsilon included (scores agree to
        1e-6). With ``positive=[b, c], negative=[a]`` it is 3CosMul; note that
        :meth:`analogy` with ``method="3cosmul"`` uses Levy & Goldberg's
        epsilon 1e-3 instead.

        Parameters
        ----------
        positive, negative : str, array of shape (dim,), or a sequence of them
            At least one positive item. Vectors count by their direction
            (gensim uses them unnormalised, which is a cosine only for unit vectors).
        topn : int or None
            Number of results; None returns the score of every candidate word
            as a float32 array (input words included), as gensim does.
        restrict_vocab : int, optional
            Only the first `restrict_vocab` words are candidates (gensim
            ignores this argument here and searches every word).

        Returns
        -------
        list of (str, float), or numpy.ndarray of float32, shape (n,)
            Best first; ties by lower row index; input words never returned.
        """
        topn = check_topn(topn)
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos:
            raise ValueError("most_similar_cosmul needs at least one positive word or vector")
        units, rows = self._unit_items(pos + neg)
        stop = self._clip(restrict_vocab)
        n_pos = len(pos)

        def scores(r0: int, r1: int) -> np.ndarray:
            rows_, scale, norms = self._operands("cosine", stop)
            shifted = (1 + _search.cosine_scores(
                units, rows_[r0:r1], None if scale is None else scale[r0:r1],
                None if norms is None else norms[r0:r1])) / 2
            num = np.prod(shifted[:n_pos], axis=0)
            return (num / (np.prod(shifted[n_pos:], axis=0) + np.float32(GENSIM_COSMUL_EPS))).astype(np.float32)

        if topn is None:
            return scores(0, stop)
        excl = np.unique(np.array(rows, dtype=np.int64))
        excl = excl[excl < stop]
        from densevec.vectors import _topk  # noqa: PLC0415 (vectors imports this module)
        ids, sc = _topk(1, stop, min(topn, stop - len(excl)), lambda q0, q1, r0, r1: scores(r0, r1),
                        largest=True, exclude=excl, row_scores=True)
        return [(self._vocab.word(int(i)), float(s)) for i, s in zip(ids[0], sc[0])]

    def doesnt_match(self: Embeddings, words: Sequence[str]) -> str:
        """The word of `words` farthest from their mean (gensim's meaning).

        Each word's unit vector is compared (cosine) with the normalised mean of
        them all; the one with the lowest cosine is returned. Unlike gensim,
        an unknown word raises ``KeyError`` naming it (gensim drops it
        silently); an empty list raises ``ValueError``.
        """
        words = _word_list("doesnt_match: words", words)
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        units = self._unit_rows(np.array([self.get_index(w) for w in words], dtype=np.int64))
        mean = units.mean(axis=0)
        norm = np.linalg.norm(mean)
        return words[int(np.argmin(units @ (mean / norm if norm > 0 else mean)))]

    def n_similarity(self: Embeddings, words1: Sequence[str], words2: Sequence[str]) -> float:
        """Cosine between the mean vectors of two lists of words (raw vectors averaged, as gensim does).

        Empty lists raise ``ValueError`` (gensim: ``ZeroDivisionError``); an
        unknown word raises ``KeyError`` naming it.
        """
        w1 = _word_list("n_similarity: words1", words1)
        w2 = _word_list("n_similarity: words2", words2)
        if not w1 or not w2:
            raise ValueError("n_similarity needs two non-empty lists of words")
        means = np.stack([np.asarray(self[w1], np.float32).mean(axis=0),
                          np.asarray(self[w2], np.float32).mean(axis=0)])
        units = _search.unit_rows(means, np.linalg.norm(means, axis=1))
        return float(np.dot(units[0], units[1]))

    def distance(self: Embeddings, word1: str, word2: str) -> float:
        """Cosine distance ``1 - similarity(word1, word2)``."""
        return 1.0 - self.similarity(word1, word2)

    def distances(self: Embeddings, word_or_vector: Item, other_words: Sequence[str] | None = None) -> np.ndarray:
        """Cosine distances ``1 - cos`` from a word or vector to `other_words`, float32.

        Parameters
        ----------
        word_or_vector : str or array of shape (dim,)
        other_words : sequence of str, optional
            None: every word, in row order (shape ``(n,)``). Unlike gensim, an
            empty list gives an empty array (gensim treats it as "every word").

        Returns
        -------
        numpy.ndarray of float32, shape (len(other_words),) or (n,)
        """
        query = self[word_or_vector] if isinstance(word_or_vector, str) else self._vector_arg(word_or_vector)
        if other_words is None:
            cos = self._all_cosines(np.asarray(query, np.float32)[None, :])[0]
        else:
            others = _word_list("distances: other_words", other_words)
            if not others:
                return np.zeros(0, dtype=np.float32)
            rows = self._unit_rows(np.array([self.get_index(w) for w in others], dtype=np.int64))
            q = np.asarray(query, np.float32)
            qn = np.linalg.norm(q)
            cos = rows @ (q / qn if qn > 0 else q)
        return (np.float32(1) - cos).astype(np.float32)

    def rank(self: Embeddings, word1: str, word2: str) -> int:
        """Rank of `word2` among the neighbours of `word1`: 1 + the number of other words closer to `word1`.

        gensim's ``rank``: words (other than `word1`) whose cosine distance to
        `word1` is strictly smaller than that of `word2` are counted.
        """
        i1, i2 = self.get_index(word1), self.get_index(word2)
        dist = np.float32(1) - self._all_cosines(np.asarray(self._rows(i1), np.float32)[None, :])[0]
        closer = dist < dist[i2]
        closer[i1] = False
        return int(np.count_nonzero(closer)) + 1

    def get_mean_vector(
        self: Embeddings,
        items: Sequence[Item],
        weights: Sequence[float] | np.ndarray | None = None,
        *,
        pre_normalize: bool = True,
        post_normalize: bool = False,
    ) -> np.ndarray:
        """Weighted mean of the vectors of words (and of given vectors), float32 ``(dim,)``.

        gensim's meaning: ``sum(w_i * v_i) / sum(|w_i|)``, where ``v_i`` is the
        word's unit vector (``pre_normalize``, default) or its raw vector, and a
        vector passed directly is used as it is; ``post_normalize`` scales the
        result to unit length. An unknown word raises ``KeyError`` naming it
        (gensim's default skips it); an empty list raises ``ValueError``.

        Parameters
        ----------
        items : sequence of str or arrays of shape (dim,)
        weights : sequence of float, length len(items), optional
            Default: all 1.
        pre_normalize, post_normalize : bool
        """
        items = _as_list(items)
        if not items:
            raise ValueError("get_mean_vector needs at least one word or vector")
        w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(items),):
            raise ValueError(f"weights must have one value per item ({len(items)}), got shape {w.shape}")
        rows = np.empty((len(items), self.dim), dtype=np.float32)
        for j, item in enumerate(items):
            if isinstance(item, str):
                i = np.array([self.get_index(item)])
                rows[j] = self._unit_rows(i)[0] if pre_normalize else self._rows(i)[0]
            else:
                rows[j] = self._vector_arg(item)
        mean = (w[:, None] * rows).sum(axis=0)
        total = np.abs(w).sum()
        mean = (mean / total if total > 0 else mean).astype(np.float32)
        if post_normalize:
            norm = np.linalg.norm(mean)
            mean = mean / norm if norm > 0 else mean
        return mean.astype(np.float32)

    # ------------------------------------------------------------- editing
    def add_vectors(
        self: Embeddings,
        words: str | Sequence[str],
        vectors: np.ndarray,
        *,
        replace: bool = False,
        counts: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        """Add words with their vectors (gensim's ``add_vectors``), in place.

        New words get new rows at the end. A word already present keeps its
        vector unless `replace` (then its row is overwritten). The matrix is
        rebuilt (O(n) per call: add many words at once); the cached norms are
        dropped and ``meta["normalized"]`` is removed. The caller's arrays
        are never modified.

        Only in-memory float32 embeddings can change: a store opened with
        ``load(path)`` (memory-mapped) or quantised embeddings raise
        ``ValueError`` saying how to get an in-memory copy.

        Parameters
        ----------
        words : str or sequence of str
            One word (then `vectors` may have shape ``(dim,)``) or several, no duplicates.
        vectors : array, shape (len(words), dim)
        replace : bool
            Overwrite the vectors of words already present.
        counts : sequence of int, optional
            Counts of the new words when these embeddings have counts (default 0).
        """
        self._check_mutable("add_vectors")
        if isinstance(words, str):
            words = [words]
            vectors = np.reshape(np.asarray(vectors), (1, -1))
        words = _word_list("add_vectors: words", words)
        vecs = np.asarray(vectors)
        if not np.issubdtype(vecs.dtype, np.floating):
            raise TypeError(f"add_vectors: vectors must have a floating dtype, got {vecs.dtype}")
        if vecs.shape != (len(words), self.dim):
            raise ValueError(f"add_vectors: vectors must have shape ({len(words)}, {self.dim}), got {vecs.shape}")
        new = ListVocab(words)  # checks: str, no duplicates
        del new
        if counts is not None and self.counts is None:
            raise ValueError("add_vectors: counts given, but these embeddings have no counts")
        add_counts = np.zeros(len(words), np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        if add_counts.shape != (len(words),):
            raise ValueError(f"add_vectors: counts must have shape ({len(words)},), got {add_counts.shape}")
        if (add_counts < 0).any():
            raise ValueError("add_vectors: counts must be >= 0")
        present = np.array([self._vocab.index(w) for w in words], dtype=np.int64)
        fresh = present < 0
        matrix = self._vectors
        if replace and (~fresh).any():
            matrix = matrix.copy()
            matrix[present[~fresh]] = vecs[~fresh]
        if fresh.any():
            matrix = np.concatenate([matrix, vecs[fresh].astype(np.float32)])
        if matrix is self._vectors:
            return
        index = dict(self.key_to_index)
        all_words = list(self.index_to_word)
        for w in (w for w, f in zip(words, fresh) if f):
            index[w] = len(all_words)
            all_words.append(w)
        new_counts = None if self.counts is None else np.concatenate([np.asarray(self.counts), add_counts[fresh]])
        self._vocab = ListVocab(all_words, new_counts, index)
        self._vectors = self._plain = np.ascontiguousarray(matrix, dtype=np.float32)
        self._norms = self._unit = self._source = None
        self._meta.pop("normalized", None)

    def __setitem__(self: Embeddings, words: str | Sequence[str], vectors: np.ndarray) -> None:
        """``emb["word"] = vector`` (or lists of both): add or replace, as ``add_vectors(..., replace=True)``."""
        self.add_vectors(words, vectors, replace=True)

    def _check_mutable(self: Embeddings, what: str) -> None:
        copy = "Embeddings(emb.to_numpy(), emb.index_to_word, emb.counts, emb.meta)"
        if self.dtype != "float32":
            raise ValueError(f"{what}: these embeddings are quantised ({self.dtype}) and cannot change; "
                             f"make a float32 copy first: {copy}")
        if isinstance(self._vectors, np.memmap):
            raise ValueError(f"{what}: these embeddings are memory-mapped from a store (read-only); "
                             f"open it with Embeddings.load(path, mmap=False) or make a copy: {copy}")


def _as_list(x: object) -> list:
    if x is None:
        return []
    if isinstance(x, (str, np.ndarray)):
        return [x]
    if not isinstance(x, Iterable):
        raise TypeError(f"expected a word, a vector or a list of them, got {type(x).__name__}")
    return list(x)
