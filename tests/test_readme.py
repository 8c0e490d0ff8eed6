"""Every README snippet runs as written: all ```python blocks and the ```sh command blocks.

The snippets name data files (``text.txt``, ``questions-words.txt``,
``wordsim353.tsv``, ``glove.6B.100d.txt``); the test writes small ones under
those names in a temporary directory and runs each snippet there. Set-up blocks
(``pip install``, virtual environments, the sanitizer build) are exempt: they
install things. PyTorch is optional: when it is not installed, the tour runs
against a stand-in ``torch`` that checks what the recipe hands it (a writable
float32 array, the only thing ``torch.from_numpy`` turns into real weights).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from densevec import datasets
from densevec.vectors import Embeddings

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", TEXT, re.S)
SETUP = ("pip install", "python3 -m venv", "LD_PRELOAD")  # installs things: exempt
RUNNABLE_SH = [b for b in SH_BLOCKS if not any(marker in b for marker in SETUP)]


def _block_id(code: str) -> str:
    return code.strip().splitlines()[0][:40]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The files the snippets name, small: the world corpus and analogies, a pairs file, a GloVe file."""
    root = tmp_path_factory.mktemp("readme-data")
    datasets.write_world_corpus(root / "text.txt", n_sentences=2000, seed=1)
    datasets.write_world_analogies(root / "questions-words.txt")
    (root / "wordsim353.tsv").write_text(
        "Word 1\tWord 2\tHuman (mean)\nking\tqueen\t8.5\nparis\tfrance\t9.0\nman\twoman\t8.3\n"
        "king\tdogs\t1.2\nparis\twalked\t0.8\n", encoding="utf-8")
    words = (root / "text.txt").read_text(encoding="utf-8").split()
    vocab = list(dict.fromkeys(words))[:300]
    rng = np.random.default_rng(0)
    Embeddings(rng.standard_normal((len(vocab), 100)).astype(np.float32), vocab).save_word2vec_format(
        root / "glove.6B.100d.txt", write_header=False)
    return root


@pytest.fixture()
def workdir(data_dir, tmp_path, monkeypatch) -> Path:
    for f in data_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DENSEVEC_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _torch_stand_in() -> types.ModuleType:
    """A minimal ``torch`` for the recipe's two calls, checking their inputs as torch would need them."""
    torch = types.ModuleType("torch")

    def from_numpy(a):
        assert isinstance(a, np.ndarray), type(a)
        assert a.flags.writeable, "torch.from_numpy warns on a read-only array"
        return a

    class Embedding:
        def __init__(self, weight):
            self.weight = weight

        @classmethod
        def from_pretrained(cls, weight):
            assert weight.dtype == np.float32, f"weights must be the float32 values, got {weight.dtype}"
            return cls(weight)

    torch.from_numpy = from_numpy  # type: ignore[attr-defined]
    torch.nn = types.SimpleNamespace(Embedding=Embedding)  # type: ignore[attr-defined]
    return torch


@pytest.mark.parametrize("code", PYTHON_BLOCKS, ids=_block_id)
def test_python_snippet_runs(code, workdir, monkeypatch):
    if ".to_scipy()" in code:  # an optional extra (scipy), absent from a bare test install
        pytest.importorskip("scipy")
    if "dask" in code:  # the densevec[dask] extra
        pytest.importorskip("dask.distributed")
    if "import torch" in code:
        try:
            import torch  # noqa: F401
        except ImportError:
            monkeypatch.setitem(sys.modules, "torch", _torch_stand_in())
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    if "other_emb" in namespace:  # the tour's claims about embedding spaces
        emb, glove, back = namespace["emb"], namespace["glove"], namespace["back"]
        assert back.meta["space"] == emb.meta["space"]
        emb.search(back, k=3)
        with pytest.raises(ValueError, match="different embedding spaces"):
            emb.search(glove, k=10)
    if "layer" in namespace:  # the PyTorch recipe: the layer holds the real vectors
        emb = namespace["emb"]
        np.testing.assert_array_equal(np.asarray(namespace["layer"].weight), np.asarray(emb[emb.index_to_word]))


def _shell_env(tmp_path: Path) -> tuple[dict, str]:
    """PATH with the interpreter's scripts directory; a ``densevec`` function when no script is installed."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               DENSEVEC_CACHE=str(tmp_path / "cache"))
    prelude = "set -euo pipefail\n"
    if shutil.which("densevec", path=env["PATH"]) is None:
        prelude += f'densevec() {{ "{sys.executable}" -m densevec.cli "$@"; }}\n'
    return env, prelude


@pytest.mark.parametrize("block", RUNNABLE_SH, ids=_block_id)
def test_shell_snippet_runs(block, workdir):
    env, prelude = _shell_env(workdir)
    for line in block.strip().splitlines():
        proc = subprocess.run(["bash", "-c", prelude + line], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, (line, proc.stdout[-2000:], proc.stderr[-2000:])


def test_snippets_were_found():
    assert len(PYTHON_BLOCKS) >= 2 and any("A tour" in TEXT and "query_matrix" in b for b in PYTHON_BLOCKS)
    assert RUNNABLE_SH and any("densevec train" in b for b in RUNNABLE_SH)


def test_command_list_names_every_subcommand():
    from densevec import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    section = TEXT[TEXT.index("### Command line"):]
    section = section[:section.index("\n### ", 1)]
    missing = [name for name in sub.choices if f"`{name}`" not in section]
    assert not missing, f"README's command list omits {missing}"
