"""Readers of the word2vec text and binary formats (streaming, validated).

Used by :meth:`densevec.Embeddings.load_word2vec_format`; every problem raises
``ValueError`` naming the file and the line or record.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

_MAX_WORD_BYTES = 1 << 16
_READ_CHUNK = 1 << 20


def _parse_w2v_header(path: Path, head: bytes) -> tuple[int, int]:
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


def _read_w2v_text(f, path: Path, n: int, dim: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
    for i in range(n):
        line_no = i + 2
        raw = f.readline()
        if not raw:
            raise ValueError(f"{path}: line {line_no}: unexpected end of file; header says {n} rows, found {i}")
        try:
            parts = raw.decode("utf-8").rstrip().split(" ")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: line {line_no}: not valid UTF-8 at byte {e.start}") from None
        if len(parts) != dim + 1 or not parts[0]:
            raise ValueError(f"{path}: line {line_no}: expected a word and {dim} numbers, found {len(parts)} fields")
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_float(p))
            raise ValueError(f"{path}: line {line_no}: bad number {bad[:40]!r}") from None
        words.append(parts[0])
    _check_trailing(f, path, n, b" \t\r\n")
    return words, vectors


def _is_float(s: str) -> bool:
    try:
        np.float32(s)
        return True
    except ValueError:
        return False


def _read_w2v_binary(f, path: Path, n: int, dim: int) -> tuple[list[str], np.ndarray]:
    vectors = np.empty((n, dim), dtype=np.float32)
    words: list[str] = []
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
            word = word_bytes.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: word is not valid UTF-8 at byte {e.start}") from None
        pos = sp + 1
        if not fill(row):
            raise ValueError(f"{where}: truncated vector ({len(buf) - pos} of {row} bytes)")
        vectors[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
        pos += row
        words.append(word)
    rest = buf[pos:]
    if rest.strip(b"\n"):
        raise ValueError(f"{path}: data after the {n} records the header announces")
    _check_trailing(f, path, n, b"\n")
    return words, vectors


def _check_trailing(f, path: Path, n: int, allowed: bytes) -> None:
    while True:
        chunk = f.read(_READ_CHUNK)
        if not chunk:
            return
        if chunk.strip(allowed):
            raise ValueError(f"{path}: data after the {n} rows the header announces")
