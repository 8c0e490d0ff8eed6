"""Vocabulary and corpus encoding.

A :class:`Corpus` is text turned, once, into a vocabulary and a compact stream of
``uint32`` word ids with sentence boundaries, kept on disk and memory-mapped, so
that every epoch and every model reads ids instead of re-tokenising text.

Tokenisation (done in C++, with the GIL released):

* a line is a sentence; tokens are separated by ASCII whitespace (space, ``\\t``,
  ``\\v``, ``\\f``, ``\\r``) and by NUL bytes; ``\\r\\n`` line ends therefore work;
* a token whose bytes are not valid UTF-8 is **skipped** (and counted in
  ``corpus.stats["invalid_utf8"]``) -- never replaced, so every vocabulary word
  is exactly the text of the input;
* a token longer than ``max_token_bytes`` bytes (default 1000) is skipped and
  counted in ``stats["too_long"]``; this is what happens to a "line" of 100 MB
  without any whitespace;
* a line with more than ``max_sentence_length`` in-vocabulary tokens (default
  10,000, like gensim's limit) is cut into sentences of that many tokens, as
  word2vec's MAX_SENTENCE_LENGTH does; training windows never cross a sentence
  boundary;
* out-of-vocabulary tokens (pruned by ``min_count``/``max_vocab``) are removed
  before windows are formed, as in word2vec and gensim.

The vocabulary is sorted by descending count, ties broken by the words' UTF-8
bytes, so it is the same whatever the number of threads.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from densevec import _core, _fs
from densevec._fs import PathLike
from densevec._progress import ByteProgress
from densevec._validate import INT64_MAX, MAX_THREADS, check_float, check_int

FORMAT = "densevec-corpus"
FORMAT_VERSION = 1
_RANGE_BYTES = 4 << 20


class CorpusError(ValueError):
    """An encoded corpus directory is missing, truncated, corrupt or foreign."""


def default_cache_dir() -> Path:
    """Where encoded corpora are cached: ``$DENSEVEC_CACHE`` or ``~/.cache/densevec``."""
    env = os.environ.get("DENSEVEC_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "densevec"


def resolve_threads(threads: int) -> int:
    """``threads <= 0`` means all cores available to this process (ValueError
    past :data:`densevec._validate.MAX_THREADS`)."""
    if threads is not None:
        threads = check_int("threads", threads, -MAX_THREADS, MAX_THREADS)
    if threads is None or threads <= 0:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    return int(threads)


class Vocab:
    """Words sorted by descending count.

    Parameters
    ----------
    words : sequence of str
        The words, most frequent first.
    counts : array_like of int, shape (len(words),)
        Occurrences of each word in the corpus.
    raw_tokens : int, optional
        All valid tokens of the corpus, including those pruned from the
        vocabulary. Defaults to ``counts.sum()``.
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int], raw_tokens: int | None = None):
        self.index_to_word: list[str] = list(words)
        self.counts: np.ndarray = np.asarray(counts, dtype=np.uint64)
        if self.counts.shape != (len(self.index_to_word),):
            raise ValueError(
                f"counts has shape {self.counts.shape}, expected ({len(self.index_to_word)},)"
            )
        self.word_to_index: dict[str, int] = {w: i for i, w in enumerate(self.index_to_word)}
        if len(self.word_to_index) != len(self.index_to_word):
            raise ValueError("duplicate words in vocabulary")
        self.total_tokens: int = int(self.counts.sum())
        self.raw_tokens: int = self.total_tokens if raw_tokens is None else int(raw_tokens)

    def __len__(self) -> int:
        return len(self.index_to_word)

    def __contains__(self, word: object) -> bool:
        return word in self.word_to_index

    def __getitem__(self, word: str) -> int:
        """Index of ``word``; raises ``KeyError`` naming it when absent."""
        try:
            return self.word_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} not in vocabulary") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.index_to_word)

    def word(self, index: int) -> str:
        """The word with the given index."""
        return self.index_to_word[index]

    def count(self, word: str) -> int:
        """Occurrences of ``word`` in the corpus."""
        return int(self.counts[self[word]])

    def keep_probabilities(self, sample: float) -> np.ndarray:
        """Probability of keeping each word under frequent-word subsampling.

        word2vec's formula (also gensim's): with ``t = sample * total_tokens``
        and ``c`` a word's count, ``keep = (sqrt(c / t) + 1) * t / c``, capped at
        1. ``sample = 0`` keeps everything. Returns float32, shape (len(self),).
        """
        if sample < 0:
            raise ValueError(f"sample must be >= 0, got {sample}")
        if sample == 0 or len(self) == 0:
            return np.ones(len(self), dtype=np.float32)
        t = sample * self.total_tokens
        c = self.counts.astype(np.float64)
        keep = (np.sqrt(c / t) + 1.0) * t / c
        return np.minimum(keep, 1.0).astype(np.float32)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words, {self.total_tokens} tokens)"


def _write_vocab(path: Path, vocab: Vocab) -> None:
    _fs.write_vocab_txt(path, vocab.index_to_word, vocab.counts.tolist())


_check_int = check_int  # the validation helpers live in densevec._validate
_check_float = check_float


def as_corpus(data: Any, min_count: int, threads: int) -> "Corpus":
    """A Corpus as the trainers take it: a Corpus as is, a path through
    :meth:`Corpus.from_file`, anything else through :meth:`Corpus.from_sentences`."""
    if isinstance(data, Corpus):
        return data
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return Corpus.from_file(data, min_count=min_count, threads=threads)
    return Corpus.from_sentences(data, min_count=min_count, threads=threads)


def _copy_artefact(src: Path, target: Path, kind: str, overwrite: bool) -> Path:
    """Copy the artefact directory `src` to `target` atomically (see :func:`densevec._fs.staged_dir`);
    copying a directory onto itself does nothing."""
    if os.path.lexists(target) and target.resolve() == src.resolve():
        return target
    with _fs.staged_dir(target, kind, overwrite=overwrite) as tmp:
        _fs.copy_tree_into(src, tmp)
    return target


def sentence_lines(sentences: Iterable[Any], errors: str = "strict") -> Iterator[bytes]:
    """Each sentence (a string, or a sequence of token strings joined by spaces)
    as one UTF-8 line (``errors`` as in ``str.encode``); a newline inside a
    sentence becomes a space. TypeError / ValueError name the sentence."""
    for i, sent in enumerate(sentences):
        if isinstance(sent, str):
            line = sent
        elif isinstance(sent, (bytes, bytearray)):
            raise TypeError(f"sentence {i} is bytes; pass str or a list of str")
        else:
            try:
                line = " ".join(sent)
            except TypeError:
                raise TypeError(f"sentence {i} must be a string or a sequence of strings, "
                                f"got {type(sent).__name__}") from None
        try:
            yield line.replace("\n", " ").encode("utf-8", errors) + b"\n"
        except UnicodeEncodeError as e:
            raise ValueError(f"sentence {i} cannot be encoded as UTF-8: {e}") from None


def byte_chunks(pieces: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """``pieces`` joined into blocks of about ``size`` bytes (the last may be smaller); no empty block."""
    buf: list[bytes] = []
    n = 0
    for piece in pieces:
        buf.append(piece)
        n += len(piece)
        if n >= size:
            yield b"".join(buf)
            buf, n = [], 0
    if buf:
        yield b"".join(buf)


def _int_array(name: str, value: Any) -> np.ndarray:
    """A 1-D integer array, or TypeError / ValueError naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    return arr.astype(np.int64, copy=False) if arr.size == 0 else arr


def _write_stream_dir(directory: Path, ids: np.ndarray, offsets: np.ndarray, vocab: "Vocab",
                      fingerprint: str, sources: list, params: dict) -> None:
    """Writes a corpus directory (ids, offsets, vocabulary, meta.json) from arrays."""
    np.ascontiguousarray(ids, dtype=np.uint32).tofile(directory / "ids.u32")
    np.ascontiguousarray(offsets, dtype=np.uint64).tofile(directory / "offsets.u64")
    _write_vocab_and_meta(directory, vocab, fingerprint, sources, params, int(ids.shape[0]),
                          int(offsets.shape[0]) - 1, {"raw_tokens": vocab.raw_tokens})


def _write_vocab_and_meta(directory: Path, vocab: "Vocab", fingerprint: str, sources: list, params: dict,
                          n_tokens: int, n_sentences: int, stats: dict) -> None:
    """Writes ``vocab.txt`` and ``meta.json`` of a corpus directory whose id stream is written."""
    _write_vocab(directory / "vocab.txt", vocab)
    _write_meta(directory, len(vocab), vocab.raw_tokens, fingerprint, sources, params, n_tokens, n_sentences,
                stats)


def _write_meta(directory: Path, vocab_size: int, raw_tokens: int, fingerprint: str, sources: list,
                params: dict, n_tokens: int, n_sentences: int, stats: dict) -> None:
    """Writes ``meta.json`` of a corpus directory whose id stream and ``vocab.txt`` are written."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "densevec_version": _core.__version__,
        "fingerprint": fingerprint,
        "sources": sources,
        "params": params,
        "n_tokens": n_tokens,
        "n_sentences": n_sentences,
        "vocab_size": vocab_size,
        "raw_tokens": raw_tokens,
        "vocab_sha256": _fs.sha256_file(directory / "vocab.txt"),
        "stats": stats,
    }
    (directory / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")


def _check_sources(paths: Sequence[PathLike]) -> list[str]:
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]  # type: ignore[list-item]
    out = []
    for p in paths:
        p = os.fspath(p)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
        if os.path.isdir(p):
            raise IsADirectoryError(f"{p}: is a directory, expected a text file")
        _fs.check_regular_file(p, "a text file")
        out.append(os.path.abspath(p))
    if not out:
        raise ValueError("no input files given")
    return out


def _source_identity(path: str) -> dict:
    """What ties a cache entry to a source file: a hash of its path, and its device, inode, size,
    modification and change times (any write changes the change time). No path is recorded."""
    st = os.stat(path)
    return {
        "path_sha256": hashlib.sha256(os.fsencode(path)).hexdigest(),
        "device": st.st_dev, "inode": st.st_ino, "size": st.st_size,
        "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
    }


def _cache_root(cache: Union[bool, PathLike]) -> Optional[Path]:
    """The directory of cached corpora, created private (0700); None (with a warning) when unusable."""
    root = default_cache_dir() / "corpora" if cache is True else Path(cache)
    try:
        missing = []
        p = root
        while not os.path.lexists(p) and p != p.parent:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(d, 0o700)
        st = os.stat(root)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(f"{root}: not a directory")
        if cache is True and hasattr(os, "getuid") and st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(root, 0o700)  # densevec's own cache directory, from an older version: make it private
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"{root}: not writable")
        _fs.clean_stale(root / "entry", every_name=True)  # what killed encodes left in the cache
    except OSError as e:
        warnings.warn(f"cannot use the corpus cache {root} ({e}); encoding without the cache",
                      RuntimeWarning, stacklevel=3)
        return None
    return root


_ENTRY_FILES = ("meta.json", "vocab.txt", "ids.u32", "offsets.u64")


def _private_entry(path: Path) -> bool:
    """A cache entry may be used: a real directory and files owned by the current user, which nobody
    else can write. Entries of older versions (readable by others) are made private (0700/0600)."""
    if not hasattr(os, "getuid"):
        return True
    uid = os.getuid()
    try:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
            return False
        for name in _ENTRY_FILES:
            fst = os.lstat(path / name)
            if not stat.S_ISREG(fst.st_mode) or fst.st_uid != uid or fst.st_mode & 0o022:
                return False
        if st.st_mode & 0o077:
            for name in _ENTRY_FILES:
                os.chmod(path / name, 0o600)
            os.chmod(path, 0o700)
    except OSError:
        return False
    return True


def _entry_fingerprint(path: Path) -> Optional[str]:
    try:
        return _fs.read_meta(path / "meta.json", FORMAT, (FORMAT_VERSION,), "an encoded corpus").get("fingerprint")
    except ValueError:
        return None


def _check_complete(path: Path) -> None:
    """What :mod:`densevec._fs` asks before replacing `path`: every file, with the sizes meta.json gives."""
    meta = _fs.read_meta(path / "meta.json", FORMAT, (FORMAT_VERSION,), "an encoded corpus")
    _fs.check_regular_file(path / "vocab.txt", "vocab.txt")
    n_sentences = meta.get("n_sentences")
    for name, itemsize, count in (("ids.u32", 4, meta.get("n_tokens")),
                                  ("offsets.u64", 8, n_sentences + 1 if type(n_sentences) is int else None)):
        if type(count) is not int or _fs.check_regular_file(path / name, name).st_size != itemsize * count:
            raise ValueError(f"{path / name}: size does not match meta.json")


_fs.register_kind("corpus", FORMAT, _check_complete)


def _phrases_fingerprint(phrases: Any) -> str:
    from densevec.phrases import Phrases

    if not isinstance(phrases, Phrases):
        raise TypeError(f"phrases must be a fitted densevec.Phrases, got {type(phrases).__name__}")
    return phrases.fingerprint


class Corpus:
    """A tokenised, counted and encoded corpus (see the module docstring).

    Build one with :meth:`from_file` or :meth:`from_sentences`; open a saved one
    with :meth:`load`.

    Attributes
    ----------
    vocab : Vocab
    ids : numpy.ndarray of uint32, shape (n_tokens,)
        Memory-mapped word ids of all sentences, concatenated.
    offsets : numpy.ndarray of uint64, shape (n_sentences + 1,)
        Sentence ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.
    fingerprint : str
        Identifies the input and parameters (recorded by trained models).
    stats : dict
        Counts from tokenisation: ``raw_tokens``, ``invalid_utf8``,
        ``too_long``, ``bytes`` ...
    from_cache : bool
        True when :meth:`from_file` found a valid cached encoding.
    """

    def __init__(self, directory: PathLike, _built: Vocab | None = None):
        self.path = Path(directory)
        meta_path = self.path / "meta.json"
        meta = _fs.read_meta(meta_path, FORMAT, (FORMAT_VERSION,), "an encoded corpus", CorpusError)
        try:
            n_tokens = int(meta["n_tokens"])
            n_sentences = int(meta["n_sentences"])
            vocab_size = int(meta["vocab_size"])
        except (KeyError, TypeError, ValueError):
            raise CorpusError(f"{meta_path}: missing sizes") from None
        self.meta = meta
        if _built is not None:  # just written by _build: no need to read it back
            self.vocab = _built
        else:
            self.vocab = self._load_vocab(self.path / "vocab.txt", meta, vocab_size)
        self.ids = self._map(self.path / "ids.u32", np.uint32, n_tokens)
        self.offsets = self._map(self.path / "offsets.u64", np.uint64, n_sentences + 1)
        if _built is None:
            try:  # read in blocks, so that opening a large corpus keeps little resident
                _core.validate_stream_files(str(self.path / "ids.u32"),
                                            str(self.path / "offsets.u64"), vocab_size)
            except (ValueError, OSError) as e:
                raise CorpusError(f"{self.path}: {e}") from None
        self.fingerprint: str = meta.get("fingerprint", "")
        self.stats: dict = dict(meta.get("stats", {}))
        self.from_cache = False
        self._finalizer: weakref.finalize | None = None

    @staticmethod
    def _load_vocab(path: Path, meta: dict, vocab_size: int) -> Vocab:
        words, counts = _fs.read_vocab_txt(path, vocab_size, CorpusError, sha256=str(meta.get("vocab_sha256")))
        return Vocab(words, counts.astype(np.uint64), raw_tokens=meta.get("raw_tokens"))

    @staticmethod
    def _map(path: Path, dtype: type, count: int) -> np.ndarray:
        want = count * np.dtype(dtype).itemsize
        try:
            size = _fs.check_regular_file(path, "a corpus data file", CorpusError).st_size
        except FileNotFoundError:
            raise CorpusError(f"{path}: missing") from None
        if size != want:
            raise CorpusError(f"{path}: {size} bytes, expected {want} (truncated or foreign)")
        if count == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=(count,))

    # ------------------------------------------------------------------ build
    @classmethod
    def from_file(
        cls,
        path_or_paths: PathLike | Sequence[PathLike],
        min_count: int = 5,
        max_vocab: int | None = None,
        *,
        max_sentence_length: int = 10_000,
        max_token_bytes: int = 1000,
        threads: int = 0,
        cache: bool | PathLike = True,
        progress: bool = False,
        phrases: Any = None,
    ) -> "Corpus":
        """Tokenise, count and encode one or more UTF-8 text files.

        Parameters
        ----------
        path_or_paths : path or sequence of paths
            Text files, one sentence per line. Several files are read as one
            corpus, in order; a file's end always ends a sentence.
        min_count : int
            Words seen fewer times are dropped from the vocabulary.
        max_vocab : int, optional
            Keep at most this many of the most frequent words (after
            ``min_count``; ties at the cut broken by byte order).
        max_sentence_length : int
            Lines with more in-vocabulary tokens are cut into pieces.
        max_token_bytes : int
            Longer tokens are skipped.
        threads : int
            Threads for counting and encoding; 0 = all cores. The result does
            not depend on it.
        cache : bool or path
            ``True`` caches the encoding under :func:`default_cache_dir`, keyed
            by the files' paths (hashed: no path is recorded), devices, inodes,
            sizes, modification and change times and by the parameters, so a
            second call does not re-tokenise; a path caches there; ``False``
            builds into a temporary directory (under ``TMPDIR``) removed when
            the corpus is garbage-collected. A cached encoding that is
            truncated, corrupt or from another input is detected and rebuilt.
            The cache is private: directories 0700, files 0600; an entry that
            is not owned by the current user or is writable by others is
            ignored (with a ``RuntimeWarning``). Processes encoding the same
            file at once each build an entry; the first complete one is
            installed and the others use it.
        progress : bool
            Show a progress bar over the input bytes.
        phrases : densevec.Phrases, optional
            A fitted :class:`~densevec.Phrases`: its phrases are joined (in
            C++, one extra pass over the text) before counting, so
            ``new_york`` becomes one word. Its fingerprint is part of the
            cache key.
        """
        paths = _check_sources(path_or_paths)
        params = cls._params(min_count, max_vocab, max_sentence_length, max_token_bytes)
        if phrases is not None:
            params["phrases"] = _phrases_fingerprint(phrases)
        sources = [_source_identity(p) for p in paths]
        key_src = json.dumps({"v": FORMAT_VERSION, "sources": sources, "params": params}, sort_keys=True)
        fingerprint = hashlib.sha256(key_src.encode()).hexdigest()
        root = None if cache is False else _cache_root(cache)
        if root is None:
            return cls._build_temporary(paths, params, sources, fingerprint, threads, progress,
                                         phrases=phrases)
        target = root / fingerprint[:32]
        damaged: Optional[tuple[int, int]] = None  # (device, inode) of an entry found unusable
        if os.path.lexists(target):
            if not _private_entry(target):
                warnings.warn(f"{target}: ignoring a cached corpus that is not a private directory of the "
                              "current user (owned by someone else, or writable by others); encoding without "
                              "the cache", RuntimeWarning, stacklevel=2)
                return cls._build_temporary(paths, params, sources, fingerprint, threads, progress,
                                            phrases=phrases)
            try:
                corpus = cls(target)
                if corpus.fingerprint == fingerprint:
                    corpus.from_cache = True
                    return corpus
            except CorpusError:
                pass
            with contextlib.suppress(OSError):
                st = os.lstat(target)
                damaged = (st.st_dev, st.st_ino)
        adopted: list[bool] = []

        def adopt(existing: Path) -> bool:  # another process installed the same entry first
            try:
                st = os.lstat(existing)
            except OSError:
                return False
            ok = ((st.st_dev, st.st_ino) != damaged and _private_entry(existing)
                  and _fs.is_complete(existing, "corpus") and _entry_fingerprint(existing) == fingerprint)
            adopted.append(ok)
            return ok

        vocab = cls._build(paths, params, sources, fingerprint, target, threads, progress, adopt=adopt,
                           phrases=phrases)
        if adopted and adopted[-1]:
            corpus = cls(target)
            corpus.from_cache = True
            return corpus
        return cls(target, _built=vocab)

    @classmethod
    def _build_temporary(cls, paths, params, sources, fingerprint, threads, progress,
                         phrases: Any = None) -> "Corpus":
        """Encode into a throwaway directory, removed with the returned corpus."""
        return cls._temporary(lambda parent, target: cls._build(
            paths, params, sources, fingerprint, target, threads, progress, phrases=phrases))

    @classmethod
    def _temporary(cls, write: Callable[[Path, Path], "Vocab"]) -> "Corpus":
        """A corpus that ``write(scratch, target)`` builds at ``target`` inside a
        private temporary directory (``scratch``, also free for its own files),
        removed when the corpus is garbage-collected, or at once on error."""
        parent = _fs.temp_dir("corpus")
        target = parent / "corpus"
        try:
            vocab = write(parent, target)
        except BaseException:
            _fs.remove_temp_dir(parent)
            raise
        corpus = cls(target, _built=vocab)
        corpus._finalizer = weakref.finalize(corpus, _fs.remove_temp_dir, str(parent))
        return corpus

    @classmethod
    def from_sentences(
        cls,
        sentences: Iterable[Union[str, Sequence[str]]],
        min_count: int = 5,
        max_vocab: int | None = None,
        *,
        max_sentence_length: int = 10_000,
        max_token_bytes: int = 1000,
        threads: int = 0,
    ) -> "Corpus":
        """Encode sentences from any iterable (what gensim users pass).

        Each item is either a string (split on whitespace) or a sequence of
        token strings. Items are streamed to a temporary file one sentence at a
        time (``" ".join`` per sentence, no Python loop per token), then
        counted and encoded in C++ like :meth:`from_file`. A token containing
        whitespace is therefore split there, and a newline inside an item does
        not start a new sentence. The corpus lives in a temporary directory
        until :meth:`save` is called.
        """
        if isinstance(sentences, (str, bytes)):
            raise TypeError(
                "from_sentences expects an iterable of sentences (strings or token lists), "
                "got a single string; wrap it in a list or use Corpus.from_file for a path"
            )
        try:
            iterator = iter(sentences)
        except TypeError:
            raise TypeError(
                "from_sentences expects an iterable of sentences (strings or token lists), "
                f"got {type(sentences).__name__}"
            ) from None

        def write(parent: Path, target: Path) -> Vocab:
            text_path = parent / "sentences.txt"
            digest = hashlib.sha256()
            with open(text_path, "wb") as f:
                for chunk in byte_chunks(sentence_lines(iterator)):
                    digest.update(chunk)
                    f.write(chunk)
            params = cls._params(min_count, max_vocab, max_sentence_length, max_token_bytes)
            fingerprint = hashlib.sha256(
                json.dumps({"v": FORMAT_VERSION, "text_sha256": digest.hexdigest(), "params": params},
                           sort_keys=True).encode()
            ).hexdigest()
            vocab = cls._build([str(text_path)], params, [{"sentences_sha256": digest.hexdigest()}],
                       fingerprint, target, threads, False, empty_name="the sentences")
            os.unlink(text_path)
            return vocab

        return cls._temporary(write)

    @classmethod
    def from_ids(
        cls,
        ids: Any,
        offsets: Any,
        vocab: Union[Vocab, Sequence[str]],
    ) -> "Corpus":
        """A corpus from an integer id stream, without text: random walks on a
        graph, filtered streams, shards made elsewhere.

        Parameters
        ----------
        ids : array_like of non-negative integers, shape (n_tokens,)
            Word ids, every one ``< len(vocab)``.
        offsets : array_like of non-negative integers, shape (n_sentences + 1,)
            Sentence ``i`` is ``ids[offsets[i]:offsets[i + 1]]``: starts at 0,
            never decreases, ends at ``len(ids)``.
        vocab : Vocab or sequence of str
            The words of the ids. A plain sequence of words gets its counts
            from the stream (so subsampling and the noise distribution see the
            stream's frequencies).

        The stream is validated here, once (``ValueError`` / ``TypeError``
        naming the argument), copied into a temporary corpus directory that
        lives until the corpus is garbage-collected or saved with :meth:`save`, and
        fingerprinted by its content.
        """
        ids_arr = _int_array("ids", ids)
        off_arr = _int_array("offsets", offsets)
        if isinstance(vocab, Vocab):
            words, counts = vocab.index_to_word, vocab.counts
        elif isinstance(vocab, (str, bytes)) or not isinstance(vocab, Sequence):
            raise TypeError(f"vocab must be a Vocab or a sequence of words, got {type(vocab).__name__}")
        else:
            words, counts = list(vocab), None
        n_words = len(words)
        if n_words == 0:
            raise ValueError("vocab is empty")
        if ids_arr.size and int(ids_arr.min()) < 0:
            raise ValueError(f"ids: negative id {int(ids_arr.min())}")
        if ids_arr.size and int(ids_arr.max()) >= n_words:
            raise ValueError(f"ids: id {int(ids_arr.max())} is not below the vocabulary size {n_words}")
        if off_arr.size < 1 or int(off_arr[0]) != 0:
            raise ValueError("offsets must start with 0 (one entry per sentence start, then the end)")
        if np.any(np.diff(off_arr) < 0):
            bad = int(np.argmax(np.diff(off_arr) < 0))
            raise ValueError(f"offsets decrease at sentence {bad}")
        if int(off_arr[-1]) != ids_arr.size:
            raise ValueError(f"offsets end at {int(off_arr[-1])}, but ids holds {ids_arr.size} ids")
        ids32 = ids_arr.astype(np.uint32, copy=False)
        off64 = off_arr.astype(np.uint64, copy=False)
        if counts is None:
            counts = np.bincount(ids32, minlength=n_words).astype(np.uint64)
        vocab_obj = Vocab(words, counts)
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(ids32).tobytes())
        digest.update(np.ascontiguousarray(off64).tobytes())
        digest.update("\n".join(words).encode("utf-8"))
        digest.update(np.ascontiguousarray(vocab_obj.counts).tobytes())
        fingerprint = hashlib.sha256(
            json.dumps({"v": FORMAT_VERSION, "ids_sha256": digest.hexdigest()}).encode()).hexdigest()
        def write(parent: Path, target: Path) -> Vocab:
            target.mkdir()
            _write_stream_dir(target, ids32, off64, vocab_obj, fingerprint,
                              sources=[{"ids_sha256": digest.hexdigest()}], params={})
            return vocab_obj

        return cls._temporary(write)

    def shard(self, k: int) -> list["Corpus"]:
        """Cut the corpus into ``k`` consecutive sentence ranges holding about
        the same number of tokens (fewer when there are fewer sentences).

        Each shard is a Corpus over the same vocabulary and fingerprint whose
        ``ids`` are a view of this corpus's mapped stream (nothing is copied
        but the shard's sentence offsets); training on every shard in turn
        trains on the whole corpus.
        """
        k = _check_int("k", k, 1)
        n = self.n_sentences
        offsets = np.asarray(self.offsets)
        targets = (np.arange(1, k, dtype=np.float64) * self.n_tokens / k).astype(np.uint64)
        cuts = np.searchsorted(offsets[:n], targets, side="left") if n else np.zeros(0, np.int64)
        bounds = np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]])).astype(np.int64)
        shards = []
        for b, e in zip(bounds[:-1], bounds[1:]):
            tb, te = int(offsets[b]), int(offsets[e])
            view = Corpus.__new__(Corpus)
            view.__dict__.update(self.__dict__)
            view._finalizer = None
            view._parent = self  # keeps the mapped files alive
            view.ids = self.ids[tb:te]
            view.offsets = (offsets[b : e + 1] - offsets[b]).astype(np.uint64)
            view.shard_range = (int(b), int(e))
            shards.append(view)
        return shards

    @staticmethod
    def _params(min_count, max_vocab, max_sentence_length, max_token_bytes) -> dict:
        # Beyond any corpus's token count these change nothing: clamped.
        min_count = check_int("min_count", min_count, 1, INT64_MAX, clamp=True)
        if max_vocab is not None:
            max_vocab = check_int("max_vocab", max_vocab, 1, INT64_MAX, clamp=True)
        max_sentence_length = check_int("max_sentence_length", max_sentence_length, 1, INT64_MAX,
                                        clamp=True)
        max_token_bytes = check_int("max_token_bytes", max_token_bytes, 1, INT64_MAX, clamp=True)
        return {
            "min_count": int(min_count),
            "max_vocab": None if max_vocab is None else int(max_vocab),
            "max_sentence_length": int(max_sentence_length),
            "max_token_bytes": int(max_token_bytes),
        }

    @classmethod
    def _build(cls, paths, params, sources, fingerprint, target: Path, threads, progress,
               empty_name: str | None = None, adopt: Optional[Callable[[Path], bool]] = None,
               phrases: Any = None) -> Vocab:
        threads = resolve_threads(threads)
        total_bytes = sum(os.path.getsize(p) for p in paths)
        name = empty_name or ", ".join(paths)
        # a cache entry (adopt given): private, first complete entry wins, a damaged one is replaced
        with _fs.staged_dir(target, "corpus", overwrite=adopt is not None, private=adopt is not None,
                            adopt=adopt) as tmp:
            parts = tmp / "parts"
            parts.mkdir()
            if phrases is not None:  # join phrases first: one extra pass, in C++
                paths = [str(phrases.transform_file(paths, parts / "phrased.txt", progress=progress))]
                total_bytes = os.path.getsize(paths[0])
            with ByteProgress(total_bytes, "encoding", enabled=progress) as bar:
                built = _core.build_corpus(
                    paths, params["min_count"], params["max_vocab"] or 0,
                    params["max_sentence_length"], params["max_token_bytes"], _RANGE_BYTES,
                    threads, str(parts), str(tmp / "ids.u32"), str(tmp / "offsets.u64"),
                    bar.callback,
                )
            _fs.remove_scratch(parts, tmp)
            if built["raw_tokens"] == 0:
                raise ValueError(f"{name}: contains no tokens (empty, or only whitespace/invalid UTF-8)")
            if not built["words"]:
                raise ValueError(
                    f"{name}: no word occurs at least min_count={params['min_count']} times "
                    f"({built['distinct_words']} distinct words, {built['raw_tokens']} tokens); "
                    "lower min_count"
                )
            vocab = Vocab(built["words"], built["counts"], raw_tokens=built["raw_tokens"])
            stats = {k: built[k] for k in ("raw_tokens", "distinct_words", "invalid_utf8", "too_long", "bytes")}
            _write_vocab_and_meta(tmp, vocab, fingerprint, sources, params, built["n_tokens"],
                                  built["n_sentences"], stats)
        return vocab

    # ------------------------------------------------------------ open / save
    @classmethod
    def load(cls, path: PathLike) -> "Corpus":
        """Open an encoded corpus directory written by :meth:`save` (validated first)."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such corpus directory")
        return cls(path)

    def save(self, path: PathLike, *, overwrite: bool = False) -> Path:
        """Copy the encoded corpus (or this shard of it) to directory ``path`` (atomically) and return it.

        An existing *complete* encoded corpus at `path` is replaced (atomically)
        only with ``overwrite=True``; anything else there raises
        ``FileExistsError`` and is left untouched (see :func:`densevec._fs.staged_dir`).
        """
        if getattr(self, "shard_range", None) is not None:
            with _fs.staged_dir(Path(path), "corpus", overwrite=overwrite) as tmp:
                _write_stream_dir(tmp, np.asarray(self.ids), np.asarray(self.offsets), self.vocab,
                                  self.fingerprint, sources=self.meta.get("sources", []),
                                  params=dict(self.meta.get("params", {}), shard=list(self.shard_range)))
            return Path(path)
        return _copy_artefact(self.path, Path(path), "corpus", overwrite)

    # ------------------------------------------------------------- accessors
    @property
    def n_tokens(self) -> int:
        """Tokens in the encoded stream (in-vocabulary only)."""
        return int(self.ids.shape[0])

    @property
    def n_sentences(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def __len__(self) -> int:
        return self.n_sentences

    def sentence_ids(self, i: int) -> np.ndarray:
        """Ids of sentence ``i`` (uint32 array)."""
        if not -self.n_sentences <= i < self.n_sentences:
            raise IndexError(f"sentence {i} out of range for {self.n_sentences} sentences")
        i %= self.n_sentences
        return np.asarray(self.ids[int(self.offsets[i]) : int(self.offsets[i + 1])])

    def sentences(self) -> Iterator[list[str]]:
        """Decode the stream back to lists of words (slow: for inspection and tests)."""
        words = self.vocab.index_to_word
        for i in range(self.n_sentences):
            yield [words[j] for j in self.sentence_ids(i).tolist()]

    def __repr__(self) -> str:
        return (f"Corpus({len(self.vocab)} words, {self.n_tokens} tokens, "
                f"{self.n_sentences} sentences)")
