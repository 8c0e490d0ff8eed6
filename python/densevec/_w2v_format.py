"""Text and binary vector files: word2vec (``word2vec.c``, gensim), fastText ``.vec``, GloVe.

* word2vec text, fastText ``.vec``: a ``"count dim"`` header line, then
  ``word v1 ... vdim`` per line (one space between fields; trailing
  whitespace, as ``word2vec.c`` writes it, is ignored);
* GloVe text: the same lines without the header (``no_header=True``);
* word2vec binary: the same header, then per row the UTF-8 word, a space,
  ``dim`` little-endian float32 and (optionally) a newline.

Used by :meth:`densevec.Embeddings.load_word2vec_format` and
:meth:`~densevec.Embeddings.save_word2vec_format`. Readers stream: they read
one line (or a 1 MiB block) at a time into a preallocated float32 matrix, whose
size is bounded by what the file can hold, so no header can make them allocate
more than about twice the file size. Every problem raises ``ValueError``
naming the file and the line (text) or record (binary): a header that is not
``count dim``, a row with the wrong number of fields, a bad number, invalid
UTF-8, fewer or more rows than the header announces, and a duplicate word
(refused, naming both lines; gensim keeps the first and logs a warning).
Writers write to a temporary name in the destination directory and rename it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from densevec import _fs

_MAX_WORD_BYTES = 1 << 16
_MAX_HEADER_BYTES = 1024
_READ_CHUNK = 1 << 20
_BAD_WORD_CHARS = " \t\n\r"


# ======================================================================= reading
def read_vectors(
    path: Path, binary: bool, no_header: bool, limit: int | None = None, unicode_errors: str = "strict",
) -> tuple[list[str], dict[str, int], np.ndarray]:
    """Words, ``{word: row}`` and float32 ``(n, dim)`` vectors of the file `path`.

    `limit`: read only the first `limit` rows (the rest of the file is not
    read). `unicode_errors`: how words that are not valid UTF-8 are decoded
    (``"strict"`` raises; ``"replace"``, ``"ignore"``: see ``bytes.decode``).
    """
    if binary and no_header:
        raise ValueError("no_header=True is for text files (GloVe); binary word2vec files always have a header")
    with _fs.open_regular(path, "a word2vec, fastText or GloVe vector file") as f:
        _refuse_other_formats(f, path)
        size = os.fstat(f.fileno()).st_size
        if no_header:
            return _read_glove(f, path, size, limit, unicode_errors)
        head = f.readline(_MAX_HEADER_BYTES)
        n, dim = _parse_header(path, head)
        if limit is not None:
            n = min(n, limit)
        left = size - len(head)
        min_row = 4 * dim + 2 if binary else 2 * dim + 2
        if n * min_row - 1 > left:
            raise ValueError(f"{path}: truncated: header says {n} rows of dim {dim}, only {left} bytes follow")
        if binary:
            return _read_binary(f, path, n, dim, limit is None, unicode_errors)
        try:
            words, index, vectors, _ = _read_text_rows(f, path, n, dim, first_line=2, exact=True,
                                                       check_end=limit is None, unicode_errors=unicode_errors)
        except ValueError as e:
            if _looks_binary(f, len(head)):
                raise ValueError(f"{path}: looks like a word2vec *binary* file (bytes that are not text follow "
                                 f"the header): load it with binary=True") from e
            raise
        return words, index, vectors


def _parse_header(path: Path, head: bytes) -> tuple[int, int]:
    parts = head.split()
    if (
        not head.endswith(b"\n") or len(parts) != 2
        or not all(p.isdigit() and len(p) < 19 for p in parts)
    ):
        raise ValueError(f"{path}: line 1: expected a 'count dim' header, got {head[:80]!r}")
    n, dim = int(parts[0]), int(parts[1])
    if dim < 1:
        raise ValueError(f"{path}: line 1: dim must be >= 1, got {dim}")
    return n, dim


def _read_glove(
    f, path: Path, size: int, limit: int | None = None, unicode_errors: str = "strict",
) -> tuple[list[str], dict[str, int], np.ndarray]:
    """Rows without a header: dim from the first line, a capacity from a first pass counting lines."""
    lines = 0
    last = b"\n"
    while chunk := f.read(_READ_CHUNK):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    lines += last != b"\n"
    f.seek(0)
    first = f.readline().decode("utf-8", "replace").rstrip()  # bad UTF-8 is reported with the rows
    dim = len(first.split(" ")) - 1 if first else 0
    if dim < 1:
        what = "no vectors (empty file or blank first line)" if not first else "expected a word and numbers"
        raise ValueError(f"{path}: line 1: {what} (GloVe text: 'word v1 v2 ...' per line, no header)")
    f.seek(0)
    cap = min(lines, (size + 1) // (2 * dim + 1))  # a row takes at least 2 * dim + 1 bytes
    if limit is not None:
        cap = min(cap, limit)
    words, index, vectors, rows = _read_text_rows(f, path, cap, dim, first_line=1, exact=False,
                                                  check_end=limit is None, unicode_errors=unicode_errors)
    return words, index, (vectors if rows == cap else vectors[:rows].copy())


def _read_text_rows(
    f, path: Path, n: int, dim: int, first_line: int, exact: bool, check_end: bool = True,
    unicode_errors: str = "strict",
) -> tuple[list[str], dict[str, int], np.ndarray, int]:
    """Up to `n` rows (exactly `n` when `exact`, else until a blank line or the end)."""
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
    index: dict[str, int] = {}
    i = 0
    while i < n:
        line_no = first_line + i
        raw = f.readline()
        if not raw or (not exact and not raw.strip()):
            if exact:
                raise ValueError(f"{path}: line {line_no}: unexpected end of file; header says {n} rows, found {i}")
            break
        try:
            parts = raw.decode("utf-8", unicode_errors).rstrip().split(" ")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: line {line_no}: not valid UTF-8 at byte {e.start}") from None
        if len(parts) != dim + 1 or not parts[0]:
            raise ValueError(f"{path}: line {line_no}: expected a word and {dim} numbers, found {len(parts)} fields")
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next((p for p in parts[1:] if not _is_float(p)), "?")
            raise ValueError(f"{path}: line {line_no}: bad number {bad[:40]!r}") from None
        word = parts[0]
        j = index.setdefault(word, i)
        if j != i:
            raise ValueError(f"{path}: line {line_no}: duplicate word {word!r} (first on line {first_line + j})")
        words.append(word)
        i += 1
    what = "rows the header announces" if exact else "rows (a blank line ends the data)"
    if check_end:
        _check_trailing(f, path, f"the {i} {what}", b" \t\r\n")
    return words, index, vectors, i


def _is_float(s: str) -> bool:
    try:
        np.float32(s)
        return True
    except ValueError:
        return False


def _read_binary(
    f, path: Path, n: int, dim: int, check_end: bool = True, unicode_errors: str = "strict",
) -> tuple[list[str], dict[str, int], np.ndarray]:
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
    index: dict[str, int] = {}
    row = 4 * dim
    buf = b""
    pos = 0
    eof = False

    def fill(need: int) -> bool:
        nonlocal buf, pos, eof
        while len(buf) - pos < need and not eof:
            chunk = f.read(max(_READ_CHUNK, need))
            eof = not chunk
            buf = buf[pos:] + chunk
            pos = 0
        return len(buf) - pos >= need

    for i in range(n):
        where = f"{path}: record {i + 1} of {n}"
        while True:
            sp = buf.find(b" ", pos, pos + _MAX_WORD_BYTES + 1)
            if sp >= 0 or len(buf) - pos > _MAX_WORD_BYTES:
                break
            before = len(buf) - pos
            fill(before + 1)
            if len(buf) - pos == before:
                raise ValueError(f"{where}: unexpected end of file while reading a word")
        if sp < 0:
            raise ValueError(f"{where}: no space after the word within {_MAX_WORD_BYTES} bytes")
        word_bytes = buf[pos:sp].lstrip(b"\n")
        if not word_bytes or b"\n" in word_bytes:
            raise ValueError(f"{where}: malformed word {word_bytes[:40]!r}")
        try:
            word = word_bytes.decode("utf-8", unicode_errors)
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: word is not valid UTF-8 at byte {e.start}") from None
        pos = sp + 1
        if not fill(row):
            raise ValueError(f"{where}: truncated vector ({len(buf) - pos} of {row} bytes)")
        vectors[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
        pos += row
        j = index.setdefault(word, i)
        if j != i:
            raise ValueError(f"{where}: duplicate word {word!r} (first in record {j + 1})")
        words.append(word)
    if not check_end:
        return words, index, vectors
    if buf[pos:].strip(b"\n"):
        raise ValueError(f"{path}: data after the {n} records the header announces")
    _check_trailing(f, path, f"the {n} records the header announces", b"\n")
    return words, index, vectors


_PICKLE_PREFIX = b"\x80"  # pickle protocol >= 2 (gensim's save() writes protocol 4)
_FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")  # fastText's .bin / .ftz


def _refuse_other_formats(f, path: Path) -> None:
    """``ValueError`` saying what the file is when it is a Python pickle or a fastText model."""
    start = f.read(4)
    f.seek(0)
    if start == _FASTTEXT_MAGIC:
        raise ValueError(f"{path}: this is a fastText model (.bin), not a vector file; densevec reads the .vec "
                         f"text file fastText writes next to it (or `fasttext print-word-vectors` output)")
    if start[:1] == _PICKLE_PREFIX and len(start) > 1 and 2 <= start[1] <= 5:
        raise ValueError(f"{path}: this is a Python pickle (what gensim's KeyedVectors.save / Word2Vec.save "
                         f"write), not a word2vec file; in gensim, load it and call "
                         f"kv.save_word2vec_format(path) (add binary=True for the binary format)")


def _looks_binary(f, start: int) -> bool:
    """Whether the bytes after the header (at `start`) hold binary data (NULs, control bytes, much bad UTF-8)."""
    f.seek(start)
    sample = f.read(1 << 16)
    if any(b in sample for b in (b"\x00", b"\x01", b"\x02", b"\x03", b"\x04")):
        return True
    # Packed floats are full of bytes that are not UTF-8; a text file has a few bad words at most.
    return sample.decode("utf-8", "replace").count("\ufffd") >= 8


def _check_trailing(f, path: Path, what: str, allowed: bytes) -> None:
    while chunk := f.read(_READ_CHUNK):
        if chunk.strip(allowed):
            raise ValueError(f"{path}: data after {what}")


# ======================================================================= writing
def write_vectors(
    path: Path, n: int, dim: int, chunks: Iterable[tuple[int, list[str], np.ndarray]],
    binary: bool, write_header: bool, overwrite: bool = True,
) -> Path:
    """Write `n` rows given as ``(first_row, words, float32 rows)`` chunks to `path`, atomically.

    Written under a temporary name beside `path` (see :func:`densevec._fs.atomic_file`).
    Text rows use the shortest decimal that reads back to the same float32.
    """
    if binary and not write_header:
        raise ValueError("write_header=False is for text files (GloVe); binary word2vec files need the header")
    with _fs.atomic_file(path, overwrite=overwrite) as tmp, open(tmp, "xb") as f:
        if write_header:
            f.write(f"{n} {dim}\n".encode("ascii"))
        for start, words, rows in chunks:
            _check_words(words, start)
            if binary:
                raw = rows.astype("<f4").tobytes()
                step = 4 * dim
                f.write(b"".join(
                    w.encode("utf-8") + b" " + raw[j * step:(j + 1) * step] + b"\n" for j, w in enumerate(words)
                ))
            else:
                f.write("".join(
                    w + " " + " ".join(map(str, row)) + "\n" for w, row in zip(words, rows)
                ).encode("utf-8"))
    return path


def _check_words(words: list[str], start: int) -> None:
    for i, w in enumerate(words):
        if not w or any(ch in w for ch in _BAD_WORD_CHARS):
            raise ValueError(f"word {w!r} at index {start + i} cannot be written in a text or word2vec file "
                             f"(empty or whitespace)")
        try:
            w.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"word {w!r} at index {start + i} is not encodable as UTF-8") from None


# ================================================================ counts (fvocab)
def write_counts(path: Path, words: Iterable[str], counts: np.ndarray, overwrite: bool = True) -> Path:
    """Write gensim's ``fvocab`` file: ``word count`` per line, in row order, atomically."""
    with _fs.atomic_file(path, overwrite=overwrite) as tmp, open(tmp, "xb") as f:
        f.write("".join(f"{w} {int(c)}\n" for w, c in zip(words, counts)).encode("utf-8"))
    return path


def read_counts(path: Path, words: list[str], unicode_errors: str = "strict") -> np.ndarray:
    """Counts of `words` from a ``word count`` per line file (gensim's ``fvocab``), int64.

    Words of the file that are not in `words` are ignored (a vector file read
    with ``limit``); a word of `words` missing from the file, a malformed line,
    a negative count or a word listed twice raises ``ValueError`` naming the
    file and the line.
    """
    found: dict[str, int] = {}
    with _fs.open_regular(path, "a word counts file (fvocab)") as f:
        for line_no, raw in enumerate(f, 1):
            parts = raw.decode("utf-8", unicode_errors).rstrip("\r\n").split(" ")
            if len(parts) != 2 or not parts[0] or not parts[1].isdigit():
                raise ValueError(f"{path}: line {line_no}: expected 'word count', got {raw[:80]!r}")
            if parts[0] in found:
                raise ValueError(f"{path}: line {line_no}: word {parts[0]!r} is listed twice")
            found[parts[0]] = int(parts[1])
    counts = np.empty(len(words), dtype=np.int64)
    for i, w in enumerate(words):
        c = found.get(w)
        if c is None:
            raise ValueError(f"{path}: no count for the word {w!r} (row {i} of the vectors)")
        counts[i] = c
    return counts
