"""The identity of an embedding space (``meta["space"]``) and its sidecar file.

Vectors can be compared, searched against each other or mixed only when they
live in the same *trained space*. Every densevec training run assigns one:

``meta["space"] = {"id": "<32 hex digits>", "origin": "...", "parent": "<id>"}``

* ``origin`` says how the space was made: ``"training"`` (a fresh run: a new
  random id, so two runs are two spaces even on the same corpus and seed),
  ``"continued training"`` (``train`` called again on a trained model,
  after ``build_vocab(update=True)`` or not: the vectors moved, so a new id
  whose ``parent`` is the id of the vectors it started from), ``"pca"`` and
  ``"center"`` (``densevec.reduce``: a new space linked to its ``parent``),
  ``"file"`` (vectors read from a word2vec / GloVe file densevec did not
  write: an id derived from the file's content, so that reading the same file
  twice gives the same space);
* ``parent`` is present when the space derives from another one.

What keeps the id: :meth:`Embeddings.normalize`, :meth:`Embeddings.quantize`,
stores (:meth:`Embeddings.save` / :meth:`Embeddings.load`), and a round trip
through the word2vec / GloVe text or binary formats, by a *sidecar*:
:meth:`Embeddings.save_word2vec_format` writes ``PATH.densevec.json`` beside
``PATH`` with the metadata and the SHA-256 of the file it describes;
:meth:`Embeddings.load_word2vec_format` uses it when the file still has that
checksum (a sidecar that no longer matches is ignored, with a warning).
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from densevec import _fs

SIDECAR_SUFFIX = ".densevec.json"
SIDECAR_FORMAT = "densevec-space"
SIDECAR_VERSION = 1
_FILE_META_DROP = ("dtype", "quantization")  # a vector file always holds float32 rows


def new_space(origin: str, parent: Optional[str] = None) -> dict:
    """A fresh space: a random 128-bit id, `origin`, and `parent` when given."""
    space = {"id": uuid.uuid4().hex, "origin": origin}
    if parent:
        space["parent"] = parent
    return space


def derived_space(meta: dict, origin: str) -> dict:
    """A new space derived from the one `meta` records (``parent`` when it has one)."""
    return new_space(origin, space_id(meta))


def space_id(meta: dict) -> Optional[str]:
    """The id of the space `meta` records, or None (no identity, or a malformed entry)."""
    space = meta.get("space")
    if isinstance(space, dict) and isinstance(space.get("id"), str) and space["id"]:
        return space["id"]
    return None


def parent_id(meta: dict) -> Optional[str]:
    """The id of the parent space `meta` records, or None."""
    space = meta.get("space")
    if isinstance(space, dict) and isinstance(space.get("parent"), str):
        return space["parent"]
    return None


def content_space(words: Sequence[str], vectors: np.ndarray) -> dict:
    """The space of vectors read from a foreign file: an id derived from the words and the float32 rows."""
    h = hashlib.sha256()
    h.update("\n".join(words).encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
    return {"id": "content-" + h.hexdigest()[:32], "origin": "file"}


# ======================================================================= sidecar
def sidecar_path(path: Path) -> Path:
    """``PATH.densevec.json``: where the metadata of the vector file `path` is kept."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _is_our_sidecar(side: Path) -> bool:
    try:
        _fs.read_meta(side, SIDECAR_FORMAT, (SIDECAR_VERSION,), "a densevec sidecar")
        return True
    except (OSError, ValueError):
        return False


def write_sidecar(path: Path, meta: dict) -> Optional[Path]:
    """Write ``PATH.densevec.json`` for the vector file just written at `path` (atomically).

    Written only when `meta` records a space; otherwise a stale densevec sidecar
    at that name (which would describe an older file) is removed. Anything at
    that name that is not a densevec sidecar is left untouched (with a
    ``UserWarning``: no sidecar then). Returns the sidecar's path, or None.
    """
    side = sidecar_path(path)
    ours = os.path.isfile(side) and not os.path.islink(side) and _is_our_sidecar(side)
    if space_id(meta) is None:
        if ours:
            os.unlink(side)
        return None
    if os.path.lexists(side) and not ours:
        warnings.warn(f"not writing the sidecar {side}: something that is not a densevec sidecar is there "
                      f"(left untouched); {path.name} will read back as foreign vectors", UserWarning, stacklevel=3)
        return None
    doc = {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "file": path.name,
        "size": os.path.getsize(path),
        "sha256": _fs.sha256_file(path),
        "meta": {k: v for k, v in meta.items() if k not in _FILE_META_DROP},
    }
    text = json.dumps(doc, indent=1, allow_nan=False)
    with _fs.atomic_file(side) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return side


def read_sidecar(path: Path) -> Optional[dict]:
    """The metadata the sidecar of `path` records, when the sidecar exists and describes this file.

    A sidecar that is unreadable, not densevec's, or records another size or
    checksum (the file changed since it was written) is ignored with a
    ``UserWarning`` naming it; the vectors then count as foreign.
    """
    side = sidecar_path(path)
    if not os.path.lexists(side):
        return None
    try:
        doc = _fs.read_meta(side, SIDECAR_FORMAT, (SIDECAR_VERSION,), "a densevec sidecar")
        meta = doc["meta"]
        if not isinstance(meta, dict):
            raise ValueError(f"{side}: 'meta' is not an object")
        if doc.get("size") != os.path.getsize(path) or doc.get("sha256") != _fs.sha256_file(path):
            raise ValueError(f"{side}: describes another version of {path.name} (size or SHA-256 differ)")
    except (OSError, ValueError, KeyError) as e:
        warnings.warn(f"ignoring the sidecar {side}: {e}", UserWarning, stacklevel=3)
        return None
    return dict(meta)


def file_meta(path: Path, words: Sequence[str], vectors: np.ndarray) -> dict:
    """The metadata of vectors just read from `path`: its sidecar's, else a content-derived foreign space."""
    meta = read_sidecar(path)
    if meta is not None and space_id(meta) is not None:
        return meta
    return {"space": content_space(words, vectors)}
