"""gensim's KeyedVectors methods on Embeddings: each against gensim 4.4 on the same vectors, and edge cases."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import densevec as dv
from densevec import _search
from densevec.vectors import Embeddings

# gensim's own most_similar_cosmul calls its deprecated init_sims
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")

N, DIM = 300, 17
WORDS = [f"w{i}" for i in range(N)]


def vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N, DIM)).astype(np.float32)


@pytest.fixture
def emb() -> Embeddings:
    return Embeddings(vectors(), WORDS, counts=np.arange(N, 0, -1))


@pytest.fixture
def kv():
    gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
    out = gensim_kv.KeyedVectors(DIM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.add_vectors(WORDS, vectors())
    return out


def same_list(ours, theirs, tol=1e-6):
    """Same words, scores within 1e-6 (relative above 1: 3CosMul scores reach ~10, float32 in both)."""
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=tol, atol=tol)


# ------------------------------------------------------------- against gensim
@pytest.mark.parametrize("pos,neg", [
    (["w1"], []), (["w1", "w2"], ["w3"]), (["w1", "w2", "w7"], ["w3", "w4"]), (["w5"], ["w6", "w8"]),
])
def test_most_similar_cosmul_matches_gensim(emb, kv, pos, neg):
    same_list(emb.most_similar_cosmul(pos, neg, topn=12), kv.most_similar_cosmul(pos, neg, topn=12))
    np.testing.assert_allclose(emb.most_similar_cosmul(pos, neg, topn=None),
                               kv.most_similar_cosmul(pos, neg, topn=None), rtol=1e-6, atol=1e-6)


def test_most_similar_cosmul_uses_gensims_epsilon_not_levy_goldbergs(emb, kv):
    """A negative control: the epsilon of analogy(method="3cosmul") (1e-3) would not match gensim."""
    ours = dict(emb.most_similar_cosmul(["w1", "w2"], ["w3"], topn=5))
    levy = dict(emb.analogy("w3", "w1", "w2", topn=5, method="3cosmul"))
    assert list(ours) == list(levy)  # same ranking here ...
    assert max(abs(ours[w] - levy[w]) for w in ours) > 1e-4  # ... but not the same scores


def test_most_similar_topn_none_matches_gensim(emb, kv):
    np.testing.assert_allclose(emb.most_similar("w1", topn=None), kv.most_similar("w1", topn=None), atol=1e-6)
    ours = emb.most_similar(["w1", "w2"], ["w3"], topn=None, restrict_vocab=50)
    assert ours.shape == (50,) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, kv.most_similar(["w1", "w2"], ["w3"], topn=None, restrict_vocab=50), atol=1e-6)


def test_similar_by_word_and_vector_match_gensim(emb, kv):
    same_list(emb.similar_by_word("w9", topn=7), kv.similar_by_word("w9", topn=7))
    v = vectors(5)[0]
    same_list(emb.similar_by_vector(v, topn=7), kv.similar_by_vector(v, topn=7))


def test_doesnt_match_matches_gensim(emb, kv):
    for start in range(0, 60, 6):
        group = WORDS[start:start + 6]
        assert emb.doesnt_match(group) == kv.doesnt_match(group)


def test_n_similarity_matches_gensim(emb, kv):
    for a, b in [(WORDS[:3], WORDS[5:9]), (["w1"], ["w1"]), (WORDS[10:20], WORDS[20:21])]:
        assert emb.n_similarity(a, b) == pytest.approx(float(kv.n_similarity(a, b)), abs=1e-6)


def test_distance_and_distances_match_gensim(emb, kv):
    assert emb.distance("w1", "w2") == pytest.approx(float(kv.distance("w1", "w2")), abs=1e-6)
    np.testing.assert_allclose(emb.distances("w1"), kv.distances("w1"), atol=1e-6)
    np.testing.assert_allclose(emb.distances("w1", WORDS[4:9]), kv.distances("w1", WORDS[4:9]), atol=1e-6)
    v = vectors(3)[1]
    np.testing.assert_allclose(emb.distances(v), kv.distances(v), atol=1e-6)


def test_rank_matches_gensim(emb, kv):
    for other in ("w50", "w2", "w299", "w1"):
        assert emb.rank("w1", other) == kv.rank("w1", other)


@pytest.mark.parametrize("kwargs", [{}, {"pre_normalize": False}, {"post_normalize": True}])
def test_get_mean_vector_matches_gensim(emb, kv, kwargs):
    weights = [1.0, -2.0, 3.0, 0.5]
    np.testing.assert_allclose(emb.get_mean_vector(WORDS[:4], weights, **kwargs),
                               kv.get_mean_vector(WORDS[:4], weights, **kwargs), atol=1e-6)
    raw = vectors(9)[0]
    np.testing.assert_allclose(emb.get_mean_vector(["w3", raw], **kwargs),
                               kv.get_mean_vector(["w3", raw], **kwargs), atol=1e-6)


def test_add_vectors_and_setitem_match_gensim(emb, kv):
    new = vectors(2)[:3]
    emb.add_vectors(["w1", "n1", "n2"], new)  # w1 exists: kept (replace=False), as gensim does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kv.add_vectors(["w1", "n1", "n2"], new)
    assert emb.index_to_word == list(kv.index_to_key)
    np.testing.assert_array_equal(emb.vectors, kv.vectors)
    emb["w2"] = new[2]
    emb[["n3", "w4"]] = new[:2]
    kv["w2"] = new[2]
    kv[["n3", "w4"]] = new[:2]
    assert emb.index_to_word == list(kv.index_to_key)
    np.testing.assert_array_equal(emb.vectors, kv.vectors)
    same_list(emb.most_similar("n1", topn=5), kv.most_similar("n1", topn=5))


# ------------------------------------------------------- properties, no gensim
def test_cosmul_is_brute_force_with_quantised_rows():
    """int8 rows give their dequantised cosines (no unit copy of the matrix is made)."""
    e = Embeddings(vectors(), WORDS).quantize("int8")
    rows = e.to_numpy()
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    q = [unit[1], unit[2], unit[3]]
    want = ((1 + unit @ q[0]) / 2) * ((1 + unit @ q[1]) / 2) / ((1 + unit @ q[2]) / 2 + 1e-6)
    np.testing.assert_allclose(e.most_similar_cosmul(["w1", "w2"], ["w3"], topn=None), want, atol=1e-5)
    assert e._unit is None


def test_most_similar_topn_none_includes_input_words_and_honours_normalized(emb):
    all_scores = emb.most_similar("w7", topn=None)
    assert all_scores[7] == pytest.approx(1.0, abs=1e-6)
    unit = emb.normalize()
    np.testing.assert_allclose(unit.most_similar("w7", topn=None), all_scores, atol=1e-6)


def test_to_numpy_dequantises(emb):
    v = emb.to_numpy()
    np.testing.assert_array_equal(v, emb.vectors)
    assert v is not emb.vectors and v.flags.writeable
    q = emb.quantize("int8")
    deq = q.to_numpy(dtype=np.float32)
    assert deq.dtype == np.float32
    np.testing.assert_allclose(deq, q.vectors * q.scales[:, None], rtol=1e-6)
    assert np.abs(deq - emb.vectors).max() < 0.05  # the real values, ...
    assert np.abs(np.asarray(q.vectors, np.float32) - emb.vectors).max() > 10  # ... not the int8 codes
    np.testing.assert_array_equal(emb.quantize("float16").to_numpy(np.float64), emb.vectors.astype(np.float16))
    with pytest.raises(TypeError, match="floating"):
        emb.to_numpy(np.int32)


# ---------------------------------------------------------------- edge cases
@pytest.mark.parametrize("call", [
    lambda e: e.most_similar_cosmul(["nope"]),
    lambda e: e.most_similar_cosmul(["w1"], ["nope"]),
    lambda e: e.doesnt_match(["w1", "nope", "w2"]),
    lambda e: e.n_similarity(["w1"], ["nope"]),
    lambda e: e.distance("w1", "nope"),
    lambda e: e.distances("nope"),
    lambda e: e.distances("w1", ["nope"]),
    lambda e: e.rank("w1", "nope"),
    lambda e: e.similar_by_word("nope"),
    lambda e: e.get_mean_vector(["w1", "nope"]),
])
def test_unknown_word_is_a_key_error_naming_it(emb, call):
    with pytest.raises(KeyError, match="'nope'"):
        call(emb)


@pytest.mark.parametrize("call", [
    lambda e: e.most_similar_cosmul([], ["w1"]),
    lambda e: e.doesnt_match([]),
    lambda e: e.n_similarity([], ["w1"]),
    lambda e: e.n_similarity(["w1"], []),
    lambda e: e.get_mean_vector([]),
])
def test_empty_inputs_are_value_errors(emb, call):
    with pytest.raises(ValueError):
        call(emb)


def test_topn_zero_and_empty_distances(emb):
    assert emb.most_similar("w1", topn=0) == []
    assert emb.most_similar_cosmul(["w1"], topn=0) == []
    assert emb.similar_by_word("w1", topn=0) == []
    assert emb.distances("w1", []).shape == (0,)


def test_topn_beyond_vocabulary_returns_every_other_word():
    e = Embeddings(vectors()[:5], WORDS[:5])
    assert sorted(w for w, _ in e.most_similar_cosmul(["w0", "w1"], ["w2"], topn=50)) == ["w3", "w4"]


def test_bad_argument_types_have_clear_messages(emb):
    with pytest.raises(TypeError, match="topn must be an integer"):
        emb.most_similar("w1", topn="3")
    with pytest.raises(TypeError, match="topn must be an integer"):
        emb.most_similar_cosmul(["w1"], topn=2.5)
    with pytest.raises(TypeError, match="k must be an integer"):
        emb.search(emb["w1"], k=2.5)
    with pytest.raises(TypeError, match="rescore must be an integer"):
        emb.quantize("int8").search(emb["w1"], k=2, rescore=2.5)
    with pytest.raises(TypeError, match=r"takes a word or a list of words, got int 123.*emb.word\(i\)"):
        emb[123]
    with pytest.raises(TypeError, match="list of words"):
        emb.doesnt_match("w1 w2")
    with pytest.raises(ValueError, match="shape"):
        emb.similar_by_vector(np.ones(DIM + 1))
    with pytest.raises(ValueError, match="one value per item"):
        emb.get_mean_vector(["w1", "w2"], [1.0])


def test_add_vectors_keeps_callers_arrays_and_refreshes_norms():
    base = vectors()
    e = Embeddings(base, WORDS, meta={"normalized": False})
    before = base.copy()
    _ = e.norms
    e["w0"] = np.full(DIM, 3.0, np.float32)
    e.add_vectors("fresh", np.ones(DIM, np.float32))
    np.testing.assert_array_equal(base, before)  # the caller's matrix is untouched
    assert e.norms[0] == pytest.approx(3.0 * np.sqrt(DIM))
    assert e.get_index("fresh") == N and e.norms[N] == pytest.approx(np.sqrt(DIM))
    assert e.most_similar("fresh", topn=1)[0][0] == "w0"  # w0 now points along (1, ..., 1)
    assert "fresh" in e and e.key_to_index["fresh"] == N


def test_add_vectors_counts(emb):
    emb.add_vectors(["a", "b"], vectors(1)[:2], counts=[5, 6])
    assert list(emb.counts[-2:]) == [5, 6]
    emb.add_vectors(["c"], vectors(1)[:1])
    assert emb.counts[-1] == 0
    plain = Embeddings(vectors(), WORDS)
    with pytest.raises(ValueError, match="no counts"):
        plain.add_vectors(["a"], vectors(1)[:1], counts=[1])
    with pytest.raises(ValueError, match="duplicate"):
        plain.add_vectors(["a", "a"], vectors(1)[:2])
    with pytest.raises(ValueError, match=r"shape \(1, 17\)"):
        plain.add_vectors(["a"], vectors(1)[:2])


def test_add_vectors_does_not_change_a_copy_sharing_the_vocabulary(emb):
    unit = emb.normalize()
    emb["extra"] = np.ones(DIM, np.float32)
    assert "extra" not in unit and len(unit) == N and len(emb) == N + 1


def test_add_vectors_refused_on_mapped_and_quantised_stores(emb, tmp_path):
    emb.save(tmp_path / "s.dv")
    mapped = Embeddings.load(tmp_path / "s.dv")
    with pytest.raises(ValueError, match="memory-mapped"):
        mapped["x"] = np.ones(DIM, np.float32)
    with pytest.raises(ValueError, match="quantised"):
        emb.quantize("int8").add_vectors(["x"], np.ones((1, DIM), np.float32))
    in_memory = Embeddings.load(tmp_path / "s.dv", mmap=False)
    in_memory["x"] = np.ones(DIM, np.float32)
    assert in_memory.get_index("x") == N and len(mapped) == N
    in_memory.save(tmp_path / "grown.dv")
    grown = Embeddings.load(tmp_path / "grown.dv", verify=True)
    assert grown.index_to_word == WORDS + ["x"] and grown.counts[-1] == 0
    np.testing.assert_array_equal(grown["x"], np.ones(DIM, np.float32))


# ------------------------------------------------------------- model classes
def test_models_given_sentences_say_to_call_fit():
    sentences = [["a", "b"], ["b", "c"]]
    for model in (dv.Word2Vec, dv.GloVe):
        with pytest.raises(TypeError, match=r"\.fit\(sentences\)"):
            model(sentences)
        with pytest.raises(TypeError, match=r"\.fit\(sentences\)"):
            model(iter(sentences))
    with pytest.raises(ValueError, match="dim"):
        dv.Word2Vec(0)  # a number still gets the range check


def test_fit_given_embeddings_says_what_it_expects(emb):
    with pytest.raises(TypeError, match="GloVe.fit expects a Cooccurrence, a Corpus.*got Embeddings"):
        dv.GloVe().fit(emb)
    with pytest.raises(TypeError, match="Word2Vec.fit expects a Corpus.*got Embeddings"):
        dv.Word2Vec().fit(emb)
    with pytest.raises(TypeError, match="got int"):
        dv.Word2Vec().fit(5)


# --------------------------------------------------------- package paper cuts
def test_submodules_load_lazily():
    code = ("import densevec, sys; assert 'densevec.reduce' not in sys.modules; "
            "print(densevec.reduce.pca.__name__, densevec.plot.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pca", "densevec.plot"]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        dv.nonsense  # noqa: B018


def test_py_typed_is_shipped():
    from importlib import resources
    assert resources.files("densevec").joinpath("py.typed").is_file()


def test_bogus_simd_level_warns(monkeypatch):
    monkeypatch.setenv("DENSEVEC_SIMD", "avx9000")
    with pytest.warns(RuntimeWarning, match=r"'avx9000'.*serial, avx2, avx512"):
        dv._check_simd_env()
    monkeypatch.setenv("DENSEVEC_SIMD", "serial")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dv._check_simd_env()
    env = dict(os.environ, DENSEVEC_SIMD="fast")
    out = subprocess.run([sys.executable, "-c", "import densevec"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "RuntimeWarning" in out.stderr and "'fast'" in out.stderr


def test_analogy_report_repr_is_short(tmp_path):
    e = Embeddings(vectors(), WORDS)
    lines = [": capital"] + [f"w{i} w{i + 1} w{i + 2} w{i + 3}" for i in range(0, 200)]
    (tmp_path / "q.txt").write_text("\n".join(lines) + "\n")
    report = dv.evaluate.analogies(e, tmp_path / "q.txt")
    assert report.total == 200
    assert len(repr(report)) < 300 and "accuracy=" in repr(report)


def test_word_pairs_comma_file_mentions_delimiter(tmp_path):
    e = Embeddings(vectors(), WORDS)
    path = tmp_path / "pairs.csv"
    path.write_text("w1,w2,3.5\nw3,w4,1.0\nw5,w6,2.0\n")
    with pytest.raises(ValueError, match="delimiter=','"):
        dv.evaluate.word_pairs(e, path, case_insensitive=False)
    report = dv.evaluate.word_pairs(e, path, delimiter=",", case_insensitive=False)
    assert report.pairs == 3


# --------------------------------------------------------- word2vec formats
def test_limit_and_unicode_errors(emb, tmp_path, kv):
    for binary in (False, True):
        path = tmp_path / f"v{binary}"
        emb.save_word2vec_format(path, binary=binary)
        first = Embeddings.load_word2vec_format(path, binary=binary, limit=10)
        assert first.index_to_word == WORDS[:10]
        np.testing.assert_array_equal(first.vectors, emb.vectors[:10])
        assert len(Embeddings.load_word2vec_format(path, binary=binary, limit=10**6)) == N
        gensim_kv = type(kv).load_word2vec_format(path, binary=binary, limit=10)
        assert list(gensim_kv.index_to_key) == first.index_to_word
    glove = tmp_path / "g.txt"
    emb.save_word2vec_format(glove, write_header=False)
    assert Embeddings.load_word2vec_format(glove, no_header=True, limit=7).index_to_word == WORDS[:7]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"2 2\nok 1 2\nb\xffd 3 4\n")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        Embeddings.load_word2vec_format(bad)
    assert Embeddings.load_word2vec_format(bad, unicode_errors="replace").index_to_word == ["ok", "b\ufffdd"]
    assert Embeddings.load_word2vec_format(bad, unicode_errors="ignore").index_to_word == ["ok", "bd"]
    with pytest.raises(ValueError, match="unicode_errors"):
        Embeddings.load_word2vec_format(bad, unicode_errors="bogus")
    with pytest.raises(ValueError, match="limit"):
        Embeddings.load_word2vec_format(bad, limit=-1)


@pytest.mark.parametrize("binary", [False, True])
def test_counts_round_trip_through_fvocab(emb, tmp_path, binary):
    vec, voc = tmp_path / "v", tmp_path / "vocab.txt"
    emb.save_word2vec_format(vec, binary=binary, fvocab=voc)
    back = Embeddings.load_word2vec_format(vec, binary=binary, fvocab=voc)
    np.testing.assert_array_equal(back.counts, emb.counts)
    assert Embeddings.load_word2vec_format(vec, binary=binary).counts is None
    assert Embeddings.load_word2vec_format(vec, binary=binary, fvocab=voc, limit=5).counts.tolist() == [300, 299, 298, 297, 296]


def test_fvocab_agrees_with_gensim(emb, tmp_path, kv):
    vec, voc = tmp_path / "v.txt", tmp_path / "vocab.txt"
    emb.save_word2vec_format(vec, fvocab=voc)
    theirs = type(kv).load_word2vec_format(vec, fvocab=voc)
    assert [theirs.get_vecattr(w, "count") for w in WORDS] == emb.counts.tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save_word2vec_format(tmp_path / "g.txt", fvocab=tmp_path / "gvocab.txt")
    back = Embeddings.load_word2vec_format(tmp_path / "g.txt", fvocab=tmp_path / "gvocab.txt")
    assert [int(back.counts[back.get_index(w)]) for w in WORDS] == emb.counts.tolist()


def test_fvocab_errors(emb, tmp_path):
    vec, voc = tmp_path / "v.txt", tmp_path / "vocab.txt"
    with pytest.raises(ValueError, match="no counts"):
        Embeddings(vectors(), WORDS).save_word2vec_format(vec, fvocab=voc)
    emb.save_word2vec_format(vec)
    voc.write_text("w0 1\n")
    with pytest.raises(ValueError, match="no count for the word 'w1'"):
        Embeddings.load_word2vec_format(vec, fvocab=voc)
    voc.write_text("w0 1\nw0 2\n")
    with pytest.raises(ValueError, match="line 2: word 'w0' is listed twice"):
        Embeddings.load_word2vec_format(vec, fvocab=voc)
    voc.write_text("w0 -1\n")
    with pytest.raises(ValueError, match="line 1: expected 'word count'"):
        Embeddings.load_word2vec_format(vec, fvocab=voc)


def test_loader_says_what_a_foreign_file_is(emb, tmp_path):
    binary = tmp_path / "v.bin"
    emb.save_word2vec_format(binary, binary=True)
    with pytest.raises(ValueError, match="looks like a word2vec \\*binary\\* file.*binary=True"):
        Embeddings.load_word2vec_format(binary)
    pkl = tmp_path / "model.kv"
    pkl.write_bytes(pickle.dumps({"vectors": [1, 2]}, protocol=4))
    for binary_flag in (False, True):
        with pytest.raises(ValueError, match="Python pickle.*save_word2vec_format"):
            Embeddings.load_word2vec_format(pkl, binary=binary_flag)
    ft = tmp_path / "cc.en.bin"
    ft.write_bytes((793712314).to_bytes(4, "little") + (12).to_bytes(4, "little") + b"\0" * 64)
    with pytest.raises(ValueError, match="fastText model"):
        Embeddings.load_word2vec_format(ft, binary=True)
    text = tmp_path / "v.txt"  # negative control: a text file with one bad byte is not called binary
    text.write_bytes(b"1 2\nb\xffd 1 2\n")
    with pytest.raises(ValueError, match="not valid UTF-8") as info:
        Embeddings.load_word2vec_format(text)
    assert "binary" not in str(info.value)


def test_gensim_pickle_is_recognised(emb, tmp_path, kv):
    kv.save(str(tmp_path / "gensim.kv"))
    with pytest.raises(ValueError, match="Python pickle"):
        Embeddings.load_word2vec_format(tmp_path / "gensim.kv")


def test_cosine_scores_helper_is_exact_on_zero_rows():
    rows = np.array([[0, 0], [3, 4], [1, 0]], np.float32)
    got = _search.cosine_scores(np.array([[1, 0]], np.float32), rows, None, np.linalg.norm(rows, axis=1))
    np.testing.assert_allclose(got, [[0, 0.6, 1]], atol=1e-7)
