"""WordNet 3.0's synset graph, built from Debian's ``wordnet-base`` package.

Nodes: the noun and verb synsets (``<offset>-n`` / ``<offset>-v``). Edges: the
pointers of ``data.noun`` and ``data.verb`` between them (hypernym, hyponym,
meronym, holonym, entailment, ...), undirected. Labels: each synset's
lexicographer file (``noun.animal``, ``verb.motion``, ...; 45 classes).

The package is fetched with ``apt-get download`` into a temporary directory
(under ``flock /tmp/dv-wordnet.lock``) and unpacked with ``dpkg -x``; the graph
is cached as ``synset-edges.tsv`` and ``synset-labels.tsv`` under
``~/.cache/embedding-corpora/wordnet/`` (``$DENSEVEC_CORPORA`` overrides the
root). Nothing is committed.

    python benchmarks/wordnet_graph.py      # builds (or finds) the cache, prints a summary
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_corpus_dir  # noqa: E402

LOCK = "/tmp/dv-wordnet.lock"
# WordNet's lexicographer files by number (the package does not ship the lexnames file)
LEXNAMES = dict(enumerate(
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather "
    "adj.ppl".split()))


def cache_dir() -> Path:
    return default_corpus_dir() / "wordnet"


def _parse(data: Path, pos: str, lexnames: dict, edges: set, labels: dict) -> None:
    with open(data, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head = line.split("|", 1)[0].split()
            offset, lexfile = head[0], int(head[1])
            node = f"{offset}-{pos}"
            labels[node] = lexnames.get(lexfile, f"lex{lexfile:02d}")
            w_cnt = int(head[3], 16)
            i = 4 + 2 * w_cnt
            p_cnt = int(head[i])
            i += 1
            for k in range(p_cnt):
                _sym, target, tpos = head[i + 4 * k], head[i + 4 * k + 1], head[i + 4 * k + 2]
                if tpos in ("n", "v"):
                    other = f"{target}-{tpos}"
                    if other != node:
                        edges.add((min(node, other), max(node, other)))


def build(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="dv-wordnet.") as tmp:
        subprocess.run(["apt-get", "download", "wordnet-base"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        deb = next(Path(tmp).glob("wordnet-base_*.deb"))
        root = Path(tmp) / "root"
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        dict_dir = next(p.parent for p in root.rglob("data.noun"))
        lexnames = dict(LEXNAMES)
        if (dict_dir / "lexnames").is_file():
            for line in (dict_dir / "lexnames").read_text(encoding="latin-1").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    lexnames[int(parts[0])] = parts[1]
        edges: set = set()
        labels: dict = {}
        _parse(dict_dir / "data.noun", "n", lexnames, edges, labels)
        _parse(dict_dir / "data.verb", "v", lexnames, edges, labels)
        out.mkdir(parents=True, exist_ok=True)
        tmp_edges = out / "synset-edges.tsv.part"
        tmp_labels = out / "synset-labels.tsv.part"
        with open(tmp_edges, "w") as f:
            f.write(f"# WordNet 3.0 noun+verb synset graph from {deb.name}: {len(edges)} undirected edges\n")
            for a, b in sorted(edges):
                f.write(f"{a} {b}\n")
        with open(tmp_labels, "w") as f:
            for node in sorted(labels):
                f.write(f"{node}\t{labels[node]}\n")
        os.replace(tmp_labels, out / "synset-labels.tsv")  # benchmark data cache, not a densevec artefact
        os.replace(tmp_edges, out / "synset-edges.tsv")


def wordnet_graph() -> tuple[Path, dict]:
    """(edge-list path, {node: lexicographer file}), building the cache on first use."""
    out = cache_dir()
    edges, labels = out / "synset-edges.tsv", out / "synset-labels.tsv"
    if not edges.is_file():
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not edges.is_file():
                build(out)
    table = dict(line.rstrip("\n").split("\t") for line in open(labels, encoding="utf-8"))
    return edges, table


if __name__ == "__main__":
    path, labels = wordnet_graph()
    n_edges = sum(1 for line in open(path) if not line.startswith("#"))
    print(f"{path}: {len(labels)} synsets, {n_edges} edges, {len(set(labels.values()))} classes")
