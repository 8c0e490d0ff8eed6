"""Doc2Vec: paragraph vectors (PV-DBOW and PV-DM, Le & Mikolov 2014).

Training runs in C++ (``densevec._core.train_doc2vec``) over the word2vec
kernels with the GIL released, Hogwild like :class:`~densevec.Word2Vec`.

* **PV-DBOW** (``mode="dbow"``): every word of a document is predicted from the
  document's vector (skip-gram whose input is the document's row). With
  ``dbow_words=True`` the words are also predicted from their context words,
  sharing the window's negatives, so word vectors train alongside (gensim's
  ``dbow_words=1``).
* **PV-DM** (``mode="dm"``): the mean of the document's vector(s) and the
  context words predicts the centre word (gensim's ``dm=1, dm_mean=1``); word
  vectors train too.

Documents and tags (see :class:`Documents`):

* a text file: one document per line, tagged by its line number (``"0"``,
  ``"1"``, ...: tags are strings); with ``tagged=True`` each line is
  ``TAGS<TAB>TEXT`` where TAGS holds one or more tags separated by spaces;
* an iterable: of documents (a string or a list of tokens; tagged by position)
  or, with ``tagged=True``, of ``(tags, tokens)`` pairs, where ``tags`` is a
  string or a list of strings (gensim's ``TaggedDocument(words, tags)`` is
  recognised by its attributes);
* several documents may carry the same tag: they all train that one vector (as
  in gensim). A document may carry several tags: in PV-DBOW each predicts its
  words, in PV-DM all of them join the context mean.

A document is never cut short: a document longer than ``max_sentence_length``
in-vocabulary tokens is split into sentences that all carry its tags (windows
do not cross the cuts), and the threads' slices are cut at sentence ends, so
every token of every document trains under its tags whatever the thread
count. A document with no in-vocabulary token has nothing to train: its vector
is returned as zeros (listed in ``model.empty_documents_``, with a warning).

Inference (:meth:`Doc2Vec.infer_vectors`) trains a new vector per document
with every model weight frozen, in C++ threads; document ``i``'s random numbers
come from ``(seed, i)`` only, so the result is bit-identical whatever the
thread count and call to call.
"""
from __future__ import annotations

import hashlib
import math
import os
import warnings
from itertools import chain, repeat
from pathlib import Path
from typing import Any, Iterable, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core, _fs
from densevec._validate import FLOAT32_MAX, INT32_MAX, INT64_MAX, MAX_THREADS, UINT64_MAX
from densevec._validate import check_hyperparameter_not_data
from densevec.corpus import Corpus, PathLike, Vocab, _check_float, _check_int, resolve_threads, sentence_lines
from densevec.train._base import Callback, ModelState, Trainer, uniform_rows
from densevec.vectors import Embeddings
from densevec.word2vec import Word2Vec

# Marks the start of every document in the text handed to the corpus encoder,
# so that documents survive the encoder's dropping of empty lines. Removed from
# the stream afterwards; a text that holds it is refused.
_SENTINEL = "\u2063densevec-doc\u2063"
_SENTINEL_BYTES = _SENTINEL.encode("utf-8") + b" "


def _check_tags(tags: Any, i: int) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    elif isinstance(tags, (bytes, bytearray)) or not isinstance(tags, Sequence):
        raise TypeError(f"document {i}: tags must be a string or a list of strings, got {type(tags).__name__}")
    out: list[str] = []
    for t in tags:
        if not isinstance(t, str):
            raise TypeError(f"document {i}: tag {t!r} is a {type(t).__name__}, tags must be strings")
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError(f"document {i} has no tags")
    return out


class Documents:
    """Tagged documents, encoded once: a :class:`~densevec.Corpus` whose
    sentences each carry the index of their document, and each document's tags.

    Build with :meth:`from_file` or :meth:`from_iterable` (see the module
    docstring for the formats).

    Attributes
    ----------
    corpus : Corpus
        The id stream (sentences cut at ``max_sentence_length``).
    sent_doc : numpy.ndarray of uint32, shape (corpus.n_sentences,)
        The document of each sentence.
    tags : list of str
        The distinct tags, in order of first appearance.
    tag_offsets : numpy.ndarray of uint64, shape (n_docs + 1,)
    tag_rows : numpy.ndarray of uint32
        Document ``d``'s tags are ``tags[tag_rows[tag_offsets[d]:tag_offsets[d + 1]]]``.
    doc_lengths : numpy.ndarray of uint64, shape (n_docs,)
        In-vocabulary tokens of each document.
    """

    def __init__(self, corpus: Corpus, sent_doc: np.ndarray, tags: list[str], tag_offsets: np.ndarray,
                 tag_rows: np.ndarray, doc_lengths: np.ndarray):
        self.corpus = corpus
        self.sent_doc = sent_doc
        self.tags = tags
        self.tag_offsets = tag_offsets
        self.tag_rows = tag_rows
        self.doc_lengths = doc_lengths
        h = hashlib.sha256(corpus.fingerprint.encode())
        for arr in (sent_doc, tag_offsets, tag_rows):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\n".join(tags).encode("utf-8", "surrogatepass"))
        self.fingerprint = h.hexdigest()

    @property
    def n_docs(self) -> int:
        return int(self.tag_offsets.shape[0]) - 1

    @property
    def vocab(self) -> Vocab:
        return self.corpus.vocab

    def __len__(self) -> int:
        return self.n_docs

    def __repr__(self) -> str:
        return (f"Documents({self.n_docs} documents, {len(self.tags)} tags, "
                f"{self.corpus.n_tokens} tokens, {len(self.vocab)} words)")

    # ------------------------------------------------------------------ build
    @classmethod
    def from_file(cls, path: PathLike, tagged: bool = False, min_count: int = 5,
                  max_vocab: Optional[int] = None, *, max_sentence_length: int = 10_000,
                  threads: int = 0) -> "Documents":
        """One document per line of a UTF-8 text file.

        Parameters
        ----------
        path : path
        tagged : bool
            False: line ``i`` (0-based, blank lines included) is tagged ``str(i)``.
            True: each line is ``TAGS<TAB>TEXT``, TAGS one or more tags
            separated by spaces; a line without a TAB or without a tag raises
            ``ValueError`` naming the line.
        min_count, max_vocab, max_sentence_length, threads
            As for :meth:`Corpus.from_file`; ``max_sentence_length`` only cuts
            windows, never documents.
        """
        p = Path(os.fspath(path))
        _fs.check_regular_file(p, "a text file")
        tag_lists: list[list[str]] = []

        def lines() -> Iterable[bytes]:
            with open(p, "rb") as f:
                for i, line in enumerate(f):
                    if tagged:
                        head, sep, text = line.partition(b"\t")
                        if not sep:
                            raise ValueError(f"{p}, line {i + 1}: no TAB (tagged format is TAGS<TAB>TEXT)")
                        try:
                            names = head.decode("utf-8").split(" ")
                        except UnicodeDecodeError:
                            raise ValueError(f"{p}, line {i + 1}: the tags are not valid UTF-8") from None
                        names = [t for t in names if t]
                        if not names:
                            raise ValueError(f"{p}, line {i + 1}: no tag before the TAB")
                        tag_lists.append(list(dict.fromkeys(names)))
                        line = text
                    yield _SENTINEL_BYTES + line.rstrip(b"\n").replace(b"\n", b" ") + b"\n"

        return cls._build(lines, lambda n: tag_lists if tagged else None, min_count, max_vocab,
                          max_sentence_length, threads, str(p))

    @classmethod
    def from_iterable(cls, documents: Iterable[Any], tagged: bool = False, min_count: int = 5,
                      max_vocab: Optional[int] = None, *, max_sentence_length: int = 10_000,
                      threads: int = 0) -> "Documents":
        """Documents from Python objects.

        Parameters
        ----------
        documents : iterable
            ``tagged=False``: each item is a document (a string, split on
            whitespace, or a sequence of token strings), tagged by its
            position (``"0"``, ``"1"``, ...). ``tagged=True``: each item is a
            ``(tags, tokens)`` pair (or has ``.tags`` and ``.words``, as
            gensim's ``TaggedDocument``); ``tags`` is a string or a list of
            strings (anything else: ``TypeError`` naming the document).
        """
        if isinstance(documents, (str, bytes)):
            raise TypeError("documents must be an iterable of documents, got a single string")
        try:
            iterator = iter(documents)
        except TypeError:
            raise TypeError(f"documents must be an iterable, got {type(documents).__name__}") from None
        tag_lists: list[list[str]] = []

        def texts() -> Iterable[Any]:
            for i, item in enumerate(iterator):
                if not tagged:
                    yield item
                    continue
                if hasattr(item, "tags") and hasattr(item, "words"):
                    tags, words = item.tags, item.words
                else:
                    try:
                        tags, words = item
                    except (TypeError, ValueError):
                        raise TypeError(f"document {i}: expected a (tags, tokens) pair, got "
                                        f"{type(item).__name__}") from None
                tag_lists.append(_check_tags(tags, i))
                yield words

        def lines() -> Iterable[bytes]:
            for line in sentence_lines(texts()):
                yield _SENTINEL_BYTES + line

        return cls._build(lines, lambda n: tag_lists if tagged else None, min_count, max_vocab,
                          max_sentence_length, threads, "the documents")

    @classmethod
    def _build(cls, lines: Any, get_tags: Any, min_count: int, max_vocab: Optional[int],
               max_sentence_length: int, threads: int, name: str) -> "Documents":
        min_count = _check_int("min_count", min_count, 1, INT64_MAX, clamp=True)
        max_len = _check_int("max_sentence_length", max_sentence_length, 1, INT64_MAX, clamp=True)
        if max_vocab is not None:
            max_vocab = _check_int("max_vocab", max_vocab, 1, INT64_MAX, clamp=True)
        tmp = _fs.temp_dir("doctext")
        try:
            text = tmp / "documents.txt"
            n_docs = 0
            with open(text, "wb") as f:
                buf: list[bytes] = []
                for line in lines():
                    buf.append(line)
                    n_docs += 1
                    if len(buf) >= 4096:
                        f.write(b"".join(buf))
                        buf = []
                f.write(b"".join(buf))
            if n_docs == 0:
                raise ValueError(f"{name}: no documents")
            raw = Corpus.from_file(text, min_count=1, max_sentence_length=INT64_MAX, threads=threads,
                                   cache=False)
        finally:
            _fs.remove_temp_dir(tmp)
        tag_lists = get_tags(n_docs)
        words = raw.vocab.index_to_word
        counts = np.asarray(raw.vocab.counts, dtype=np.uint64)
        sid = raw.vocab.word_to_index.get(_SENTINEL)
        ids = np.asarray(raw.ids)
        off = np.asarray(raw.offsets, dtype=np.int64)
        if (sid is None or int(counts[sid]) != n_docs or raw.n_sentences != n_docs
                or not np.all(ids[off[:-1]] == sid)):
            raise ValueError(f"{name}: the text contains densevec's reserved document marker {_SENTINEL!r}")
        keep = counts >= min_count
        keep[sid] = False
        if max_vocab is not None:
            keep &= np.cumsum(keep) <= max_vocab  # the vocabulary is sorted by descending count
        remap = (np.cumsum(keep) - 1).astype(np.uint32)
        mask = keep[ids]
        new_ids = remap[ids[mask]]
        doc_len = np.add.reduceat(mask.astype(np.int64), off[:-1]) if ids.size else np.zeros(n_docs, np.int64)
        if new_ids.size == 0:
            raise ValueError(f"{name}: no document has a word seen at least min_count={min_count} times")
        pieces = -(-doc_len // max_len)
        sent_doc = np.repeat(np.arange(n_docs, dtype=np.uint32), pieces)
        first_piece = np.cumsum(pieces) - pieces
        k = np.arange(sent_doc.size, dtype=np.int64) - np.repeat(first_piece, pieces)
        doc_start = np.concatenate([[0], np.cumsum(doc_len)])
        starts = doc_start[sent_doc] + k * max_len
        offsets = np.concatenate([starts, [new_ids.size]]).astype(np.uint64)
        vocab = Vocab([w for w, kp in zip(words, keep) if kp], counts[keep],
                      raw_tokens=int(raw.vocab.raw_tokens) - n_docs)
        del raw
        corpus = Corpus.from_ids(new_ids, offsets, vocab)
        if tag_lists is None:
            tags = [str(i) for i in range(n_docs)]
            tag_offsets = np.arange(n_docs + 1, dtype=np.uint64)
            tag_rows = np.arange(n_docs, dtype=np.uint32)
        else:
            index: dict[str, int] = {}
            rows: list[int] = []
            for tl in tag_lists:
                for t in tl:
                    rows.append(index.setdefault(t, len(index)))
            tags = list(index)
            tag_offsets = np.concatenate([[0], np.cumsum([len(tl) for tl in tag_lists])]).astype(np.uint64)
            tag_rows = np.array(rows, dtype=np.uint32)
        return cls(corpus, sent_doc, tags, tag_offsets, tag_rows, doc_len.astype(np.uint64))


DocumentsLike = Union[Documents, PathLike, Iterable[Any]]


def _encode_tags(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    data = [t.encode("utf-8", "surrogatepass") for t in tags]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in data], dtype=np.int64)]).astype(np.uint64)
    return np.frombuffer(b"".join(data), dtype=np.uint8).copy(), offsets


def _decode_tags(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = np.asarray(data).tobytes()
    off = np.asarray(offsets).tolist()
    return [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(off[:-1], off[1:])]


def _document_rows(index: dict[str, int], documents: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The model rows of the known words of every document, concatenated
    (uint32), and how many each document has (int64). A string document is
    split on whitespace; a token that is not a string is a ``TypeError``.
    The lookups run over all tokens at once (``map`` and ``numpy.fromiter``),
    not token by token in Python."""
    docs: list[Sequence[Any]] = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            doc = doc.split()
        elif isinstance(doc, (bytes, bytearray)) or not isinstance(doc, Iterable):
            raise TypeError(f"document {i} must be a string or a list of tokens, got {type(doc).__name__}")
        elif not isinstance(doc, (list, tuple)):
            doc = list(doc)
        docs.append(doc)
    tokens = list(chain.from_iterable(docs))
    if not set(map(type, tokens)) <= {str}:
        for i, doc in enumerate(docs):
            for w in doc:
                if not isinstance(w, str):
                    raise TypeError(f"document {i}: token {w!r} is not a string")
    found = np.fromiter(map(index.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
    sizes = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    known = found >= 0  # words the model lacks are skipped
    lengths = np.bincount(np.repeat(np.arange(len(docs)), sizes)[known], minlength=len(docs))
    return found[known].astype(np.uint32), lengths.astype(np.int64)


class Doc2Vec(Word2Vec):
    """Paragraph-vector trainer (see the module docstring).

    Parameters
    ----------
    dim : int
        Vector dimensionality (words and documents).
    mode : {"dbow", "dm"}
        PV-DBOW or PV-DM (mean of the context words and document vectors).
    loss : {"ns", "hs"}
        Negative sampling or hierarchical softmax.
    window : int
        Context words on each side (PV-DM, and PV-DBOW with ``dbow_words``).
    negative : int
        Noise words per prediction (negative sampling).
    sample : float
        Subsampling threshold of frequent words (0 disables).
    alpha, min_alpha : float
        The learning rate falls linearly from ``alpha`` to ``min_alpha``.
    epochs : int
        Passes over the documents; also inference's default.
    min_count : int
        Used when :meth:`fit` is given text rather than :class:`Documents`.
    dbow_words : bool
        PV-DBOW: also train word vectors by skip-gram.
    threads : int
        Worker threads; 0 = all cores.
    seed : int
    ns_exponent : float
        Exponent of the unigram noise distribution.
    tagged : bool
        How :meth:`fit` reads a path or an iterable (see :class:`Documents`).

    Examples
    --------
    >>> model = Doc2Vec(dim=100, mode="dbow", epochs=10)             # doctest: +SKIP
    >>> docvecs = model.fit("paragraphs.txt")                         # doctest: +SKIP
    >>> docvecs.most_similar("12")                                    # doctest: +SKIP
    >>> v = model.infer_vector("some new text".split())               # doctest: +SKIP
    """

    algorithm = "doc2vec"
    _display_name = "doc2vec"
    _unit = "word"

    def __init__(
        self,
        dim: int = 100,
        mode: Literal["dbow", "dm"] = "dbow",
        loss: Literal["ns", "hs"] = "ns",
        window: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        epochs: int = 10,
        min_count: int = 5,
        dbow_words: bool = False,
        threads: int = 0,
        seed: int = 1,
        ns_exponent: float = 0.75,
        tagged: bool = False,
    ):
        check_hyperparameter_not_data("Doc2Vec", dim)
        Trainer.__init__(self)
        if mode not in ("dbow", "dm"):
            raise ValueError(f"mode must be 'dbow' or 'dm', got {mode!r}")
        if loss not in ("ns", "hs"):
            raise ValueError(f"loss must be 'ns' or 'hs', got {loss!r}")
        self.dim = _check_int("dim", dim, 1, INT32_MAX)
        self.mode = mode
        self.loss = loss
        self.window = _check_int("window", window, 1, INT32_MAX)
        self.negative = _check_int("negative", negative, 0, INT32_MAX)
        if loss == "ns" and self.negative < 1:
            raise ValueError("negative must be >= 1 with loss='ns'")
        self.sample = float(_check_float("sample", sample, 0.0))
        self.alpha = float(_check_float("alpha", alpha, 0.0, FLOAT32_MAX, min_inclusive=False))
        self.min_alpha = float(_check_float("min_alpha", min_alpha, 0.0, self.alpha))
        self.epochs = _check_int("epochs", epochs, 1)
        self.min_count = _check_int("min_count", min_count, 1, INT64_MAX, clamp=True)
        self.dbow_words = bool(dbow_words)
        self.threads = _check_int("threads", threads, 0, MAX_THREADS)
        self.seed = _check_int("seed", seed, 0, UINT64_MAX)
        self.ns_exponent = float(_check_float("ns_exponent", ns_exponent))
        self.tagged = bool(tagged)
        self._samplers: Optional[tuple] = None
        self._tags: list[str] = []
        self._tag_index: dict[str, int] = {}
        self.wv: Optional[Embeddings] = None
        self.empty_documents_: list[str] = []
        self._updates: Optional[np.ndarray] = None  # test hook: windows per document row

    # ---------------------------------------------------------------- results
    @property
    def dv(self) -> Optional[Embeddings]:
        """The document vectors of the last training call, keyed by tag."""
        return self.embeddings_

    @property
    def tags(self) -> list[str]:
        """The model's tags, in row order."""
        return list(self._tags)

    @property
    def trains_words(self) -> bool:
        """Whether training updates the word vectors (PV-DM, or PV-DBOW with ``dbow_words``)."""
        return self.mode == "dm" or self.dbow_words

    # ------------------------------------------------------------------ fit
    def fit(self, documents: DocumentsLike, progress: bool = True,  # type: ignore[override]
            callbacks: Sequence[Callback] = ()) -> Embeddings:
        """Train from scratch and return the document vectors, keyed by tag.

        Parameters
        ----------
        documents : Documents, path, or iterable
            A path or iterable is read with :meth:`Documents.from_file` /
            :meth:`Documents.from_iterable` (with this model's ``tagged`` and
            ``min_count``).
        progress : bool
        callbacks : sequence of callables ``cb(model, report)`` after every epoch.

        Returns
        -------
        Embeddings
            One row per tag (also :attr:`dv`). The word vectors are
            :attr:`wv` when this mode trains them (else None).
        """
        docs = self._as_documents(documents)
        self.build_vocab(docs)
        return self.train(docs, progress=progress, callbacks=callbacks)

    def build_vocab(self, documents: DocumentsLike, update: bool = False,  # type: ignore[override]
                    allow_mixed: bool = False) -> "Doc2Vec":
        """Set up (or, with ``update``, grow) the words, tags and weights.

        ``update=True`` keeps every existing row and appends the new words and
        the new tags with fresh rows (see :meth:`Word2Vec.build_vocab`).
        """
        docs = self._as_documents(documents)
        if update and self.state is not None:
            self._admit_corpus(docs.fingerprint, allow_mixed, "build_vocab(update=True)")
            super().build_vocab(docs.corpus, update=True, allow_mixed=True)
            state = self.state
            fps = state.info["corpus_fingerprints"]
            if docs.corpus.fingerprint in fps and docs.corpus.fingerprint != docs.fingerprint:
                fps.remove(docs.corpus.fingerprint)
            tags = list(self._tags)
            new = [t for t in docs.tags if t not in self._tag_index]
            tags += new
            rng = np.random.default_rng([self.seed, 1, len(self._tags)])
            fresh = uniform_rows(rng, (len(new), self.dim), self.dim)
            state.arrays["docvecs"] = np.concatenate([np.asarray(state.arrays["docvecs"]), fresh])
        else:
            super().build_vocab(docs.corpus)
            state = self.state
            assert state is not None
            state.info["corpus_fingerprints"] = [docs.fingerprint]
            tags = list(docs.tags)
            rng = np.random.default_rng([self.seed, 1])
            state.arrays["docvecs"] = uniform_rows(rng, (len(tags), self.dim), self.dim)
        self._set_tags(tags)
        return self

    def _set_tags(self, tags: list[str]) -> None:
        state = self.state
        assert state is not None
        self._tags = tags
        self._tag_index = {t: i for i, t in enumerate(tags)}
        state.arrays["tag_bytes"], state.arrays["tag_offsets"] = _encode_tags(tags)

    def warm_start(self, vectors: Embeddings, freeze: bool = False) -> int:
        """Initialise (and optionally freeze) the word rows shared with ``vectors``."""
        return super().warm_start(vectors, freeze=freeze)

    # ---------------------------------------------------------------- train
    def train(self, documents: DocumentsLike, epochs: Optional[int] = None,  # type: ignore[override]
              progress: bool = True, callbacks: Sequence[Callback] = (), allow_mixed: bool = False,
              start_alpha: Optional[float] = None, end_alpha: Optional[float] = None) -> Embeddings:
        """Train (further) from the current weights; return the document vectors.

        Every tag of ``documents`` must be one of the model's (grow the model
        with ``build_vocab(documents, update=True)`` first); words the model
        lacks are skipped. ``epochs``, ``start_alpha``, ``end_alpha``,
        ``allow_mixed``: as for :meth:`Word2Vec.train`.
        """
        state = self._require_state("train")
        docs = self._as_documents(documents)
        corpus = docs.corpus
        self.empty_documents_ = []
        self._admit_corpus(docs.fingerprint, allow_mixed, "train")
        missing = [t for t in docs.tags if t not in self._tag_index]
        if missing:
            raise ValueError(f"train: {len(missing)} tag(s) are not in the model (first: {missing[0]!r}); "
                             "call build_vocab(documents, update=True) first")
        first, planned = self._schedule(epochs)
        a_start = self.alpha if start_alpha is None else _check_float("start_alpha", start_alpha, 0.0, FLOAT32_MAX)
        a_end = self.min_alpha if end_alpha is None else _check_float("end_alpha", end_alpha, 0.0, FLOAT32_MAX)
        win = self._writable_input()
        wout = state.writable("output")
        dvec = self._writable_docvecs()
        keep, noise, tree = self._build_samplers()
        id_map = self._id_map(corpus)
        if docs.tags == self._tags[: len(docs.tags)]:
            tag_rows = docs.tag_rows
        else:
            tag_map = np.array([self._tag_index[t] for t in docs.tags], dtype=np.uint32)
            tag_rows = tag_map[docs.tag_rows]
        threads = resolve_threads(self.threads)
        cfg = _core.D2VConfig()
        cfg.dm = self.mode == "dm"
        cfg.dbow_words = self.dbow_words
        cfg.hs = self.loss == "hs"
        cfg.negative = self.negative
        cfg.window = self.window
        cfg.seed = self.seed
        cfg.threads = threads
        first_global = int(state.info.get("epochs_trained", 0))

        def step(epoch: int, cb: Any) -> dict:
            cfg.alpha_begin = a_start - (a_start - a_end) * epoch / planned
            cfg.alpha_end = a_start - (a_start - a_end) * (epoch + 1) / planned
            cfg.epoch = first_global + epoch - first
            st = _core.train_doc2vec(
                config=cfg, win=win, wout=wout, docs=dvec, ids=corpus.ids, offsets=corpus.offsets,
                sent_begin=0, sent_end=corpus.n_sentences, sent_doc=docs.sent_doc,
                tag_offsets=docs.tag_offsets, tag_rows=tag_rows, keep_prob=keep, noise=noise, tree=tree,
                lock=state.arrays.get("lock"), id_map=id_map, updates=self._updates, progress=cb,
            )
            if st["diverged"] or not math.isfinite(st["loss"]):
                raise FloatingPointError(f"doc2vec diverged in epoch {epoch + 1} (non-finite loss): "
                                         f"alpha={a_start} is too high a learning rate for this data")
            return {
                "units": st["words"], "words": st["words"], "trained_words": st["trained_words"],
                "predictions": st["predictions"],
                "loss_per_word": st["loss"] / max(st["trained_words"], 1),
                "loss_per_prediction": st["loss"] / max(st["predictions"], 1),
                "alpha_end": cfg.alpha_end,
            }

        total = corpus.n_tokens * (planned - first)
        interrupted = self._run_epochs(first, planned, total, f"doc2vec {self.mode}", progress,
                                       callbacks, step)
        # a document without any in-vocabulary word trained nothing: zeros, not its random start
        trained = np.zeros(len(self._tags), dtype=bool)
        trained[tag_rows[np.repeat(docs.doc_lengths > 0, np.diff(docs.tag_offsets).astype(np.int64))]] = True
        seen = np.zeros(len(self._tags), dtype=bool)
        seen[tag_rows] = True
        untrained = np.flatnonzero(seen & ~trained & (np.abs(dvec).sum(axis=1) != 0))
        if untrained.size:
            dvec[untrained] = 0.0
            self.empty_documents_ = [self._tags[i] for i in untrained]
            warnings.warn(f"doc2vec: {untrained.size} tag(s) belong only to documents without any "
                          f"in-vocabulary word (first: {self.empty_documents_[0]!r}); their vectors are zero",
                          RuntimeWarning, stacklevel=2)
        meta = self._meta(interrupted, threads)
        word_meta = dict(meta, kind="words")
        self.wv = self._word_embeddings(win, word_meta) if self.trains_words else None
        emb = Embeddings(dvec, self._tags, meta=dict(meta, kind="documents"))
        self.embeddings_ = emb
        return emb

    def _word_embeddings(self, win: np.ndarray, meta: dict) -> Embeddings:
        state = self.state
        assert state is not None
        counts = state.counts
        order = np.argsort(-counts.astype(np.float64), kind="stable")
        return Embeddings(win[order].copy(), [state.words[i] for i in order], counts=counts[order], meta=meta)

    def _writable_docvecs(self) -> np.ndarray:
        state = self.state
        assert state is not None
        arr = state.arrays["docvecs"]
        if self.embeddings_ is not None and np.shares_memory(self.embeddings_._plain, arr):
            arr = state.arrays["docvecs"] = arr.copy()
        return state.writable("docvecs")

    def _writable_input(self) -> np.ndarray:
        return self.state.writable("input")  # type: ignore[union-attr]  # wv is always a copy

    # ------------------------------------------------------------ inference
    def infer_vector(self, tokens: Union[str, Sequence[str]], epochs: Optional[int] = None,
                     alpha: Optional[float] = None, min_alpha: Optional[float] = None,
                     seed: Optional[int] = None) -> np.ndarray:
        """The vector of a new document, the model frozen.

        Same as ``infer_vectors([tokens], ...)[0]``: bit-identical for the same
        tokens and seed, call after call. See :meth:`infer_vectors`.
        """
        return self.infer_vectors([tokens], epochs=epochs, alpha=alpha, min_alpha=min_alpha,
                                  seed=seed, threads=1)[0]

    def infer_vectors(self, documents: Sequence[Union[str, Sequence[str]]], epochs: Optional[int] = None,
                      alpha: Optional[float] = None, min_alpha: Optional[float] = None,
                      seed: Optional[int] = None, threads: Optional[int] = None) -> np.ndarray:
        """Vectors of new documents, inferred in C++ threads with the GIL released.

        Every model weight stays frozen; each document's vector starts from a
        uniform draw in ±0.5/dim and trains ``epochs`` passes over its words
        (with the model's subsampling and window), the learning rate falling
        linearly from ``alpha`` to ``min_alpha``.

        Parameters
        ----------
        documents : sequence of str or of token lists
            A string is split on whitespace. Words the model lacks are skipped.
        epochs, alpha, min_alpha : optional
            Default: the model's ``epochs``, ``alpha`` and ``min_alpha``.
        seed : int, optional
            Document ``i`` draws its random numbers from ``(seed, i)`` alone
            (default: the model's seed): the same documents and seed give the
            same vectors, bit for bit, whatever ``threads``.
        threads : int, optional
            Default: the model's ``threads``.

        Returns
        -------
        numpy.ndarray of float32, shape (len(documents), dim)
            A document with no word in the model's vocabulary (or none at
            all) gets a row of **zeros**, with a ``RuntimeWarning`` counting them.
        """
        state = self._require_state("infer_vectors")
        if "docvecs" not in state.arrays:
            raise RuntimeError("infer_vectors: this model has no document vectors")
        if int(state.info.get("epochs_trained", 0)) == 0:
            raise RuntimeError("infer_vectors: the model is not trained yet (call fit() or train() first)")
        if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
            raise TypeError("infer_vectors expects a list of documents (each a string or a list of tokens)"
                            + ("; for one document use infer_vector" if isinstance(documents, str) else ""))
        epochs = self.epochs if epochs is None else _check_int("epochs", epochs, 1, INT32_MAX)
        a0 = self.alpha if alpha is None else _check_float("alpha", alpha, 0.0, FLOAT32_MAX, min_inclusive=False)
        a1 = self.min_alpha if min_alpha is None else _check_float("min_alpha", min_alpha, 0.0, FLOAT32_MAX)
        seed = self.seed if seed is None else _check_int("seed", seed, 0, UINT64_MAX)
        threads = resolve_threads(self.threads if threads is None else _check_int("threads", threads, 0, MAX_THREADS))
        rows, lengths = _document_rows(state.index, documents)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint64)
        empty = int(np.count_nonzero(lengths == 0))
        if empty:
            warnings.warn(f"infer_vectors: {empty} document(s) have no word in the model's vocabulary "
                          f"(first: index {int(np.argmax(lengths == 0))}); their vectors are zero",
                          RuntimeWarning, stacklevel=2)
        keep, noise, tree = self._build_samplers()
        cfg = _core.D2VConfig()
        cfg.dm = self.mode == "dm"
        cfg.hs = self.loss == "hs"
        cfg.negative = self.negative
        cfg.window = self.window
        cfg.seed = seed
        cfg.threads = threads
        cfg.alpha_begin = a0
        cfg.alpha_end = a1
        return _core.infer_doc2vec(
            config=cfg, epochs=epochs, win=np.asarray(state.arrays["input"]),
            wout=np.asarray(state.arrays["output"]), ids=rows, offsets=offsets,
            keep_prob=keep, noise=noise, tree=tree)

    # ------------------------------------------------------------- helpers
    def _check_state(self, state: ModelState, path: Path) -> None:
        super()._check_state(state, path)
        dvec, tb, to = (state.arrays.get(k) for k in ("docvecs", "tag_bytes", "tag_offsets"))
        if dvec is None or dvec.dtype != np.float32 or dvec.ndim != 2 or dvec.shape[1] != self.dim:
            raise ValueError(f"{path}: array 'docvecs' missing or not (n, {self.dim}) float32")
        if (tb is None or to is None or tb.dtype != np.uint8 or to.dtype != np.uint64
                or to.shape != (dvec.shape[0] + 1,) or int(to[0]) != 0 or int(to[-1]) != tb.shape[0]
                or np.any(np.diff(to.astype(np.int64)) < 0)):
            raise ValueError(f"{path}: arrays 'tag_bytes' / 'tag_offsets' do not describe {dvec.shape[0]} tags")

    def _after_load(self) -> None:
        super()._after_load()
        state = self.state
        assert state is not None
        tags = _decode_tags(state.arrays["tag_bytes"], state.arrays["tag_offsets"])
        if len(set(tags)) != len(tags):
            raise ValueError("a loaded doc2vec model has duplicate tags")
        self._tags = tags
        self._tag_index = {t: i for i, t in enumerate(tags)}

    def _as_documents(self, documents: Any) -> Documents:
        if isinstance(documents, Documents):
            return documents
        if isinstance(documents, Corpus):
            raise TypeError("Doc2Vec needs Documents (each sentence's document), not a Corpus: "
                            "build them with Documents.from_file or Documents.from_iterable")
        if isinstance(documents, (str, bytes)) or hasattr(documents, "__fspath__"):
            return Documents.from_file(documents, tagged=self.tagged, min_count=self.min_count,
                                       threads=self.threads)
        return Documents.from_iterable(documents, tagged=self.tagged, min_count=self.min_count,
                                       threads=self.threads)
