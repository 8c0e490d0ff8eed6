"""Phrase detection (``new_york``, ``bank_of_america``), counted and applied in C++.

:class:`Phrases` finds the word pairs that occur together more often than
chance, as gensim's ``gensim.models.phrases.Phrases`` does, with the same
counting, scoring and joining rules, so that the same settings find the same
phrases with the same scores — at compiled speed, on all cores, with the GIL
released.

Counting (one pass over the text, a line being a sentence): every token that is
not a connector word counts as a unigram; the span from the previous
non-connector token of the sentence, through any connector words, to it counts
as one bigram candidate (``bank of america`` with ``of`` a connector). Each
thread counts a range of about 1 MiB of text in its own hash tables (words get
numbers, candidates are counted by number), and the ranges are merged in text
order into one table of unigrams and candidates bounded by ``max_vocab``
entries: when a merge makes it larger, entries seen fewer than ``min_reduce``
times are dropped and ``min_reduce`` grows by one, until it fits (gensim's
pruning rule, applied per range instead of per sentence; words that are no
longer counted and start or end no kept candidate leave the word index too).
Memory is therefore about ``max_vocab`` entries (~65 bytes each) plus one
range's tables per thread. Nothing is pruned while the table fits — 40 million
entries by default; big.txt (172 MB, 30 million tokens) needs 4.9 million —
and then the counts, and the phrases, are exactly gensim's.
``Phrases.stats["pruned_entries"]`` says whether anything was pruned. Because
ranges are fixed by the text and merged in order, the result never depends on
``threads``, pruned or not.

Scoring of a candidate ``a ... b`` (``N`` = distinct unigrams + candidates
counted, gensim's ``len(vocab)``; ``T`` = all tokens, connectors included):

* ``"default"`` (Mikolov et al. 2013):
  ``(count(ab) - min_count) / (count(a) * count(b)) * N > threshold``;
* ``"npmi"`` (Bouma 2009): ``count(ab) >= min_count`` and
  ``ln(p(ab) / (p(a) p(b))) / -ln(p(ab)) > threshold`` with ``p(x) = count(x) / T``.

Joining is greedy from the left: a detected pair is replaced by its tokens
joined with ``delimiter`` and the next candidate starts after it, so ``a b c``
with both ``a b`` and ``b c`` detected gives ``a_b c``. A connector word may sit
inside a phrase but never start or end one. Run a second :class:`Phrases` on
the joined text for trigrams (``new_york city`` → ``new_york_city``).

Tokens are separated by whitespace, as everywhere in densevec: a token given in
a Python list that contains whitespace is split there.
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence, Union

from densevec import _core, _fs
from densevec.corpus import byte_chunks, sentence_lines

PathLike = Union[str, "os.PathLike[str]"]

FORMAT = "densevec-phrases"
FORMAT_VERSION = 1
_RANGE_BYTES = 1 << 20

#: gensim's ``ENGLISH_CONNECTOR_WORDS``: articles, some prepositions and
#: conjunctions, which may sit inside an English phrase (``bank_of_america``).
ENGLISH_CONNECTOR_WORDS: frozenset[str] = frozenset(
    "a an the for of with without at from to in on by and or".split()
)

_WHITESPACE = re.compile(r"[ \t\n\v\f\r\x00]")


def _encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _check_word(what: str, w: Any) -> str:
    if not isinstance(w, str):
        raise TypeError(f"{what} must be a str, got {type(w).__name__}")
    if not w or _WHITESPACE.search(w):
        raise ValueError(f"{what} must be non-empty and contain no whitespace or NUL, got {w!r}")
    return w


def _check_file(path: Any, what: str = "input") -> str:
    p = os.fsdecode(os.fspath(path))
    if not os.path.exists(p):
        raise FileNotFoundError(f"{p}: no such file")
    if os.path.isdir(p):
        raise IsADirectoryError(f"{p}: is a directory, expected a text file")
    if not os.path.isfile(p):
        raise ValueError(f"{p}: {what} is not a regular file")
    return os.path.abspath(p)


def _sentence_lines(sentences: Iterable[Any]) -> Iterator[bytes]:
    """Each sentence (a string or a sequence of token strings) as one text line."""
    if isinstance(sentences, (str, bytes)):
        raise TypeError("expected an iterable of sentences (token lists or strings), got a single "
                        "string; wrap it in a list, or pass a path as a pathlib.Path")
    try:
        iterator = iter(sentences)
    except TypeError:
        raise TypeError("expected a path, a Corpus or an iterable of sentences, got "
                        f"{type(sentences).__name__}") from None
    yield from sentence_lines(iterator, errors="surrogateescape")


class Phrases:
    """Detect and join collocations; gensim's ``Phrases`` in C++.

    Parameters
    ----------
    min_count : int
        Subtracted from a pair's count by the default score (pairs seen at most
        ``min_count`` times score <= 0); pairs seen fewer times are ignored by NPMI.
    threshold : float
        A pair is a phrase when its score is strictly greater. Default scoring:
        any positive number; NPMI: in (-1, 1].
    scoring : {"default", "npmi"}
        ``"default"``: word2vec's formula; ``"npmi"``: normalised pointwise
        mutual information (see the module documentation).
    delimiter : str
        Joins the tokens of a phrase; non-empty, no whitespace.
    connector_words : iterable of str
        Words that may sit inside a phrase but never start or end one, e.g.
        :data:`ENGLISH_CONNECTOR_WORDS`.
    max_vocab : int
        Bound on the count table (unigrams + candidates); see the module
        documentation for how it prunes.
    threads : int
        0 = all cores. Results do not depend on it.
    max_token_bytes : int
        Longer tokens are skipped, as in :meth:`Corpus.from_file`.

    Examples
    --------
    >>> import densevec as dv
    >>> words = "red green blue black white brown cold warm".split()
    >>> sents = [[a, "new", "york", b] for a in words for b in words]
    >>> ph = dv.Phrases(min_count=5, threshold=0.3).fit(sents)
    >>> ph.apply(["new", "york", "is", "big"])
    ['new_york', 'is', 'big']
    """

    def __init__(
        self,
        min_count: int = 5,
        threshold: float = 10.0,
        scoring: Literal["default", "npmi"] = "default",
        delimiter: str = "_",
        connector_words: Iterable[str] = (),
        max_vocab: int = 40_000_000,
        threads: int = 0,
        max_token_bytes: int = 1000,
    ) -> None:
        for name, value, lo in (("min_count", min_count, 1), ("max_vocab", max_vocab, 1),
                                ("threads", threads, 0), ("max_token_bytes", max_token_bytes, 1)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
            if value < lo:
                raise ValueError(f"{name} must be >= {lo}, got {value}")
        if scoring not in ("default", "npmi"):
            raise ValueError(f"scoring must be 'default' or 'npmi', got {scoring!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"threshold must be a number, got {type(threshold).__name__}")
        threshold = float(threshold)
        if scoring == "default" and not (threshold > 0 and math.isfinite(threshold)):
            raise ValueError(f"threshold must be a positive finite number for scoring='default', "
                             f"got {threshold}")
        if scoring == "npmi" and not (-1.0 < threshold <= 1.0):
            raise ValueError(f"threshold must be in (-1, 1] for scoring='npmi', got {threshold}")
        _check_word("delimiter", delimiter)
        if isinstance(connector_words, (str, bytes)):
            raise TypeError("connector_words must be a collection of words, not a single string")
        connectors = frozenset(_check_word("connector word", w) for w in connector_words)
        self.min_count = int(min_count)
        self.threshold = threshold
        self.scoring = scoring
        self.delimiter = delimiter
        self.connector_words = connectors
        self.max_vocab = int(max_vocab)
        self.threads = int(threads)
        self.max_token_bytes = int(max_token_bytes)
        self._model: Any = None
        self._phrases: dict[str, float] = {}
        self._keys: list[str] = []
        self._scores: list[float] = []
        self._exported: dict[str, float] | None = None
        self.stats: dict[str, Any] = {}
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, *, progress: bool = False, _range_bytes: int = _RANGE_BYTES) -> "Phrases":
        """Count and score phrases.

        Parameters
        ----------
        data : path, sequence of paths, Corpus, or iterable of sentences
            A text file (``str`` or ``os.PathLike``; one sentence per line) or
            a list of ``pathlib.Path`` (a list of ``str`` is a list of
            sentences), read in C++; a :class:`~densevec.Corpus` (its
            in-vocabulary tokens); or sentences as token lists or strings,
            streamed to a temporary file first.
        progress : bool
            Show a progress bar over the input bytes.

        Returns
        -------
        Phrases
            ``self``, fitted.
        """
        from densevec.corpus import Corpus

        if isinstance(data, (str, os.PathLike)) or (
                isinstance(data, (list, tuple)) and data and
                all(isinstance(p, os.PathLike) for p in data)):
            paths = [_check_file(p) for p in ([data] if isinstance(data, (str, os.PathLike)) else data)]
            return self._fit_paths(paths, ", ".join(paths), progress, _range_bytes)
        if isinstance(data, Corpus):
            lines = (_encode(" ".join(s)) + b"\n" for s in data.sentences())
            name = "the corpus"
        else:
            lines = _sentence_lines(data)
            name = "the sentences"
        tmp = _fs.temp_dir("phrases")
        try:
            path = tmp / "sentences.txt"
            with open(path, "wb") as f:
                for chunk in byte_chunks(lines):
                    f.write(chunk)
            return self._fit_paths([str(path)], name, progress, _range_bytes)
        finally:
            _fs.remove_temp_dir(tmp)

    def _fit_paths(self, paths: list[str], name: str, progress: bool, range_bytes: int) -> "Phrases":
        from densevec._progress import ByteProgress

        total = sum(os.path.getsize(p) for p in paths)
        with ByteProgress(total, "phrases", enabled=progress) as bar:
            r = _core.fit_phrases(
                paths=paths, connectors=sorted(_encode(w) for w in self.connector_words),
                delimiter=_encode(self.delimiter), min_count=self.min_count,
                threshold=self.threshold, scoring=self.scoring, max_vocab=self.max_vocab,
                max_token_bytes=self.max_token_bytes, range_bytes=range_bytes,
                threads=self.threads, progress=bar.callback)
        if r["tokens"] == 0:
            raise ValueError(f"{name}: contains no tokens (empty, or only whitespace)")
        keys = [_decode(k) for k in r["keys"]]
        scores = [float(s) for s in r["scores"]]
        exported = None
        if r["delimiter_in_tokens"]:
            exported = {_decode(k): float(s) for k, s in zip(r["exported"], r["exported_scores"])}
        self.stats = {k: int(r[k]) for k in ("corpus_word_count", "vocab_size", "pruned_entries",
                                             "min_reduce", "tokens", "too_long", "bytes")}
        self._install(keys, scores, exported)
        return self

    def _install(self, keys: list[str], scores: list[float],
                 exported: dict[str, float] | None) -> None:
        self._keys, self._scores = keys, scores
        self._phrases = {k.replace(" ", self.delimiter): s for k, s in zip(keys, scores)}
        self._exported = exported
        self._model = _core.PhraseModel([_encode(k) for k in keys],
                                        sorted(_encode(w) for w in self.connector_words),
                                        _encode(self.delimiter))
        self._fingerprint = hashlib.sha256(json.dumps(self._content(), sort_keys=True).encode()).hexdigest()

    def _content(self) -> dict:
        return {
            "params": self.get_params(),
            "phrases": [[k, s] for k, s in zip(self._keys, self._scores)],
            "exported": None if self._exported is None else sorted(self._exported.items()),
        }

    def _check_fitted(self) -> None:
        if self._model is None:
            raise RuntimeError("this Phrases is not fitted yet: call fit(...) or Phrases.load(...)")

    # ------------------------------------------------------------ results
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (connector words sorted)."""
        return {"min_count": self.min_count, "threshold": self.threshold, "scoring": self.scoring,
                "delimiter": self.delimiter, "connector_words": sorted(self.connector_words),
                "max_vocab": self.max_vocab}

    @property
    def phrases(self) -> dict[str, float]:
        """Every phrase that joining can produce (delimiter-joined) -> its score.

        Equal to :meth:`export_phrases` unless training tokens contain the
        delimiter (see there).
        """
        self._check_fitted()
        return dict(self._phrases)

    def export_phrases(self) -> dict[str, float]:
        """gensim's ``Phrases.export_phrases()``: phrase -> score, the same keys
        and the same floats as gensim with the same settings and text.

        gensim re-splits every counted key at the delimiter and scores it by its
        first and last part, so when training tokens already contain the
        delimiter (a second, trigram pass) this can differ from :attr:`phrases`,
        which lists what :meth:`apply` actually joins.
        """
        self._check_fitted()
        return dict(self._phrases if self._exported is None else self._exported)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the settings and the phrases: the model's identity."""
        self._check_fitted()
        assert self._fingerprint is not None
        return self._fingerprint

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        state = f"{len(self._keys)} phrases" if self._model is not None else "not fitted"
        return (f"Phrases({state}, min_count={self.min_count}, threshold={self.threshold}, "
                f"scoring={self.scoring!r}, delimiter={self.delimiter!r}, "
                f"connector_words={len(self.connector_words)} words)")

    # ------------------------------------------------------------- apply
    def apply(self, tokens: Sequence[str]) -> list[str]:
        """One sentence with its phrases joined (gensim's ``phrases[sentence]``).

        Parameters
        ----------
        tokens : sequence of str
            Non-empty tokens without whitespace.
        """
        self._check_fitted()
        if isinstance(tokens, (str, bytes)):
            raise TypeError("apply expects one sentence as a list of tokens, got a string; "
                            "use text.split(), or transform() for many sentences")
        tokens = list(tokens)
        if tokens and not isinstance(tokens[0], str) and isinstance(tokens[0], (list, tuple)):
            raise TypeError("apply takes one sentence (a list of str); use transform(sentences) "
                            "for many")
        for i, t in enumerate(tokens):
            _check_word(f"token {i}", t)
        if not tokens:
            return []
        out = _decode(self._model.transform_text(_encode(" ".join(tokens))))
        return out.rstrip("\n").split(" ")

    __getitem__ = apply

    def transform(self, sentences: Iterable[Any]) -> Iterator[list[str]]:
        """Join phrases in many sentences (token lists or strings), lazily.

        Sentences are streamed to C++ in chunks of about 1 MiB; one list of
        tokens comes back per sentence, empty sentences included.
        """
        self._check_fitted()
        for chunk in byte_chunks(_sentence_lines(sentences)):
            out = _decode(self._model.transform_text(chunk))
            for line in out.split("\n")[:-1]:
                yield line.split(" ") if line else []

    def transform_file(self, in_path: PathLike | Sequence[PathLike], out_path: PathLike, *,
                       progress: bool = False, _range_bytes: int = _RANGE_BYTES) -> Path:
        """Join phrases in text files, in C++ on all cores, into ``out_path``.

        One output line per input line (tokens separated by one space; several
        input files are concatenated, each ending with a newline). The output
        is written under a temporary name and renamed into place, so
        ``out_path`` is either untouched or complete. Tokens longer than
        ``max_token_bytes`` are dropped, with a warning that says how many.

        Returns
        -------
        pathlib.Path
            ``out_path``.
        """
        self._check_fitted()
        from densevec._progress import ByteProgress

        sources = [in_path] if isinstance(in_path, (str, os.PathLike)) else list(in_path)
        paths = [_check_file(p) for p in sources]
        if not paths:
            raise ValueError("no input files given")
        out = Path(os.fsdecode(os.fspath(out_path)))
        if out.is_dir():
            raise IsADirectoryError(f"{out}: is a directory, expected a file name")
        if out.exists() and any(os.path.samefile(out, p) for p in paths):
            raise ValueError(f"{out}: the output would overwrite an input file")
        with _fs.atomic_file(out) as tmp, ByteProgress(
                sum(os.path.getsize(p) for p in paths), "phrases", enabled=progress) as bar:
            st = self._model.transform_files(
                paths=paths, out_path=str(tmp), max_token_bytes=self.max_token_bytes,
                range_bytes=_range_bytes, threads=self.threads, progress=bar.callback)
        if st["too_long"]:
            warnings.warn(f"{st['too_long']} tokens longer than max_token_bytes="
                          f"{self.max_token_bytes} were dropped from {out}", stacklevel=2)
        return out

    # ------------------------------------------------------------ save/load
    def save(self, path: PathLike, overwrite: bool = True) -> Path:
        """Write the fitted model as one JSON file (settings, phrases, scores).

        The file is written under a temporary name and renamed into place. An
        existing file at ``path`` is replaced only if it is a densevec phrases
        file and ``overwrite`` is true; anything else raises ``FileExistsError``.
        """
        self._check_fitted()
        target = Path(os.fsdecode(os.fspath(path)))
        if os.path.lexists(target) and not (overwrite and _is_phrases_file(target)):
            raise FileExistsError(f"{target} exists and is not a densevec phrases file that may be "
                                  "overwritten; refusing to replace it")
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "densevec_version": _core.__version__, "fingerprint": self._fingerprint,
               "stats": self.stats, **self._content()}
        data = json.dumps(doc, sort_keys=True).encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        with _fs.atomic_file(target, overwrite=overwrite) as tmp:
            tmp.write_bytes(data)
        return target

    @classmethod
    def load(cls, path: PathLike) -> "Phrases":
        """Read a model written by :meth:`save` (``ValueError`` naming the file
        if it is not one, or is damaged)."""
        p = Path(_check_file(path, "phrases file"))
        try:
            doc = json.loads(p.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ValueError(f"{p}: not a densevec phrases file ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"{p}: not a densevec phrases file (format is not {FORMAT!r})")
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{p}: unsupported phrases format version {doc.get('format_version')!r}")
        try:
            params = doc["params"]
            self = cls(**{k: (v if k != "connector_words" else list(v)) for k, v in params.items()})
            keys = [str(k) for k, _ in doc["phrases"]]
            scores = [float(s) for _, s in doc["phrases"]]
            exported = None if doc["exported"] is None else {str(k): float(s) for k, s in doc["exported"]}
            if any(" " not in k for k in keys):
                raise ValueError("a phrase has fewer than two tokens")
            self.stats = dict(doc.get("stats") or {})
            self._install(keys, scores, exported)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{p}: damaged densevec phrases file ({e})") from None
        if self._fingerprint != doc.get("fingerprint"):
            raise ValueError(f"{p}: damaged densevec phrases file (content does not match its fingerprint)")
        return self


def _is_phrases_file(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    try:
        return json.loads(path.read_bytes()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False
