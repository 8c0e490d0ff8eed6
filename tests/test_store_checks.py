"""Damage that stays in range must not give a wrong answer: a vocabulary index or
offsets that still point inside their files (a lookup raises ValueError naming
the file, or gives the right row), and a meta.json that calls raw rows
normalized (refused at load)."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from densevec._store_vocab import HASH, OFFSETS
from densevec.vectors import Embeddings
from vector_helpers import random_embeddings

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

N = 40  # 64 buckets: some empty, some with several rows
WORDS = [f"w{i}" for i in range(N)] + ["日本", "é"]
FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def store():
    d = Path(tempfile.mkdtemp(prefix="dv-index-"))
    path = random_embeddings(words=WORDS, dim=3).save(d / "m.dv")
    yield path
    shutil.rmtree(d, ignore_errors=True)


def write_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)


def check_lookups(path: Path, name: str) -> None:
    """Every word is found at its row or a ValueError names `name`; unknown words
    miss or raise the same; rows give their words or raise."""
    try:
        emb = Embeddings.load(path)
    except ValueError as e:  # an O(1) check at open found it
        assert name in str(e), str(e)
        return
    for i, w in enumerate(WORDS):
        try:
            assert emb.get_index(w) == i, w  # a KeyError here is the bug
        except ValueError as e:
            assert name in str(e), str(e)
        try:
            assert emb.word(i) == w
        except ValueError as e:
            assert name in str(e), str(e)
    for w in ["zz", "w", "w400", "日"]:
        try:
            assert w not in emb
        except ValueError as e:
            assert name in str(e), str(e)


def edits(size: int, lo: int, hi: int):
    """Up to 4 positions of an int64 array set to values in [lo, hi]: in range."""
    return st.lists(st.tuples(st.integers(0, size - 1), st.integers(lo, hi)), min_size=1, max_size=4)


def test_in_range_hash_index_damage_never_hides_a_word(store):
    target = store / HASH
    good = np.load(target)
    nb = len(good) - 1 - len(WORDS)
    n = len(WORDS)

    @FUZZ
    @given(st.one_of(
        edits(nb + 1, 0, n),  # bucket starts, in [0, n]
        edits(len(good), 0, n - 1),  # starts or entries, small values
        st.lists(st.tuples(st.integers(nb + 1, len(good) - 1), st.integers(0, n - 1)), min_size=1, max_size=3),
        st.tuples(st.integers(1, nb - 1), st.sampled_from([-1, 1])).map(lambda t: [(t[0], int(good[t[0]]) + t[1])]),
    ))
    @example([(nb + 1 + 5, int(good[nb + 1 + 6]))])  # a duplicated entry
    @example([(nb + 1 + 6, int(good[nb + 1 + 5]))])
    def run(changes):
        bad = good.copy()
        for pos, value in changes:
            bad[pos] = value
        write_npy(target, bad)
        check_lookups(store, HASH)
        if not np.array_equal(bad, good):
            with pytest.raises(ValueError, match=HASH):
                Embeddings.load(store, verify=True)

    try:
        run()
    finally:
        write_npy(target, good)


def test_in_range_offsets_damage_never_gives_a_wrong_row(store):
    target = store / OFFSETS
    good = np.load(target)

    @FUZZ
    @given(st.one_of(
        edits(len(good), 0, int(good[-1])),
        st.tuples(st.integers(1, len(good) - 2), st.integers(1, len(good) - 2)).map(  # one boundary copied
            lambda t: [(t[0], int(good[t[1]]))]),
        st.tuples(st.integers(1, len(good) - 3)).map(  # two rows' words swapped by their offsets
            lambda t: [(t[0], int(good[t[0] + 1])), (t[0] + 1, int(good[t[0]]))]),
    ))
    def run(changes):
        bad = good.copy()
        for pos, value in changes:
            bad[pos] = value
        write_npy(target, bad)
        check_lookups(store, OFFSETS)

    try:
        run()
    finally:
        write_npy(target, good)


@pytest.mark.parametrize("where", ["start", "entry"])
def test_the_reported_cases_raise_instead_of_keyerror(tmp_path, where):
    """A bucket start off by one, or an entry duplicated over another: the word
    it hides raises ValueError naming vocab_hash.npy (it used to be a KeyError)."""
    path = random_embeddings(n=N, dim=3).save(tmp_path / "m.dv")
    table = np.load(path / HASH)
    nb = len(table) - 1 - N
    b = int(np.flatnonzero(np.diff(table[:nb + 1])[1:] >= 1)[0]) + 1  # a bucket (not the first) holding a row
    first = int(table[nb + 1 + table[b]])
    if where == "start":
        table[b] += 1  # bucket b starts one entry late: it loses its first row
        hidden = first
    else:
        hidden = int(table[nb + 1 + table[b] + 1])  # the next entry, duplicated over by `first`
        table[nb + 1 + table[b] + 1] = first
    write_npy(path / HASH, table)
    emb = Embeddings.load(path)
    with pytest.raises(ValueError, match="vocab_hash.npy.*does not match"):
        emb.get_index(f"w{hidden}")


def test_an_intact_index_is_checked_once_then_misses_are_cheap(tmp_path):
    path = random_embeddings(n=N, dim=3).save(tmp_path / "m.dv")
    emb = Embeddings.load(path)
    vocab = emb._vocab
    assert not vocab._index_checked
    assert "w1" in emb and not vocab._index_checked  # a hit needs no check
    assert "nope" not in emb and vocab._index_checked
    assert "a\nb" not in emb and "" not in emb


# ---------------------------------------------------------------- normalized
def set_normalized(path: Path, top: bool, inner: bool) -> None:
    doc = json.loads((path / "meta.json").read_text())
    doc["normalized"] = top
    doc["meta"]["normalized"] = inner
    (path / "meta.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("top, inner", [(True, True), (True, False), (False, True)])
def test_meta_claiming_normalized_for_raw_rows_is_refused(tmp_path, top, inner):
    path = random_embeddings(n=N, dim=5).save(tmp_path / "m.dv")
    set_normalized(path, top, inner)
    with pytest.raises(ValueError, match=r"meta\.json.*normalized.*row 0 .*norm"):
        Embeddings.load(path)
    with pytest.raises(ValueError, match=r"meta\.json"):
        Embeddings.load(path, mmap=False)


def test_only_the_last_row_raw_is_found(tmp_path):
    emb = random_embeddings(n=500, dim=5).normalize()
    x = emb.vectors.copy()
    x[-1] *= 3
    path = Embeddings(x, emb.index_to_word, meta=emb.meta).save(tmp_path / "m.dv")
    with pytest.raises(ValueError, match="row 499 of vectors.npy has norm"):
        Embeddings.load(path)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_truly_normalized_stores_load_and_score_at_most_one(tmp_path, dtype):
    emb = random_embeddings(n=300, dim=97).normalize()
    x = emb.vectors.copy()
    x[7] = 0  # zero rows stay zero under normalize: allowed
    emb = Embeddings(x, emb.index_to_word, meta=emb.meta)
    if dtype != "float32":
        emb = emb.quantize(dtype)
    path = emb.save(tmp_path / "m.dv")
    back = Embeddings.load(path)
    assert back.meta["normalized"]
    scores = [s for _, s in back.most_similar("w1", topn=20)]
    assert max(scores) <= 1 + 1e-3
    raw = Embeddings(random_embeddings(n=300, dim=97).vectors, emb.index_to_word).save(tmp_path / "raw.dv")
    set_normalized(raw, True, True)  # the negative control: same shape, raw rows
    with pytest.raises(ValueError, match="normalized"):
        Embeddings.load(raw)
