"""Fuzzing every loader: random, truncated and mutated files give ValueError or a correct load.

Each case replaces one file (of a store, or a foreign vector file) by random
bytes, a truncation, a mutation or an extension of a valid file, then loads
it and uses the result. Allowed outcomes: ``ValueError`` (``UnicodeError`` is
one) whose message names the file, or embeddings that pass every check; any
other exception fails the test, and a crash would take the test run down.
Special files (FIFOs, a link to ``/dev/zero``, directories) in place of the
files are refused without blocking (an alarm fails a loader that hangs).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from densevec.vectors import Embeddings  # noqa: E402
from timeouts import no_hang  # noqa: E402
from vector_helpers import random_embeddings  # noqa: E402

WORDS = ["a", "bb", "ccc", "é", "日本", "f"]
FUZZ = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="dv-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def damaged(good: bytes, data_start: int = 0):
    """Strategy: random bytes, a prefix, a few changed bytes (anywhere, or after `data_start`,
    past a ``.npy`` header), or extra bytes after `good`."""
    n = len(good)

    def mutate(lo: int):
        edits = st.lists(st.tuples(st.integers(lo, n - 1), st.integers(0, 255)), min_size=1, max_size=4)
        return edits.map(lambda e: _apply(good, e))

    return st.one_of(
        st.binary(max_size=2 * n),
        st.integers(0, n - 1).map(lambda cut: good[:cut]),
        mutate(0),
        mutate(min(data_start, n - 1)),
        st.binary(min_size=1, max_size=64).map(lambda extra: good + extra),
    )


def _apply(good: bytes, edits) -> bytes:
    out = bytearray(good)
    for pos, value in edits:
        out[pos] = value
    return bytes(out)


def exercise(emb: Embeddings) -> None:
    """Use everything a load gives; after a successful ``verify`` nothing may fail."""
    words = emb.index_to_word
    assert len(words) == len(emb) == emb.vectors.shape[0]
    for i, w in enumerate(words):
        assert emb.get_index(w) == i and emb.word(i) == w
    assert emb.key_to_index == {w: i for i, w in enumerate(words)}
    if emb.counts is not None:
        assert emb.counts.shape == (len(emb),) and (np.asarray(emb.counts) >= 0).all()
    if len(emb) > 1:
        with np.errstate(all="ignore"):  # fuzzed floats overflow: a warning, not an error
            emb.most_similar(words[0], topn=3)
            emb.search(emb[words[:2]], k=2, metric="l2")


def check_load(load, target: Path, data: bytes, name: str) -> None:
    target.write_bytes(data)
    try:
        emb = load()
    except ValueError as e:
        assert name in str(e), str(e)
        return
    exercise(emb)


# ---------------------------------------------------------------- stores
STORE_FILES = ["meta.json", "vectors.npy", "vocab_blob.npy", "vocab_offsets.npy", "vocab_hash.npy",
               "vocab_counts.npy", "scales.npy"]


def make_store(root: Path, name: str) -> Path:
    emb = random_embeddings(words=WORDS, dim=3, meta={"algorithm": "fuzz", "corpus_fingerprint": "x"})
    if name == "scales.npy":
        emb = emb.quantize("int8")
    return emb.save(root / f"{name}.dv")


@pytest.mark.parametrize("name", STORE_FILES)
def test_store_files(workdir, name):
    store = make_store(workdir, name)
    target = store / name
    good = target.read_bytes()
    data_start = len(good) - np.load(target).nbytes if name.endswith(".npy") else 0

    def load_unverified_then_verified():
        emb = Embeddings.load(store)  # O(1) checks; then use it before verifying
        for i in range(len(emb)):
            emb.word(i)
        for w in WORDS + ["zz", "日"]:
            _ = w in emb
        _ = emb.counts, emb.index_to_word
        emb = Embeddings.load(store, verify=True)
        for mmap in (True, False):
            assert Embeddings.load(store, mmap=mmap).vectors.shape == emb.vectors.shape
        return emb

    @FUZZ
    @given(damaged(good, data_start))
    @example(b"")
    @example(good)
    def run(data):
        check_load(load_unverified_then_verified, target, data, name)

    try:
        run()
    finally:
        target.write_bytes(good)


def test_version_1_vocab_txt(workdir):
    store = random_embeddings(words=WORDS, dim=3).save(workdir / "v1.dv")
    meta = store / "meta.json"
    meta.write_text(meta.read_text().replace('"format_version": 2', '"format_version": 1'))
    target = store / "vocab.txt"
    good = "".join(f"{w}\t{i}\n" for i, w in enumerate(WORDS)).encode()
    target.write_bytes(good)
    assert Embeddings.load(store).index_to_word == WORDS

    @FUZZ
    @given(damaged(good))
    @example(b"")
    def run(data):
        check_load(lambda: Embeddings.load(store), target, data, "vocab.txt")

    run()


# ---------------------------------------------------------------- foreign files
@pytest.mark.parametrize("fmt", ["word2vec-txt", "word2vec-bin", "glove", "fasttext-vec"])
def test_vector_files(workdir, fmt):
    emb = random_embeddings(words=WORDS, dim=4)
    binary, header = fmt == "word2vec-bin", fmt != "glove"
    target = workdir / f"v.{fmt}"
    emb.save_word2vec_format(target, binary=binary, write_header=header)
    (workdir / f"v.{fmt}.densevec.json").unlink()  # foreign files: no sidecar (a stale one only warns)
    good = target.read_bytes()
    if fmt == "fasttext-vec":  # fastText ends each row with a space
        good = good.replace(b"\n", b" \n").replace(b" \n", b"\n", 1)
        assert Embeddings.load_word2vec_format(target).index_to_word == WORDS

    @FUZZ
    @given(damaged(good))
    @example(b"")
    @example(b"3 4\n")
    @example(b"999999999 4\n" + good)
    def run(data):
        check_load(lambda: Embeddings.load_word2vec_format(target, binary=binary, no_header=not header),
                   target, data, target.name)

    run()


# ---------------------------------------------------------------- special files in place of regular ones
SPECIAL = ["fifo", "dev-zero", "directory"]


def _make_special(path: Path, kind: str) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")  # a character device that never ends
    else:
        path.mkdir()


def test_store_files_replaced_by_special_files(workdir):
    good = random_embeddings(words=WORDS, dim=3).quantize("int8").save(workdir / "special-source.dv")
    # int8 with counts: every file a store can have is present
    names = sorted(p.name for p in good.iterdir())
    assert "scales.npy" in names and "vocab_counts.npy" in names

    @FUZZ
    @given(st.dictionaries(st.sampled_from(names), st.sampled_from(SPECIAL), min_size=1, max_size=3),
           st.booleans(), st.booleans())
    def run(specials, mmap, verify):
        store = workdir / "special.dv"
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(good, store)
        for name, kind in specials.items():
            _make_special(store / name, kind)
        with no_hang(), pytest.raises(ValueError) as info:
            emb = Embeddings.load(store, mmap=mmap, verify=verify)
            exercise(emb)
        assert any(name in str(info.value) for name in specials), str(info.value)

    run()


@pytest.mark.parametrize("fmt", ["word2vec-txt", "word2vec-bin", "glove"])
@pytest.mark.parametrize("kind", SPECIAL)
def test_vector_files_replaced_by_special_files(workdir, fmt, kind):
    target = workdir / f"special.{fmt}"
    _make_special(target, kind)
    with no_hang(), pytest.raises(ValueError, match="not a regular file"):
        Embeddings.load_word2vec_format(target, binary=fmt == "word2vec-bin", no_header=fmt == "glove")


# ---------------------------------------------------------------- fastText .bin
def test_fasttext_bin(workdir):
    from densevec.fasttext import load_fasttext
    from ft_bin import bin_bytes

    rng = np.random.default_rng(0)
    words = ["</s>", "the", "été", "日本", "cat"]
    bucket, dim = 30, 3
    matrix = rng.standard_normal((len(words) + bucket, dim)).astype(np.float32)
    good = bin_bytes(words, [9, 5, 4, 3, 2], matrix, np.zeros((len(words), dim), np.float32),
                     minn=2, maxn=4, bucket=bucket)
    target = workdir / "m.bin"
    target.write_bytes(good)
    assert load_fasttext(target).index_to_word == words

    def load():
        emb = load_fasttext(target)
        for mmap in (True, False):
            assert load_fasttext(target, mmap=mmap).vectors.shape == emb.vectors.shape
        for w in ["cats", "日本語", "x"]:  # out of the vocabulary: composed from n-gram rows
            assert emb.get_vector(w, strict=False).shape == (emb.dim,)
        return emb

    @FUZZ
    @given(damaged(good, len(good) - matrix.nbytes - 100))
    @example(b"")
    @example(good[:8] + b"\xff" * 60)
    def run(data):
        check_load(load, target, data, target.name)

    run()
