"""Node2Vec: karate club factions separate (an untrained model does not),
reproducibility, continued training and save/load, bad input, the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import densevec as dv
from densevec.graph import Graph
from densevec.node2vec import Node2Vec

# Zachary's karate club (as networkx ships it): 78 edges, and the members who
# joined the officer's club after the split; the others followed Mr. Hi.
KARATE = ("0-1 0-2 0-3 0-4 0-5 0-6 0-7 0-8 0-10 0-11 0-12 0-13 0-17 0-19 0-21 0-31 1-2 1-3 1-7 1-13 "
          "1-17 1-19 1-21 1-30 2-3 2-7 2-8 2-9 2-13 2-27 2-28 2-32 3-7 3-12 3-13 4-6 4-10 5-6 5-10 "
          "5-16 6-16 8-30 8-32 8-33 9-33 13-33 14-32 14-33 15-32 15-33 18-32 18-33 19-33 20-32 20-33 "
          "22-32 22-33 23-25 23-27 23-29 23-32 23-33 24-25 24-27 24-31 25-31 26-29 26-33 27-33 28-31 "
          "28-33 29-32 29-33 30-32 30-33 31-32 31-33 32-33")
OFFICER = {9, 14, 15, 18, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33}
SMALL = dict(dim=16, walk_length=20, walks_per_node=20, window=5, epochs=3, threads=1)


@pytest.fixture(scope="module")
def karate():
    return Graph.from_edges([e.split("-") for e in KARATE.split()])


def centroid_accuracy(vectors, names):
    """Leave-one-out nearest-centroid accuracy of the two factions (cosine)."""
    X = np.stack([vectors[n] for n in names]).astype(np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    lab = np.array([int(n) in OFFICER for n in names])
    right = 0
    for i in range(len(X)):
        rest = np.arange(len(X)) != i
        c1, c0 = X[rest & lab].mean(0), X[rest & ~lab].mean(0)
        right += (X[i] @ c1 > X[i] @ c0) == lab[i]
    return right / len(X)


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (1.0, 0.5), (2.0, 1.0)])
def test_karate_factions_separate(karate, p, q):
    assert karate.n_nodes == 34 and karate.n_edges == 78
    accs = []
    for seed in (1, 2):
        emb = Node2Vec(p=p, q=q, seed=seed, **SMALL).fit(karate, progress=False)
        assert len(emb) == 34 and sorted(emb.index_to_word, key=int) == [str(i) for i in range(34)]
        accs.append(centroid_accuracy(emb, karate.names))
        # negative control: the same model before training (random vectors)
        untrained = Node2Vec(p=p, q=q, seed=seed, **SMALL).build_vocab(karate)
        rows = {w: untrained.state.arrays["input"][i] for i, w in enumerate(untrained.state.words)}
        assert centroid_accuracy(rows, karate.names) < 0.7
    assert np.mean(accs) >= 0.85, accs


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (1.0, 0.5)])
def test_karate_factions_separate_fresh_negatives(karate, p, q, tmp_path):
    """share_negatives=False (fresh noise nodes per context node, as gensim)
    reaches the trainer, still separates the factions, and round-trips."""
    accs = []
    for seed in (1, 2):
        model = Node2Vec(p=p, q=q, seed=seed, share_negatives=False, **SMALL)
        emb = model.fit(karate, progress=False)
        accs.append(centroid_accuracy(emb, karate.names))
        shared = Node2Vec(p=p, q=q, seed=seed, share_negatives=True, **SMALL).fit(karate, progress=False)
        assert not np.array_equal(emb.vectors, shared.vectors)   # the setting changes the training
        again = Node2Vec(**model.get_params()).fit(karate, progress=False)
        np.testing.assert_array_equal(again.vectors, emb.vectors)  # threads=1: bit-identical
    assert np.mean(accs) >= 0.85, accs
    assert model.get_params()["share_negatives"] is False and emb.meta["params"]["share_negatives"] is False
    model.save(tmp_path / "m")
    loaded = Node2Vec.load(tmp_path / "m")
    assert loaded.get_params() == model.get_params() and loaded.share_negatives is False


@pytest.mark.parametrize("group", [1, 3])
def test_noise_group(karate, tmp_path, group):
    """noise_group=g (fresh noise nodes per run of g context nodes) reaches the
    trainer: 2 is the default bit for bit, 1 (gensim's sampling) and 3 train
    differently and still separate the factions; it round-trips."""
    assert Node2Vec().noise_group == 2
    accs = []
    for seed in (1, 2):
        base = Node2Vec(seed=seed, **SMALL).fit(karate, progress=False)
        two = Node2Vec(seed=seed, noise_group=2, **SMALL).fit(karate, progress=False)
        np.testing.assert_array_equal(two.vectors, base.vectors)
        model = Node2Vec(seed=seed, noise_group=group, **SMALL)
        emb = model.fit(karate, progress=False)
        assert not np.array_equal(emb.vectors, base.vectors)
        accs.append(centroid_accuracy(emb, karate.names))
    assert np.mean(accs) >= 0.85, accs
    assert emb.meta["params"]["noise_group"] == group
    model.save(tmp_path / "m")
    assert Node2Vec.load(tmp_path / "m").noise_group == group
    for bad in (0, -2, 1.5, "2"):
        with pytest.raises((ValueError, TypeError), match="noise_group"):
            Node2Vec(noise_group=bad)


def test_networkx_input_and_neighbours():
    nx = pytest.importorskip("networkx")
    G = nx.karate_club_graph()
    emb = Node2Vec(seed=1, **SMALL).fit(G, progress=False)
    assert centroid_accuracy(emb, [str(n) for n in G.nodes]) >= 0.8
    near = [w for w, _ in emb.most_similar("33", topn=5)]
    assert sum(int(w) in OFFICER for w in near) >= 4


def test_reproducible_and_continued_training(karate, tmp_path):
    a = Node2Vec(seed=3, p=0.5, q=2.0, **SMALL)
    ea = a.fit(karate, progress=False)
    eb = Node2Vec(seed=3, p=0.5, q=2.0, **SMALL).fit(karate, progress=False)
    np.testing.assert_array_equal(ea.vectors, eb.vectors)
    assert ea.index_to_word == eb.index_to_word
    assert ea.meta["algorithm"] == "node2vec" and ea.meta["params"]["q"] == 2.0
    assert a.timings_["walks"] >= 0 and a.timings_["tokens"] == 34 * 20 * 20
    a.save(tmp_path / "m")
    b = Node2Vec.load(tmp_path / "m")
    assert b.get_params() == a.get_params() and b.state.info["walk_rounds"] == 1
    ec = b.train(karate, epochs=1, progress=False)
    assert b.state.info["walk_rounds"] == 2 and len(b.history) == 4
    assert not np.array_equal(ec["0"], ea["0"])             # trained on
    assert np.array_equal(ea["0"], eb["0"])                  # earlier results untouched
    assert ec.meta["space"]["origin"] == "continued training"
    assert int(b.state.counts.sum()) == 2 * 34 * 20 * 20
    assert centroid_accuracy(ec, karate.names) >= 0.8
    # a new graph: new nodes get fresh rows after build_vocab(update=True)
    bigger = Graph.from_edges([e.split("-") for e in KARATE.split()] + [("33", "new")])
    with pytest.raises(ValueError, match="allow_mixed"):
        b.train(bigger, progress=False)
    b.build_vocab(bigger, update=True, allow_mixed=True)
    ed = b.train(bigger, progress=False)
    assert len(ed) == 35 and "new" in ed
    np.testing.assert_array_equal(dv.Embeddings.load(ed.save(tmp_path / "s.dv")).vectors, ed.vectors)


def test_bad_input(karate, tmp_path):
    for name in ("p", "q"):
        for bad in (0, -1, float("nan")):
            with pytest.raises(ValueError, match=f"{name} must be a positive finite number"):
                Node2Vec(**{name: bad})
    with pytest.raises(ValueError, match="walk_length must be >= 1"):
        Node2Vec(walk_length=0)
    with pytest.raises(ValueError, match="no edges"):
        Node2Vec().fit(Graph.from_edges([("a", "a")]), progress=False)
    with pytest.raises(TypeError, match="expected a densevec Graph"):
        Node2Vec().fit([["a", "b"]], progress=False)
    with pytest.raises(TypeError, match="takes hyperparameters"):
        Node2Vec(karate)
    with pytest.raises(ValueError, match="a 'node2vec' model, not 'word2vec'"):
        m = Node2Vec(**SMALL)
        m.fit(karate, progress=False)
        m.save(tmp_path / "m")
        dv.Word2Vec.load(tmp_path / "m")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "densevec.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_train_node2vec(tmp_path, capsys):
    from densevec import cli

    edges = tmp_path / "karate.txt"
    edges.write_text("# karate club\n" + "\n".join(e.replace("-", " ") for e in KARATE.split()) + "\n")
    out = tmp_path / "k.dv"
    proc = run_cli("train", "--model", "node2vec", edges, "-o", out, "--dim", 16, "--walk-length", 20,
                   "--walks-per-node", 20, "--window", 5, "--epochs", 3, "--q", 0.5, "--threads", 1, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["graph"]["edges"] == 78 and doc["vectors"] == 34 and doc["params"]["q"] == 0.5
    emb = dv.Embeddings.load(out)
    assert emb.meta["algorithm"] == "node2vec"
    assert centroid_accuracy(emb, [str(i) for i in range(34)]) >= 0.8
    # without --dim the CLI takes the class default (128), not word2vec's 100
    assert cli.main(["train", "--model", "node2vec", str(edges), "-o", str(tmp_path / "d.dv"), "-q",
                     "--walk-length", "5", "--walks-per-node", "1", "--threads", "1"]) == 0
    assert dv.Embeddings.load(tmp_path / "d.dv").dim == Node2Vec().dim == 128
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\nc\n")
    assert cli.main(["train", "--model", "node2vec", str(bad), "-o", str(tmp_path / "x.dv")]) == 2
    assert "bad.txt:2: expected 'src dst [weight]'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --p must be positive
        cli.main(["train", "--model", "node2vec", str(edges), "-o", str(tmp_path / "x.dv"), "--p", "0"])
    assert cli.main(["train", str(edges), "-o", str(tmp_path / "x.dv"), "--q", "2"]) == 2
    assert "only to --model node2vec" in capsys.readouterr().err
    assert cli.main(["train", "--model", "node2vec", str(edges), "-o", str(tmp_path / "x.dv"),
                     "--loss", "hs"]) == 2
    assert "does not apply to --model node2vec" in capsys.readouterr().err
    assert not (tmp_path / "x.dv").exists()
