"""word2vec on corpora with planted structure, determinism, bad parameters, Ctrl-C."""
from __future__ import annotations

import numpy as np
import pytest

import densevec as dv
from densevec.word2vec import Word2Vec

from planted import fit_interrupted, group_separation, planted_sentences, planted_text


@pytest.fixture(scope="module")
def planted_corpus():
    return dv.Corpus.from_sentences(planted_sentences(), min_count=1)


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_every_mode_learns_planted_groups(planted_corpus, mode, loss):
    model = Word2Vec(dim=32, mode=mode, loss=loss, window=4, negative=5, sample=0, epochs=8,
                     threads=2, seed=5)
    emb = model.fit(planted_corpus, progress=False)
    assert emb.vectors.shape == (len(planted_corpus.vocab), 32)
    assert np.isfinite(emb.vectors).all()
    margin, precision = group_separation(emb)
    assert margin > 0.3, margin
    assert precision >= 0.9, precision
    # an untrained model (random init) has no such structure: the test can fail
    untrained = Word2Vec(dim=32, mode=mode, loss=loss, epochs=1, alpha=1e-9, min_alpha=0,
                         threads=1, seed=5).fit(planted_corpus, progress=False)
    assert group_separation(untrained)[0] < 0.1
    # the loss decreases
    losses = [h["loss_per_word"] for h in model.history]
    assert losses[-1] < losses[0]


def test_fresh_negatives_per_context_learn_and_differ(planted_corpus):
    """share_negatives=False (word2vec.c's sampling) learns the planted groups,
    is reproducible with one thread, and is a different computation from the
    shared default (the same seed gives other vectors)."""
    def run(share, seed=5):
        return Word2Vec(dim=32, window=4, negative=5, sample=0, epochs=8, threads=1, seed=seed,
                        share_negatives=share).fit(planted_corpus, progress=False)

    fresh = run(False)
    margin, precision = group_separation(fresh)
    assert margin > 0.3 and precision >= 0.9, (margin, precision)
    assert np.array_equal(fresh.vectors, run(False).vectors)
    assert not np.array_equal(fresh.vectors, run(True).vectors)
    assert Word2Vec(share_negatives=False).get_params()["share_negatives"] is False


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_share_negatives_is_ignored_outside_skipgram_ns(planted_corpus, loss):
    """CBOW draws one set of noise words per window either way (it has one
    input, the context mean), and hierarchical softmax draws none: the
    setting must change nothing there, bit for bit."""
    def run(mode, share):
        return Word2Vec(dim=16, mode=mode, loss=loss, window=3, sample=0, epochs=2, threads=1, seed=4,
                        share_negatives=share).fit(planted_corpus, progress=False).vectors

    assert np.array_equal(run("cbow", False), run("cbow", True))
    if loss == "hs":
        assert np.array_equal(run("skipgram", False), run("skipgram", True))


def test_threads_one_is_bit_reproducible(planted_corpus):
    def run(seed):
        return Word2Vec(dim=16, epochs=2, threads=1, seed=seed).fit(planted_corpus, progress=False)

    a, b, c = run(3), run(3), run(4)
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


def test_history_and_meta(planted_corpus):
    seen = []
    model = Word2Vec(dim=8, epochs=3, threads=1)
    emb = model.fit(planted_corpus, progress=False, callbacks=[lambda m, r: seen.append(r["epoch"])])
    assert seen == [1, 2, 3]
    assert [h["words"] for h in model.history] == [planted_corpus.n_tokens] * 3
    assert all(0 < h["trained_words"] <= h["words"] for h in model.history)
    assert emb.meta["algorithm"] == "word2vec"
    assert emb.meta["corpus_fingerprint"] == planted_corpus.fingerprint
    assert emb.meta["params"]["dim"] == 8
    assert model.output_vectors_.shape == emb.vectors.shape


def test_default_schedule_ends_at_alpha_over_twice_the_epochs(planted_corpus, tmp_path):
    """min_alpha=None ends the schedule at alpha / (2 * epochs) (gensim's
    corpus_file end rate with 2 workers); an explicit min_alpha is kept."""
    model = Word2Vec(dim=8, alpha=0.04, epochs=4, threads=1)
    assert model.min_alpha is None and model.final_alpha == pytest.approx(0.005)
    model.fit(planted_corpus, progress=False)
    assert [h["alpha_end"] for h in model.history] == pytest.approx([0.04 - 0.035 * e / 4 for e in (1, 2, 3, 4)])
    explicit = Word2Vec(dim=8, alpha=0.04, min_alpha=1e-4, epochs=4, threads=1)
    explicit.fit(planted_corpus, progress=False)
    assert explicit.history[-1]["alpha_end"] == pytest.approx(1e-4)
    model.save(tmp_path / "m")
    loaded = Word2Vec.load(tmp_path / "m")
    assert loaded.min_alpha is None and loaded.final_alpha == model.final_alpha


def test_initial_rows_span_gensims_range_and_double_word2vec_c(planted_corpus):
    """Input rows start uniform in [-1/dim, 1/dim) (gensim 4), exactly twice
    the rows word2vec.c's range gives from the same random numbers."""
    from densevec.train._base import uniform_rows

    dim = 10
    wide = Word2Vec(dim=dim, seed=5).build_vocab(planted_corpus).state.arrays["input"]
    assert np.abs(wide).max() < 1 / dim and np.abs(wide).max() > 0.9 / dim
    narrow = uniform_rows(np.random.default_rng(5), wide.shape, dim)
    assert np.abs(narrow).max() < 0.5 / dim
    assert np.array_equal(wide, 2 * narrow)


def test_subsampling_drops_frequent_words(planted_corpus):
    model = Word2Vec(dim=8, epochs=1, threads=1, sample=1e-4)
    model.fit(planted_corpus, progress=False)
    h = model.history[0]
    assert h["trained_words"] < 0.8 * h["words"]


def test_fit_accepts_paths_and_iterables(tmp_path):
    p, sents = planted_text(tmp_path)
    e1 = Word2Vec(dim=8, epochs=1, threads=1, min_count=1).fit(p, progress=False)
    e2 = Word2Vec(dim=8, epochs=1, threads=1, min_count=1).fit(sents, progress=False)
    assert e1.index_to_word == e2.index_to_word
    assert np.array_equal(e1.vectors, e2.vectors)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"dim": 0}, ValueError),
        ({"dim": 2.5}, TypeError),
        ({"negative": -1}, ValueError),
        ({"negative": 0}, ValueError),  # negative sampling without noise words
        ({"window": 0}, ValueError),
        ({"alpha": 0}, ValueError),
        ({"alpha": -0.1}, ValueError),
        ({"alpha": float("nan")}, ValueError),
        ({"min_alpha": 1.0}, ValueError),
        ({"epochs": 0}, ValueError),
        ({"sample": -1}, ValueError),
        ({"mode": "sg"}, ValueError),
        ({"loss": "softmax"}, ValueError),
        ({"threads": -2}, ValueError),
    ],
)
def test_bad_parameters(kwargs, exc):
    with pytest.raises(exc):
        Word2Vec(**kwargs)


def test_hs_without_negatives_is_fine(planted_corpus):
    Word2Vec(dim=8, loss="hs", negative=0, epochs=1, threads=1).fit(planted_corpus, progress=False)


def test_empty_corpus_is_rejected(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_text("")
    with pytest.raises(ValueError, match="no tokens"):
        Word2Vec().fit(p, progress=False)
    with pytest.raises(ValueError):
        Word2Vec().fit([], progress=False)


def test_progress_bar_runs(planted_corpus, capsys):
    Word2Vec(dim=8, epochs=1, threads=1).fit(planted_corpus, progress=True)
    assert "word2vec" in capsys.readouterr().err


def test_ctrl_c_stops_training_and_keeps_vectors(planted_corpus):
    # thousands of epochs: minutes of work unless the interrupt stops it
    model = Word2Vec(dim=64, epochs=5000, threads=2, sample=0)
    emb, elapsed = fit_interrupted(
        lambda cbs: model.fit(planted_corpus, progress=False, callbacks=cbs),
        after_first_epoch=True)
    assert elapsed < 10, elapsed
    assert emb.meta["interrupted"] is True
    assert 0 < len(model.history) < 5000
    assert np.isfinite(emb.vectors).all()


def test_kernel_checks_what_it_is_given():
    """The id stream is validated when its Corpus is built (test_corpus); the
    kernel checks the sizes of what it is given and the samplers' vocabulary."""
    from densevec import _core

    win = np.zeros((3, 4), dtype=np.float32)
    wout = np.zeros((3, 4), dtype=np.float32)
    ids = np.array([0, 1, 2], dtype=np.uint32)
    offsets = np.array([0, 3], dtype=np.uint64)
    cfg = _core.W2VConfig()
    cfg.negative, cfg.window = 2, 2
    args = dict(config=cfg, win=win, wout=wout, ids=ids, offsets=offsets, sent_begin=0)
    noise = _core.NoiseSampler(np.ones(3))
    with pytest.raises(ValueError, match="out of bounds"):
        _core.train_word2vec(**args, sent_end=2, noise=noise)
    with pytest.raises(ValueError, match="past the ids"):
        _core.train_word2vec(**dict(args, ids=ids[:2]), sent_end=1, noise=noise)
    with pytest.raises(ValueError, match="noise sampler has 4 words"):
        _core.train_word2vec(**args, sent_end=1, noise=_core.NoiseSampler(np.ones(4)))
    with pytest.raises(ValueError, match="needs a NoiseSampler"):
        _core.train_word2vec(**args, sent_end=1)
    with pytest.raises(ValueError, match="id_map refers past"):
        _core.train_word2vec(**args, sent_end=1, noise=noise, id_map=np.array([0, 1, 3], np.uint32))
    with pytest.raises(TypeError):  # positional arguments cannot be swapped silently
        _core.train_word2vec(cfg, win, wout, ids, offsets, 0, 1)
    with pytest.raises(AttributeError):
        cfg.negatives = 5
    bad = _core.W2VConfig()
    bad.negative, bad.window, bad.share_negatives, bad.noise_group = 2, 2, False, 0
    with pytest.raises(ValueError, match="noise_group must be at least 1"):
        _core.train_word2vec(**dict(args, config=bad), sent_end=1, noise=noise)
    st = _core.train_word2vec(**args, sent_end=1, noise=noise)
    assert st["words"] == 3
