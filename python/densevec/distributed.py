"""densevec on a Dask cluster: corpus encoding, co-occurrence counting and
data-parallel word2vec (the optional extra ``pip install "densevec[dask]"``).

Three jobs, each a function taking a :class:`dask.distributed.Client`:

* :func:`encode` -- many text files (a list, a glob or a directory) become one
  :class:`ShardedCorpus`: the workers count their files in C++, the counts are
  reduced to one vocabulary (``min_count`` and ``max_vocab`` applied to the
  *global* counts, the same order and tie-breaking as
  :meth:`densevec.Corpus.from_file`), then each worker maps its files' id
  stream to that vocabulary. The shards hold the same ids, sentences and
  vocabulary as encoding the concatenated files on one machine.
* :func:`cooccurrence` -- each shard is counted on a worker (within its memory
  budget), the partial counts are split by row range and each range is summed
  on a worker; the result is the :class:`densevec.Cooccurrence` that
  :func:`densevec.cooccurrence` gives on one machine, up to float summation
  order. GloVe then trains on one machine: its cost grows with the non-zeros
  of the matrix, which grow much more slowly than the corpus (about 10x more
  non-zeros for 100x more text). The limit is that the matrix must fit the
  memory of one machine while training (12 bytes per stored non-zero, read
  from a memory map).
* :func:`train` -- data-parallel skip-gram/CBOW: each worker trains a copy of
  the model on its part of the corpus for a slice of an epoch, the copies are
  merged and sent out again ``syncs_per_epoch`` times per epoch.
  :func:`simulate` runs the same algorithm with ``k`` simulated workers in one
  process (no Dask needed), for studying accuracy against the number of workers.

**Files must be where every worker can read them**: the input files of
:func:`encode`, its ``out_dir`` and the ``path`` of :func:`cooccurrence` must
be paths of a filesystem shared by the client and all workers (NFS, a cluster
filesystem; any path on a ``LocalCluster``), with close-to-open consistency:
the workers write their scratch files and shards inside the job's staging
directory there, read the vocabulary file the client wrote there, and the
client reads the workers' row ranges back to install the result. Nothing in
this module moves text, id streams or co-occurrence records through the
scheduler: only word lists, counts and per-file lookups travel as task data.

**Failures**: a task whose worker is lost is rerun by Dask on another worker
(every task here is a pure function of its inputs). When a job cannot finish,
it raises ``RuntimeError`` naming the job and the step; :func:`train` then
leaves the model exactly as it was, and :func:`encode` / :func:`cooccurrence`
install nothing (their outputs are written atomically).
"""
from __future__ import annotations

import glob as _glob
import hashlib
import json
import math
import os
import secrets
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _core, _fs
from densevec._fs import PathLike
from densevec._validate import check_int
from densevec.corpus import FORMAT_VERSION, Corpus, Vocab, _check_sources, _source_identity
from densevec.corpus import _write_meta, _write_vocab
from densevec.word2vec import w2v_config

__all__ = ["ShardedCorpus", "encode", "cooccurrence", "train", "simulate"]

SHARDED_FORMAT = "densevec-sharded-corpus"
SHARDED_FORMAT_VERSION = 1


def _check_client(client: Any, job: str) -> Any:
    try:
        from dask.distributed import Client
    except ImportError:
        raise ImportError(f"densevec.distributed.{job} needs Dask: pip install \"densevec[dask]\"") from None
    if not isinstance(client, Client):
        raise TypeError(f"{job}: client must be a dask.distributed.Client, got {type(client).__name__}")
    return client


def _job_tag() -> str:
    """A fresh name for a job's task keys (Dask returns the old result for a key it still holds)."""
    return secrets.token_hex(8)


def _gather(client: Any, futures: list, job: str, step: str) -> list:
    """Results of `futures`, or RuntimeError naming the job and step (Dask already reran what it could)."""
    try:
        return client.gather(futures)
    except Exception as e:  # noqa: BLE001 - any failure of a task ends the job, named
        raise RuntimeError(f"densevec.distributed.{job}: {step} failed ({type(e).__name__}: {e}); "
                           "nothing was written or changed") from e


# ====================================================================== sharded corpus
def _check_sharded(path: Path) -> None:
    meta = _fs.read_meta(path / "meta.json", SHARDED_FORMAT, (SHARDED_FORMAT_VERSION,), "a sharded corpus")
    _fs.check_regular_file(path / "vocab.txt", "vocab.txt")
    for name in meta.get("shards", []):
        _fs.check_regular_file(path / name / "meta.json", "a shard's meta.json")


_fs.register_kind("sharded-corpus", SHARDED_FORMAT, _check_sharded)


class ShardedCorpus:
    """An encoded corpus kept as shards (each a :class:`densevec.Corpus`
    directory) in one directory, as :func:`encode` writes it.

    Every shard carries the whole vocabulary with its global counts and the
    sharded corpus's fingerprint, so any shard can be opened and trained on
    alone, like a view made by :meth:`Corpus.shard`.

    Attributes
    ----------
    path : Path
    vocab : Vocab
    fingerprint : str
    shard_paths : list of Path
        One per input file, in input order.
    n_tokens, n_sentences : int
    meta : dict
    """

    def __init__(self, path: PathLike):
        self.path = Path(path)
        meta = _fs.read_meta(self.path / "meta.json", SHARDED_FORMAT, (SHARDED_FORMAT_VERSION,),
                             "a sharded corpus")
        try:
            vocab_size = int(meta["vocab_size"])
            names = [str(n) for n in meta["shards"]]
            self.n_tokens = int(meta["n_tokens"])
            self.n_sentences = int(meta["n_sentences"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{self.path / 'meta.json'}: missing sizes or shards") from None
        words, counts = _fs.read_vocab_txt(self.path / "vocab.txt", vocab_size,
                                           sha256=str(meta.get("vocab_sha256")))
        self.vocab = Vocab(words, counts.astype(np.uint64), raw_tokens=meta.get("raw_tokens"))
        self.fingerprint: str = str(meta.get("fingerprint", ""))
        self.shard_paths = [self.path / n for n in names]
        self.meta = meta

    @classmethod
    def load(cls, path: PathLike) -> "ShardedCorpus":
        """Open a directory written by :func:`encode`."""
        if not Path(path).is_dir():
            raise FileNotFoundError(f"{path}: no such sharded corpus directory")
        return cls(path)

    def shards(self) -> list[Corpus]:
        """Every shard opened (and validated) as a :class:`Corpus` on this machine."""
        return [Corpus.load(p) for p in self.shard_paths]

    def to_corpus(self) -> Corpus:
        """The shards concatenated into one local :class:`Corpus` (a temporary
        directory, see :meth:`Corpus.from_ids`): the corpus that encoding all
        the files on one machine gives."""
        ids, offsets, base = [], [np.zeros(1, np.uint64)], 0
        for shard in self.shards():
            ids.append(np.asarray(shard.ids))
            offsets.append(np.asarray(shard.offsets[1:]) + np.uint64(base))
            base += shard.n_tokens
        return Corpus.from_ids(np.concatenate(ids) if ids else np.zeros(0, np.uint32),
                               np.concatenate(offsets), self.vocab)

    def __len__(self) -> int:
        return len(self.shard_paths)

    def __repr__(self) -> str:
        return (f"ShardedCorpus({len(self.vocab)} words, {self.n_tokens} tokens, "
                f"{self.n_sentences} sentences, {len(self)} shards)")


def _input_files(files: Union[PathLike, Sequence[PathLike]]) -> list[str]:
    """A list of files, a glob pattern or a directory (its regular files, by name) -> absolute paths."""
    if isinstance(files, (str, os.PathLike)):
        p = os.fspath(files)
        if os.path.isdir(p):
            names = sorted(n for n in os.listdir(p) if not n.startswith("."))
            found = [os.path.join(p, n) for n in names if os.path.isfile(os.path.join(p, n))]
            if not found:
                raise ValueError(f"{p}: directory holds no files")
            return _check_sources(found)
        if _glob.has_magic(p):
            found = sorted(_glob.glob(p))
            if not found:
                raise FileNotFoundError(f"{p}: the pattern matches no file")
            return _check_sources(found)
        return _check_sources([p])
    return _check_sources(list(files))


def _scan_file(path: str, scratch: str, max_token_bytes: int) -> dict:
    """Worker: pass 1 of one file (in C++): its words and counts, its text kept in
    `scratch` as a stream of word numbers for pass 2. Idempotent (a rerun rewrites it)."""
    os.makedirs(scratch, exist_ok=True)
    return _core.dist_scan_file(path=path, max_token_bytes=max_token_bytes,
                                stream_path=os.path.join(scratch, "stream.u32"))


def _pack_words(words: Sequence[str]) -> bytes:
    """Words as one UTF-8 blob, newline-separated (a token never holds whitespace):
    Dask serialises one bytes object at once, a list of strings item by item
    (seconds for 100,000 words)."""
    return "\n".join(words).encode("utf-8")


def _unpack_words(blob: bytes) -> list[str]:
    return blob.decode("utf-8").split("\n") if blob else []


def _encode_file(scratch: str, lookup: np.ndarray, max_sentence_length: int, shard_dir: str,
                 vocab_file: str, vocab_size: int, raw_tokens: int, fingerprint: str,
                 source: dict, params: dict) -> tuple[int, int]:
    """Worker: pass 2 of one file (in C++): its scratch stream mapped to the global
    vocabulary, cut into sentences and written as a corpus directory, with a copy of
    the job's `vocab_file` (written once by the client). Idempotent: a rerun rewrites
    the same files (the scratch stream is removed only with the whole job's scratch space)."""
    import shutil

    os.makedirs(shard_dir, exist_ok=True)
    n_tokens, n_sentences = _core.dist_encode_stream(
        stream_path=os.path.join(scratch, "stream.u32"), lookup=lookup,
        max_sentence_length=max_sentence_length, ids_path=os.path.join(shard_dir, "ids.u32"),
        offsets_path=os.path.join(shard_dir, "offsets.u64"))
    shutil.copyfile(vocab_file, os.path.join(shard_dir, "vocab.txt"))
    _write_meta(Path(shard_dir), vocab_size, raw_tokens, fingerprint, [source], params, int(n_tokens),
                int(n_sentences), {"raw_tokens": raw_tokens})
    return int(n_tokens), int(n_sentences)


def encode(
    client: Any,
    files: Union[PathLike, Sequence[PathLike]],
    out_dir: PathLike,
    min_count: int = 5,
    max_vocab: Optional[int] = None,
    *,
    max_sentence_length: int = 10_000,
    max_token_bytes: int = 1000,
    overwrite: bool = False,
) -> ShardedCorpus:
    """Encode text files on a Dask cluster into a :class:`ShardedCorpus` at `out_dir`.

    Parameters
    ----------
    client : dask.distributed.Client
    files : path, glob pattern, directory, or sequence of paths
        The text, one shard per file, in this order (a glob: sorted matches;
        a directory: its non-hidden regular files sorted by name). Must be
        readable by every worker at the same path (a shared filesystem).
    out_dir : path
        Where the sharded corpus is written, atomically (a shared filesystem:
        the workers write the shards there, the client installs the whole).
    min_count, max_vocab, max_sentence_length, max_token_bytes
        As in :meth:`densevec.Corpus.from_file`; ``min_count`` and
        ``max_vocab`` apply to the counts summed over all files.
    overwrite : bool
        Replace a complete sharded corpus at `out_dir`; anything else there
        raises ``FileExistsError`` and is left untouched.

    Returns
    -------
    ShardedCorpus
        Same vocabulary (words, order, counts), ids and sentences as
        ``Corpus.from_file(files, ...)`` on one machine.
    """
    client = _check_client(client, "encode")
    paths = _input_files(files)
    params = Corpus._params(min_count, max_vocab, max_sentence_length, max_token_bytes)
    fingerprint = hashlib.sha256(json.dumps(
        {"v": FORMAT_VERSION, "distributed": [_source_identity(p) for p in paths], "params": params},
        sort_keys=True).encode()).hexdigest()
    names = [f"shard-{i:05d}" for i in range(len(paths))]
    tag = _job_tag()
    with _fs.staged_dir(Path(out_dir), "sharded-corpus", overwrite=overwrite) as tmp:
        scratch = tmp / "scratch"
        scratch.mkdir()
        scanned = [client.submit(_scan_file, p, str(scratch / n), params["max_token_bytes"],
                                 key=f"densevec-count-{tag}-{i}", pure=False)
                   for i, (p, n) in enumerate(zip(paths, names))]
        parts = _gather(client, scanned, "encode", "counting the files")
        # the vocabulary: the same C++ pruning and order as Corpus.from_file
        merged = _core.dist_merge_scans(words=[p["words"] for p in parts], counts=[p["counts"] for p in parts],
                                        invalid=[p["invalid"] for p in parts], min_count=params["min_count"],
                                        max_vocab=params["max_vocab"] or 0)
        raw_tokens, distinct = int(merged["raw_tokens"]), int(merged["distinct_words"])
        what = ", ".join(paths) if len(paths) <= 3 else f"{paths[0]} and {len(paths) - 1} more files"
        if raw_tokens == 0:
            raise ValueError(f"{what}: contain no tokens (empty, or only whitespace/invalid UTF-8)")
        words, counts, lookups = _unpack_words(merged["words"]), merged["counts"], merged["lookups"]
        if not words:
            raise ValueError(f"{what}: no word occurs at least min_count={params['min_count']} times "
                             f"({distinct} distinct words, {raw_tokens} tokens); lower min_count")
        _fs.write_vocab_txt(tmp / "vocab.txt", words, counts.tolist())  # once; the shards copy it
        encoded = []
        for i, (p, n, lookup) in enumerate(zip(paths, names, lookups)):
            source = {"path_sha256": hashlib.sha256(os.fsencode(p)).hexdigest(), "shard": i}
            encoded.append(client.submit(
                _encode_file, str(scratch / n), lookup, params["max_sentence_length"], str(tmp / n),
                str(tmp / "vocab.txt"), len(words), raw_tokens, fingerprint, source, params,
                key=f"densevec-encode-{tag}-{i}", pure=False))
        sizes = _gather(client, encoded, "encode", "encoding the files")
        _fs.remove_scratch(scratch, tmp)
        stats = {"raw_tokens": raw_tokens, "distinct_words": distinct, "invalid_utf8": int(merged["invalid_utf8"]),
                 **{k: sum(int(p[k]) for p in parts) for k in ("too_long", "bytes")}}
        meta = {
            "format": SHARDED_FORMAT, "format_version": SHARDED_FORMAT_VERSION,
            "densevec_version": _core.__version__, "fingerprint": fingerprint, "params": params,
            "shards": names, "n_tokens": sum(s[0] for s in sizes), "n_sentences": sum(s[1] for s in sizes),
            "shard_tokens": [s[0] for s in sizes], "vocab_size": len(words), "raw_tokens": raw_tokens,
            "vocab_sha256": _fs.sha256_file(tmp / "vocab.txt"), "stats": stats,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return ShardedCorpus(out_dir)


# ====================================================================== corpus parts on workers
_OPEN: dict[str, Corpus] = {}
_OPEN_LOCK = threading.Lock()


def _open_corpus(path: str) -> Corpus:
    """A corpus directory opened once per worker process (opening validates the whole stream)."""
    with _OPEN_LOCK:
        corpus = _OPEN.get(path)
        if corpus is None:
            corpus = _OPEN[path] = Corpus.load(path)
            while len(_OPEN) > 64:  # bounded: the oldest goes first
                _OPEN.pop(next(iter(_OPEN)))
        return corpus


def _part(ref: tuple) -> Corpus:
    """The corpus part `ref` names: ``(directory, k, i)`` is shard ``i`` of ``Corpus.shard(k)``."""
    path, k, i = ref
    corpus = _open_corpus(path)
    return corpus if k == 1 else corpus.shard(k)[i]


def _part_refs(corpus: Union[Corpus, ShardedCorpus], k: int, job: str) -> tuple[list, Vocab, str]:
    """Parts of `corpus` for the workers, its vocabulary and fingerprint: the shards of a
    ShardedCorpus, or a Corpus cut into `k` sentence ranges (read from its directory)."""
    if isinstance(corpus, ShardedCorpus):
        return [(str(p), 1, 0) for p in corpus.shard_paths], corpus.vocab, corpus.fingerprint
    if isinstance(corpus, Corpus):
        if getattr(corpus, "shard_range", None) is not None:
            raise ValueError(f"{job}: pass the whole Corpus, not a shard of it (it is cut into parts here)")
        n = len(corpus.shard(k))
        return [(str(corpus.path), n, i) for i in range(n)], corpus.vocab, corpus.fingerprint
    raise TypeError(f"{job}: corpus must be a densevec.Corpus or a ShardedCorpus, got {type(corpus).__name__}")


def _n_workers(client: Any) -> int:
    n = len(client.scheduler_info().get("workers", {}))
    if n == 0:
        raise RuntimeError("the Dask cluster has no workers")
    return n


# ====================================================================== co-occurrence
def _group_stream(refs: list) -> tuple[np.ndarray, np.ndarray, int]:
    """The parts `refs` as one id stream: (ids, offsets, vocabulary size) -- the part's
    own arrays, or their id streams concatenated in memory. No pair crosses a part
    boundary: every part ends a sentence."""
    parts = [_part(ref) for ref in refs]
    if len(parts) == 1:
        return np.asarray(parts[0].ids), np.asarray(parts[0].offsets), len(parts[0].vocab)
    sizes = [int(p.offsets[-1]) - int(p.offsets[0]) for p in parts]
    ids = np.empty(sum(sizes), dtype=np.uint32)
    offsets = np.empty(sum(len(p.offsets) - 1 for p in parts) + 1, dtype=np.uint64)
    offsets[0] = 0
    at, at_sent = 0, 1
    for p, n in zip(parts, sizes):  # a part's offsets may start inside a larger stream (a view)
        o = np.asarray(p.offsets, dtype=np.uint64)
        ids[at:at + n] = np.asarray(p.ids)[int(o[0]):int(o[-1])]
        offsets[at_sent:at_sent + len(o) - 1] = o[1:] - o[0] + np.uint64(at)
        at += n
        at_sent += len(o) - 1
    return ids, offsets, len(parts[0].vocab)


def _count_part(refs: list, out: str, window: int, symmetric: bool, weighting: str,
                memory_gb: float, threads: int) -> dict:
    """Worker: count a group of parts (one pass, one partial record file: the
    accumulator is set up once and the repeated pairs of the group are summed
    here) into the scratch file `out`; return the number of records per row and
    the counting statistics. Idempotent: a rerun rewrites `out`."""
    from densevec.glove import RECORD_DTYPE, _budget_bytes

    ids, offsets, vocab_size = _group_stream(refs)
    spill = f"{out}.spill-{secrets.token_hex(4)}"  # this attempt's own (a lost attempt's may remain)
    os.makedirs(spill)
    stats = _core.count_cooccurrence(
        ids=ids, offsets=offsets, vocab_size=vocab_size, window=window, symmetric=symmetric,
        harmonic=weighting == "harmonic", memory_bytes=_budget_bytes(memory_gb), threads=threads,
        tmp_dir=spill, out_path=out, progress=None)
    os.rmdir(spill)
    del ids, offsets
    stored = os.path.getsize(out) // RECORD_DTYPE.itemsize
    records = np.memmap(out, dtype=RECORD_DTYPE, mode="r", shape=(stored,)) if stored else None
    rows = (np.bincount(records["row"], minlength=vocab_size) if stored
            else np.zeros(vocab_size, np.int64)).astype(np.int64)
    del records
    return {"rows": rows, "stats": {k: (float(v) if k.endswith("seconds") else int(v)) for k, v in stats.items()}}


def _merge_rows(parts: list[str], lo: int, hi: int, out: str) -> tuple[int, int]:
    """Worker: sum the records of rows [lo, hi) of every partial record file into the
    sorted records file `out` (a k-way merge in C++, values added in float64 and
    rounded to float32 once); return (records written, records on the diagonal)."""
    stored, diag = _core.dist_merge_cooc_rows(paths=parts, lo=lo, hi=hi, out_path=out)
    return int(stored), int(diag)


def _concat_files(sources: list[str], target: Path) -> None:
    """`sources` appended in order into the new file `target` (in the kernel where
    it can: ``os.copy_file_range``; else through a buffer)."""
    with open(target, "wb") as f:
        for p in sources:
            f.flush()  # what a buffered fallback wrote goes first
            with open(p, "rb") as src:
                left = os.fstat(src.fileno()).st_size
                try:
                    while left > 0:
                        n = os.copy_file_range(src.fileno(), f.fileno(), left)
                        if n == 0:
                            break
                        left -= n
                except (AttributeError, OSError):
                    pass  # not supported here: copy what is left through a buffer
                if left > 0:
                    src.seek(os.fstat(src.fileno()).st_size - left)
                    f.seek(0, os.SEEK_END)
                    while block := src.read(16 << 20):
                        f.write(block)


def cooccurrence(
    client: Any,
    corpus: Union[Corpus, ShardedCorpus],
    window: int = 10,
    symmetric: bool = True,
    weighting: Literal["harmonic", "uniform"] = "harmonic",
    memory_gb: float = 1.0,
    path: Optional[PathLike] = None,
    *,
    overwrite: bool = False,
):
    """Count word co-occurrences on a Dask cluster (a map-reduce).

    Each part of the corpus (a shard of a :class:`ShardedCorpus`, or one of
    ``n_workers`` sentence ranges of a :class:`Corpus`) is counted on a worker
    with :func:`densevec.cooccurrence` within ``memory_gb`` (it spills sorted
    runs past it); the partial matrices are cut into row ranges holding about
    the same number of records, each range summed on a worker
    (a k-way merge in C++, in float64 rounded to float32 once), and the ranges
    concatenated in order.

    Parameters
    ----------
    client : dask.distributed.Client
    corpus : Corpus or ShardedCorpus
        Its directory (and `path`) must be on a filesystem every worker reads.
    window, symmetric, weighting
        As in :func:`densevec.cooccurrence`.
    memory_gb : float
        Per task: for counting one part, and (with the record sizes) to choose
        how many row ranges the merge uses.
    path : path, optional
        Directory for the result (written atomically); by default a temporary
        directory on the client, which only a ``LocalCluster`` can share.

    Returns
    -------
    Cooccurrence
        Equal to ``densevec.cooccurrence(corpus.to_corpus(), ...)`` up to float
        summation order. Train :class:`densevec.GloVe` on it on one machine.
    """
    from densevec import glove as _glove
    from densevec.corpus import _check_int

    client = _check_client(client, "cooccurrence")
    window = _check_int("window", window, 1, 2**31 - 1)
    if weighting not in ("harmonic", "uniform"):
        raise ValueError(f"weighting must be 'harmonic' or 'uniform', got {weighting!r}")
    budget = _glove._budget_bytes(memory_gb)
    workers = _n_workers(client)
    threads = max(1, min(client.nthreads().values()))
    refs, vocab, fingerprint = _part_refs(corpus, workers, "cooccurrence")
    if corpus.n_tokens == 0:
        raise ValueError("the corpus is empty: no in-vocabulary tokens to count")
    finalize_parent = None
    if path is None:
        finalize_parent = _fs.temp_dir("cooc")
        target = finalize_parent / "cooc"
    else:
        target = Path(path)
    tag = _job_tag()
    try:
        with _fs.staged_dir(target, "cooccurrence", overwrite=overwrite) as tmp:
            scratch = tmp / "scratch"
            scratch.mkdir()
            # one counting task per worker (its share of the parts, counted in one pass
            # with the worker's threads): fewer, larger partial matrices to merge
            groups = [[refs[i] for i in g] for g in np.array_split(np.arange(len(refs)), min(workers, len(refs)))]
            part_dirs = [str(scratch / f"part-{i:05d}.bin") for i in range(len(groups))]
            counted = [client.submit(_count_part, g, out, window, bool(symmetric), weighting,
                                     float(memory_gb), threads, key=f"densevec-cooc-count-{tag}-{i}", pure=False)
                       for i, (g, out) in enumerate(zip(groups, part_dirs))]
            results = _gather(client, counted, "cooccurrence", "counting the parts")
            per_row = np.sum([r["rows"] for r in results], axis=0)
            n_ranges = max(workers, math.ceil(int(per_row.sum()) * 32 / budget))
            cum = np.cumsum(per_row)
            cuts = np.searchsorted(cum, np.arange(1, n_ranges) * cum[-1] / n_ranges, side="left") + 1
            bounds = np.unique(np.concatenate([[0], np.clip(cuts, 0, len(vocab)), [len(vocab)]]))
            merged_paths = [str(scratch / f"rows-{j:05d}.bin") for j in range(len(bounds) - 1)]
            merging = [client.submit(_merge_rows, part_dirs, int(lo), int(hi), out,
                                     key=f"densevec-cooc-merge-{tag}-{j}", pure=False)
                       for j, (lo, hi, out) in enumerate(zip(bounds[:-1], bounds[1:], merged_paths))]
            sizes = _gather(client, merging, "cooccurrence", "merging the row ranges")
            _concat_files(merged_paths, tmp / "records.bin")
            _fs.remove_scratch(scratch, tmp)
            stored = sum(s[0] for s in sizes)
            diag = sum(s[1] for s in sizes)
            _write_vocab(tmp / "vocab.txt", vocab)
            stats: dict = {}
            for r in results:
                for k, v in r["stats"].items():
                    if isinstance(v, (int, float)) and k not in ("threads", "max_product"):
                        k = f"partial_{k}" if k in ("nnz", "stored") else k
                        stats[k] = stats.get(k, 0) + v
            stats.update(parts=len(refs), count_tasks=len(groups), row_ranges=len(merged_paths), workers=workers)
            meta = {
                "format": _glove.FORMAT, "format_version": _glove.FORMAT_VERSION,
                "densevec_version": _core.__version__, "vocab_size": len(vocab),
                "nnz": 2 * stored - diag if symmetric else stored, "stored": stored,
                "upper": bool(symmetric), "window": window, "symmetric": bool(symmetric),
                "weighting": weighting, "corpus_fingerprint": fingerprint,
                "vocab_sha256": _fs.sha256_file(tmp / "vocab.txt"), "memory_gb": float(memory_gb),
                "stats": stats,
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    except BaseException:
        if finalize_parent is not None:
            _fs.remove_temp_dir(finalize_parent)
        raise
    import weakref

    result = _glove.Cooccurrence(target, _vocab=vocab, validate=False)
    if finalize_parent is not None:
        result._finalizer = weakref.finalize(result, _fs.remove_temp_dir, str(finalize_parent))
    return result


# ====================================================================== data-parallel word2vec
MERGES = ("scaled", "delta", "capped", "touched", "average")
_CAP_WORKERS = 2  # "capped": a row moves at most this many workers' mean change
# "scaled": the copies' starting learning rate is at most this (8 x word2vec's 0.025; 16 x
# diverged in benchmarks/results/distributed.md's runs)
_SCALED_MAX_ALPHA = 0.2
# "scaled": a row's factor on the copies' rate is 1 / (1 + n / this), at least the schedule's own
# rate, n being the times a copy meets its word per round (in expectation): for the updates that
# add up, a row then moves 1 / (1 + n / this) of what one process would move it (a rare word's
# row all of it, the row of a word met this often half). Measured on big.txt (distributed-notes.md):
# the first rule, rows met 20+ times at the schedule's rate (a k-th of one process) and the others
# at k times it, kept 0.55 point less at 8 workers (mean of seeds 1-5); giving the frequent rows a
# larger share at 2 workers cost 0.8 point (seeds 1-3)
_SCALED_HALF = 20.0
# syncs_per_epoch=None: at least this many merges per epoch, and enough that a copy trains at
# most _ROUND_TOKENS tokens between two merges. At 4 workers on big.txt (30M tokens), 80 merges
# per epoch (94k tokens per copy and round) kept 1.2 points more analogy accuracy than 40 (188k)
# over seeds 1-3; at 8 workers 80 (47k) did no better than 40 (94k); distributed-notes.md
_MIN_SYNCS = 40
_ROUND_TOKENS = 100_000
_SAMPLERS: dict[str, tuple] = {}


def _worker_samplers(spec: dict) -> tuple:
    """(keep probabilities, noise sampler, Huffman tree) of the job `spec`, built once per process."""
    from densevec.train._base import ModelState
    from densevec.word2vec import Word2Vec

    with _OPEN_LOCK:
        samplers = _SAMPLERS.get(spec["key"])
    if samplers is None:
        model = Word2Vec(**spec["params"])
        model.state = ModelState({}, _unpack_words(spec["words"]), spec["counts"])
        samplers = model._build_samplers()
        with _OPEN_LOCK:
            _SAMPLERS.clear()  # one job at a time per process keeps memory bounded
            _SAMPLERS[spec["key"]] = samplers
    return samplers


def _train_pieces(win0: np.ndarray, wout0: np.ndarray, spec: dict, pieces: list, alpha_begin: float,
                  alpha_end: float, epoch: int) -> dict:
    """Worker (or simulated worker): train a copy of the weights on `pieces`
    (``(part ref, first sentence, end sentence, seed)``, in turn) with the
    learning rate falling linearly from `alpha_begin` to `alpha_end` over their
    tokens; return the changed rows and their change (the delta)."""
    params = spec["params"]
    keep, noise, tree = _worker_samplers(spec)
    win, wout = win0.copy(), wout0.copy()
    cfg = w2v_config(params)
    cfg.threads = spec["threads"]
    cfg.epoch = epoch
    parts = [_part(ref) for ref, _, _, _ in pieces]
    sizes = [int(p.offsets[e]) - int(p.offsets[b]) for p, (_, b, e, _) in zip(parts, pieces)]
    total = max(sum(sizes), 1)
    stats = {"words": 0, "trained_words": 0, "predictions": 0, "loss": 0.0}
    done = 0
    for part, (_, b, e, seed), size in zip(parts, pieces, sizes):
        if size == 0:
            continue
        cfg.seed = seed
        cfg.alpha_begin = alpha_begin + (alpha_end - alpha_begin) * done / total
        done += size
        cfg.alpha_end = alpha_begin + (alpha_end - alpha_begin) * done / total
        st = _core.train_word2vec(config=cfg, win=win, wout=wout, ids=part.ids, offsets=part.offsets,
                                  sent_begin=b, sent_end=e, keep_prob=keep, noise=noise, tree=tree,
                                  lock=spec["lock"], id_map=None, progress=None, out_lock=spec["out_lock"])
        if st["diverged"] or not math.isfinite(st["loss"]):
            raise FloatingPointError(f"word2vec diverged (non-finite loss) at epoch {epoch + 1}: "
                                     "lower alpha")
        for k in stats:
            stats[k] += st[k]
    out = {"stats": stats}
    for name, new, old in (("input", win, win0), ("output", wout, wout0)):
        # the rows whose bits changed (a bitwise test, 4x faster than a float difference of the
        # whole matrix), then the difference of those rows only
        rows = np.flatnonzero((new.view(np.uint32) != old.view(np.uint32)).any(axis=1))
        delta = np.take(new, rows, axis=0)
        delta -= np.take(old, rows, axis=0)
        out[name] = (rows, delta)
    return out


def _merge(arrays: dict[str, np.ndarray], results: list[dict], merge: str) -> None:
    """Apply the workers' deltas to `arrays` in place.

    ``"scaled"``: the mean of the copies, as ``"average"``; the copies
    trained at k times the learning rate, except the frequent words' rows
    (:func:`_data_parallel` sets the rates, :func:`train` says why).
    ``"delta"``: add every worker's change (what one process would have done
    with all the updates: a row only one worker touched keeps its full
    update). ``"capped"``: add the changes, but a row that more than two
    workers changed moves twice their mean (the sum of k copies trained from
    the same weights overshoots the frequent words' rows, which converge
    within every round; with at most two workers it is ``"delta"``).
    ``"touched"``: average each row's changes over the workers that
    changed it. ``"average"``: the mean of the copies (naive averaging, as
    Spark MLlib does: a row one worker of k changed moves 1/k of its update).
    """
    k = len(results)
    for name, arr in arrays.items():
        if merge in ("touched", "capped"):
            touched = np.zeros(arr.shape[0], dtype=np.int64)
            for r in results:
                touched[r[name][0]] += 1
            divisor = (touched if merge == "touched" else np.maximum(touched / _CAP_WORKERS, 1.0)).astype(np.float32)
        for r in results:
            rows, delta = r[name]
            if merge == "delta":
                arr[rows] += delta
            elif merge in ("touched", "capped"):
                arr[rows] += delta / divisor[rows, None]
            else:  # "average", "scaled"
                arr[rows] += delta / np.float32(k)


def _scaled_row_rates(counts: np.ndarray, lr_scale: float, round_tokens: float) -> np.ndarray:
    """Per-row factors of the ``"scaled"`` merge on the copies' rate
    (`lr_scale` times the schedule's): ``1 / (1 + n / H)``, at least
    ``1 / lr_scale`` (the schedule's rate), where n is how often a copy meets
    the row's word in a round of `round_tokens` tokens (in expectation, from
    its share of the counts) and H is ``_SCALED_HALF``. With k copies at k
    times the rate, averaged, a row whose updates add up moves that share of
    what one process would move it: a rare word's row all of it, the most
    frequent words' rows (which every copy drives to the same place within a
    round) a k-th."""
    rate = np.ones(counts.shape[0], dtype=np.float32)
    total = float(counts.sum())
    if total <= 0:
        return rate
    n = np.asarray(counts, dtype=np.float64) * (float(round_tokens) / total)
    return np.maximum(1.0 / (1.0 + n / _SCALED_HALF), 1.0 / lr_scale).astype(np.float32)


def _scaled_rates(model: Any, lock: Optional[np.ndarray], n_groups: int, round_tokens: float,
                  job: str) -> tuple[float, Optional[np.ndarray], Optional[np.ndarray]]:
    """The ``"scaled"`` merge's rates: (the copies' factor on the schedule's
    learning rate, the input rows' factors, the output rows' factors or None).
    The copies train at `n_groups` times the rate (a starting rate of at most
    ``_SCALED_MAX_ALPHA``); each row takes its :func:`_scaled_row_rates`
    factor of that (the more frequent its word, the lower), through the
    kernel's row locks (multiplied by the model's own `lock`)."""
    lr_scale = min(float(n_groups), max(1.0, _SCALED_MAX_ALPHA / model.alpha))
    if lr_scale < n_groups:
        warnings.warn(f"{job}: merge 'scaled' trains the copies at {lr_scale:g}x the learning rate, not "
                      f"{n_groups}x (their starting rate is capped at {_SCALED_MAX_ALPHA:g}): rows only one "
                      "copy touches move less than in one process; use fewer workers or a lower alpha",
                      RuntimeWarning, stacklevel=4)
    if lr_scale == 1.0:
        return lr_scale, lock, None
    rate = _scaled_row_rates(np.asarray(model.state.counts, dtype=np.float64), lr_scale, round_tokens)
    # with negative sampling the output rows are the words' rows too
    return lr_scale, rate if lock is None else lock * rate, rate if model.loss == "ns" else None


def _auto_syncs(n_tokens: int, n_groups: int) -> int:
    """Merges per epoch when ``syncs_per_epoch`` is None: at least
    ``_MIN_SYNCS``, and with more than one copy enough that each trains at
    most ``_ROUND_TOKENS`` tokens between two merges."""
    if n_groups <= 1:
        return _MIN_SYNCS
    return max(_MIN_SYNCS, -(-int(n_tokens) // (n_groups * _ROUND_TOKENS)))


def _slice_bounds(offsets: np.ndarray, n: int) -> list[tuple[int, int]]:
    """`n` consecutive sentence ranges with about the same number of tokens (some may be empty)."""
    n_sent = offsets.shape[0] - 1
    targets = np.arange(1, n, dtype=np.float64) * float(offsets[-1]) / n
    cuts = np.searchsorted(np.asarray(offsets[:n_sent], dtype=np.float64), targets, side="left")
    bounds = np.concatenate([[0], np.clip(cuts, 0, n_sent), [n_sent]]).astype(np.int64)
    bounds = np.maximum.accumulate(bounds)
    return [(int(b), int(e)) for b, e in zip(bounds[:-1], bounds[1:])]


def _data_parallel(run_round: Callable[[str, list], list], model: Any, corpus: Union[Corpus, ShardedCorpus],
                   workers: int, epochs: Optional[int], syncs_per_epoch: Optional[int], merge: str, job: str,
                   allow_mixed: bool, callbacks: Sequence[Callable]) -> Any:
    """The data-parallel algorithm; `run_round(tag, tasks)` runs the
    :func:`_train_pieces` calls ``tasks`` (argument tuples) and returns their
    results in order -- on a Dask cluster or one after the other in this process."""
    import time

    from densevec.vectors import Embeddings
    from densevec.word2vec import Word2Vec

    if not isinstance(model, Word2Vec):
        raise TypeError(f"{job}: model must be a densevec.Word2Vec, got {type(model).__name__}")
    if merge not in MERGES:
        raise ValueError(f"{job}: merge must be one of {', '.join(map(repr, MERGES))}, got {merge!r}")
    if syncs_per_epoch is not None:
        syncs_per_epoch = check_int("syncs_per_epoch", syncs_per_epoch, 1)
    refs, vocab, fingerprint = _part_refs(corpus, workers, job)
    if corpus.n_tokens == 0:
        raise ValueError(f"{job}: the corpus is empty: no in-vocabulary tokens to train on")
    if model.state is None:
        model.build_vocab(corpus if isinstance(corpus, Corpus) else Corpus.load(corpus.shard_paths[0]))
    state = model.state
    if state.words != vocab.index_to_word:
        raise ValueError(f"{job}: the model's vocabulary differs from the corpus's; distributed training "
                         "needs the same words in the same order (train a fresh model, or encode the corpus "
                         "with the model's vocabulary)")
    model._admit_corpus(fingerprint, allow_mixed, "train")
    planned = model.epochs if epochs is None else check_int("epochs", epochs, 1)
    # the job's own copies: the model changes only when every round succeeded
    win = np.array(state.arrays["input"], dtype=np.float32, order="C")
    wout = np.array(state.arrays["output"], dtype=np.float32, order="C")
    lock = state.arrays.get("lock")
    lock = None if lock is None else np.asarray(lock, dtype=np.float32)
    n_groups = min(workers, len(refs))
    if syncs_per_epoch is None:
        syncs_per_epoch = _auto_syncs(corpus.n_tokens, n_groups)
    a0, a1 = model.alpha, model.final_alpha
    lr_scale, out_lock = 1.0, None
    if merge == "scaled":
        lr_scale, lock, out_lock = _scaled_rates(model, lock, n_groups,
                                                 corpus.n_tokens / (syncs_per_epoch * n_groups), job)
    spec = {"key": _job_tag(), "params": model.get_params(), "words": _pack_words(state.words),
            "counts": state.counts, "threads": 1, "lock": lock, "out_lock": out_lock}
    parts = [_part(ref) for ref in refs]
    groups = [list(g) for g in np.array_split(np.arange(len(refs)), n_groups)]
    slices = [_slice_bounds(np.asarray(p.offsets), syncs_per_epoch) for p in parts]
    slice_tokens = [sum(int(parts[i].offsets[slices[i][j][1]]) - int(parts[i].offsets[slices[i][j][0]])
                        for i in range(len(parts))) for j in range(syncs_per_epoch)]
    total = corpus.n_tokens * planned
    history = []
    done = 0
    for epoch in range(planned):
        t0 = time.perf_counter()
        stats = {"words": 0, "trained_words": 0, "predictions": 0, "loss": 0.0}
        alpha_after = a0
        for j in range(syncs_per_epoch):
            alpha_before = a0 - (a0 - a1) * done / total
            done += slice_tokens[j]
            alpha_after = a0 - (a0 - a1) * done / total
            tasks = []
            for g in groups:
                pieces = []
                for i in g:
                    b, e = slices[i][j]
                    seed = int(np.random.SeedSequence([model.seed, epoch, j, i]).generate_state(1, np.uint64)[0])
                    pieces.append((refs[i], b, e, seed))
                tasks.append((win, wout, spec, pieces, alpha_before * lr_scale, alpha_after * lr_scale, epoch))
            results = run_round(f"{epoch}-{j}", tasks)
            _merge({"input": win, "output": wout}, results, merge)
            for r in results:
                for key in stats:
                    stats[key] += r["stats"][key]
        seconds = time.perf_counter() - t0
        report = {"epoch": epoch + 1, "words": stats["words"], "trained_words": stats["trained_words"],
                  "predictions": stats["predictions"],
                  "loss_per_word": stats["loss"] / max(stats["trained_words"], 1),
                  "loss_per_prediction": stats["loss"] / max(stats["predictions"], 1),
                  "seconds": seconds, "words_per_second": stats["words"] / seconds if seconds > 0 else float("inf"),
                  "alpha_end": alpha_after, "workers": n_groups, "syncs": syncs_per_epoch}
        history.append(report)
        for cb in callbacks:
            cb(model, report)
    state.arrays["input"], state.arrays["output"] = win, wout
    state.info["epochs_trained"] = int(state.info.get("epochs_trained", 0)) + planned
    state.info["schedule"] = {"epoch": planned, "epochs": planned}
    model.history.extend(history)
    meta = model._meta(False, 1, distributed={"job": job, "workers": n_groups, "syncs_per_epoch": syncs_per_epoch,
                                              "merge": merge})
    emb = Embeddings(win, state.words, counts=state.counts, meta=meta)
    model.embeddings_ = emb
    return emb


def train(
    client: Any,
    model: Any,
    corpus: Union[Corpus, ShardedCorpus],
    epochs: Optional[int] = None,
    syncs_per_epoch: Optional[int] = None,
    merge: Literal["scaled", "delta", "capped", "touched", "average"] = "scaled",
    *,
    allow_mixed: bool = False,
    callbacks: Sequence[Callable] = (),
):
    """Train a :class:`densevec.Word2Vec` data-parallel on a Dask cluster.

    The corpus is split into one group of parts per worker (the shards of a
    :class:`ShardedCorpus`, or ``n_workers`` sentence ranges of a
    :class:`Corpus`). Every epoch is cut into ``syncs_per_epoch`` rounds; in a
    round each worker trains a copy of the current weights on the next slice
    of its parts, returns the rows it changed and how, and the changes are
    merged into the weights sent out for the next round. The learning rate
    falls linearly with the global word count (all workers' tokens), from
    ``model.alpha`` to ``model.final_alpha``, as in one process.

    Parameters
    ----------
    client : dask.distributed.Client
    model : Word2Vec
        Trained further when it has weights (its vocabulary must be the
        corpus's), else set up on the corpus's vocabulary first.
    corpus : Corpus or ShardedCorpus
        On a filesystem every worker reads.
    epochs : int, optional
        Default ``model.epochs``.
    syncs_per_epoch : int, optional
        Merges per epoch. More keep the copies closer, fewer send the
        weights (both matrices, to every worker) less often. The default is
        at least 40, and enough that each copy trains at most 100,000 tokens
        between two merges (big.txt's 30M tokens: 151 at 2 workers, 76 at
        4, 40 at 8). Measured on big.txt with ``"scaled"``: at 4 workers, 80
        merges per epoch (94k tokens per copy and round) kept 1.2 points more
        analogy accuracy than 40 (188k), over three seeds; at 8 workers, 80
        (47k) did no better than 40 (94k).
    merge : {"scaled", "delta", "capped", "touched", "average"}
        How the copies are merged, see :func:`_merge`. ``"scaled"`` (the
        default): every copy trains at k times the schedule's learning rate
        (k the number of workers) and the copies are averaged, so that a row
        one copy touched moves as far as one process would move it while the
        frequent words' rows, which every copy drives to the same place within
        a round, move to the copies' mean instead of k times past it (a
        row's rate falls with how often a copy meets its word per round, down
        to the schedule's own rate for the most frequent words, see
        :func:`_scaled_row_rates`). It is the most accurate merge
        measured (``benchmarks/results/distributed.md``), and it needs
        rounds short enough (``syncs_per_epoch``'s default). The copies'
        starting rate is capped at 0.2 (8 workers at word2vec's 0.025; 16
        times that diverged): with more workers than that allows, a row one
        copy touched moves less than in one process. ``"delta"`` adds every
        change (collapses at 4 workers and more), ``"capped"`` adds them but
        moves a row at most twice their mean, ``"touched"`` averages a row's
        changes over the copies that changed it; ``"average"`` is naive
        averaging (Spark MLlib's), kept for comparison.
    allow_mixed : bool
        Allow a corpus other than the one the model was set up on.
    callbacks : sequence of callables
        ``cb(model, report)`` after every epoch.

    Returns
    -------
    Embeddings
        The input vectors (also ``model.embeddings_``); ``model.history`` gains
        one report per epoch.

    Raises
    ------
    RuntimeError
        When a round cannot finish (Dask reruns the tasks of a lost worker
        first); the model is then left exactly as it was.
    """
    client = _check_client(client, "train")
    workers = _n_workers(client)
    futures_spec: dict = {}

    def run_round(tag: str, tasks: list) -> list:
        win, wout, spec = tasks[0][0], tasks[0][1], tasks[0][2]
        if "spec" not in futures_spec:
            [futures_spec["spec"]] = client.scatter([spec], broadcast=True)
        fw, fo = client.scatter([win, wout], broadcast=True)
        futures = [client.submit(_train_pieces, fw, fo, futures_spec["spec"], *t[3:],
                                 key=f"densevec-train-{spec['key']}-{tag}-{g}", pure=False)
                   for g, t in enumerate(tasks)]
        return _gather(client, futures, "train", f"round {tag} (epoch-sync)")

    return _data_parallel(run_round, model, corpus, workers, epochs, syncs_per_epoch, merge, "train",
                          allow_mixed, callbacks)


def simulate(
    model: Any,
    corpus: Corpus,
    workers: int,
    epochs: Optional[int] = None,
    syncs_per_epoch: Optional[int] = None,
    merge: Literal["scaled", "delta", "capped", "touched", "average"] = "scaled",
    *,
    allow_mixed: bool = False,
    callbacks: Sequence[Callable] = (),
):
    """:func:`train` with `workers` simulated workers run one after the other
    in this process (the same split, schedule and merge; no Dask needed): for
    measuring accuracy against the number of workers on one machine.
    ``model.threads`` threads train each simulated worker's copy."""
    from densevec.corpus import resolve_threads

    workers = check_int("workers", workers, 1)
    threads = resolve_threads(model.threads) if hasattr(model, "threads") else 1

    def run_round(tag: str, tasks: list) -> list:
        out = []
        for t in tasks:
            spec = dict(t[2], threads=threads)
            out.append(_train_pieces(t[0], t[1], spec, *t[3:]))
        return out

    return _data_parallel(run_round, model, corpus, workers, epochs, syncs_per_epoch, merge, "simulate",
                          allow_mixed, callbacks)
