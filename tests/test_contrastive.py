"""Contrastive (InfoNCE) training on planted pairs: the loss falls and retrieval improves."""
from __future__ import annotations

import numpy as np
import pytest

import densevec as dv
from densevec import evaluate
from densevec.contrastive import Contrastive, read_pairs

K = 20  # topics


def planted(n_pairs: int, seed: int, shuffle: bool = False) -> tuple[list, list, list, list]:
    """Anchors use words a{k}_*, positives words b{k}_* of the same topic k: the two
    sides share no token, so only training can link them. Returns (pairs, queries,
    candidates, relevant) with held-out queries and one candidate text per topic."""
    rng = np.random.default_rng(seed)

    def text(side: str, k: int, n: int) -> list:
        return [f"{side}{k}_{j}" for j in rng.integers(0, 8, n)]

    topics = rng.integers(0, K, n_pairs)
    pairs = [(text("a", k, 4), " ".join(text("b", k, 3))) for k in topics]
    if shuffle:  # the negative control: positives of random other pairs
        perm = rng.permutation(n_pairs)
        pairs = [(a, pairs[j][1]) for (a, _), j in zip(pairs, perm)]
    queries = [text("a", k, 3) for k in range(K) for _ in range(3)]
    relevant = [k for k in range(K) for _ in range(3)]
    candidates = [[f"b{k}_{j}" for j in range(8)] for k in range(K)]
    return pairs, queries, candidates, relevant


def test_loss_falls_and_recall_improves_with_a_negative_control():
    pairs, queries, candidates, relevant = planted(2000, seed=0)
    model = Contrastive(dim=16, batch_size=32, epochs=4, temperature=0.05, learning_rate=0.05, threads=1, seed=3)
    model.build_vocab(pairs)
    untrained = Embeddings_of(model)
    before = evaluate.retrieval(queries, candidates, relevant, encoder=untrained)
    emb = model.train(pairs, progress=False)
    after = evaluate.retrieval(queries, candidates, relevant, encoder=emb)
    losses = [h["loss"] for h in model.history]
    chance = np.log(32)  # the loss of a uniform softmax over the batch
    # (temperature 0.05: the bounds below are for its sharper softmax; the default 0.1 is tuned on real pairs)
    assert losses[-1] < 0.5 * losses[0] and losses[-1] < 0.35 * chance, losses
    assert before.recall[1] < 0.3
    assert after.recall[1] > 0.9 and after.mrr > 0.9

    control, *_ = planted(2000, seed=0, shuffle=True)
    shuffled = Contrastive(dim=16, batch_size=32, epochs=4, temperature=0.05, learning_rate=0.05, threads=1, seed=3)
    emb_c = shuffled.fit(control, progress=False)
    ctrl = evaluate.retrieval(queries, candidates, relevant, encoder=emb_c)
    assert ctrl.recall[1] < 0.3 and ctrl.mrr < 0.4
    assert shuffled.history[-1]["loss"] > 0.8 * chance  # nothing to learn: it stays near chance


def Embeddings_of(model: Contrastive) -> dv.Embeddings:
    return dv.Embeddings(np.array(model.state.arrays["input"]), model.state.words)


def test_deterministic_with_one_thread_and_hogwild_runs():
    pairs, *_ = planted(600, seed=1)
    a = Contrastive(dim=8, batch_size=16, epochs=2, threads=1, seed=5).fit(pairs, progress=False)
    b = Contrastive(dim=8, batch_size=16, epochs=2, threads=1, seed=5).fit(pairs, progress=False)
    assert np.array_equal(a.vectors, b.vectors)
    c = Contrastive(dim=8, batch_size=16, epochs=2, threads=1, seed=6).fit(pairs, progress=False)
    assert not np.array_equal(a.vectors, c.vectors)
    model = Contrastive(dim=8, batch_size=16, epochs=2, threads=2, seed=5)
    d = model.fit(pairs, progress=False)
    assert np.isfinite(d.vectors).all() and model.history[-1]["loss"] < model.history[0]["loss"]


def test_fine_tune_from_init_freeze_and_triples():
    pairs, queries, candidates, relevant = planted(800, seed=2)
    rng = np.random.default_rng(0)
    init_words = [f"a{k}_{j}" for k in range(K) for j in range(8)] + ["unused"]
    centres = rng.standard_normal((K, 12))  # anchor words of a topic lie near its centre
    rows = np.vstack([centres.repeat(8, axis=0), np.zeros((1, 12))]) + 0.3 * rng.standard_normal((8 * K + 1, 12))
    init = dv.Embeddings(rows.astype(np.float32), init_words)
    model = Contrastive(init=init, freeze=True, batch_size=32, epochs=3, learning_rate=0.2, threads=1)
    assert model.dim == 12 and "init" not in model.get_params()
    emb = model.fit(pairs, progress=False)
    # frozen rows bit-identical; new rows (b* words) trained; init's words all kept
    assert np.array_equal(emb[init_words], init[init_words])
    assert len(emb) == len(init_words) + 8 * K
    assert evaluate.retrieval(queries, candidates, relevant, encoder=emb).recall[1] > 0.8
    # triples: a third side of hard negatives (another topic's positive)
    triples = [(a, p, pairs[(i + 1) % len(pairs)][1]) for i, (a, p) in enumerate(pairs)]
    m3 = Contrastive(dim=16, batch_size=32, epochs=3, threads=1, symmetric=True)
    e3 = m3.fit(triples, progress=False)
    assert m3.history[-1]["loss"] < m3.history[0]["loss"]
    assert evaluate.retrieval(queries, candidates, relevant, encoder=e3).recall[1] > 0.8
    with pytest.raises(ValueError, match="dim=5 but init has dim 12"):
        Contrastive(dim=5, init=init)


def test_save_load_and_continue(tmp_path):
    pairs, *_ = planted(400, seed=3)
    model = Contrastive(dim=8, batch_size=16, epochs=1, threads=1)
    model.fit(pairs, progress=False)
    path = model.save(tmp_path / "m.model")
    loaded = Contrastive.load(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.encode(["a1_1 a1_2"]), model.encode(["a1_1 a1_2"]))
    # continued training from the loaded state equals continuing in this process
    e1 = model.train(pairs, epochs=1, progress=False)
    e2 = loaded.train(pairs, epochs=1, progress=False)
    np.testing.assert_array_equal(e1.vectors, e2.vectors)
    assert len(loaded.history) == 2


def test_bad_input(tmp_path):
    pairs, *_ = planted(100, seed=4)
    with pytest.raises(ValueError, match="temperature"):
        Contrastive(temperature=0)
    with pytest.raises(ValueError, match="temperature"):
        Contrastive(temperature=-1.0)
    with pytest.raises(ValueError, match="batch_size=256 is larger than the 100 usable pairs"):
        Contrastive(dim=4).fit(pairs, progress=False)
    # pairs with an empty side or no known token are skipped and counted
    bad = pairs * 2 + [("", "b1_1"), (["zzz"], "b1_1"), ("a1_1", [])]  # zzz: below min_count
    model = Contrastive(dim=4, batch_size=8, threads=1, min_count=2)
    model.fit(bad, progress=False)
    assert model.skipped_pairs_ == 3 and model.history[-1]["skipped_pairs"] == 3
    assert model.history[-1]["pairs"] == 200
    with pytest.raises(ValueError, match="pair 1 has 3 sides"):
        Contrastive(dim=4).fit([("a", "b"), ("a", "b", "c")])
    with pytest.raises(TypeError, match="anchors: pair 0, token 0 must be a string"):
        Contrastive(dim=4, batch_size=2).fit([([1], "b"), ("a", "b")], progress=False)
    f = tmp_path / "pairs.tsv"
    f.write_text("a b\tc\n\nd\te\nf\tg\th\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.tsv, line 4: 3 tab-separated field\(s\), expected 2"):
        read_pairs(f)
    f.write_text("just one field\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: 1 tab-separated"):
        Contrastive(dim=4).fit(f)


def test_ctrl_c_keeps_the_vectors_trained_so_far():
    from planted import fit_interrupted

    pairs, *_ = planted(2000, seed=5)
    model = Contrastive(dim=32, batch_size=16, epochs=5000, threads=2)
    emb, elapsed = fit_interrupted(lambda cbs: model.fit(pairs, progress=False, callbacks=cbs),
                                   after_first_epoch=True)
    assert elapsed < 10, elapsed
    assert emb.meta["interrupted"] is True and 0 < len(model.history) < 5000
    assert np.isfinite(emb.vectors).all()


def test_progress_bar_runs(capsys):
    pairs, *_ = planted(100, seed=6)
    Contrastive(dim=4, batch_size=8, threads=1).fit(pairs, progress=True)
    assert "contrastive" in capsys.readouterr().err


def test_cli_train_contrastive_and_encode(tmp_path, capsys):
    from densevec.cli import main

    pairs, queries, candidates, relevant = planted(600, seed=7)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(" ".join(a) + "\t" + p + "\n" for a, p in pairs), encoding="utf-8")
    out = tmp_path / "tok.dv"
    assert main(["train", "--model", "contrastive", str(tsv), "-o", str(out), "--dim", "16",
                 "--batch-size", "32", "--epochs", "3", "--learning-rate", "0.1", "--threads", "1", "-q"]) == 0
    tok = dv.Embeddings.load(out)
    assert tok.meta["algorithm"] == "contrastive"
    assert evaluate.retrieval(queries, candidates, relevant, encoder=tok).recall[1] > 0.9
    docs = tmp_path / "docs.txt"
    docs.write_text("".join(f"topic{k}\t{' '.join(c)}\n" for k, c in enumerate(candidates)) + "empty\tzzz\n",
                    encoding="utf-8")
    assert main(["encode", str(out), str(docs), "-o", str(tmp_path / "docs.dv"), "--json"]) == 0
    assert '"empty_texts": 1' in capsys.readouterr().out
    index = dv.Embeddings.load(tmp_path / "docs.dv")
    ids, _ = index.search(tok.encode(["a3_1 a3_2"])[0], k=1)
    assert index.word(int(ids[0])) == "topic3"
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nc\n", encoding="utf-8")
    assert main(["train", "--model", "contrastive", str(bad), "-o", str(tmp_path / "x.dv"), "-q"]) == 2
    assert "bad.tsv, line 2: 1 tab-separated field(s), expected 2" in capsys.readouterr().err


def _info_nce(w: np.ndarray, sides: list, tau: float, symmetric: bool) -> float:
    """float64 numpy InfoNCE of one batch: anchors against positives (then negatives)."""
    def enc(texts):
        v = np.array([w[t].mean(0) for t in texts])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    a, p = enc(sides[0]), enc(sides[1])
    c = np.vstack([p] + ([enc(sides[2])] if len(sides) == 3 else []))

    def loss(q, cand):
        s = q @ cand.T / tau
        s -= s.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(s).sum(1)) - np.diag(s[:, :len(q)])))

    return 0.5 * (loss(a, c) + loss(p, a)) if symmetric else loss(a, c)


@pytest.mark.parametrize("symmetric,triples", [(False, False), (True, False), (False, True)])
def test_one_batch_step_follows_the_numpy_gradient(symmetric, triples):
    """One batch of AdaGrad from zero accumulators moves each element by
    -lr * sign(gradient): the kernel's loss and gradient (through the mean and the
    normalisation) against float64 finite differences."""
    from densevec import _core

    rng = np.random.default_rng(0)
    n_rows, dim, n_pairs, tau, lr = 12, 5, 6, 0.5, 1e-3
    w = rng.standard_normal((n_rows, dim)).astype(np.float32)
    sides = [[list(rng.integers(0, n_rows, rng.integers(1, 4))) for _ in range(n_pairs)]
             for _ in range(3 if triples else 2)]
    flat = [(np.concatenate(s).astype(np.uint32), np.cumsum([0] + [len(t) for t in s]).astype(np.uint64))
            for s in sides]
    cfg = _core.ContrastiveConfig()
    cfg.temperature, cfg.learning_rate, cfg.batch_size, cfg.symmetric, cfg.threads = tau, lr, n_pairs, symmetric, 1
    new = w.copy()
    st = _core.contrastive_epoch(
        config=cfg, weights=new, adagrad=np.zeros_like(w), lock=None, anchor_ids=flat[0][0],
        anchor_offsets=flat[0][1], positive_ids=flat[1][0], positive_offsets=flat[1][1],
        negative_ids=flat[2][0] if triples else None, negative_offsets=flat[2][1] if triples else None,
        order=np.arange(n_pairs, dtype=np.uint32))
    w64 = w.astype(np.float64)
    assert st["loss"] == pytest.approx(_info_nce(w64, sides, tau, symmetric), rel=1e-5)
    grad = np.zeros_like(w64)
    for i in range(n_rows):
        for j in range(dim):
            e = np.zeros_like(w64)
            e[i, j] = 1e-6
            grad[i, j] = (_info_nce(w64 + e, sides, tau, symmetric) - _info_nce(w64 - e, sides, tau, symmetric)) / 2e-6
    step = (new - w).astype(np.float64)
    clear = np.abs(grad) > 1e-3 * np.abs(grad).max()
    assert clear.sum() > 10
    np.testing.assert_allclose(step[clear], -lr * np.sign(grad[clear]), rtol=1e-3)
    used = np.unique(np.concatenate([f[0] for f in flat]))
    assert not step[np.setdiff1d(np.arange(n_rows), used)].any()  # rows outside the batch untouched
