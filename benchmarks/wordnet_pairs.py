"""WordNet 3.0 reverse-dictionary pairs for the contrastive benchmark.

Fetches Debian's ``wordnet-base`` (``apt-get download`` into a temporary
directory, ``dpkg -x``; serialised by ``flock`` on /tmp/dv-wordnet.lock),
parses ``data.{noun,verb,adj,adv}`` and writes, under
``~/.cache/embedding-corpora/wordnet/`` (never into the repository):

* ``train.tsv``: ``definition<TAB>lemma`` for every lemma of every train
  synset, and ``definition<TAB>example`` for every example sentence;
* ``dev.json`` / ``test.json``: the reverse-dictionary task of the split --
  ``queries`` (one definition per synset), ``candidates`` (every distinct
  lemma of the split's synsets) and ``relevant`` (per query, the indices of
  its synset's lemmas among the candidates).

Text is normalised as big.txt is (``../shared/data/make_corpora.sh``: NFKD +
ASCII folding, lower case, every run of characters outside a-z -> one space),
so that tokens match word vectors trained on big.txt; ``hot_dog`` -> ``hot dog``.
Synsets are split 80/10/10 into train/dev/test with a fixed seed.

Usage: ``python benchmarks/wordnet_pairs.py`` (prints the cache directory).
"""
from __future__ import annotations

import fcntl
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

SEED = 20260101
CACHE = Path(os.environ.get("DENSEVEC_CORPORA", Path.home() / ".cache" / "embedding-corpora")) / "wordnet"
FILES = ("train.tsv", "dev.json", "test.json")

_NONALPHA = re.compile(r"[^a-z]+")
_COMBINING = re.compile("[\u0300-\u036f]")
_MARKER = re.compile(r"\([a-z]+\)$")  # adjective position markers: (a), (p), (ip)


def norm(s: str) -> str:
    s = _COMBINING.sub("", unicodedata.normalize("NFKD", s))
    s = re.sub(r"[^\x00-\x7f]", " ", s).lower()
    return _NONALPHA.sub(" ", s).strip()


def parse_data_file(path: str) -> list[tuple[list[str], str, list[str]]]:
    """(lemmas, definition, examples) of every synset of one data.POS file."""
    out = []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  ") or " | " not in line:
                continue  # licence header
            head, gloss = line.split(" | ", 1)
            fields = head.split()
            n_words = int(fields[3], 16)
            lemmas = [_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ") for i in range(n_words)]
            parts = gloss.strip().split('; "')
            definition = parts[0]
            examples = [p.strip().strip('"').strip() for p in parts[1:]]
            out.append((lemmas, definition, examples))
    return out


def fetch_synsets(workdir: Path) -> list[tuple[list[str], str, list[str]]]:
    subprocess.run(["apt-get", "-q", "download", "wordnet-base"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    deb = sorted(glob.glob(str(workdir / "wordnet-base_*.deb")))[-1]
    subprocess.run(["dpkg", "-x", deb, str(workdir / "root")], check=True)
    synsets = []
    for pos in ("noun", "verb", "adj", "adv"):
        synsets += parse_data_file(str(workdir / "root" / "usr" / "share" / "wordnet" / f"data.{pos}"))
    return synsets


def task(synsets: list) -> dict:
    """Reverse dictionary: each synset's definition retrieves its lemmas."""
    index: dict[str, int] = {}
    queries, relevant = [], []
    for lemmas, definition, _ in synsets:
        rel = sorted({index.setdefault(lemma, len(index)) for lemma in lemmas})
        queries.append(definition)
        relevant.append(rel)
    return {"queries": queries, "candidates": list(index), "relevant": relevant}


def build(cache: Path = CACHE) -> Path:
    """Builds the cache once (a no-op when it is complete); returns its directory."""
    import numpy as np

    cache.mkdir(parents=True, exist_ok=True)
    with open("/tmp/dv-wordnet.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((cache / f).is_file() for f in FILES):
            return cache
        with tempfile.TemporaryDirectory(prefix="dv-wordnet-") as tmp:
            raw = fetch_synsets(Path(tmp))
        synsets = []
        for lemmas, definition, examples in raw:
            lemmas = [x for x in dict.fromkeys(norm(x) for x in lemmas) if x]
            definition = norm(definition)
            examples = [e for e in (norm(x) for x in examples) if e]
            if lemmas and definition:
                synsets.append((lemmas, definition, examples))
        order = np.random.default_rng(SEED).permutation(len(synsets))
        n_dev = n_test = len(synsets) // 10
        split = {"test": order[:n_test], "dev": order[n_test:n_test + n_dev], "train": order[n_test + n_dev:]}
        lines = []
        for i in sorted(split["train"]):
            lemmas, definition, examples = synsets[i]
            lines += [f"{definition}\t{x}\n" for x in lemmas]
            lines += [f"{definition}\t{x}\n" for x in examples]
        (cache / "train.tsv.tmp").write_text("".join(lines), encoding="utf-8")
        os.replace(cache / "train.tsv.tmp", cache / "train.tsv")
        for name in ("dev", "test"):
            doc = task([synsets[i] for i in sorted(split[name])])
            (cache / f"{name}.json.tmp").write_text(json.dumps(doc), encoding="utf-8")
            os.replace(cache / f"{name}.json.tmp", cache / f"{name}.json")
    return cache


if __name__ == "__main__":
    path = build()
    sys.stdout.write(f"{path}\n")
