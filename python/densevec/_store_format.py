"""Files of a densevec store directory: writing, and checks before anything is mapped.

Used by :meth:`densevec.Embeddings.save` and :meth:`densevec.Embeddings.load`;
every problem raises ``ValueError`` naming the file. The vocabulary files of
format version 2 are described in :mod:`densevec._store_vocab`; version 1
stores (``vocab.txt``, one ``word<TAB>count`` per line) are still read.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from densevec import _fs, _search
from densevec._store_vocab import BLOB, COUNTS, HASH, HASH_NAME, OFFSETS, ListVocab, StoreVocab, encode_vocab

STORE_FORMAT = "densevec-store"
STORE_FORMAT_VERSION = 2  # 2: binary vocabulary (see _store_vocab); 1: vocab.txt, still read
READABLE_VERSIONS = (1, 2)


def _read_store_meta(path: Path) -> dict:
    doc = _fs.read_meta(path, STORE_FORMAT, READABLE_VERSIONS, "a densevec store")
    version = doc["format_version"]
    for key, lo in (("dim", 1), ("count", 0)):
        v = doc.get(key)
        if type(v) is not int or v < lo:
            raise ValueError(f"{path}: {key} must be an integer >= {lo}, got {v!r}")
    if doc.get("dtype") not in _search.DTYPES:
        raise ValueError(f"{path}: unsupported dtype {doc.get('dtype')!r}")
    for key in ("normalized", "has_counts"):
        if type(doc.get(key)) is not bool:
            raise ValueError(f"{path}: {key} must be true or false, got {doc.get(key)!r}")
    if not isinstance(doc.get("meta"), dict):
        raise ValueError(f"{path}: meta must be a JSON object")
    if version >= 2:
        vocab = doc.get("vocab")
        if not isinstance(vocab, dict) or vocab.get("hash") != HASH_NAME:
            raise ValueError(f"{path}: vocab must be an object with hash {HASH_NAME!r}, got {vocab!r}")
        size, buckets = vocab.get("bytes"), vocab.get("buckets")
        if type(size) is not int or not 2 * doc["count"] <= size < 1 << 62:
            raise ValueError(f"{path}: vocab.bytes must be an integer >= 2 * count, got {size!r}")
        if type(buckets) is not int or not 1 <= buckets < 1 << 62 or buckets & (buckets - 1):
            raise ValueError(f"{path}: vocab.buckets must be a power of two, got {buckets!r}")
    return doc


def _open_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype, mmap: bool) -> np.ndarray:
    """The array of the ``.npy`` file `path`, checked by :func:`_check_npy` first.

    Memory-mapped read-only when `mmap` (and not empty), else read into memory.
    """
    offset = _check_npy(path, shape, dtype)
    try:
        if mmap and 0 not in shape:
            return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
        with _fs.open_regular(path, "a .npy file") as f:
            f.seek(offset)
            count = math.prod(shape)
            arr = np.fromfile(f, dtype=dtype, count=count)
        if arr.size != count:
            raise ValueError(f"read {arr.size} of {count} items")
        return arr.reshape(shape)
    except (OSError, ValueError) as e:  # the header was checked: the file changed or cannot be read
        raise ValueError(f"{path}: cannot load: {e}") from e


def _check_npy(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Check the header of the ``.npy`` file `path` against `shape`, `dtype` and its size.

    Returns the offset of the data. ``ValueError`` naming the file on any mismatch.
    """
    try:
        with _fs.open_regular(path, "a .npy file") as f:
            size = os.fstat(f.fileno()).st_size
            _check_npy_header_length(f, size)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                hshape, fortran, hdtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                hshape, fortran, hdtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except Exception as e:  # numpy raises assorted errors on garbage headers
        raise ValueError(f"{path}: not a valid .npy file: {e}") from None
    if hdtype != dtype:
        raise ValueError(f"{path}: dtype {hdtype}, expected {dtype} (as meta.json says)")
    if fortran:
        raise ValueError(f"{path}: Fortran order, expected C order")
    if tuple(hshape) != shape:
        raise ValueError(f"{path}: shape {tuple(hshape)}, meta.json says {shape}")
    expected = offset + dtype.itemsize * math.prod(shape)
    if size != expected:
        raise ValueError(f"{path}: {size} bytes, expected {expected} (truncated or padded)")
    return offset


def _check_npy_header_length(f, size: int) -> None:
    """Refuse a header length beyond the file before numpy reads (and allocates) it."""
    head = f.read(12)
    f.seek(0)
    if len(head) < 10 or not head.startswith(b"\x93NUMPY"):
        raise ValueError("no .npy magic")
    length = int.from_bytes(head[8:10], "little") if head[6] == 1 else int.from_bytes(head[8:12], "little")
    if length > min(size, 1 << 16):
        raise ValueError(f"header length {length} exceeds the file ({size} bytes) or 64 KiB")


# ================================================================ whole stores
_I64 = np.dtype("<i8")
_U8 = np.dtype("u1")
_F32 = np.dtype("<f4")


def write_store(
    path: Path, vectors: np.ndarray, scales: np.ndarray | None, words: Sequence[str],
    counts: np.ndarray | None, meta: dict, overwrite: bool = False,
    extra_arrays: dict[str, np.ndarray] | None = None, extra_doc: dict | None = None,
) -> Path:
    """Write a store directory (format version 2) atomically; see :meth:`Embeddings.save`.

    ``extra_arrays`` (file name -> array) are written and checksummed beside
    the others and ``extra_doc`` is merged into ``meta.json`` (a model's own
    parts, e.g. FastText's n-gram matrix, read back by that model).

    Everything :func:`read_store` checks is checked first, so a store that
    would not load is never written (and never replaces a good one).
    """
    dtype_name = {"f": "float32", "e": "float16", "b": "int8"}[vectors.dtype.char]
    if vectors.ndim != 2 or vectors.shape[1] < 1:
        raise ValueError(f"cannot save vectors of shape {vectors.shape}: a store needs dim >= 1")
    if scales is not None and (not np.isfinite(scales).all() or (scales < 0).any()):
        raise ValueError("cannot save int8 vectors whose scales are not finite and non-negative "
                         "(quantised from vectors holding NaN or infinity?)")
    blob, offsets, table, buckets = encode_vocab(words)
    doc = {
        "format": STORE_FORMAT,
        "format_version": STORE_FORMAT_VERSION,
        "dim": int(vectors.shape[1]),
        "count": int(vectors.shape[0]),
        "dtype": dtype_name,
        "quantization": {"scale": "per-row", "file": "scales.npy"} if scales is not None else None,
        "normalized": bool(meta.get("normalized", False)),
        "has_counts": counts is not None,
        "vocab": {"hash": HASH_NAME, "buckets": buckets, "bytes": int(blob.size)},
        "meta": meta,
        **(extra_doc or {}),
    }
    arrays = {"vectors.npy": vectors, BLOB: blob, OFFSETS: offsets, HASH: table, **(extra_arrays or {})}
    if scales is not None:
        arrays["scales.npy"] = np.asarray(scales, dtype=np.float32)
    if counts is not None:
        arrays[COUNTS] = np.asarray(counts, dtype=np.int64)
    # the checksums add at most ~100 bytes per file to the size checked here
    _check_meta_size(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False), 120 * len(arrays))
    with _fs.staged_dir(path, "store", overwrite=overwrite) as tmp:
        checksums = {}
        for name, arr in arrays.items():
            with open(tmp / name, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
            checksums[name] = _fs.sha256_file(tmp / name)
        doc["checksums"] = {"algorithm": "sha256", "files": checksums}
        meta_text = json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        _check_meta_size(meta_text, 0)
        with open(tmp / "meta.json", "w", encoding="utf-8", newline="\n") as f:
            f.write(meta_text)
    return path


def _check_meta_size(text: str, extra: int) -> None:
    size = len(text.encode("utf-8")) + extra
    if size > _fs.META_LIMIT:
        raise ValueError(f"meta.json would take {size} bytes, more than the {_fs.META_LIMIT >> 20} MiB a store "
                         "may hold: keep Embeddings.meta small (parameters, not data)")


def verify_checksums(path: Path, doc: dict) -> int:
    """Check the SHA-256 of every file that ``meta.json`` lists; returns how many were checked.

    Stores written before checksums existed list none (0 is returned).
    ``ValueError`` naming the file on a mismatch or a malformed list.
    """
    sums = doc.get("checksums")
    if sums is None:
        return 0
    meta_path = path / "meta.json"
    if not isinstance(sums, dict) or sums.get("algorithm") != "sha256" or not isinstance(sums.get("files"), dict):
        raise ValueError(f"{meta_path}: checksums must be {{'algorithm': 'sha256', 'files': {{...}}}}")
    for name, want in sums["files"].items():
        if not isinstance(name, str) or "/" in name or name.startswith(".") or not isinstance(want, str):
            raise ValueError(f"{meta_path}: bad checksum entry {name!r}: {want!r}")
        try:
            got = _fs.sha256_file(path / name)
        except FileNotFoundError:
            raise ValueError(f"{path / name}: missing (meta.json lists its checksum)") from None
        if got != want:
            raise ValueError(f"{path / name}: SHA-256 {got} differs from meta.json's {want} (damaged or modified)")
    return len(sums["files"])


def read_store(
    path: Path, mmap: bool, verify: bool,
) -> tuple[dict, np.ndarray, np.ndarray | None, ListVocab | StoreVocab]:
    """meta.json, vectors, int8 scales (or None) and vocabulary of the store `path`, all checked.

    Version 2 stores: the vocabulary files are mapped (O(1) checks; all O(n)
    checks when `verify`). Version 1 stores: ``vocab.txt`` is parsed.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such store")
    if not path.is_dir():
        raise ValueError(f"{path}: not a densevec store (not a directory)")
    doc = _read_store_meta(path / "meta.json")
    count, dim = doc["count"], doc["dim"]
    vocab: ListVocab | StoreVocab
    if doc["format_version"] == 1:
        words, counts = _fs.read_vocab_txt(path / "vocab.txt", count)
        try:
            vocab = ListVocab(words, counts if doc["has_counts"] else None)
        except ValueError as e:
            raise ValueError(f"{path / 'vocab.txt'}: {e}") from None
    else:
        v = doc["vocab"]
        vocab = StoreVocab(
            path,
            _open_npy(path / BLOB, (v["bytes"],), _U8, mmap),
            _open_npy(path / OFFSETS, (count + 1,), _I64, mmap),
            _open_npy(path / HASH, (v["buckets"] + 1 + count,), _I64, mmap),
            _open_npy(path / COUNTS, (count,), _I64, mmap) if doc["has_counts"] else None,
            v["buckets"],
        )
        if verify:
            vocab.verify()
    vectors = _open_npy(path / "vectors.npy", (count, dim), _search.DTYPES[doc["dtype"]], mmap)
    scales = None
    if doc["dtype"] == "int8":
        spath = path / "scales.npy"
        scales = _open_npy(spath, (count,), _F32, False)
        if not np.isfinite(scales).all() or (scales < 0).any():
            raise ValueError(f"{spath}: scales must be finite and non-negative")
    _check_normalized_claim(path, doc, vectors, scales)
    if verify:  # after the structural checks, whose messages say more than a checksum's
        verify_checksums(path, doc)
    return doc, vectors, scales, vocab


def _check_complete(path: Path) -> None:
    """What :mod:`densevec._fs` asks before replacing `path`: a store that opens (O(1) checks)."""
    read_store(path, mmap=True, verify=False)


_fs.register_kind("store", STORE_FORMAT, _check_complete)


# How far from 1 the norm of a sampled nonzero row of a store that claims
# unit-length rows may be: float32 rows divided by their norm are within ~1e-6;
# float16 and int8 (quantised after normalising) round each entry.
_NORM_TOLERANCE = {"float32": 1e-3, "float16": 1e-2, "int8": 5e-2}
_NORM_SAMPLE = 64


def _check_normalized_claim(path: Path, doc: dict, vectors: np.ndarray, scales: np.ndarray | None) -> None:
    """``ValueError`` naming ``meta.json`` when it says the rows have unit length and a sample disagrees.

    Cosine search scans float32 rows marked normalized without dividing by
    their norms, so a false claim would give wrong scores (above 1). The
    check reads `_NORM_SAMPLE` rows spread evenly over the store (first and
    last included): zero rows pass, any other must have norm 1 within
    `_NORM_TOLERANCE` of its dtype. The store is refused, not silently
    treated as not normalised: meta.json contradicts the data it describes.
    """
    claim = doc["normalized"] or bool(doc["meta"].get("normalized"))
    n = doc["count"]
    if not claim or n == 0:
        return
    rows = np.unique(np.linspace(0, n - 1, num=min(n, _NORM_SAMPLE)).round().astype(np.int64))
    sample = _search.dequantize(np.asarray(vectors[rows]), None if scales is None else scales[rows])
    norms = np.linalg.norm(sample.astype(np.float64), axis=1)
    ok = (norms == 0) | (np.abs(norms - 1) <= _NORM_TOLERANCE[doc["dtype"]])
    if not ok.all():
        i = int(np.argmin(ok))
        raise ValueError(f"{path / 'meta.json'}: says the rows are normalized (unit length), but row "
                         f"{int(rows[i])} of vectors.npy has norm {norms[i]:.6g}")

