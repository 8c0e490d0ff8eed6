"""plot.words renders a PNG (skipped without matplotlib); the projection needs no matplotlib."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

from densevec import plot
from densevec.vectors import Embeddings


def small_space():
    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "paris", "france"]
    return Embeddings(rng.standard_normal((6, 10)).astype(np.float32), words)


def test_project_is_2d_and_centred():
    emb = small_space()
    xy = plot.project(emb, ["king", "queen", "man"])
    assert xy.shape == (3, 2)
    np.testing.assert_allclose(xy.mean(axis=0), 0, atol=1e-9)
    assert plot.project(emb, ["king"]).shape == (1, 2)
    with pytest.raises(KeyError, match="nope"):
        plot.project(emb, ["king", "nope"])
    with pytest.raises(ValueError, match="method"):
        plot.project(emb, ["king"], method="tsne")


def test_missing_matplotlib_message(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "densevec\[plot\]"'):
        plot.words(small_space(), ["king", "queen"])


def test_renders_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "words.png"
    ax = plot.words(small_space(), ["paris", "france"], analogy=("man", "woman", "king", "queen"), path=out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000
    labels = {t.get_text() for t in ax.texts}
    assert {"paris", "france", "man", "woman", "king", "queen"} <= labels


def test_bad_analogy():
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="four words"):
        plot.words(small_space(), ["king"], analogy=("man", "woman", "king"))
