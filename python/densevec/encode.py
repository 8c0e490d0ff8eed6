"""Texts as vectors: pooled token vectors of an :class:`~densevec.Embeddings`.

A *text* is a string or a list of tokens. A string is split the way the
corpus tokenizer splits a line (see :mod:`densevec.corpus`: ASCII whitespace
and NUL bytes separate tokens; nothing is lower-cased or stripped); a list is
taken token by token as it is. Tokens the embeddings do not know are skipped.
The work runs in C++ with the GIL released (``threads`` workers split the texts).

Pooling:

* ``"mean"``: the mean of the vectors of the text's known tokens (each
  occurrence counts).
* ``"sif"``: smooth inverse frequency (Arora, Liang and Ma, "A simple but
  tough-to-beat baseline for sentence embeddings", ICLR 2017): the mean of the
  known tokens' vectors weighted by ``a / (a + p(w))``, where ``p(w)`` is the
  word's share of the embeddings' counts, then minus its projection on the
  *common component* ``u``. ``u`` is fitted by :meth:`TextEncoder.fit`: the
  first right singular vector (uncentred, as the paper's TruncatedSVD) of the
  weighted mean vectors of a sample of texts; it is stored in
  :attr:`TextEncoder.component_` (and in the ``meta["encoder"]`` of a
  collection made by :meth:`TextEncoder.encode_keyed`), so that queries and
  documents are encoded with the same ``u``.

A text without any known token is encoded as a **zero row** (whatever the
pooling and ``normalize``); the ``stats`` dict of :meth:`TextEncoder.encode`
counts them (``empty_texts``). With ``normalize`` every other row has unit
length, so dot products are cosines.
"""
from __future__ import annotations

import weakref
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core
from densevec._validate import check_float, check_int
from densevec.corpus import resolve_threads

Text = Union[str, Sequence[str]]
Pooling = Literal["mean", "sif"]

_TABLES: "weakref.WeakKeyDictionary[Any, tuple[int, Any]]" = weakref.WeakKeyDictionary()


def token_table(emb: Any) -> Any:
    """The C++ word -> row table of ``emb`` (built once per Embeddings object and
    vocabulary size, about 0.3 s per million words)."""
    cached = _TABLES.get(emb)
    if cached is not None and cached[0] == len(emb):
        return cached[1]
    encoded = [w.encode("utf-8", "surrogatepass") for w in emb.index_to_word]
    lengths = np.fromiter((len(b) + 1 for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    blob = np.frombuffer(b"".join(b + b"\n" for b in encoded), dtype=np.uint8)
    table = _core.TokenTable(blob, offsets)
    _TABLES[emb] = (len(emb), table)
    return table


def as_text_list(texts: Any, what: str = "texts") -> list:
    """``texts`` as a list of texts (each a str or a list of str; checked in C++)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of texts (strings or token lists), got a single "
                        f"{type(texts).__name__}; wrap it in a list")
    try:
        return list(texts)
    except TypeError:
        raise TypeError(f"{what} must be a list of texts, got {type(texts).__name__}") from None


class TextEncoder:
    """Encodes texts with the token vectors of an :class:`~densevec.Embeddings`.

    Parameters
    ----------
    embeddings : Embeddings
        Token vectors (quantised stores are read as float32, a copy).
    pooling : {"mean", "sif"}
        See the module docstring.
    normalize : bool
        Scale every non-zero text vector to unit length.
    sif_a : float
        SIF's ``a`` (the paper's default, 1e-3).
    component : numpy.ndarray, shape (dim,), optional
        SIF's common component, as fitted earlier (``component_``); None
        until :meth:`fit`.

    Attributes
    ----------
    component_ : numpy.ndarray of float32, shape (dim,), or None
        SIF's fitted common component (unit length).
    """

    def __init__(self, embeddings: Any, pooling: Pooling = "mean", normalize: bool = True,
                 sif_a: float = 1e-3, component: Optional[np.ndarray] = None):
        from densevec.vectors import Embeddings

        if not isinstance(embeddings, Embeddings):
            raise TypeError(f"TextEncoder needs Embeddings, got {type(embeddings).__name__}")
        if pooling not in ("mean", "sif"):
            raise ValueError(f"pooling must be 'mean' or 'sif', got {pooling!r}")
        self.embeddings = embeddings
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.sif_a = check_float("sif_a", sif_a, 0.0, min_inclusive=False)
        self._weights: Optional[np.ndarray] = None
        if pooling == "sif":
            counts = embeddings.counts
            if counts is None:
                raise ValueError("pooling='sif' needs word counts, and these embeddings have none")
            c = np.asarray(counts, dtype=np.float64)
            total = c.sum()
            p = c / total if total > 0 else np.zeros_like(c)
            self._weights = (self.sif_a / (self.sif_a + p)).astype(np.float32)
        self.component_: Optional[np.ndarray] = None
        if component is not None:
            u = np.asarray(component, dtype=np.float32).reshape(-1)
            if u.shape != (embeddings.dim,) or not np.isfinite(u).all():
                raise ValueError(f"component must be {embeddings.dim} finite values, got shape {u.shape}")
            norm = float(np.linalg.norm(u))
            self.component_ = u / norm if norm > 0 else None

    def __repr__(self) -> str:
        return (f"TextEncoder({self.embeddings!r}, pooling={self.pooling!r}, normalize={self.normalize}"
                + (f", fitted={self.component_ is not None})" if self.pooling == "sif" else ")"))

    @property
    def dim(self) -> int:
        return self.embeddings.dim

    def _vectors(self) -> np.ndarray:
        emb = self.embeddings
        if emb.dtype == "float32":
            return np.ascontiguousarray(emb._rows(slice(None)))
        return emb.to_numpy()

    def _run(self, texts: list, threads: int, component: Optional[np.ndarray], normalize: bool,
             stats: Optional[dict]) -> np.ndarray:
        threads = resolve_threads(threads)
        if not texts:
            out = np.zeros((0, self.dim), dtype=np.float32)
            st = {"texts": 0, "tokens": 0, "known_tokens": 0, "empty_texts": 0}
        else:
            out, st = _core.encode_texts(table=token_table(self.embeddings), vectors=self._vectors(),
                                         texts=texts, weights=self._weights, component=component,
                                         normalize=normalize, threads=threads)
        if stats is not None:
            stats.update(st)
        return out

    def fit(self, texts: Any, sample: int = 10_000, seed: int = 0) -> "TextEncoder":
        """Fit SIF's common component on (a sample of) ``texts``; a no-op for mean pooling.

        Parameters
        ----------
        texts : list of str or of token lists
        sample : int
            At most this many texts, drawn without replacement with ``seed``.
        seed : int

        Returns
        -------
        self
        """
        texts = as_text_list(texts)
        sample = check_int("sample", sample, 1)
        if self.pooling != "sif":
            return self
        if len(texts) > sample:
            pick = np.random.default_rng(check_int("seed", seed, 0)).choice(len(texts), sample, replace=False)
            texts = [texts[i] for i in np.sort(pick)]
        x = self._run(texts, 0, None, False, None)
        x = x[np.any(x != 0, axis=1)].astype(np.float64)
        if x.shape[0] == 0:
            raise ValueError("TextEncoder.fit: no text has a known token; nothing to fit SIF's component on")
        u = np.linalg.svd(x, full_matrices=False)[2][0]
        u *= np.sign(u[np.argmax(np.abs(u))])  # a fixed sign (the projection does not depend on it)
        self.component_ = u.astype(np.float32)
        return self

    def encode(self, texts: Any, threads: int = 0, stats: Optional[dict] = None) -> np.ndarray:
        """Encode texts.

        Parameters
        ----------
        texts : list of str or of token lists
        threads : int
            Worker threads (0: all cores); the result does not depend on it.
        stats : dict, optional
            Filled with ``texts``, ``tokens``, ``known_tokens`` and
            ``empty_texts`` (texts without a known token: zero rows).

        Returns
        -------
        numpy.ndarray of float32, shape (len(texts), dim)
            ``(0, dim)`` for an empty list.

        Raises
        ------
        RuntimeError
            SIF pooling before :meth:`fit`.
        TypeError
            A text that is neither a string nor a list of strings (naming it).
        """
        texts = as_text_list(texts)
        if self.pooling == "sif" and self.component_ is None:
            raise RuntimeError("TextEncoder(pooling='sif').encode: fit() the common component first "
                               "(or pass component=)")
        return self._run(texts, threads, self.component_, self.normalize, stats)

    def encode_keyed(self, texts: Any, keys: Sequence[str], threads: int = 0,
                     stats: Optional[dict] = None) -> Any:
        """Encode a collection as :class:`~densevec.Embeddings` keyed by document id.

        The result is searched like any store (``docs.search(encoder.encode([query])[0])``)
        and saved with ``docs.save(path)``. Its ``meta["encoder"]`` records the
        pooling, ``normalize``, SIF's ``a`` and component; its
        ``meta["space"]`` is the token vectors' space.
        """
        from densevec.vectors import Embeddings

        texts = as_text_list(texts)
        keys = [str(k) if isinstance(k, (int, np.integer)) else k for k in keys]
        if len(keys) != len(texts):
            raise ValueError(f"encode_keyed: {len(texts)} texts but {len(keys)} keys")
        vectors = self.encode(texts, threads=threads, stats=stats)
        meta = {"space": dict(self.embeddings.meta.get("space") or {}) or None,
                "algorithm": "encode", "encoder": self.describe(),
                "normalized": self.normalize}
        if meta["space"] is None:
            del meta["space"]
        return Embeddings(vectors, keys, meta=meta)

    def describe(self) -> dict:
        """The encoder's settings as JSON: pooling, normalize, sif_a, component."""
        return {"pooling": self.pooling, "normalize": self.normalize, "sif_a": self.sif_a,
                "component": None if self.component_ is None else [float(x) for x in self.component_]}


def encode(emb: Any, texts: Any, pooling: Pooling = "mean", normalize: bool = True, threads: int = 0,
           stats: Optional[dict] = None) -> np.ndarray:
    """:meth:`densevec.Embeddings.encode` (SIF fits its component on ``texts`` themselves)."""
    enc = TextEncoder(emb, pooling=pooling, normalize=normalize)
    texts = as_text_list(texts)
    if pooling == "sif":
        if not texts:
            return np.zeros((0, emb.dim), dtype=np.float32)
        try:
            enc.fit(texts)
        except ValueError:  # no known token anywhere: every row is zero
            return enc._run(texts, threads, None, normalize, stats)
    return enc.encode(texts, threads=threads, stats=stats)
