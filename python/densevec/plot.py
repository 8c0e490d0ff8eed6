"""Pictures of an embedding space: a 2-D projection of chosen words, analogies as arrows.

matplotlib is optional: ``pip install "densevec[plot]"``.

>>> from densevec import plot
>>> plot.words(emb, ["king", "queen", "man", "woman"],
...            analogy=("man", "woman", "king", "queen"), path="gender.png")   # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np

from densevec import _fs
from densevec._fs import PathLike
from densevec.vectors import Embeddings

Analogy = Sequence[str]

_MISSING = 'densevec.plot needs matplotlib, which is not installed: pip install "densevec[plot]"'


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(_MISSING) from e
    return matplotlib


def project(emb: Embeddings, words: Sequence[str], method: Literal["pca"] = "pca") -> np.ndarray:
    """2-D coordinates ``(len(words), 2)`` of the words' unit vectors by PCA over these words only.

    Unknown words raise ``KeyError`` naming the word.
    """
    if method != "pca":
        raise ValueError(f"method must be 'pca', got {method!r}")
    if not words:
        raise ValueError("no words to plot")
    x = emb._unit_rows(np.array([emb.get_index(w) for w in words])).astype(np.float64)
    xc = x - x.mean(axis=0)
    if len(words) < 2 or not np.any(xc):
        return np.zeros((len(words), 2))
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    coords = xc @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.hstack([coords, np.zeros((len(words), 2 - coords.shape[1]))])
    return coords


def words(
    emb: Embeddings,
    words: Sequence[str],
    analogy: Optional[Union[Analogy, Sequence[Analogy]]] = None,
    ax: Any = None,
    method: Literal["pca"] = "pca",
    path: Optional[PathLike] = None,
    title: Optional[str] = None,
    dpi: int = 120,
    overwrite: bool = True,
) -> Any:
    """Scatter `words` in a 2-D projection of their vectors, labelled, with analogy arrows.

    Parameters
    ----------
    emb : Embeddings
    words : sequence of str
        Words to draw (analogy words are added if missing).
    analogy : (a, b, c, d) or a sequence of such tuples, optional
        "a is to b as c is to d": arrows a -> b and c -> d, in one colour per
        analogy, so parallel arrows show a shared offset.
    ax : matplotlib Axes, optional
        Draw into it. By default a new figure is made: with `path`, a
        pyplot-free Agg figure (safe on servers and in threads); without, a
        pyplot figure for interactive use.
    method : {"pca"}
        Projection: PCA of the unit vectors of the drawn words.
    path : path, optional
        Save the figure there (format from the extension, e.g. ``.png``, ``.svg``).
    title : str, optional
    dpi : int
        Resolution of the saved file.
    overwrite : bool
        Replace an existing file at `path` (atomically); False raises
        ``FileExistsError`` instead.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _matplotlib()
    quads = _analogies(analogy)
    drawn = list(dict.fromkeys(list(words) + [w for q in quads for w in q]))
    coords = project(emb, drawn, method)
    if ax is None:
        if path is not None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(7, 6))
            FigureCanvasAgg(fig)
        else:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(7, 6))
        ax = fig.add_subplot(1, 1, 1)
    where = {w: coords[i] for i, w in enumerate(drawn)}
    ax.scatter(coords[:, 0], coords[:, 1], s=18, color="0.3", zorder=3)
    for w, (x, y) in where.items():
        ax.annotate(w, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=9, zorder=4)
    colours = ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown"]
    for n, quad in enumerate(quads):
        colour = colours[n % len(colours)]
        for start, end in ((quad[0], quad[1]), (quad[2], quad[3])):
            ax.annotate("", xy=where[end], xytext=where[start], zorder=2,
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5})
    ax.set_title(title if title is not None else f"{len(drawn)} words, {method.upper()} of unit vectors")
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.margins(0.12)
    if path is not None:
        import matplotlib

        fmt = Path(path).suffix[1:].lower() or matplotlib.rcParams["savefig.format"]
        with _fs.atomic_file(path, overwrite=overwrite) as tmp, open(tmp, "xb") as f:
            ax.figure.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight")
    return ax


def _analogies(analogy: Any) -> list[tuple[str, str, str, str]]:
    if analogy is None:
        return []
    items = [analogy] if len(analogy) and isinstance(analogy[0], str) else list(analogy)
    out = []
    for q in items:
        q = tuple(q)
        if len(q) != 4 or not all(isinstance(w, str) for w in q):
            raise ValueError(f"an analogy is four words (a, b, c, d), got {q!r}")
        out.append(q)
    return out
