"""Intrinsic evaluation: word analogies, word-pair similarity and clustering;
retrieval of texts (:func:`retrieval`, from :mod:`densevec.retrieval`).

:func:`analogies` and :func:`word_pairs` reproduce gensim's ``KeyedVectors.evaluate_word_analogies`` and
``evaluate_word_pairs`` question by question, so figures can be compared with
published gensim numbers, but analogies are solved in batches (one matrix
product per block of questions) instead of one ``most_similar`` call each.
:func:`clustering` runs k-means (numpy only) on labelled words and scores the
clusters against the labels. :func:`documents` scores document vectors
(classification under cross-validation, kNN retrieval; see :mod:`densevec._doc_eval`).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np

from densevec import _fs
from densevec._fs import PathLike
from densevec.vectors import AnalogyMethod, Embeddings
from densevec._doc_eval import DocumentReport, documents  # noqa: F401  (re-exported)
from densevec.retrieval import RetrievalReport, retrieval  # noqa: F401  (retrieval metrics)

Question = tuple[str, str, str, str]

_CANDIDATES = 5  # gensim looks at this many best non-question words


@dataclass
class SectionResult:
    """Outcome of one ``: section`` of an analogy file.

    ``correct`` and ``incorrect`` hold the questions ``(a, b, c, expected)`` as
    written in the file; questions with words outside the vocabulary are in
    neither (they are counted in :attr:`AnalogyReport.skipped`).
    """

    name: str
    correct: list[Question] = field(default_factory=list)
    incorrect: list[Question] = field(default_factory=list)

    @property
    def n_correct(self) -> int:
        return len(self.correct)

    @property
    def total(self) -> int:
        return len(self.correct) + len(self.incorrect)

    @property
    def accuracy(self) -> float:
        """Fraction correct (0.0 for an empty section, as gensim reports it)."""
        return self.n_correct / self.total if self.total else 0.0

    @property
    def syntactic(self) -> bool:
        """Sections named ``gram*`` are syntactic, the others semantic (Mikolov et al.)."""
        return self.name.startswith("gram")


@dataclass
class AnalogyReport:
    """Result of :func:`analogies`: per-section and overall accuracy."""

    sections: list[SectionResult]
    skipped: int
    invalid: int
    method: str
    restrict_vocab: int

    def __repr__(self) -> str:
        return (f"AnalogyReport(accuracy={self.accuracy:.4f}, correct={self.correct}, total={self.total}, "
                f"sections={len(self.sections)}, skipped={self.skipped}, invalid={self.invalid}, "
                f"method={self.method!r}, restrict_vocab={self.restrict_vocab})")

    @property
    def correct(self) -> int:
        return sum(s.n_correct for s in self.sections)

    @property
    def total(self) -> int:
        """Questions answered (in-vocabulary ones)."""
        return sum(s.total for s in self.sections)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def oov_ratio(self) -> float:
        """Percentage of well-formed questions skipped for out-of-vocabulary words."""
        asked = self.total + self.skipped
        return 100.0 * self.skipped / asked if asked else 0.0

    def _group(self, syntactic: bool) -> tuple[int, int]:
        group = [s for s in self.sections if s.syntactic == syntactic]
        return sum(s.n_correct for s in group), sum(s.total for s in group)

    @property
    def semantic_accuracy(self) -> float:
        correct, total = self._group(False)
        return correct / total if total else 0.0

    @property
    def syntactic_accuracy(self) -> float:
        correct, total = self._group(True)
        return correct / total if total else 0.0

    def to_dict(self) -> dict:
        """Counts and accuracies as a JSON-serialisable dict (questions left out)."""
        sem, syn = self._group(False), self._group(True)
        return {
            "method": self.method,
            "restrict_vocab": self.restrict_vocab,
            "accuracy": self.accuracy,
            "correct": self.correct,
            "total": self.total,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "oov_ratio": self.oov_ratio,
            "semantic": {"correct": sem[0], "total": sem[1], "accuracy": self.semantic_accuracy},
            "syntactic": {"correct": syn[0], "total": syn[1], "accuracy": self.syntactic_accuracy},
            "sections": [
                {"name": s.name, "correct": s.n_correct, "total": s.total, "accuracy": s.accuracy}
                for s in self.sections
            ],
        }

    def __str__(self) -> str:
        width = max([len(s.name) for s in self.sections] + [len("semantic")])
        lines = [
            f"word analogies ({self.method}, restrict_vocab={self.restrict_vocab})",
            f"{'section':<{width}}  {'correct':>7}  {'total':>7}  {'accuracy':>8}",
        ]

        def row(name: str, correct: int, total: int) -> str:
            acc = f"{100.0 * correct / total:7.2f}%" if total else "       -"
            return f"{name:<{width}}  {correct:>7}  {total:>7}  {acc:>8}"

        lines += [row(s.name, s.n_correct, s.total) for s in self.sections]
        lines.append("-" * len(lines[1]))
        lines.append(row("semantic", *self._group(False)))
        lines.append(row("syntactic", *self._group(True)))
        lines.append(row("total", self.correct, self.total))
        lines.append(f"skipped (out of vocabulary): {self.skipped} ({self.oov_ratio:.1f}%)")
        if self.invalid:
            lines.append(f"invalid lines ignored: {self.invalid}")
        return "\n".join(lines)


@dataclass
class PairsReport:
    """Result of :func:`word_pairs`: correlation of model and human similarities."""

    pearson: float
    spearman: float
    pairs: int
    oov: int
    invalid: int

    @property
    def oov_ratio(self) -> float:
        """Percentage of pairs skipped for out-of-vocabulary words (as gensim reports it)."""
        return 100.0 * self.oov / (self.pairs + self.oov) if self.pairs + self.oov else 0.0

    def to_dict(self) -> dict:
        return {
            "pearson": _json_float(self.pearson),
            "spearman": _json_float(self.spearman),
            "pairs": self.pairs,
            "oov": self.oov,
            "invalid": self.invalid,
            "oov_ratio": self.oov_ratio,
        }

    def __str__(self) -> str:
        return (
            f"word pairs: spearman {self.spearman:.4f}, pearson {self.pearson:.4f}, "
            f"{self.pairs} pairs, {self.oov} out of vocabulary ({self.oov_ratio:.1f}%)"
        )


def _ok_vocab(emb: Embeddings, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    """Candidate words (first `restrict_vocab`), upper-cased when case-insensitive; first occurrence wins."""
    words = emb.index_to_word[: max(0, restrict_vocab)]
    ok: dict[str, int] = {}
    for i, w in enumerate(words):
        ok.setdefault(w.upper() if case_insensitive else w, i)
    return ok


def analogies(
    emb: Embeddings,
    path: PathLike,
    method: AnalogyMethod = "3cosadd",
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
) -> AnalogyReport:
    """Accuracy on a questions-words file (``: section`` headers, ``a b c d`` lines).

    A question "a is to b as c is to d" is answered with the best candidate for
    ``b - a + c`` (``method="3cosadd"``, gensim's only method) or by 3CosMul.
    Candidates are the first `restrict_vocab` words of `emb` (sorted by
    frequency); a question using any other word is skipped. As in gensim, when
    `case_insensitive` words are compared upper-cased, a word maps to its most
    frequent case variant, and the prediction is the first of the 5 best
    candidates whose upper-cased form is not one of the question words.

    Parameters
    ----------
    emb : Embeddings
    path : str or os.PathLike
        UTF-8 analogy file.
    method : {"3cosadd", "3cosmul"}
    restrict_vocab : int
    case_insensitive : bool

    Returns
    -------
    AnalogyReport
    """
    ok = _ok_vocab(emb, restrict_vocab, case_insensitive)
    sections: list[SectionResult] = []
    pending: list[tuple[SectionResult, Question, tuple[str, str, str, str]]] = []
    skipped = invalid = 0
    with _fs.open_regular(path, "an analogy file") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}: line {line_no}: not valid UTF-8 at byte {e.start}") from None
            if line.startswith(": "):
                sections.append(SectionResult(line.lstrip(": ").strip()))
                continue
            if not sections:
                raise ValueError(f"{path}: line {line_no}: question before the first ': section' header")
            words = line.split()
            if len(words) != 4:
                invalid += 1
                continue
            keys = tuple(w.upper() for w in words) if case_insensitive else tuple(words)
            if not all(k in ok for k in keys):
                skipped += 1
                continue
            pending.append((sections[-1], tuple(words), keys))  # type: ignore[arg-type]
    if pending:
        a, b, c = (np.array([ok[p[2][j]] for p in pending], dtype=np.int64) for j in range(3))
        ids, scores = emb._analogy_topk(a, b, c, _CANDIDATES, method=method, restrict_vocab=restrict_vocab)
        words = emb.index_to_word
        for (section, question, keys), row_ids, row_scores in zip(pending, ids, scores):
            ignore = set(keys[:3])
            predicted = None
            for i, s in zip(row_ids, row_scores):
                if s == -np.inf:  # a question word (fewer candidates than 5)
                    continue
                predicted = words[i].upper() if case_insensitive else words[i]
                if predicted not in ignore:
                    break
            (section.correct if predicted == keys[3] else section.incorrect).append(question)
    return AnalogyReport(sections, skipped, invalid, method, restrict_vocab)


def word_pairs(
    emb: Embeddings,
    path: PathLike,
    delimiter: str = "\t",
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
) -> PairsReport:
    """Correlation with human similarity judgements (WordSim353-style ``a<TAB>b<TAB>score`` lines).

    Lines starting with ``#`` are comments; lines without exactly three fields
    or with a non-numeric score are ignored (counted in ``invalid``); pairs with
    a word outside the first `restrict_vocab` words are skipped (``oov``).
    Spearman uses average ranks for ties. Matches gensim's ``evaluate_word_pairs``
    (the correlations, without p-values).
    """
    ok = _ok_vocab(emb, restrict_vocab, case_insensitive)
    gold: list[float] = []
    pairs: list[tuple[int, int]] = []
    oov = invalid = 0
    with io.TextIOWrapper(_fs.open_regular(path, "a word-pairs file"), encoding="utf-8") as f:
        for line in f:
            if not line or line.startswith("#"):
                continue
            parts = line.split(delimiter)
            if case_insensitive:
                parts = [p.upper() for p in parts]
            try:
                a, b, sim_text = parts
                sim = float(sim_text)
            except ValueError:
                invalid += 1
                continue
            if a not in ok or b not in ok:
                oov += 1
                continue
            gold.append(sim)
            pairs.append((ok[a], ok[b]))
    if not gold:
        hint = ""
        if invalid:
            hint = (f" ({invalid} lines did not split into 'word1{delimiter}word2{delimiter}score' "
                    f"on delimiter={delimiter!r}; a comma-separated file needs delimiter=',')")
        raise ValueError(f"{path}: no valid in-vocabulary word pairs{hint}")
    unit = emb._unit_rows(np.array(pairs, dtype=np.int64))  # (pairs, 2, dim): no copy of the matrix
    x = np.array(gold, dtype=np.float64)
    y = np.einsum("ij,ij->i", unit[:, 0], unit[:, 1]).astype(np.float64)
    return PairsReport(_pearson(x, y), _pearson(_rankdata(x), _rankdata(y)), len(gold), oov, invalid)


def _rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values getting the mean of their ranks."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks starts+1 .. ends, averaged
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation (NaN when either input is constant or there are < 2 points)."""
    if len(x) < 2:
        return math.nan
    xm = x - x.mean()
    ym = y - y.mean()
    nx, ny = np.linalg.norm(xm), np.linalg.norm(ym)
    if nx == 0 or ny == 0:
        return math.nan
    return float(np.clip(np.dot(xm / nx, ym / ny), -1.0, 1.0))


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else x


# ================================================================ clustering
@dataclass
class ClusteringReport:
    """Result of :func:`clustering`: how well k-means on the vectors recovers given categories.

    ``purity`` and ``nmi`` compare the k-means clusters with the labels (1.0:
    identical partitions); ``silhouette`` measures how compact and separated
    the k-means clusters are in cosine distance (-1..1), and
    ``silhouette_labels`` the same for the given categories themselves, which
    says how well the space separates them without k-means.
    """

    k: int
    words: int
    oov: int
    labels: int
    purity: float
    nmi: float
    silhouette: float
    silhouette_labels: float
    inertia: float
    seed: int
    clusters: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "words": self.words,
            "oov": self.oov,
            "labels": self.labels,
            "purity": self.purity,
            "nmi": self.nmi,
            "silhouette": _json_float(self.silhouette),
            "silhouette_labels": _json_float(self.silhouette_labels),
            "inertia": self.inertia,
            "seed": self.seed,
            "clusters": [dict(c) for c in self.clusters],
        }

    def __str__(self) -> str:
        def num(x: float) -> str:
            return "-" if math.isnan(x) else f"{x:.4f}"

        lines = [
            f"clustering: k-means (k={self.k}, seed={self.seed}) on {self.words} words "
            f"with {self.labels} labels ({self.oov} out of vocabulary)",
            f"purity {num(self.purity)}, NMI {num(self.nmi)}, silhouette {num(self.silhouette)} "
            f"(of the labels: {num(self.silhouette_labels)})",
        ]
        if self.clusters:
            width = max(len("majority label"), *(len(c["majority"]) for c in self.clusters))
            lines.append(f"{'cluster':>7}  {'size':>5}  {'majority label':<{width}}  {'share':>6}")
            for c in self.clusters:
                lines.append(f"{c['cluster']:>7}  {c['size']:>5}  {c['majority']:<{width}}  "
                             f"{100.0 * c['share']:5.1f}%")
        return "\n".join(lines)


def clustering(
    emb: Embeddings,
    labels: dict[str, str],
    k: int | None = None,
    seed: int = 0,
    n_init: int = 10,
    max_iter: int = 100,
    silhouette_sample: int = 5000,
) -> ClusteringReport:
    """k-means on the unit vectors of labelled words, scored against the labels.

    Parameters
    ----------
    emb : Embeddings
    labels : dict of str to str
        Word -> category (e.g. :func:`densevec.datasets.world_categories`).
        Words outside the vocabulary are counted in ``oov`` and left out.
    k : int, optional
        Number of clusters; default: the number of distinct labels among the
        in-vocabulary words.
    seed : int
        Seeds the k-means++ initialisations (same seed, same result).
    n_init : int
        Initialisations; the one with the lowest inertia wins.
    max_iter : int
        Lloyd iterations per initialisation.
    silhouette_sample : int
        Silhouettes use at most this many words (a seeded sample; they cost
        ``O(words^2)``).

    Returns
    -------
    ClusteringReport
        Purity, normalised mutual information (arithmetic-mean normalisation,
        as scikit-learn's default) and cosine silhouette.
    """
    for name, value, lo in (("n_init", n_init, 1), ("max_iter", max_iter, 1),
                            ("silhouette_sample", silhouette_sample, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    words = [w for w in labels if w in emb]
    oov = len(labels) - len(words)
    if len(words) < 2:
        raise ValueError(f"clustering needs at least 2 labelled in-vocabulary words, got {len(words)}")
    names = sorted({labels[w] for w in words})
    truth = np.array([names.index(labels[w]) for w in words], dtype=np.int64)
    if k is None:
        k = len(names)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(words):
        raise ValueError(f"k must be an integer in [1, {len(words)}], got {k!r}")
    x = emb._unit_rows(np.array([emb.get_index(w) for w in words])).astype(np.float64)
    rng = np.random.default_rng(seed)
    assign, inertia = _kmeans(x, int(k), rng, n_init, max_iter)
    sample = np.arange(len(words))
    if len(words) > silhouette_sample:
        sample = np.sort(rng.choice(len(words), size=silhouette_sample, replace=False))
    clusters = []
    for c in range(int(k)):
        members = truth[assign == c]
        if len(members) == 0:
            continue
        counts = np.bincount(members, minlength=len(names))
        clusters.append({"cluster": c, "size": int(len(members)), "majority": names[int(np.argmax(counts))],
                         "share": float(counts.max() / len(members))})
    return ClusteringReport(
        k=int(k), words=len(words), oov=oov, labels=len(names),
        purity=_purity(truth, assign), nmi=_nmi(truth, assign),
        silhouette=_silhouette(x[sample], assign[sample]),
        silhouette_labels=_silhouette(x[sample], truth[sample]),
        inertia=float(inertia), seed=seed, clusters=clusters,
    )


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, n_init: int,
            max_iter: int) -> tuple[np.ndarray, float]:
    """Lloyd's k-means from `n_init` k-means++ starts; best (assignments, inertia)."""
    best: tuple[np.ndarray, float] | None = None
    sq = np.einsum("ij,ij->i", x, x)
    for _ in range(n_init):
        centres = _kmeanspp(x, sq, k, rng)
        assign = np.full(len(x), -1, dtype=np.int64)
        for _ in range(max_iter):
            d = sq[:, None] - 2.0 * (x @ centres.T) + np.einsum("ij,ij->i", centres, centres)[None, :]
            new = np.argmin(d, axis=1)
            if np.array_equal(new, assign):
                break
            assign = new
            for c in range(k):
                members = assign == c
                if members.any():
                    centres[c] = x[members].mean(axis=0)
                else:  # an empty cluster takes the point farthest from its centre
                    far = int(np.argmax(d[np.arange(len(x)), assign]))
                    centres[c] = x[far]
        inertia = float(np.sum((x - centres[assign]) ** 2))
        if best is None or inertia < best[1] - 1e-12:
            best = (assign.copy(), inertia)
    assert best is not None
    return best


def _kmeanspp(x: np.ndarray, sq: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = np.empty((k, x.shape[1]), dtype=np.float64)
    centres[0] = x[rng.integers(len(x))]
    closest = np.maximum(sq - 2.0 * (x @ centres[0]) + centres[0] @ centres[0], 0.0)
    for c in range(1, k):
        total = closest.sum()
        i = int(rng.choice(len(x), p=closest / total)) if total > 0 else int(rng.integers(len(x)))
        centres[c] = x[i]
        d = np.maximum(sq - 2.0 * (x @ centres[c]) + centres[c] @ centres[c], 0.0)
        np.minimum(closest, d, out=closest)
    return centres


def _contingency(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    table = np.zeros((t.max() + 1, p.max() + 1), dtype=np.float64)
    np.add.at(table, (t, p), 1.0)
    return table


def _purity(truth: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of points whose cluster's majority label is their label."""
    return float(_contingency(truth, pred).max(axis=0).sum() / len(truth))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def _nmi(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mutual information over the arithmetic mean of the two entropies (1.0 when both are trivial)."""
    table = _contingency(truth, pred)
    n = table.sum()
    ht, hp = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if ht == 0.0 and hp == 0.0:
        return 1.0
    nz = table > 0
    outer = np.outer(table.sum(axis=1), table.sum(axis=0))
    mi = float(np.sum(table[nz] / n * np.log(table[nz] * n / outer[nz])))
    denom = (ht + hp) / 2.0
    return float(np.clip(mi / denom, 0.0, 1.0)) if denom > 0 else 0.0


def _silhouette(x: np.ndarray, assign: np.ndarray) -> float:
    """Mean silhouette with cosine distance; points alone in their cluster score 0; NaN unless 2 <= k < n."""
    _, a_ids = np.unique(assign, return_inverse=True)
    k = a_ids.max() + 1 if len(a_ids) else 0
    if not 2 <= k < len(x):
        return math.nan
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    u = x / np.where(norms > 0, norms, 1.0)
    dist = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    sizes = np.bincount(a_ids, minlength=k).astype(np.float64)
    onehot = np.zeros((len(x), k))
    onehot[np.arange(len(x)), a_ids] = 1.0
    sums = dist @ onehot  # (n, k): summed distance from each point to each cluster
    own = sizes[a_ids]
    a = sums[np.arange(len(x)), a_ids] / np.maximum(own - 1, 1)
    other = sums / sizes[None, :]
    other[np.arange(len(x)), a_ids] = np.inf
    b = other.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


# node embeddings (densevec.Node2Vec): node classification and link prediction
from densevec._graph_eval import link_prediction, node_classification, roc_auc, split_edges  # noqa: E402,F401
