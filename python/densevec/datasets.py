"""A built-in synthetic corpus: a small world of real facts, written out as text.

``densevec demo`` trains on text generated here and then checks the vectors on
analogy questions about the same facts, so it needs no download.

The world has four kinds of facts, all true:

* countries with their capital, currency, language, continent and demonym;
* male/female pairs (king/queen, uncle/aunt, ...);
* nouns with their plural (car/cars, ...);
* verbs with their past tense (walk/walked, ...).

Sentences come from templates built so that word2vec's vector offsets work:
every word of a pair appears in the contexts of its *role* (country words with
"country", "government", ...; capitals with "city", "mayor", ...; male words
with "he", "his"; plurals with "many", "these"; past tenses with "yesterday")
and, for both members of a pair, with the same *identity* words (a country and
its capital share their demonym, language and currency; king and queen share
"throne" and "crown"; car and cars share "engine"). So ``vec(b) - vec(a)`` is
roughly the role difference, the same for every pair. Filler words are
sprinkled in and some sentences are pure filler, so the task is not trivial.

Only ``random.Random.random()`` is used, whose sequence Python guarantees for
a given seed, so a seed gives the same text on every platform and version.

:func:`load` fetches well-known public corpora and evaluation files by name
(``text8``, ``questions-words``, ``wordsim353``): download, checksum, cache.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import random
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from densevec import _fs
from densevec._fs import PathLike

# country, capital, currency, language, continent, demonym
COUNTRIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("france", "paris", "euro", "french", "europe", "french"),
    ("germany", "berlin", "euro", "german", "europe", "german"),
    ("italy", "rome", "euro", "italian", "europe", "italian"),
    ("spain", "madrid", "euro", "spanish", "europe", "spanish"),
    ("portugal", "lisbon", "euro", "portuguese", "europe", "portuguese"),
    ("greece", "athens", "euro", "greek", "europe", "greek"),
    ("netherlands", "amsterdam", "euro", "dutch", "europe", "dutch"),
    ("austria", "vienna", "euro", "german", "europe", "austrian"),
    ("finland", "helsinki", "euro", "finnish", "europe", "finnish"),
    ("poland", "warsaw", "zloty", "polish", "europe", "polish"),
    ("sweden", "stockholm", "krona", "swedish", "europe", "swedish"),
    ("norway", "oslo", "krone", "norwegian", "europe", "norwegian"),
    ("denmark", "copenhagen", "krone", "danish", "europe", "danish"),
    ("hungary", "budapest", "forint", "hungarian", "europe", "hungarian"),
    ("ukraine", "kyiv", "hryvnia", "ukrainian", "europe", "ukrainian"),
    ("england", "london", "pound", "english", "europe", "english"),
    ("japan", "tokyo", "yen", "japanese", "asia", "japanese"),
    ("china", "beijing", "yuan", "chinese", "asia", "chinese"),
    ("thailand", "bangkok", "baht", "thai", "asia", "thai"),
    ("vietnam", "hanoi", "dong", "vietnamese", "asia", "vietnamese"),
    ("indonesia", "jakarta", "rupiah", "indonesian", "asia", "indonesian"),
    ("iran", "tehran", "rial", "persian", "asia", "iranian"),
    ("pakistan", "islamabad", "rupee", "urdu", "asia", "pakistani"),
    ("philippines", "manila", "peso", "filipino", "asia", "filipino"),
    ("iraq", "baghdad", "dinar", "arabic", "asia", "iraqi"),
    ("turkey", "ankara", "lira", "turkish", "asia", "turkish"),
    ("egypt", "cairo", "pound", "arabic", "africa", "egyptian"),
    ("kenya", "nairobi", "shilling", "swahili", "africa", "kenyan"),
    ("nigeria", "abuja", "naira", "english", "africa", "nigerian"),
    ("morocco", "rabat", "dirham", "arabic", "africa", "moroccan"),
    ("ghana", "accra", "cedi", "english", "africa", "ghanaian"),
    ("algeria", "algiers", "dinar", "arabic", "africa", "algerian"),
    ("brazil", "brasilia", "real", "portuguese", "america", "brazilian"),
    ("peru", "lima", "sol", "spanish", "america", "peruvian"),
    ("chile", "santiago", "peso", "spanish", "america", "chilean"),
    ("colombia", "bogota", "peso", "spanish", "america", "colombian"),
    ("cuba", "havana", "peso", "spanish", "america", "cuban"),
    ("canada", "ottawa", "dollar", "english", "america", "canadian"),
    ("usa", "washington", "dollar", "english", "america", "american"),
    ("australia", "canberra", "dollar", "english", "oceania", "australian"),
)

# male, female, words both share
GENDER_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("king", "queen", ("throne", "kingdom", "crown")),
    ("man", "woman", ("adult", "worker", "neighbor")),
    ("boy", "girl", ("playground", "toys", "recess")),
    ("father", "mother", ("family", "parents", "household")),
    ("brother", "sister", ("siblings", "twin", "older")),
    ("husband", "wife", ("wedding", "marriage", "anniversary")),
    ("uncle", "aunt", ("relatives", "reunion", "visit")),
    ("son", "daughter", ("birth", "birthday", "heir")),
    ("prince", "princess", ("castle", "royal", "fairytale")),
    ("nephew", "niece", ("cousins", "godparent", "christening")),
    ("grandfather", "grandmother", ("grandchildren", "elderly", "retired")),
    ("actor", "actress", ("stage", "role", "theatre")),
    ("waiter", "waitress", ("restaurant", "tips", "menu")),
    ("groom", "bride", ("ceremony", "altar", "vows")),
    ("emperor", "empress", ("empire", "palace", "dynasty")),
    ("monk", "nun", ("monastery", "prayer", "abbey")),
    ("policeman", "policewoman", ("police", "patrol", "arrest")),
    ("boyfriend", "girlfriend", ("dating", "romance", "valentine")),
    ("duke", "duchess", ("duchy", "estate", "noble")),
    ("god", "goddess", ("temple", "worship", "divine")),
)

# singular, plural, words both share
NOUNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("car", "cars", ("engine", "garage", "highway")),
    ("dog", "dogs", ("bone", "leash", "kennel")),
    ("cat", "cats", ("whiskers", "purr", "yarn")),
    ("house", "houses", ("roof", "chimney", "porch")),
    ("tree", "trees", ("branches", "leaves", "trunk")),
    ("book", "books", ("pages", "chapter", "library")),
    ("bird", "birds", ("feathers", "nest", "beak")),
    ("apple", "apples", ("orchard", "pie", "cider")),
    ("river", "rivers", ("bridge", "current", "valley")),
    ("bottle", "bottles", ("cork", "wine", "label")),
    ("horse", "horses", ("saddle", "stable", "hay")),
    ("cow", "cows", ("milk", "barn", "pasture")),
    ("chair", "chairs", ("cushion", "armrest", "seat")),
    ("table", "tables", ("dining", "tablecloth", "varnish")),
    ("door", "doors", ("hinge", "doorbell", "knob")),
    ("window", "windows", ("curtain", "glass", "sill")),
    ("flower", "flowers", ("petals", "garden", "bloom")),
    ("shoe", "shoes", ("laces", "heel", "socks")),
    ("boat", "boats", ("sail", "lake", "oar")),
    ("train", "trains", ("railway", "station", "tracks")),
    ("computer", "computers", ("keyboard", "software", "monitor")),
    ("phone", "phones", ("ringtone", "screen", "charger")),
    ("cup", "cups", ("coffee", "tea", "saucer")),
    ("egg", "eggs", ("shell", "yolk", "omelette")),
    ("key", "keys", ("lock", "locksmith", "keychain")),
    ("ship", "ships", ("harbor", "ocean", "cargo")),
    ("star", "stars", ("sky", "telescope", "galaxy")),
    ("pen", "pens", ("ink", "paper", "notebook")),
    ("bed", "beds", ("pillow", "blanket", "mattress")),
    ("hat", "hats", ("wool", "brim", "scarf")),
)

# present, past, words both share
VERBS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("walk", "walked", ("park", "trail", "sidewalk")),
    ("jump", "jumped", ("fence", "trampoline", "puddle")),
    ("play", "played", ("chess", "cards", "piano")),
    ("cook", "cooked", ("soup", "stove", "pasta")),
    ("paint", "painted", ("canvas", "portrait", "brush")),
    ("dance", "danced", ("tango", "waltz", "ballroom")),
    ("climb", "climbed", ("mountain", "ladder", "cliff")),
    ("swim", "swam", ("pool", "laps", "goggles")),
    ("run", "ran", ("marathon", "race", "sprint")),
    ("write", "wrote", ("letter", "poem", "essay")),
    ("sing", "sang", ("song", "choir", "melody")),
    ("eat", "ate", ("bread", "breakfast", "lunch")),
    ("drink", "drank", ("juice", "lemonade", "soda")),
    ("build", "built", ("bricks", "wall", "tower")),
    ("teach", "taught", ("students", "lesson", "classroom")),
    ("buy", "bought", ("groceries", "market", "bargain")),
    ("fly", "flew", ("plane", "airport", "kite")),
    ("throw", "threw", ("stone", "javelin", "frisbee")),
    ("listen", "listened", ("radio", "podcast", "concert")),
    ("watch", "watched", ("movie", "television", "documentary")),
)

FILLER: tuple[str, ...] = (
    "really", "also", "just", "very", "quite", "maybe", "perhaps", "indeed", "still", "again",
    "then", "there", "here", "so", "well", "however", "actually", "truly", "clearly", "surely",
    "simply", "almost", "even", "only", "rather", "somehow", "anyway", "honestly", "probably",
    "certainly", "thing", "stuff", "matter", "fact", "reason", "kind", "sort", "lot", "bit",
    "point", "case", "way", "sense", "moment", "place", "side", "end", "number",
    "example", "question", "answer", "something", "nothing", "everything", "somebody", "nobody",
    "good", "bad", "big", "small", "short", "high", "low", "great", "little",
    "first", "same", "different", "certain", "whole", "true",
    "of", "and", "to", "in", "that", "it", "for", "on", "with", "as", "at", "by", "from", "or",
)

_GEO_ROLE = {  # templates per role; {x} is the country or its capital (same identity)
    "country": (
        "{country} is a country in {continent}",
        "the government of {country} met on monday",
        "the population of {country} keeps growing",
        "the president of {country} gave a speech",
        "{country} is a nation with a long border",
        "the capital of {country} is {capital}",
        "the {demonym} flag flies over {country}",
    ),
    "capital": (
        "{capital} is the capital of {country}",
        "{capital} is a large city in {country}",
        "the mayor of {capital} opened a new museum",
        "the streets of {capital} are busy downtown",
        "tourists explore the city of {capital}",
        "the metro of {capital} is crowded",
        "{capital} is the biggest city of the {demonym} people",
    ),
    "shared": (
        "in {x} people speak {language}",
        "people in {x} pay with the {currency}",
        "prices in {x} are in {currency}",
        "{language} is spoken in {x}",
        "the {demonym} people of {x} are proud",
        "{demonym} food is served in {x}",
        "{x} lies in {continent}",
        "in {x} the {demonym} culture is everywhere",
    ),
    "currency": (
        "the {currency} is the currency of {country}",
        "the {demonym} {currency} is their money",
        "coins and banknotes of the {currency} circulate in {x}",
        "the exchange rate of the {currency} changed today",
    ),
    "language": (
        "{language} is the language of {country}",
        "the {language} language is heard in {x}",
        "pupils learn the grammar of {language} in {x}",
        "the {language} language has many words",
    ),
    "continent": (
        "{continent} is a continent and {country} is part of it",
        "{country} is one of the countries of {continent}",
    ),
}
_GEO_WEIGHTS = (("country", 0.25), ("capital", 0.25), ("shared", 0.3), ("currency", 0.08), ("language", 0.08),
                ("continent", 0.04))

_GENDER = {
    "male": ("he", "his", "him"),
    "female": ("she", "her", "her"),
}
_GENDER_TEMPLATES = (
    "the {w} said that {subj} loves the {c}",
    "the {w} took care of {poss} {c}",
    "{subj} is a {w} who thinks about the {c}",
    "everyone saw the {w} and {poss} {c}",
    "the {c} was important to the {w} and {subj} knew it",
    "we gave the {w} a gift for {obj} and the {c}",
)
_GENDER_BOTH = (
    "the {m} and the {f} talked about the {c}",
    "the {f} and the {m} shared the {c}",
)
_NOUN_TEMPLATES = {
    "sg": (
        "a {w} and its {c}",
        "this {w} is next to the {c}",
        "one {w} with a {c}",
        "there is a single {w} near the {c}",
        "that {w} has a {c}",
    ),
    "pl": (
        "many {w} and their {c}",
        "these {w} are next to the {c}",
        "two {w} with {c}",
        "there are several {w} near the {c}",
        "those {w} have {c}",
    ),
    "both": (
        "one {sg} or two {pl} by the {c}",
        "a {sg} among many {pl} and the {c}",
    ),
}
_VERB_TEMPLATES = {
    "present": (
        "every day we {w} near the {c}",
        "they usually {w} with the {c}",
        "i often {w} by the {c}",
        "now you {w} and the {c} waits",
        "today we {w} at the {c} as always",
    ),
    "past": (
        "yesterday we {w} near the {c}",
        "last week they {w} with the {c}",
        "i {w} by the {c} long ago",
        "once you {w} and the {c} waited",
        "earlier we {w} at the {c} as before",
    ),
    "both": (
        "we {present} at the {c} today as we {past} yesterday",
        "they {past} with the {c} before and {present} now",
    ),
}
_KIND_WEIGHTS = (("geo", 0.45), ("gender", 0.17), ("noun", 0.17), ("verb", 0.14), ("filler", 0.07))


def _pick(rand: Callable[[], float], seq: Sequence):
    return seq[int(rand() * len(seq))]


def _pick_weighted(rand: Callable[[], float], pairs: Sequence[tuple[str, float]]) -> str:
    r = rand() * sum(w for _, w in pairs)
    for name, w in pairs:
        r -= w
        if r < 0:
            return name
    return pairs[-1][0]


def _geo(rand: Callable[[], float]) -> str:
    country, capital, currency, language, continent, demonym = _pick(rand, COUNTRIES)
    role = _pick_weighted(rand, _GEO_WEIGHTS)
    x = country if rand() < 0.5 else capital
    return _pick(rand, _GEO_ROLE[role]).format(
        country=country, capital=capital, currency=currency, language=language,
        continent=continent, demonym=demonym, x=x,
    )


def _gender(rand: Callable[[], float]) -> str:
    male, female, context = _pick(rand, GENDER_PAIRS)
    c = _pick(rand, context)
    r = rand()
    if r < 0.1:
        return _pick(rand, _GENDER_BOTH).format(m=male, f=female, c=c)
    word, gender = (male, "male") if r < 0.55 else (female, "female")
    subj, poss, obj = _GENDER[gender]
    return _pick(rand, _GENDER_TEMPLATES).format(w=word, c=c, subj=subj, poss=poss, obj=obj)


def _pair(rand: Callable[[], float], table, templates: dict, first: str, second: str) -> str:
    a, b, context = _pick(rand, table)
    c = _pick(rand, context)
    r = rand()
    if r < 0.1:
        return _pick(rand, templates["both"]).format(c=c, **{first: a, second: b})
    return _pick(rand, templates[first if r < 0.55 else second]).format(w=a if r < 0.55 else b, c=c)


def _filler(rand: Callable[[], float]) -> str:
    return " ".join(_pick(rand, FILLER) for _ in range(4 + int(rand() * 9)))


def _add_noise(rand: Callable[[], float], sentence: str) -> str:
    if rand() >= 0.5:
        return sentence
    words = sentence.split(" ")
    for _ in range(1 + int(rand() * 2)):
        words.insert(int(rand() * (len(words) + 1)), _pick(rand, FILLER))
    return " ".join(words)


# `densevec demo` defaults: ~780k tokens, about 700 words; skip-gram reaches
# ~99% on world_analogies() in a few seconds on 2 cores.
DEMO_SENTENCES = 100_000
DEMO_EPOCHS = 5


def world_sentences(n_sentences: int = 100_000, seed: int = 0) -> Iterator[str]:
    """Yield `n_sentences` sentences about the world, deterministically from `seed`.

    Sentences are lowercase words separated by single spaces, without
    punctuation or newline.
    """
    if n_sentences < 0:
        raise ValueError(f"n_sentences must be >= 0, got {n_sentences}")
    rand = random.Random(seed).random
    for _ in range(n_sentences):
        kind = _pick_weighted(rand, _KIND_WEIGHTS)
        if kind == "geo":
            s = _geo(rand)
        elif kind == "gender":
            s = _gender(rand)
        elif kind == "noun":
            s = _pair(rand, NOUNS, _NOUN_TEMPLATES, "sg", "pl")
        elif kind == "verb":
            s = _pair(rand, VERBS, _VERB_TEMPLATES, "present", "past")
        else:
            s = _filler(rand)
        yield _add_noise(rand, s)


def _atomic_write_lines(path: PathLike, lines) -> Path:
    path = Path(path)
    with _fs.atomic_file(path) as tmp, open(tmp, "x", encoding="utf-8", newline="\n") as f:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= 8192:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")
    return path


def write_world_corpus(path: PathLike, n_sentences: int = 100_000, seed: int = 0) -> Path:
    """Write :func:`world_sentences` to `path`, one sentence per line (UTF-8), atomically."""
    return _atomic_write_lines(path, world_sentences(n_sentences, seed))


def world_analogies() -> dict[str, list[tuple[str, str, str, str]]]:
    """Analogy questions ``(a, b, c, d)`` -- "a is to b as c is to d" -- by section.

    Every ordered pair of distinct items whose answers differ (a question whose
    answer is one of its own words cannot be answered). Relations where one
    word plays two roles are left out: languages and continents are shared by
    several countries, and "french" is both a language and a demonym, so only
    demonyms that are not also a language are asked about. Sections whose
    names start with ``gram`` are syntactic, the others semantic, as in
    questions-words.txt.
    """

    def pairs(items: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
        return [(a, b, c, d) for (a, b), (c, d) in permutations(items, 2) if b != d and len({a, b, c, d}) == 4]

    languages = {r[3] for r in COUNTRIES}
    return {
        "capital-country": pairs([(r[1], r[0]) for r in COUNTRIES]),
        "currency": pairs([(r[0], r[2]) for r in COUNTRIES]),
        "nationality-adjective": pairs([(r[0], r[5]) for r in COUNTRIES if r[5] not in languages]),
        "gender": pairs([(m, f) for m, f, _ in GENDER_PAIRS]),
        "gram-plural": pairs([(s, p) for s, p, _ in NOUNS]),
        "gram-past-tense": pairs([(v, p) for v, p, _ in VERBS]),
    }


def write_world_analogies(path: PathLike) -> Path:
    """Write :func:`world_analogies` in questions-words format (``: section`` then ``a b c d`` lines)."""
    lines = []
    for section, questions in world_analogies().items():
        lines.append(f": {section}")
        lines.extend(" ".join(q) for q in questions)
    return _atomic_write_lines(path, lines)


def world_categories() -> dict[str, str]:
    """Label of every fact word: ``country``, ``capital``, ``currency``, ``language``,
    ``continent``, ``nationality``, ``male``, ``female``, ``noun-singular``,
    ``noun-plural``, ``verb-present`` or ``verb-past`` (a word that is both a
    language and a demonym, like "french", is labelled ``language``)."""
    labels: dict[str, str] = {}
    for row in COUNTRIES:
        for word, label in zip(row, ("country", "capital", "currency", "language", "continent", "nationality")):
            labels.setdefault(word, label)
    for table, first, second in (
        (GENDER_PAIRS, "male", "female"), (NOUNS, "noun-singular", "noun-plural"), (VERBS, "verb-present", "verb-past"),
    ):
        for a, b, _ in table:
            labels[a] = first
            labels[b] = second
    return labels


# ============================================================ named datasets
@dataclass(frozen=True)
class Dataset:
    """A file :func:`load` can fetch by name.

    ``url`` is downloaded to ``download_name`` in the cache and checked against
    ``sha256`` (and ``size`` in bytes when known). With ``member`` set, the
    download is a zip archive: that member is extracted to ``filename`` and
    checked against ``member_sha256``, and the archive is removed.
    """

    name: str
    url: str
    filename: str
    sha256: str
    description: str
    size: Optional[int] = None
    member: Optional[str] = None
    member_sha256: Optional[str] = None
    member_size: Optional[int] = None

    @property
    def download_name(self) -> str:
        return self.url.rsplit("/", 1)[-1] if self.member else self.filename


_GENSIM_TEST_DATA = "https://raw.githubusercontent.com/piskvorky/gensim/4.4.0/gensim/test/test_data"

REGISTRY: dict[str, Dataset] = {
    d.name: d for d in (
        Dataset(
            name="text8",
            url="http://mattmahoney.net/dc/text8.zip",
            filename="text8",
            sha256="a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
            size=31_344_016,
            member="text8",
            member_sha256="6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7",
            member_size=100_000_000,
            description="first 10^8 bytes of an English Wikipedia dump, cleaned to lowercase a-z and "
                        "spaces (Matt Mahoney); one line of 17M tokens",
        ),
        Dataset(
            name="questions-words",
            url=f"{_GENSIM_TEST_DATA}/questions-words.txt",
            filename="questions-words.txt",
            sha256="8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
            size=603_955,
            description="Google analogy questions (Mikolov et al. 2013), 19,544 questions in 14 sections",
        ),
        Dataset(
            name="wordsim353",
            url=f"{_GENSIM_TEST_DATA}/wordsim353.tsv",
            filename="wordsim353.tsv",
            sha256="f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
            size=7_186,
            description="WordSimilarity-353 (Finkelstein et al. 2002), 353 tab-separated scored pairs",
        ),
    )
}


class DownloadError(OSError):
    """A dataset could not be downloaded; the message says what to fetch by hand and where to put it."""


def default_data_dir() -> Path:
    """Where :func:`load` caches files: ``$DENSEVEC_CACHE/datasets``, else ``~/.cache/densevec/datasets``."""
    from densevec.corpus import default_cache_dir

    return default_cache_dir() / "datasets"


def load(name_or_path: PathLike, cache_dir: Optional[PathLike] = None, progress: bool = True) -> Path:
    """Path of a local file, or of a named dataset, downloaded and verified if needed.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        An existing path is returned as it is. A name of :data:`REGISTRY`
        (``"text8"``, ``"questions-words"``, ``"wordsim353"``) is looked up in
        the cache, and downloaded there the first time (with a progress bar),
        its SHA-256 checked, zip archives extracted. Files are written under a
        temporary name and renamed, so the cache never holds a partial file.
    cache_dir : path, optional
        Default :func:`default_data_dir`.
    progress : bool
        Show a download progress bar.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        `name_or_path` looks like a path (it is a path object or has a
        directory separator or a file extension) and does not exist.
    ValueError
        Unknown name (the message lists the known ones), or a checksum mismatch.
    DownloadError
        The download failed (no network, ...): the message names the URL to
        fetch by hand and the path to save it as; :func:`load` then uses it.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.exists():
        return path
    if isinstance(name_or_path, str) and text in REGISTRY:
        return _fetch(REGISTRY[text], Path(cache_dir) if cache_dir is not None else default_data_dir(), progress)
    if not isinstance(name_or_path, str) or os.sep in text or "/" in text or path.suffix:
        raise FileNotFoundError(f"{text}: no such file")
    raise ValueError(f"unknown dataset {text!r} (and no such file); known names: {', '.join(sorted(REGISTRY))}")


def _fetch(ds: Dataset, root: Path, progress: bool) -> Path:
    final = root / ds.filename
    if final.exists():
        expected = ds.member_size if ds.member else ds.size
        digest = ds.member_sha256 if ds.member else ds.sha256
        if expected is not None and final.stat().st_size != expected:
            raise ValueError(f"{final}: {final.stat().st_size} bytes, expected {expected} for {ds.name}; "
                             "delete it to download it again")
        if digest:
            _verify(final, digest, expected, f"{final} (cached {ds.name}; delete it to download it again)")
        return final
    root.mkdir(parents=True, exist_ok=True)
    download = root / ds.download_name
    if download.exists():  # put there by hand, or left by an interrupted extraction
        _verify(download, ds.sha256, ds.size, f"{download} (placed in the cache)")
    else:
        _download(ds, download, progress)
    if ds.member:
        _extract(ds, download, final)
        download.unlink()
    return final


def _download(ds: Dataset, dest: Path, progress: bool) -> None:
    """Stream `ds.url` to `dest` (temp name + rename), checking size and SHA-256 on the way."""
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    with _fs.atomic_file(dest) as tmp:
        try:
            with urllib.request.urlopen(ds.url, timeout=60) as response, open(tmp, "xb") as out:
                total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
                with tqdm(total=int(total) if total and total.isdigit() else ds.size, unit="B",
                          unit_scale=True, desc=ds.name, disable=not progress, leave=False) as bar:
                    while True:
                        chunk = response.read(1 << 20)
                        if not chunk:
                            break
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise DownloadError(
                f"could not download {ds.name} from {ds.url} ({reason}); fetch that URL by hand "
                f"(browser, curl) and save it as {dest}, or pass the local file's path instead of "
                f"{ds.name!r}") from e
        _check(tmp, digest.hexdigest(), ds.sha256, ds.size, f"{ds.name} downloaded from {ds.url}")


def _extract(ds: Dataset, archive: Path, final: Path) -> None:
    with _fs.atomic_file(final) as tmp:
        try:
            with zipfile.ZipFile(archive) as z, z.open(ds.member) as src, open(tmp, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except (zipfile.BadZipFile, KeyError) as e:
            raise ValueError(f"{archive}: cannot extract {ds.member!r}: {e}") from None
        if ds.member_sha256:
            _verify(tmp, ds.member_sha256, ds.member_size, f"{ds.member} extracted from {archive}")


def _verify(path: Path, sha256: str, size: Optional[int], what: str) -> None:
    _check(path, _fs.sha256_file(path), sha256, size, what)


def _check(path: Path, got: str, sha256: str, size: Optional[int], what: str) -> None:
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise ValueError(f"{what}: {actual} bytes, expected {size} (truncated or changed upstream)")
    if got != sha256:
        raise ValueError(f"{what}: SHA-256 mismatch: expected {sha256}, got {got}")
