"""The training floor: model state, save / load, continued training, warm
start with frozen rows, id streams as input, named bindings."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import densevec as dv
from densevec import _core
from planted import GROUPS, MEMBERS, group_separation, planted_sentences


@pytest.fixture(scope="module")
def corpus():
    return dv.Corpus.from_sentences(planted_sentences(1500, seed=4), min_count=1)


def small(**kw):
    args = dict(dim=16, epochs=2, window=4, sample=0, threads=1, seed=3, min_count=1)
    args.update(kw)
    return dv.Word2Vec(**args)


# ------------------------------------------------------------ save / load
@pytest.mark.parametrize("mode,loss", [("skipgram", "ns"), ("cbow", "hs")])
def test_save_load_train_equals_uninterrupted_training(tmp_path, corpus, mode, loss):
    a = small(mode=mode, loss=loss)
    a.fit(corpus, progress=False)
    path = a.save(tmp_path / "m.model")
    b = dv.Word2Vec.load(path)
    assert b.get_params() == a.get_params()
    assert b.state.words == a.state.words
    np.testing.assert_array_equal(b.state.arrays["input"], a.state.arrays["input"])
    np.testing.assert_array_equal(b.state.arrays["output"], a.state.arrays["output"])
    ea = a.train(corpus, epochs=1, progress=False)
    eb = b.train(corpus, epochs=1, progress=False)
    np.testing.assert_array_equal(ea.vectors, eb.vectors)   # bit for bit (threads=1)
    assert b.state.info["epochs_trained"] == 3 and len(b.history) == 3


def test_load_in_a_new_process_and_continue(tmp_path, corpus):
    model = small()
    first = model.fit(corpus, progress=False)
    model.save(tmp_path / "m.model")
    corpus.save(tmp_path / "c")
    code = (
        "import densevec as dv, numpy as np\n"
        f"m = dv.Word2Vec.load({str(tmp_path / 'm.model')!r})\n"
        f"c = dv.Corpus.load({str(tmp_path / 'c')!r})\n"
        "e = m.train(c, epochs=1, progress=False)\n"
        f"m.save({str(tmp_path / 'm2.model')!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    again = dv.Word2Vec.load(tmp_path / "m2.model", mmap=False)
    assert again.state.info["epochs_trained"] == 3
    moved = np.abs(again.state.arrays["input"] - np.asarray(first.vectors)).max()
    assert moved > 0  # trained further, from the saved weights
    margin, precision = group_separation(dv.Embeddings(again.state.arrays["input"], again.state.words))
    assert precision >= 0.9 and margin > 0.2


@pytest.mark.parametrize("shape,dtype", [((0, 16), np.float32), (7, np.float64), ((5, 3), np.uint32),
                                         ((1000, 128), np.float32)])
def test_aligned_arrays_start_on_a_cache_line(shape, dtype):
    from densevec.train._base import ALIGN, aligned_copy, aligned_empty, aligned_zeros

    for _ in range(5):  # NumPy's own allocations start 16 bytes past a line
        a = aligned_zeros(shape, dtype)
        assert a.shape == (shape if isinstance(shape, tuple) else (shape,)) and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable and not a.any()
        assert a.size == 0 or a.ctypes.data % ALIGN == 0
        assert aligned_empty(shape, dtype).nbytes == a.nbytes
    src = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)[::-1]  # strided
    c = aligned_copy(src)
    np.testing.assert_array_equal(c, src)
    assert c.flags.c_contiguous and (c.size == 0 or c.ctypes.data % ALIGN == 0)


def test_weight_matrices_are_line_aligned_through_training(tmp_path, corpus):
    """The rows the kernels read at random span whole cache lines (dim 16: 64
    bytes a row): at build_vocab, after a load (a read-only mapping, copied
    on train), and after the vocabulary grows."""
    from densevec.train._base import ALIGN

    def aligned(model):
        return all(model.state.arrays[k].ctypes.data % ALIGN == 0 for k in ("input", "output"))

    model = small()
    model.build_vocab(corpus)
    assert aligned(model)
    model.train(corpus, progress=False)
    assert aligned(model)
    model.save(tmp_path / "m.model")
    loaded = dv.Word2Vec.load(tmp_path / "m.model")
    loaded.train(corpus, epochs=1, progress=False)
    assert aligned(loaded)
    extra = dv.Corpus.from_sentences([["brand", "new", "words"]] * 5, min_count=1)
    loaded.build_vocab(extra, update=True, allow_mixed=True)
    assert aligned(loaded) and len(loaded.state.words) == len(model.state.words) + 3


def test_returned_embeddings_do_not_change_when_training_goes_on(corpus):
    model = small()
    emb = model.fit(corpus, progress=False)
    before = np.array(emb.vectors)
    model.train(corpus, epochs=1, progress=False)
    np.testing.assert_array_equal(emb.vectors, before)


def test_glove_save_load_continue(tmp_path, corpus):
    cooc = dv.cooccurrence(corpus, window=5)
    a = dv.GloVe(dim=8, epochs=2, threads=1, seed=2)
    a.fit(cooc, progress=False)
    b = dv.GloVe.load(a.save(tmp_path / "g.model"))
    ea = a.train(cooc, epochs=1, progress=False)
    eb = b.train(cooc, epochs=1, progress=False)
    np.testing.assert_array_equal(ea.vectors, eb.vectors)
    with pytest.raises(ValueError, match="a 'glove' model, not 'word2vec'"):
        dv.Word2Vec.load(tmp_path / "g.model")


def test_damaged_model_directory_is_refused(tmp_path, corpus):
    model = small()
    model.fit(corpus, progress=False)
    path = model.save(tmp_path / "m.model")
    np.save(path / "input.npy", np.zeros((3, 16), np.float32))
    with pytest.raises(ValueError, match="input.npy"):
        dv.Word2Vec.load(path)
    path = model.save(tmp_path / "m.model", overwrite=True)  # a densevec model: may be overwritten
    (path / "vocab.txt").write_text("x\t1\n")
    with pytest.raises(ValueError, match="vocab.txt: checksum"):
        dv.Word2Vec.load(path)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "meta.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a densevec model"):
        dv.Word2Vec.load(tmp_path / "foreign")
    with pytest.raises(FileNotFoundError):
        dv.Word2Vec.load(tmp_path / "missing")


def test_save_refuses_a_directory_that_is_not_a_model(tmp_path, corpus):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("mine")
    model = small()
    model.fit(corpus, progress=False)
    with pytest.raises(FileExistsError):
        model.save(victim)
    assert (victim / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # nothing left behind


def test_save_before_fit_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="no state"):
        small().save(tmp_path / "m")


# ------------------------------------------------------- vocabulary update
def test_build_vocab_update_keeps_rows_and_adds_words(corpus):
    model = small()
    model.fit(corpus, progress=False)
    old_words = list(model.state.words)
    old_in = np.array(model.state.arrays["input"])
    more = dv.Corpus.from_sentences([["brandnew", "words"] * 3, ["m0_0", "brandnew"]] * 5, min_count=1)
    with pytest.raises(ValueError) as e:
        model.build_vocab(more, update=True)
    assert corpus.fingerprint in str(e.value) and more.fingerprint in str(e.value)
    model.build_vocab(more, update=True, allow_mixed=True)
    assert model.state.words[: len(old_words)] == old_words
    assert model.state.words[len(old_words):] == ["brandnew", "words"]
    np.testing.assert_array_equal(model.state.arrays["input"][: len(old_words)], old_in)
    assert model.state.counts[old_words.index("m0_0")] == corpus.vocab.count("m0_0") + 5
    emb = model.train(more, epochs=1, progress=False)
    assert "brandnew" in emb and len(emb) == len(old_words) + 2
    counts = np.asarray(emb.counts)
    assert (counts[1:] <= counts[:-1]).all()  # most frequent first, as every store
    for w in ("brandnew", "m0_0", "c3_2"):
        np.testing.assert_array_equal(emb[w], model.state.arrays["input"][model.state.index[w]])
    assert emb.meta["corpus_fingerprint"] not in (corpus.fingerprint, more.fingerprint)
    assert emb.meta["corpus_fingerprints"] == [corpus.fingerprint, more.fingerprint]


def test_update_adds_new_words_at_min_count_and_trains_known_rare_ones(corpus):
    """gensim's rule: a new word joins when its count in the new corpus reaches
    the model's min_count; a known word trains whatever its count there."""
    model = small(min_count=3)
    model.fit(corpus, progress=False)
    known = "m0_0"
    assert known in model.state.index
    more = dv.Corpus.from_sentences([["often", "often", "often", known, "seldom"]] * 1
                                    + [["often", "c1_1", "c2_2"]] * 2, min_count=1)
    assert more.vocab.count(known) == 1 and more.vocab.count("seldom") == 1
    n_old = len(model.state)
    before = np.array(model.state.arrays["input"][model.state.index[known]])
    model.build_vocab(more, update=True, allow_mixed=True)
    assert model.state.words[n_old:] == ["often"]  # "seldom" (count 1 < 3) is not added
    emb = model.train(more, epochs=2, progress=False)
    assert "seldom" not in emb
    assert not np.array_equal(emb[known], before)  # the rare known word still trained


def test_continued_training_learns_the_new_words():
    """Half the groups first, then a corpus with new members: the new members
    are placed with their groups; a model that never saw them cannot be."""
    sents = planted_sentences(6000, seed=8)
    first = [s for s in sents if not any(w.endswith("_4") for w in s)]
    c1 = dv.Corpus.from_sentences(first, min_count=1)
    c2 = dv.Corpus.from_sentences(sents, min_count=1)
    model = dv.Word2Vec(dim=24, epochs=3, window=4, sample=0, threads=1, seed=5, min_count=1)
    model.fit(c1, progress=False)
    assert "m0_4" not in model.state.index
    model.build_vocab(c2, update=True, allow_mixed=True)
    emb = model.train(c2, epochs=3, progress=False)
    margin, precision = group_separation(emb)
    assert precision >= 0.9 and margin > 0.2


# ------------------------------------------------------------ warm start
def test_frozen_warm_start_rows_stay_bit_identical(corpus):
    rng = np.random.default_rng(0)
    words = [f"m{g}_{i}" for g in range(GROUPS) for i in range(MEMBERS)] + ["not_in_corpus"]
    pre = dv.Embeddings(rng.standard_normal((len(words), 16)).astype(np.float32) * 0.1, words)
    model = small()
    model.build_vocab(corpus)
    assert model.warm_start(pre, freeze=True) == GROUPS * MEMBERS
    emb = model.train(corpus, progress=False)
    rows = [model.state.index[w] for w in words[:-1]]
    np.testing.assert_array_equal(np.asarray(emb.vectors)[rows], pre[words[:-1]])
    other = [i for i in range(len(emb)) if i not in set(rows)]
    init = small()
    init.build_vocab(corpus)
    assert not np.array_equal(np.asarray(emb.vectors)[other], init.state.arrays["input"][other])
    # negative control: without freezing, the same rows move
    free = small().fit(corpus, progress=False, init=pre)
    assert not np.array_equal(np.asarray(free.vectors)[rows], pre[words[:-1]])


def test_warm_start_needs_the_same_dim(corpus):
    model = small()
    model.build_vocab(corpus)
    with pytest.raises(ValueError, match="dim 8.*dim 16"):
        model.warm_start(dv.Embeddings(np.zeros((1, 8), np.float32), ["m0_0"]))
    with pytest.raises(RuntimeError, match="build_vocab"):
        small().warm_start(dv.Embeddings(np.zeros((1, 16), np.float32), ["m0_0"]))


@pytest.mark.parametrize("skipgram", [True, False])
@pytest.mark.parametrize("isa", _core.simd_isas())
def test_kernel_lock_factors(isa, skipgram):
    """A 0 factor leaves a row untouched, 1 equals no lock, 0.5 half the step."""
    rng = np.random.default_rng(1)
    win = rng.standard_normal((4, 19)).astype(np.float32)
    wout = rng.standard_normal((3, 19)).astype(np.float32)
    ins = np.array([0, 1, 2], np.uint32)
    outs = np.array([0, 1, 2], np.uint32)
    labels = np.array([1, 0, 0], np.float32)

    def run(lock):
        a, b = win.copy(), wout.copy()
        _core.testing.w2v_window(a, b, ins, outs, labels, 0.1, skipgram, True, isa,
                         None if lock is None else np.array(lock, np.float32))
        return a

    free = run(None)
    locked = run([0.0, 1.0, 0.5])
    np.testing.assert_array_equal(locked[0], win[0])
    np.testing.assert_array_equal(locked[1], free[1])
    np.testing.assert_allclose(locked[2] - win[2], 0.5 * (free[2] - win[2]), rtol=1e-5, atol=1e-7)


# --------------------------------------------------------- id streams
def test_from_ids_trains_like_the_corpus_it_copies(corpus):
    c2 = dv.Corpus.from_ids(np.asarray(corpus.ids), np.asarray(corpus.offsets), corpus.vocab)
    assert c2.n_tokens == corpus.n_tokens and list(c2.vocab) == list(corpus.vocab)
    a = small().fit(corpus, progress=False)
    b = small().fit(c2, progress=False)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert c2.fingerprint != corpus.fingerprint


def test_from_ids_with_words_counts_the_stream():
    c = dv.Corpus.from_ids(np.array([0, 1, 1, 2, 1], np.int64), [0, 2, 5], ["a", "b", "c"])
    assert c.vocab.counts.tolist() == [1, 3, 1]
    assert list(c.sentences()) == [["a", "b"], ["b", "c", "b"]]


@pytest.mark.parametrize("ids,offsets,vocab,err,match", [
    ([0, 3], [0, 2], ["a", "b", "c"], ValueError, "id 3 is not below"),
    ([0, -1], [0, 2], ["a", "b"], ValueError, "negative id"),
    ([0, 1], [0, 2, 1, 2], ["a", "b"], ValueError, "decrease at sentence 1"),
    ([0, 1], [1, 2], ["a", "b"], ValueError, "start with 0"),
    ([0, 1], [0, 3], ["a", "b"], ValueError, "end at 3"),
    ([0.0, 1.0], [0, 2], ["a", "b"], TypeError, "ids must be an array of integers"),
    ([0, 1], [0, 2.0], ["a", "b"], TypeError, "offsets must be an array of integers"),
    ([[0, 1]], [0, 2], ["a", "b"], ValueError, "1-dimensional"),
    ([0, 1], [0, 2], "ab", TypeError, "vocab must be"),
    ([0, 1], [0, 2], ["a", "a"], ValueError, "duplicate"),
])
def test_from_ids_rejects_bad_streams(ids, offsets, vocab, err, match):
    with pytest.raises(err, match=match):
        dv.Corpus.from_ids(np.array(ids), np.array(offsets), vocab)


def test_shards_cover_the_corpus(tmp_path, corpus):
    shards = corpus.shard(3)
    assert len(shards) == 3
    assert sum(s.n_tokens for s in shards) == corpus.n_tokens
    assert sum(s.n_sentences for s in shards) == corpus.n_sentences
    joined = [sent for s in shards for sent in s.sentences()]
    assert joined == list(corpus.sentences())
    assert max(s.n_tokens for s in shards) < 0.4 * corpus.n_tokens
    saved = dv.Corpus.load(shards[1].save(tmp_path / "shard"))
    assert list(saved.sentences()) == list(shards[1].sentences())
    assert len(dv.Corpus.from_ids([0], [0, 1], ["a"]).shard(5)) == 1
    model = small()
    model.build_vocab(corpus)
    for s in shards:  # a shard is a corpus of the same space
        model.train(s, epochs=1, progress=False)


def test_training_refuses_an_unknown_corpus_unless_allowed(corpus):
    model = small()
    model.fit(corpus, progress=False)
    other = dv.Corpus.from_sentences([["m0_0", "c0_1", "zzz"]] * 20, min_count=1)
    with pytest.raises(ValueError, match="build_vocab"):
        model.train(other, progress=False)
    emb = model.train(other, epochs=1, progress=False, allow_mixed=True)  # unknown words skipped
    assert "zzz" not in emb
