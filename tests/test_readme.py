"""README snippets that need no data files run as written."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
SELF_CONTAINED = [b for b in BLOCKS if "Corpus.from_sentences(sents" in b]


@pytest.mark.parametrize("code", SELF_CONTAINED)
def test_readme_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {})


def test_snippets_were_found():
    assert SELF_CONTAINED
