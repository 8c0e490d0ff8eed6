"""The training floor every model stands on.

:class:`Trainer` owns what every model repeats: hyperparameters
(``get_params`` / ``repr`` from the constructor's signature), the epoch loop
with its learning-rate schedule position, the progress bar, callbacks,
``history``, Ctrl-C (the vectors trained so far are kept, with a warning), the
metadata recorded in stores, and saving / loading the full trainable model.
A model supplies how to build its state and how to run one epoch.

:class:`ModelState` is what outlives ``fit``: named arrays (input vectors,
output vectors, row locks, ...), the vocabulary with its counts, and a small
JSON document (corpus fingerprints, epochs trained, schedule position).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from densevec import _core, _fs
from densevec._progress import ByteProgress
from densevec._space import new_space
from densevec._validate import check_int

Callback = Callable[[Any, dict], Any]

MODEL_FORMAT = "densevec-model"
MODEL_FORMAT_VERSION = 1


ALIGN = 64  # bytes: a cache line


def aligned_empty(shape: Any, dtype: Any = np.float32, zeros: bool = False) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a cache line.

    The training kernels read rows of the weight matrices at random; a row of
    a multiple of 64 bytes (dim 16, 32, ..., 128, 256 in float32) then spans
    exactly its own lines, where NumPy's allocation (16 bytes past a line)
    makes every such row touch one line more."""
    dt = np.dtype(dtype)
    shp = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    nbytes = int(np.prod(shp, dtype=np.int64)) * dt.itemsize
    buf = (np.zeros if zeros else np.empty)(nbytes + ALIGN, dtype=np.uint8)
    start = -buf.ctypes.data % ALIGN
    return buf[start:start + nbytes].view(dt).reshape(shp)


def aligned_zeros(shape: Any, dtype: Any = np.float32) -> np.ndarray:
    """:func:`aligned_empty`, zero-filled as ``np.zeros`` is (calloc: a large
    matrix's pages cost memory only once written, so the output matrix does
    not add to the peak while the input rows are drawn)."""
    return aligned_empty(shape, dtype, zeros=True)


def aligned_copy(arr: np.ndarray) -> np.ndarray:
    """A writable, C-contiguous, line-aligned copy of ``arr``."""
    out = aligned_empty(arr.shape, arr.dtype)
    np.copyto(out, arr)
    return out


def is_aligned(arr: np.ndarray) -> bool:
    return arr.ctypes.data % ALIGN == 0 or arr.size == 0


def uniform_rows(rng: np.random.Generator, shape: Any, dim: int, span: float = 1.0) -> np.ndarray:
    """Float32 uniform in ``[-span/(2*dim), span/(2*dim))``, drawn from ``rng``,
    in a line-aligned array (:func:`aligned_empty`).

    ``span=1`` is word2vec.c's (and Stanford GloVe's) initialisation, ``span=2``
    gensim 4's (uniform in ``[-1/dim, 1/dim)``); the doubled rows are exactly
    twice the others, drawn from the same numbers."""
    x = rng.random(shape, dtype=np.float32) - np.float32(0.5)
    if span != 1.0:
        x *= np.float32(span)
    return np.divide(x, np.float32(dim), out=aligned_empty(x.shape))


class ModelState:
    """The trainable state of a model.

    Parameters
    ----------
    arrays : dict of str to numpy.ndarray
        Named arrays; row ``i`` of a per-word array belongs to ``words[i]``.
    words : list of str
        The model's vocabulary, in row order.
    counts : numpy.ndarray of uint64, shape (len(words),)
        Corpus counts of the words (summed over every corpus trained on).
    info : dict
        JSON-serialisable: ``corpus_fingerprints`` (every corpus trained on),
        ``epochs_trained``, ``schedule`` (``{"epoch": done, "epochs": planned}``
        of the current learning-rate schedule) and whatever a model adds.
    """

    def __init__(self, arrays: dict[str, np.ndarray], words: list[str], counts: np.ndarray,
                 info: Optional[dict] = None):
        self.arrays = dict(arrays)
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.uint64)
        self.info: dict = {"corpus_fingerprints": [], "epochs_trained": 0,
                           "schedule": {"epoch": 0, "epochs": 0}}
        self.info.update(info or {})
        self._index: Optional[dict[str, int]] = None

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """word -> row."""
        if self._index is None or len(self._index) != len(self.words):
            self._index = {w: i for i, w in enumerate(self.words)}
        return self._index

    def writable(self, name: str) -> np.ndarray:
        """Array `name`, replaced first by a private C-contiguous, line-aligned
        copy when it is read-only, strided or not on a 64-byte boundary (a
        loaded model's mapping is never written; see :func:`aligned_empty`)."""
        arr = self.arrays[name]
        if not arr.flags.writeable or not arr.flags.c_contiguous or not is_aligned(arr):
            arr = self.arrays[name] = aligned_copy(arr)
        return arr

    @property
    def fingerprint(self) -> str:
        """Identity of the embedding space: the corpus trained on, or a hash of
        all of them when training went on over several corpora."""
        fps = self.info.get("corpus_fingerprints", [])
        if len(fps) == 1:
            return fps[0]
        return hashlib.sha256("\n".join(fps).encode()).hexdigest() if fps else ""

    # ------------------------------------------------------------ save / load
    def write(self, directory: Path, doc: dict) -> None:
        """Writes the state into an empty directory (the caller installs it, see :func:`densevec._fs.staged_dir`)."""
        files = {}
        for name, arr in self.arrays.items():
            fname = f"{name}.npy"
            with open(directory / fname, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
            files[name] = {"file": fname, "shape": list(arr.shape), "dtype": np.dtype(arr.dtype).str}
        _fs.write_vocab_txt(directory / "vocab.txt", self.words, self.counts.tolist())
        doc = dict(doc, format=MODEL_FORMAT, format_version=MODEL_FORMAT_VERSION,
                   arrays=files, vocab_size=len(self.words), state=self.info,
                   vocab_sha256=_fs.sha256_file(directory / "vocab.txt"))
        text = json.dumps(doc, indent=1, allow_nan=False)
        if len(text.encode("utf-8")) > _fs.META_LIMIT:
            raise ValueError(f"a model's meta.json would exceed {_fs.META_LIMIT >> 20} MiB (history or "
                             "parameters too large)")
        (directory / "meta.json").write_text(text, encoding="utf-8")

    @classmethod
    def read(cls, directory: Path, algorithm: str, mmap: bool) -> tuple["ModelState", dict]:
        """Reads and validates a model directory; returns (state, meta)."""
        meta_path = directory / "meta.json"
        if not directory.is_dir():
            raise FileNotFoundError(f"{directory}: no such model directory")
        meta = _fs.read_meta(meta_path, MODEL_FORMAT, (MODEL_FORMAT_VERSION,), "a densevec model directory")
        if meta.get("algorithm") != algorithm:
            raise ValueError(f"{meta_path}: a {meta.get('algorithm')!r} model, not {algorithm!r}")
        try:
            n = int(meta["vocab_size"])
            files = dict(meta["arrays"])
            info = dict(meta["state"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{meta_path}: missing vocab_size, arrays or state") from None
        words, counts = _fs.read_vocab_txt(directory / "vocab.txt", n, sha256=str(meta.get("vocab_sha256")))
        arrays = {}
        for name, spec in files.items():
            try:
                path = directory / Path(spec["file"]).name
                shape, dtype = tuple(int(x) for x in spec["shape"]), np.dtype(spec["dtype"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{meta_path}: bad entry for array {name!r}") from None
            try:
                _fs.check_regular_file(path, "a .npy file")
                arr = np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise ValueError(f"{path}: unreadable array: {e}") from None
            if arr.shape != shape or arr.dtype != dtype:
                raise ValueError(f"{path}: shape {arr.shape} {arr.dtype}, meta.json says {shape} {dtype}")
            if not mmap:
                arr = np.ascontiguousarray(arr)
            arrays[name] = arr
        state = cls(arrays, words, counts.astype(np.uint64), info)
        return state, meta


def _check_complete_model(path: Path) -> None:
    """What :mod:`densevec._fs` asks before replacing `path`: vocab.txt and every array meta.json
    lists, each a regular ``.npy`` file whose size matches its own header."""
    meta = _fs.read_meta(path / "meta.json", MODEL_FORMAT, (MODEL_FORMAT_VERSION,), "a densevec model directory")
    _fs.check_regular_file(path / "vocab.txt", "vocab.txt")
    files = meta.get("arrays")
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{path / 'meta.json'}: no arrays listed")
    for spec in files.values():
        f = path / Path(str(spec.get("file") if isinstance(spec, dict) else "")).name
        with _fs.open_regular(f, "a .npy file") as fh:
            size = os.fstat(fh.fileno()).st_size
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(fh)
            if fh.tell() + dtype.itemsize * int(np.prod(shape)) != size:
                raise ValueError(f"{f}: size does not match its header (truncated)")


_fs.register_kind("model", MODEL_FORMAT, _check_complete_model)


class Trainer:
    """Base of every trainer (see the module docstring).

    Subclasses set ``algorithm``, ``_display_name`` and ``_unit``, build their
    state, and run epochs through :meth:`_run_epochs` with a ``step``; their
    constructor parameters are their hyperparameters, each stored as an
    attribute of the same name.
    """

    algorithm: ClassVar[str] = ""
    _display_name: ClassVar[str] = ""
    _unit: ClassVar[str] = "word"

    def __init__(self) -> None:
        self.history: list[dict] = []
        self.state: Optional[ModelState] = None
        self.embeddings_: Any = None

    # ------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self) -> dict:
        """Hyperparameters, as recorded in the trained embeddings' metadata."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------ epoch loop
    def _run_epochs(self, first: int, epochs: int, total: int, desc: str, progress: bool,
                    callbacks: Sequence[Callback], step: Callable[[int, Optional[Callable]], dict]) -> bool:
        """Runs epochs ``first .. epochs - 1`` of the current schedule.

        ``step(epoch, progress_callback)`` trains one epoch and returns its
        statistics, including ``units`` (words or records read), which
        :meth:`_epoch_report` turns into the ``history`` entry. Returns True when
        Ctrl-C interrupted training; the state keeps what was trained.
        """
        state = self.state
        assert state is not None
        done_before = 0
        epoch = first
        with ByteProgress(total, desc, enabled=progress, unit=self._unit) as bar:
            try:
                for epoch in range(first, epochs):
                    cb = None
                    if bar.callback is not None:
                        cb = lambda done, *extra, _b=done_before: bar.update(_b + done, *extra)  # noqa: E731
                    t0 = time.perf_counter()
                    report = step(epoch, cb)
                    seconds = time.perf_counter() - t0
                    done_before += report["units"]
                    report = self._epoch_report(epoch, report, seconds)
                    state.info["epochs_trained"] = int(state.info.get("epochs_trained", 0)) + 1
                    state.info["schedule"] = {"epoch": epoch + 1, "epochs": epochs}
                    self.history.append(report)
                    for callback in callbacks:
                        callback(self, report)
            except KeyboardInterrupt:
                warnings.warn(
                    f"{self._display_name} training interrupted during epoch {epoch + 1}/{epochs}; "
                    "returning the vectors trained so far",
                    RuntimeWarning,
                    stacklevel=4,
                )
                return True
        return False

    def _schedule(self, epochs: Optional[int]) -> tuple[int, int]:
        """(first epoch, planned epochs) of a ``train`` call: ``epochs`` under a
        new schedule, or, when None, the rest of an interrupted schedule, else
        ``self.epochs``."""
        state = self._require_state("train")
        schedule = state.info.get("schedule", {"epoch": 0, "epochs": 0})
        if epochs is None and 0 < schedule["epoch"] < schedule["epochs"]:
            return int(schedule["epoch"]), int(schedule["epochs"])
        if epochs is None:
            return 0, int(getattr(self, "epochs"))
        return 0, check_int("epochs", epochs, 1)

    def _admit_corpus(self, fingerprint: str, allow_mixed: bool, what: str) -> None:
        """Records a corpus the model trains on; one it was not built on makes
        a new embedding space and needs ``allow_mixed``."""
        fps = self._require_state(what).info.setdefault("corpus_fingerprints", [])
        if fingerprint in fps:
            return
        if not allow_mixed:
            raise ValueError(
                f"{what}: the model was built on corpus {', '.join(fps) or '?'}, this corpus is "
                f"{fingerprint}; training on both makes a new embedding space: pass "
                "allow_mixed=True to do so"
                + (" (after build_vocab(corpus, update=True, allow_mixed=True) for its new words)"
                   if what == "train" else "")
            )
        fps.append(fingerprint)

    def _epoch_report(self, epoch: int, stats: dict, seconds: float) -> dict:
        """The ``history`` entry of an epoch from what ``step`` returned."""
        report = {"epoch": epoch + 1, **stats, "seconds": seconds}
        report.pop("units", None)
        return report

    def _meta(self, interrupted: bool, threads: int, **extra: Any) -> dict:
        """The metadata of the embeddings this training call returns.

        ``meta["space"]`` identifies the embedding space (see
        :mod:`densevec._space`): a fresh random id per call, so two runs are
        two spaces even with the same corpus and seed; when the call went on
        from weights an earlier call trained (``train`` after ``fit``, after
        ``build_vocab(update=True)`` or after :meth:`load`), the new space's
        ``parent`` is that earlier space (``state.info["space_id"]``, saved
        with the model) and its ``origin`` is ``"continued training"``.
        """
        state = self.state
        assert state is not None
        # every training call makes a new embedding space; a call that went on
        # from trained weights links it to the space it started from
        parent = state.info.get("space_id")
        space = new_space("continued training" if parent else "training", parent)
        state.info["space_id"] = space["id"]
        meta = {
            "algorithm": self.algorithm,
            "params": self.get_params(),
            "corpus_fingerprint": state.fingerprint,
            "space": space,
        }
        meta.update(extra)
        meta.update({
            "densevec_version": _core.__version__,
            "epochs_completed": len(self.history),
            "interrupted": interrupted,
            "hogwild": threads > 1,
            "normalized": False,
        })
        if len(state.info.get("corpus_fingerprints", [])) > 1:
            meta["corpus_fingerprints"] = list(state.info["corpus_fingerprints"])
        return meta

    # ------------------------------------------------------------ save / load
    def _require_state(self, what: str) -> ModelState:
        if self.state is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: the model has no state yet; "
                               "call fit() or build_vocab() first")
        return self.state

    def save(self, path: Any, overwrite: bool = False) -> Path:
        """Save the full trainable model (vectors, output weights, vocabulary,
        schedule position, hyperparameters) to directory ``path``, atomically.

        Training can go on after :meth:`load`, in another process. Arrays are
        ``.npy`` files, memory-mappable. An existing path is replaced only when
        it is a complete densevec model directory and ``overwrite=True``;
        anything else raises ``FileExistsError`` and is left untouched.
        """
        state = self._require_state("save")
        doc = {"algorithm": self.algorithm, "params": self.get_params(),
               "history": self.history, "densevec_version": _core.__version__}
        target = Path(path)
        with _fs.staged_dir(target, kind="model", overwrite=overwrite) as tmp:
            state.write(tmp, doc)
        return target

    @classmethod
    def load(cls, path: Any, mmap: bool = True):
        """Load a model saved by :meth:`save` (validated); ``mmap`` maps the
        arrays copy-on-write, so training never writes to the files."""
        state, meta = ModelState.read(Path(path), cls.algorithm, mmap)
        params = meta.get("params")
        if not isinstance(params, dict):
            raise ValueError(f"{Path(path) / 'meta.json'}: missing params")
        known = set(cls._param_names())
        try:
            model = cls(**{k: v for k, v in params.items() if k in known})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{Path(path) / 'meta.json'}: bad params: {e}") from None
        model._check_state(state, Path(path))
        model.state = state
        history = meta.get("history")
        model.history = list(history) if isinstance(history, list) else []
        model._after_load()
        return model

    def _check_state(self, state: ModelState, path: Path) -> None:
        """Checks a loaded state's arrays against the hyperparameters."""

    def _after_load(self) -> None:
        """Rebuilds what is derived from the state (samplers, ...)."""
