"""Dimensionality reduction (PCA) with a report of what it distorts, and centring / normalising helpers.

Linear compression can quietly change which words are neighbours and break
analogy offsets. :func:`pca` therefore returns, with the reduced vectors, a
:class:`DistortionReport` that turns this into numbers:

* the share of the variance the kept components explain;
* how many of each word's 10 nearest cosine neighbours are still among its 10
  nearest after the reduction (exact search, on a sample of words);
* the Spearman correlation of cosine similarities before and after, on a
  sample of word pairs;
* analogy accuracy before and after, when an analogy file is given.

>>> small, report = densevec.reduce.pca(emb, 50)                 # doctest: +SKIP
>>> print(report)                                                # doctest: +SKIP

Note that PCA centres the vectors (subtracts the mean vector), which by itself
changes cosine similarities (see :func:`center`); the report measures the
total effect of centring and projection, as the user gets it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np

from densevec import _space, evaluate
from densevec._fs import PathLike
from densevec.vectors import Embeddings, check_same_space

SvdSolver = Literal["auto", "full", "randomized"]

_FULL_SVD_MAX_ELEMS = 20_000_000  # above this (n * dim), "auto" uses the randomised SVD
_POWER_ITERATIONS = 5
_OVERSAMPLES = 10


@dataclass
class DistortionReport:
    """What :func:`pca` changed; ``str(report)`` is a readable summary, :meth:`to_dict` a JSON-ready dict.

    Attributes
    ----------
    source_dim, n_components : int
    whiten : bool
    explained_variance_ratio : float
        Share of the total variance (of the centred vectors) the kept
        components explain, in [0, 1].
    neighbor_overlap : float
        Mean over the sampled words of ``|top-k before ∩ top-k after| / k``
        (cosine neighbours, the word itself excluded); 1.0 means no word's
        neighbourhood moved.
    k : int
        Neighbours compared per word.
    sample_words : int
        Words whose neighbourhoods were compared.
    spearman : float
        Spearman correlation of the cosine similarities of `sample_pairs`
        random word pairs before and after.
    sample_pairs : int
    analogy_before, analogy_after : float or None
        Analogy accuracy (3CosAdd) before and after, when an analogy file was given.
    analogy_questions : int or None
        Questions answered (in vocabulary) in each of the two runs.
    """

    source_dim: int
    n_components: int
    whiten: bool
    explained_variance_ratio: float
    neighbor_overlap: float
    k: int
    sample_words: int
    spearman: float
    sample_pairs: int
    analogy_before: Optional[float] = None
    analogy_after: Optional[float] = None
    analogy_questions: Optional[int] = None

    @property
    def analogy_change(self) -> Optional[float]:
        """``analogy_after - analogy_before`` (None without an analogy file)."""
        if self.analogy_before is None or self.analogy_after is None:
            return None
        return self.analogy_after - self.analogy_before

    def to_dict(self) -> dict:
        return {
            "source_dim": self.source_dim,
            "n_components": self.n_components,
            "whiten": self.whiten,
            "explained_variance_ratio": self.explained_variance_ratio,
            "neighbor_overlap": self.neighbor_overlap,
            "k": self.k,
            "sample_words": self.sample_words,
            "spearman": None if math.isnan(self.spearman) else self.spearman,
            "sample_pairs": self.sample_pairs,
            "analogy_before": self.analogy_before,
            "analogy_after": self.analogy_after,
            "analogy_change": self.analogy_change,
            "analogy_questions": self.analogy_questions,
        }

    def __str__(self) -> str:
        spearman = "-" if math.isnan(self.spearman) else f"{self.spearman:.4f}"
        lines = [
            f"PCA {self.source_dim} -> {self.n_components} dims{' (whitened)' if self.whiten else ''}",
            f"  explained variance:            {100.0 * self.explained_variance_ratio:6.2f}%",
            f"  top-{self.k} neighbour overlap:     {100.0 * self.neighbor_overlap:6.2f}%"
            f"  (mean over {self.sample_words} words)",
            f"  spearman of cosine similarity: {spearman:>7}  ({self.sample_pairs} word pairs)",
        ]
        if self.analogy_before is not None and self.analogy_after is not None:
            lines.append(
                f"  analogy accuracy:              {100.0 * self.analogy_before:6.2f}% -> "
                f"{100.0 * self.analogy_after:.2f}% ({100.0 * (self.analogy_change or 0.0):+.2f} points, "
                f"{self.analogy_questions} questions)"
            )
        return "\n".join(lines)


def pca(
    emb: Embeddings,
    n_components: int,
    whiten: bool = False,
    sample: int = 1000,
    analogies: Optional[PathLike] = None,
    seed: int = 0,
    k: int = 10,
    pairs: int = 10_000,
    svd_solver: SvdSolver = "auto",
    restrict_vocab: int = 30000,
) -> tuple[Embeddings, DistortionReport]:
    """Project the vectors on their first `n_components` principal components.

    Parameters
    ----------
    emb : Embeddings
        ``(n, dim)`` vectors.
    n_components : int
        Output dimensionality, ``1 <= n_components <= min(n, dim)``.
    whiten : bool
        Scale every component to unit variance (this changes cosine geometry
        further; the report shows by how much).
    sample : int
        Words whose top-`k` neighbourhoods are compared (a seeded sample; all
        words when there are fewer).
    analogies : path, optional
        A questions-words file: the report then gives the 3CosAdd accuracy
        before and after (first `restrict_vocab` words as candidates).
    seed : int
        Seeds the word and pair samples and the randomised SVD.
    k : int
        Neighbours compared per word.
    pairs : int
        Random word pairs for the Spearman correlation of similarities.
    svd_solver : {"auto", "full", "randomized"}
        ``"full"``: exact SVD of the centred matrix (float64).
        ``"randomized"``: Halko et al.'s randomised SVD with power iterations
        (float32, for large matrices). ``"auto"`` picks ``"full"`` up to
        2e7 matrix elements, or when more than a quarter of the components are kept.
    restrict_vocab : int
        Candidate words for the analogy evaluation.

    Returns
    -------
    reduced : Embeddings
        ``(n, n_components)`` float32, same words and counts. ``reduced.meta``
        keeps the source metadata under ``"reduced_from"`` and records the
        reduction under ``"pca"``: ``n_components``, ``whiten``, ``solver``,
        ``explained_variance`` and ``explained_variance_ratio`` per component,
        the ``mean`` that was subtracted (``dim`` floats) and the distortion
        report as a dict. It is a new embedding space: ``meta["space"]`` has a
        fresh id whose ``parent`` is `emb`'s space, so searching `emb` with
        reduced vectors (or the reverse) is refused without ``allow_mixed``.
    report : DistortionReport

    Raises
    ------
    ValueError
        For `n_components` outside ``[1, min(n, dim)]``, fewer than 2 words,
        or a bad `svd_solver`.
    """
    n, dim = len(emb), emb.dim
    if n < 2:
        raise ValueError(f"PCA needs at least 2 vectors, got {n}")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ValueError(f"n_components must be an integer, got {n_components!r}")
    if not 1 <= n_components <= min(n, dim):
        raise ValueError(f"n_components must be in [1, {min(n, dim)}] (min of {n} words and dim {dim}), "
                         f"got {n_components}")
    if svd_solver not in ("auto", "full", "randomized"):
        raise ValueError(f"svd_solver must be 'auto', 'full' or 'randomized', got {svd_solver!r}")
    for name, value in (("sample", sample), ("k", k), ("pairs", pairs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    n_components = int(n_components)
    rng = np.random.default_rng(seed)
    x = np.asarray(emb.vectors)
    mean = x.mean(axis=0, dtype=np.float64)
    if svd_solver == "auto":
        big = n * dim > _FULL_SVD_MAX_ELEMS and n_components < min(n, dim) // 4
        svd_solver = "randomized" if big else "full"
    if svd_solver == "full":
        xc = x.astype(np.float64) - mean
        _, s, vt = np.linalg.svd(xc, full_matrices=False)
        total_ss = float(np.sum(s ** 2))
    else:
        xc = (x - mean.astype(np.float32)).astype(np.float32)
        s, vt = _randomized_svd(xc, n_components, rng)
        total_ss = float(np.einsum("ij,ij->", xc, xc, dtype=np.float64))
    s, vt = s[:n_components], _fix_signs(vt[:n_components])
    variance = s.astype(np.float64) ** 2 / (n - 1)
    ratio = (s.astype(np.float64) ** 2 / total_ss) if total_ss > 0 else np.zeros(n_components)
    proj = xc @ vt.T.astype(xc.dtype)
    if whiten:
        proj = proj / np.sqrt(np.where(variance > 0, variance, 1.0))
    same_corpus = {k: emb.meta[k] for k in ("corpus_fingerprint",) if k in emb.meta}
    same_corpus["space"] = _space.derived_space(emb.meta, "pca")
    reduced = Embeddings(proj.astype(np.float32), emb.index_to_word, emb.counts, same_corpus)

    report = distortion(emb, reduced, sample=sample, k=k, pairs=pairs, seed=seed,
                        analogies=analogies, restrict_vocab=restrict_vocab,
                        allow_mixed=True)  # `reduced` derives from `emb`, whatever identity `emb` has
    report.explained_variance_ratio = float(min(ratio.sum(), 1.0))
    report.whiten = bool(whiten)
    meta = {
        **same_corpus,
        "algorithm": "pca",
        "normalized": False,
        "reduced_from": dict(emb.meta, dim=dim, count=n),
        "pca": {
            "n_components": n_components,
            "whiten": bool(whiten),
            "solver": svd_solver,
            "explained_variance": [float(v) for v in variance],
            "explained_variance_ratio": [float(r) for r in ratio],
            "mean": [float(m) for m in mean],
            "distortion": report.to_dict(),
        },
    }
    return Embeddings(reduced.vectors, emb.index_to_word, emb.counts, meta), report


def distortion(
    before: Embeddings,
    after: Embeddings,
    sample: int = 1000,
    k: int = 10,
    pairs: int = 10_000,
    seed: int = 0,
    analogies: Optional[PathLike] = None,
    restrict_vocab: int = 30000,
    allow_mixed: bool = False,
) -> DistortionReport:
    """Compare two versions of the same vocabulary (same words in the same rows).

    Used by :func:`pca`; works for any transformation (quantisation,
    centring, ...). ``explained_variance_ratio`` is set to NaN here. Both
    must be in the same embedding space, or one directly derived from the
    other (``after``'s ``meta["space"]["parent"]`` is ``before``'s space, as
    for :func:`pca` and :func:`center`); ``ValueError`` otherwise, unless
    ``allow_mixed=True`` (see :func:`densevec.vectors.check_same_space`).
    """
    check_same_space(before, after, "distortion", allow_mixed, derived_ok=True)
    if before.index_to_word != after.index_to_word:
        raise ValueError("distortion needs the same words in the same order in both embeddings")
    n = len(before)
    rng = np.random.default_rng(seed)
    ids = np.arange(n) if n <= sample else np.sort(rng.choice(n, size=sample, replace=False))
    kk = min(k, n - 1)
    overlap = math.nan
    if kk >= 1:
        nb = _neighbours(before, ids, kk)
        na = _neighbours(after, ids, kk)
        overlap = float(np.mean([len(set(p) & set(q)) / kk for p, q in zip(nb, na)]))
    n_pairs = 0
    spearman = math.nan
    if n >= 2:
        i = rng.integers(0, n, size=pairs)
        j = rng.integers(0, n - 1, size=pairs)
        j = j + (j >= i)  # j != i
        n_pairs = pairs
        cos_b = np.einsum("ij,ij->i", before._unit_rows(i), before._unit_rows(j), dtype=np.float64)
        cos_a = np.einsum("ij,ij->i", after._unit_rows(i), after._unit_rows(j), dtype=np.float64)
        spearman = evaluate._pearson(evaluate._rankdata(cos_b), evaluate._rankdata(cos_a))
    report = DistortionReport(
        source_dim=before.dim, n_components=after.dim, whiten=False, explained_variance_ratio=math.nan,
        neighbor_overlap=overlap, k=kk, sample_words=len(ids), spearman=spearman, sample_pairs=n_pairs,
    )
    if analogies is not None:
        rb = evaluate.analogies(before, analogies, restrict_vocab=restrict_vocab)
        ra = evaluate.analogies(after, analogies, restrict_vocab=restrict_vocab)
        report.analogy_before, report.analogy_after = rb.accuracy, ra.accuracy
        report.analogy_questions = rb.total
    return report


def center(emb: Embeddings) -> Embeddings:
    """Subtract the mean vector from every row.

    Effect: the vectors of a trained model share a large common direction
    (frequency, mostly); removing it spreads the words over the sphere, so
    cosine similarities change: unrelated words' similarities move towards 0
    and neighbour lists shift, usually a little, and word-similarity scores
    often improve slightly (Mu & Viswanath, 2018, "All-but-the-top").
    Differences of vectors (analogy offsets) and L2 distances are unchanged.
    Rows are no longer unit length: :func:`normalize` afterwards if needed.
    ``meta["centered"] = True`` and ``meta["normalized"] = False`` on the result,
    which is a new embedding space whose ``parent`` is `emb`'s (cosines changed).
    """
    x = np.asarray(emb.vectors)
    mean = x.mean(axis=0, dtype=np.float64)
    meta = dict(emb.meta, centered=True, normalized=False, space=_space.derived_space(emb.meta, "center"))
    return Embeddings((x - mean).astype(np.float32), emb.index_to_word, emb.counts, meta)


def normalize(emb: Embeddings) -> Embeddings:
    """Scale every row to unit length (zero rows stay zero).

    Effect: cosine similarities and cosine neighbours are unchanged; dot
    products become cosines, and L2 nearest neighbours then rank exactly as
    cosine ones, so a dot-product index (faiss ``IndexFlatIP``) gives cosine
    search. Word frequency, which word2vec partly encodes in the norm, is
    lost, and 3CosAdd analogies are unaffected (they normalise anyway).
    ``meta["normalized"] = True`` on the result.
    """
    return emb.normalize()


def _neighbours(emb: Embeddings, ids: np.ndarray, k: int) -> list[list[int]]:
    """Top-`k` cosine neighbours of rows `ids`, the word itself excluded."""
    found, _ = emb.search(emb.vectors[ids], k=k + 1, metric="cosine")
    out = []
    for i, row in zip(ids, found):
        out.append([int(j) for j in row if j != i][:k])
    return out


def _randomized_svd(x: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Top-`k` singular values and right singular vectors ``(k,), (k, dim)`` (Halko, Martinsson & Tropp 2011)."""
    n, dim = x.shape
    width = min(k + _OVERSAMPLES, n, dim)
    q = x @ rng.standard_normal((dim, width)).astype(x.dtype)
    q, _ = np.linalg.qr(q)
    for _ in range(_POWER_ITERATIONS):
        z, _ = np.linalg.qr(x.T @ q)
        q, _ = np.linalg.qr(x @ z)
    b = (q.T @ x).astype(np.float64)
    _, s, vt = np.linalg.svd(b, full_matrices=False)
    return s[:k], vt[:k]


def _fix_signs(vt: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of every component positive (deterministic output)."""
    rows = np.arange(vt.shape[0])
    signs = np.sign(vt[rows, np.argmax(np.abs(vt), axis=1)])
    return vt * np.where(signs == 0, 1.0, signs)[:, None]
