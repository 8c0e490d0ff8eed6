"""Vocabularies of :class:`densevec.Embeddings`: in memory, or memory-mapped from a store.

Two implementations of one small interface (``len``, ``index``, ``word``,
``words``, ``index_to_word``, ``key_to_index``, ``counts``):

* :class:`ListVocab` holds a list of words and a dict, built eagerly (the
  constructor of ``Embeddings``, foreign formats, stores of format version 1);
* :class:`StoreVocab` reads the binary vocabulary of a store (format version 2)
  through memory maps and builds nothing at open time.

Binary vocabulary of a store directory (all ``.npy``, C order, little-endian;
``numpy.load(mmap_mode="r")`` opens each one):

``vocab_blob.npy``    uint8 ``(B,)``: the UTF-8 bytes of every word in row order,
                      each followed by one ``b"\\n"`` (words are non-empty and
                      have no newline).
``vocab_offsets.npy`` int64 ``(n + 1,)``: ``offsets[i]`` is the byte where the
                      word of row ``i`` starts, ``offsets[n] == B``; the word is
                      ``blob[offsets[i] : offsets[i + 1] - 1]``.
``vocab_hash.npy``    int64 ``(nb + 1 + n,)``: a bucketed hash index for
                      word -> row. ``nb`` (a power of two, ``>= n``) is in
                      ``meta.json``. A word's bucket is
                      ``zlib.crc32(utf8) & (nb - 1)``; ``table[:nb + 1]`` are
                      bucket starts (``table[0] == 0``, ``table[nb] == n``), and
                      the rows of bucket ``b``, in increasing order, are
                      ``table[nb + 1 + table[b] : nb + 1 + table[b + 1]]``.
``vocab_counts.npy``  int64 ``(n,)``: corpus counts, present when
                      ``meta.json`` says ``has_counts``.

Opening checks only what is O(1): each file's ``.npy`` header against the
shapes ``meta.json`` announces and the file size, the first and last offset,
the final newline, the first and last bucket start. Every later access checks
what it reads (offsets in range and on word boundaries, bucket ranges and
rows in range), so a corrupted file raises ``ValueError`` naming it, never
an ``IndexError`` or a crash; no offset is ever handed to C++ code. The O(n)
checks (every offset, UTF-8 of the whole blob, unique words, the hash index
rebuilt and compared, non-negative counts) run when the full word list or
dict is first built, when ``counts`` is first read (counts only), or at once
with ``Embeddings.load(..., verify=True)``.

A damaged file that stays in range must not give a wrong answer either:

* the first lookup of a word or of a row checks every offset against the
  newlines of the blob (vectorised, about 10 ms per million words), so the
  word of row ``i`` is the ``i``-th word of the blob and a hash hit (checked
  byte for byte) is the right row;
* a hash miss is trusted only once the index has been rebuilt from the blob
  and found equal to ``vocab_hash.npy``: the first miss does that (about
  0.2 s per million words, once), so a damaged index (a bucket start off by
  one, a duplicated entry) cannot hide a word. A mismatch raises
  ``ValueError`` naming ``vocab_hash.npy`` rather than repairing the index
  in memory: the store is damaged, and other files of it may be too.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

BLOB, OFFSETS, HASH, COUNTS = "vocab_blob.npy", "vocab_offsets.npy", "vocab_hash.npy", "vocab_counts.npy"
HASH_NAME = "crc32"
_NL = 10


def bucket_count(n: int) -> int:
    """Number of hash buckets for `n` words: the smallest power of two >= max(n, 1)."""
    return 1 << (max(n, 1) - 1).bit_length()


class ListVocab:
    """Words and counts held in Python objects: a list and a dict, built eagerly.

    Parameters
    ----------
    words : sequence of str
        One word per row; non-str items and duplicates raise.
    counts : array of int, shape (n,), optional
        Non-negative counts.
    key_to_index : dict, optional
        The dict ``{word: row}`` when the caller has already built it (and
        checked it: no duplicates).
    """

    def __init__(
        self, words: Sequence[str], counts: np.ndarray | None = None,
        key_to_index: dict[str, int] | None = None,
    ) -> None:
        words = list(words)
        if key_to_index is None:
            key_to_index = {}
            for i, w in enumerate(words):
                if not isinstance(w, str):
                    raise TypeError(f"words must be str, got {type(w).__name__} at index {i}")
                j = key_to_index.setdefault(w, i)
                if j != i:
                    raise ValueError(f"duplicate word {w!r} at indices {j} and {i}")
        self._words = words
        self._index = key_to_index
        self._counts = _checked_counts(counts, len(words))

    def __len__(self) -> int:
        return len(self._words)

    def index(self, word: object) -> int:
        """Row of `word`, or -1."""
        return self._index.get(word, -1) if isinstance(word, str) else -1

    def word(self, i: int) -> str:
        return self._words[i]

    def words(self, start: int, stop: int) -> list[str]:
        return self._words[start:stop]

    @property
    def index_to_word(self) -> list[str]:
        return self._words

    @property
    def key_to_index(self) -> dict[str, int]:
        return self._index

    @property
    def counts(self) -> np.ndarray | None:
        return self._counts

    def verify(self) -> None:
        """Nothing to do: everything was checked at construction."""


def _checked_counts(counts: np.ndarray | None, n: int) -> np.ndarray | None:
    if counts is None:
        return None
    c = np.asarray(counts)
    if c.shape != (n,):
        raise ValueError(f"counts must have shape ({n},), got {c.shape}")
    if c.size and not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"counts must be integers, got {c.dtype}")
    if c.size and c.min() < 0:
        raise ValueError("counts must be non-negative")
    return c.astype(np.int64)


class StoreVocab:
    """The binary vocabulary of a store, read through memory maps (see the module docstring).

    Parameters
    ----------
    directory : Path
        The store directory (for messages).
    blob, offsets, table : numpy.ndarray
        ``vocab_blob.npy`` (uint8), ``vocab_offsets.npy`` and ``vocab_hash.npy``
        (int64), mapped or read, their headers already checked.
    counts : numpy.ndarray or None
        ``vocab_counts.npy`` (int64), checked for negative values on first use.
    buckets : int
        Number of hash buckets, a power of two.
    """

    def __init__(
        self, directory: Path, blob: np.ndarray, offsets: np.ndarray, table: np.ndarray,
        counts: np.ndarray | None, buckets: int,
    ) -> None:
        self._dir = directory
        self._n = len(offsets) - 1
        self._size = len(blob)
        self._nb = buckets
        self._blob_array = blob
        self._offsets_array = offsets
        self._table_array = table
        # memoryviews: indexing them gives Python ints and bytes, ~10x faster than numpy scalars
        self._blob = memoryview(np.ascontiguousarray(blob).view(np.ndarray))
        self._off = memoryview(np.ascontiguousarray(offsets).view(np.ndarray))
        self._table = memoryview(np.ascontiguousarray(table).view(np.ndarray))
        self._raw_counts = counts
        self._counts: np.ndarray | None = None
        self._list: list[str] | None = None
        self._dict: dict[str, int] | None = None
        self._offsets_checked = False  # every offset matches the blob's newlines
        self._index_checked = False  # vocab_hash.npy equals the index rebuilt from the blob
        off = self._off
        if off[0] != 0 or off[self._n] != self._size:
            raise ValueError(f"{self._path(OFFSETS)}: offsets run from {off[0]} to {off[self._n]}, "
                             f"expected 0 to {self._size} (the size of {BLOB})")
        if self._size and self._blob[self._size - 1] != _NL:
            raise ValueError(f"{self._path(BLOB)}: does not end with a newline (truncated?)")
        if self._table[0] != 0 or self._table[buckets] != self._n:
            raise ValueError(f"{self._path(HASH)}: bucket starts run from {self._table[0]} to "
                             f"{self._table[buckets]}, expected 0 to {self._n}")

    def _path(self, name: str) -> Path:
        return self._dir / name

    def _corrupt(self, name: str, what: str) -> ValueError:
        return ValueError(f"{self._path(name)}: corrupted: {what}")

    def __len__(self) -> int:
        return self._n

    # ---------------------------------------------------------- one word
    def _span(self, i: int) -> tuple[int, int]:
        """Byte range of the word of row `i` (checked: in range, on word boundaries)."""
        a, e = self._off[i], self._off[i + 1]
        blob = self._blob
        if not (0 <= a < e - 1 < self._size) or blob[e - 1] != _NL or (a and blob[a - 1] != _NL):
            raise self._corrupt(OFFSETS, f"row {i}: offsets {a}..{e} are not a word of {BLOB} ({self._size} bytes)")
        return a, e - 1

    def word(self, i: int) -> str:
        """The word of row ``i`` (``0 <= i < n``)."""
        self._ensure_offsets()
        a, e = self._span(i)
        raw = self._blob[a:e].tobytes()
        if b"\n" in raw:
            raise self._corrupt(OFFSETS, f"row {i}: offsets {a}..{e + 1} span several words")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{self._path(BLOB)}: word of row {i} is not valid UTF-8 "
                             f"at byte {a + err.start}") from None

    def index(self, word: object) -> int:
        """Row of `word`, or -1: one hash, then usually one comparison of bytes."""
        if self._dict is not None:
            return self._dict.get(word, -1) if isinstance(word, str) else -1
        if not isinstance(word, str):
            return -1
        try:
            key = word.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: never stored
            return -1
        if not key or b"\n" in key:  # never stored (and would match a span of several words)
            return -1
        self._ensure_offsets()
        t, n = self._table, self._n
        b = zlib.crc32(key) & (self._nb - 1)
        lo, hi = t[b], t[b + 1]
        if not 0 <= lo <= hi <= n:
            raise self._corrupt(HASH, f"bucket {b} spans entries {lo}..{hi} of {n}")
        base = self._nb + 1
        for j in range(base + lo, base + hi):
            r = t[j]
            if not 0 <= r < n:
                raise self._corrupt(HASH, f"entry {j - base} is row {r}, out of range for {n} rows")
            a, e = self._span(r)
            if self._blob[a:e] == key:
                return r
        if not self._index_checked:  # a miss is trusted only from an index known to be intact
            self._check_index()
        return -1

    def _ensure_offsets(self) -> None:
        if not self._offsets_checked:
            self._check_offsets()
            self._offsets_checked = True

    def _check_index(self) -> None:
        """Rebuild the hash index from the blob; ``ValueError`` naming ``vocab_hash.npy`` if it differs."""
        self._ensure_offsets()
        keys = self._blob.tobytes().split(b"\n")
        keys.pop()
        if not _table_matches(keys, self._nb, np.asarray(self._table_array)):
            raise self._corrupt(HASH, "the hash index does not match the words of " + BLOB)
        self._index_checked = True

    # --------------------------------------------------------- many words
    def words(self, start: int, stop: int) -> list[str]:
        """Words of rows ``start:stop`` (``0 <= start <= stop <= n``), decoded in one go."""
        if start >= stop:
            return []
        self._ensure_offsets()
        a, e = self._off[start], self._off[stop]
        if not (0 <= a < e <= self._size) or (a and self._blob[a - 1] != _NL):
            raise self._corrupt(OFFSETS, f"rows {start}..{stop}: offsets {a}..{e} out of range or "
                                         f"not on word boundaries of {BLOB}")
        try:
            text = self._blob[a:e].tobytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{self._path(BLOB)}: not valid UTF-8 at byte {a + err.start}") from None
        parts = text.split("\n")
        if parts.pop() != "" or len(parts) != stop - start:
            raise self._corrupt(OFFSETS, f"rows {start}..{stop} span {len(parts)} words of {BLOB}")
        return parts

    @property
    def index_to_word(self) -> list[str]:
        """All words in row order; built (and fully checked) on first use, then cached."""
        if self._list is None:
            words = self.words(0, self._n)  # checks every offset first
            self._list = words
        return self._list

    @property
    def key_to_index(self) -> dict[str, int]:
        """``{word: row}``; built (and checked for duplicates) on first use, then cached."""
        if self._dict is None:
            words = self.index_to_word
            d = dict(zip(words, range(len(words))))
            if len(d) != len(words):
                seen: dict[str, int] = {}
                for i, w in enumerate(words):
                    j = seen.setdefault(w, i)
                    if j != i:
                        raise ValueError(f"{self._path(BLOB)}: duplicate word {w!r} at rows {j} and {i}")
            self._dict = d
        return self._dict

    @property
    def counts(self) -> np.ndarray | None:
        """Counts, int64 ``(n,)`` (memory-mapped when the store is), or None; checked on first use."""
        if self._counts is None and self._raw_counts is not None:
            c = self._raw_counts
            if c.size and c.min() < 0:
                raise ValueError(f"{self._path(COUNTS)}: negative count at row {int(np.argmin(c))}")
            self._counts = c
        return self._counts

    def _check_offsets(self) -> None:
        """Every offset is the end of a word: strictly increasing, each one just
        past a newline, and as many as the blob has newlines (then they are
        exactly its word ends, in order). Allocates no position array."""
        blob = np.asarray(self._blob_array)
        offsets = np.asarray(self._offsets_array)
        words = int(np.count_nonzero(blob == _NL))
        ends = offsets[1:]  # offsets[0] == 0 and offsets[n] == size were checked at open
        if (words != self._n or (self._n and np.diff(offsets).min() < 1)
                or not (blob[ends - 1] == _NL).all()):
            raise self._corrupt(OFFSETS, f"the offsets do not match the {words} words of {BLOB}")
        if self._n and np.diff(offsets).min() < 2:
            raise ValueError(f"{self._path(BLOB)}: empty word at row {int(np.argmin(np.diff(offsets)))}")
        self._offsets_checked = True

    def verify(self) -> None:
        """All O(n) checks: offsets, UTF-8, unique non-empty words, the hash index, counts."""
        self.key_to_index  # builds and checks the word list too
        self.counts
        self._check_index()


# ======================================================================= writing
def encode_vocab(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Blob, offsets, hash table and bucket count of `words` (see the module docstring).

    Raises ``ValueError`` naming the first word that cannot be stored: empty,
    containing a newline, or not encodable as UTF-8 (lone surrogates).
    """
    n = len(words)
    text = "\n".join(words) + "\n" if n else ""
    try:
        blob = text.encode("utf-8")
    except UnicodeEncodeError:
        i = next(i for i, w in enumerate(words) if not _encodable(w))
        raise ValueError(f"word {words[i]!r} at index {i} cannot be stored: not encodable as UTF-8") from None
    parts = blob.split(b"\n")
    parts.pop()
    lens = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    if len(parts) != n or (n and lens.min() == 0):
        i = next(i for i, w in enumerate(words) if not w or "\n" in w)
        raise ValueError(f"word {words[i]!r} at index {i} cannot be stored (empty or has a newline)")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens + 1, out=offsets[1:])
    nb = bucket_count(n)
    return np.frombuffer(blob, dtype=np.uint8), offsets, hash_table(parts, nb), nb


def _encodable(w: str) -> bool:
    try:
        w.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _table_matches(keys: list[bytes], nb: int, table: np.ndarray) -> bool:
    """Whether `table` equals ``hash_table(keys, nb)``, without sorting.

    The bucket starts must be the cumulative bucket sizes, every entry a row
    whose key falls in the bucket that lists it, and the rows of a bucket
    strictly increasing: then each bucket lists exactly its rows, in order.
    """
    n = len(keys)
    if table.shape != (nb + 1 + n,):
        return False
    buckets = np.fromiter(map(zlib.crc32, keys), dtype=np.int64, count=n) & (nb - 1)
    sizes = np.bincount(buckets, minlength=nb)
    if table[0] != 0 or not np.array_equal(np.cumsum(sizes), table[1:nb + 1]):
        return False
    entries = table[nb + 1:]
    if n == 0:
        return True
    if entries.min() < 0 or entries.max() >= n:
        return False
    owner = np.repeat(np.arange(nb, dtype=np.int64), sizes)
    if not np.array_equal(buckets[entries], owner):
        return False
    same = owner[1:] == owner[:-1]
    return bool((entries[1:][same] > entries[:-1][same]).all())


def hash_table(keys: list[bytes], nb: int) -> np.ndarray:
    """The ``vocab_hash.npy`` array of UTF-8 `keys` with `nb` buckets."""
    n = len(keys)
    buckets = np.fromiter(map(zlib.crc32, keys), dtype=np.int64, count=n) & (nb - 1)
    table = np.empty(nb + 1 + n, dtype=np.int64)
    table[0] = 0
    np.cumsum(np.bincount(buckets, minlength=nb), out=table[1:nb + 1])
    table[nb + 1:] = np.argsort(buckets, kind="stable")
    return table
