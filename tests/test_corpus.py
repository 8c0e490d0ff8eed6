"""Vocabulary and corpus encoding against a pure-Python reference, and bad input."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import densevec as dv
from densevec import corpus as corpus_mod
import reference as ref

PIECES = [b"a", b"b", b"ab", b"the", "\u00e9t\u00e9".encode(), "\u65e5\u672c".encode(),
          "\U0001f600".encode(), b" ", b"  ", b"\t", b"\n", b"\n\n", b"\r\n", b"\x00", b"\v",
          b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe0\x80\xaf", b"x" * 12]


def check_against_reference(tmp_path, data: bytes, min_count: int, max_vocab=None,
                            max_sentence_length=10_000, max_token_bytes=1000, threads=1):
    path = tmp_path / "text.txt"
    path.write_bytes(data)
    lines = ref.tokenize_lines(data, max_token_bytes)
    words, counts, all_counts = ref.vocabulary(lines, min_count, max_vocab)
    if not words:
        with pytest.raises(ValueError):
            dv.Corpus.from_file(path, min_count=min_count, max_vocab=max_vocab, cache=False)
        return None
    c = dv.Corpus.from_file(path, min_count=min_count, max_vocab=max_vocab, cache=False,
                            max_sentence_length=max_sentence_length,
                            max_token_bytes=max_token_bytes, threads=threads)
    assert c.vocab.index_to_word == words
    assert c.vocab.counts.tolist() == counts
    assert c.vocab.raw_tokens == sum(all_counts.values())
    sentences = ref.encode(lines, words, max_sentence_length)
    sentences = [s for s in sentences if s]
    got = [c.sentence_ids(i).tolist() for i in range(c.n_sentences)]
    assert got == sentences
    return c


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=200), min_count=st.integers(1, 3),
       threads=st.integers(1, 3))
def test_matches_reference_on_generated_text(tmp_path, monkeypatch, pieces, min_count, threads):
    # tiny work ranges so that several threads share even a short file
    monkeypatch.setattr(corpus_mod, "_RANGE_BYTES", 7)
    data = b"".join(pieces)
    if not ref.vocabulary(ref.tokenize_lines(data), 1)[0]:
        return  # no valid token at all: covered by test_empty_file
    check_against_reference(tmp_path, data, min_count, threads=threads)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES[:8] + [b" ", b"\n"]), min_size=1, max_size=300),
       max_vocab=st.integers(1, 4), max_sentence_length=st.integers(1, 5),
       max_token_bytes=st.integers(1, 6))
def test_pruning_sentence_cuts_and_token_cap(tmp_path, pieces, max_vocab, max_sentence_length,
                                             max_token_bytes):
    data = b"".join(pieces)
    if not ref.vocabulary(ref.tokenize_lines(data, max_token_bytes), 1)[0]:
        return
    check_against_reference(tmp_path, data, 1, max_vocab=max_vocab,
                            max_sentence_length=max_sentence_length,
                            max_token_bytes=max_token_bytes)


def test_crlf_tabs_unicode_and_blank_lines(tmp_path):
    data = "the cat\r\n\r\n\tthe\u00a0dog  \n\n été été\r\nthe été\n".encode()
    c = check_against_reference(tmp_path, data, 1)
    # U+00A0 is not ASCII whitespace: it stays inside the token
    assert "the\u00a0dog" in c.vocab
    assert c.vocab.index_to_word[:2] == ["été", "the"]  # 3 and 2 occurrences
    assert list(c.sentences()) == [["the", "cat"], ["the\u00a0dog"], ["été", "été"], ["the", "été"]]


def test_result_independent_of_thread_count(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    probs = 1.0 / np.arange(1, 301)
    probs /= probs.sum()
    lines = [" ".join(rng.choice(words, size=rng.integers(0, 40), p=probs)) for _ in range(3000)]
    path = tmp_path / "t.txt"
    path.write_text("\n".join(lines))
    monkeypatch.setattr(corpus_mod, "_RANGE_BYTES", 1000)
    results = []
    for threads in (1, 2, 4, 7):
        c = dv.Corpus.from_file(path, min_count=3, threads=threads, cache=False)
        results.append((c.vocab.index_to_word, c.vocab.counts.tolist(), np.array(c.ids).tobytes(),
                        np.array(c.offsets).tobytes()))
    assert all(r == results[0] for r in results[1:])


def test_vocab_api_and_subsampling(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a a a a b b c\n" * 10)
    c = dv.Corpus.from_file(path, min_count=1, cache=False)
    v = c.vocab
    assert len(v) == 3 and "a" in v and "z" not in v
    assert v["b"] == 1 and v.word(2) == "c" and v.count("a") == 40
    assert v.total_tokens == 70
    with pytest.raises(KeyError, match="'z'"):
        v["z"]
    keep = v.keep_probabilities(0.1)
    t = 0.1 * 70
    expected = np.minimum((np.sqrt(np.array([40, 20, 10]) / t) + 1) * t / np.array([40, 20, 10]), 1)
    np.testing.assert_allclose(keep, expected, rtol=1e-6)
    assert keep[0] < keep[1] <= keep[2]
    np.testing.assert_array_equal(v.keep_probabilities(0), 1.0)
    with pytest.raises(ValueError):
        v.keep_probabilities(-1)


def test_multiple_files_end_sentences(tmp_path):
    (tmp_path / "a.txt").write_text("x y z")  # no trailing newline
    (tmp_path / "b.txt").write_text("x y\n")
    c = dv.Corpus.from_file([tmp_path / "a.txt", tmp_path / "b.txt"], min_count=1, cache=False)
    assert list(c.sentences()) == [["x", "y", "z"], ["x", "y"]]


def test_from_sentences_lists_and_strings():
    sents = [["hello", "world"], "hello there", ("world", "hello")]
    c = dv.Corpus.from_sentences(sents, min_count=1)
    assert list(c.sentences()) == [["hello", "world"], ["hello", "there"], ["world", "hello"]]
    assert c.vocab.index_to_word == ["hello", "world", "there"]
    # a generator works and is consumed once
    c2 = dv.Corpus.from_sentences((s for s in sents), min_count=1)
    assert c2.fingerprint == c.fingerprint


def test_from_sentences_rejects_non_iterables():
    with pytest.raises(TypeError, match="iterable"):
        dv.Corpus.from_sentences(42)
    with pytest.raises(TypeError, match="single string"):
        dv.Corpus.from_sentences("a b c")
    with pytest.raises(TypeError, match="sentence 1"):
        dv.Corpus.from_sentences([["a"], 5])
    with pytest.raises(TypeError, match="sentence 0"):
        dv.Corpus.from_sentences([["a", 3]])
    with pytest.raises(ValueError, match="sentence 0"):
        dv.Corpus.from_sentences(["\ud800 lone surrogate"])


def test_from_sentences_temporary_directory_is_removed():
    c = dv.Corpus.from_sentences([["a", "b"]] * 5, min_count=1)
    parent = c.path.parent
    assert parent.exists()
    del c
    import gc

    gc.collect()
    assert not parent.exists()


# ------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        dv.Corpus.from_file(tmp_path / "nope.txt")


def test_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        dv.Corpus.from_file(tmp_path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="no tokens"):
        dv.Corpus.from_file(p)
    p.write_bytes(b" \n\t\r\n\x00\n")
    with pytest.raises(ValueError, match="no tokens"):
        dv.Corpus.from_file(p)


def test_no_token_survives_min_count(tmp_path):
    p = tmp_path / "rare.txt"
    p.write_text("a b c d\n")
    with pytest.raises(ValueError, match="min_count=5"):
        dv.Corpus.from_file(p, min_count=5)


def test_bad_parameters(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a b\n")
    for kwargs in ({"min_count": 0}, {"max_vocab": 0}, {"max_sentence_length": 0},
                   {"max_token_bytes": 0}):
        with pytest.raises(ValueError):
            dv.Corpus.from_file(p, **kwargs)
    with pytest.raises(TypeError, match="min_count must be an integer"):
        dv.Corpus.from_file(p, min_count=1.5)


def test_invalid_utf8_tokens_are_skipped_and_counted(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"good \xff\xfe good caf\xc3 good \xed\xa0\x80 ok\n\xc3\xa9t\xc3\xa9\n")
    c = dv.Corpus.from_file(p, min_count=1, cache=False)
    assert c.vocab.index_to_word == ["good", "ok", "été"]
    assert c.stats["invalid_utf8"] == 3
    assert list(c.sentences()) == [["good", "good", "good", "ok"], ["été"]]


def test_nul_bytes_separate_tokens(tmp_path):
    p = tmp_path / "nul.txt"
    p.write_bytes(b"a\x00b\x00\x00a\nb\x00\n")
    c = dv.Corpus.from_file(p, min_count=1, cache=False)
    assert list(c.sentences()) == [["a", "b", "a"], ["b"]]


def test_100mb_line_without_newline(tmp_path):
    # 100 MB of tokens on one line: cut into sentences of max_sentence_length
    p = tmp_path / "long.txt"
    unit = b"alpha beta gamma delta "
    reps = (100 << 20) // len(unit)
    with open(p, "wb") as f:
        f.write(unit * reps)
    c = dv.Corpus.from_file(p, min_count=1, cache=False, max_sentence_length=10_000)
    assert c.n_tokens == 4 * reps
    lengths = np.diff(np.asarray(c.offsets))
    assert lengths.max() == 10_000 and (lengths[:-1] == 10_000).all()


def test_100mb_token_is_skipped(tmp_path):
    # 100 MB without any whitespace: one token, longer than max_token_bytes
    p = tmp_path / "blob.txt"
    with open(p, "wb") as f:
        f.write(b"x" * (100 << 20))
        f.write(b"\nshort words here\n")
    c = dv.Corpus.from_file(p, min_count=1, cache=False)
    assert c.stats["too_long"] == 1
    assert list(c.sentences()) == [["short", "words", "here"]]


# ---------------------------------------------------------------------- cache
def _text(tmp_path, body="a b c a b a\n" * 20):
    p = tmp_path / "c.txt"
    p.write_text(body)
    return p


def test_cache_is_reused(tmp_path):
    p = _text(tmp_path)
    c1 = dv.Corpus.from_file(p, min_count=1)
    assert not c1.from_cache
    c2 = dv.Corpus.from_file(p, min_count=1)
    assert c2.from_cache and c2.path == c1.path
    c3 = dv.Corpus.from_file(p, min_count=2)  # other parameters: other cache entry
    assert not c3.from_cache and c3.path != c1.path


def test_cache_rebuilt_when_input_changes(tmp_path):
    p = _text(tmp_path)
    c1 = dv.Corpus.from_file(p, min_count=1)
    p.write_text("z z z y\n")
    os.utime(p, ns=(1, 1))
    c2 = dv.Corpus.from_file(p, min_count=1)
    assert not c2.from_cache
    assert c2.vocab.index_to_word == ["z", "y"] and c1.fingerprint != c2.fingerprint


@pytest.mark.parametrize("damage", ["truncate_ids", "truncate_offsets", "vocab", "meta", "ids_range",
                                    "foreign"])
def test_damaged_cache_is_detected_and_rebuilt(tmp_path, damage):
    p = _text(tmp_path)
    c = dv.Corpus.from_file(p, min_count=1)
    expected = (c.vocab.index_to_word, np.array(c.ids).tolist())
    d = c.path
    del c
    if damage == "truncate_ids":
        with open(d / "ids.u32", "r+b") as f:
            f.truncate(8)
    elif damage == "truncate_offsets":
        with open(d / "offsets.u64", "r+b") as f:
            f.truncate(8)
    elif damage == "vocab":
        (d / "vocab.txt").write_text("a\t1\n")
    elif damage == "meta":
        (d / "meta.json").write_text("{not json")
    elif damage == "ids_range":  # same size, ids out of the vocabulary
        n = os.path.getsize(d / "ids.u32") // 4
        np.full(n, 999, dtype=np.uint32).tofile(d / "ids.u32")
    elif damage == "foreign":  # a valid corpus of another input in this cache slot
        other = tmp_path / "other.txt"
        other.write_text("q r s\n")
        oc = dv.Corpus.from_file(other, min_count=1, cache=False)
        shutil.rmtree(d)
        shutil.copytree(oc.path, d)
    if damage != "foreign":  # a foreign corpus is valid; only its fingerprint differs
        with pytest.raises(dv.corpus.CorpusError):
            dv.Corpus.load(d)
    c2 = dv.Corpus.from_file(p, min_count=1)
    assert not c2.from_cache
    assert (c2.vocab.index_to_word, np.array(c2.ids).tolist()) == expected
    assert dv.Corpus.from_file(p, min_count=1).from_cache


def test_save_and_load(tmp_path):
    c = dv.Corpus.from_sentences([["a", "b"], ["b", "c"]] * 3, min_count=1)
    out = c.save(tmp_path / "saved")
    c2 = dv.Corpus.load(out)
    assert c2.vocab.index_to_word == c.vocab.index_to_word
    assert np.array_equal(c2.ids, c.ids) and np.array_equal(c2.offsets, c.offsets)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["format"] == "densevec-corpus"
    with pytest.raises(FileNotFoundError):
        dv.Corpus.load(tmp_path / "missing")
