"""The one place where densevec touches the filesystem to write, and the shared readers.

Every file and directory densevec writes goes through this module:

* :func:`atomic_file` -- a single file: written under a temporary name in the
  destination directory, flushed and fsynced, then renamed into place, so the
  final name holds either the old file or the complete new one;
* :func:`staged_dir` -- a directory *artefact* (a store, an encoded corpus, a
  co-occurrence matrix, later a trainable model): written under a temporary
  name beside the target, its files fsynced, then installed. An existing path
  is replaced only when it is a *complete* artefact of the same kind (its
  ``meta.json`` names the kind's format and the kind's own check passes) and
  the caller allows it; anything else raises ``FileExistsError`` and is left
  untouched. densevec never deletes what it did not write.
* :func:`temp_dir` / :func:`remove_temp_dir` -- throwaway working directories
  under the user's temporary directory (``TMPDIR``), named with the owner's pid
  so that the leftovers of a killed process are removed by the next one.

Replacing a directory is atomic where the system allows it: on Linux the new
directory and the old one are swapped with ``renameat2(RENAME_EXCHANGE)``, so
at every instant the path holds the old or the new complete artefact; the old
one, now under the temporary name, is then removed. Elsewhere (or on a
filesystem without RENAME_EXCHANGE) the old directory is first renamed to
``.NAME.old-<pid>-<hex>`` and the new one renamed into place; a process killed
between the two renames leaves no artefact at the path for that instant, and
the next save to that path (or :func:`clean_stale`) renames the old one back.

Temporary names are ``.NAME.tmp-<pid>-<hex>`` (and ``.NAME.old-<pid>-<hex>``)
in the target's directory. Before each write, leftovers of *dead* processes
for the same target (owned by the current user) are removed.

Kinds of artefacts
------------------
A kind is registered once, by the module that writes it, with
:func:`register_kind` (name, the ``format`` value of its ``meta.json``, and a
check that raises ``ValueError``/``OSError`` unless a directory holds every
file the kind needs with plausible sizes). Registered today: ``"store"``
(``densevec._store_format``), ``"corpus"`` (``densevec.corpus``) and
``"cooccurrence"`` (``densevec.glove``). A new kind, e.g. ``"model"`` for
trainable model directories, registers itself the same way in its module::

    _fs.register_kind("model", "densevec-model", _check_complete_model)

and writes with ``with _fs.staged_dir(path, "model", overwrite=overwrite) as tmp: ...``.

Fault injection
---------------
:data:`fault` may be set (by tests) to a callable taking a stage name; it is
called at ``"files-written"``, ``"before-install"``, ``"before-exchange"``,
``"after-exchange"``, ``"before-rename"`` and ``"after-install"``, so a test
can kill a process (``os._exit``) at an exact point of an installation.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

META_LIMIT = 1 << 24
"""Largest ``meta.json`` densevec reads or writes (16 MiB)."""

fault: Optional[Callable[[str], None]] = None
"""Test hook: called with the name of each installation stage (see the module docstring)."""


def _stage(name: str) -> None:
    if fault is not None:
        fault(name)


# ================================================================ reading
def check_regular_file(path: PathLike, what: str = "file", error: type[Exception] = ValueError) -> os.stat_result:
    """``os.stat`` of `path` when it is a regular file (symbolic links followed).

    A FIFO, a device, a socket or a directory raises `error` naming the path,
    instead of a read that would block forever or never end. A missing path
    raises ``FileNotFoundError``.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{os.fspath(path)}: not a regular file ({_file_type(st.st_mode)}); expected {what}")
    return st


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def open_regular(path: PathLike, what: str = "file", error: type[Exception] = ValueError):
    """`path` opened for binary reading, refusing anything but a regular file.

    The file is checked with ``stat`` first (nothing else is opened), then
    opened with ``O_NONBLOCK`` and checked again with ``fstat`` (so a file
    swapped for a FIFO in between cannot block), then switched back to
    blocking reads. Returns a buffered binary file object.
    """
    check_regular_file(path, what, error)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{os.fspath(path)}: not a regular file ({_file_type(st.st_mode)}); expected {what}")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: PathLike) -> str:
    """Hex SHA-256 of the regular file `path` (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def read_meta(
    path: PathLike, fmt: str, versions: Sequence[int], what: str, error: type[Exception] = ValueError,
) -> dict:
    """The JSON object of the ``meta.json`` file `path`, with its format name and version checked.

    Raises `error` naming the file when it is missing, not a regular file,
    larger than 16 MiB, not UTF-8 JSON, not an object, of another ``format``
    than `fmt`, or of a ``format_version`` not in `versions`.
    """
    path = Path(path)
    try:
        with open_regular(path, "a meta.json file", error) as f:
            data = f.read(META_LIMIT + 1)
    except FileNotFoundError:
        raise error(f"{path}: missing; not {what}") from None
    except OSError as e:
        raise error(f"{path}: unreadable: {e}") from None
    if len(data) > META_LIMIT:
        raise error(f"{path}: larger than {META_LIMIT >> 20} MiB; not {what}")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise error(f"{path}: unreadable: not valid UTF-8 JSON: {type(e).__name__}: {e}") from None
    if not isinstance(doc, dict):
        raise error(f"{path}: expected a JSON object; not {what}")
    if doc.get("format") != fmt:
        raise error(f"{path}: format is {doc.get('format')!r}, expected {fmt!r}; not {what}")
    version = doc.get("format_version")
    if type(version) is not int or version not in versions:
        raise error(f"{path}: unsupported format_version {version!r} (this densevec reads "
                    f"{', '.join(map(str, versions))}; a newer one wrote it?)")
    return doc


_COUNT_RE = re.compile(r"[0-9]{1,18}")


def read_vocab_txt(path: PathLike, count: Optional[int] = None, error: type[Exception] = ValueError,
                   sha256: Optional[str] = None) -> tuple[list[str], np.ndarray]:
    """Words and int64 counts of a ``vocab.txt`` file: one ``word<TAB>count`` per line.

    A word may itself contain tabs (the count follows the last one). Every
    line must end with a newline; with `count`, the file must hold exactly
    that many lines; with `sha256`, the file's SHA-256 must be that (as its
    ``meta.json`` records). Problems raise `error` naming the file and the line.
    """
    path = Path(path)
    try:
        with open_regular(path, "a vocab.txt file", error) as f:
            data = f.read()
    except FileNotFoundError:
        raise error(f"{path}: missing") from None
    except OSError as e:
        raise error(f"{path}: unreadable: {e}") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise error(f"{path}: checksum differs from meta.json (modified or truncated)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path}: not valid UTF-8 at byte {e.start}") from None
    lines = text.split("\n")
    if lines[-1] != "":
        raise error(f"{path}: line {len(lines)}: missing final newline (truncated?)")
    lines.pop()
    if count is not None and len(lines) != count:
        raise error(f"{path}: {len(lines)} lines, meta.json says count={count}")
    words: list[str] = []
    counts = np.empty(len(lines), dtype=np.int64)
    for i, line in enumerate(lines):
        word, tab, c = line.rpartition("\t")
        if not tab or not word or not _COUNT_RE.fullmatch(c):
            raise error(f"{path}: line {i + 1}: expected 'word<TAB>count', got {line[:80]!r}")
        words.append(word)
        counts[i] = int(c)
    return words, counts


def write_vocab_txt(path: PathLike, words: Sequence[str], counts: Sequence[int]) -> None:
    """Write ``word<TAB>count`` lines (read back by :func:`read_vocab_txt`)."""
    text = "".join([f"{w}\t{int(c)}\n" for w, c in zip(words, counts)])
    Path(path).write_text(text, encoding="utf-8", newline="\n")


# ================================================================ kinds of artefacts
@dataclass(frozen=True)
class Kind:
    """A kind of directory artefact: its name, its ``meta.json`` format and its completeness check."""

    name: str
    format: str
    check: Callable[[Path], None]


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, fmt: str, check: Callable[[Path], None]) -> None:
    """Declare a kind of artefact for :func:`staged_dir` (see the module docstring).

    `check(path)` must raise ``ValueError`` or ``OSError`` unless the directory
    `path` holds a complete artefact: every file the kind needs, with sizes
    that agree with its ``meta.json``. It should be cheap (no O(n) scans).
    """
    _KINDS[name] = Kind(name, fmt, check)


def _kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown artefact kind {name!r}; known: {', '.join(sorted(_KINDS))}") from None


def claims_kind(path: PathLike, kind: str) -> bool:
    """True when the real directory `path` has a ``meta.json`` naming `kind`'s format (complete or not)."""
    p = Path(path)
    k = _kind(kind)
    try:
        if p.is_symlink() or not p.is_dir():
            return False
        with open_regular(p / "meta.json") as f:
            doc = json.loads(f.read(META_LIMIT).decode("utf-8"))
        return isinstance(doc, dict) and doc.get("format") == k.format
    except (OSError, ValueError, RecursionError):
        return False


def is_complete(path: PathLike, kind: str) -> bool:
    """True when `path` is a real directory holding a complete artefact of `kind`."""
    if not claims_kind(path, kind):
        return False
    try:
        _kind(kind).check(Path(path))
    except Exception:  # whatever a damaged file makes a check raise: not complete, so not replaced
        return False
    return True


# ================================================================ temporary names and leftovers
_TMP_RE = re.compile(r"\.(?P<name>.+)\.(?P<tag>tmp|old)-(?P<pid>[0-9]+)-[0-9a-f]+")


def _sibling(target: Path, tag: str) -> Path:
    return target.parent / f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep its files
    return True


def clean_stale(target: PathLike, every_name: bool = False) -> None:
    """Remove the leftovers of dead processes for `target` (``.NAME.tmp-*``, ``.NAME.old-*``).

    Only entries owned by the current user are touched. An ``.old-`` directory
    left by a process killed between the two renames of the fallback
    replacement is renamed back to `target` when `target` is missing. With
    `every_name`, the leftovers for every name in `target`'s directory are
    removed (for directories densevec owns, such as its cache).
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        names = os.listdir(parent)
    except OSError:
        return
    uid = os.getuid() if hasattr(os, "getuid") else None
    for name in names:
        m = _TMP_RE.fullmatch(name)
        if m is None or (m["name"] != target.name and not every_name) or _pid_alive(int(m["pid"])):
            continue
        owner = parent / m["name"]
        p = parent / name
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if uid is not None and st.st_uid != uid:
            continue
        if m["tag"] == "old" and stat.S_ISDIR(st.st_mode) and not os.path.lexists(owner):
            with contextlib.suppress(OSError):
                os.rename(p, owner)  # the artefact a kill left aside goes back; if that fails, it stays
            continue
        _remove_path(p)


def remove_artefact(path: PathLike, kind: str) -> None:
    """Delete the densevec artefact of `kind` at `path`, and nothing else.

    Refused (``ValueError``) unless `path` is, at that moment, a real directory
    owned by the current user whose ``meta.json`` declares `kind`. It is first
    renamed to a ``.NAME.tmp-PID-*`` sibling in one step, so the path holds the
    whole artefact or nothing at every instant; the renamed directory is
    deleted only when it is still the one that was checked (same inode). A
    kill in between leaves a leftover that :func:`clean_stale` removes.
    """
    p = Path(path)
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        st = os.lstat(p)
    except OSError as e:
        raise ValueError(f"{p}: cannot remove: {e}") from None
    if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid) or not claims_kind(p, kind):
        raise ValueError(f"{p}: not a densevec {kind} owned by this user; not removing it")
    tmp = _sibling(p, "tmp")
    try:
        os.rename(p, tmp)
    except OSError as e:
        raise ValueError(f"{p}: cannot remove: {e}") from None
    moved = os.lstat(tmp)
    if (moved.st_dev, moved.st_ino) != (st.st_dev, st.st_ino):  # swapped under us: put it back
        with contextlib.suppress(OSError):
            os.rename(tmp, p)
        raise ValueError(f"{p}: changed while being removed; left in place")
    shutil.rmtree(tmp, ignore_errors=True)


def _remove_path(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    except OSError:
        pass


# ================================================================ single files
@contextlib.contextmanager
def atomic_file(target: PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Write a file atomically: yields a temporary path beside `target` to write to.

    When the block ends normally the temporary file is fsynced and renamed to
    `target` (replacing an existing regular file when `overwrite`, else
    ``FileExistsError``); when it raises, the temporary file is removed and
    `target` is untouched. A symbolic link at `target` is followed (the file
    it points to is replaced). A directory or special file at `target` is
    refused with ``FileExistsError``.
    """
    target = Path(os.path.realpath(target)) if os.path.islink(target) else Path(target)
    _refuse_non_file(target, overwrite)
    clean_stale(target)
    tmp = _sibling(target, "tmp")
    try:
        yield tmp
        if os.path.lexists(tmp):
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        else:
            raise FileNotFoundError(f"{tmp}: nothing was written for {target}")
        _stage("before-rename")
        _refuse_non_file(target, overwrite)
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_no_replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _refuse_non_file(target: Path, overwrite: bool) -> None:
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise FileExistsError(f"{target}: exists and is {_file_type(st.st_mode)}, not a regular file; "
                              "refusing to replace it")
    if not overwrite:
        raise FileExistsError(f"{target}: exists; pass overwrite=True to replace it")


def _link_no_replace(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)  # fails if target appeared meanwhile
    except FileExistsError:
        raise FileExistsError(f"{target}: exists; pass overwrite=True to replace it") from None
    except OSError:  # no hard links on this filesystem
        if os.path.lexists(target):
            raise FileExistsError(f"{target}: exists; pass overwrite=True to replace it") from None
        os.replace(tmp, target)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path if str(path) else ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ================================================================ directories
@contextlib.contextmanager
def staged_dir(
    target: PathLike, kind: str, *, overwrite: bool = False, private: bool = False,
    adopt: Optional[Callable[[Path], bool]] = None,
) -> Iterator[Path]:
    """Write a directory artefact of `kind` atomically: yields a fresh temporary directory beside `target`.

    When the block ends normally, every file in it is fsynced and it is
    installed at `target`:

    * nothing (or an empty directory) at `target`: renamed into place;
    * with `adopt`, an existing directory for which ``adopt(path)`` is true
      is kept and the new one discarded (a cache: the first complete entry
      wins);
    * a complete artefact of the same kind, when `overwrite`: replaced
      atomically (see the module docstring). With `adopt` (a cache slot,
      inside densevec's cache directory) any directory of the current user
      that `adopt` refuses (a damaged or stale entry) is replaced;
    * anything else: ``FileExistsError`` naming `target`, which is left
      untouched.

    When the block raises, the temporary directory is removed. `private`
    makes the directory 0700 and its files 0600 (for caches).
    """
    target = Path(target)
    k = _kind(kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_installable(target, k, overwrite, adopt, early=True)
    clean_stale(target)
    tmp = _sibling(target, "tmp")
    os.mkdir(tmp, 0o700 if private else 0o777)
    try:
        yield tmp
        _sync_tree(tmp, private)
        _stage("files-written")
        _install(tmp, target, k, overwrite, adopt)
    except BaseException:
        _remove_path(tmp)
        raise


def check_target_dir(target: PathLike, kind: str, overwrite: bool = False) -> None:
    """``FileExistsError`` now if :func:`staged_dir` would refuse `target` (to fail before long work)."""
    _check_installable(Path(target), _kind(kind), overwrite, None)


def check_target_file(target: PathLike, overwrite: bool = True) -> None:
    """``FileExistsError`` now if :func:`atomic_file` would refuse `target`."""
    _refuse_non_file(Path(target), overwrite)


def _check_installable(target: Path, k: Kind, overwrite: bool, adopt, early: bool = False) -> str:
    """What to do with what is at `target`: "rename", "adopt" or "exchange"; FileExistsError to refuse."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return "rename"
    if stat.S_ISLNK(st.st_mode):
        raise FileExistsError(f"{target}: exists and is a symbolic link; refusing to replace it")
    if not stat.S_ISDIR(st.st_mode):
        raise FileExistsError(f"{target}: exists and is not a directory; refusing to replace it")
    try:
        with os.scandir(target) as it:
            empty = next(it, None) is None
    except OSError as e:
        raise FileExistsError(f"{target}: exists and cannot be read ({e}); refusing to replace it") from None
    if empty:
        return "rename"
    if adopt is not None and not early and adopt(target):
        return "adopt"
    if adopt is not None:  # a cache slot: densevec's own entry, damaged or stale, is replaced
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise FileExistsError(f"{target}: exists and belongs to another user; refusing to replace it")
        return "exchange"
    if is_complete(target, k.name):
        if overwrite:
            return "exchange"
        raise FileExistsError(f"{target}: exists (a densevec {k.name}); pass overwrite=True to replace it")
    what = "an incomplete densevec" if claims_kind(target, k.name) else "not a densevec"
    raise FileExistsError(f"{target}: exists and is {what} {k.name}; refusing to replace it")


def _install(tmp: Path, target: Path, k: Kind, overwrite: bool, adopt) -> None:
    _stage("before-install")
    for _ in range(8):
        action = _check_installable(target, k, overwrite, adopt)
        if action == "adopt":
            _remove_path(tmp)
            return
        if action == "rename":
            try:
                os.rename(tmp, target)  # also replaces an empty directory, atomically
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    continue  # something appeared meanwhile: decide again
                raise
            _fsync_dir(target.parent)
            _stage("after-install")
            return
        _replace(tmp, target)
        _fsync_dir(target.parent)
        _stage("after-install")
        return
    raise FileExistsError(f"{target}: keeps changing while densevec installs it; try again")


def _replace(tmp: Path, target: Path) -> None:
    """Put the directory `tmp` at `target` in place of the directory there; remove the old one."""
    _stage("before-exchange")
    if _exchange(tmp, target):
        _stage("after-exchange")
        _remove_path(tmp)  # the old artefact, now under the temporary name
        return
    old = _sibling(target, "old")
    os.rename(target, old)
    try:
        _stage("after-exchange")
        os.rename(tmp, target)
    except BaseException:
        if not os.path.lexists(target):
            os.rename(old, target)  # put the old artefact back
        raise
    _remove_path(old)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap `a` and `b` atomically with ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    global _renameat2
    if not sys.platform.startswith("linux"):
        return False
    if _renameat2 is None:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
            _renameat2 = fn
        except (AttributeError, OSError):
            _renameat2 = False
    if _renameat2 is False:
        return False
    rc = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # kernel or filesystem without RENAME_EXCHANGE: fall back
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def _sync_tree(root: Path, private: bool) -> None:
    """fsync every file and directory under `root` (and make them private when asked)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if private:
                os.chmod(p, 0o600)
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if private:
            os.chmod(dirpath, 0o700)
        _fsync_dir(Path(dirpath))


def copy_tree_into(src: PathLike, dst: PathLike) -> None:
    """Copy the files of directory `src` into the existing (staged) directory `dst`."""
    src, dst = Path(src), Path(dst)
    for entry in os.scandir(src):
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(dst / entry.name)
            copy_tree_into(entry.path, dst / entry.name)
        else:
            shutil.copyfile(entry.path, dst / entry.name)


def remove_scratch(path: PathLike, staged: PathLike) -> None:
    """Remove the scratch directory `path` made inside the staged directory `staged` (nothing else)."""
    p, root = Path(path), Path(staged)
    if p.parent != root or not _TMP_RE.fullmatch(root.name):
        raise ValueError(f"{p}: not scratch space inside a staged directory; not removing it")
    shutil.rmtree(p)


# ================================================================ throwaway directories
_TEMP_PREFIX = "densevec-"
_TEMP_RE = re.compile(r"densevec-(?P<what>[a-z]+)-(?P<pid>[0-9]+)-[0-9a-f]+")


def temp_dir(what: str) -> Path:
    """A new private directory ``densevec-WHAT-<pid>-<hex>`` under the user's temporary directory.

    Leftovers of the same `what` from dead processes of this user are removed
    first. Remove it with :func:`remove_temp_dir`.
    """
    if not re.fullmatch(r"[a-z]+", what):
        raise ValueError(f"bad temporary directory tag {what!r}")
    root = Path(tempfile.gettempdir())
    _clean_stale_temp(root, what)
    for _ in range(100):
        p = root / f"{_TEMP_PREFIX}{what}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(p, 0o700)
            return p
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary directory in {root}")


def remove_temp_dir(path: PathLike) -> None:
    """Remove a directory made by :func:`temp_dir` (anything else is refused)."""
    p = Path(path)
    if not _TEMP_RE.fullmatch(p.name):
        raise ValueError(f"{p}: not a densevec temporary directory; not removing it")
    shutil.rmtree(p, ignore_errors=True)


def _clean_stale_temp(root: Path, what: str) -> None:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    uid = os.getuid() if hasattr(os, "getuid") else None
    for e in entries:
        m = _TEMP_RE.fullmatch(e.name)
        if m is None or m["what"] != what or _pid_alive(int(m["pid"])):
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and (uid is None or st.st_uid == uid):
            shutil.rmtree(e.path, ignore_errors=True)
