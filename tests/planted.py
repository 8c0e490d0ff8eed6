"""A corpus with planted word groups, shared by the word2vec and GloVe tests."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

GROUPS, MEMBERS, CONTEXTS = 8, 5, 6


def planted_sentences(n=4000, seed=0):
    """Each sentence holds one member of a group with words of that group's own
    context set and some shared noise: members of a group never co-occur, but
    share contexts, so they must end up near each other."""
    rng = np.random.default_rng(seed)
    noise = [f"noise{i}" for i in range(60)]
    out = []
    for _ in range(n):
        g = rng.integers(GROUPS)
        member = f"m{g}_{rng.integers(MEMBERS)}"
        ctx = [f"c{g}_{k}" for k in rng.choice(CONTEXTS, size=4, replace=False)]
        words = [member] + ctx + list(rng.choice(noise, size=2))
        rng.shuffle(words)
        out.append(words)
    return out


def group_separation(emb):
    """(mean same-group cosine - mean other-group cosine, nearest-member precision)."""
    members = [f"m{g}_{i}" for g in range(GROUPS) for i in range(MEMBERS)]
    idx = [emb.index_to_word.index(m) for m in members]
    v = np.asarray(emb.vectors)[idx].astype(np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sim = v @ v.T
    group = np.repeat(np.arange(GROUPS), MEMBERS)
    same = group[:, None] == group[None, :]
    off_diag = ~np.eye(len(members), dtype=bool)
    margin = sim[same & off_diag].mean() - sim[~same].mean()
    np.fill_diagonal(sim, -np.inf)
    precision = np.mean(group[np.argmax(sim, axis=1)] == group)
    return margin, precision


def fit_interrupted(fit, after=0.5, after_first_epoch=False):
    """Runs ``fit()`` with a Ctrl-C (SIGINT) sent after ``after`` seconds; expects
    the trainers' "interrupted" warning. Returns (result, seconds taken).

    With ``after_first_epoch``, ``fit`` takes a list of epoch callbacks and the
    delay counts from the end of the first epoch, so that a slow build (the
    sanitizers) still has one epoch done when the interrupt lands mid-epoch."""
    # A shell starts background jobs with SIGINT ignored, and Python then keeps
    # it ignored: install Python's own handler for the test's duration.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    first_epoch, cancel = threading.Event(), threading.Event()
    if not after_first_epoch:
        first_epoch.set()
        call = fit
    else:
        call = lambda: fit([lambda model, report: first_epoch.set()])  # noqa: E731

    def interrupt():
        if first_epoch.wait(120) and not cancel.wait(after):
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt, daemon=True)
    start = time.monotonic()
    sender.start()
    try:
        with pytest.warns(RuntimeWarning, match="interrupted"):
            result = call()
    finally:
        cancel.set()
        first_epoch.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)
    return result, time.monotonic() - start


def planted_text(tmp_path, n=300):
    """The same planted sentences as a text file and as a list of lines: (path, lines)."""
    lines = [" ".join(s) for s in planted_sentences(n)]
    path = tmp_path / "planted.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, lines
