"""One embedding space: meta["space"] is an identity of the trained space, not of the corpus."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import densevec as dv
from densevec import _space, reduce
from densevec.vectors import Embeddings, check_same_space

SENTS = [["the", "king", "rules", "the", "land"], ["the", "queen", "rules", "the", "sea"],
         ["a", "prince", "waits", "by", "the", "sea"], ["a", "man", "and", "a", "woman", "walk"]] * 40


@pytest.fixture(scope="module")
def corpus():
    return dv.Corpus.from_sentences(SENTS, min_count=1)


def w2v(corpus, threads=1, seed=1):
    model = dv.Word2Vec(dim=8, epochs=1, min_count=1, threads=threads, seed=seed)
    return model, model.fit(corpus, progress=False)


@pytest.fixture(scope="module")
def trained(corpus):
    return w2v(corpus)


def refused(a, b, match="different embedding spaces"):
    with pytest.raises(ValueError, match=match):
        a.search(b, k=2)
    assert a.search(b, k=2, allow_mixed=True)[0].shape == (len(b), 2)  # the override


def accepted(a, b):
    ids, _ = a.search(b, k=2)
    assert ids.shape == (len(b), 2)


# ------------------------------------------------------------------ training
def test_training_assigns_a_fresh_space(trained):
    _, emb = trained
    space = emb.meta["space"]
    assert space["origin"] == "training" and "parent" not in space
    assert len(space["id"]) == 32 and int(space["id"], 16) >= 0
    accepted(emb, emb)


@pytest.mark.parametrize("threads", [1, 2])
def test_two_runs_same_corpus_and_seed_are_two_spaces(corpus, trained, threads):
    _, first = trained
    _, second = w2v(corpus, threads=threads, seed=1)
    assert second.meta["corpus_fingerprint"] == first.meta["corpus_fingerprint"]  # the old check passed these
    assert second.meta["space"]["id"] != first.meta["space"]["id"]
    refused(first, second)


def test_glove_and_word2vec_of_the_same_corpus_are_refused(corpus, trained):
    _, emb = trained
    glove = dv.GloVe(dim=8, epochs=2, min_count=1, threads=1).fit(corpus, progress=False)
    assert glove.meta["corpus_fingerprint"] == emb.meta["corpus_fingerprint"]
    assert glove.meta["space"]["origin"] == "training"
    refused(emb, glove)
    refused(glove, emb)


def test_continued_training_makes_a_child_space(corpus, tmp_path):
    model, first = w2v(corpus)
    more = dv.Corpus.from_sentences([["the", "emperor", "rules"]] * 30, min_count=1)
    model.build_vocab(more, update=True, allow_mixed=True)
    grown = model.train(more, epochs=1, progress=False, allow_mixed=True)
    assert grown.meta["space"]["origin"] == "continued training"
    assert grown.meta["space"]["parent"] == first.meta["space"]["id"]
    again = model.train(corpus, epochs=1, progress=False)  # without growing: also a new space
    assert again.meta["space"]["parent"] == grown.meta["space"]["id"]
    refused(first, grown, match="derived from the other")
    # the link survives saving the model: training after load continues the lineage
    model.save(tmp_path / "m.model")
    loaded = dv.Word2Vec.load(tmp_path / "m.model")
    after = loaded.train(corpus, epochs=1, progress=False)
    assert after.meta["space"]["parent"] == again.meta["space"]["id"]
    # a new fit starts a fresh lineage
    fresh = model.fit(corpus, progress=False)
    assert "parent" not in fresh.meta["space"] and fresh.meta["space"]["origin"] == "training"


def test_glove_continued_training_links_its_parent(corpus):
    model = dv.GloVe(dim=8, epochs=1, min_count=1, threads=1)
    first = model.fit(corpus, progress=False)
    second = model.train(model.cooccurrence_, epochs=1, progress=False)
    assert second.meta["space"]["parent"] == first.meta["space"]["id"]


# ------------------------------------------------------------------ what keeps the space
def test_store_quantize_normalize_keep_the_space(trained, tmp_path):
    _, emb = trained
    sid = emb.meta["space"]["id"]
    loaded = Embeddings.load(emb.save(tmp_path / "m.dv"))
    for other in (loaded, emb.quantize("int8"), emb.quantize("float16"), emb.normalize(),
                  loaded.quantize("int8").normalize(), Embeddings.load(emb.quantize("int8").save(tmp_path / "q.dv"))):
        assert other.meta["space"]["id"] == sid
        accepted(emb, other)
        accepted(other, emb)
    # rescore_with the float32 vectors of the same space
    q8 = Embeddings.load(emb.quantize("int8").save(tmp_path / "q2.dv"))
    q8.search(emb.vectors[:2], k=2, rescore=4, rescore_with=loaded)


@pytest.mark.parametrize("binary, header", [(False, True), (True, True), (False, False)])
def test_round_trip_through_word2vec_and_glove_files_keeps_the_space(trained, tmp_path, binary, header):
    _, emb = trained
    path = tmp_path / "v.out"
    emb.save_word2vec_format(path, binary=binary, write_header=header)
    side = _space.sidecar_path(path)
    doc = json.loads(side.read_text(encoding="utf-8"))
    assert doc["format"] == "densevec-space" and doc["meta"]["space"] == emb.meta["space"]
    back = Embeddings.load_word2vec_format(path, binary=binary, no_header=not header)
    assert np.array_equal(back.vectors, emb.vectors)
    assert back.meta["space"] == emb.meta["space"] and back.meta["algorithm"] == "word2vec"
    accepted(emb, back)  # was: ValueError ... corpus_fingerprint '...' vs None
    accepted(back, emb.quantize("int8"))
    # the quantised copy's export: same space, float32 values, no quantisation recorded
    emb.quantize("int8").save_word2vec_format(path, binary=binary, write_header=header)
    back8 = Embeddings.load_word2vec_format(path, binary=binary, no_header=not header)
    assert back8.meta["space"]["id"] == emb.meta["space"]["id"] and "quantization" not in back8.meta


def test_without_its_sidecar_a_file_is_foreign(trained, tmp_path):
    _, emb = trained
    path = emb.save_word2vec_format(tmp_path / "v.vec")
    _space.sidecar_path(path).unlink()
    back = Embeddings.load_word2vec_format(path)
    assert back.meta["space"]["origin"] == "file" and back.meta["space"]["id"].startswith("content-")
    refused(emb, back)
    twice = Embeddings.load_word2vec_format(path)
    assert twice.meta["space"] == back.meta["space"]  # the same file is one space
    accepted(back, twice)
    other = tmp_path / "o.vec"
    Embeddings(emb.vectors * 2, emb.index_to_word, meta={"space": None}).save_word2vec_format(other)
    assert not _space.sidecar_path(other).exists()  # no space to record: no sidecar
    refused(back, Embeddings.load_word2vec_format(other))


def test_a_stale_sidecar_is_ignored_with_a_warning(trained, tmp_path):
    _, emb = trained
    path = emb.save_word2vec_format(tmp_path / "v.vec")
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = text[1].split(" ", 1)[0] + " " + " ".join(["0.5"] * emb.dim)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="ignoring the sidecar"):
        back = Embeddings.load_word2vec_format(path)
    assert back.meta["space"]["origin"] == "file"
    refused(emb, back)


def test_sidecar_housekeeping(trained, tmp_path):
    _, emb = trained
    path = emb.save_word2vec_format(tmp_path / "v.vec")
    side = _space.sidecar_path(path)
    assert side.exists()
    # re-exporting vectors without a space removes the stale densevec sidecar
    Embeddings(emb.vectors, emb.index_to_word, meta={"space": None}).save_word2vec_format(path)
    assert not side.exists()
    # a file of the user's at the sidecar's name is never replaced
    side.write_text("mine", encoding="utf-8")
    with pytest.warns(UserWarning, match="not writing the sidecar"):
        emb.save_word2vec_format(path)
    assert side.read_text(encoding="utf-8") == "mine"
    Embeddings(emb.vectors, emb.index_to_word, meta={"space": None}).save_word2vec_format(path)
    assert side.read_text(encoding="utf-8") == "mine"


# ------------------------------------------------------------------ derived spaces
def test_pca_and_center_make_child_spaces(trained):
    _, emb = trained
    small, _ = reduce.pca(emb, 3, sample=20, pairs=50)
    for child, origin in ((small, "pca"), (reduce.center(emb), "center")):
        assert child.meta["space"]["origin"] == origin
        assert child.meta["space"]["parent"] == emb.meta["space"]["id"]
        assert child.meta["space"]["id"] != emb.meta["space"]["id"]
        reduce.distortion(emb, child, sample=20, pairs=50)  # a space and its direct parent
        reduce.distortion(child, emb, sample=20, pairs=50)
    centered = reduce.center(emb)
    refused(emb, centered, match="derived from the other")
    with pytest.raises(ValueError, match="different embedding spaces"):
        check_same_space(small, reduce.pca(emb, 3, sample=20, pairs=50)[0], "x", derived_ok=True)  # siblings
    assert reduce.normalize(emb).meta["space"] == emb.meta["space"]


# ------------------------------------------------------------------ foreign vectors
def test_vectors_from_arrays_get_a_space_of_their_own(trained, tmp_path):
    _, emb = trained
    bare = Embeddings(emb.vectors, emb.index_to_word)  # same numbers, but nothing says they are that space
    assert bare.meta["space"]["origin"] == "arrays"
    refused(emb, bare)
    refused(bare, Embeddings(emb.vectors, emb.index_to_word))  # two constructions, two spaces
    accepted(bare, bare.quantize("int8"))  # its own copies are its space
    accepted(bare, Embeddings.load(bare.save(tmp_path / "b.dv")))
    given = Embeddings(emb.vectors, emb.index_to_word, meta=emb.meta)  # said explicitly
    accepted(emb, given)


def test_vectors_without_identity_are_refused_unless_the_same_object(trained, tmp_path):
    _, emb = trained
    path = emb.save(tmp_path / "old.dv")
    doc = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    del doc["meta"]["space"]  # a store written before densevec recorded spaces
    (path / "meta.json").write_text(json.dumps(doc), encoding="utf-8")
    old = Embeddings.load(path)
    assert "space" not in old.meta
    refused(emb, old, match="second has no embedding-space identity")
    refused(old, emb, match="first has no embedding-space identity")
    refused(old, Embeddings.load(path), match="both have no")
    accepted(old, old)


def test_malformed_space_entries_count_as_none(trained):
    _, emb = trained
    for bad in ({"id": ""}, {"id": 3}, "abc", None):
        other = Embeddings(emb.vectors, emb.index_to_word, meta={"space": bad})
        refused(emb, other, match="no embedding-space identity")


def test_no_warning_on_a_plain_round_trip(trained, tmp_path):
    _, emb = trained
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embeddings.load_word2vec_format(emb.save_word2vec_format(tmp_path / "v.vec"))
