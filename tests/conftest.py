import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Encoded corpora of the tests go to a per-test cache, never the user's."""
    monkeypatch.setenv("DENSEVEC_CACHE", str(tmp_path / "cache"))
