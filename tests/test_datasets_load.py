"""datasets.load: local paths, names, checksums, offline errors -- all without the network."""
from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

from densevec import datasets


def fake_dataset(tmp_path, monkeypatch, payload=b"hello world\n", sha=None, name="tiny", zipped=False):
    src = tmp_path / "server" / ("tiny.zip" if zipped else "tiny.txt")
    src.parent.mkdir(exist_ok=True)
    member_sha = None
    if zipped:
        with zipfile.ZipFile(src, "w") as z:
            z.writestr("tiny", payload)
        member_sha = hashlib.sha256(payload).hexdigest()
    else:
        src.write_bytes(payload)
    ds = datasets.Dataset(
        name=name, url=src.as_uri(), filename="tiny" if zipped else "tiny.txt",
        sha256=sha or hashlib.sha256(src.read_bytes()).hexdigest(), size=src.stat().st_size,
        description="test", member="tiny" if zipped else None, member_sha256=member_sha,
        member_size=len(payload) if zipped else None,
    )
    monkeypatch.setitem(datasets.REGISTRY, name, ds)
    return ds, src


def test_local_path_returned_as_is(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text("a b c\n", encoding="utf-8")
    assert datasets.load(f) == f
    assert datasets.load(str(f)) == f


@pytest.mark.parametrize("missing", ["nope.txt", os.path.join("dir", "file"), "./x"])
def test_missing_path(tmp_path, missing):
    with pytest.raises(FileNotFoundError, match="no such file"):
        datasets.load(str(tmp_path / missing) if os.sep in missing else missing)


def test_missing_path_object(tmp_path):
    with pytest.raises(FileNotFoundError):
        datasets.load(tmp_path / "nothing")


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="text8") as info:
        datasets.load("text9")
    assert "questions-words" in str(info.value) and "wordsim353" in str(info.value)


def test_registry_entries_are_complete():
    for name, ds in datasets.REGISTRY.items():
        assert ds.name == name and ds.url.startswith(("http://", "https://"))
        assert len(ds.sha256) == 64 and int(ds.sha256, 16) >= 0


def test_download_verify_and_cache(tmp_path, monkeypatch):
    ds, src = fake_dataset(tmp_path, monkeypatch)
    path = datasets.load("tiny", progress=False)
    assert path == tmp_path / "cache" / "datasets" / "tiny.txt"  # DENSEVEC_CACHE from conftest
    assert path.read_bytes() == b"hello world\n"
    src.unlink()  # cached now: no second download
    assert datasets.load("tiny", progress=False) == path
    assert [p.name for p in path.parent.iterdir()] == ["tiny.txt"]


def test_cache_dir_argument_and_zip(tmp_path, monkeypatch):
    fake_dataset(tmp_path, monkeypatch, payload=b"one two three\n" * 100, zipped=True)
    path = datasets.load("tiny", cache_dir=tmp_path / "mine", progress=False)
    assert path == tmp_path / "mine" / "tiny" and path.read_bytes() == b"one two three\n" * 100
    assert [p.name for p in path.parent.iterdir()] == ["tiny"]  # archive removed


def test_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    fake_dataset(tmp_path, monkeypatch, sha="0" * 64)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        datasets.load("tiny", progress=False)
    root = tmp_path / "cache" / "datasets"
    assert not root.exists() or list(root.iterdir()) == []


def test_offline_error_names_url_and_path(tmp_path, monkeypatch):
    ds, src = fake_dataset(tmp_path, monkeypatch)
    src.unlink()  # the "server" is gone: urlopen fails as it does without network
    with pytest.raises(datasets.DownloadError) as info:
        datasets.load("tiny", progress=False)
    message = str(info.value)
    target = tmp_path / "cache" / "datasets" / "tiny.txt"
    assert ds.url in message and str(target) in message
    assert isinstance(info.value, OSError)


def test_offline_error_from_monkeypatched_urlopen(tmp_path, monkeypatch):
    import urllib.error

    ds, _ = fake_dataset(tmp_path, monkeypatch)

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", no_network)
    with pytest.raises(datasets.DownloadError, match="name resolution"):
        datasets.load("tiny", progress=False)


def test_file_placed_by_hand_is_verified(tmp_path, monkeypatch):
    ds, src = fake_dataset(tmp_path, monkeypatch, payload=b"abc\n" * 10, zipped=True)
    root = tmp_path / "cache" / "datasets"
    root.mkdir(parents=True)
    (root / ds.download_name).write_bytes(src.read_bytes())
    src.unlink()
    assert datasets.load("tiny", progress=False).read_bytes() == b"abc\n" * 10
    (root / "tiny").unlink()
    (root / ds.download_name).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="placed in the cache"):
        datasets.load("tiny", progress=False)
