"""densevec.distributed on a LocalCluster: encoding and counting equal the local
jobs, data-parallel training learns planted structure, a lost worker reruns."""
import threading
from pathlib import Path
import time

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

import densevec as dv  # noqa: E402
from densevec import distributed as dd  # noqa: E402
from planted import group_separation, planted_sentences  # noqa: E402


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    """Five files with Zipf words, count ties, empty lines, an invalid UTF-8
    token, a long line and a last line without a newline."""
    d = tmp_path_factory.mktemp("texts")
    rng = np.random.default_rng(7)
    paths = []
    for i in range(4):
        lines = []
        for _ in range(200):
            n = int(rng.integers(0, 30))
            lines.append(" ".join(f"w{int(x)}" for x in rng.zipf(1.4, size=n) if x < 400))
        lines.append(" ".join(["tie_a", "tie_b", "tie_c"] * (i + 1)))
        lines.append(" ".join(f"w{j % 7}" for j in range(40)))  # cut by max_sentence_length
        data = "\n".join(lines).encode() + b"\n\n  \nw1 caf\xc3\xa9 bad\xff w2"
        p = d / f"part{i}.txt"
        p.write_bytes(data)
        paths.append(p)
    return paths


def assert_same_corpus(a: dv.Corpus, b: dv.Corpus):
    assert a.vocab.index_to_word == b.vocab.index_to_word
    np.testing.assert_array_equal(a.vocab.counts, b.vocab.counts)
    np.testing.assert_array_equal(np.asarray(a.ids), np.asarray(b.ids))
    np.testing.assert_array_equal(np.asarray(a.offsets), np.asarray(b.offsets))


@pytest.mark.parametrize("min_count,max_vocab", [(1, None), (3, 40)])
def test_encode_equals_local_encoding(client, text_files, tmp_path, min_count, max_vocab):
    sharded = dd.encode(client, text_files, tmp_path / "enc", min_count=min_count, max_vocab=max_vocab,
                        max_sentence_length=9)
    local = dv.Corpus.from_file(text_files, min_count=min_count, max_vocab=max_vocab, max_sentence_length=9,
                                cache=False)
    assert len(sharded) == len(text_files)
    assert (sharded.n_tokens, sharded.n_sentences) == (local.n_tokens, local.n_sentences)
    assert sharded.meta["stats"]["invalid_utf8"] == local.stats["invalid_utf8"] == len(text_files)
    assert_same_corpus(sharded.to_corpus(), local)
    # each shard is the encoding of its own file with the global vocabulary
    first = sharded.shards()[0]
    assert first.vocab.index_to_word == local.vocab.index_to_word and first.fingerprint == sharded.fingerprint
    alone = dv.Corpus.from_file(text_files[0], min_count=1, cache=False)
    assert first.n_tokens <= alone.n_tokens
    if max_vocab is not None:  # negative control: pruning on one file's counts would differ
        assert alone.vocab.index_to_word[:max_vocab] != local.vocab.index_to_word
    reopened = dd.ShardedCorpus.load(tmp_path / "enc")
    assert reopened.vocab.index_to_word == sharded.vocab.index_to_word


@pytest.fixture(scope="module")
def sharded(client, text_files, tmp_path_factory):
    """The text files encoded from a directory (min_count 2)."""
    return dd.encode(client, text_files[0].parent, tmp_path_factory.mktemp("enc") / "c", min_count=2)


def test_encode_takes_a_glob_or_a_directory(client, text_files, sharded, tmp_path):
    by_glob = dd.encode(client, str(text_files[0].parent / "part*.txt"), tmp_path / "g", min_count=2)
    local = dv.Corpus.from_file(sorted(text_files), min_count=2, cache=False)
    assert_same_corpus(by_glob.to_corpus(), local)
    assert_same_corpus(sharded.to_corpus(), local)


def test_encode_bad_input(client, text_files, tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no file"):
        dd.encode(client, str(tmp_path / "nothing*.txt"), tmp_path / "x")
    with pytest.raises(ValueError, match="min_count"):
        dd.encode(client, text_files, tmp_path / "y", min_count=10**9)
    assert not (tmp_path / "y").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("data")
    with pytest.raises(FileExistsError):
        dd.encode(client, text_files, foreign)
    assert (foreign / "keep.txt").read_text() == "data"
    with pytest.raises(TypeError, match="Client"):
        dd.encode("not a client", text_files, tmp_path / "z")


@pytest.mark.parametrize("symmetric", [True, False])
def test_cooccurrence_equals_local_counting(client, sharded, tmp_path, symmetric):
    whole = sharded.to_corpus()
    local = dv.cooccurrence(whole, window=4, symmetric=symmetric, threads=1)
    # a tiny memory budget: several row ranges in the merge
    for corpus in (sharded, whole):
        dist = dd.cooccurrence(client, corpus, window=4, symmetric=symmetric, memory_gb=1e-5)
        assert dist.stats["row_ranges"] > 2
        assert (dist.nnz, dist.upper, dist.window) == (local.nnz, local.upper, local.window)
        a, b = dist.records, local.records
        np.testing.assert_array_equal(a["row"], b["row"])
        np.testing.assert_array_equal(a["col"], b["col"])
        np.testing.assert_allclose(a["value"], b["value"], rtol=1e-5)
    saved = dd.cooccurrence(client, sharded, window=4, symmetric=symmetric, path=tmp_path / "cooc")
    assert dv.Cooccurrence.load(tmp_path / "cooc").nnz == saved.nnz == local.nnz
    other = dv.cooccurrence(whole, window=2, symmetric=symmetric, threads=1)  # negative control
    assert other.nnz != local.nnz


def _record_file(path, keys_values):
    from densevec.glove import RECORD_DTYPE

    rec = np.zeros(len(keys_values), RECORD_DTYPE)
    for i, ((r, c), v) in enumerate(keys_values):
        rec[i] = (r, c, v)
    rec.tofile(path)
    return str(path)


def test_merge_rows_sums_partial_record_files(tmp_path):
    """The row-range merge (a k-way merge in C++) equals a dict sum over the files, for
    overlapping and disjoint pairs, an empty file and empty ranges; rows outside the
    range are left out."""
    rng = np.random.default_rng(3)
    files, expect = [], {}
    for f, n in enumerate((60, 0, 150, 9)):
        keys = sorted({(int(r), int(c)) for r, c in rng.integers(0, 20, size=(n, 2))})
        kv = [(k, float(rng.integers(1, 100)) / 8) for k in keys]  # exact in float32
        for k, v in kv:
            expect[k] = expect.get(k, 0.0) + v
        files.append(_record_file(tmp_path / f"p{f}.bin", kv))
    from densevec.glove import RECORD_DTYPE

    got = []
    for lo, hi in ((0, 5), (5, 5), (5, 13), (13, 20)):
        out = tmp_path / f"r{lo}-{hi}.bin"
        stored, diag = dd._merge_rows(files, lo, hi, str(out))
        rec = np.fromfile(out, RECORD_DTYPE)
        assert stored == rec.size and diag == int(np.count_nonzero(rec["row"] == rec["col"]))
        assert np.all((rec["row"] >= lo) & (rec["row"] < hi))
        got += [((int(r), int(c)), float(v)) for r, c, v in rec.tolist()]
    assert got == sorted(expect.items())  # sorted, every pair once, values summed
    with pytest.raises(ValueError, match="not sorted"):  # negative control: an unsorted file
        dd._merge_rows([_record_file(tmp_path / "bad.bin", [((3, 4), 1.0), ((1, 2), 1.0)])], 0, 20,
                       str(tmp_path / "o.bin"))
    (tmp_path / "odd.bin").write_bytes(b"\0" * 13)
    with pytest.raises(ValueError, match="multiple of 12"):
        dd._merge_rows([str(tmp_path / "odd.bin")], 0, 20, str(tmp_path / "o.bin"))


def test_encode_passes_reject_bad_input(tmp_path):
    from densevec import _core

    text = tmp_path / "t.txt"
    text.write_bytes(b"a b a c\n\nc a\n")
    scan = _core.dist_scan_file(path=str(text), max_token_bytes=100, stream_path=str(tmp_path / "s.u32"))
    assert scan["words"] == b"a\nb\nc" and scan["counts"].tolist() == [3, 1, 2]
    mark = 2**32 - 1  # a line end
    assert np.fromfile(tmp_path / "s.u32", np.uint32).tolist() == [0, 1, 0, 2, mark, mark, 2, 0, mark, mark]
    kw = dict(stream_path=str(tmp_path / "s.u32"), max_sentence_length=2, ids_path=str(tmp_path / "i.u32"),
              offsets_path=str(tmp_path / "o.u64"))
    # b pruned; a line cut after 2 ids; the empty line dropped
    assert _core.dist_encode_stream(lookup=np.array([0, mark, 1], np.uint32), **kw) == (5, 3)
    assert np.fromfile(tmp_path / "i.u32", np.uint32).tolist() == [0, 0, 1, 1, 0]
    assert np.fromfile(tmp_path / "o.u64", np.uint64).tolist() == [0, 2, 3, 5]
    with pytest.raises(ValueError, match="word number 2 past the lookup"):
        _core.dist_encode_stream(lookup=np.array([0, 1], np.uint32), **kw)
    with pytest.raises(ValueError, match="lookup must be"):
        _core.dist_encode_stream(lookup=np.array([0, 1, 2], np.int64), **kw)
    with pytest.raises(ValueError, match="different number of words"):
        _core.dist_merge_scans(words=[b"a\nb"], counts=[np.ones(3, np.uint64)], invalid=[np.zeros(3, np.uint8)],
                               min_count=1, max_vocab=0)


def test_concat_files_in_the_kernel_or_through_a_buffer(tmp_path, monkeypatch):
    parts = []
    for i, n in enumerate((5000, 0, 123)):
        p = tmp_path / f"p{i}"
        p.write_bytes(bytes([i + 1]) * n)
        parts.append(str(p))
    expect = b"".join(Path(p).read_bytes() for p in parts)
    dd._concat_files(parts, tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == expect

    def unsupported(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(dd.os, "copy_file_range", unsupported)
    dd._concat_files(parts, tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == expect


@pytest.fixture(scope="module")
def planted():
    return dv.Corpus.from_sentences(planted_sentences(), min_count=1)


def test_train_learns_planted_groups(client, planted):
    model = dv.Word2Vec(dim=32, epochs=5, threads=1, seed=3)
    emb = dd.train(client, model, planted, syncs_per_epoch=4)
    margin, precision = group_separation(emb)
    assert margin > 0.4 and precision == 1.0
    assert len(model.history) == 5 and model.history[-1]["workers"] == 2
    assert sum(h["words"] for h in model.history) == 5 * planted.n_tokens
    assert model.history[-1]["alpha_end"] == pytest.approx(model.final_alpha)
    assert emb.meta["distributed"]["merge"] == "scaled"
    # the same algorithm simulated in one process gives the same vectors
    sim = dd.simulate(dv.Word2Vec(dim=32, epochs=5, threads=1, seed=3), planted, workers=2, syncs_per_epoch=4)
    np.testing.assert_array_equal(sim.vectors, emb.vectors)


def test_train_on_a_sharded_corpus(client, tmp_path):
    path = tmp_path / "planted.txt"
    path.write_text("\n".join(" ".join(s) for s in planted_sentences()) + "\n")
    parts = []
    lines = path.read_text().splitlines(keepends=True)
    for i in range(4):
        p = tmp_path / f"p{i}.txt"
        p.write_text("".join(lines[i::4]))
        parts.append(p)
    sharded = dd.encode(client, parts, tmp_path / "enc", min_count=1)
    model = dv.Word2Vec(dim=32, epochs=5, threads=1, seed=3)
    margin, precision = group_separation(dd.train(client, model, sharded, syncs_per_epoch=4))
    assert margin > 0.4 and precision == 1.0


def test_delta_merge_beats_naive_averaging(planted):
    """Simulated 4 workers: adding the deltas keeps what one process learns;
    averaging the copies (Spark MLlib's merge) divides every update by 4."""
    def run(workers, merge):
        model = dv.Word2Vec(dim=32, epochs=5, threads=1, seed=3)
        return group_separation(dd.simulate(model, planted, workers=workers, syncs_per_epoch=4, merge=merge))[0]

    one, delta, average = run(1, "delta"), run(4, "delta"), run(4, "average")
    assert delta > 0.9 * one
    assert average < 0.5 * delta


@pytest.mark.parametrize("merge,expect", [("delta", [4.0, 1.0]), ("capped", [2.0, 1.0]),
                                          ("touched", [1.0, 1.0]), ("average", [1.0, 0.25]),
                                          ("scaled", [1.0, 0.25])])
def test_merge_rules_on_a_shared_and_a_private_row(merge, expect):
    """Four workers each move row 0 by 1; one of them also moves row 1 by 1."""
    results = [{"input": (np.array([0, 1]) if w == 0 else np.array([0]),
                          np.ones((2 if w == 0 else 1, 1), np.float32))} for w in range(4)]
    arrays = {"input": np.zeros((3, 1), np.float32)}
    dd._merge(arrays, results, merge)
    assert arrays["input"][:, 0].tolist() == expect + [0.0]


def test_scaled_merge_trains_each_copy_at_k_times_the_rate(planted, monkeypatch):
    """"scaled" averages copies that trained at k times the schedule's rate;
    the other merges keep the schedule's rate."""
    seen = []
    real = dd._train_pieces

    def spy(win0, wout0, spec, pieces, alpha_begin, alpha_end, epoch):
        seen.append((alpha_begin, alpha_end))
        return real(win0, wout0, spec, pieces, alpha_begin, alpha_end, epoch)

    monkeypatch.setattr(dd, "_train_pieces", spy)
    for merge, scale in (("scaled", 3.0), ("delta", 1.0)):
        seen.clear()
        model = dv.Word2Vec(dim=8, epochs=2, threads=1, seed=3)
        dd.simulate(model, planted, workers=3, syncs_per_epoch=2, merge=merge)
        assert len(seen) == 2 * 2 * 3
        assert seen[0][0] == pytest.approx(scale * model.alpha)
        assert seen[-1][1] == pytest.approx(scale * model.final_alpha)
        assert model.history[-1]["alpha_end"] == pytest.approx(model.final_alpha)


def test_scaled_merge_warns_when_the_rate_cap_binds(planted, monkeypatch):
    seen = []
    real = dd._train_pieces
    monkeypatch.setattr(dd, "_train_pieces", lambda w, o, spec, pieces, a0, a1, e: (seen.append(a0),
                                                                                  real(w, o, spec, pieces, a0, a1, e))[1])
    model = dv.Word2Vec(dim=8, epochs=1, threads=1, seed=3, alpha=0.1)
    with pytest.warns(RuntimeWarning, match="2x the learning rate, not 4x"):
        dd.simulate(model, planted, workers=4, syncs_per_epoch=1)
    assert seen[0] == pytest.approx(0.2)


def test_scaled_merge_with_one_worker_is_one_process(planted):
    def run(merge):
        return dd.simulate(dv.Word2Vec(dim=16, epochs=2, threads=1, seed=3), planted, workers=1,
                           syncs_per_epoch=3, merge=merge).vectors

    np.testing.assert_array_equal(run("scaled"), run("delta"))


def test_scaled_merge_keeps_what_one_process_learns(planted):
    """Eight simulated workers: the scaled average keeps the planted groups as
    one process does, while naive averaging (the same merge without the
    scaled rate) loses most of it."""
    def run(workers, merge):
        model = dv.Word2Vec(dim=32, epochs=5, threads=1, seed=3)
        return group_separation(dd.simulate(model, planted, workers=workers, syncs_per_epoch=4, merge=merge))

    one, scaled, average = run(1, "scaled"), run(8, "scaled"), run(8, "average")
    assert scaled[0] > 0.9 * one[0] and scaled[1] == 1.0
    assert average[0] < 0.5 * scaled[0]


def test_scaled_row_rates_keep_the_frequent_rows_at_the_schedule(monkeypatch):
    """A row's factor on the copies' rate is 1 / (1 + n / H) for a word a copy
    meets n times per round (in expectation, wherever it sits in the
    vocabulary), at least 1 / scale (the schedule's rate)."""
    monkeypatch.setattr(dd, "_SCALED_HALF", 5.0)
    counts = np.array([0, 40, 30, 10, 10, 5, 5], dtype=np.float64)  # 100 tokens
    rate = dd._scaled_row_rates(counts, 4.0, round_tokens=50)  # n: 0 20 15 5 5 2.5 2.5
    assert rate.dtype == np.float32
    np.testing.assert_allclose(rate, [1.0, 0.25, 0.25, 0.5, 0.5, 2 / 3, 2 / 3], rtol=1e-6)
    wide = dd._scaled_row_rates(counts, 16.0, round_tokens=50)  # more copies: a lower floor
    np.testing.assert_allclose(wide, [1.0, 0.2, 0.25, 0.5, 0.5, 2 / 3, 2 / 3], rtol=1e-6)
    assert dd._scaled_row_rates(counts, 1.0, 50).tolist() == [1.0] * 7  # one copy: no factors
    assert dd._scaled_row_rates(np.zeros(3), 4.0, 100).tolist() == [1.0, 1.0, 1.0]


def test_default_syncs_bound_the_tokens_a_copy_trains_between_merges(planted, monkeypatch):
    """syncs_per_epoch=None: at least 40 merges per epoch, and with several
    copies enough that each trains at most 100,000 tokens per round."""
    assert dd._auto_syncs(30_000_000, 1) == 40
    assert dd._auto_syncs(30_000_000, 8) == 40  # 37.5 rounded up, then the floor
    assert dd._auto_syncs(30_000_000, 4) == 75
    assert dd._auto_syncs(30_000_001, 4) == 76
    assert dd._auto_syncs(30_000_000, 2) == 150
    assert dd._auto_syncs(10, 4) == 40
    monkeypatch.setattr(dd, "_ROUND_TOKENS", 50)  # the planted corpus is small: 50 tokens per round
    model = dv.Word2Vec(dim=8, epochs=1, threads=1, seed=3)
    dd.simulate(model, planted, workers=2, merge="delta")
    expected = max(40, -(-planted.n_tokens // 100))
    assert expected > 40
    assert model.history[-1]["syncs"] == expected
    assert model.embeddings_.meta["distributed"]["syncs_per_epoch"] == expected


def test_scaled_merge_leaves_frozen_rows_frozen(planted):
    """The per-row rates multiply a warm start's row locks: frozen rows stay bit-identical."""
    model = dv.Word2Vec(dim=16, epochs=2, threads=1, seed=3)
    model.build_vocab(planted)
    frozen = ["m0_0", "c0_1", "noise3"]  # a rare member, a context word, a frequent noise word
    pretrained = dv.Embeddings(np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32), frozen)
    assert model.warm_start(pretrained, freeze=True) == 3
    rows = [model.state.words.index(w) for w in frozen]
    start = model.state.arrays["input"].copy()
    emb = dd.simulate(model, planted, workers=4, syncs_per_epoch=3)
    np.testing.assert_array_equal(np.asarray(emb.vectors)[rows], np.asarray(pretrained.vectors))
    others = np.setdiff1d(np.arange(len(start)), rows)
    assert np.all(np.any(np.asarray(emb.vectors)[others] != start[others], axis=1))


def test_capped_merge_is_delta_with_two_workers(planted):
    def run(merge):
        model = dv.Word2Vec(dim=16, epochs=2, threads=1, seed=3)
        return dd.simulate(model, planted, workers=2, syncs_per_epoch=3, merge=merge).vectors

    np.testing.assert_array_equal(run("capped"), run("delta"))


def test_lost_worker_mid_job_reruns_its_task(client, planted, monkeypatch):
    from dask.distributed import Client, LocalCluster

    model = dv.Word2Vec(dim=32, epochs=3, threads=1, seed=3)
    expected = dd.train(client, model, planted, syncs_per_epoch=3).vectors.copy()
    _CALLS.clear()
    monkeypatch.setattr(dd, "_train_pieces", _closes_its_worker)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as own:  # a cluster of its own: this test loses a worker
        model = dv.Word2Vec(dim=32, epochs=3, threads=1, seed=3)
        emb = dd.train(own, model, planted, syncs_per_epoch=3)
        assert len(own.scheduler_info()["workers"]) == 1  # the worker is gone ...
    assert len(_CALLS) == 2 * 9 + 1  # ... and its task ran again on the other one
    np.testing.assert_array_equal(emb.vectors, expected)


def test_failing_task_gives_a_clear_error_and_leaves_the_model(client, planted, monkeypatch):
    model = dv.Word2Vec(dim=16, epochs=2, threads=1, seed=3)
    model.fit(planted, progress=False)
    before = model.state.arrays["input"].copy()
    history = list(model.history)
    monkeypatch.setattr(dd, "_train_pieces", _fails_later)
    with pytest.raises(RuntimeError, match="train: round .* failed.*disk on fire"):
        dd.train(client, model, planted, epochs=2, syncs_per_epoch=2)
    np.testing.assert_array_equal(model.state.arrays["input"], before)
    assert model.history == history


def test_train_bad_input(client, planted):
    with pytest.raises(ValueError, match="merge"):
        dd.train(client, dv.Word2Vec(dim=8), planted, merge="sum")
    with pytest.raises(TypeError, match="Word2Vec"):
        dd.train(client, dv.GloVe(dim=8), planted)
    other = dv.Word2Vec(dim=8, epochs=1).fit(dv.Corpus.from_sentences([["a", "b"]] * 5, min_count=1),
                                             progress=False)
    model = dv.Word2Vec(dim=8, epochs=1)
    model.fit(dv.Corpus.from_sentences([["a", "b"]] * 5, min_count=1), progress=False)
    assert other is not None
    with pytest.raises(ValueError, match="vocabulary differs"):
        dd.train(client, model, planted)


_CALLS: list = []
_LOCK = threading.Lock()


def _closes_its_worker(*args, **kwargs):
    """_train_pieces, except that the fifth call closes the worker running it first."""
    from dask.distributed import get_worker

    with _LOCK:
        _CALLS.append(1)
        n = len(_CALLS)
    if n == 5:
        worker = get_worker()
        worker.loop.add_callback(worker.close)
        time.sleep(1.0)
    return _ORIGINAL(*args, **kwargs)


def _fails_later(win0, wout0, spec, pieces, alpha_begin, alpha_end, epoch):
    """_train_pieces, except that every task of the first epoch's second round
    fails (decided by the task, not by a call count, so that a task Dask
    reruns on another worker, e.g. after a missed heartbeat on a loaded
    machine, fails again)."""
    if epoch == 0 and pieces[0][1] > 0:
        raise OSError("disk on fire")
    return _ORIGINAL(win0, wout0, spec, pieces, alpha_begin, alpha_end, epoch)


_ORIGINAL = dd._train_pieces
