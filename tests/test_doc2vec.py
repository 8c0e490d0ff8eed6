"""Doc2Vec: documents and tags, no token dropped, planted quality, inference."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import densevec as dv
from densevec import evaluate
from densevec.doc2vec import Documents

from planted import fit_interrupted

TOPICS, WORDS = 4, 25


def planted_docs(n=240, length=30, seed=0):
    """Documents whose words come from their topic's own word set plus shared
    noise words: (tags, tokens) pairs and the topic of each."""
    rng = np.random.default_rng(seed)
    noise = [f"noise{i}" for i in range(20)]
    docs, topics = [], []
    for d in range(n):
        t = int(rng.integers(TOPICS))
        own = [f"t{t}w{i}" for i in rng.integers(WORDS, size=length - 5)]
        words = own + list(rng.choice(noise, size=5))
        rng.shuffle(words)
        docs.append((f"d{d}", words))
        topics.append(t)
    return docs, topics


@pytest.fixture(scope="module")
def planted():
    docs, topics = planted_docs()
    return Documents.from_iterable(docs, tagged=True, min_count=1), docs, topics


@pytest.fixture(scope="module")
def dbow_model(planted):
    documents, _, _ = planted
    model = dv.Doc2Vec(dim=24, epochs=20, threads=1, seed=3)
    model.fit(documents, progress=False)
    return model


# ----------------------------------------------------------- documents / tags
def test_long_document_trains_every_token_under_its_tag_with_any_threads():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(50)]
    long_doc = list(rng.choice(words, size=50_000))
    docs = [("short0", list(rng.choice(words, 7))), ("long", long_doc)]
    docs += [(f"short{i}", list(rng.choice(words, 3 + i))) for i in range(1, 6)]
    documents = Documents.from_iterable(docs, tagged=True, min_count=1)
    # the long document is cut into several sentences (windows), not documents
    assert documents.corpus.n_sentences >= len(docs) + 4
    assert documents.doc_lengths.tolist() == [len(t) for _, t in docs]
    for threads in (1, 2, 3):
        model = dv.Doc2Vec(dim=8, epochs=2, sample=0, min_count=1, threads=threads)
        model.build_vocab(documents)
        model._updates = np.zeros(len(model.tags), dtype=np.uint64)
        model.train(documents, progress=False)
        got = dict(zip(model.tags, model._updates.tolist()))
        # every token of every document made exactly one update of its document's row, per epoch
        assert got == {tag: 2 * len(toks) for tag, toks in docs}, threads
        assert model.history[-1]["trained_words"] == sum(len(t) for _, t in docs)


def test_line_number_tags_from_a_file_count_blank_lines_and_keep_long_lines(tmp_path):
    rng = np.random.default_rng(2)
    lines = ["a b c", "", " ".join(rng.choice(["x", "y", "z", "a"], 50_000)), "zz_rare b", "c a"]
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(lines) + "\n")
    documents = Documents.from_file(path, min_count=1)
    assert documents.tags == ["0", "1", "2", "3", "4"]
    assert documents.doc_lengths.tolist() == [3, 0, 50_000, 2, 2]
    model = dv.Doc2Vec(dim=8, epochs=1, sample=0, min_count=1, threads=3)
    model.build_vocab(documents)
    model._updates = np.zeros(5, dtype=np.uint64)
    with pytest.warns(RuntimeWarning, match="without any in-vocabulary word"):
        emb = model.train(documents, progress=False)
    assert model._updates.tolist() == [3, 0, 50_000, 2, 2]
    assert model.empty_documents_ == ["1"]
    assert not emb["1"].any() and emb["2"].any()  # the empty line's vector is zero, not random


def test_tagged_file_format_several_and_duplicate_tags(tmp_path):
    path = tmp_path / "tagged.txt"
    path.write_text("spam a b c\tw1 w2 w3\nham\tw2 w3\nspam\tw1 w1\n")
    documents = Documents.from_file(path, tagged=True, min_count=1)
    assert documents.tags == ["spam", "a", "b", "c", "ham"]
    model = dv.Doc2Vec(dim=8, epochs=3, sample=0, min_count=1, threads=2)
    model.build_vocab(documents)
    model._updates = np.zeros(len(model.tags), dtype=np.uint64)
    emb = model.train(documents, progress=False)
    # a duplicate tag gathers the updates of all its documents
    assert dict(zip(model.tags, model._updates.tolist())) == {"spam": 15, "a": 9, "b": 9, "c": 9, "ham": 6}
    assert len(emb) == 5 and "ham" in emb


def test_bad_documents_raise_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="document 1: tag 7 is a int"):
        Documents.from_iterable([("a", ["x"]), (["b", 7], ["y"])], tagged=True, min_count=1)
    with pytest.raises(ValueError, match="document 0 has no tags"):
        Documents.from_iterable([([], ["x"])], tagged=True, min_count=1)
    with pytest.raises(TypeError, match="document 0: expected a \\(tags, tokens\\) pair"):
        Documents.from_iterable([42], tagged=True, min_count=1)
    path = tmp_path / "bad.txt"
    path.write_text("t1\tw1 w2\nno tab here\n")
    with pytest.raises(ValueError, match="bad.txt, line 2: no TAB"):
        Documents.from_file(path, tagged=True, min_count=1)
    path.write_text(" \tw1\n")
    with pytest.raises(ValueError, match="line 1: no tag"):
        Documents.from_file(path, tagged=True, min_count=1)
    with pytest.raises(ValueError, match="no documents"):
        Documents.from_iterable([], min_count=1)
    with pytest.raises(ValueError, match="min_count=5"):
        Documents.from_iterable([["a", "b"]], min_count=5)
    with pytest.raises(TypeError, match="not a Corpus"):
        dv.Doc2Vec(min_count=1).fit(dv.Corpus.from_sentences([["a", "b"]], min_count=1))
    with pytest.raises(ValueError, match="mode must be"):
        dv.Doc2Vec(mode="skipgram")


def test_train_rejects_tags_the_model_lacks(dbow_model):
    other = Documents.from_iterable([("new_tag", ["t0w1", "t0w2"])], tagged=True, min_count=1)
    with pytest.raises(ValueError, match="new_tag"):
        dbow_model.train(other, progress=False, allow_mixed=True)


# ------------------------------------------------------------------- quality
@pytest.mark.parametrize("mode, dbow_words, loss", [("dbow", False, "ns"), ("dbow", True, "ns"),
                                                     ("dm", False, "ns"), ("dbow", False, "hs")])
def test_planted_topics_are_recovered_and_shuffled_labels_are_not(planted, mode, dbow_words, loss):
    documents, docs, topics = planted
    model = dv.Doc2Vec(dim=24, mode=mode, dbow_words=dbow_words, loss=loss, epochs=20, threads=2, seed=5)
    emb = model.fit(documents, progress=False)
    assert emb.index_to_word == [t for t, _ in docs]
    rep = evaluate.documents(emb, topics, folds=4, k=5, classifier="centroid")
    assert rep.classifier == "nearest_centroid"
    assert rep.accuracy > 0.9 and rep.retrieval > 0.85, rep
    # negative control: the same vectors against shuffled labels score near chance
    shuffled = np.random.default_rng(0).permutation(topics)
    ctrl = evaluate.documents(emb, shuffled, folds=4, k=5, classifier="centroid")
    assert ctrl.accuracy < 0.45 and ctrl.retrieval < 0.45, ctrl
    assert (model.wv is not None) == (mode == "dm" or dbow_words)


def test_evaluation_checks_its_input():
    with pytest.raises(ValueError, match="3 vectors but 2 labels"):
        evaluate.documents(np.zeros((3, 2)), [0, 1])
    with pytest.raises(ValueError, match="2 distinct labels"):
        evaluate.documents(np.ones((6, 2)), [0] * 6, folds=2)


def test_logistic_regression_when_scikit_learn_is_installed(dbow_model, planted):
    pytest.importorskip("sklearn")
    rep = evaluate.documents(dbow_model.dv, planted[2], folds=3)
    assert rep.classifier == "logistic_regression" and rep.accuracy > 0.9


# ----------------------------------------------------------------- inference
def test_inference_is_bit_identical_across_threads_and_calls_and_freezes_the_model(dbow_model):
    rng = np.random.default_rng(7)
    new = [[f"t{t}w{i}" for i in rng.integers(WORDS, size=30)] for t in rng.integers(TOPICS, size=40)]
    before = {k: np.array(v) for k, v in dbow_model.state.arrays.items()}
    one = dbow_model.infer_vectors(new, threads=1)
    three = dbow_model.infer_vectors(new, threads=3)
    assert one.dtype == np.float32 and one.shape == (40, 24)
    assert np.array_equal(one, three)
    assert np.array_equal(one, dbow_model.infer_vectors(new, threads=2))
    assert np.array_equal(dbow_model.infer_vector(new[0]), one[0])
    assert not np.array_equal(dbow_model.infer_vectors(new, seed=99), one)  # the seed matters
    for k, v in dbow_model.state.arrays.items():
        assert np.array_equal(before[k], np.asarray(v)), k


@pytest.mark.parametrize("mode", ["dbow", "dm"])
def test_inference_agrees_across_simd_levels(planted, dbow_model, mode):
    """Every SIMD level's inference kernel against the serial one, through the
    whole inference (subsampling, noise words, 20 epochs): the same vectors up
    to float rounding."""
    from densevec import _core

    model = dbow_model
    if mode == "dm":
        model = dv.Doc2Vec(dim=24, mode="dm", epochs=5, threads=1, seed=3)
        model.fit(planted[0], progress=False)
    rng = np.random.default_rng(11)
    index = model.state.index
    docs = [[index[f"t{t}w{i}"] for i in rng.integers(WORDS, size=25)] for t in rng.integers(TOPICS, size=12)]
    ids = np.array([r for d in docs for r in d], dtype=np.uint32)
    offsets = np.array([0] + list(np.cumsum([len(d) for d in docs])), dtype=np.uint64)
    keep, noise, tree = model._build_samplers()
    cfg = _core.D2VConfig()
    cfg.dm, cfg.negative, cfg.window, cfg.seed, cfg.threads = mode == "dm", 5, 5, 1, 2
    cfg.alpha_begin, cfg.alpha_end = 0.025, 0.0001
    out = {isa: _core.infer_doc2vec(config=cfg, epochs=20, win=model.state.arrays["input"],
                                    wout=model.state.arrays["output"], ids=ids, offsets=offsets,
                                    keep_prob=keep, noise=noise, tree=tree, isa=isa)
           for isa in _core.simd_isas()}
    assert np.abs(out["serial"]).max() > 0.05
    for isa, vecs in out.items():
        np.testing.assert_allclose(vecs, out["serial"], rtol=1e-3, atol=1e-5, err_msg=isa)


def test_inferred_vectors_land_near_their_topic(dbow_model, planted):
    _, docs, topics = planted
    rng = np.random.default_rng(8)
    want = rng.integers(TOPICS, size=30)
    new = [[f"t{t}w{i}" for i in rng.integers(WORDS, size=30)] for t in want]
    vecs = dbow_model.infer_vectors(new)
    topic_of = {tag: t for (tag, _), t in zip(docs, topics)}
    hits = [topic_of[dbow_model.dv.most_similar(v, topn=1)[0][0]] == t for v, t in zip(vecs, want)]
    assert np.mean(hits) > 0.9


def test_inference_of_unknown_or_empty_documents_gives_zeros_with_a_warning(dbow_model):
    with pytest.warns(RuntimeWarning, match="2 document\\(s\\) have no word"):
        out = dbow_model.infer_vectors([["unknown", "words"], ["t0w1", "nope"], []])
    assert not out[0].any() and not out[2].any() and out[1].any()
    with pytest.raises(TypeError, match="infer_vector"):
        dbow_model.infer_vectors("a single string")
    with pytest.raises(TypeError, match="token 3 is not a string"):
        dbow_model.infer_vector(["t0w1", 3])


def test_inference_needs_a_trained_model(planted):
    model = dv.Doc2Vec(dim=8)
    with pytest.raises(RuntimeError, match="no state yet"):
        model.infer_vector(["a"])
    model.build_vocab(planted[0])
    with pytest.raises(RuntimeError, match="not trained yet"):
        model.infer_vector(["t0w1"])


# ------------------------------------------------- save, load, continue, Ctrl-C
def test_save_load_infers_the_same_and_training_continues(tmp_path, dbow_model, planted):
    documents, _, _ = planted
    path = dbow_model.save(tmp_path / "d2v.model")
    loaded = dv.Doc2Vec.load(path)
    assert loaded.tags == dbow_model.tags and loaded.get_params() == dbow_model.get_params()
    doc = ["t1w3", "t1w4", "t1w5", "noise1"]
    assert np.array_equal(loaded.infer_vector(doc), dbow_model.infer_vector(doc))
    more = Documents.from_iterable([("extra", ["t2w1", "t2w2", "t2w3"] * 5)], tagged=True, min_count=1)
    loaded.build_vocab(more, update=True, allow_mixed=True)
    assert loaded.tags[-1] == "extra" and len(loaded.tags) == len(dbow_model.tags) + 1
    emb = loaded.train(documents, epochs=2, progress=False, allow_mixed=True)
    assert loaded.state.info["epochs_trained"] == dbow_model.state.info["epochs_trained"] + 2
    assert "extra" in emb and len(emb) == len(loaded.tags)
    with pytest.raises(ValueError, match="a .doc2vec. model, not .word2vec."):
        dv.Word2Vec.load(path)


def test_ctrl_c_keeps_the_document_vectors(planted):
    model = dv.Doc2Vec(dim=32, epochs=20000, threads=2, sample=0, min_count=1)
    emb, elapsed = fit_interrupted(
        lambda cbs: model.fit(planted[0], progress=False, callbacks=cbs), after_first_epoch=True)
    assert elapsed < 10 and emb.meta["interrupted"] is True
    assert 0 < len(model.history) < 20000 and np.isfinite(emb.vectors).all()


def test_cli_trains_doc2vec(tmp_path):
    docs, _ = planted_docs(n=60)
    path = tmp_path / "docs.txt"
    path.write_text("".join(f"{tag}\t{' '.join(words)}\n" for tag, words in docs))
    out = tmp_path / "docvecs"
    r = subprocess.run([sys.executable, "-m", "densevec.cli", "train", "--model", "doc2vec", str(path),
                        "-o", str(out), "--dim", "8", "--epochs", "2", "--min-count", "1", "--tagged",
                        "--threads", "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    emb = dv.Embeddings.load(out)
    assert len(emb) == 60 and "d0" in emb


def test_objects_with_words_and_tags_attributes_are_read_as_gensim_tagged_documents():
    from collections import namedtuple

    TaggedDocument = namedtuple("TaggedDocument", "words tags")  # gensim's field order
    documents = Documents.from_iterable([TaggedDocument(["a", "b"], ["x"]), TaggedDocument(["b"], ["y", "x"])],
                                        tagged=True, min_count=1)
    assert documents.tags == ["x", "y"] and documents.doc_lengths.tolist() == [2, 1]
    assert documents.tag_rows.tolist() == [0, 1, 0]
