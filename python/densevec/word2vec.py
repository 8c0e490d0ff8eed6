"""word2vec: skip-gram and CBOW with negative sampling or hierarchical softmax.

The training loop runs in C++ (``densevec._core.train_word2vec``) with the GIL
released: threads share the two weight matrices without locks (Hogwild), each
reading its own slice of the encoded corpus with its own random generator.

Semantics follow word2vec.c (and gensim), with these documented choices:

* **Windows**: for each centre word a window size ``b`` is drawn uniformly from
  ``1..window``; contexts are the ``b`` words on each side within the sentence,
  after subsampling (word2vec's "random window shrinking").
* **Subsampling**: word2vec's keep probability, see
  :meth:`densevec.Vocab.keep_probabilities`; redrawn every epoch.
* **Skip-gram negative sampling shares negatives across a window**: for a
  centre word, every context word in its window predicts the centre word
  against the *same* ``negative`` noise words, and the update is computed as
  small dense matrix products (Ji et al., "Parallelizing Word2Vec in Shared and
  Distributed Memory"). word2vec.c draws fresh negatives for every
  (context, centre) pair; ``share_negatives=False`` does the same (in
  word2vec.c's update order), at more memory traffic. Noise words equal to the
  centre word are skipped. On the first 10M tokens of big.txt (3 epochs, 3
  seeds) fresh negatives gained 0.4 points of questions-words, within the
  seed-to-seed spread (``benchmarks/results/parity.md``).
* **Learning rate** falls linearly from ``alpha`` to ``min_alpha`` over all
  epochs, updated every 10,000 words per thread. By default ``min_alpha`` is
  ``alpha / (2 * epochs)``, the rate gensim's ``corpus_file`` mode with 2
  workers ends at: each of its k workers measures its progress against the
  whole epoch while reading 1/k of it, so every epoch ends at the rate planned
  for 1/k of the way through it, and the last one near
  ``alpha * (1 - 1/k) / epochs``. That higher end rate is worth 0.7-1.4 points
  of analogy accuracy on 10M tokens with 3 epochs, and is level on 30M tokens
  with 5 epochs (``benchmarks/results/parity.md``). word2vec.c and gensim's
  iterable mode decay to ``1e-4``; pass ``min_alpha=1e-4`` for their schedule.
* **Initialisation**: input vectors uniform in ``[-1/dim, 1/dim)`` as gensim
  4 (twice word2vec.c's range; worth about half a point for CBOW), output
  vectors zero.
* **Loss**: reported per epoch as the mean, over trained centre words, of the
  summed binary cross-entropy ``-log sigmoid(+-x)`` of all predictions made for
  that word (``loss_per_word``), and per prediction (``loss_per_prediction``).
  Unlike gensim's running total, it resets every epoch.
* **Determinism**: ``threads=1`` with a fixed ``seed`` gives bit-identical
  vectors run to run. With more threads the run is Hogwild (racy by design) and
  results vary slightly between runs.

Continued training (see :meth:`Word2Vec.build_vocab`, :meth:`Word2Vec.train`,
:meth:`Word2Vec.save`): words new to the model get fresh rows, appended after
the existing ones, and existing rows are kept; counts add up, and the noise
distribution, subsampling and Huffman tree are rebuilt for the grown
vocabulary. With hierarchical softmax the tree's inner nodes are renumbered by
the rebuild, so the output weights of an updated model start over in part
(gensim behaves the same). Each :meth:`Word2Vec.train` call runs its own
linear learning-rate schedule from ``alpha`` to ``min_alpha``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence, Union

import numpy as np

from densevec import _core
from densevec._validate import FLOAT32_MAX, INT32_MAX, INT64_MAX, MAX_THREADS, UINT64_MAX
from densevec._validate import check_hyperparameter_not_data, check_training_data
from densevec.corpus import (Corpus, PathLike, Vocab, _check_float, _check_int, as_corpus,
                             resolve_threads)
from densevec.train._base import (Callback, ModelState, Trainer, aligned_copy, aligned_empty, aligned_zeros,
                                   uniform_rows)
from densevec.vectors import Embeddings

_NO_ROW = 0xFFFFFFFF
CorpusLike = Union[Corpus, PathLike, Iterable[Union[str, Sequence[str]]]]


def w2v_config(params: Mapping[str, Any]) -> _core.W2VConfig:
    """The C++ window trainer's configuration from a Word2Vec's parameters
    (``mode``, ``loss``, ``negative``, ``window``, ``cbow_mean``,
    ``share_negatives`` and Node2Vec's ``noise_group``, as attributes or
    ``get_params`` give them); the
    caller sets seed, threads, epoch and learning rates."""
    cfg = _core.W2VConfig()
    cfg.skipgram = params["mode"] == "skipgram"
    cfg.hs = params["loss"] == "hs"
    cfg.negative = params["negative"]
    cfg.window = params["window"]
    cfg.cbow_mean = params["cbow_mean"]
    cfg.share_negatives = params.get("share_negatives", True)
    cfg.noise_group = params.get("noise_group", 1)
    return cfg


class Word2Vec(Trainer):
    """word2vec trainer.

    Parameters
    ----------
    dim : int
        Vector dimensionality (gensim's ``vector_size``).
    mode : {"skipgram", "cbow"}
        Architecture.
    loss : {"ns", "hs"}
        Negative sampling or hierarchical softmax (Huffman tree).
    window : int
        Maximum distance between centre and context word.
    negative : int
        Noise words per window (negative sampling).
    sample : float
        Subsampling threshold for frequent words (0 disables).
    alpha : float, optional
        Initial learning rate; default 0.025 for skip-gram, 0.05 for CBOW
        (word2vec.c's defaults).
    min_alpha : float, optional
        Final learning rate; default ``alpha / (2 * epochs)`` (gensim's
        ``corpus_file`` end rate with 2 workers, see above).
    epochs : int
        Passes over the corpus.
    min_count : int
        Used only when :meth:`fit` is given text rather than a :class:`Corpus`.
    threads : int
        Worker threads; 0 = all cores.
    seed : int
        Seeds initialisation and all sampling.
    cbow_mean : bool
        CBOW averages (True) or sums (False) the context vectors.
    ns_exponent : float
        Exponent of the unigram noise distribution.
    share_negatives : bool
        Skip-gram with negative sampling: draw one set of ``negative`` noise
        words per window, shared by all its context words (True, the fast
        default), or fresh noise words for every context word as word2vec.c
        and gensim do (False; more distinct negatives, at a cost in speed).
        CBOW and hierarchical softmax ignore it.

    Examples
    --------
    >>> model = Word2Vec(dim=100, epochs=5)                       # doctest: +SKIP
    >>> emb = model.fit(corpus)                                   # doctest: +SKIP
    >>> model.save("w2v.model")                                   # doctest: +SKIP
    >>> model = Word2Vec.load("w2v.model")                        # doctest: +SKIP
    >>> model.build_vocab(more, update=True, allow_mixed=True)    # doctest: +SKIP
    >>> emb = model.train(more)                                   # doctest: +SKIP
    """

    algorithm = "word2vec"
    #: Initial input rows are uniform in ``[-span/(2*dim), span/(2*dim))``:
    #: 2 is gensim 4's range, 1 word2vec.c's (kept by the subclasses whose
    #: quality was measured with it).
    _init_span = 2.0
    _display_name = "word2vec"
    _unit = "word"

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
        share_negatives: bool = True,
    ):
        check_hyperparameter_not_data("Word2Vec", dim)
        super().__init__()
        if mode not in ("skipgram", "cbow"):
            raise ValueError(f"mode must be 'skipgram' or 'cbow', got {mode!r}")
        if loss not in ("ns", "hs"):
            raise ValueError(f"loss must be 'ns' or 'hs', got {loss!r}")
        dim = _check_int("dim", dim, 1, INT32_MAX)
        window = _check_int("window", window, 1, INT32_MAX)
        negative = _check_int("negative", negative, 0, INT32_MAX)
        epochs = _check_int("epochs", epochs, 1)
        min_count = _check_int("min_count", min_count, 1, INT64_MAX, clamp=True)
        threads = _check_int("threads", threads, 0, MAX_THREADS)
        seed = _check_int("seed", seed, 0, UINT64_MAX)
        if loss == "ns" and negative < 1:
            raise ValueError("negative must be >= 1 with loss='ns'")
        if alpha is None:
            alpha = 0.025 if mode == "skipgram" else 0.05
        alpha = _check_float("alpha", alpha, 0.0, FLOAT32_MAX, min_inclusive=False)
        if min_alpha is not None:
            min_alpha = float(_check_float("min_alpha", min_alpha, 0.0, alpha))
        sample = _check_float("sample", sample, 0.0)
        ns_exponent = _check_float("ns_exponent", ns_exponent)
        self.dim = int(dim)
        self.mode = mode
        self.loss = loss
        self.window = int(window)
        self.negative = int(negative)
        self.sample = float(sample)
        self.alpha = float(alpha)
        self.min_alpha = min_alpha
        self.epochs = int(epochs)
        self.min_count = int(min_count)
        self.threads = int(threads)
        self.seed = int(seed)
        self.cbow_mean = bool(cbow_mean)
        self.ns_exponent = float(ns_exponent)
        self.share_negatives = bool(share_negatives)
        self._samplers: Optional[tuple] = None

    # ---------------------------------------------------------------- results
    @property
    def final_alpha(self) -> float:
        """The learning rate a schedule ends at: ``min_alpha``, or by default
        ``alpha / (2 * epochs)``."""
        if self.min_alpha is None:
            return self.alpha / (2 * self.epochs)
        return float(self.min_alpha)

    @property
    def output_vectors_(self) -> Optional[np.ndarray]:
        """Output weights: one row per word (NS) or per inner tree node (HS)."""
        return None if self.state is None else self.state.arrays["output"]

    @property
    def vocab(self) -> Optional[Vocab]:
        """The model's vocabulary (grown by ``build_vocab(update=True)``)."""
        return None if self.state is None else Vocab(self.state.words, self.state.counts)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        corpus: CorpusLike,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        init: Optional[Embeddings] = None,
        freeze: bool = False,
    ) -> Embeddings:
        """Train from scratch on a corpus and return the input vectors.

        Parameters
        ----------
        corpus : Corpus, path, or iterable of sentences
            A path is read with :meth:`Corpus.from_file`, an iterable with
            :meth:`Corpus.from_sentences` (both with this model's ``min_count``).
        progress : bool
            Show a progress bar with words/s and the current learning rate.
        callbacks : sequence of callables
            Each is called as ``cb(model, report)`` after every epoch, where
            ``report`` is the epoch's entry of :attr:`history`.
        init : Embeddings, optional
            Pretrained vectors to start from (see :meth:`warm_start`).
        freeze : bool
            With ``init``: keep the pretrained rows fixed.

        Returns
        -------
        Embeddings
            ``len(corpus.vocab)`` rows of ``dim`` float32 values. Also kept as
            ``self.embeddings_``; the output weights are ``self.output_vectors_``.

        Raises
        ------
        FloatingPointError
            When training diverges (a non-finite loss: the learning rate is
            too high); the workers stop at once and no vectors are returned.

        Ctrl-C stops the workers within a fraction of a second; the vectors
        trained so far are returned with a ``RuntimeWarning``.
        """
        corpus = self._as_corpus(corpus)
        self.build_vocab(corpus)
        if init is not None:
            self.warm_start(init, freeze=freeze)
        return self.train(corpus, progress=progress, callbacks=callbacks)

    def build_vocab(self, corpus: CorpusLike, update: bool = False,
                    allow_mixed: bool = False) -> "Word2Vec":
        """Set up (or, with ``update``, grow) the model's vocabulary and weights.

        Parameters
        ----------
        corpus : Corpus, path, or iterable of sentences
        update : bool
            False: a fresh model over ``corpus.vocab`` (input rows uniform in
            ±0.5/dim, output rows zero). True: keep every existing row, add the
            corpus's new words with fresh rows after them, add the counts, and
            rebuild the samplers for the grown vocabulary. A new word is added
            when its count in ``corpus`` reaches the model's ``min_count``; a
            word the model knows is kept and trains whatever its count there
            (gensim's rule). So encode the new corpus with ``min_count=1``
            (``Corpus.from_file(path, min_count=1)``) to go on training the
            model's words that are rare in it; its other rare words are
            skipped. The model's rows keep their order; the
            :class:`Embeddings` that :meth:`train` returns list the words by
            descending count, as every store does.
        allow_mixed : bool
            With ``update``: allow a corpus other than the one(s) the model was
            trained on. Vectors trained on several corpora form a new
            embedding space (recorded in the metadata as a new fingerprint).

        Returns
        -------
        self
        """
        corpus = self._as_corpus(corpus)
        vocab = corpus.vocab
        if len(vocab) == 0:
            raise ValueError("the corpus has an empty vocabulary")
        if not update or self.state is None:
            if self.loss == "hs" and len(vocab) < 2:
                raise ValueError("hierarchical softmax needs at least 2 words in the vocabulary")
            n, dim = len(vocab), self.dim
            win = uniform_rows(np.random.default_rng(self.seed), (n, dim), dim, self._init_span)
            arrays = {"input": win, "output": aligned_zeros((n - 1 if self.loss == "hs" else n, dim))}
            self.state = ModelState(arrays, vocab.index_to_word, vocab.counts,
                                    {"corpus_fingerprints": [corpus.fingerprint]})
            self.history = []
        else:
            self._grow(corpus, allow_mixed)
        self._samplers = None
        return self

    def _grow(self, corpus: Corpus, allow_mixed: bool) -> None:
        state = self.state
        assert state is not None
        self._admit_corpus(corpus.fingerprint, allow_mixed, "build_vocab(update=True)")
        words = corpus.vocab.index_to_word
        counts = corpus.vocab.counts
        rows = self._rows_of(words)
        known = rows >= 0
        # new words must reach min_count in this corpus; known words stay whatever their count
        new = np.flatnonzero(~known & (counts >= self._update_min_count()))
        merged = state.counts.copy()
        np.add.at(merged, rows[known], counts[known])
        n_old, dim = len(state.words), self.dim
        fresh = uniform_rows(np.random.default_rng([self.seed, n_old]), (len(new), dim), dim, self._init_span)
        n_new = n_old + len(new)
        win = np.concatenate([np.asarray(state.arrays["input"]), fresh], out=aligned_empty((n_new, dim)))
        wout = aligned_zeros((n_new - 1 if self.loss == "hs" else n_new, dim))
        old_out = np.asarray(state.arrays["output"])
        wout[: old_out.shape[0]] = old_out
        state.arrays = dict(state.arrays, input=win, output=wout)
        if "lock" in state.arrays:
            state.arrays["lock"] = np.concatenate([np.asarray(state.arrays["lock"]),
                                                   np.ones(len(new), dtype=np.float32)])
        state.words = state.words + [words[i] for i in new]
        state.counts = np.concatenate([merged, counts[new]]).astype(np.uint64)

    def _update_min_count(self) -> int:
        """The count a new word needs in the corpus to join on ``build_vocab(update=True)``."""
        return self.min_count

    def warm_start(self, vectors: Embeddings, freeze: bool = False) -> int:
        """Initialise the input rows of the words shared with ``vectors``.

        Call after :meth:`build_vocab`. With ``freeze`` those rows are locked:
        training leaves them bit-identical (gensim's ``lockf = 0``) while the
        other rows and the output weights train around them.

        Returns
        -------
        int
            The number of rows initialised.
        """
        state = self._require_state("warm_start")
        if not isinstance(vectors, Embeddings):
            raise TypeError(f"warm_start expects Embeddings, got {type(vectors).__name__}")
        if vectors.dim != self.dim:
            raise ValueError(f"warm_start: the vectors have dim {vectors.dim}, the model has dim {self.dim}")
        rows, src = [], []
        for i, w in enumerate(state.words):
            if w in vectors:
                rows.append(i)
                src.append(vectors.get_index(w))
        rows_arr = np.array(rows, dtype=np.int64)
        if rows:
            values = vectors._rows(np.array(src, dtype=np.int64))
            if not np.isfinite(values).all():  # checked before any row is written
                raise ValueError("warm_start: the vectors hold NaN or infinite values")
            self._writable_input()[rows_arr] = values
        if freeze:
            lock = np.asarray(state.arrays.get("lock", np.ones(len(state), dtype=np.float32))).copy()
            lock[rows_arr] = 0.0
            state.arrays["lock"] = lock
        return len(rows)

    def _writable_input(self) -> np.ndarray:
        """The input array, copied first when the last returned Embeddings (or
        a read-only mapping) shares it, so that earlier results never change."""
        state = self.state
        assert state is not None
        win = state.arrays["input"]
        if self.embeddings_ is not None and np.shares_memory(self.embeddings_._plain, win):
            win = state.arrays["input"] = aligned_copy(win)
        return state.writable("input")

    # ---------------------------------------------------------------- train
    def train(
        self,
        corpus: CorpusLike,
        epochs: Optional[int] = None,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        allow_mixed: bool = False,
        start_alpha: Optional[float] = None,
        end_alpha: Optional[float] = None,
    ) -> Embeddings:
        """Train (further) from the current weights and return the input vectors.

        Parameters
        ----------
        corpus : Corpus, path, or iterable of sentences
            Words not in the model's vocabulary are skipped (grow it first with
            ``build_vocab(corpus, update=True)``).
        epochs : int, optional
            Passes, under a new linear schedule from ``alpha`` to
            ``min_alpha``. Default: resume the schedule of an interrupted run
            where it stopped, else ``self.epochs``.
        allow_mixed : bool
            Allow a corpus the model has not seen in :meth:`build_vocab`.
        start_alpha, end_alpha : float, optional
            The learning rate falls linearly from ``start_alpha`` (default
            ``alpha``) to ``end_alpha`` (default ``min_alpha``) over this
            call's epochs (gensim's names). To train on data that arrives in
            parts as if it were one run, split the schedule: e.g. the first
            half from ``alpha`` to the midpoint, the second from there on.
        """
        state = self._require_state("train")
        corpus = self._as_corpus(corpus)
        if corpus.n_tokens == 0:
            raise ValueError("the corpus is empty: no in-vocabulary tokens to train on")
        self._admit_corpus(corpus.fingerprint, allow_mixed, "train")
        first, planned = self._schedule(epochs)
        a_start = self.alpha if start_alpha is None else _check_float("start_alpha", start_alpha, 0.0, FLOAT32_MAX)
        a_end = self.final_alpha if end_alpha is None else _check_float("end_alpha", end_alpha, 0.0, FLOAT32_MAX)
        win = self._writable_input()
        wout = state.writable("output")
        lock = state.arrays.get("lock")
        keep, noise, tree = self._build_samplers()
        id_map = self._id_map(corpus)
        bags = self._input_bags()
        threads = resolve_threads(self.threads)
        cfg = w2v_config(vars(self))
        cfg.seed = self.seed
        cfg.threads = threads
        first_global = int(state.info.get("epochs_trained", 0))

        def step(epoch: int, cb: Any) -> dict:
            cfg.alpha_begin = a_start - (a_start - a_end) * epoch / planned
            cfg.alpha_end = a_start - (a_start - a_end) * (epoch + 1) / planned
            cfg.epoch = first_global + epoch - first
            st = _core.train_word2vec(
                config=cfg, win=win, wout=wout, ids=corpus.ids, offsets=corpus.offsets,
                sent_begin=0, sent_end=corpus.n_sentences, keep_prob=keep, noise=noise, tree=tree,
                lock=lock, id_map=id_map, progress=cb, **bags,
            )
            if st["diverged"] or not math.isfinite(st["loss"]):
                raise FloatingPointError(
                    f"word2vec diverged in epoch {epoch + 1} (non-finite loss): "
                    f"alpha={a_start} is too high a learning rate for this data; "
                    "lower it (word2vec's defaults are 0.025 for skip-gram, 0.05 for CBOW)"
                )
            return {
                "units": st["words"],
                "words": st["words"],
                "trained_words": st["trained_words"],
                "predictions": st["predictions"],
                "loss_per_word": st["loss"] / max(st["trained_words"], 1),
                "loss_per_prediction": st["loss"] / max(st["predictions"], 1),
                "alpha_end": cfg.alpha_end,
            }

        total = corpus.n_tokens * (planned - first)
        interrupted = self._run_epochs(first, planned, total, f"word2vec {self.mode}", progress,
                                       callbacks, step)
        meta = self._meta(interrupted, threads)
        counts = state.counts
        if counts.size > 1 and np.any(counts[1:] > counts[:-1]):
            # a grown vocabulary: list the words most frequent first, as every
            # store does (evaluation's restrict_vocab relies on it)
            order = np.argsort(-counts.astype(np.float64), kind="stable")
            emb = Embeddings(win[order], [state.words[i] for i in order], counts=counts[order],
                             meta=meta)
        else:
            emb = Embeddings(win, state.words, counts=counts, meta=meta)
        self.embeddings_ = emb
        return emb

    def _epoch_report(self, epoch: int, stats: dict, seconds: float) -> dict:
        report = {"epoch": epoch + 1}
        for key in ("words", "trained_words", "predictions", "loss_per_word", "loss_per_prediction"):
            report[key] = stats[key]
        report["seconds"] = seconds
        report["words_per_second"] = stats["words"] / seconds if seconds > 0 else float("inf")
        report["alpha_end"] = stats["alpha_end"]
        return report

    # ------------------------------------------------------------- helpers
    def _input_bags(self) -> dict:
        """Extra arguments of ``_core.train_word2vec`` that make each input a bag
        of rows (FastText's n-grams); none for plain word2vec."""
        return {}

    def _build_samplers(self) -> tuple:
        """(keep probabilities, noise sampler, Huffman tree) for the current
        vocabulary, built once per vocabulary."""
        if self._samplers is None:
            state = self.state
            assert state is not None
            vocab = Vocab(state.words, state.counts)
            keep = vocab.keep_probabilities(self.sample) if self.sample > 0 else None
            noise = tree = None
            if self.loss == "hs":
                tree = _core.HuffmanTree(vocab.counts)
            else:
                noise = _core.NoiseSampler(vocab.counts.astype(np.float64) ** self.ns_exponent)
            self._samplers = (keep, noise, tree)
        return self._samplers

    def _rows_of(self, words: Sequence[str]) -> np.ndarray:
        """The model row of each word, -1 where the model lacks it (int64)."""
        state = self.state
        assert state is not None
        index = state.index
        return np.fromiter((index.get(w, -1) for w in words), dtype=np.int64, count=len(words))

    def _id_map(self, corpus: Corpus) -> Optional[np.ndarray]:
        """Corpus ids -> model rows (``_NO_ROW``: not in the model), or None when they are the same."""
        state = self.state
        assert state is not None
        words = corpus.vocab.index_to_word
        if words == state.words:
            return None
        rows = self._rows_of(words)
        return np.where(rows >= 0, rows, _NO_ROW).astype(np.uint32)

    def _check_state(self, state: ModelState, path: Path) -> None:
        n = len(state)
        want = {"input": (n, self.dim), "output": (n - 1 if self.loss == "hs" else n, self.dim)}
        for name, shape in want.items():
            arr = state.arrays.get(name)
            if arr is None or arr.shape != shape or arr.dtype != np.float32:
                got = None if arr is None else (arr.shape, str(arr.dtype))
                raise ValueError(f"{path}: array {name!r} is {got}, expected {shape} float32")
        lock = state.arrays.get("lock")
        if lock is not None and (lock.shape != (n,) or lock.dtype != np.float32):
            raise ValueError(f"{path}: array 'lock' is {lock.shape} {lock.dtype}, expected ({n},) float32")

    def _after_load(self) -> None:
        self._samplers = None

    def _as_corpus(self, corpus: Any) -> Corpus:
        check_training_data("Word2Vec", corpus, "a Corpus, a path to a text file or an iterable of sentences "
                            "(each a list of str or a str); to start from trained vectors use init= or warm_start")
        return as_corpus(corpus, self.min_count, self.threads)
