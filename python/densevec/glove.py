"""GloVe: co-occurrence counting within a memory budget, then AdaGrad training.

Both halves run in C++ with the GIL released.

**Counting** (:func:`cooccurrence`) walks the encoded id stream of a
:class:`~densevec.Corpus`. For each token and each of the ``window`` tokens
before it in the same sentence, at distance ``d``, it adds ``1/d``
(``weighting="harmonic"``, GloVe's choice) or ``1`` (``"uniform"``) to
``X[left, right]`` and, when ``symmetric``, to ``X[right, left]`` as well (so a
word paired with itself gets both). With ``symmetric=False``, ``X[i, j]`` counts
``j`` appearing after ``i``: the left context only, as GloVe's ``cooccur
-symmetric 0``. Windows never cross sentence (line) boundaries.

Each thread accumulates in double precision: the pairs of frequent words in a
dense block (pairs whose frequency ranks have a small product), the others in a
hash table that is sorted and spilled to a temporary file whenever it fills its
share of ``memory_gb``. The dense blocks and sorted runs are merged at the end
into records sorted by ``(row, col)`` and stored as float32 (a symmetric
matrix as its upper triangle, ``row <= col``: half the disk and no transposing
pass; :meth:`Cooccurrence.coo` and :meth:`Cooccurrence.to_scipy` give the full
matrix, and training expands each record to both orientations). The counts do not
depend on the thread count except through the order of floating-point
additions (differences of a few units in the last place of a double, far below
float32 resolution).

**Training** (:class:`GloVe`) minimises
``sum f(X_ij) (w_i . c_j + b_i + b'_j - log X_ij)^2`` with
``f(x) = min(1, (x / x_max)^alpha)``, by AdaGrad on every parameter, as
Stanford's ``glove``: a parameter with gradient ``g`` moves by
``-lr * g / sqrt(G)`` and then ``G += (lr * g)^2``, starting from ``G = 1``;
vectors and biases start uniform in ``[-0.5/dim, 0.5/dim)``. Vectors and their
AdaGrad accumulators are float32, biases and theirs float64. (float64 vector
accumulators, which keep the small late increments of frequent words exactly,
gave the same analogy accuracy and WordSim353 correlation on big.txt at 1.5x
the time per epoch.)

Record order: the records are grouped into tiles of 4096 x 4096 words (rows by
columns) and shuffled uniformly inside each tile, once; every epoch visits the
tiles in a fresh random order, the threads taking chunks of them and updating
the shared parameters without locks (Hogwild). A tile touches at most 8192
parameter rows (7 MB at dim 100), which stay in the last-level cache while it
is trained: 2.5-3 times faster per epoch than a uniform shuffle, whose records
fetch their rows from memory, at the same analogy accuracy and WordSim353
correlation (measured on big.txt, see ``benchmarks/results/glove.md``; smaller
tiles, 256 words, were as fast but lost about 0.01 of WordSim353 correlation).
``threads=1`` with a fixed ``seed`` is bit-reproducible.
"""
from __future__ import annotations

import errno
import json
import math
import os
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core, _fs
from densevec._fs import PathLike
from densevec._progress import ByteProgress
from densevec._validate import FLOAT32_MAX, INT32_MAX, INT64_MAX, MAX_THREADS, UINT64_MAX
from densevec._validate import check_hyperparameter_not_data, check_training_data
from densevec.corpus import (
    Corpus,
    Vocab,
    _check_float,
    _check_int,
    _copy_artefact,
    _write_vocab,
    as_corpus,
    resolve_threads,
)
from densevec.train._base import ModelState, Trainer, uniform_rows
from densevec.vectors import Embeddings

__all__ = ["Cooccurrence", "cooccurrence", "GloVe", "RECORD_DTYPE"]

FORMAT = "densevec-cooccurrence"
FORMAT_VERSION = 2
RECORD_DTYPE = np.dtype([("row", "<u4"), ("col", "<u4"), ("value", "<f4")])
_TRAIN_DTYPE = np.dtype([("row", "<u4"), ("col", "<u4"), ("logx", "<f4"), ("weight", "<f4")])
_WEIGHTINGS = ("harmonic", "uniform")
# Tile side for the record order (see the module docstring).
_TILE_ROWS = 4096  # words per tile side; see the module docstring


class CooccurrenceError(ValueError):
    """A co-occurrence directory is missing, truncated, corrupt or foreign."""


def _check_positive(name: str, value: Any, allow_zero: bool = False,
                    maximum: float = math.inf) -> float:
    return _check_float(name, value, 0.0, maximum, min_inclusive=allow_zero)


def _budget_bytes(memory_gb: Any) -> int:
    gb = _check_positive("memory_gb", memory_gb, maximum=_MAX_MEMORY_GB)
    return max(int(gb * (1 << 30)), 1 << 16)


_MAX_MEMORY_GB = float(1 << 30)  # an exabyte: anything above is a typo


class Cooccurrence:
    """A sparse co-occurrence matrix: memory-mapped records sorted by (row, col).

    Build one with :func:`cooccurrence`; open a saved one with :meth:`load`.

    Attributes
    ----------
    vocab : Vocab
        Row/column ``i`` is word ``vocab.index_to_word[i]``.
    records : numpy.ndarray
        Structured array (``row`` uint32, ``col`` uint32, ``value`` float32),
        memory-mapped, sorted by ``(row, col)``: every non-zero, or for a
        symmetric matrix (``upper`` True) those with ``row <= col``.
    upper : bool
        ``records`` hold the upper triangle of a symmetric matrix.
    window, symmetric, weighting
        The counting parameters.
    meta : dict
        Everything ``meta.json`` records (corpus fingerprint, counting
        statistics, densevec version ...).
    """

    def __init__(self, directory: PathLike, _vocab: Vocab | None = None, validate: bool = True):
        self.path = Path(directory)
        meta_path = self.path / "meta.json"
        meta = _fs.read_meta(meta_path, FORMAT, (FORMAT_VERSION,), "a densevec co-occurrence matrix",
                             CooccurrenceError)
        try:
            nnz = int(meta["nnz"])
            stored = int(meta["stored"])
            self.upper = bool(meta["upper"])
            vocab_size = int(meta["vocab_size"])
            self.window = int(meta["window"])
            self.symmetric = bool(meta["symmetric"])
            self.weighting = str(meta["weighting"])
        except (KeyError, TypeError, ValueError):
            raise CooccurrenceError(f"{meta_path}: missing or malformed fields") from None
        if nnz < 0 or stored < 0 or vocab_size < 1 or stored > nnz or nnz > (2 * stored if self.upper else stored):
            raise CooccurrenceError(f"{meta_path}: bad sizes (nnz {nnz}, stored {stored}, "
                                    f"vocab_size {vocab_size})")
        self.meta = meta
        if _vocab is not None:
            self.vocab = _vocab
        else:
            words, counts = _fs.read_vocab_txt(self.path / "vocab.txt", vocab_size, CooccurrenceError,
                                               sha256=str(meta.get("vocab_sha256")))
            self.vocab = Vocab(words, counts.astype(np.uint64))
        rpath = self.path / "records.bin"
        try:
            size = _fs.check_regular_file(rpath, "a records file", CooccurrenceError).st_size
        except FileNotFoundError:
            raise CooccurrenceError(f"{rpath}: missing") from None
        if size != stored * RECORD_DTYPE.itemsize:
            raise CooccurrenceError(f"{rpath}: {size} bytes, expected {stored * RECORD_DTYPE.itemsize} "
                                    f"for {stored} records (truncated or foreign)")
        if stored == 0:
            self.records = np.zeros(0, dtype=RECORD_DTYPE)
        else:
            self.records = np.memmap(rpath, dtype=RECORD_DTYPE, mode="r", shape=(stored,))
        self._nnz = nnz
        if validate:
            try:
                _core.validate_cooc(self.records, vocab_size, self.upper)
            except ValueError as e:
                raise CooccurrenceError(f"{rpath}: {e}") from None
            if self.upper:
                diag = int(np.count_nonzero(self.records["row"] == self.records["col"]))
                if 2 * stored - diag != nnz:
                    raise CooccurrenceError(f"{meta_path}: nnz {nnz} does not match the "
                                            f"{stored} stored records ({diag} on the diagonal)")
        self._finalizer: weakref.finalize | None = None

    # ------------------------------------------------------------ accessors
    @property
    def nnz(self) -> int:
        """Number of non-zeros of the (full) matrix."""
        return self._nnz

    def __len__(self) -> int:
        return self.nnz

    @property
    def shape(self) -> tuple[int, int]:
        n = len(self.vocab)
        return (n, n)

    @property
    def corpus_fingerprint(self) -> str:
        return str(self.meta.get("corpus_fingerprint", ""))

    @property
    def stats(self) -> dict:
        """Counting statistics: events, spilled runs, dense cells, seconds ..."""
        return dict(self.meta.get("stats", {}))

    def __repr__(self) -> str:
        return (f"Cooccurrence({len(self.vocab)} words, nnz={self.nnz}, window={self.window}, "
                f"symmetric={self.symmetric}, weighting={self.weighting!r})")

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, cols, values)`` of every non-zero of the full matrix, sorted
        by ``(row, col)``, as in-memory arrays of length :attr:`nnz`."""
        r = self.records
        rows, cols, vals = np.asarray(r["row"]), np.asarray(r["col"]), np.asarray(r["value"])
        if not self.upper:
            return rows.copy(), cols.copy(), vals.copy()
        off = rows != cols
        rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        vals = np.concatenate([vals, vals[off]])
        order = np.lexsort((cols, rows))
        return rows[order], cols[order], vals[order]

    def to_scipy(self):
        """The full matrix as a ``scipy.sparse.csr_matrix`` of float32 (needs scipy)."""
        try:
            import scipy.sparse as sp
        except ImportError:
            raise ImportError("Cooccurrence.to_scipy needs scipy: pip install scipy") from None
        rows, cols, vals = self.coo()
        return sp.csr_matrix((vals, (rows, cols)), shape=self.shape, dtype=np.float32)

    def to_dense(self) -> np.ndarray:
        """The full matrix as a dense float32 array (small vocabularies only)."""
        n = len(self.vocab)
        if n * n > 1 << 28:
            raise ValueError(f"a dense {n} x {n} matrix is too large; use to_scipy()")
        out = np.zeros((n, n), dtype=np.float32)
        rows, cols, vals = self.coo()
        out[rows, cols] = vals
        return out

    # ------------------------------------------------------------ open / save
    @classmethod
    def load(cls, path: PathLike, validate: bool = True) -> "Cooccurrence":
        """Open a directory written by :meth:`save` or :func:`cooccurrence`.

        With ``validate`` (the default) every record is checked (indices within
        the vocabulary, positive finite values, strictly increasing order):
        one sequential read of the file.
        """
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such co-occurrence directory")
        return cls(path, validate=validate)

    def save(self, path: PathLike, *, overwrite: bool = False) -> Path:
        """Copy to directory ``path`` (atomically: temporary name, then rename).

        An existing *complete* co-occurrence directory at `path` is replaced
        (atomically) only with ``overwrite=True``; anything else there raises
        ``FileExistsError`` and is left untouched.
        """
        return _copy_artefact(self.path, Path(path), "cooccurrence", overwrite)


def cooccurrence(
    corpus: Corpus,
    window: int = 10,
    symmetric: bool = True,
    weighting: Literal["harmonic", "uniform"] = "harmonic",
    memory_gb: float = 4.0,
    threads: int = 0,
    path: PathLike | None = None,
    progress: bool = False,
    *,
    overwrite: bool = False,
) -> Cooccurrence:
    """Count word co-occurrences of an encoded corpus (see the module docstring).

    Parameters
    ----------
    corpus : Corpus
        The encoded corpus (``Corpus.from_file`` / ``from_sentences``).
    window : int
        Pairs up to this many tokens apart are counted.
    symmetric : bool
        Count the context on both sides (``X`` symmetric); otherwise only the
        words after each word (``X[i, j]``: ``j`` follows ``i``).
    weighting : {"harmonic", "uniform"}
        Add ``1/distance`` (GloVe) or ``1`` per pair.
    memory_gb : float
        Memory for accumulation, all threads together. Past it, sorted runs
        are spilled to temporary files next to the output and merged at the
        end, so any corpus fits; temporary files are removed on success,
        error and Ctrl-C.
    threads : int
        0 = all cores. The result does not depend on it (up to float
        summation order).
    path : path, optional
        Directory to write the result to (atomically). By default a temporary
        directory, removed when the object is garbage-collected; keep it with
        :meth:`Cooccurrence.save`.
    progress : bool
        Show a progress bar over the corpus tokens.
    overwrite : bool
        With `path`: replace a complete co-occurrence directory there
        (atomically); anything else at `path` raises ``FileExistsError``
        before counting starts, and is left untouched.
    """
    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a densevec.Corpus, got {type(corpus).__name__}")
    window = _check_int("window", window, 1, INT32_MAX)
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be 'harmonic' or 'uniform', got {weighting!r}")
    budget = _budget_bytes(memory_gb)
    _check_int("threads", threads, 0, MAX_THREADS)
    n_threads = resolve_threads(threads)
    if corpus.n_tokens == 0:
        raise ValueError("the corpus is empty: no in-vocabulary tokens to count")

    finalize_parent = None
    if path is None:
        parent = _fs.temp_dir("cooc")
        target = parent / "cooc"
        finalize_parent = parent
    else:
        target = Path(path)
    try:
        with _fs.staged_dir(target, "cooccurrence", overwrite=overwrite) as tmp:
            spill = tmp / "spill"
            spill.mkdir()
            t0 = time.perf_counter()
            with ByteProgress(corpus.n_tokens, "co-occurrence", enabled=progress,
                              unit="word") as bar:
                st = _core.count_cooccurrence(
                    ids=corpus.ids, offsets=corpus.offsets, vocab_size=len(corpus.vocab),
                    window=window, symmetric=bool(symmetric), harmonic=weighting == "harmonic",
                    memory_bytes=budget, threads=n_threads, tmp_dir=str(spill),
                    out_path=str(tmp / "records.bin"), progress=bar.callback,
                )
            seconds = time.perf_counter() - t0
            _fs.remove_scratch(spill, tmp)
            _write_vocab(tmp / "vocab.txt", corpus.vocab)
            meta = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "densevec_version": _core.__version__,
                "vocab_size": len(corpus.vocab),
                "nnz": int(st["nnz"]),
                "stored": int(st["stored"]),
                "upper": bool(symmetric),
                "window": window,
                "symmetric": bool(symmetric),
                "weighting": weighting,
                "corpus_fingerprint": corpus.fingerprint,
                "vocab_sha256": _fs.sha256_file(tmp / "vocab.txt"),
                "memory_gb": float(memory_gb),
                "stats": {k: (float(v) if k.endswith("seconds") else int(v))
                          for k, v in st.items()} | {"seconds": seconds, "threads": n_threads},
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    except BaseException:
        if finalize_parent is not None:
            _fs.remove_temp_dir(finalize_parent)
        raise
    result = Cooccurrence(target, _vocab=corpus.vocab, validate=False)
    if finalize_parent is not None:
        result._finalizer = weakref.finalize(result, _fs.remove_temp_dir, str(finalize_parent))
    return result


def _check_complete(path: Path) -> None:
    """What :mod:`densevec._fs` asks before replacing `path`: every file, with the sizes meta.json gives."""
    meta = _fs.read_meta(path / "meta.json", FORMAT, (FORMAT_VERSION,), "a densevec co-occurrence matrix")
    _fs.check_regular_file(path / "vocab.txt", "vocab.txt")
    stored = meta.get("stored")
    size = _fs.check_regular_file(path / "records.bin", "records.bin").st_size
    if type(stored) is not int or size != stored * RECORD_DTYPE.itemsize:
        raise ValueError(f"{path / 'records.bin'}: size does not match meta.json")


_fs.register_kind("cooccurrence", FORMAT, _check_complete)
def _scratch_records(n: int) -> tuple[np.memmap, str]:
    """A writable memory map of ``n`` training records in a new private
    directory under the user's temporary directory (``TMPDIR``): returns
    (array, directory). The file's blocks are reserved before it is mapped,
    so that a full disk is an OSError naming the file here rather than a
    SIGBUS when a write through the map finds no room; on any error the
    directory is removed."""
    tmpdir = str(_fs.temp_dir("glove"))
    path = os.path.join(tmpdir, "train.bin")
    nbytes = n * _TRAIN_DTYPE.itemsize
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _reserve(fd, nbytes)
        except OSError as e:
            raise OSError(e.errno, f"cannot reserve {nbytes} bytes for GloVe's shuffled training "
                          f"records ({e.strerror}; point TMPDIR at a filesystem with room, or "
                          "raise memory_gb to keep them in memory)", path) from None
        finally:
            os.close(fd)
        return np.memmap(path, dtype=_TRAIN_DTYPE, mode="r+", shape=(n,)), tmpdir
    except BaseException:
        _fs.remove_temp_dir(tmpdir)
        raise


def _reserve(fd: int, nbytes: int) -> None:
    """Allocates ``nbytes`` of disk to the empty file ``fd`` (OSError when it
    does not fit): posix_fallocate, else writing zeros."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, nbytes)
            return
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
    zeros = bytes(1 << 20)
    done = 0
    while done < nbytes:
        done += os.write(fd, zeros[:min(len(zeros), nbytes - done)])


Callback = Callable[["GloVe", dict], Any]
_OUTPUTS = ("sum", "word", "context", "concat")


class GloVe(Trainer):
    """GloVe trainer (see the module docstring for the exact semantics).

    Parameters
    ----------
    dim : int
        Vector dimensionality.
    x_max, alpha : float
        Weighting function ``f(x) = min(1, (x / x_max)^alpha)``.
    learning_rate : float
        AdaGrad's initial step (Stanford's ``eta``).
    epochs : int
        Passes over the co-occurrence records.
    window, symmetric, weighting, memory_gb
        Counting parameters, used when :meth:`fit` is given a corpus.
        ``memory_gb`` also bounds the shuffled training copy of the records
        (beyond it the copy lives in a temporary file under ``TMPDIR``, whose
        disk space is reserved first: a full disk raises OSError naming it).
    min_count : int
        Used only when :meth:`fit` is given text rather than a Corpus.
    output : {"sum", "word", "context", "concat"}
        Returned vectors: word + context (GloVe's ``-model 2``, default), the
        word vectors, the context vectors, or both side by side.
    threads : int
        0 = all cores. More than one thread is Hogwild (racy by design).
    seed : int
        Seeds initialisation, the shuffle and the block order.

    The trained state (word and context vectors with their AdaGrad
    accumulators, biases) is ``self.state``; :meth:`save` / :meth:`load` keep
    it with the hyperparameters.
    """

    algorithm = "glove"
    _display_name = "GloVe"
    _unit = "rec"

    def __init__(
        self,
        dim: int = 100,
        x_max: float = 100.0,
        alpha: float = 0.75,
        learning_rate: float = 0.05,
        epochs: int = 15,
        window: int = 10,
        symmetric: bool = True,
        weighting: Literal["harmonic", "uniform"] = "harmonic",
        memory_gb: float = 4.0,
        min_count: int = 5,
        output: Literal["sum", "word", "context", "concat"] = "sum",
        threads: int = 0,
        seed: int = 1,
    ):
        check_hyperparameter_not_data("GloVe", dim)
        super().__init__()
        self.dim = _check_int("dim", dim, 1, INT32_MAX)
        self.x_max = _check_positive("x_max", x_max)
        self.alpha = _check_positive("alpha", alpha, allow_zero=True)
        self.learning_rate = _check_positive("learning_rate", learning_rate, maximum=FLOAT32_MAX)
        self.epochs = _check_int("epochs", epochs, 1)
        self.window = _check_int("window", window, 1, INT32_MAX)
        self.symmetric = bool(symmetric)
        if weighting not in _WEIGHTINGS:
            raise ValueError(f"weighting must be 'harmonic' or 'uniform', got {weighting!r}")
        self.weighting = weighting
        _budget_bytes(memory_gb)
        self.memory_gb = float(memory_gb)
        self.min_count = _check_int("min_count", min_count, 1, INT64_MAX, clamp=True)
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(_OUTPUTS)}, got {output!r}")
        self.output = output
        self.threads = _check_int("threads", threads, 0, MAX_THREADS)
        self.seed = _check_int("seed", seed, 0, UINT64_MAX)
        self.cooccurrence_: Optional[Cooccurrence] = None

    # ---------------------------------------------------------------- results
    def _vectors(self, name: str) -> Optional[np.ndarray]:
        if self.state is None:
            return None
        return np.ascontiguousarray(self.state.arrays[name][:, : self.dim])

    @property
    def word_vectors_(self) -> Optional[np.ndarray]:
        """Word vectors, float32 ``(n, dim)`` (a copy)."""
        return self._vectors("word")

    @property
    def context_vectors_(self) -> Optional[np.ndarray]:
        """Context vectors, float32 ``(n, dim)`` (a copy)."""
        return self._vectors("context")

    @property
    def word_biases_(self) -> Optional[np.ndarray]:
        return None if self.state is None else self.state.arrays["word_bias"][:, 0].astype(np.float32)

    @property
    def context_biases_(self) -> Optional[np.ndarray]:
        return None if self.state is None else self.state.arrays["context_bias"][:, 0].astype(np.float32)

    def _as_cooccurrence(self, data: Any, progress: bool) -> Cooccurrence:
        if isinstance(data, Cooccurrence):
            return data
        check_training_data("GloVe", data, "a Cooccurrence, a Corpus, a path to a text file or an iterable "
                            "of sentences (each a list of str or a str)")
        corpus = as_corpus(data, self.min_count, self.threads)
        return cooccurrence(corpus, window=self.window, symmetric=self.symmetric,
                            weighting=self.weighting, memory_gb=self.memory_gb,
                            threads=self.threads, progress=progress)

    def fit(
        self,
        data: Union[Cooccurrence, Corpus, PathLike, Iterable[Union[str, Sequence[str]]]],
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
    ) -> Embeddings:
        """Train and return the vectors (see ``output``) as :class:`Embeddings`.

        Parameters
        ----------
        data : Cooccurrence, Corpus, path, or iterable of sentences
            Anything but a :class:`Cooccurrence` is counted first with this
            model's ``window``, ``symmetric``, ``weighting`` and ``memory_gb``
            (kept as ``self.cooccurrence_``).
        progress : bool
            Show progress bars (counting, then training records).
        callbacks : sequence of callables
            Each is called as ``cb(model, report)`` after every epoch, where
            ``report`` is the epoch's entry of :attr:`history` (``cost``: mean
            weighted squared error per record, ``seconds``,
            ``ns_per_record``).

        Raises
        ------
        FloatingPointError
            When training diverges (a non-finite error: the learning rate is
            too high); no vectors are returned.

        Ctrl-C stops the workers within a fraction of a second; the vectors
        trained so far are returned with a ``RuntimeWarning``.
        """
        cooc = self._as_cooccurrence(data, progress)
        self.cooccurrence_ = cooc
        if cooc.nnz == 0:
            raise ValueError("the co-occurrence matrix is empty: nothing to train on "
                             "(sentences of a single in-vocabulary word?)")
        self._init_state(cooc)
        return self.train(cooc, progress=progress, callbacks=callbacks)

    def _init_state(self, cooc: Cooccurrence) -> None:
        n_words, dim = len(cooc.vocab), self.dim
        ld = (dim + 15) // 16 * 16
        rng = np.random.default_rng(self.seed)

        def init_block() -> np.ndarray:
            # per word: the vector (ld values, zero past dim), then its
            # AdaGrad accumulators (ld values, starting at 1)
            block = np.zeros((n_words, 2 * ld), dtype=np.float32)
            block[:, :dim] = uniform_rows(rng, (n_words, dim), dim)
            block[:, ld:] = 1.0
            return block

        def init_bias() -> np.ndarray:
            b = np.ones((n_words, 2), dtype=np.float64)  # [bias, accumulator]
            b[:, 0] = uniform_rows(rng, n_words, dim)
            return b

        word, ctx = init_block(), init_block()
        arrays = {"word": word, "context": ctx, "word_bias": init_bias(), "context_bias": init_bias()}
        self.state = ModelState(arrays, cooc.vocab.index_to_word, cooc.vocab.counts,
                                {"corpus_fingerprints": [cooc.corpus_fingerprint]})
        self.history = []

    def train(self, cooc: Cooccurrence, epochs: Optional[int] = None, progress: bool = True,
              callbacks: Sequence[Callback] = ()) -> Embeddings:
        """Train (further) from the current state on the same counts.

        ``epochs`` defaults to resuming an interrupted run where it stopped,
        else ``self.epochs``. AdaGrad's accumulators carry over, so continued
        training takes the small steps a longer run would have taken.
        """
        state = self._require_state("train")
        if not isinstance(cooc, Cooccurrence):
            raise TypeError(f"GloVe.train expects a Cooccurrence, got {type(cooc).__name__}")
        if cooc.corpus_fingerprint not in state.info.get("corpus_fingerprints", []) \
                or len(cooc.vocab) != len(state):
            raise ValueError("GloVe.train: these counts are not the ones the model was built on "
                             f"(corpus {cooc.corpus_fingerprint})")
        first, planned = self._schedule(epochs)
        for name in ("word", "context", "word_bias", "context_bias"):
            state.writable(name)
        threads = resolve_threads(self.threads)
        records, tiles, cleanup = self._training_records(cooc, threads)
        try:
            interrupted = self._train_epochs(records, tiles, first, planned, threads, progress, callbacks)
        finally:
            del records
            cleanup()
        wv, cv = self.word_vectors_, self.context_vectors_
        if self.output == "sum":
            vectors = wv + cv
        elif self.output == "word":
            vectors = wv
        elif self.output == "context":
            vectors = cv
        else:
            vectors = np.hstack([wv, cv])
        meta = self._meta(interrupted, threads, cooccurrence={
            "window": cooc.window, "symmetric": cooc.symmetric,
            "weighting": cooc.weighting, "nnz": cooc.nnz})
        emb = Embeddings(np.ascontiguousarray(vectors, dtype=np.float32), cooc.vocab.index_to_word,
                         counts=cooc.vocab.counts, meta=meta)
        self.embeddings_ = emb
        return emb

    def _training_records(self, cooc: Cooccurrence,
                          threads: int) -> tuple[np.ndarray, np.ndarray, Callable[[], None]]:
        """The shuffled (row, col, log x, f(x)) copy of the records: in memory
        when it fits in ``memory_gb``, else in a temporary file under ``TMPDIR``."""
        n = cooc.nnz
        nbytes = n * _TRAIN_DTYPE.itemsize
        budget = _budget_bytes(self.memory_gb)
        tmpdir: Optional[str] = None
        if nbytes <= budget:
            out = np.empty(n, dtype=_TRAIN_DTYPE)
        else:
            out, tmpdir = _scratch_records(n)

        def cleanup() -> None:
            if tmpdir is not None:
                _fs.remove_temp_dir(tmpdir)

        try:
            # Buckets of at most ~64 MiB (or a quarter of the budget) are
            # shuffled in memory, each by one thread.
            bucket = max(1 << 12, min(64 << 20, budget // 4) // _TRAIN_DTYPE.itemsize)
            tiles = _core.glove_prepare(records=cooc.records, upper=cooc.upper,
                                        vocab_size=len(cooc.vocab), x_max=self.x_max,
                                        alpha=self.alpha, seed=self.seed, tile_rows=_TILE_ROWS,
                                        bucket_records=bucket, threads=threads, out=out)
        except BaseException:
            del out
            cleanup()
            raise
        return out, tiles, cleanup

    def _train_epochs(self, records: np.ndarray, tiles: np.ndarray, first: int, planned: int,
                      threads: int, progress: bool, callbacks: Sequence[Callback]) -> bool:
        """Runs epochs ``first .. planned - 1``; returns True when interrupted by Ctrl-C."""
        state = self.state
        assert state is not None
        a = state.arrays
        n = records.shape[0]
        max_chunk = max(4096, n // (threads * 64))  # keeps both threads busy to the end
        first_global = int(state.info.get("epochs_trained", 0))

        def step(epoch: int, cb: Any) -> dict:
            st = _core.glove_epoch(word=a["word"], ctx=a["context"], word_bias=a["word_bias"],
                                   ctx_bias=a["context_bias"], records=records, tiles=tiles,
                                   eta=self.learning_rate, seed=self.seed,
                                   epoch=first_global + epoch - first,
                                   max_chunk=max_chunk, threads=threads, progress=cb)
            if st["diverged"] or not math.isfinite(st["cost"]):
                raise FloatingPointError(
                    f"GloVe diverged in epoch {epoch + 1} (non-finite error): "
                    f"learning_rate={self.learning_rate} is too high for this data; "
                    "lower it (Stanford's default is 0.05)"
                )
            return {"units": st["records"], "cost": st["cost"] / max(st["records"], 1),
                    "records": st["records"]}

        return self._run_epochs(first, planned, n * (planned - first), "glove", progress,
                                callbacks, step)

    def _epoch_report(self, epoch: int, stats: dict, seconds: float) -> dict:
        return {"epoch": epoch + 1, "cost": stats["cost"], "records": stats["records"],
                "seconds": seconds, "ns_per_record": seconds * 1e9 / max(stats["records"], 1)}

    def _check_state(self, state: ModelState, path: Path) -> None:
        n, ld = len(state), (self.dim + 15) // 16 * 16
        want = {"word": ((n, 2 * ld), np.float32), "context": ((n, 2 * ld), np.float32),
                "word_bias": ((n, 2), np.float64), "context_bias": ((n, 2), np.float64)}
        for name, (shape, dtype) in want.items():
            arr = state.arrays.get(name)
            if arr is None or arr.shape != shape or arr.dtype != dtype:
                got = None if arr is None else (arr.shape, str(arr.dtype))
                raise ValueError(f"{path}: array {name!r} is {got}, expected {shape} {np.dtype(dtype)}")
