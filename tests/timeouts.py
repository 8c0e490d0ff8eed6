"""A deadline for code that must not block (loaders given FIFOs): a hang fails the test instead of the run."""
from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def no_hang(seconds: int = 20):
    """Fail when the block runs longer than `seconds` (SIGALRM; main thread only).

    The alarm raises ``TimeoutError`` in the blocked call; if the code under
    test turns it into another exception, the assertion after the block still
    reports the hang.
    """
    fired = []

    def expired(signum, frame):
        fired.append(True)
        raise TimeoutError(f"blocked for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert not fired, f"blocked for more than {seconds} s (and the error was turned into another)"
