"""Stores: the binary vocabulary (format version 2), lazy word lists, validation, version 1 stores."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from densevec._store_vocab import BLOB, COUNTS, HASH, OFFSETS, StoreVocab, hash_table
from densevec.vectors import Embeddings
from vector_helpers import UNICODE_WORDS, assert_same, random_embeddings, special_embeddings

V2_FILES = ["meta.json", "vectors.npy", BLOB, COUNTS, HASH, OFFSETS]


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("mmap", [True, False])
def test_store_round_trip_bit_exact(tmp_path, mmap):
    emb = special_embeddings()
    path = emb.save(tmp_path / "model.dv")
    assert sorted(os.listdir(path)) == sorted(V2_FILES)
    assert os.listdir(tmp_path) == ["model.dv"]
    back = Embeddings.load(path, mmap=mmap)
    assert_same(emb, back)
    assert back.meta == emb.meta
    assert back.vectors.flags.writeable is not mmap
    assert np.load(path / "vectors.npy", mmap_mode="r").shape == (len(emb), 5)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    assert meta["format"] == "densevec-store" and meta["format_version"] == 2
    assert (meta["dim"], meta["count"], meta["dtype"], meta["normalized"]) == (5, len(emb), "float32", False)
    # the vocabulary files are plain .npy: numpy alone can read them
    blob = np.load(path / BLOB)
    offsets = np.load(path / OFFSETS)
    assert blob.tobytes().decode("utf-8").split("\n")[:-1] == UNICODE_WORDS
    assert blob[offsets[1]:offsets[2] - 1].tobytes().decode("utf-8") == "日本"
    assert np.load(path / COUNTS)[1] == 7
    assert meta["vocab"] == {"hash": "crc32", "buckets": 8, "bytes": int(blob.size)}


def test_store_without_counts_and_normalized(tmp_path):
    emb = Embeddings(np.eye(3, dtype=np.float32), ["a", "b", "c"]).normalize()
    back = Embeddings.load(emb.save(tmp_path / "m.dv"))
    assert back.counts is None and back.meta == {"normalized": True, "space": emb.meta["space"]}
    assert not (tmp_path / "m.dv" / COUNTS).exists()
    assert json.loads((tmp_path / "m.dv" / "meta.json").read_text())["normalized"] is True
    _rewrite_meta(tmp_path / "m.dv", has_counts=True)
    with pytest.raises(ValueError, match=f"{COUNTS}: missing"):
        Embeddings.load(tmp_path / "m.dv")
    empty = Embeddings(np.zeros((0, 4), np.float32), [])
    for mmap in (True, False):
        e = Embeddings.load(empty.save(tmp_path / "e.dv", overwrite=True), mmap=mmap, verify=True)
        assert len(e) == 0 and e.index_to_word == [] and "a" not in e and e.dim == 4


def test_store_words_with_tabs_and_resaving_a_loaded_store(tmp_path):
    words = ["a\tb", "c\rd", " lead", "x" * 3000, "é"]
    emb = random_embeddings(words=words)
    back = Embeddings.load(emb.save(tmp_path / "m.dv"))
    assert back.index_to_word == words and back.get_index("c\rd") == 1
    again = Embeddings.load(back.save(tmp_path / "n.dv"), verify=True)
    assert_same(emb, again)


def test_store_replaces_existing_store_only(tmp_path):
    path = tmp_path / "m.dv"
    random_embeddings(seed=1).save(path)
    old = Embeddings.load(path)  # still mapped while being replaced
    new = random_embeddings(seed=2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        new.save(path)  # a complete store, but the call does not say to replace it
    assert_same(old, Embeddings.load(path))
    new.save(path, overwrite=True)
    assert_same(new, Embeddings.load(path))
    assert np.isfinite(old.vectors).all() and old["w3"].shape == (7,)
    assert os.listdir(tmp_path) == ["m.dv"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        new.save(other, overwrite=True)
    assert os.listdir(other) == ["keep.txt"]
    assert set(os.listdir(tmp_path)) == {"m.dv", "other"}


@pytest.mark.parametrize("word, match", [("", "empty"), ("a\nb", "newline"), ("\ud800", "UTF-8")])
def test_store_rejects_unstorable_words(tmp_path, word, match):
    with pytest.raises(ValueError, match=match):
        Embeddings(np.zeros((2, 2)), ["ok", word]).save(tmp_path / "x.dv")
    with pytest.raises(TypeError):
        Embeddings(np.zeros((1, 2)), ["a"], meta={"f": object()}).save(tmp_path / "y.dv")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- lookups without a dict
def test_loaded_store_looks_up_without_building_lists(tmp_path):
    emb = random_embeddings(n=300, dim=5, words=[f"w{i}" for i in range(299)] + ["日本"])
    back = Embeddings.load(emb.save(tmp_path / "m.dv"))
    vocab = back._vocab
    assert isinstance(vocab, StoreVocab)
    for i, w in enumerate(emb.index_to_word):
        assert back.get_index(w) == i and w in back and back.word(i) == w
    assert np.array_equal(back["w7"], emb["w7"]) and np.array_equal(back[["日本", "w0"]], emb[["日本", "w0"]])
    for missing in ("w300", "w", "w10 ", "日", "", "\ud800", 7, None, b"w1"):
        assert missing not in back
    with pytest.raises(KeyError, match="w300"):
        back["w300"]
    assert back.most_similar("w3", topn=5) == emb.most_similar("w3", topn=5)
    assert back.analogy("w1", "w2", "w3", topn=3) == emb.analogy("w1", "w2", "w3", topn=3)
    assert np.array_equal(back.search(emb.vectors[:3], exclude=["w5"])[0], emb.search(emb.vectors[:3], exclude=["w5"])[0])
    assert vocab._list is None and vocab._dict is None  # nothing was built
    assert back.index_to_word == emb.index_to_word and back.key_to_index == emb.key_to_index
    assert back.index_to_word is back.index_to_word  # cached
    with pytest.raises(IndexError):
        back.word(300)


@pytest.mark.parametrize("buckets", [1, 2, 64, 4096])
def test_hash_index_any_bucket_count(tmp_path, buckets):
    """Lookups stay exact whatever the collisions: one bucket holds everything, or most buckets are empty."""
    words = [f"{c}{i}" for c in "aé日" for i in range(70)]
    path = random_embeddings(words=words).save(tmp_path / "m.dv")
    keys = [w.encode("utf-8") for w in words]
    np.save(path / HASH, hash_table(keys, buckets))
    doc = json.loads((path / "meta.json").read_text())
    doc["vocab"]["buckets"] = buckets
    del doc["checksums"]  # as a store written before densevec recorded checksums
    (path / "meta.json").write_text(json.dumps(doc))
    back = Embeddings.load(path, verify=True)
    assert [back.get_index(w) for w in words] == list(range(len(words)))
    assert "a70" not in back and "b1" not in back


# ---------------------------------------------------------------- validation at open
def _rewrite_meta(path, **changes):
    meta = json.loads((path / "meta.json").read_text())
    meta.update(changes)
    (path / "meta.json").write_text(json.dumps(meta))


def _rewrite_vocab_meta(path, **changes):
    meta = json.loads((path / "meta.json").read_text())
    meta["vocab"].update(changes)
    (path / "meta.json").write_text(json.dumps(meta))


def _patch_npy(name, fn):
    def corrupt(path):
        arr = np.load(path / name).copy()
        fn(arr)
        np.save(path / name, arr)
    return corrupt


def _cut(name, n):
    return lambda p: (p / name).write_bytes((p / name).read_bytes()[:-n])


@pytest.mark.parametrize(
    "corrupt, fname",
    [
        (lambda p: _rewrite_meta(p, format="other"), "meta.json"),
        (lambda p: _rewrite_meta(p, format_version=3), "meta.json"),
        (lambda p: _rewrite_meta(p, count=41), "vocab_offsets.npy"),
        (lambda p: _rewrite_meta(p, count=39), "vocab_offsets.npy"),
        (lambda p: _rewrite_meta(p, dim=8), "vectors.npy"),
        (lambda p: _rewrite_meta(p, dtype="float16"), "vectors.npy"),
        (lambda p: _rewrite_meta(p, dtype="float64"), "meta.json"),
        (lambda p: _rewrite_meta(p, count=True), "meta.json"),
        (lambda p: _rewrite_meta(p, vocab=None), "meta.json"),
        (lambda p: _rewrite_vocab_meta(p, hash="md5"), "meta.json"),
        (lambda p: _rewrite_vocab_meta(p, buckets=48), "meta.json"),
        (lambda p: _rewrite_vocab_meta(p, buckets=128), "vocab_hash.npy"),
        (lambda p: _rewrite_vocab_meta(p, bytes=10), "meta.json"),
        (lambda p: _rewrite_vocab_meta(p, bytes=1 << 70), "meta.json"),
        (lambda p: (p / "meta.json").write_text("{not json"), "meta.json"),
        (lambda p: (p / "meta.json").write_text("[" * 100_000), "meta.json"),  # RecursionError inside json
        (lambda p: (p / "meta.json").write_bytes(b"\xff\xfe"), "meta.json"),
        (lambda p: (p / "meta.json").unlink(), "meta.json"),
        (lambda p: (p / "vectors.npy").unlink(), "vectors.npy"),
        (lambda p: (p / BLOB).unlink(), BLOB),
        (lambda p: (p / OFFSETS).unlink(), OFFSETS),
        (lambda p: (p / HASH).unlink(), HASH),
        (lambda p: (p / COUNTS).unlink(), COUNTS),
        (_cut("vectors.npy", 4), "vectors.npy"),
        (_cut(BLOB, 1), BLOB),
        (_cut(OFFSETS, 8), OFFSETS),
        (_cut(HASH, 8), HASH),
        (_cut(COUNTS, 1), COUNTS),
        (lambda p: (p / "vectors.npy").write_bytes((p / "vectors.npy").read_bytes() + b"x"), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((40, 7))), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((7, 40), np.float32).T), "vectors.npy"),
        (lambda p: np.save(p / "vectors.npy", np.zeros((39, 7), np.float32)), "vectors.npy"),
        (lambda p: np.save(p / OFFSETS, np.load(p / OFFSETS).astype(np.uint64)), OFFSETS),
        (lambda p: np.save(p / OFFSETS, np.load(p / OFFSETS).astype(">i8")), OFFSETS),
        (lambda p: np.save(p / BLOB, np.load(p / BLOB).astype(np.int8)), BLOB),
        (lambda p: np.save(p / COUNTS, np.load(p / COUNTS).astype(np.float64)), COUNTS),
        (lambda p: (p / "vectors.npy").write_bytes(b"garbage"), "vectors.npy"),
        (lambda p: (p / HASH).write_bytes(b"\x93NUMPY\x02\x00\xff\xff\xff\xff"), HASH),  # header length 4 GiB
        (lambda p: (p / HASH).write_bytes(b"\x93NUMPY\x01\x00\xff\xff" + b" " * 100), HASH),
        (_patch_npy(OFFSETS, lambda a: a.__setitem__(0, 1)), OFFSETS),
        (_patch_npy(OFFSETS, lambda a: a.__setitem__(-1, a[-1] - 1)), OFFSETS),
        (_patch_npy(BLOB, lambda a: a.__setitem__(-1, ord("x"))), BLOB),
        (_patch_npy(HASH, lambda a: a.__setitem__(0, 1)), HASH),
        (_patch_npy(HASH, lambda a: a.__setitem__(64, 39)), HASH),
    ],
)
def test_store_corruption_raises_valueerror_naming_file(tmp_path, corrupt, fname):
    path = random_embeddings(n=40, dim=7).save(tmp_path / "m.dv")
    corrupt(path)
    with pytest.raises(ValueError, match=fname):
        Embeddings.load(path)


def test_store_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        Embeddings.load(tmp_path / "nothing.dv")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError):
        Embeddings.load(tmp_path / "file")


# ---------------------------------------------------------------- damage found on use
def _damaged(tmp_path, name, fn):
    path = random_embeddings(n=40, dim=7).save(tmp_path / "m.dv")
    _patch_npy(name, fn)(path)
    return path


def _check_each_word(emb):
    for w in [f"w{i}" for i in range(40)]:
        emb.get_index(w)


@pytest.mark.parametrize(
    "name, fn, use",
    [
        # an offset moved into the middle of a word, past the end, or backwards
        (OFFSETS, lambda a: a.__setitem__(5, a[5] + 1), lambda e: e.word(5)),
        (OFFSETS, lambda a: a.__setitem__(5, a[5] + 1), lambda e: e.word(4)),
        (OFFSETS, lambda a: a.__setitem__(5, 1 << 62), _check_each_word),
        (OFFSETS, lambda a: a.__setitem__(5, -(1 << 62)), lambda e: e.most_similar("w0", topn=39)),
        (OFFSETS, lambda a: a.__setitem__(6, a[7]), lambda e: e.word(5)),  # row 5 spans two words
        (OFFSETS, lambda a: a.__setitem__(6, a[7]), lambda e: e.index_to_word),
        # hash buckets and rows out of range, in the wrong order
        (HASH, lambda a: a.__setitem__(slice(1, 64), 1 << 40), _check_each_word),
        (HASH, lambda a: a.__setitem__(slice(1, 64), -5), _check_each_word),
        (HASH, lambda a: a.__setitem__(slice(65, None), 1 << 40), _check_each_word),
        (HASH, lambda a: a.__setitem__(slice(65, None), -1), _check_each_word),
        # invalid UTF-8, a duplicate word
        (BLOB, lambda a: a.__setitem__(1, 0xFF), lambda e: e.word(0)),
        (BLOB, lambda a: a.__setitem__(1, 0xFF), lambda e: e.index_to_word),
        (BLOB, lambda a: a.__setitem__(slice(0, 3), np.frombuffer(b"w1\n", np.uint8)), lambda e: e.key_to_index),
        (COUNTS, lambda a: a.__setitem__(3, -1), lambda e: e.counts),
    ],
)
def test_damage_inside_vocab_files_raises_on_use(tmp_path, name, fn, use):
    """Opening checks O(1) facts only; what the damage touches raises ValueError naming the file."""
    path = _damaged(tmp_path, name, fn)
    emb = Embeddings.load(path)
    with pytest.raises(ValueError, match=name):
        use(emb)
    with pytest.raises(ValueError, match=name):
        Embeddings.load(path, verify=True)


def test_verify_finds_a_hash_index_that_points_to_the_wrong_rows(tmp_path):
    path = _damaged(tmp_path, HASH, lambda a: a.__setitem__(slice(65, None), a[65:][::-1].copy()))
    emb = Embeddings.load(path)  # in range: a hit is still right, a miss is checked against the blob
    with pytest.raises(ValueError, match="vocab_hash.npy.*does not match"):
        for i in range(40):
            assert f"w{i}" in emb
    with pytest.raises(ValueError, match="vocab_hash.npy.*does not match"):
        Embeddings.load(path, verify=True)


# ---------------------------------------------------------------- format version 1
def to_version_1(path):
    """Rewrite a store as densevec 0.1 wrote it: vocab.txt, format_version 1."""
    doc = json.loads((path / "meta.json").read_text())
    words = np.load(path / BLOB).tobytes().decode("utf-8").split("\n")[:-1]
    counts = np.load(path / COUNTS) if doc["has_counts"] else np.zeros(len(words), np.int64)
    (path / "vocab.txt").write_text("".join(f"{w}\t{c}\n" for w, c in zip(words, counts)), encoding="utf-8")
    for name in (BLOB, OFFSETS, HASH, COUNTS):
        (path / name).unlink(missing_ok=True)
    doc["format_version"] = 1
    del doc["vocab"]
    (path / "meta.json").write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("mmap", [True, False])
def test_version_1_store_still_loads(tmp_path, mmap):
    emb = special_embeddings()
    back = Embeddings.load(to_version_1(emb.save(tmp_path / "m.dv")), mmap=mmap)
    assert_same(emb, back)
    assert back.meta == emb.meta and back.get_index("日本") == 1
    resaved = Embeddings.load(back.save(tmp_path / "m.dv", overwrite=True))
    assert json.loads((tmp_path / "m.dv" / "meta.json").read_text())["format_version"] == 2
    assert_same(emb, resaved)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: _rewrite_meta(p, count=41),
        lambda p: (p / "vocab.txt").unlink(),
        lambda p: (p / "vocab.txt").write_text("a\t1\n" * 40),  # duplicates
        lambda p: (p / "vocab.txt").write_bytes((p / "vocab.txt").read_bytes()[:-1]),
        lambda p: (p / "vocab.txt").write_bytes(b"w\t\xff\n" * 40),
        lambda p: (p / "vocab.txt").write_text("".join(f"w{i}\tx\n" for i in range(40))),
    ],
)
def test_version_1_corruption_names_vocab_txt(tmp_path, corrupt):
    path = to_version_1(random_embeddings(n=40, dim=7).save(tmp_path / "m.dv"))
    corrupt(path)
    with pytest.raises(ValueError, match="vocab.txt"):
        Embeddings.load(path)
