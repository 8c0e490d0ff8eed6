"""evaluate.analogies / evaluate.word_pairs: gensim's semantics, vectorised."""
from __future__ import annotations

import json

import numpy as np
import pytest

from densevec import evaluate
from densevec.vectors import Embeddings


def structured_world(seed: int = 0, n_pairs: int = 60, n_noise: int = 200, dim: int = 24):
    """Pairs (x, x') with x' = x + offset + noise: analogies are right often, but not always."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_pairs, dim))
    offsets = rng.standard_normal((2, dim))
    words, vecs = [], []
    for rel, offset in enumerate(offsets):
        for i in range(n_pairs // 2):
            x = base[rel * (n_pairs // 2) + i]
            words += [f"r{rel}a{i}", f"r{rel}b{i}"]
            vecs += [x, x + offset + rng.standard_normal(dim) * 0.9]
    words += [f"n{i}" for i in range(n_noise)]
    vecs += list(rng.standard_normal((n_noise, dim)))
    order = rng.permutation(len(words))  # mix pair words among the noise, as frequency order would
    words = [words[i] for i in order]
    vecs = np.array(vecs, dtype=np.float32)[order]
    # case variants: a lower-frequency "R0A1" must map, case-insensitively, to the more frequent "r0a1"
    words += ["R0A1", "N3"]
    vecs = np.vstack([vecs, rng.standard_normal((2, dim)).astype(np.float32)])
    return Embeddings(vecs, words), n_pairs // 2


def write_questions(path, n, rng, extra_lines=()):
    lines = []
    for rel, section in enumerate(["capital-common", "gram3-comparative"]):
        lines.append(f": {section}")
        for _ in range(150):
            i, j = rng.choice(n, size=2, replace=False)
            q = [f"r{rel}a{i}", f"r{rel}b{i}", f"r{rel}a{j}", f"r{rel}b{j}"]
            if rng.random() < 0.3:
                q = [w.upper() for w in q]
            lines.append(" ".join(q))
    lines.append(": mixed")
    lines += ["r0a1 r0b1 unknownword r0b2", "r0a0 r0b0 r1a1 r1b1", "N3 n4 n5 n6", "n3 n4 n5 n6"]
    lines += list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gensim_keyed_vectors(emb):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(emb.dim)
    kv.add_vectors(emb.index_to_word, emb.vectors)
    return kv


@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize("restrict_vocab", [30000, 150])
def test_analogies_equal_gensim_question_by_question(tmp_path, case_insensitive, restrict_vocab):
    emb, n = structured_world()
    kv = gensim_keyed_vectors(emb)
    path = write_questions(tmp_path / "q.txt", n, np.random.default_rng(1), ["too few words", ""])
    report = evaluate.analogies(emb, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    score, sections = kv.evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    norm = (lambda q: tuple(w.upper() for w in q)) if case_insensitive else tuple
    theirs = {s["section"]: s for s in sections if s["section"] != "Total accuracy"}
    assert [s.name for s in report.sections] == list(theirs)
    for s in report.sections:
        assert [norm(q) for q in s.correct] == theirs[s.name]["correct"]
        assert [norm(q) for q in s.incorrect] == theirs[s.name]["incorrect"]
    assert report.accuracy == pytest.approx(score)
    assert 0 < report.correct < report.total  # the comparison is not trivial
    assert report.invalid == 2
    assert report.skipped > 0


def test_analogies_3cosmul_matches_bruteforce(tmp_path):
    emb, n = structured_world(seed=2)
    path = write_questions(tmp_path / "q.txt", n, np.random.default_rng(3))
    report = evaluate.analogies(emb, path, method="3cosmul", case_insensitive=False)
    u = emb.vectors.astype(np.float64)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    idx = emb.key_to_index
    for section in report.sections:
        for questions, correct in ((section.correct, True), (section.incorrect, False)):
            for a, b, c, d in questions:
                cos = {w: (u @ u[idx[w]] + 1) / 2 for w in (a, b, c)}
                scores = cos[b] * cos[c] / (cos[a] + 1e-3)
                scores[[idx[a], idx[b], idx[c]]] = -np.inf
                assert (emb.index_to_word[int(np.argmax(scores))] == d) == correct
    assert report.correct > 0


def test_report_groups_and_serialises(tmp_path):
    emb, n = structured_world()
    path = write_questions(tmp_path / "q.txt", n, np.random.default_rng(4))
    report = evaluate.analogies(emb, path)
    sem = [s for s in report.sections if not s.name.startswith("gram")]
    syn = [s for s in report.sections if s.name.startswith("gram")]
    assert report.semantic_accuracy == pytest.approx(sum(s.n_correct for s in sem) / sum(s.total for s in sem))
    assert report.syntactic_accuracy == pytest.approx(sum(s.n_correct for s in syn) / sum(s.total for s in syn))
    assert report.total == sum(s.total for s in report.sections)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["correct"] == report.correct and d["skipped"] == report.skipped
    assert [s["name"] for s in d["sections"]] == [s.name for s in report.sections]
    assert d["semantic"]["total"] + d["syntactic"]["total"] == report.total
    text = str(report)
    for s in report.sections:
        assert s.name in text
    assert "semantic" in text and "syntactic" in text


def test_analogies_file_errors(tmp_path):
    emb, _ = structured_world()
    bad = tmp_path / "bad.txt"
    bad.write_text("r0a1 r0b1 r0a2 r0b2\n: s\n")
    with pytest.raises(ValueError, match="section"):
        evaluate.analogies(emb, bad)
    bad.write_bytes(b": s\n\xff\xfe a b c\n")
    with pytest.raises(ValueError, match="line 2"):
        evaluate.analogies(emb, bad)
    empty = tmp_path / "empty.txt"
    empty.write_text(": only-a-header\n")
    report = evaluate.analogies(emb, empty)
    assert report.total == 0 and report.accuracy == 0.0 and len(report.sections) == 1


def test_analogies_tiny_restricted_vocab(tmp_path):
    """Fewer candidates than gensim's 5: same answers as gensim."""
    emb, n = structured_world()
    kv = gensim_keyed_vectors(emb)
    path = tmp_path / "q.txt"
    w = emb.index_to_word
    path.write_text(": s\n" + f"{w[0]} {w[1]} {w[2]} {w[3]}\n{w[3]} {w[2]} {w[1]} {w[0]}\n{w[0]} {w[1]} {w[2]} {w[4]}\n")
    for restrict in (4, 5, 6):
        ours = evaluate.analogies(emb, path, restrict_vocab=restrict, case_insensitive=False)
        _, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict, case_insensitive=False)
        assert [list(q) for q in ours.sections[0].correct] == [list(q) for q in sections[0]["correct"]]
        assert ours.total == len(sections[0]["correct"]) + len(sections[0]["incorrect"])


def write_pairs(path, emb, rng, n=120):
    words = emb.index_to_word
    lines = ["# comment line", "#another\tcomment\t1"]
    for _ in range(n):
        a, b = rng.choice(len(words), size=2, replace=False)
        wa, wb = words[a], words[b]
        if rng.random() < 0.2:
            wa = wa.upper()
        if rng.random() < 0.1:
            wb = "oov" + wb
        lines.append(f"{wa}\t{wb}\t{int(rng.integers(0, 11))}")  # integer scores: many ties
    lines += ["only\ttwo", "a\tb\tnot-a-number", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_word_pairs_equal_gensim(tmp_path, case_insensitive):
    emb, _ = structured_world(seed=5)
    kv = gensim_keyed_vectors(emb)
    path = write_pairs(tmp_path / "pairs.tsv", emb, np.random.default_rng(6))
    report = evaluate.word_pairs(emb, path, case_insensitive=case_insensitive)
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(str(path), case_insensitive=case_insensitive)
    assert report.pearson == pytest.approx(pearson[0], abs=1e-6)
    assert report.spearman == pytest.approx(spearman[0], abs=1e-6)
    assert report.oov_ratio == pytest.approx(oov_ratio, abs=1e-9)
    assert report.invalid == 3
    d = json.loads(json.dumps(report.to_dict()))
    assert d["pairs"] == report.pairs and "spearman" in str(report)


def test_word_pairs_perfect_and_errors(tmp_path):
    emb, _ = structured_world()
    w = emb.index_to_word
    sims = [(w[0], w[i]) for i in range(1, 30)]
    path = tmp_path / "p.tsv"
    path.write_text("".join(f"{a}\t{b}\t{emb.similarity(a, b) * 3 + 1}\n" for a, b in sims))
    report = evaluate.word_pairs(emb, path)
    assert report.spearman == pytest.approx(1.0) and report.pearson == pytest.approx(1.0)
    assert report.oov == 0 and report.oov_ratio == 0.0
    path.write_text("zzz\tyyy\t1\n")
    with pytest.raises(ValueError, match="no valid"):
        evaluate.word_pairs(emb, path)


def test_rankdata_average_ties():
    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    assert list(evaluate._rankdata(x)) == [5.0, 1.5, 5.0, 3.0, 5.0, 1.5]
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 5, size=int(rng.integers(1, 40))).astype(float)
        assert np.array_equal(evaluate._rankdata(y), stats.rankdata(y))


# ------------------------------------------------------------------ clustering
def planted_clusters(n_clusters=4, per=25, dim=16, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim)) * 3
    words, vecs, labels = [], [], {}
    for c in range(n_clusters):
        for i in range(per):
            w = f"c{c}w{i}"
            words.append(w)
            vecs.append(centres[c] + spread * rng.standard_normal(dim))
            labels[w] = f"label{c}"
    return Embeddings(np.array(vecs, dtype=np.float32), words), labels


def test_clustering_recovers_planted_clusters():
    emb, labels = planted_clusters()
    labels["oov-word"] = "label0"
    report = evaluate.clustering(emb, labels, seed=1)
    assert report.k == 4 and report.words == 100 and report.oov == 1 and report.labels == 4
    assert report.purity == 1.0 and report.nmi == pytest.approx(1.0)
    assert report.silhouette > 0.9 and report.silhouette_labels == pytest.approx(report.silhouette)
    assert sorted(c["majority"] for c in report.clusters) == [f"label{c}" for c in range(4)]
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert doc["purity"] == 1.0 and len(doc["clusters"]) == 4
    assert "purity 1.0000" in str(report)


def test_clustering_random_labels_low_nmi():
    emb, labels = planted_clusters(seed=2)
    rng = np.random.default_rng(0)
    shuffled = dict(zip(labels, rng.permutation(list(labels.values()))))
    report = evaluate.clustering(emb, shuffled, seed=0)
    assert report.nmi < 0.2 and report.purity < 0.5
    assert report.silhouette > 0.9 and report.silhouette_labels < 0.1


def test_clustering_is_deterministic_by_seed():
    emb, labels = planted_clusters(n_clusters=3, spread=1.5, seed=4)
    a = evaluate.clustering(emb, labels, k=5, seed=3).to_dict()
    b = evaluate.clustering(emb, labels, k=5, seed=3).to_dict()
    assert a == b and a["k"] == 5


def test_clustering_metrics_against_hand_computed():
    truth = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([0, 0, 1, 1, 2, 2])
    assert evaluate._purity(truth, pred) == pytest.approx(5 / 6)
    # MI = (2/6)log(2/(3*2/6)) + (1/6)log(... ) ... computed directly:
    n, table = 6.0, np.array([[2, 1, 0], [0, 1, 2]], dtype=float)
    pt, pp = table.sum(1) / n, table.sum(0) / n
    mi = sum(table[i, j] / n * np.log(table[i, j] / n / (pt[i] * pp[j]))
             for i in range(2) for j in range(3) if table[i, j])
    ht, hp = -np.sum(pt * np.log(pt)), -np.sum(pp * np.log(pp))
    assert evaluate._nmi(truth, pred) == pytest.approx(mi / ((ht + hp) / 2))
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    s = evaluate._silhouette(x, np.array([0, 0, 1, 1]))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = 1 - u @ u.T
    expect = np.mean([(np.mean(d[i, [j for j in range(4) if (j < 2) != (i < 2)]]) - d[i, i ^ 1])
                      / max(np.mean(d[i, [j for j in range(4) if (j < 2) != (i < 2)]]), d[i, i ^ 1])
                      for i in range(4)])
    assert s == pytest.approx(expect)


def test_clustering_bad_input():
    emb, labels = planted_clusters(n_clusters=2, per=3)
    with pytest.raises(ValueError, match="at least 2"):
        evaluate.clustering(emb, {"c0w0": "x", "zzz": "y"})
    with pytest.raises(ValueError, match="k must be"):
        evaluate.clustering(emb, labels, k=0)
    with pytest.raises(ValueError, match="k must be"):
        evaluate.clustering(emb, labels, k=7)
    with pytest.raises(ValueError, match="n_init"):
        evaluate.clustering(emb, labels, n_init=0)
