"""Argument checks at the public boundary: one-line errors that name the argument.

Every integer or float that reaches the compiled core goes through
:func:`check_int` or :func:`check_float` first, so that a value outside what the
C++ side takes is a ``ValueError`` saying so (rather than a pybind11
``TypeError`` listing every overload), numpy scalars are accepted like Python
numbers, and a legitimately huge value can be clamped instead of refused.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

INT32_MAX = 2**31 - 1
"""Largest window, negative, dim... the core keeps in a C int."""
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
"""Largest seed (the core's generators take 64 bits)."""
MAX_THREADS = 1 << 16
"""More worker threads than any machine has cores: refused."""
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Largest learning rate the core (float32) can hold."""


def check_int(name: str, value: Any, minimum: int, maximum: Optional[int] = None,
              clamp: bool = False) -> int:
    """``value`` as a Python int in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        The argument's name, for the messages.
    value : int or numpy integer
        ``bool`` is refused.
    minimum, maximum : int
        Bounds (``maximum`` None: none).
    clamp : bool
        Above ``maximum``, return ``maximum`` instead of raising (for bounds
        beyond which the meaning does not change, e.g. a ``min_count`` larger
        than any corpus).

    Raises
    ------
    TypeError
        Not an integer.
    ValueError
        Out of range (one line, naming ``name``).
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        if clamp:
            return maximum
        raise ValueError(f"{name} must be <= {maximum}, got {_short(v)}")
    return v


def check_float(name: str, value: Any, minimum: float = -math.inf, maximum: float = math.inf,
                min_inclusive: bool = True) -> float:
    """``value`` (int, float or numpy scalar, not bool) as a finite Python
    float in ``[minimum, maximum]`` (``(minimum, maximum]`` when
    ``min_inclusive`` is False).

    Raises
    ------
    TypeError
        Not a real number.
    ValueError
        NaN, infinite or out of range (one line, naming ``name``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer,
                                                                       np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if v < minimum or (v == minimum and not min_inclusive):
        raise ValueError(f"{name} must be {'>=' if min_inclusive else '>'} {_num(minimum)}, "
                         f"got {_num(v)}")
    if v > maximum:
        raise ValueError(f"{name} must be <= {_num(maximum)}, got {_num(v)}")
    return v


def _num(x: float) -> str:
    """A float for a message: whole numbers below 1e16 without an exponent."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else f"{x:.6g}"


def _short(v: int) -> str:
    """An integer for a message: in full up to 30 digits, else as 1.2e+45."""
    text = str(v)
    return text if len(text) <= 30 else f"{float(v):.3g}"


def check_hyperparameter_not_data(model: str, value: Any) -> None:
    """``TypeError`` when a model's first argument (``dim``) is training data.

    gensim trains in the constructor (``Word2Vec(sentences, vector_size=...)``);
    densevec models take only hyperparameters and train in ``fit``. A
    non-numeric first argument (a list or iterable of sentences, a path, a
    corpus) gets a message saying so instead of "dim must be an integer".
    """
    if isinstance(value, (numbers.Number, np.number)):
        return
    raise TypeError(
        f"{model}() takes hyperparameters, not training data (got {type(value).__name__} as dim): "
        f"call {model}(dim=...).fit(sentences) (gensim's Word2Vec(sentences, vector_size=...) trains in "
        f"the constructor; densevec trains in fit)"
    )


def check_training_data(model: str, data: Any, expected: str) -> None:
    """``TypeError`` naming what ``fit`` expects when `data` cannot be training data.

    Refused: trained vectors (anything with ``most_similar``, e.g.
    :class:`densevec.Embeddings`), numbers, and other non-iterable objects
    that are not paths.
    """
    if hasattr(data, "__fspath__") or isinstance(data, (str, bytes)):
        return
    if hasattr(data, "most_similar"):
        what = f"{type(data).__name__} (trained vectors, which are not training data)"
    elif not hasattr(data, "__iter__") and type(data).__name__ not in ("Corpus", "Cooccurrence"):
        what = type(data).__name__
    else:
        return
    raise TypeError(f"{model}.fit expects {expected}; got {what}")
