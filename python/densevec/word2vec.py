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
  (context, centre) pair; quality is the same at a fraction of the memory
  traffic. Noise words equal to the centre word are skipped.
* **Learning rate** falls linearly from ``alpha`` to ``min_alpha`` over all
  epochs, updated every 10,000 words per thread.
* **Initialisation**: input vectors uniform in ``[-0.5/dim, 0.5/dim)``, output
  vectors zero, as word2vec.c.
* **Loss**: reported per epoch as the mean, over trained centre words, of the
  summed binary cross-entropy ``-log sigmoid(+-x)`` of all predictions made for
  that word (``loss_per_word``), and per prediction (``loss_per_prediction``).
  Unlike gensim's running total, it resets every epoch.
* **Determinism**: ``threads=1`` with a fixed ``seed`` gives bit-identical
  vectors run to run. With more threads the run is Hogwild (racy by design) and
  results vary slightly between runs.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Any, Callable, Iterable, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core
from densevec._progress import ByteProgress
from densevec._validate import FLOAT32_MAX, INT32_MAX, INT64_MAX, MAX_THREADS, UINT64_MAX
from densevec.corpus import (Corpus, PathLike, _check_float, _check_int, as_corpus,
                             resolve_threads)
from densevec.vectors import Embeddings

Callback = Callable[["Word2Vec", dict], Any]


class Word2Vec:
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
    min_alpha : float
        Final learning rate.
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
    """

    def __init__(
        self,
        dim: int = 100,
        mode: Literal["skipgram", "cbow"] = "skipgram",
        loss: Literal["ns", "hs"] = "ns",
        window: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        alpha: Optional[float] = None,
        min_alpha: float = 1e-4,
        epochs: int = 5,
        min_count: int = 5,
        threads: int = 0,
        seed: int = 1,
        cbow_mean: bool = True,
        ns_exponent: float = 0.75,
    ):
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
        min_alpha = _check_float("min_alpha", min_alpha, 0.0, alpha)
        sample = _check_float("sample", sample, 0.0)
        ns_exponent = _check_float("ns_exponent", ns_exponent)
        self.dim = int(dim)
        self.mode = mode
        self.loss = loss
        self.window = int(window)
        self.negative = int(negative)
        self.sample = float(sample)
        self.alpha = float(alpha)
        self.min_alpha = float(min_alpha)
        self.epochs = int(epochs)
        self.min_count = int(min_count)
        self.threads = int(threads)
        self.seed = int(seed)
        self.cbow_mean = bool(cbow_mean)
        self.ns_exponent = float(ns_exponent)
        self.history: list[dict] = []
        self.embeddings_: Optional[Embeddings] = None
        self.output_vectors_: Optional[np.ndarray] = None

    def get_params(self) -> dict:
        """Hyperparameters, as recorded in the trained embeddings' metadata."""
        return {
            "dim": self.dim, "mode": self.mode, "loss": self.loss, "window": self.window,
            "negative": self.negative, "sample": self.sample, "alpha": self.alpha,
            "min_alpha": self.min_alpha, "epochs": self.epochs, "min_count": self.min_count,
            "threads": self.threads, "seed": self.seed, "cbow_mean": self.cbow_mean,
            "ns_exponent": self.ns_exponent,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"Word2Vec({args})"

    def fit(
        self,
        corpus: Union[Corpus, PathLike, Iterable[Union[str, Sequence[str]]]],
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
    ) -> Embeddings:
        """Train on a corpus and return the input vectors as :class:`Embeddings`.

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
        vocab = corpus.vocab
        n_words, dim = len(vocab), self.dim
        if corpus.n_tokens == 0:
            raise ValueError("the corpus is empty: no in-vocabulary tokens to train on")
        if self.loss == "hs" and n_words < 2:
            raise ValueError("hierarchical softmax needs at least 2 words in the vocabulary")
        rng = np.random.default_rng(self.seed)
        win = ((rng.random((n_words, dim), dtype=np.float32) - np.float32(0.5)) / np.float32(dim))
        win = np.ascontiguousarray(win, dtype=np.float32)
        hs = self.loss == "hs"
        wout = np.zeros((n_words - 1 if hs else n_words, dim), dtype=np.float32)
        keep = vocab.keep_probabilities(self.sample) if self.sample > 0 else None
        neg_threshold = neg_alias = codes = points = path_offsets = None
        if hs:
            codes, points, path_offsets = _core.build_huffman(vocab.counts)
        else:
            weights = vocab.counts.astype(np.float64) ** self.ns_exponent
            neg_threshold, neg_alias = _core.build_alias(weights)
        threads = resolve_threads(self.threads)
        total = corpus.n_tokens * self.epochs
        self.history = []
        arrays = (keep, neg_threshold, neg_alias, codes, points, path_offsets)
        with ByteProgress(total, f"word2vec {self.mode}", enabled=progress, unit="word") as bar:
            interrupted = self._train_epochs(corpus, win, wout, arrays, threads, bar, callbacks)
        meta = {
            "algorithm": "word2vec",
            "params": self.get_params(),
            "corpus_fingerprint": corpus.fingerprint,
            "densevec_version": _core.__version__,
            "epochs_completed": len(self.history),
            "interrupted": interrupted,
            "hogwild": threads > 1,
            "normalized": False,
        }
        emb = Embeddings(win, vocab.index_to_word, counts=vocab.counts, meta=meta)
        self.embeddings_ = emb
        self.output_vectors_ = wout
        return emb

    def _train_epochs(self, corpus: Corpus, win: np.ndarray, wout: np.ndarray, arrays: tuple,
                      threads: int, bar: ByteProgress, callbacks: Sequence[Callback]) -> bool:
        """Runs the epochs; returns True when interrupted by Ctrl-C."""
        keep, neg_threshold, neg_alias, codes, points, path_offsets = arrays
        done_before = 0
        epoch = 0
        try:
            for epoch in range(self.epochs):
                a0 = self.alpha - (self.alpha - self.min_alpha) * epoch / self.epochs
                a1 = self.alpha - (self.alpha - self.min_alpha) * (epoch + 1) / self.epochs
                cb = None
                if bar.callback is not None:
                    cb = lambda words, alpha, _b=done_before: bar.update(_b + words, alpha)  # noqa: E731
                t0 = time.perf_counter()
                st = _core.train_word2vec(
                    win, wout, corpus.ids, corpus.offsets, 0, corpus.n_sentences, keep,
                    neg_threshold, neg_alias, codes, points, path_offsets,
                    self.mode == "skipgram", self.loss == "hs", self.negative, self.window,
                    self.cbow_mean, a0, a1, self.seed, epoch, threads, "", cb,
                )
                seconds = time.perf_counter() - t0
                if st["diverged"] or not math.isfinite(st["loss"]):
                    raise FloatingPointError(
                        f"word2vec diverged in epoch {epoch + 1} (non-finite loss): "
                        f"alpha={self.alpha} is too high a learning rate for this data; "
                        "lower it (word2vec's defaults are 0.025 for skip-gram, 0.05 for CBOW)"
                    )
                done_before += st["words"]
                report = {
                    "epoch": epoch + 1,
                    "words": st["words"],
                    "trained_words": st["trained_words"],
                    "predictions": st["predictions"],
                    "loss_per_word": st["loss"] / max(st["trained_words"], 1),
                    "loss_per_prediction": st["loss"] / max(st["predictions"], 1),
                    "seconds": seconds,
                    "words_per_second": st["words"] / seconds if seconds > 0 else float("inf"),
                    "alpha_end": a1,
                }
                self.history.append(report)
                for callback in callbacks:
                    callback(self, report)
        except KeyboardInterrupt:
            warnings.warn(
                f"word2vec training interrupted during epoch {epoch + 1}/{self.epochs}; "
                "returning the vectors trained so far",
                RuntimeWarning,
                stacklevel=3,
            )
            return True
        return False

    def _as_corpus(self, corpus: Any) -> Corpus:
        return as_corpus(corpus, self.min_count, self.threads)
