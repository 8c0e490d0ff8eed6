"""GloVe: co-occurrence counting against a pure-Python reference (with and
without spilling), the Cooccurrence store, the AdaGrad kernel and one epoch
against a numpy reference, planted structure, determinism, bad input."""
from __future__ import annotations

import collections
import json

import numpy as np
import pytest

import densevec as dv
from densevec import _core
from densevec import glove as glove_mod
from densevec.glove import (
    _TRAIN_DTYPE,
    RECORD_DTYPE,
    Cooccurrence,
    CooccurrenceError,
    GloVe,
    cooccurrence,
)

from planted import fit_interrupted, group_separation, planted_sentences, planted_text

ISAS = _core.simd_isas()
TINY_GB = 24_000 / (1 << 30)  # a few hundred hash entries per thread: forces spilled runs


def zipf_corpus(n_sentences=1500, vocab=120, seed=0):
    rng = np.random.default_rng(seed)
    sents = []
    for _ in range(n_sentences):
        n = int(rng.integers(1, 25))
        sents.append([f"w{int(x) % vocab}" for x in rng.zipf(1.2, size=n)])
    return dv.Corpus.from_sentences(sents, min_count=1)


@pytest.fixture(scope="module")
def corpus():
    return zipf_corpus()


def reference_counts(corpus, window, symmetric, harmonic):
    """GloVe's definition, one pair at a time."""
    x = collections.defaultdict(float)
    for s in range(corpus.n_sentences):
        ids = corpus.sentence_ids(s).tolist()
        for i, right in enumerate(ids):
            for d in range(1, window + 1):
                if i - d < 0:
                    break
                left = ids[i - d]
                w = 1.0 / d if harmonic else 1.0
                x[(left, right)] += w
                if symmetric:
                    x[(right, left)] += w
    return x


def assert_equals_reference(cooc, ref):
    keys = sorted(ref)
    rows, cols, vals = cooc.coo()
    assert cooc.nnz == len(keys) == len(rows)
    assert list(zip(rows.tolist(), cols.tolist())) == keys
    want = np.array([ref[k] for k in keys], dtype=np.float64)
    np.testing.assert_allclose(vals.astype(np.float64), want, rtol=2e-7)
    rec = cooc.records
    if cooc.upper:  # stored: the upper triangle
        assert np.all(rec["row"] <= rec["col"])
        assert len(rec) == sum(1 for i, j in keys if i <= j)
    else:
        assert len(rec) == len(keys)


# ------------------------------------------------------------------ counting
@pytest.mark.parametrize("window", [1, 2, 5, 15])
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("spill", [False, True])
def test_counts_equal_reference(corpus, window, symmetric, spill):
    threads = 2 if window % 2 else 1
    cooc = cooccurrence(corpus, window=window, symmetric=symmetric,
                        memory_gb=TINY_GB if spill else 1.0, threads=threads)
    assert (cooc.stats["runs_spilled"] > 0) == spill
    assert cooc.upper == symmetric
    assert_equals_reference(cooc, reference_counts(corpus, window, symmetric, True))
    if symmetric:
        m = cooc.to_dense()
        np.testing.assert_array_equal(m, m.T)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("spill", [False, True])
def test_counts_equal_reference_on_a_larger_vocabulary(symmetric, spill):
    # Hundreds of words: the dense block spans many cache-sized regions (its
    # updates are batched by region), and a tiny budget leaves most pairs to
    # the hash table and its spilled runs.
    big = zipf_corpus(n_sentences=1200, vocab=900, seed=5)
    assert len(big.vocab) > 400
    cooc = cooccurrence(big, window=4, symmetric=symmetric,
                        memory_gb=TINY_GB if spill else 1.0, threads=2)
    assert (cooc.stats["runs_spilled"] > 0) == spill
    assert_equals_reference(cooc, reference_counts(big, 4, symmetric, True))


def test_uniform_weighting(corpus):
    cooc = cooccurrence(corpus, window=3, weighting="uniform", threads=2)
    assert cooc.weighting == "uniform"
    assert_equals_reference(cooc, reference_counts(corpus, 3, True, False))


def test_result_does_not_depend_on_threads_or_budget(corpus):
    a = cooccurrence(corpus, window=7, threads=1, memory_gb=1.0)
    b = cooccurrence(corpus, window=7, threads=2, memory_gb=TINY_GB)
    assert b.stats["runs_spilled"] > 0 and a.stats["runs_spilled"] == 0
    np.testing.assert_array_equal(a.records["row"], b.records["row"])
    np.testing.assert_array_equal(a.records["col"], b.records["col"])
    np.testing.assert_allclose(a.records["value"], b.records["value"], rtol=1e-6)


def test_windows_do_not_cross_sentences():
    c = dv.Corpus.from_sentences([["a", "b"], ["c", "d"]], min_count=1)
    dense = cooccurrence(c, window=10).to_dense()
    ids = {w: c.vocab[w] for w in "abcd"}
    assert dense[ids["a"], ids["b"]] == 1.0 and dense[ids["b"], ids["c"]] == 0.0
    assert dense[ids["a"], ids["a"]] == 0.0


def test_self_pairs_count_both_orientations():
    c = dv.Corpus.from_sentences([["a", "a", "b"]], min_count=1)
    dense = cooccurrence(c, window=2).to_dense()
    a, b = c.vocab["a"], c.vocab["b"]
    assert dense[a, a] == 2.0  # (a, a) at distance 1, added for both sides
    assert dense[a, b] == pytest.approx(1.5) and dense[b, a] == pytest.approx(1.5)


def test_spill_files_removed_after_success_and_error(corpus, tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    out = tmp_path / "records.bin"
    args = dict(ids=corpus.ids, offsets=corpus.offsets, vocab_size=len(corpus.vocab), window=5,
                symmetric=True, harmonic=True, memory_bytes=1 << 14, threads=2, tmp_dir=str(spill),
                out_path=str(out))
    st = _core.count_cooccurrence(**args)
    assert st["runs_spilled"] > 0 and list(spill.iterdir()) == [] and out.exists()

    def boom(_done):
        raise RuntimeError("stop here")

    out.unlink()
    with pytest.raises(RuntimeError, match="stop here"):
        _core.count_cooccurrence(**args, progress=boom)
    assert list(spill.iterdir()) == [] and not out.exists()


def test_error_seen_only_by_the_last_poll_still_stops_the_job(tmp_path):
    """A job shorter than the polling interval meets its progress callback
    only in the poll after its threads join: an error raised there must still
    stop the job (no output file), not only surface after it has finished."""
    ids = np.array([0, 1, 2, 1, 0, 2], dtype=np.uint32)
    offsets = np.array([0, 3, 6], dtype=np.uint64)
    out = tmp_path / "records.bin"
    calls = []

    def late(done):
        calls.append(done)
        raise RuntimeError("late stop")

    with pytest.raises(RuntimeError, match="late stop"):
        _core.count_cooccurrence(ids=ids, offsets=offsets, vocab_size=3, window=2, symmetric=True,
                                 harmonic=True, memory_bytes=1 << 20, threads=1, tmp_dir=str(tmp_path),
                                 out_path=str(out), progress=late)
    assert len(calls) == 1 and not out.exists()


def test_temporary_result_is_removed_when_collected(corpus):
    cooc = cooccurrence(corpus, window=2)
    parent = cooc.path.parent
    assert parent.exists()
    del cooc
    import gc

    gc.collect()
    assert not parent.exists()


def test_bad_counting_arguments(corpus):
    with pytest.raises(ValueError, match="window"):
        cooccurrence(corpus, window=0)
    with pytest.raises(ValueError, match="weighting"):
        cooccurrence(corpus, weighting="linear")
    with pytest.raises(ValueError, match="memory_gb"):
        cooccurrence(corpus, memory_gb=0)
    with pytest.raises(TypeError, match="Corpus"):
        cooccurrence(["a b c"])


# --------------------------------------------------------- Cooccurrence store
def test_save_load_round_trip_and_scipy(corpus, tmp_path):
    cooc = cooccurrence(corpus, window=4)
    path = cooc.save(tmp_path / "c.cooc")
    back = Cooccurrence.load(path)
    assert back.nnz == cooc.nnz and back.window == 4 and back.symmetric and back.upper
    assert back.vocab.index_to_word == corpus.vocab.index_to_word
    assert np.array_equal(np.asarray(back.records), np.asarray(cooc.records))
    assert back.corpus_fingerprint == corpus.fingerprint
    sp = pytest.importorskip("scipy.sparse")
    m = back.to_scipy()
    assert isinstance(m, sp.csr_matrix) and m.nnz == cooc.nnz
    np.testing.assert_array_equal(m.toarray(), back.to_dense())


def test_written_in_place_with_path(corpus, tmp_path):
    cooc = cooccurrence(corpus, window=2, path=tmp_path / "here.cooc")
    assert cooc.path == tmp_path / "here.cooc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.cooc"]
    assert sorted(p.name for p in cooc.path.iterdir()) == ["meta.json", "records.bin", "vocab.txt"]


@pytest.fixture()
def saved(corpus, tmp_path):
    return cooccurrence(corpus, window=3).save(tmp_path / "c.cooc")


def _patch_record(path, i, **fields):
    rec = np.fromfile(path / "records.bin", dtype=RECORD_DTYPE)
    for k, v in fields.items():
        rec[i][k] = v
    rec.tofile(path / "records.bin")


@pytest.mark.parametrize("damage, match", [
    (lambda p: (p / "records.bin").write_bytes((p / "records.bin").read_bytes()[:-5]), "truncated"),
    (lambda p: (p / "meta.json").write_text("{nope"), "unreadable"),
    (lambda p: (p / "meta.json").write_text(json.dumps({"format": "other"})), "not a densevec"),
    (lambda p: (p / "vocab.txt").write_text("x\t1\n"), "checksum"),
    (lambda p: (p / "records.bin").unlink(), "missing"),
    (lambda p: _patch_record(p, 3, row=10**6), "past the"),
    (lambda p: _patch_record(p, 3, value=-1.0), "positive finite"),
    (lambda p: _patch_record(p, 3, value=np.nan), "positive finite"),
    (lambda p: _patch_record(p, 3, row=0, col=0), "order"),
    (lambda p: _patch_record(p, 5, row=7, col=2), "below the diagonal"),
    (lambda p: (p / "meta.json").write_text(
        (p / "meta.json").read_text().replace('"nnz": ', '"nnz": 1')), "nnz"),
])
def test_damaged_store_is_refused(saved, damage, match):
    damage(saved)
    with pytest.raises(CooccurrenceError, match=match) as e:
        Cooccurrence.load(saved)
    assert str(saved) in str(e.value)


def test_fuzzed_records_never_crash(saved):
    rng = np.random.default_rng(0)
    raw = bytearray((saved / "records.bin").read_bytes())
    for _ in range(30):
        data = bytearray(raw)
        for pos in rng.integers(0, len(data), size=4):
            data[pos] = int(rng.integers(256))
        (saved / "records.bin").write_bytes(bytes(data))
        try:
            c = Cooccurrence.load(saved)
        except CooccurrenceError:
            continue
        GloVe(dim=4, epochs=1, threads=1).fit(c, progress=False)


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("ld", [16, 32, 112])
def test_adagrad_kernel_matches_reference(isa, ld):
    rng = np.random.default_rng(ld)
    w = rng.standard_normal(2 * ld).astype(np.float32)
    c = rng.standard_normal(2 * ld).astype(np.float32)
    w[ld:] = rng.uniform(0.5, 50, ld)
    c[ld:] = rng.uniform(0.5, 50, ld)
    step = np.float32(0.37)
    ew, ec = w.astype(np.float64), c.astype(np.float64)
    dw, dc = step * ec[:ld], step * ew[:ld]
    want_w = np.concatenate([ew[:ld] - dw / np.sqrt(ew[ld:]), ew[ld:] + dw * dw])
    want_c = np.concatenate([ec[:ld] - dc / np.sqrt(ec[ld:]), ec[ld:] + dc * dc])
    _core.testing.glove_adagrad(w, c, float(step), isa=isa)
    np.testing.assert_allclose(w, want_w, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(c, want_c, rtol=2e-6, atol=1e-7)


def numpy_epoch(word, ctx, wb, cb, recs, eta, ld):
    """One pass in record order, GloVe's update in float64 (vectors word[:, :ld],
    accumulators acc_w / acc_c)."""
    cost = 0.0
    w_vec, w_acc = word
    c_vec, c_acc = ctx
    for r in recs:
        i, j = int(r["row"]), int(r["col"])
        w, c = w_vec[i], c_vec[j]
        diff = w @ c + wb[i, 0] + cb[j, 0] - r["logx"]
        fdiff = r["weight"] * diff
        cost += 0.5 * fdiff * diff
        s = eta * fdiff
        dw, dc = s * c, s * w
        w -= dw / np.sqrt(w_acc[i])
        c -= dc / np.sqrt(c_acc[j])
        w_acc[i] += dw * dw
        c_acc[j] += dc * dc
        wb[i, 0] -= s / np.sqrt(wb[i, 1])
        cb[j, 0] -= s / np.sqrt(cb[j, 1])
        wb[i, 1] += s * s
        cb[j, 1] += s * s
    return cost


@pytest.mark.parametrize("isa", ISAS)
def test_epoch_matches_numpy_reference(corpus, isa):
    cooc = cooccurrence(corpus, window=3)
    n, V, ld = cooc.nnz, len(cooc.vocab), 16
    train = np.empty(n, dtype=_TRAIN_DTYPE)
    tiles = _core.glove_prepare(records=cooc.records, upper=True, vocab_size=V, x_max=10.0, alpha=0.75,
                                seed=3, tile_rows=0, bucket_records=1 << 20, threads=1, out=train)
    assert list(tiles) == [0, n]
    # the training copy: a permutation of the full matrix's non-zeros with log x and f(x)
    rows, cols, vals = cooc.coo()
    order = np.lexsort((train["col"], train["row"]))
    np.testing.assert_array_equal(train["row"][order], rows)
    np.testing.assert_array_equal(train["col"][order], cols)
    np.testing.assert_allclose(train["logx"][order], np.log(vals), rtol=1e-6)
    x = vals.astype(np.float64)
    np.testing.assert_allclose(train["weight"][order], np.minimum(1, (x / 10.0) ** 0.75), rtol=1e-6)
    rng = np.random.default_rng(0)
    word = np.zeros((V, 2 * ld), np.float32)
    ctx = np.zeros((V, 2 * ld), np.float32)
    for m in (word, ctx):
        m[:, :10] = rng.uniform(-0.05, 0.05, (V, 10))
        m[:, ld:] = 1.0
    wb = np.column_stack([rng.uniform(-0.05, 0.05, V), np.ones(V)])
    cb = wb[::-1].copy()
    ref = [(m[:, :ld].astype(np.float64), m[:, ld:].astype(np.float64)) for m in (word, ctx)]
    ref_b = [wb.copy(), cb.copy()]
    # one tile, one chunk: the kernel visits the records in order
    st = _core.glove_epoch(word=word, ctx=ctx, word_bias=wb, ctx_bias=cb, records=train,
                           tiles=np.array([0, n], np.uint64), eta=0.05, seed=1, epoch=0,
                           max_chunk=n, threads=1, isa=isa)
    want_cost = numpy_epoch(ref[0], ref[1], ref_b[0], ref_b[1], train, 0.05, ld)
    assert st["records"] == n and not st["diverged"]
    assert st["cost"] == pytest.approx(want_cost, rel=1e-4)
    for got, (vec, acc) in zip((word, ctx), ref):
        np.testing.assert_allclose(got[:, :ld], vec, rtol=1e-3, atol=2e-5)
        np.testing.assert_allclose(got[:, ld:], acc, rtol=1e-3)
    for got, want in zip((wb, cb), ref_b):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=2e-5)


def test_tiles_group_records(corpus):
    cooc = cooccurrence(corpus, window=5)
    V = len(cooc.vocab)
    train = np.empty(cooc.nnz, dtype=_TRAIN_DTYPE)
    tiles = _core.glove_prepare(records=cooc.records, upper=True, vocab_size=V, x_max=100.0,
                                alpha=0.75, seed=1, tile_rows=16, bucket_records=1 << 20, threads=2,
                                out=train)
    side = -(-V // 16)
    assert len(tiles) == side * side + 1 and tiles[-1] == cooc.nnz
    tile_of = (train["row"] // 16) * side + train["col"] // 16
    expected = np.repeat(np.arange(side * side), np.diff(tiles).astype(np.int64))
    np.testing.assert_array_equal(tile_of, expected)
    # shuffled inside a tile, not left in (row, col) order
    key = train["row"].astype(np.int64) * V + train["col"]
    assert np.any(np.diff(key[tiles[0]:tiles[1]]) < 0)


# ------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def planted_corpus():
    return dv.Corpus.from_sentences(planted_sentences(), min_count=1)


def test_learns_planted_groups_and_cost_falls(planted_corpus):
    model = GloVe(dim=24, epochs=25, x_max=10, threads=2, window=6, seed=3)
    emb = model.fit(planted_corpus, progress=False)
    assert emb.vectors.shape == (len(planted_corpus.vocab), 24)
    margin, precision = group_separation(emb)
    assert precision >= 0.9, precision
    assert margin > 0.3, margin
    costs = [h["cost"] for h in model.history]
    assert costs[-1] < 0.5 * costs[0]
    assert all(b < a for a, b in zip(costs, costs[1:]))
    assert emb.meta["algorithm"] == "glove" and emb.meta["epochs_completed"] == 25
    assert emb.meta["corpus_fingerprint"] == planted_corpus.fingerprint


def test_many_tiles_learn_planted_groups(planted_corpus, monkeypatch):
    # The default tiles (4096 words a side) hold this whole vocabulary; cut it
    # into 8 x 8-word tiles so that epochs visit many tiles in random orders.
    monkeypatch.setattr(glove_mod, "_TILE_ROWS", 8)
    cooc = cooccurrence(planted_corpus, window=6)
    model = GloVe(dim=24, epochs=25, x_max=10, threads=2, seed=4)
    emb = model.fit(cooc, progress=False)
    margin, precision = group_separation(emb)
    assert precision >= 0.9, precision
    assert margin > 0.3, margin
    a = GloVe(dim=16, epochs=2, threads=1, seed=9).fit(cooc, progress=False)
    b = GloVe(dim=16, epochs=2, threads=1, seed=9).fit(cooc, progress=False)
    assert np.array_equal(a.vectors, b.vectors)


def test_threads_one_is_bit_reproducible(planted_corpus):
    cooc = cooccurrence(planted_corpus, window=5)
    a = GloVe(dim=16, epochs=3, threads=1, seed=9).fit(cooc, progress=False)
    b = GloVe(dim=16, epochs=3, threads=1, seed=9).fit(cooc, progress=False)
    c = GloVe(dim=16, epochs=3, threads=1, seed=10).fit(cooc, progress=False)
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)


def test_training_copy_on_disk_gives_the_same_vectors(planted_corpus):
    cooc = cooccurrence(planted_corpus, window=5)
    a = GloVe(dim=16, epochs=2, threads=1).fit(cooc, progress=False)
    b = GloVe(dim=16, epochs=2, threads=1, memory_gb=TINY_GB).fit(cooc, progress=False)
    assert np.array_equal(a.vectors, b.vectors)


def test_outputs(planted_corpus):
    cooc = cooccurrence(planted_corpus, window=5)
    m = GloVe(dim=8, epochs=2, threads=1, output="concat")
    both = m.fit(cooc, progress=False)
    np.testing.assert_array_equal(both.vectors[:, :8], m.word_vectors_)
    np.testing.assert_array_equal(both.vectors[:, 8:], m.context_vectors_)
    summed = GloVe(dim=8, epochs=2, threads=1).fit(cooc, progress=False)
    np.testing.assert_allclose(summed.vectors, m.word_vectors_ + m.context_vectors_)
    assert m.word_biases_.shape == (len(cooc.vocab),)


def test_fit_accepts_corpus_path_and_sentences(tmp_path):
    path, sents = planted_text(tmp_path)
    a = GloVe(dim=8, epochs=1, min_count=1, threads=1).fit(path, progress=False)
    b = GloVe(dim=8, epochs=1, min_count=1, threads=1).fit(sents, progress=False)
    assert a.index_to_word == b.index_to_word
    assert np.array_equal(a.vectors, b.vectors)


def test_divergence_is_an_error(planted_corpus):
    with pytest.raises(FloatingPointError, match="learning_rate"):
        GloVe(dim=8, epochs=3, learning_rate=1e30, threads=1).fit(planted_corpus, progress=False)


@pytest.mark.parametrize("kwargs, exc", [
    (dict(dim=0), ValueError), (dict(x_max=0), ValueError), (dict(x_max=-1), ValueError),
    (dict(alpha=-0.5), ValueError), (dict(learning_rate=0), ValueError),
    (dict(epochs=0), ValueError), (dict(window=0), ValueError), (dict(output="both"), ValueError),
    (dict(weighting="log"), ValueError), (dict(dim=2.5), TypeError), (dict(memory_gb=-1), ValueError),
    (dict(x_max=float("nan")), ValueError),
])
def test_bad_parameters(kwargs, exc):
    with pytest.raises(exc):
        GloVe(**kwargs)


def test_empty_cooccurrence_is_rejected():
    c = dv.Corpus.from_sentences([["a"], ["b"], ["a"]], min_count=1)
    cooc = cooccurrence(c, window=3)
    assert cooc.nnz == 0
    with pytest.raises(ValueError, match="empty"):
        GloVe(dim=4, epochs=1).fit(cooc, progress=False)


def test_epoch_rejects_foreign_records():
    word = np.zeros((2, 32), np.float32)
    bias = np.ones((2, 2), np.float64)
    bad = np.zeros(1, dtype=_TRAIN_DTYPE)
    bad["row"] = 5
    with pytest.raises(ValueError, match="past the 2-row model"):
        _core.glove_epoch(word=word, ctx=word.copy(), word_bias=bias, ctx_bias=bias.copy(),
                          records=bad, tiles=np.array([0, 1], np.uint64), eta=0.05, seed=1, epoch=0)
    with pytest.raises(ValueError, match="multiple of 16"):
        _core.glove_epoch(word=np.zeros((2, 20), np.float32), ctx=np.zeros((2, 20), np.float32),
                          word_bias=bias, ctx_bias=bias.copy(), records=bad[:0],
                          tiles=np.array([0, 0], np.uint64), eta=0.05, seed=1, epoch=0)


def test_progress_bar_runs(planted_corpus, capsys):
    GloVe(dim=8, epochs=1, threads=1).fit(planted_corpus, progress=True)
    assert "glove" in capsys.readouterr().err


def test_ctrl_c_stops_training_and_keeps_vectors(planted_corpus):
    cooc = cooccurrence(planted_corpus, window=5)
    model = GloVe(dim=64, epochs=100_000, threads=2)
    emb, elapsed = fit_interrupted(lambda cbs: model.fit(cooc, progress=False, callbacks=cbs),
                                   after_first_epoch=True)
    assert elapsed < 10
    assert emb.meta["interrupted"] is True
    assert 0 < len(model.history) < 100_000
    assert np.isfinite(emb.vectors).all()
