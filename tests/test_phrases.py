"""Phrase detection: planted phrases, equality with gensim, threads, joining, bad input."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import densevec as dv
from densevec import _core

FILLER = [f"w{i}" for i in range(400)]
PLANTED = [("new", "york"), ("machine", "learning"), ("ice", "cream")]


def make_sentences(n=3000, seed=0, connectors=False, delimiter_tokens=False):
    """Random filler sentences with planted bigrams (and optionally connector
    phrases and tokens that contain the delimiter)."""
    rng = random.Random(seed)
    extra = ["of", "the", "a", "and"] if connectors else []
    sents = []
    for _ in range(n):
        s = [rng.choice(FILLER + extra) for _ in range(rng.randint(1, 14))]
        for a, b in PLANTED:
            if rng.random() < 0.15:
                s[rng.randrange(len(s) + 1):0] = [a, b]
        if connectors and rng.random() < 0.1:
            s[rng.randrange(len(s) + 1):0] = ["bank", "of", "america"]
        if connectors and rng.random() < 0.05:
            s[rng.randrange(len(s) + 1):0] = ["eye", "of", "the", "beholder"]
        if delimiter_tokens and rng.random() < 0.2:
            s[rng.randrange(len(s) + 1):0] = [rng.choice(["_very_", "new_york", "x_y", "_a", "b_"]),
                                              rng.choice(["new", "york", "w1", "x"])]
        sents.append(s)
    return sents


def write_text(path: Path, sents) -> Path:
    path.write_text("".join(" ".join(s) + "\n" for s in sents), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sents():
    return make_sentences()


@pytest.fixture(scope="module")
def text(tmp_path_factory, sents):
    return write_text(tmp_path_factory.mktemp("phrases") / "text.txt", sents)


# ------------------------------------------------------------- detection
def test_planted_bigrams_found_and_random_pairs_not(text):
    ph = dv.Phrases(min_count=5, threshold=10.0).fit(text)
    found = set(ph.phrases)
    assert {"new_york", "machine_learning", "ice_cream"} <= found
    # negative control: no pair of random filler words is a phrase
    assert not [p for p in found if all(t in FILLER for t in p.split("_"))]
    assert found == {"new_york", "machine_learning", "ice_cream"}
    assert ph.phrases == ph.export_phrases()
    assert len(ph) == 3 and ph.stats["pruned_entries"] == 0 and ph.stats["min_reduce"] == 1


def test_high_threshold_finds_nothing(text):
    assert dv.Phrases(min_count=5, threshold=1e9).fit(text).phrases == {}


def test_connector_words_inside_phrases_only(tmp_path):
    sents = make_sentences(connectors=True)
    path = write_text(tmp_path / "c.txt", sents)
    ph = dv.Phrases(min_count=5, threshold=10.0, connector_words=dv.ENGLISH_CONNECTOR_WORDS).fit(path)
    assert "bank_of_america" in ph.phrases and "eye_of_the_beholder" in ph.phrases
    assert not [p for p in ph.phrases if p.split("_")[0] in dv.ENGLISH_CONNECTOR_WORDS
                or p.split("_")[-1] in dv.ENGLISH_CONNECTOR_WORDS]
    assert ph.apply(["the", "bank", "of", "america", "of"]) == ["the", "bank_of_america", "of"]
    # without connector words, "of" is an ordinary word and the triple is not one phrase
    plain = dv.Phrases(min_count=5, threshold=10.0).fit(path)
    assert "bank_of_america" not in plain.phrases


def test_scores_follow_the_formula(tmp_path):
    # 6 sentences "a b", 2 sentences "a c": N = |{a, b, c, a_b, a_c}| = 5, T = 16
    path = write_text(tmp_path / "f.txt", [["a", "b"]] * 6 + [["a", "c"]] * 2)
    ph = dv.Phrases(min_count=1, threshold=0.1).fit(path)
    assert ph.stats["vocab_size"] == 5 and ph.stats["corpus_word_count"] == 16
    assert ph.phrases["a_b"] == pytest.approx((6 - 1) / (8 * 6) * 5)
    assert ph.phrases["a_c"] == pytest.approx((2 - 1) / (8 * 2) * 5)
    npmi = dv.Phrases(min_count=1, threshold=-0.5, scoring="npmi").fit(path)
    import math
    pa, pb, pab = 8 / 16, 6 / 16, 6 / 16
    assert npmi.phrases["a_b"] == pytest.approx(math.log(pab / (pa * pb)) / -math.log(pab))
    # strictly greater than the threshold
    exact = (6 - 1) / (8 * 6) * 5
    assert "a_b" not in dv.Phrases(min_count=1, threshold=exact).fit(path).phrases


# --------------------------------------------------------------- gensim


@pytest.mark.parametrize("scoring,threshold", [("default", 10.0), ("default", 1.0),
                                               ("npmi", 0.5), ("npmi", 0.1)])
@pytest.mark.parametrize("connectors", [False, True])
def test_same_phrases_and_scores_as_gensim(tmp_path, scoring, threshold, connectors):
    gp = pytest.importorskip("gensim.models.phrases")
    sents = make_sentences(connectors=connectors)
    path = write_text(tmp_path / "g.txt", sents)
    conn = gp.ENGLISH_CONNECTOR_WORDS if connectors else frozenset()
    g = gp.Phrases(sents, min_count=5, threshold=threshold, scoring=scoring, connector_words=conn)
    expected = g.export_phrases()
    assert expected  # the comparison is not vacuous
    ph = dv.Phrases(min_count=5, threshold=threshold, scoring=scoring,
                    connector_words=dv.ENGLISH_CONNECTOR_WORDS if connectors else ()).fit(path)
    assert ph.stats["vocab_size"] == len(g.vocab)
    assert ph.stats["corpus_word_count"] == g.corpus_word_count
    assert ph.export_phrases() == expected  # same keys, bit-identical float scores
    for s in sents:
        assert ph.apply(s) == g[s]
    assert list(ph.transform(sents)) == [g[s] for s in sents]


def test_gensim_semantics_with_tokens_holding_the_delimiter(tmp_path):
    gp = pytest.importorskip("gensim.models.phrases")
    sents = make_sentences(delimiter_tokens=True)
    path = write_text(tmp_path / "d.txt", sents)
    g = gp.Phrases(sents, min_count=5, threshold=1.0)
    ph = dv.Phrases(min_count=5, threshold=1.0).fit(path)
    assert ph.stats["vocab_size"] == len(g.vocab)
    assert ph.export_phrases() == g.export_phrases()
    assert list(ph.transform(sents)) == [g[s] for s in sents]


def test_trigrams_by_a_second_pass_match_gensim(tmp_path):
    rng = random.Random(3)
    sents = make_sentences(seed=3)
    for s in sents:
        if rng.random() < 0.15:
            s[rng.randrange(len(s) + 1):0] = ["new", "york", "city"]
    bigram = dv.Phrases(min_count=5, threshold=10.0).fit(sents)
    once = list(bigram.transform(sents))
    trigram = dv.Phrases(min_count=5, threshold=10.0).fit(once)
    twice = list(trigram.transform(once))
    assert "new_york" in bigram.phrases and "new_york_city" in trigram.phrases
    assert sum(s.count("new_york_city") for s in twice) > 100
    assert trigram.apply(bigram.apply(["in", "new", "york", "city", "today"])) == \
        ["in", "new_york_city", "today"]
    gp = pytest.importorskip("gensim.models.phrases")
    gb = gp.Phrases(sents, min_count=5, threshold=10.0)
    gt = gp.Phrases([gb[s] for s in sents], min_count=5, threshold=10.0)
    assert twice == [gt[gb[s]] for s in sents]


# ---------------------------------------------------- threads and memory
@pytest.mark.parametrize("max_vocab", [40_000_000, 2000])
def test_independent_of_thread_count(text, max_vocab):
    results = []
    for threads in (1, 2, 4):
        ph = dv.Phrases(min_count=5, threshold=1.0, max_vocab=max_vocab, threads=threads)
        ph.fit(text, _range_bytes=4096)  # many ranges, so threads really split the text
        results.append((ph.export_phrases(), ph.stats, ph.fingerprint))
    assert results[0] == results[1] == results[2]
    if max_vocab == 2000:  # the bound was hit and pruning happened, deterministically
        assert results[0][1]["pruned_entries"] > 0 and results[0][1]["min_reduce"] > 1
        assert results[0][1]["vocab_size"] <= 2000
    else:
        assert results[0][1]["pruned_entries"] == 0


def test_transform_file_matches_transform(tmp_path, text, sents):
    ph = dv.Phrases(min_count=5, threshold=10.0).fit(text)
    out = ph.transform_file(text, tmp_path / "out.txt", _range_bytes=4096)
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(sents)
    assert [ln.split() for ln in lines[:-1]] == list(ph.transform(sents))
    assert "new_york" in out.read_text(encoding="utf-8")
    # several files, the last without a final newline, and empty lines kept
    (tmp_path / "a.txt").write_bytes(b"new york\n\nice cream new york")
    (tmp_path / "b.txt").write_bytes(b"machine learning\n")
    two = ph.transform_file([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "two.txt")
    assert two.read_bytes() == b"new_york\n\nice_cream new_york\nmachine_learning\n"


# -------------------------------------------------------- save / load
def test_save_load_round_trip(tmp_path, text, sents):
    ph = dv.Phrases(min_count=5, threshold=1.0, connector_words=["of"]).fit(text)
    path = ph.save(tmp_path / "ph.json")
    again = dv.Phrases.load(path)
    assert again.phrases == ph.phrases and again.fingerprint == ph.fingerprint
    assert again.connector_words == {"of"} and again.threshold == 1.0
    assert list(again.transform(sents[:200])) == list(ph.transform(sents[:200]))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    ph.save(path)  # replacing our own file is fine


def test_save_refuses_foreign_file_and_load_names_bad_file(tmp_path, text):
    ph = dv.Phrases(min_count=5).fit(text)
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    with pytest.raises(FileExistsError):
        ph.save(victim)
    assert victim.read_text() == "keep me"
    with pytest.raises(FileExistsError):
        ph.save(tmp_path)
    with pytest.raises(ValueError, match="notes.txt: not a densevec phrases file"):
        dv.Phrases.load(victim)
    good = ph.save(tmp_path / "ph.json")
    doc = json.loads(good.read_text())
    doc["phrases"][0][1] = 123.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bad.json: damaged"):
        dv.Phrases.load(bad)


# ------------------------------------------------------------- corpus
def test_corpus_from_file_joins_phrases_and_keys_the_cache(tmp_path, text):
    ph = dv.Phrases(min_count=5, threshold=10.0).fit(text)
    cache = tmp_path / "cache"
    plain = dv.Corpus.from_file(text, min_count=5, cache=cache)
    joined = dv.Corpus.from_file(text, min_count=5, cache=cache, phrases=ph)
    assert "new_york" in joined.vocab and "new_york" not in plain.vocab
    assert joined.fingerprint != plain.fingerprint
    # the same as encoding the joined text
    ref = dv.Corpus.from_file(ph.transform_file(text, tmp_path / "j.txt"), min_count=5, cache=False)
    assert list(joined.vocab) == list(ref.vocab)
    assert (joined.ids[:] == ref.ids[:]).all() and (joined.offsets[:] == ref.offsets[:]).all()
    # another phrases model gives another cache entry
    other = dv.Phrases(min_count=5, threshold=1.0).fit(text)
    assert dv.Corpus.from_file(text, min_count=5, cache=cache, phrases=other).fingerprint != joined.fingerprint
    assert dv.Corpus.from_file(text, min_count=5, cache=cache, phrases=ph).from_cache
    with pytest.raises(TypeError, match="phrases must be a fitted densevec.Phrases"):
        dv.Corpus.from_file(text, cache=False, phrases={"new_york": 1.0})


# ---------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,exc,match", [
    ({"threshold": 0}, ValueError, "threshold must be a positive"),
    ({"threshold": -3.0}, ValueError, "threshold must be a positive"),
    ({"threshold": float("nan")}, ValueError, "threshold"),
    ({"scoring": "npmi", "threshold": -1.0}, ValueError, r"\(-1, 1\]"),
    ({"scoring": "npmi", "threshold": 1.5}, ValueError, r"\(-1, 1\]"),
    ({"scoring": "pmi"}, ValueError, "scoring must be 'default' or 'npmi'"),
    ({"min_count": 0}, ValueError, "min_count must be >= 1"),
    ({"min_count": 2.5}, TypeError, "min_count must be an integer"),
    ({"threshold": "10"}, TypeError, "threshold must be a number"),
    ({"delimiter": ""}, ValueError, "delimiter"),
    ({"delimiter": " "}, ValueError, "delimiter"),
    ({"connector_words": "the"}, TypeError, "not a single string"),
    ({"connector_words": ["of", "a b"]}, ValueError, "connector word"),
    ({"max_vocab": 0}, ValueError, "max_vocab"),
])
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dv.Phrases(**kwargs)


def test_npmi_threshold_one_is_accepted_and_finds_nothing(text):
    assert dv.Phrases(scoring="npmi", threshold=1.0).fit(text).phrases == {}


def test_bad_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b" \n\t\n")
    for bad in (empty, blank):
        with pytest.raises(ValueError, match="contains no tokens"):
            dv.Phrases().fit(bad)
    with pytest.raises(ValueError, match="the sentences: contains no tokens"):
        dv.Phrases().fit([])
    with pytest.raises(FileNotFoundError):
        dv.Phrases().fit(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="new york: no such file"):
        dv.Phrases().fit("new york")  # a str is a path, as for Corpus.from_file
    with pytest.raises(TypeError, match="single string"):
        dv.Phrases().fit(b"new york")
    with pytest.raises(TypeError, match="sentence 1 must be"):
        dv.Phrases().fit([["a"], 3])
    with pytest.raises(RuntimeError, match="not fitted"):
        dv.Phrases().apply(["a", "b"])
    ph = dv.Phrases(min_count=1, threshold=0.1).fit([["a", "b"]] * 5 + [["c", "d"]])
    with pytest.raises(TypeError, match="got a string"):
        ph.apply("a b")
    with pytest.raises(ValueError, match="token 1"):
        ph.apply(["a", "b c"])
    with pytest.raises(TypeError, match="use transform"):
        ph.apply([["a", "b"], ["c"]])
    assert ph.apply(["x\xa0y", "a", "b"]) == ["x\xa0y", "a_b"]  # only ASCII whitespace separates
    with pytest.raises(ValueError, match="overwrite an input"):
        ph.transform_file(blank, blank)
    assert blank.read_bytes() == b" \n\t\n"
    with pytest.raises(IsADirectoryError):
        ph.transform_file(blank, tmp_path)
    with pytest.raises(FileNotFoundError):
        ph.transform_file(tmp_path / "missing.txt", tmp_path / "out.txt")
    assert not (tmp_path / "out.txt").exists()


def test_core_rejects_unknown_scoring(text):
    with pytest.raises(ValueError, match="scoring must be"):
        _core.fit_phrases(paths=[str(text)], connectors=[], delimiter=b"_", min_count=5,
                          threshold=1.0, scoring="pmi", max_vocab=100, max_token_bytes=1000,
                          range_bytes=1 << 20, threads=1)


def test_readme_phrases_snippet_runs(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Phrases\n", 1)[1].split("\n### ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "'bank_of_america': 0.6625" in printed and "'new_york': 0.6625" in printed


def test_fit_from_a_corpus_and_from_paths(tmp_path, text):
    from_text = dv.Phrases(min_count=5).fit(text)
    corpus = dv.Corpus.from_file(text, min_count=1, cache=False)  # keeps every token
    assert dv.Phrases(min_count=5).fit(corpus).export_phrases() == from_text.export_phrases()
    assert dv.Phrases(min_count=5).fit([Path(text)]).export_phrases() == from_text.export_phrases()


def test_interrupted_transform_file_leaves_nothing(tmp_path, text):
    ph = dv.Phrases(min_count=5).fit(text)
    real = ph._model

    def interrupt(_done):
        raise KeyboardInterrupt

    class Interrupting:  # the C++ model, with a progress callback that "presses Ctrl-C"
        def transform_files(self, **kw):
            kw["progress"] = interrupt
            return real.transform_files(**kw)

    ph._model = Interrupting()
    out = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt):
        ph.transform_file(text, out)
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file
    with pytest.raises(KeyboardInterrupt):
        _core.fit_phrases(paths=[str(text)], connectors=[], delimiter=b"_", min_count=5,
                          threshold=1.0, scoring="default", max_vocab=100, max_token_bytes=1000,
                          range_bytes=1 << 20, threads=1, progress=interrupt)
