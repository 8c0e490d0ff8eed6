"""The corpus cache under concurrency and attack, and leftovers of temporary work (issue 12, items 6-8)."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import densevec as dv
from densevec import datasets

TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 50


def _text(tmp_path: Path, body: str = TEXT, name: str = "c.txt") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def _entries(root: Path) -> list[str]:
    return sorted(os.listdir(root / "corpora"))


# ---------------------------------------------------------------- item 7: parallel jobs, one empty cache
WORKER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from densevec import _fs
    import densevec as dv
    text, ready, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

    def barrier(stage):
        if stage != "before-install":
            return
        (ready / str(os.getpid())).touch()  # every process has built its entry: now all install at once
        deadline = time.time() + 60
        while len(os.listdir(ready)) < n and time.time() < deadline:
            time.sleep(0.005)

    _fs.fault = barrier
    c = dv.Corpus.from_file(text, min_count=1, threads=1)
    print(json.dumps({"path": str(c.path), "from_cache": c.from_cache, "words": c.vocab.index_to_word,
                      "ids": c.ids.tolist()}))
""")


def test_parallel_encodes_of_one_file_share_the_first_complete_entry(tmp_path):
    text = _text(tmp_path)
    ready = tmp_path / "ready"
    ready.mkdir()
    n = 6
    env = dict(os.environ, DENSEVEC_CACHE=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(text), str(ready), str(n)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert len(os.listdir(ready)) == n  # all of them raced at the installation
    assert len({r["path"] for r in results}) == 1
    assert sorted(r["from_cache"] for r in results) == [False] + [True] * (n - 1)  # one installed, the rest used it
    assert all(r["words"] == results[0]["words"] and r["ids"] == results[0]["ids"] for r in results)
    assert len(_entries(tmp_path / "cache")) == 1  # no temporary left
    again = dv.Corpus.from_file(text, min_count=1, cache=tmp_path / "cache" / "corpora")
    assert again.from_cache and str(again.path) == results[0]["path"]


# ---------------------------------------------------------------- item 8: private, tied to the content
def test_cache_is_private_and_records_no_path(tmp_path):
    text = _text(tmp_path)
    os.chmod(text, 0o600)
    c = dv.Corpus.from_file(text, min_count=1)
    root = tmp_path / "cache"
    assert _mode(root) == 0o700 and _mode(root / "corpora") == 0o700 and _mode(c.path) == 0o700
    for f in c.path.iterdir():
        assert _mode(f) == 0o600, f
    meta = (c.path / "meta.json").read_text()
    assert str(tmp_path) not in meta and "c.txt" not in meta
    assert json.loads(meta)["sources"][0]["path_sha256"] == hashlib.sha256(os.fsencode(str(text))).hexdigest()


def test_entries_of_older_versions_are_made_private_on_use(tmp_path):
    text = _text(tmp_path)
    c = dv.Corpus.from_file(text, min_count=1)
    os.chmod(c.path, 0o755)
    os.chmod(c.path.parent, 0o755)
    for f in c.path.iterdir():
        os.chmod(f, 0o644)
    again = dv.Corpus.from_file(text, min_count=1)
    assert again.from_cache and _mode(again.path) == 0o700 and _mode(again.path.parent) == 0o700
    assert all(_mode(f) == 0o600 for f in again.path.iterdir())


def _plant(tmp_path: Path, text: Path) -> Path:
    """An attacker's encoding of other text, put in the slot of `text`'s entry."""
    c = dv.Corpus.from_file(text, min_count=1)
    slot = c.path
    evil = dv.Corpus.from_sentences(["buy evilcoin now"] * 3, min_count=1)
    del c
    for name in ("vocab.txt", "ids.u32", "offsets.u64"):
        (slot / name).write_bytes((evil.path / name).read_bytes())
    meta = json.loads((slot / "meta.json").read_text())
    evil_meta = json.loads((evil.path / "meta.json").read_text())
    for key in ("n_tokens", "n_sentences", "vocab_size", "raw_tokens", "vocab_sha256", "stats"):
        meta[key] = evil_meta[key]
    (slot / "meta.json").write_text(json.dumps(meta))
    assert dv.Corpus.load(slot).vocab.index_to_word == ["buy", "evilcoin", "now"]  # a valid, matching entry
    return slot


def test_an_entry_writable_by_others_is_ignored(tmp_path):
    text = _text(tmp_path)
    slot = _plant(tmp_path, text)
    os.chmod(slot, 0o777)
    with pytest.warns(RuntimeWarning, match="not a private directory"):
        c = dv.Corpus.from_file(text, min_count=1)
    assert not c.from_cache and "cat" in c.vocab and "evilcoin" not in c.vocab
    assert (slot / "meta.json").exists()  # not ours to trust, not ours to delete


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_an_entry_owned_by_another_user_is_ignored(tmp_path):
    text = _text(tmp_path)
    slot = _plant(tmp_path, text)
    for p in [slot, *slot.iterdir()]:
        os.chown(p, 54321, 54321)
    with pytest.warns(RuntimeWarning, match="not a private directory"):
        c = dv.Corpus.from_file(text, min_count=1)
    assert not c.from_cache and "evilcoin" not in c.vocab


def test_control_a_private_planted_entry_would_be_used(tmp_path):
    """Negative control: the same planted entry, private and ours, is used; so the two tests above
    fail if the ownership and permission checks go."""
    text = _text(tmp_path)
    _plant(tmp_path, text)
    assert dv.Corpus.from_file(text, min_count=1).vocab.index_to_word == ["buy", "evilcoin", "now"]


def test_same_size_and_mtime_but_new_content_is_not_served_from_the_cache(tmp_path):
    text = _text(tmp_path)
    c1 = dv.Corpus.from_file(text, min_count=1)
    st = os.stat(text)
    text.write_text(TEXT.replace("cat", "cow"))  # same size
    os.utime(text, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    assert os.stat(text).st_size == st.st_size and os.stat(text).st_mtime_ns == st.st_mtime_ns
    c2 = dv.Corpus.from_file(text, min_count=1)
    assert not c2.from_cache and "cow" in c2.vocab and "cat" not in c2.vocab
    assert c1.fingerprint != c2.fingerprint


def test_datasets_load_checks_the_sha256_of_a_cached_file(tmp_path, monkeypatch):
    from test_datasets_load import fake_dataset

    fake_dataset(tmp_path, monkeypatch)
    path = datasets.load("tiny", progress=False)
    path.write_bytes(b"hello WORLD\n")  # same size, other content
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        datasets.load("tiny", progress=False)


# ---------------------------------------------------------------- item 6: leftovers of temporary work
LEAVE = textwrap.dedent("""
    import os, sys
    import densevec as dv
    c = dv.Corpus.from_file(sys.argv[1], min_count=1, cache=False)
    print(c.path.parent)
    os._exit(0)  # killed: no finaliser runs
""")


def test_uncached_encodes_of_killed_processes_are_removed_by_the_next_one(tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)
    text = _text(tmp_path)
    out = subprocess.run([sys.executable, "-c", LEAVE, str(text)], capture_output=True, text=True,
                         env=dict(os.environ), timeout=60, check=True).stdout.strip()
    left = Path(out)
    assert left.parent == tmp and left.exists()  # what a killed process leaves
    c = dv.Corpus.from_file(text, min_count=1, cache=False)
    assert not left.exists() and c.path.exists()
    parent = c.path.parent
    del c
    assert not parent.exists() and os.listdir(tmp) == []


def test_demo_leaves_no_temporary_directory_and_can_run_twice(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), DENSEVEC_CACHE=str(tmp_path / "cache"))
    out = tmp_path / "demo.dv"
    for _ in range(2):  # the demo replaces its own output
        proc = subprocess.run([sys.executable, "-m", "densevec.cli", "demo", "--sentences", "300", "--epochs", "1",
                               "--dim", "8", "--threads", "1", "--quiet", "--out", str(out)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert os.listdir(tmp) == []
    assert len(dv.Embeddings.load(out, verify=True)) > 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    proc = subprocess.run([sys.executable, "-m", "densevec.cli", "demo", "--sentences", "300", "--quiet",
                           "--out", str(victim)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "not a densevec store" in proc.stderr
    assert os.listdir(victim) == ["keep.txt"] and os.listdir(tmp) == []


def test_cli_train_refuses_an_existing_output_before_training(tmp_path):
    text = _text(tmp_path)
    out = dv.Embeddings(np.ones((2, 3), np.float32), ["p", "q"]).save(tmp_path / "m.dv")
    env = dict(os.environ, DENSEVEC_CACHE=str(tmp_path / "cache"))
    args = [sys.executable, "-m", "densevec.cli", "train", str(text), "-o", str(out), "--dim", "4", "--epochs", "1",
            "--min-count", "1", "--threads", "1", "--quiet"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert not (tmp_path / "cache").exists()  # refused before encoding anything
    assert dv.Embeddings.load(out).index_to_word == ["p", "q"]
    proc = subprocess.run(args + ["--overwrite"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "cat" in dv.Embeddings.load(out, verify=True)


KILLED_ENCODE = textwrap.dedent("""
    import os, sys
    from densevec import _fs
    import densevec as dv
    _fs.fault = lambda stage: os._exit(9) if stage == "files-written" else None
    dv.Corpus.from_file(sys.argv[1], min_count=1)
""")


def test_killed_encodes_leave_nothing_after_the_next_cache_use(tmp_path):
    env = dict(os.environ, DENSEVEC_CACHE=str(tmp_path / "cache"))
    texts = [_text(tmp_path, TEXT + f"extra{i}\n", name=f"t{i}.txt") for i in range(2)]
    seen: set[str] = set()
    for t in texts:
        proc = subprocess.run([sys.executable, "-c", KILLED_ENCODE, str(t)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 9, proc.stderr
        left = _entries(tmp_path / "cache")
        # what this kill left; the second run removed what the first one left (another entry's name)
        assert len(left) == 1 and ".tmp-" in left[0] and left[0] not in seen
        seen.add(left[0])
    other = _text(tmp_path, "x y z\n" * 5, name="other.txt")
    dv.Corpus.from_file(other, min_count=1)  # any later use of the cache removes them
    assert len(_entries(tmp_path / "cache")) == 1 and ".tmp-" not in _entries(tmp_path / "cache")[0]
