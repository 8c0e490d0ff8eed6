"""Atomic writes (placeholder until the shared writer lands: model directories only)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

_KIND_FORMATS = {"model": "densevec-model"}


def _is_kind(path: Path, kind: str) -> bool:
    try:
        with open(path / "meta.json", encoding="utf-8") as f:
            return json.load(f).get("format") == _KIND_FORMATS[kind]
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def staged_dir(target: Path, kind: str, overwrite: bool = True) -> Iterator[Path]:
    target = Path(target)
    if os.path.lexists(target) and not (overwrite and target.is_dir() and not target.is_symlink()
                                        and _is_kind(target, kind)):
        raise FileExistsError(f"{target} exists and is not a densevec {kind} that may be "
                              "overwritten; refusing to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if os.path.lexists(target):
            old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
