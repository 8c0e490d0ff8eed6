"""Contrastive training of static text encoders (InfoNCE with in-batch negatives).

A text's vector is the mean of its tokens' vectors, scaled to unit length
(:mod:`densevec.encode`, ``pooling="mean"``). :class:`Contrastive` trains the
token vectors on (anchor, positive) pairs -- and optionally (anchor, positive,
negative) triples -- so that an anchor is closer to its own positive than to
the other positives (and negatives) of its batch: for a batch of ``B`` pairs
the loss is

    L = -(1/B) sum_i log( exp(s(a_i, p_i) / t) / sum_j exp(s(a_i, c_j) / t) )

with ``s`` the cosine, ``t`` the temperature and ``c`` the batch's positives
(then its negatives, for triples); sentence-transformers'
``MultipleNegativesRankingLoss`` with ``scale = 1/t``. With ``symmetric=True``
the loss is the mean of that and the same loss of positives against anchors.

The epoch runs in C++ with the GIL released (``csrc/contrastive.cpp``): a
batch's texts are encoded, the ``B x m`` similarity matrix formed, the softmax
gradient taken back through the normalisation (its Jacobian) and the mean to
every token row the batch used, and those rows are updated with **sparse
AdaGrad** (per-element accumulators, saved with the model; rows the batch did
not use are untouched). Threads take batches in turn and update the shared
vectors without locks (Hogwild); ``threads=1`` with a seed is deterministic.
Batches: each epoch shuffles the usable pairs (seeded) and cuts them into
batches of ``batch_size``; the last batch may be smaller.

Data choices, documented:

* a pair with a side that has no known token (an empty side included) is
  **skipped** and counted (``history[-1]["skipped_pairs"]``, ``skipped_pairs_``);
* fewer usable pairs than ``batch_size`` raises ``ValueError``;
* **vocabulary**: without ``init``, the tokens of the pairs occurring at
  least ``min_count`` times, rows drawn uniformly in +-0.5/dim; with ``init``
  (fine-tuning), every word of ``init`` (its rows copied, its counts kept)
  followed by the pairs' tokens it lacks (count >= ``min_count``; rows drawn
  at the scale of ``init``'s rows, counts from the pairs). ``freeze=True``
  locks the rows copied from ``init``: only the new rows train.

Pairs file (``densevec train --model contrastive``, :func:`read_pairs`): UTF-8
text, one pair per line, fields separated by one tab -- ``anchor<TAB>positive``
or ``anchor<TAB>positive<TAB>negative``, the same number in every line; each
field is split into tokens like a corpus line. Empty lines are skipped.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core
from densevec._fs import PathLike
from densevec._validate import FLOAT32_MAX, INT32_MAX, MAX_THREADS, UINT64_MAX, check_float, check_int
from densevec.corpus import Corpus, resolve_threads
from densevec.encode import TextEncoder, as_text_list, token_table
from densevec.train._base import Callback, ModelState, Trainer, uniform_rows
from densevec.vectors import Embeddings

Text = Union[str, Sequence[str]]
Pairs = Union[PathLike, Sequence[Sequence[Text]]]


def read_pairs(path: PathLike) -> list[tuple[str, ...]]:
    """Pairs (or triples) from a tab-separated file (see the module docstring).

    Raises
    ------
    ValueError
        A line with another number of fields than the first pair's, or not
        2 or 3, naming the file and the line number; text that is not UTF-8.
    """
    pairs: list[tuple[str, ...]] = []
    width = 0
    try:
        with open(path, encoding="utf-8", newline="\n") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = tuple(line.split("\t"))
                if len(fields) not in (2, 3) or (width and len(fields) != width):
                    want = f"{width}" if width else "2 or 3"
                    raise ValueError(f"{path}, line {lineno}: {len(fields)} tab-separated field(s), expected {want} "
                                     "(anchor<TAB>positive[<TAB>negative])")
                width = len(fields)
                pairs.append(fields)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    return pairs


def _sides(pairs: Any) -> list[list]:
    """Pairs as 2 or 3 lists of texts (anchors, positives[, negatives])."""
    if isinstance(pairs, (str, bytes)) or hasattr(pairs, "__fspath__"):
        pairs = read_pairs(pairs)
    pairs = as_text_list(pairs, "pairs")
    if not pairs:
        raise ValueError("no training pairs")
    width = None
    for i, p in enumerate(pairs):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__"):
            raise TypeError(f"pair {i} must be a tuple (anchor, positive[, negative]), got {type(p).__name__}")
        if len(p) not in (2, 3) or (width is not None and len(p) != width):
            raise ValueError(f"pair {i} has {len(p)} sides; every pair needs "
                             f"{width or '2 or 3'} (anchor, positive[, negative])")
        width = len(p)
    return [[p[s] for p in pairs] for s in range(width or 2)]


_SIDE_NAMES = ("anchors", "positives", "negatives")


def _check_texts(sides: list[list]) -> None:
    """TypeError / ValueError naming the side, the pair and the token of a text
    that is not a string or a list of strings (checked in C++)."""
    empty = _core.TokenTable(np.zeros(0, np.uint8), np.zeros(1, np.int64))
    for name, side in zip(_SIDE_NAMES, sides):
        try:
            _core.texts_to_ids(table=empty, texts=side)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{name}: {str(e).replace('text ', 'pair ', 1)}") from None


class Contrastive(Trainer):
    """Contrastive (InfoNCE) trainer of a static text encoder (see the module docstring).

    Parameters
    ----------
    dim : int, optional
        Vector dimensionality; default: ``init``'s, else 100.
    init : Embeddings, optional
        Token vectors to fine-tune (copied; never written). Not a
        hyperparameter: the store's ``meta["init_space"]`` records its space.
    pooling : {"mean"}
        Text vectors are token means (then unit length).
    temperature : float
        Softmax temperature ``t`` (> 0); sentence-transformers' scale is ``1/t``.
        The default 0.1 (and ``learning_rate`` 0.15) is what sparse AdaGrad
        fine-tuning does best with on the WordNet reverse dictionary's *dev*
        split (1 epoch, batch 256: recall@10 0.214 against 0.201 at
        ``t=0.05``, learning rate 0.1; mean of 3 seeds); sentence-transformers' AdamW does best
        at its own default ``scale=20`` (``t=0.05``) there (see
        ``benchmarks/results/contrastive.md``).
    batch_size : int
        Pairs per batch (in-batch negatives: ``batch_size - 1`` per anchor).
    epochs : int
    learning_rate : float
        AdaGrad's step size (densevec CLI: ``--learning-rate``, default 0.15).
    symmetric : bool
        Also train positives to retrieve their anchors.
    min_count : int
        Minimum count of a pair token to get a row.
    freeze : bool
        With ``init``: keep ``init``'s rows fixed (train only new tokens' rows).
    threads : int
        0 = all cores; Hogwild over batches when > 1.
    seed : int
        Seeds initialisation and the batches' order.

    Examples
    --------
    >>> model = Contrastive(init=word_vectors, epochs=3)        # doctest: +SKIP
    >>> emb = model.fit([("a definition", "word"), ...])         # doctest: +SKIP
    >>> vectors = model.encode(["another definition"])          # doctest: +SKIP
    """

    algorithm = "contrastive"
    _display_name = "contrastive"
    _unit = "pair"

    def __init__(
        self,
        dim: Optional[int] = None,
        init: Optional[Embeddings] = None,
        pooling: Literal["mean"] = "mean",
        temperature: float = 0.1,
        batch_size: int = 256,
        epochs: int = 1,
        learning_rate: float = 0.15,
        symmetric: bool = False,
        min_count: int = 1,
        freeze: bool = False,
        threads: int = 0,
        seed: int = 1,
    ):
        super().__init__()
        if init is not None and not isinstance(init, Embeddings):
            raise TypeError(f"init must be Embeddings, got {type(init).__name__}")
        if pooling != "mean":
            raise ValueError(f"pooling must be 'mean' (the only pooling trained), got {pooling!r}")
        if dim is None:
            dim = init.dim if init is not None else 100
        dim = check_int("dim", dim, 1, INT32_MAX)
        if init is not None and init.dim != dim:
            raise ValueError(f"dim={dim} but init has dim {init.dim}")
        self.dim = dim
        self.init = init
        self.pooling = pooling
        self.temperature = check_float("temperature", temperature, 0.0, FLOAT32_MAX, min_inclusive=False)
        self.batch_size = check_int("batch_size", batch_size, 1, INT32_MAX)
        self.epochs = check_int("epochs", epochs, 1)
        self.learning_rate = check_float("learning_rate", learning_rate, 0.0, FLOAT32_MAX, min_inclusive=False)
        self.symmetric = bool(symmetric)
        self.min_count = check_int("min_count", min_count, 1)
        self.freeze = bool(freeze)
        self.threads = check_int("threads", threads, 0, MAX_THREADS)
        self.seed = check_int("seed", seed, 0, UINT64_MAX)
        self.skipped_pairs_ = 0

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in super()._param_names() if p != "init"]  # data, not a hyperparameter

    # ------------------------------------------------------------ vocabulary
    def build_vocab(self, pairs: Pairs) -> "Contrastive":
        """Set up the vocabulary and the weights from the pairs' tokens (and ``init``)."""
        sides = _sides(pairs)
        _check_texts(sides)
        texts = [t for side in sides for t in side]
        corpus = Corpus.from_sentences(texts, min_count=self.min_count, threads=self.threads)
        words, counts = list(corpus.vocab.index_to_word), np.asarray(corpus.vocab.counts, dtype=np.uint64)
        rng = np.random.default_rng(self.seed)
        info = {"corpus_fingerprints": [corpus.fingerprint]}
        if self.init is None:
            if not words:
                raise ValueError(f"no token occurs min_count={self.min_count} times in the pairs")
            arrays = {"input": uniform_rows(rng, (len(words), self.dim), self.dim)}
            self.state = ModelState(arrays, words, counts, info)
        else:
            init = self.init
            base = init.to_numpy()
            if not np.isfinite(base).all():
                raise ValueError("init holds NaN or infinite values")
            known = set(init.index_to_word)
            new = [i for i, w in enumerate(words) if w not in known]
            scale = float(np.linalg.norm(base, axis=1).mean()) / math.sqrt(self.dim) if len(base) else 1.0
            fresh = (rng.standard_normal((len(new), self.dim)) * scale).astype(np.float32)
            init_counts = (np.zeros(len(init), np.uint64) if init.counts is None
                           else np.asarray(init.counts).astype(np.uint64))
            arrays = {"input": np.concatenate([base, fresh])}
            if self.freeze:
                arrays["lock"] = np.concatenate([np.zeros(len(init), np.float32), np.ones(len(new), np.float32)])
            self.state = ModelState(arrays, list(init.index_to_word) + [words[i] for i in new],
                                    np.concatenate([init_counts, counts[new]]), info)
            self.state.info["init_space"] = (init.meta.get("space") or {}).get("id")
        self.state.arrays["adagrad"] = np.zeros_like(self.state.arrays["input"])
        self.history = []
        return self

    # ------------------------------------------------------------------ fit
    def fit(self, pairs: Pairs, progress: bool = True, callbacks: Sequence[Callback] = ()) -> Embeddings:
        """Build the vocabulary and train on ``pairs``; returns the token vectors.

        Parameters
        ----------
        pairs : path or sequence of (anchor, positive[, negative])
            Each side a string or a token list; a path is read with :func:`read_pairs`.
        progress : bool
            Progress bar (pairs/s).
        callbacks : sequence of callables
            ``cb(model, report)`` after every epoch.

        Returns
        -------
        Embeddings
            The trained token vectors (encode texts with :meth:`encode` or
            ``emb.encode(texts)``), also ``self.embeddings_``.
        """
        sides = _sides(pairs)
        self.build_vocab(list(zip(*sides)))
        return self.train(list(zip(*sides)), progress=progress, callbacks=callbacks)

    def train(self, pairs: Pairs, epochs: Optional[int] = None, progress: bool = True,
              callbacks: Sequence[Callback] = ()) -> Embeddings:
        """Train (further) from the current weights; tokens the model lacks are skipped.

        ``epochs``: under a new schedule (default: the rest of an interrupted
        one, else ``self.epochs``). Raises ``ValueError`` when fewer usable
        pairs than ``batch_size`` remain, ``FloatingPointError`` on divergence.
        """
        state = self._require_state("train")
        sides = _sides(pairs)
        first, planned = self._schedule(epochs)
        emb_view = Embeddings(state.arrays["input"], state.words, meta={"space": {"id": "training"}})
        table = token_table(emb_view)
        encoded = [_core.texts_to_ids(table=table, texts=side) for side in sides]
        usable = np.ones(len(sides[0]), dtype=bool)
        for _, offsets, _ in encoded:
            usable &= np.diff(offsets) > 0
        valid = np.flatnonzero(usable).astype(np.uint32)
        skipped = int(len(usable) - len(valid))
        self.skipped_pairs_ = skipped
        if len(valid) < self.batch_size:
            raise ValueError(f"batch_size={self.batch_size} is larger than the {len(valid)} usable pairs "
                             f"({skipped} skipped: a side without a known token); lower batch_size")
        weights = state.writable("input")
        adagrad = state.writable("adagrad")
        lock = state.arrays.get("lock")
        threads = resolve_threads(self.threads)
        cfg = _core.ContrastiveConfig()
        cfg.temperature = self.temperature
        cfg.learning_rate = self.learning_rate
        cfg.batch_size = self.batch_size
        cfg.symmetric = self.symmetric
        cfg.threads = threads
        epoch_base = int(state.info.get("epochs_trained", 0)) - first
        neg = encoded[2] if len(encoded) == 3 else (None, None, None)

        def step(epoch: int, cb: Any) -> dict:
            order = np.random.default_rng([self.seed, epoch_base + epoch]).permutation(valid)
            st = _core.contrastive_epoch(
                config=cfg, weights=weights, adagrad=adagrad, lock=lock,
                anchor_ids=encoded[0][0], anchor_offsets=encoded[0][1],
                positive_ids=encoded[1][0], positive_offsets=encoded[1][1],
                negative_ids=neg[0], negative_offsets=neg[1], order=order, progress=cb)
            if st["diverged"] or not math.isfinite(st["loss"]):
                raise FloatingPointError(f"contrastive training diverged in epoch {epoch + 1} (non-finite loss): "
                                         f"lower learning_rate ({self.learning_rate}) or raise temperature")
            return {"units": st["pairs"], "pairs": st["pairs"], "batches": st["batches"],
                    "loss": st["loss"], "skipped_pairs": skipped}

        interrupted = self._run_epochs(first, planned, len(valid) * (planned - first), "contrastive",
                                       progress, callbacks, step)
        extra = {"init_space": state.info.get("init_space")} if state.info.get("init_space") else {}
        meta = self._meta(interrupted, threads, **extra)
        emb = Embeddings(weights.copy(), state.words, counts=state.counts, meta=meta)
        self.embeddings_ = emb
        return emb

    def _epoch_report(self, epoch: int, stats: dict, seconds: float) -> dict:
        report = super()._epoch_report(epoch, stats, seconds)
        report["pairs_per_second"] = stats["pairs"] / seconds if seconds > 0 else float("inf")
        return report

    # --------------------------------------------------------------- encode
    def encode(self, texts: Any, threads: int = 0, stats: Optional[dict] = None) -> np.ndarray:
        """Texts as unit-length mean token vectors of the trained model, float32 ``(n, dim)``."""
        if self.embeddings_ is None:
            raise RuntimeError("Contrastive.encode: fit() or train() first")
        return TextEncoder(self.embeddings_).encode(texts, threads=threads, stats=stats)

    # ------------------------------------------------------------ save/load
    def _check_state(self, state: ModelState, path: Path) -> None:
        n = len(state)
        for name in ("input", "adagrad"):
            arr = state.arrays.get(name)
            if arr is None or arr.shape != (n, self.dim) or arr.dtype != np.float32:
                got = None if arr is None else (arr.shape, str(arr.dtype))
                raise ValueError(f"{path}: array {name!r} is {got}, expected {(n, self.dim)} float32")
        lock = state.arrays.get("lock")
        if lock is not None and (lock.shape != (n,) or lock.dtype != np.float32):
            raise ValueError(f"{path}: array 'lock' is {lock.shape} {lock.dtype}, expected ({n},) float32")

    def _after_load(self) -> None:
        state = self.state
        assert state is not None
        self.embeddings_ = Embeddings(np.array(state.arrays["input"]), state.words, counts=state.counts)
