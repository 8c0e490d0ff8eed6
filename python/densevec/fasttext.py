"""fastText: word2vec over bags of character n-grams (Bojanowski et al. 2017).

A word's input vector is the mean of its own row and the rows of its
character n-grams, so words never seen in training still get a vector from
the n-grams they share with trained words. :class:`FastText` trains such a
model on the training floor (:class:`densevec.Word2Vec` with a bag-of-rows
input policy, ``csrc/fasttext.h``); :class:`SubwordEmbeddings` is the result
(and what :func:`load_fasttext` reads from Facebook's ``.bin`` files).

Compatible with fastText (so that ``.bin`` files interoperate):

* n-grams of ``"<word>"`` of ``min_n`` to ``max_n`` UTF-8 characters (a byte
  ``10xxxxxx`` belongs to the character before it, so invalid UTF-8 is cut
  byte-wise exactly as fastText cuts it), except the 1-grams ``"<"`` and
  ``">"``; hashed with fastText's 32-bit FNV-1a (bytes sign-extended) modulo
  ``bucket``; duplicate n-grams of a word count twice, as in fastText.
* A word's vector is the mean of its word row and its n-gram rows (an
  out-of-vocabulary word: of its n-gram rows), as ``get_word_vector``.
* The gradient of a bag is added in full to every row of it (fastText's and
  gensim's unsupervised update).
* Word and n-gram rows start uniform in ``[-1/dim, 1/dim)`` (fastText's and
  gensim's range, and :class:`densevec.Word2Vec`'s), output rows zero.

Where densevec differs from fastText and gensim:

* The window is word2vec's (``densevec.Word2Vec``): in skip-gram the context
  words' bags predict the centre word against negatives shared by the window;
  fastText predicts each context word from the centre's bag with fresh
  negatives per pair. CBOW averages the context words' input vectors (each
  already the mean of its bag); fastText and gensim average all rows of all
  context bags together.
* A bag is summed once when its word enters the window and its change is
  written back to the rows when the word leaves it (at most ``2 * window``
  positions later), instead of once per (centre, context) pair.
* N-gram rows that no vocabulary word uses stay zero (fastText and gensim
  fill all ``bucket`` rows with random numbers), so they cost no memory until
  written.
* The learning rate falls linearly from ``alpha`` to ``min_alpha``, by default
  ``alpha / (2 * epochs)`` as :class:`densevec.Word2Vec` (the rate gensim's
  ``corpus_file`` mode ends at with 2 workers; fastText decays to 0). With
  word2vec.c's ``min_alpha=1e-4`` and its initial range (``[-0.5/dim,
  0.5/dim)``) FastText scored 4.5 points of questions-words and 0.02 of the
  out-of-vocabulary neighbour overlap below these defaults on 2M tokens of
  big.txt (``benchmarks/results/fasttext.md``).
* ``max_n=0`` trains no n-grams: exactly :class:`densevec.Word2Vec` (bit for
  bit with ``threads=1`` and the same seed).
* Row locks (``warm_start(..., freeze=True)``) are not supported with n-grams.
* An out-of-vocabulary word none of whose n-grams occurs in a vocabulary word
  has no vector (``KeyError``; :meth:`SubwordEmbeddings.has_vector` is False):
  fastText would return the mean of untrained random rows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Sequence

import numpy as np

from densevec import _core, _fs, _search, _space
from densevec._fs import PathLike
from densevec._validate import INT32_MAX, check_hyperparameter_not_data
from densevec.corpus import _check_int
from densevec.train._base import ModelState, aligned_copy, uniform_rows
from densevec.vectors import Embeddings
from densevec.word2vec import Word2Vec

_MAX_BUCKET = 0xFFFFFFFF
EOS = "</s>"  # fastText's end-of-sentence token: a word without n-grams
_INIT_CHUNK = 1 << 16  # rows of the n-gram matrix initialised at a time (bounded temporaries)


def ngram_ids(words: Sequence[str], min_n: int, max_n: int, bucket: int,
              threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """fastText n-gram ids of each word: ``(offsets, ids)``, word ``i``'s in
    ``ids[offsets[i]:offsets[i + 1]]`` (computed in C++, in parallel).

    Words are encoded as UTF-8; a str holding lone surrogates (from bytes that
    were not UTF-8, e.g. ``surrogateescape``) is encoded back to those bytes.
    """
    if max_n == 0:
        return np.zeros(len(words) + 1, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
    raw = [w.encode("utf-8", "surrogateescape") for w in words]
    offsets, ids = _core.ft_subwords(words=raw, min_n=min_n, max_n=max_n, bucket=bucket, threads=threads)
    if EOS in words:  # fastText's end-of-sentence token has no n-grams
        i = list(words).index(EOS)
        a, b = int(offsets[i]), int(offsets[i + 1])
        ids = np.concatenate([ids[:a], ids[b:]])
        offsets[i + 1:] -= np.uint64(b - a)
    return offsets, ids


def _lazy_zeros(shape: tuple[int, int]) -> np.ndarray:
    """A float32 zero matrix whose pages cost memory only once written, in
    small pages: the hashed n-gram rows a vocabulary uses are scattered over
    the whole matrix, and with transparent huge pages every one of them would
    fault in 2 MiB (in effect the whole matrix)."""
    size = int(np.prod(shape)) * 4
    if size < 1 << 24:
        return np.zeros(shape, dtype=np.float32)
    import mmap
    mm = mmap.mmap(-1, size)
    if hasattr(mm, "madvise") and hasattr(mmap, "MADV_NOHUGEPAGE"):
        mm.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(mm, dtype=np.float32).reshape(shape)


def _check_ngram_params(min_n: Any, max_n: Any, bucket: Any) -> tuple[int, int, int]:
    max_n = _check_int("max_n", max_n, 0, INT32_MAX)
    min_n = _check_int("min_n", min_n, 0 if max_n == 0 else 1, INT32_MAX)
    if max_n > 0 and min_n > max_n:
        raise ValueError(f"min_n must be <= max_n, got min_n={min_n}, max_n={max_n}")
    bucket = _check_int("bucket", bucket, 0 if max_n == 0 else 1, _MAX_BUCKET)
    return min_n, max_n, bucket


class FastText(Word2Vec):
    """fastText trainer: skip-gram or CBOW over bags of character n-grams.

    Parameters
    ----------
    dim, mode, loss, window, negative, sample, alpha, min_alpha, epochs, min_count, threads, seed, cbow_mean, ns_exponent
        As :class:`densevec.Word2Vec`.
    min_n, max_n : int
        Lengths (in characters) of the n-grams of ``"<word>"``; ``max_n=0``
        uses no n-grams (plain word2vec).
    bucket : int
        Rows of the hashed n-gram matrix (fastText's and gensim's default 2,000,000).
    share_negatives : bool
        As :class:`densevec.Word2Vec`: False draws fresh noise words for every
        context word, as fastText and gensim do.

    Examples
    --------
    >>> model = FastText(dim=100, epochs=5)           # doctest: +SKIP
    >>> emb = model.fit(corpus)                       # doctest: +SKIP
    >>> emb["unseenword"]                             # doctest: +SKIP
    """

    algorithm = "fasttext"
    _display_name = "fastText"

    def __init__(
        self,
        dim: int = 100,
        mode: Literal["skipgram", "cbow"] = "skipgram",
        loss: Literal["ns", "hs"] = "ns",
        window: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        alpha: Optional[float] = None,
        min_alpha: Optional[float] = None,
        epochs: int = 5,
        min_count: int = 5,
        threads: int = 0,
        seed: int = 1,
        cbow_mean: bool = True,
        ns_exponent: float = 0.75,
        min_n: int = 3,
        max_n: int = 6,
        bucket: int = 2_000_000,
        share_negatives: bool = True,
    ):
        check_hyperparameter_not_data("FastText", dim)
        super().__init__(dim=dim, mode=mode, loss=loss, window=window, negative=negative, sample=sample,
                         alpha=alpha, min_alpha=min_alpha, epochs=epochs, min_count=min_count,
                         threads=threads, seed=seed, cbow_mean=cbow_mean, ns_exponent=ns_exponent,
                         share_negatives=share_negatives)
        self.min_n, self.max_n, self.bucket = _check_ngram_params(min_n, max_n, bucket)
        self._bags: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._layout: Optional[tuple[np.ndarray, np.ndarray]] = None
        self._hot: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    # ---------------------------------------------------------------- state
    def build_vocab(self, corpus: Any, update: bool = False, allow_mixed: bool = False) -> "FastText":
        """As :meth:`densevec.Word2Vec.build_vocab`, plus the n-gram matrix:
        ``bucket`` rows, of which only those the vocabulary's n-grams use are
        initialised (the others stay zero and are never read in training, so
        their memory is never touched). Growing the vocabulary keeps every
        trained n-gram row and initialises the rows only new words use."""
        fresh = not update or self.state is None
        n_old = 0 if fresh else len(self.state)
        super().build_vocab(corpus, update=update, allow_mixed=allow_mixed)
        state = self.state
        assert state is not None
        if fresh:
            state.arrays["ngrams"] = _lazy_zeros((self.bucket if self.max_n > 0 else 0, self.dim))
            state.info["subwords"] = {"min_n": self.min_n, "max_n": self.max_n, "bucket": self.bucket}
        self._bags = self._layout = None
        if self.max_n > 0:
            offsets, ids = self._subword_table()
            split = int(offsets[n_old])
            rows = np.setdiff1d(np.unique(ids[split:]), ids[:split])
            # a stream of its own (word rows match Word2Vec's), one per growth step
            rng = np.random.default_rng([self.seed, 0x6E6772, n_old])
            ngrams = self._writable_ngrams()
            for start in range(0, len(rows), _INIT_CHUNK):
                part = rows[start:start + _INIT_CHUNK]
                ngrams[part] = uniform_rows(rng, (len(part), self.dim), self.dim, self._init_span)
        return self

    def warm_start(self, vectors: Embeddings, freeze: bool = False) -> int:
        """As :meth:`densevec.Word2Vec.warm_start` (word rows only); ``freeze``
        needs ``max_n=0`` (row locks do not apply to bags of n-gram rows)."""
        if freeze and self.max_n > 0:
            raise ValueError("warm_start(freeze=True) is not supported with n-grams (max_n > 0)")
        return super().warm_start(vectors, freeze=freeze)

    def _subword_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(offsets, ids) of the model's words, computed once per vocabulary."""
        if self._bags is None:
            state = self.state
            assert state is not None
            self._bags = ngram_ids(state.words, self.min_n, self.max_n, self.bucket, self.threads)
        return self._bags

    def _training_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, local ids): the n-gram rows the vocabulary uses, hottest
        first (by the expected uses per epoch: the counts, after subsampling,
        of the words holding each), and each word's n-gram ids renumbered into
        that order. Computed once per vocabulary."""
        if self._layout is None:
            state = self.state
            assert state is not None
            offsets, ids = self._subword_table()
            used, inverse = np.unique(ids, return_inverse=True)
            keep = self._build_samplers()[0]
            weight = state.counts.astype(np.float64) * (1.0 if keep is None else keep)
            heat = np.bincount(inverse.ravel(), weights=np.repeat(weight, np.diff(offsets).astype(np.int64)),
                               minlength=len(used))
            hottest = np.argsort(-heat, kind="stable")
            rank = np.empty(len(used), dtype=np.uint32)
            rank[hottest] = np.arange(len(used), dtype=np.uint32)
            self._layout = (used[hottest].astype(np.int64), rank[inverse.ravel()])
        return self._layout

    def _input_bags(self) -> dict:
        """Training reads a compact copy of the n-gram rows the vocabulary
        uses, hottest first, instead of rows scattered over ``bucket``: the
        bags of frequent words then share cache lines and pages (1.6-1.8x the
        words per second of the scattered layout on big.txt, same arithmetic,
        same results). :meth:`_sync_ngrams` writes the copy back after every
        epoch and at the end of ``train``. Costs the copy's memory (used rows x
        dim floats) while training."""
        if self.max_n == 0:
            return {}  # plain word2vec
        offsets, ids = self._subword_table()
        rows, local = self._training_layout()
        ngrams = self._writable_ngrams()
        if len(rows) == 0:
            return {"ngrams": ngrams, "subword_offsets": offsets, "subword_ids": ids}
        hot = np.ascontiguousarray(ngrams[rows])
        self._hot = (ngrams, rows, hot)
        return {"ngrams": hot, "subword_offsets": offsets, "subword_ids": local}

    def _sync_ngrams(self) -> None:
        """Writes the compact training copy of the n-gram rows back into the
        model's n-gram matrix."""
        if self._hot is not None:
            ngrams, rows, hot = self._hot
            ngrams[rows] = hot

    def _epoch_report(self, epoch: int, stats: dict, seconds: float) -> dict:
        self._sync_ngrams()  # callbacks (e.g. a save) see the epoch's n-gram rows
        return super()._epoch_report(epoch, stats, seconds)

    def _writable_ngrams(self) -> np.ndarray:
        """The n-gram matrix, copied first when the last returned embeddings
        share it (earlier results never change) or it is a read-only mapping."""
        state = self.state
        assert state is not None
        prev = self.embeddings_
        if isinstance(prev, SubwordEmbeddings) and np.shares_memory(prev._ngrams, state.arrays["ngrams"]):
            state.arrays["ngrams"] = aligned_copy(state.arrays["ngrams"])
        return state.writable("ngrams")

    def train(self, corpus: Any, epochs: Optional[int] = None, progress: bool = True,
              callbacks: Sequence[Any] = (), allow_mixed: bool = False,
              start_alpha: Optional[float] = None, end_alpha: Optional[float] = None) -> "SubwordEmbeddings":
        """As :meth:`densevec.Word2Vec.train`; returns :class:`SubwordEmbeddings`
        whose rows are the composed vectors of the vocabulary (what fastText's
        ``.vec`` file holds) and which compose vectors for unseen words."""
        try:
            plain = super().train(corpus, epochs=epochs, progress=progress, callbacks=callbacks,
                                  allow_mixed=allow_mixed, start_alpha=start_alpha, end_alpha=end_alpha)
        finally:
            self._sync_ngrams()
            self._hot = None
        state = self.state
        assert state is not None
        ngrams = np.asarray(state.arrays["ngrams"])
        words = plain.index_to_word
        if self.max_n == 0:
            composed = np.array(plain._plain)
            known = np.zeros(0, dtype=bool)
        else:
            offsets, ids = ngram_ids(words, self.min_n, self.max_n, self.bucket, self.threads)
            composed = _core.ft_compose(word_rows=np.ascontiguousarray(plain._plain), ngrams=ngrams,
                                        offsets=offsets, ids=ids, threads=self.threads)
            known = np.zeros(self.bucket, dtype=bool)
            known[ids] = True
        emb = SubwordEmbeddings(composed, words, ngrams, known, self.min_n, self.max_n,
                                counts=plain.counts, meta=plain.meta)
        self.embeddings_ = emb
        return emb

    @classmethod
    def from_bin(cls, path: PathLike, threads: int = 0, seed: int = 1) -> "FastText":
        """A trainable model from Facebook fastText's ``.bin`` (skip-gram or
        CBOW with negative sampling): its vocabulary and counts, word rows,
        n-gram rows and output rows, and its hyperparameters. Train it further
        with ``train(corpus, allow_mixed=True)`` (the corpus it was trained on is
        unknown), after ``build_vocab(corpus, update=True, allow_mixed=True)``
        for the corpus's new words. ``ValueError`` for supervised models,
        hierarchical softmax or softmax (their output layers differ from ours).
        """
        import mmap as _mmap
        path = Path(path)
        with _fs.open_regular(path, "a fastText .bin file") as f:
            if f.seek(0, 2) == 0:
                raise ValueError(f"{path}: not a valid fastText .bin file: empty")
            with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
                emb, parts = _read_bin(_BinReader(path, mm), mmap=False)
        args = parts["args"]
        if _FT_MODEL.get(args["model"]) not in ("skipgram", "cbow") or _FT_LOSS.get(args["loss"]) != "ns":
            raise ValueError(f"{path}: a {_FT_MODEL.get(args['model'], args['model'])} model with loss "
                             f"{_FT_LOSS.get(args['loss'], args['loss'])}: only skip-gram and CBOW with negative "
                             "sampling ('ns') can be trained further")
        words = emb.index_to_word
        if parts["output"].shape != (len(words), emb.dim):
            raise ValueError(f"{path}: output matrix {parts['output'].shape}, expected ({len(words)}, {emb.dim})")
        model = cls(dim=emb.dim, mode=_FT_MODEL[args["model"]], loss="ns", window=max(1, args["ws"]),
                    negative=max(1, args["neg"]), sample=max(0.0, float(args["t"])), epochs=max(1, args["epoch"]),
                    min_count=max(1, args["min_count"]), threads=threads, seed=seed, min_n=emb.min_n,
                    max_n=emb.max_n, bucket=emb.bucket if emb.max_n > 0 else 0)
        arrays = {"input": parts["word_rows"], "output": parts["output"],
                  "ngrams": np.array(emb.ngrams, dtype=np.float32)}
        model.state = ModelState(arrays, words, np.asarray(emb.counts, dtype=np.uint64),
                                 {"subwords": {"min_n": model.min_n, "max_n": model.max_n, "bucket": model.bucket}})
        model.embeddings_ = emb
        return model

    def _check_state(self, state: ModelState, path: Path) -> None:
        super()._check_state(state, path)
        arr = state.arrays.get("ngrams")
        want = (self.bucket if self.max_n > 0 else 0, self.dim)
        if arr is None or arr.shape != want or arr.dtype != np.float32:
            got = None if arr is None else (arr.shape, str(arr.dtype))
            raise ValueError(f"{path}: array 'ngrams' is {got}, expected {want} float32")

    def _after_load(self) -> None:
        super()._after_load()
        self._bags = self._layout = None


class SubwordEmbeddings(Embeddings):
    """:class:`densevec.Embeddings` that also compose vectors for unseen words.

    The rows (``vectors``) are the vocabulary's vectors, each the mean of the
    word's row and its n-gram rows, so search, analogies and evaluation over
    the vocabulary work as for any :class:`~densevec.Embeddings`. The n-gram
    matrix (``ngrams``, ``bucket`` rows) is kept beside them: ``emb[word]``
    for a word not in the vocabulary is the mean of its n-gram rows, as
    fastText's ``get_word_vector``. ``word in emb`` still means "in the
    vocabulary"; :meth:`has_vector` says whether a vector can be built.

    A word none of whose n-grams occurs in a vocabulary word (every such row
    is untrained noise) has no vector: ``KeyError``. Stores
    (:meth:`save` / :meth:`densevec.Embeddings.load`) keep the n-gram matrix in
    ``ngrams.npy`` (memory-mapped: an out-of-vocabulary lookup reads only its
    rows); :meth:`quantize` quantises it too.

    Parameters
    ----------
    vectors : numpy.ndarray, shape (n, dim)
        Composed vectors of the vocabulary.
    words : sequence of str
    ngrams : numpy.ndarray, shape (bucket, dim)
        The n-gram rows.
    known : numpy.ndarray of bool, shape (bucket,)
        Which n-gram rows occur in a vocabulary word.
    min_n, max_n : int
        The n-gram lengths.
    counts, meta
        As :class:`densevec.Embeddings`.
    """

    def __init__(self, vectors: np.ndarray, words: Sequence[str], ngrams: np.ndarray, known: np.ndarray,
                 min_n: int, max_n: int, counts: Optional[np.ndarray] = None, meta: Optional[dict] = None):
        super().__init__(vectors, words, counts=counts, meta=meta)
        ngrams = np.asarray(ngrams)
        if ngrams.ndim != 2 or (ngrams.shape[0] and ngrams.shape[1] != self.dim):
            raise ValueError(f"ngrams must be (bucket, {self.dim}), got {ngrams.shape}")
        self._set_subwords(np.ascontiguousarray(ngrams, dtype=np.float32), None, known, min_n, max_n)

    def _set_subwords(self, ngrams: np.ndarray, ngram_scales: Optional[np.ndarray], known: np.ndarray,
                      min_n: int, max_n: int, packed: bool = False) -> None:
        """`known`: a bool per n-gram row, or (`packed`) those bits as np.packbits packs them."""
        self._ngrams = ngrams
        self._ngram_scales = ngram_scales
        self._ngram_file: Optional[tuple[Path, int]] = None  # (file, data offset): read rows with pread
        rows = ngrams.shape[0]
        self._known_bits = np.asarray(known, dtype=np.uint8) if packed else np.packbits(np.asarray(known, bool))
        if self._known_bits.shape != ((rows + 7) // 8,) or (not packed and np.shape(known) != (rows,)):
            raise ValueError(f"known must have one entry per n-gram row ({rows}), got shape {np.shape(known)}")
        self.min_n, self.max_n = int(min_n), int(max_n)
        self.bucket = int(rows)

    def _known(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        return ((self._known_bits[ids >> 3] >> (7 - (ids & 7))) & 1).astype(bool)

    def _ngram_rows(self, ids: np.ndarray) -> np.ndarray:
        """N-gram rows `ids` as float32. From a mapped store they are read with
        pread, so that only their bytes are read: a page fault on the mapping
        would map a whole (possibly large) page-cache folio around each row."""
        if self._ngram_file is None:
            rows = self._ngrams[ids]
        else:
            import os
            path, offset = self._ngram_file
            width = self._ngrams.dtype.itemsize * self.dim
            fd = os.open(path, os.O_RDONLY)
            try:
                rows = np.empty((len(ids), self.dim), dtype=self._ngrams.dtype)
                for k, i in enumerate(ids):
                    b = os.pread(fd, width, offset + int(i) * width)
                    if len(b) != width:
                        raise ValueError(f"{path}: truncated (row {int(i)} cannot be read)")
                    rows[k] = np.frombuffer(b, dtype=self._ngrams.dtype)
            finally:
                os.close(fd)
        return _search.dequantize(rows, None if self._ngram_scales is None else self._ngram_scales[ids])

    @property
    def ngrams(self) -> np.ndarray:
        """The n-gram matrix as stored, ``(bucket, dim)``."""
        return self._ngrams

    def __repr__(self) -> str:
        dt = "" if self.dtype == "float32" else f", dtype={self.dtype}"
        return (f"SubwordEmbeddings(n={len(self)}, dim={self.dim}, bucket={self.bucket}, "
                f"min_n={self.min_n}, max_n={self.max_n}{dt})")

    # ------------------------------------------------------------ lookups
    def _ngram_ids(self, word: str) -> np.ndarray:
        if self.max_n == 0 or self.bucket == 0:
            return np.zeros(0, dtype=np.uint32)
        return ngram_ids([word], self.min_n, self.max_n, self.bucket, 1)[1]

    def has_vector(self, word: str) -> bool:
        """True when ``self[word]`` gives a vector: `word` is in the vocabulary
        or one of its n-grams occurs in a vocabulary word."""
        if not isinstance(word, str):
            raise TypeError(f"has_vector takes a str, got {type(word).__name__}")
        return word in self or bool(self._known(self._ngram_ids(word)).any())

    def _compose(self, word: str, strict: bool = True) -> np.ndarray:
        """The vector of an out-of-vocabulary word (fastText's get_word_vector)."""
        ids = self._ngram_ids(word)
        if strict and not self._known(ids).any():
            raise KeyError(f"word {word!r} not in vocabulary, and none of its character n-grams "
                           f"({self.min_n}..{self.max_n}) occurs in a vocabulary word: no vector can be built")
        out = np.zeros(self.dim, dtype=np.float32)
        if len(ids) == 0:
            return out
        rows = self._ngram_rows(ids)
        for r in rows:  # in order, in float32, as fastText sums
            out += r
        return out * np.float32(1.0 / len(ids))

    def get_vector(self, word: str, strict: bool = True) -> np.ndarray:
        """The vector of `word`: its row, or composed from its n-gram rows.

        With ``strict=False`` an out-of-vocabulary word is composed even when
        none of its n-grams occurs in the vocabulary (from untrained rows), and
        a word without n-grams gets zeros: exactly fastText's ``get_word_vector``.
        """
        i = self._vocab.index(word)
        return self._rows(i) if i >= 0 else self._compose(word, strict)

    def __getitem__(self, word: Any) -> np.ndarray:
        if isinstance(word, str):
            return self.get_vector(word)
        if isinstance(word, (list, tuple)) and all(isinstance(w, str) for w in word):
            if not word:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([self.get_vector(w) for w in word])
        return super().__getitem__(word)

    def _items(self, items: Any) -> list:
        """Out-of-vocabulary words replaced by their composed vectors."""
        if isinstance(items, (str, np.ndarray)):
            items = [items]
        return [self._compose(x) if isinstance(x, str) and x not in self else x for x in items]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words, either of them out of the vocabulary."""
        if a in self and b in self:
            return super().similarity(a, b)
        u, v = self.get_vector(a), self.get_vector(b)
        nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        return 0.0 if nu == 0 or nv == 0 else float(np.dot(u, v) / (nu * nv))

    def most_similar(self, positive: Any = (), negative: Any = (), topn: Optional[int] = 10,
                     restrict_vocab: Optional[int] = None) -> Any:
        """As :meth:`densevec.Embeddings.most_similar`; out-of-vocabulary words
        are queried by their composed vectors (and cannot be excluded from the
        results, which hold vocabulary words only)."""
        return super().most_similar(self._items(positive), self._items(negative), topn=topn,
                                    restrict_vocab=restrict_vocab)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: Any = "3cosadd",
                restrict_vocab: Optional[int] = None) -> list[tuple[str, float]]:
        """As :meth:`densevec.Embeddings.analogy`; with an out-of-vocabulary
        word only ``"3cosadd"`` is available (through :meth:`most_similar`)."""
        if a in self and b in self and c in self:
            return super().analogy(a, b, c, topn=topn, method=method, restrict_vocab=restrict_vocab)
        if method != "3cosadd":
            raise ValueError(f"analogy with out-of-vocabulary words supports method='3cosadd' only, got {method!r}")
        return self.most_similar(positive=[b, c], negative=[a], topn=topn, restrict_vocab=restrict_vocab)

    # ------------------------------------------------------------ storage
    def quantize(self, dtype: Literal["int8", "float16"]) -> "SubwordEmbeddings":
        """As :meth:`densevec.Embeddings.quantize`, the n-gram matrix too."""
        base = super().quantize(dtype)
        if dtype == "float16":
            ngrams, scales = self._ngrams.astype(np.float16), None
        else:
            ngrams, scales = _search.quantize_int8(self._ngrams)
        out = SubwordEmbeddings.__new__(SubwordEmbeddings)
        out._init(base._vectors, base._scales, base._vocab, base._meta)
        out._source = base._source
        out._set_subwords(ngrams, scales, self._known_bits, self.min_n, self.max_n, packed=True)
        return out

    def _subword_files(self) -> tuple[dict, dict]:
        arrays = {"ngrams.npy": self._ngrams, "ngrams_known.npy": self._known_bits}
        if self._ngram_scales is not None:
            arrays["ngrams_scales.npy"] = np.asarray(self._ngram_scales, dtype=np.float32)
        doc = {"subwords": {"min_n": self.min_n, "max_n": self.max_n, "bucket": self.bucket,
                            "hash": "fasttext-fnv1a-32"}}
        return arrays, doc

    def save(self, path: PathLike, *, overwrite: bool = False) -> Path:
        """As :meth:`densevec.Embeddings.save`, plus ``ngrams.npy`` (the n-gram
        rows as stored), ``ngrams_known.npy`` (a bit per n-gram row: occurs in
        a vocabulary word) and, for int8, ``ngrams_scales.npy``; ``meta.json``
        records ``subwords`` (``min_n``, ``max_n``, ``bucket``)."""
        from densevec._store_format import write_store
        arrays, doc = self._subword_files()
        return write_store(Path(path), self._vectors, self._scales, self.index_to_word, self.counts, self._meta,
                           overwrite=overwrite, extra_arrays=arrays, extra_doc=doc)

    @classmethod
    def _open(cls, path: Path, doc: dict, base: Embeddings, mmap: bool) -> "SubwordEmbeddings":
        """The subword part of a store (see :meth:`save`), checked before mapping."""
        from densevec._store_format import _open_npy
        meta_path = path / "meta.json"
        sub = doc.get("subwords")
        try:
            min_n, max_n, bucket = (int(sub[k]) for k in ("min_n", "max_n", "bucket"))
            if sub.get("hash") != "fasttext-fnv1a-32":
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f"{meta_path}: bad subwords entry {sub!r}") from None
        try:
            _check_ngram_params(min_n, max_n, bucket)
        except ValueError as e:
            raise ValueError(f"{meta_path}: subwords: {e}") from None
        rows = bucket if max_n > 0 else 0
        ngrams = _open_npy(path / "ngrams.npy", (rows, doc["dim"]), _search.DTYPES[doc["dtype"]], mmap)
        bits = _open_npy(path / "ngrams_known.npy", ((rows + 7) // 8,), np.dtype("u1"), mmap)
        scales = None
        if doc["dtype"] == "int8":
            scales = _open_npy(path / "ngrams_scales.npy", (rows,), np.dtype("<f4"), False)
            if not np.isfinite(scales).all() or (scales < 0).any():
                raise ValueError(f"{path / 'ngrams_scales.npy'}: scales must be finite and non-negative")
        out = cls.__new__(cls)
        out._init(base._vectors, base._scales, base._vocab, base._meta)
        out._set_subwords(ngrams, scales, bits, min_n, max_n, packed=True)
        if isinstance(ngrams, np.memmap):
            out._ngram_file = (path / "ngrams.npy", int(ngrams.offset))
        return out


# ================================================================ fastText .bin
_FT_MAGIC = 793712314
_FT_VERSIONS = (11, 12)
_FT_LOSS = {1: "hs", 2: "ns", 3: "softmax", 4: "ova"}
_FT_MODEL = {1: "cbow", 2: "skipgram", 3: "supervised"}


class _BinReader:
    """Bounded reads of a mapped fastText file: every size is checked against
    the bytes left before anything is allocated."""

    def __init__(self, path: Path, mm: Any):
        self.path, self.mm, self.pos = path, mm, 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.path}: not a valid fastText .bin file: {what} (at byte {self.pos})")

    def take(self, n: int, what: str) -> bytes:
        if n > len(self.mm) - self.pos:
            raise self.fail(f"truncated while reading {what}")
        b = self.mm[self.pos:self.pos + n]
        self.pos += n
        return b

    def num(self, fmt: str, what: str) -> Any:
        dt = np.dtype(fmt)
        return np.frombuffer(self.take(dt.itemsize, what), dtype=dt)[0].item()

    def left(self) -> int:
        return len(self.mm) - self.pos


def load_fasttext(path: PathLike, mmap: bool = True) -> SubwordEmbeddings:
    """Read Facebook fastText's binary model (``.bin``) as :class:`SubwordEmbeddings`.

    Reads the header (magic and version 11 or 12), the arguments, the
    dictionary and the input matrix (``nwords + bucket`` rows); the result
    gives, for every word in or out of the vocabulary, the vector fastText's
    ``get_word_vector`` gives (the same float32 sums, in the same order).
    Labels (supervised models) are not words and are left out. Words are
    decoded as UTF-8 with ``surrogateescape``: a word that is not valid UTF-8
    keeps its bytes (fastText itself treats words as bytes), and its n-grams
    are those of the original bytes.

    Quantised models (``.ftz``) are refused with a ``ValueError``. Every
    problem (not a fastText file, truncated, a header that promises more than
    the file holds) raises ``ValueError`` naming the file before anything of
    that size is allocated.

    Parameters
    ----------
    path : str or os.PathLike
    mmap : bool
        Map the n-gram rows read-only instead of reading them into memory.
    """
    import mmap as _mmap
    path = Path(path)
    with _fs.open_regular(path, "a fastText .bin file") as f:
        size = f.seek(0, 2)
        if size == 0:
            raise ValueError(f"{path}: not a valid fastText .bin file: empty")
        with _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as mm:
            return _read_bin(_BinReader(path, mm), mmap)[0]


def _read_bin(r: _BinReader, mmap: bool) -> tuple[SubwordEmbeddings, dict]:
    """The embeddings of a .bin, and what a model needs besides: the word rows,
    the output matrix (a copy) and fastText's arguments."""
    magic = r.num("<i4", "the magic number")
    if magic != _FT_MAGIC:
        raise r.fail(f"magic number {magic}, expected {_FT_MAGIC}")
    version = r.num("<i4", "the version")
    if version not in _FT_VERSIONS:
        raise r.fail(f"unsupported version {version}")
    names = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket", "minn",
             "maxn", "lr_update_rate")
    args = {k: r.num("<i4", f"argument {k}") for k in names}
    args["t"] = r.num("<f8", "argument t")
    dim, bucket, minn, maxn = args["dim"], args["bucket"], args["minn"], args["maxn"]
    if not 1 <= dim <= 1 << 20:
        raise r.fail(f"dim {dim} out of range")
    if bucket < 0 or minn < 0 or maxn < 0 or (maxn > 0 and not 1 <= minn <= maxn):
        raise r.fail(f"bad n-gram arguments bucket={bucket}, minn={minn}, maxn={maxn}")
    size = r.num("<i4", "the dictionary size")
    nwords = r.num("<i4", "the number of words")
    nlabels = r.num("<i4", "the number of labels")
    ntokens = r.num("<i8", "the number of tokens")
    prune = r.num("<i8", "the pruned index size")
    if size < 0 or nwords < 0 or nlabels < 0 or nwords + nlabels != size:
        raise r.fail(f"dictionary sizes {size} != {nwords} words + {nlabels} labels")
    if size > r.left() // 10:  # every entry takes at least 10 bytes
        raise r.fail(f"the dictionary promises {size} entries, more than the file holds")
    # each entry: the word's bytes, NUL, int64 count, int8 type (0 word, 1 label)
    words: list[str] = []
    counts = np.zeros(nwords, dtype=np.int64)
    tail = np.dtype([("count", "<i8"), ("type", "i1")])
    for i in range(size):
        end = r.mm.find(b"\0", r.pos)
        if end < 0:
            raise r.fail(f"truncated in dictionary entry {i}")
        word = r.take(end - r.pos, "a word")
        r.pos += 1
        count, kind = np.frombuffer(r.take(9, "a dictionary entry"), dtype=tail)[0].tolist()
        if kind not in (0, 1) or (kind == 0) != (i < nwords):
            raise r.fail(f"dictionary entry {i} has type {kind}")
        if kind == 0:
            if not word:
                raise r.fail(f"dictionary entry {i} is an empty word")
            words.append(word.decode("utf-8", "surrogateescape"))
            counts[i] = count
    if prune < -1 or prune * 8 > r.left():
        raise r.fail(f"bad pruned index size {prune}")
    if prune > 0:
        raise r.fail("pruned dictionaries (quantised .ftz models) are not supported")
    quant = r.num("<u1", "the quantisation flag")
    if quant:
        raise r.fail("quantised models (.ftz) are not supported")
    m = r.num("<i8", "the input matrix rows")
    n = r.num("<i8", "the input matrix columns")
    if n != dim or m != nwords + bucket:
        raise r.fail(f"input matrix is {m} x {n}, expected {nwords + bucket} x {dim}")
    need = 4 * m * n
    if need > r.left():
        raise r.fail(f"the input matrix needs {need} bytes, {r.left()} are left (truncated)")
    offset = r.pos
    r.pos += need
    qout = r.num("<u1", "the output quantisation flag")
    if qout:
        raise r.fail("quantised output matrix (.ftz) is not supported")
    om = r.num("<i8", "the output matrix rows")
    on = r.num("<i8", "the output matrix columns")
    out_offset = r.pos
    if on != dim or om < 0 or 4 * om * on != r.left():
        raise r.fail(f"output matrix is {om} x {on} with {r.left()} bytes left, expected {dim} columns "
                     "and the file to end with it")
    if len(set(words)) != len(words):
        raise r.fail("duplicate words in the dictionary")
    if (counts < 0).any():
        raise r.fail("negative word counts")
    if mmap and m * n:
        matrix = np.memmap(r.path, dtype="<f4", mode="r", offset=offset, shape=(m, n)).view(np.ndarray)
    else:
        matrix = np.frombuffer(r.mm, dtype="<f4", count=m * n, offset=offset).reshape(m, n).copy()
    word_rows = np.ascontiguousarray(matrix[:nwords], dtype=np.float32)
    if maxn > 0:
        ngrams = matrix[nwords:]
        offsets, ids = ngram_ids(words, minn, maxn, bucket)
        composed = _compose_used(word_rows, ngrams, offsets, ids)
        known = np.zeros(bucket, dtype=bool)
        known[ids] = True
    else:
        ngrams = np.zeros((0, dim), dtype=np.float32)
        composed = word_rows
        known = np.zeros(0, dtype=bool)
    meta = {"algorithm": "fasttext", "source": "fastText .bin", "normalized": False,
            "params": {"dim": dim, "mode": _FT_MODEL.get(args["model"], str(args["model"])),
                       "loss": _FT_LOSS.get(args["loss"], str(args["loss"])), "window": args["ws"],
                       "negative": args["neg"], "epochs": args["epoch"], "min_count": args["min_count"],
                       "sample": args["t"], "min_n": minn, "max_n": maxn, "bucket": bucket},
            "fasttext_tokens": int(ntokens),
            "space": _space.new_space("fastText .bin")}
    emb = SubwordEmbeddings.__new__(SubwordEmbeddings)
    base = Embeddings(composed, words, counts=counts, meta=meta)
    emb._init(base._vectors, None, base._vocab, base._meta)
    emb._set_subwords(ngrams, None, known, minn, maxn)
    output = np.frombuffer(r.mm, dtype="<f4", count=om * on, offset=out_offset).reshape(om, on)
    return emb, {"word_rows": word_rows, "output": np.array(output, dtype=np.float32), "args": args}


def _compose_used(word_rows: np.ndarray, ngrams: np.ndarray, offsets: np.ndarray,
                  ids: np.ndarray) -> np.ndarray:
    """ft_compose without copying the (possibly mapped) n-gram matrix: only the
    rows the vocabulary uses are gathered, and their ids renumbered."""
    used, local = np.unique(ids, return_inverse=True)
    rows = np.ascontiguousarray(ngrams[used], dtype=np.float32)
    return _core.ft_compose(word_rows=word_rows, ngrams=rows, offsets=offsets,
                            ids=local.astype(np.uint32))
