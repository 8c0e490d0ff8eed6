"""Foreign formats: word2vec text and binary, fastText .vec, GloVe text; gensim both ways."""
from __future__ import annotations

import gc
import os
import warnings

import numpy as np
import pytest

from densevec import _w2v_format
from densevec.vectors import Embeddings
from vector_helpers import UNICODE_WORDS

# (binary, header) of the four formats; fastText .vec is word2vec text
FORMATS = {"word2vec-txt": (False, True), "word2vec-bin": (True, True), "glove": (False, False)}


def special_vectors(dim=13, nan=False):
    v = np.random.default_rng(7).standard_normal((len(UNICODE_WORDS), dim)).astype(np.float32) * 1e3
    v[0, :5] = [np.inf, -0.0, 1e-45, -3.4028235e38, 1e-30]
    if nan:
        v[1, 0] = np.nan
    return v


def save(emb, path, fmt):
    binary, header = FORMATS[fmt]
    return emb.save_word2vec_format(path, binary=binary, write_header=header)


def load(path, fmt):
    binary, header = FORMATS[fmt]
    return Embeddings.load_word2vec_format(path, binary=binary, no_header=not header)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_bit_exact(tmp_path, fmt):
    v = special_vectors(nan=fmt == "word2vec-bin")  # a NaN payload survives only in binary
    emb = Embeddings(v, UNICODE_WORDS)
    path = save(emb, tmp_path / "v.out", fmt)
    assert sorted(os.listdir(tmp_path)) == ["v.out", "v.out.densevec.json"]  # the file and its sidecar
    header = f"{len(emb)} 13\n".encode()
    assert path.read_bytes().startswith(header if FORMATS[fmt][1] else UNICODE_WORDS[0].encode() + b" ")
    back = load(path, fmt)
    assert back.index_to_word == emb.index_to_word
    assert np.array_equal(back.vectors.view(np.uint32), v.view(np.uint32))


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_from_a_store_and_quantised(tmp_path, fmt):
    emb = Embeddings(special_vectors(), UNICODE_WORDS)
    stored = Embeddings.load(emb.save(tmp_path / "m.dv"))
    back = load(save(stored, tmp_path / "v.out", fmt), fmt)
    assert np.array_equal(back.vectors.view(np.uint32), emb.vectors.view(np.uint32))
    small = Embeddings(emb.vectors[1:], UNICODE_WORDS[1:]).quantize("int8")
    back = load(save(small, tmp_path / "q.out", fmt), fmt)
    assert np.array_equal(back.vectors, small[UNICODE_WORDS[1:]])  # dequantised rows


def test_layouts(tmp_path):
    emb = Embeddings(np.array([[1.5, -2.0]], np.float32), ["é"])
    data = emb.save_word2vec_format(tmp_path / "v.bin", binary=True).read_bytes()
    assert data == b"1 2\n" + "é".encode() + b" " + np.array([1.5, -2.0], "<f4").tobytes() + b"\n"
    assert emb.save_word2vec_format(tmp_path / "v.txt").read_text(encoding="utf-8") == "1 2\né 1.5 -2.0\n"
    glove = emb.save_word2vec_format(tmp_path / "v.glove", write_header=False)
    assert glove.read_text(encoding="utf-8") == "é 1.5 -2.0\n"


def test_fasttext_vec_and_glove_variants(tmp_path):
    """fastText and word2vec.c end rows with a space; CRLF line ends; trailing blank lines."""
    vec = tmp_path / "ft.vec"
    vec.write_bytes(b"2 3\n</s> 0.1 0.2 0.3 \nhello -1 2.5e-3 4 \n")
    emb = Embeddings.load_word2vec_format(vec)
    assert emb.index_to_word == ["</s>", "hello"]
    assert np.array_equal(emb["hello"], np.array([-1, 2.5e-3, 4], np.float32))
    glove = tmp_path / "g.txt"
    glove.write_bytes(b"the 0.1 0.2\r\n, -0.5 1e-3\r\n\r\n\n")
    emb = Embeddings.load_word2vec_format(glove, no_header=True)
    assert emb.index_to_word == ["the", ","] and emb.dim == 2
    assert np.array_equal(emb.vectors, np.array([[0.1, 0.2], [-0.5, 1e-3]], np.float32))
    last = tmp_path / "nofinal.txt"
    last.write_bytes(b"a 1\nb 2")  # no final newline
    assert Embeddings.load_word2vec_format(last, no_header=True).index_to_word == ["a", "b"]


def test_streaming_with_small_blocks(tmp_path, monkeypatch):
    """Readers work block by block: a 1 KiB block size gives the same vectors."""
    rng = np.random.default_rng(3)
    emb = Embeddings(rng.standard_normal((300, 9)).astype(np.float32), [f"w{i}" for i in range(300)])
    files = {fmt: save(emb, tmp_path / fmt, fmt) for fmt in FORMATS}
    monkeypatch.setattr(_w2v_format, "_READ_CHUNK", 1024)
    for fmt, path in files.items():
        back = load(path, fmt)
        assert np.array_equal(back.vectors, emb.vectors) and back.index_to_word == emb.index_to_word


# ---------------------------------------------------------------- refusing
def test_rejects_unwritable_words_and_leaves_no_file(tmp_path):
    for word in ("a b", "a\tb", "", "\ud800"):
        with pytest.raises(ValueError, match="index 1"):
            Embeddings(np.zeros((2, 2)), ["ok", word]).save_word2vec_format(tmp_path / "v.txt")
    assert os.listdir(tmp_path) == []
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(ValueError):
        Embeddings(np.zeros((5000, 2)), [f"w{i}" for i in range(4999)] + ["bad word"]).save_word2vec_format(target)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["keep.txt"]


def test_header_options_only_for_text(tmp_path):
    emb = Embeddings(np.zeros((1, 2)), ["a"])
    with pytest.raises(ValueError, match="write_header"):
        emb.save_word2vec_format(tmp_path / "v.bin", binary=True, write_header=False)
    assert os.listdir(tmp_path) == []
    path = emb.save_word2vec_format(tmp_path / "v.bin", binary=True)
    with pytest.raises(ValueError, match="no_header"):
        Embeddings.load_word2vec_format(path, binary=True, no_header=True)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"2 3\na 1 2 3\nb 1.5 2.5\n", "line 3: expected a word and 3 numbers, found 3 fields"),
        (b"2 3\na 1 2 3\nb 1 2 3 4\n", "line 3: .*found 5 fields"),
        (b"2 3\na 1 2 3\nb 1 2 x\n", "line 3: bad number 'x'"),
        (b"2 3\na 1 2 3\nb 1 2 0x1p3\n", "line 3: bad number"),
        (b"3 3\na 1 2 3\nb 1 2 3\n", "truncated|line 4"),
        (b"3 1\na 1\nb 2\n\nc 3\n", "line 4"),
        (b"1 3\na 1 2 3\nb 1 2 3\n", "data after the 1 rows the header announces"),
        (b"2 3\na 1 2 3\na 1 2 3\n", "line 3: duplicate word 'a' \\(first on line 2\\)"),
        (b"two 3\na 1 2 3\n", "line 1"),
        (b"1 0\na\n", "line 1"),
        (b"1 3 4\na 1 2 3\n", "line 1"),
        (b"-1 3\n", "line 1"),
        (b"", "line 1"),
        (b"1 3\n 1 2 3\n", "line 2"),
        (b"1 3\n\xff 1 2 3\n", "line 2: not valid UTF-8"),
    ],
)
def test_word2vec_text_malformed(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        Embeddings.load_word2vec_format(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "line 1: no vectors"),
        (b"\na 1 2\n", "line 1: no vectors"),
        (b"a\n", "line 1: expected a word and numbers"),
        (b"a 1 2\nb 1\n", "line 2: expected a word and 2 numbers, found 2 fields"),
        (b"a 1 2\nb 1 2 3\n", "line 2: .*found 4 fields"),
        (b"a 1 2\nb 1 nan?\n", "line 2: bad number 'nan\\?'"),
        (b"a 1 2\nb 3 4\na 5 6\n", "line 3: duplicate word 'a' \\(first on line 1\\)"),
        (b"a 1 2\n\nb 3 4\n", "data after the 1 rows"),
        (b"a 1 2\n\xe6\x97 3 4\n", "line 2: not valid UTF-8"),
        (b"2 3\na 1 2 3\n", "line 2: expected a word and 1 numbers"),  # a header where none belongs
    ],
)
def test_glove_malformed(tmp_path, content, match):
    path = tmp_path / "bad.glove"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        Embeddings.load_word2vec_format(path, no_header=True)
    assert str(info.value).startswith(str(path))


def test_word2vec_binary_malformed(tmp_path):
    row = np.ones(2, "<f4").tobytes()
    good = b"2 2\na " + row + b"\nb " + row + b"\n"
    cases = {
        "trunc": (good[:-3], "record 2 of 2: truncated vector"),
        "count": (good.replace(b"2 2\n", b"3 2\n"), "truncated|record 3"),
        "extra": (good + b"c " + row, "data after the 2 records"),
        "noword": (b"1 2\n " + row, "record 1 of 1: malformed word"),
        "dup": (b"2 2\na " + row + b"\na " + row + b"\n", "record 2 of 2: duplicate word 'a' \\(first in record 1\\)"),
        "utf8": (b"1 2\n\xff " + row + b"\n", "record 1 of 1: word is not valid UTF-8"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(content)
        with pytest.raises(ValueError, match=match) as info:
            Embeddings.load_word2vec_format(path, binary=True)
        assert str(info.value).startswith(str(path))
    # gensim writes no newline after each vector: accepted
    path = tmp_path / "nonl.bin"
    path.write_bytes(good.replace(b"\nb", b"b")[:-1])
    assert Embeddings.load_word2vec_format(path, binary=True).index_to_word == ["a", "b"]


def test_header_cannot_make_the_reader_allocate_more_than_the_file(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"999999999999 300\na " + b"1 " * 300 + b"\n")
    with pytest.raises(ValueError, match="truncated: header says 999999999999 rows"):
        Embeddings.load_word2vec_format(path)
    lines = tmp_path / "lines.glove"  # many lines, a wide first row: capacity is bounded by the bytes
    lines.write_bytes(b"a " + b"1 " * 5000 + b"\n" + b"\n" * 200_000)
    assert Embeddings.load_word2vec_format(lines, no_header=True).vectors.shape == (1, 5000)


# ---------------------------------------------------------------- gensim
def gensim_case():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(9)
    v = (rng.standard_normal((len(UNICODE_WORDS), 11)) * 10.0 ** rng.integers(-8, 8, size=(1, 11))).astype(np.float32)
    words = [w.replace("\u00a0", "_") for w in UNICODE_WORDS]
    kv = gensim.models.KeyedVectors(11)
    kv.add_vectors(words, v)
    return gensim, kv, v, words


@pytest.mark.parametrize("fmt", FORMATS)
def test_gensim_interop_bit_exact(tmp_path, fmt):
    gensim, kv, v, words = gensim_case()
    binary, header = FORMATS[fmt]
    # gensim -> densevec
    kv.save_word2vec_format(str(tmp_path / "g"), binary=binary, write_header=header)
    ours = load(tmp_path / "g", fmt)
    assert ours.index_to_word == words
    assert np.array_equal(ours.vectors.view(np.uint32), v.view(np.uint32))
    # densevec -> gensim
    save(Embeddings(v, words), tmp_path / "d", fmt)
    with warnings.catch_warnings():  # gensim 4.4's no_header reader leaves a file open
        warnings.simplefilter("ignore", ResourceWarning)
        kv2 = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "d"), binary=binary, no_header=not header)
        gc.collect()
    assert kv2.index_to_key == words
    assert np.array_equal(kv2.vectors.view(np.uint32), v.view(np.uint32))


def test_gensim_reads_a_store_through_numpy(tmp_path):
    """The store's arrays are plain .npy: gensim's KeyedVectors can be filled from them."""
    gensim, _, v, words = gensim_case()
    path = Embeddings(v, words).save(tmp_path / "m.dv")
    kv = gensim.models.KeyedVectors(11)
    blob = np.load(path / "vocab_blob.npy")
    kv.add_vectors(blob.tobytes().decode("utf-8").split("\n")[:-1], np.load(path / "vectors.npy", mmap_mode="r"))
    assert kv.index_to_key == words and np.array_equal(kv.vectors, v)
