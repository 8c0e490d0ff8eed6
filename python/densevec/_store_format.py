"""Files of a densevec store directory: checks before anything is mapped.

Used by :meth:`densevec.Embeddings.save` and :meth:`densevec.Embeddings.load`;
every problem raises ``ValueError`` naming the file.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path

import numpy as np

from densevec import _search

STORE_FORMAT = "densevec-store"
STORE_FORMAT_VERSION = 1
_COUNT_RE = re.compile(r"[0-9]+")


def _fresh_sibling(path: Path, tag: str) -> Path:
    """A new hidden name next to `path` for a temporary file or directory."""
    return path.parent / f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _is_store(path: Path) -> bool:
    try:
        with open(path / "meta.json", encoding="utf-8") as f:
            return json.load(f).get("format") == STORE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _replace_dir(tmp: Path, path: Path) -> None:
    """Move the finished directory `tmp` to `path`, replacing an existing store there."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    if not path.is_dir() or path.is_symlink() or not (_is_store(path) or not any(path.iterdir())):
        raise FileExistsError(f"{path} exists and is not a densevec store; refusing to replace it")
    old = _fresh_sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _read_store_meta(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read(1 << 24).decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not valid UTF-8 JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if doc.get("format") != STORE_FORMAT:
        raise ValueError(f"{path}: format is {doc.get('format')!r}, expected {STORE_FORMAT!r}")
    if doc.get("format_version") != STORE_FORMAT_VERSION or type(doc.get("format_version")) is not int:
        raise ValueError(f"{path}: unsupported format_version {doc.get('format_version')!r}")
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
    return doc


def _read_vocab(path: Path, count: int) -> tuple[list[str], np.ndarray]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    lines = text.split("\n")
    if lines[-1] != "":
        raise ValueError(f"{path}: line {len(lines)}: missing final newline (truncated?)")
    lines.pop()
    if len(lines) != count:
        raise ValueError(f"{path}: {len(lines)} lines, meta.json says count={count}")
    words: list[str] = []
    counts = np.empty(count, dtype=np.int64)
    for i, line in enumerate(lines):
        word, tab, c = line.rpartition("\t")
        if not tab or not word or not _COUNT_RE.fullmatch(c) or len(c) > 18:
            raise ValueError(f"{path}: line {i + 1}: expected 'word<TAB>count', got {line[:80]!r}")
        words.append(word)
        counts[i] = int(c)
    return words, counts


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as e:  # header was checked; this is an I/O-level failure
        raise ValueError(f"{path}: cannot load: {e}") from e


def _check_npy(path: Path, shape: tuple[int, ...], dtype_name: str) -> None:
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                hshape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: missing") from None
    except Exception as e:  # numpy raises assorted errors on garbage headers
        raise ValueError(f"{path}: not a valid .npy file: {e}") from None
    want = _search.DTYPES[dtype_name]
    if dtype != want:
        raise ValueError(f"{path}: dtype {dtype}, expected {want} ({dtype_name}, as meta.json says)")
    if fortran:
        raise ValueError(f"{path}: Fortran order, expected C order")
    if tuple(hshape) != shape:
        raise ValueError(f"{path}: shape {tuple(hshape)}, meta.json/vocab.txt say {shape}")
    expected = offset + want.itemsize * int(np.prod(shape))
    if size != expected:
        raise ValueError(f"{path}: {size} bytes, expected {expected} (truncated or padded)")
