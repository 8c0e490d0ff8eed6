"""The one safe writer (densevec._fs): what it refuses, atomic replacement, leftovers, special files, checksums.

Issue 12 items 4 (never delete what densevec did not write), 6 (atomic
replacement, stale leftovers), 10 (validate before writing, checksums) and
11 (special files never block).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import densevec as dv
from densevec import _fs
from densevec.vectors import Embeddings
from timeouts import no_hang
from vector_helpers import random_embeddings

SENTENCES = [["a", "b", "c"], ["b", "c", "d"], ["a", "d"]] * 4


def victim(path: Path) -> Path:
    """A directory of user files that densevec must never touch."""
    path.mkdir()
    (path / "thesis.tex").write_text("years of work")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_text("1,2,3")
    return path


def tree(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


@pytest.fixture
def corpus():
    return dv.Corpus.from_sentences(SENTENCES, min_count=1)


@pytest.fixture
def cooc(corpus):
    return dv.cooccurrence(corpus, window=2, threads=1)


# ---------------------------------------------------------------- item 4: never delete what is not ours
def test_corpus_save_refuses_an_unrelated_directory(tmp_path, corpus):
    v = victim(tmp_path / "victim")
    before = tree(v)
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not a densevec corpus"):
            corpus.save(v, overwrite=overwrite)
        assert tree(v) == before
    assert sorted(os.listdir(tmp_path)) == ["victim"]  # no temporary left beside it


def test_corpus_save_onto_the_working_directory(tmp_path, corpus, monkeypatch):
    victim(tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    before = tree(Path("."))
    with pytest.raises(FileExistsError):
        corpus.save(".", overwrite=True)
    assert tree(Path(".")) == before


def test_cooccurrence_refuses_a_store_and_a_victim(tmp_path, corpus, cooc):
    store = random_embeddings(seed=1).save(tmp_path / "m.dv")
    before = tree(store)
    with pytest.raises(FileExistsError, match="not a densevec cooccurrence"):
        cooc.save(store, overwrite=True)
    with pytest.raises(FileExistsError):
        dv.cooccurrence(corpus, window=2, path=store, overwrite=True)  # refused before counting
    assert tree(store) == before
    Embeddings.load(store, verify=True)
    v = victim(tmp_path / "victim")
    before = tree(v)
    with pytest.raises(FileExistsError):
        dv.cooccurrence(corpus, window=2, path=v)
    assert tree(v) == before


def test_store_save_refuses_a_directory_with_only_a_densevec_looking_meta(tmp_path):
    v = victim(tmp_path / "looks.dv")
    good = random_embeddings(seed=1).save(tmp_path / "good.dv")
    (v / "meta.json").write_bytes((good / "meta.json").read_bytes())  # claims to be a store
    before = tree(v)
    with pytest.raises(FileExistsError, match="incomplete densevec store"):
        random_embeddings(seed=2).save(v, overwrite=True)
    assert tree(v) == before


def test_replacing_needs_overwrite_and_the_same_kind(tmp_path, corpus, cooc):
    c_path = corpus.save(tmp_path / "c")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        corpus.save(c_path)
    other = dv.Corpus.from_sentences([["x", "y"]] * 3, min_count=1)
    other.save(c_path, overwrite=True)
    assert dv.Corpus.load(c_path).vocab.index_to_word == other.vocab.index_to_word
    with pytest.raises(FileExistsError, match="not a densevec cooccurrence"):
        cooc.save(c_path, overwrite=True)  # a corpus is not a co-occurrence matrix
    with pytest.raises(FileExistsError, match="not a densevec store"):
        random_embeddings().save(c_path, overwrite=True)
    k_path = cooc.save(tmp_path / "k")
    cooc.save(k_path, overwrite=True)
    assert dv.Cooccurrence.load(k_path).nnz == cooc.nnz
    (tmp_path / "empty").mkdir()  # an empty directory holds nothing to lose
    corpus.save(tmp_path / "empty")
    assert dv.Corpus.load(tmp_path / "empty").n_tokens == corpus.n_tokens
    assert sorted(os.listdir(tmp_path)) == ["c", "empty", "k"]


def test_files_and_links_are_never_replaced_by_a_directory(tmp_path):
    f = tmp_path / "file.dv"
    f.write_text("user data")
    (tmp_path / "target").mkdir()
    (tmp_path / "link.dv").symlink_to(tmp_path / "target")
    emb = random_embeddings()
    for p in (f, tmp_path / "link.dv"):
        with pytest.raises(FileExistsError):
            emb.save(p, overwrite=True)
    assert f.read_text() == "user data" and (tmp_path / "link.dv").is_symlink()


def test_atomic_file_refuses_directories_and_special_files(tmp_path):
    emb = random_embeddings()
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "fifo")
    for p in (tmp_path / "d", tmp_path / "fifo"):
        with pytest.raises(FileExistsError, match="not a regular file"):
            emb.save_word2vec_format(p)
    out = emb.save_word2vec_format(tmp_path / "v.txt")
    with pytest.raises(FileExistsError):
        emb.save_word2vec_format(out, overwrite=False)
    emb.save_word2vec_format(out, binary=True)  # replacing a regular file is the default
    assert Embeddings.load_word2vec_format(out, binary=True).index_to_word == emb.index_to_word
    assert sorted(os.listdir(tmp_path)) == ["d", "fifo", "v.txt", "v.txt.densevec.json"]  # and its sidecar


def test_atomic_file_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with _fs.atomic_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["t.txt"]


# ---------------------------------------------------------------- item 6: atomic replacement, leftovers
KILL = textwrap.dedent("""
    import os, sys
    import numpy as np
    from densevec import _fs
    from densevec.vectors import Embeddings
    path, stage, fallback = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if fallback:
        _fs._renameat2 = False  # as on a system without renameat2(RENAME_EXCHANGE)
    _fs.fault = lambda s: os._exit(9) if s == stage else None
    Embeddings(np.full((3, 2), 2.0, np.float32), ["x", "y", "z"]).save(path, overwrite=True)
    os._exit(0)
""")


def _old_store(path: Path) -> Path:
    return Embeddings(np.full((4, 2), 1.0, np.float32), ["p", "q", "r", "s"]).save(path)


def _kill_at(path: Path, stage: str, fallback: bool = False) -> None:
    proc = subprocess.run([sys.executable, "-c", KILL, str(path), stage, "1" if fallback else "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr


@pytest.mark.parametrize("stage, new", [("files-written", False), ("before-install", False),
                                        ("before-exchange", False), ("after-exchange", True),
                                        ("after-install", True)])
def test_killed_while_replacing_leaves_a_complete_store(tmp_path, stage, new):
    path = _old_store(tmp_path / "m.dv")
    _kill_at(path, stage)
    emb = Embeddings.load(path, verify=True)  # the old or the new store, complete
    assert emb.index_to_word == (["x", "y", "z"] if new else ["p", "q", "r", "s"])
    leftovers = [n for n in os.listdir(tmp_path) if n != "m.dv"]
    if stage != "after-install":
        assert leftovers and all(n.startswith(".m.dv.tmp-") for n in leftovers)
    random_embeddings(seed=5).save(path, overwrite=True)  # the next save removes what the dead process left
    assert os.listdir(tmp_path) == ["m.dv"]


def test_fallback_without_exchange_is_repaired_by_the_next_save(tmp_path):
    """Without renameat2 a kill between the two renames leaves the old store under .old-: it is put back."""
    path = _old_store(tmp_path / "m.dv")
    _kill_at(path, "after-exchange", fallback=True)
    assert not path.exists() and any(n.startswith(".m.dv.old-") for n in os.listdir(tmp_path))
    _fs.clean_stale(path)
    assert Embeddings.load(path, verify=True).index_to_word == ["p", "q", "r", "s"]
    assert os.listdir(tmp_path) == ["m.dv"]


def test_fallback_replacement_works(tmp_path, monkeypatch):
    monkeypatch.setattr(_fs, "_renameat2", False)
    path = _old_store(tmp_path / "m.dv")
    new = random_embeddings(seed=3)
    new.save(path, overwrite=True)
    assert Embeddings.load(path).index_to_word == new.index_to_word
    assert os.listdir(tmp_path) == ["m.dv"]


def test_leftovers_of_live_processes_and_other_names_are_kept(tmp_path):
    path = _old_store(tmp_path / "m.dv")
    mine = tmp_path / f".m.dv.tmp-{os.getpid()}-abcd1234"  # this process: alive
    other_target = tmp_path / ".n.dv.tmp-999999999-abcd1234"  # another target
    user = tmp_path / ".m.dv.tmp-notes"  # not our pattern
    for p in (mine, other_target, user):
        p.mkdir()
    dead = tmp_path / ".m.dv.tmp-999999999-abcd1234"
    dead.mkdir()
    (dead / "vectors.npy").write_bytes(b"partial")
    random_embeddings().save(path, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.dv", mine.name, other_target.name, user.name])


def test_failed_encode_and_count_leave_nothing(tmp_path, corpus):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    with pytest.raises(ValueError, match="no tokens"):
        dv.Corpus.from_file(empty, min_count=1, cache=tmp_path / "cache")
    assert os.listdir(tmp_path / "cache") == []
    with pytest.raises(TypeError):
        dv.Corpus.from_sentences([["a"], 3])
    with pytest.raises(ValueError):
        dv.cooccurrence(corpus, window=2, path=tmp_path / "k", memory_gb=-1)
    assert sorted(os.listdir(tmp_path)) == ["cache", "empty.txt"]


# ---------------------------------------------------------------- item 10: validate before writing; checksums
def test_save_never_writes_a_store_load_refuses(tmp_path):
    good = random_embeddings(seed=1).save(tmp_path / "m.dv")
    before = tree(good)
    huge = random_embeddings(seed=2, meta={"notes": "x" * (17 << 20)})
    with pytest.raises(ValueError, match="16 MiB"):
        huge.save(good, overwrite=True)
    zero = Embeddings(np.zeros((3, 0), np.float32), ["a", "b", "c"])
    with pytest.raises(ValueError, match="dim >= 1"):
        zero.save(good, overwrite=True)
    assert tree(good) == before and os.listdir(tmp_path) == ["m.dv"]
    # just under the limit is written, and loads
    fits = random_embeddings(seed=2, meta={"notes": "x" * ((16 << 20) - 8192)})
    assert Embeddings.load(fits.save(tmp_path / "big.dv"), verify=True).meta["notes"] == fits.meta["notes"]


@pytest.mark.parametrize("name", ["vectors.npy", "vocab_counts.npy", "scales.npy"])
def test_checksums_catch_byte_flips_that_load_accepts(tmp_path, name):
    emb = random_embeddings(seed=1)
    if name == "scales.npy":
        emb = emb.quantize("int8")
    path = emb.save(tmp_path / "m.dv")
    sums = json.loads((path / "meta.json").read_text())["checksums"]
    assert sums["algorithm"] == "sha256" and name in sums["files"]
    data = bytearray((path / name).read_bytes())
    data[len(data) - 2] ^= 0x01  # a low bit of the last value: every structural check still passes
    (path / name).write_bytes(bytes(data))
    Embeddings.load(path)  # in range: the O(1) checks cannot see it
    with pytest.raises(ValueError, match=f"{name}: SHA-256"):
        Embeddings.load(path, verify=True)
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", "info", str(path), "--verify"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"{name}: SHA-256" in proc.stderr, proc.stderr
    ok = random_embeddings(seed=1).save(tmp_path / "ok.dv")
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", "info", str(ok), "--verify"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "SHA-256 of" in proc.stdout, proc.stderr


def test_stores_without_checksums_still_load_and_verify(tmp_path):
    path = random_embeddings(seed=1).save(tmp_path / "m.dv")
    doc = json.loads((path / "meta.json").read_text())
    del doc["checksums"]
    (path / "meta.json").write_text(json.dumps(doc))
    assert len(Embeddings.load(path, verify=True)) == len(random_embeddings(seed=1))
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", "info", str(path), "--verify"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "records no checksums" in proc.stdout


# ---------------------------------------------------------------- item 11: special files never block
@pytest.mark.parametrize("name", ["meta.json", "vocab_blob.npy", "vectors.npy", "vocab_counts.npy"])
@pytest.mark.parametrize("mmap", [True, False])
def test_store_file_replaced_by_a_fifo(tmp_path, name, mmap):
    path = random_embeddings().save(tmp_path / "m.dv")
    (path / name).unlink()
    os.mkfifo(path / name)
    with no_hang(), pytest.raises(ValueError, match=f"{name}.*FIFO"):
        Embeddings.load(path, mmap=mmap, verify=True)


def test_foreign_files_from_fifos_and_devices(tmp_path):
    fifo = tmp_path / "v.txt"
    os.mkfifo(fifo)
    with no_hang():
        for binary, no_header in ((False, False), (True, False), (False, True)):
            with pytest.raises(ValueError, match="FIFO"):
                Embeddings.load_word2vec_format(fifo, binary=binary, no_header=no_header)
        with pytest.raises(ValueError, match="character device"):
            Embeddings.load_word2vec_format("/dev/zero", no_header=True)  # GloVe reader: no endless count
        with pytest.raises(ValueError, match="FIFO"):
            dv.Corpus.from_file(fifo, min_count=1)


def test_corpus_and_cooccurrence_files_replaced_by_fifos(tmp_path, corpus, cooc):
    for obj, names, load in ((corpus, ["meta.json", "vocab.txt", "ids.u32", "offsets.u64"], dv.Corpus.load),
                             (cooc, ["meta.json", "vocab.txt", "records.bin"], dv.Cooccurrence.load)):
        for name in names:
            path = obj.save(tmp_path / f"{type(obj).__name__}-{name}")
            (path / name).unlink()
            os.mkfifo(path / name)
            with no_hang(), pytest.raises(ValueError, match=f"{name}.*FIFO"):
                load(path)


def test_cli_info_on_fifos(tmp_path):
    fifo = tmp_path / "v.txt"
    os.mkfifo(fifo)
    store = random_embeddings().save(tmp_path / "m.dv")
    (store / "meta.json").unlink()
    os.mkfifo(store / "meta.json")
    for target in (fifo, store):
        proc = subprocess.run([sys.executable, "-m", "densevec.cli", "info", str(target)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "FIFO" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- the shared readers
def test_read_meta_refuses_what_is_not_the_format(tmp_path):
    p = tmp_path / "meta.json"
    for text, match in (("{not json", "not valid UTF-8 JSON"), ("[1]", "JSON object"),
                        ('{"format": "x", "format_version": 1}', "format is 'x'"),
                        ('{"format": "f", "format_version": 9}', "format_version 9")):
        p.write_text(text)
        with pytest.raises(ValueError, match=match):
            _fs.read_meta(p, "f", (1, 2), "an f")
    p.write_text('{"format": "f", "format_version": 2, "k": 1}')
    assert _fs.read_meta(p, "f", (1, 2), "an f")["k"] == 1
    with open(p, "wb") as f:
        f.truncate(_fs.META_LIMIT + 1)
    with pytest.raises(ValueError, match="larger than 16 MiB"):
        _fs.read_meta(p, "f", (1,), "an f")
    with pytest.raises(ValueError, match="missing"):
        _fs.read_meta(tmp_path / "none.json", "f", (1,), "an f")


def test_vocab_txt_round_trip_and_errors(tmp_path):
    p = tmp_path / "vocab.txt"
    _fs.write_vocab_txt(p, ["a", "b\tc", "日本"], [3, 2, 1])
    words, counts = _fs.read_vocab_txt(p, 3)
    assert words == ["a", "b\tc", "日本"] and counts.tolist() == [3, 2, 1]
    for text, count, match in (("a\t1", None, "final newline"), ("a 1\n", None, "line 1.*word<TAB>count"),
                               ("a\t1\n", 2, "1 lines"), ("a\t-1\n", None, "word<TAB>count")):
        p.write_text(text)
        with pytest.raises(ValueError, match=match):
            _fs.read_vocab_txt(p, count)


def test_sha256_file(tmp_path):
    import hashlib

    p = tmp_path / "x"
    p.write_bytes(b"abc" * 1000000)
    assert _fs.sha256_file(p) == hashlib.sha256(b"abc" * 1000000).hexdigest()


def test_temp_dirs_refuse_foreign_paths_and_clean_dead_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    dead = tmp_path / "densevec-corpus-999999999-abcd1234"
    dead.mkdir()
    keep = tmp_path / "densevec-corpus-notes"
    keep.mkdir()
    d = _fs.temp_dir("corpus")
    assert d.parent == tmp_path and oct(d.stat().st_mode & 0o777) == "0o700"
    assert not dead.exists() and keep.exists()
    with pytest.raises(ValueError):
        _fs.remove_temp_dir(keep)
    _fs.remove_temp_dir(d)
    assert sorted(os.listdir(tmp_path)) == ["densevec-corpus-notes"]


def test_evaluation_files_that_are_fifos(tmp_path):
    from densevec import evaluate

    fifo = tmp_path / "questions.txt"
    os.mkfifo(fifo)
    emb = random_embeddings()
    with no_hang():
        with pytest.raises(ValueError, match="FIFO"):
            evaluate.analogies(emb, fifo)
        with pytest.raises(ValueError, match="FIFO"):
            evaluate.word_pairs(emb, fifo)


def test_model_directories_use_the_same_writer(tmp_path, corpus):
    model = dv.Word2Vec(dim=8, epochs=1, threads=1, seed=1, min_count=1)
    model.fit(corpus, progress=False)
    store = random_embeddings().save(tmp_path / "m.dv")
    v = victim(tmp_path / "victim")
    before = tree(store), tree(v)
    for target in (store, v):
        with pytest.raises(FileExistsError):
            model.save(target, overwrite=True)
    assert (tree(store), tree(v)) == before
    path = model.save(tmp_path / "w.model")
    model.save(path, overwrite=True)
    with pytest.raises(FileExistsError):
        random_embeddings().save(path, overwrite=True)  # a model is not a store
    (path / "input.npy").unlink()
    os.mkfifo(path / "input.npy")
    with no_hang(), pytest.raises(ValueError, match="input.npy.*FIFO"):
        dv.Word2Vec.load(path)
    with pytest.raises(FileExistsError, match="incomplete densevec model"):
        model.save(path, overwrite=True)  # a FIFO where an array should be: not a complete model


@pytest.mark.parametrize("fallback", [False, True])
def test_an_exception_while_replacing_keeps_the_old_store(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(_fs, "_renameat2", False)
    path = _old_store(tmp_path / "m.dv")

    def interrupt(stage):
        if stage == ("after-exchange" if fallback else "before-exchange"):  # fallback: between the renames
            raise KeyboardInterrupt

    monkeypatch.setattr(_fs, "fault", interrupt)
    with pytest.raises(KeyboardInterrupt):
        random_embeddings().save(path, overwrite=True)
    monkeypatch.setattr(_fs, "fault", None)
    assert Embeddings.load(path, verify=True).index_to_word == ["p", "q", "r", "s"]
    assert os.listdir(tmp_path) == ["m.dv"]


def test_cli_convert_refuses_an_existing_output_unless_told(tmp_path):
    store = random_embeddings().save(tmp_path / "m.dv")
    out = tmp_path / "v.txt"
    out.write_text("my notes")

    def convert(*extra):
        return subprocess.run([sys.executable, "-m", "densevec.cli", "convert", str(store), str(out), "--to",
                               "word2vec-txt", "--quiet", *extra], capture_output=True, text=True, timeout=60)

    proc = convert()
    assert proc.returncode == 2 and "--overwrite replaces it" in proc.stderr and out.read_text() == "my notes"
    assert convert("--overwrite").returncode == 0
    assert Embeddings.load_word2vec_format(out).index_to_word == random_embeddings().index_to_word


def test_remove_artefact_removes_only_an_artefact_of_its_kind(tmp_path):
    import json

    import pytest

    from densevec import _fs

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "meta.json").write_text(json.dumps({"format": "densevec-corpus"}))
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(corpus)
    for victim in (user, link):
        with pytest.raises(ValueError, match="not removing"):
            _fs.remove_artefact(victim, "corpus")
    with pytest.raises(ValueError, match="not removing"):
        _fs.remove_artefact(corpus, "store")
    assert (user / "notes.txt").read_text() == "keep" and corpus.is_dir()
    _fs.remove_artefact(corpus, "corpus")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "mine"]
