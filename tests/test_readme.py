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


GENSIM_SECTION = re.search(r"\n## Coming from gensim / fastText\n(.*?)\n## ", README.read_text(encoding="utf-8"), re.S)
GENSIM_BLOCKS = re.findall(r"```python\n(.*?)```", GENSIM_SECTION.group(1), re.S) if GENSIM_SECTION else []


@pytest.mark.parametrize("code", GENSIM_BLOCKS)
def test_coming_from_gensim_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {})


def test_coming_from_gensim_section_has_snippets():
    assert GENSIM_SECTION and GENSIM_BLOCKS
