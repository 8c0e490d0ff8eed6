"""Shared helpers for the benchmark scripts: child processes with peak RSS,
quality evaluation, markdown tables."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

EVAL_DIR_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "shared" / "data" / "eval",
    Path(__file__).resolve().parents[1] / "shared" / "data" / "eval",
]


def default_corpus_dir() -> Path:
    return Path(os.environ.get("DENSEVEC_CORPORA",
                               Path.home() / ".cache" / "embedding-corpora"))


def eval_dir() -> Optional[Path]:
    env = os.environ.get("DENSEVEC_EVAL")
    if env:
        return Path(env)
    for p in EVAL_DIR_CANDIDATES:
        if (p / "questions-words.txt").is_file():
            return p
    d = default_corpus_dir() / "eval"
    return d if (d / "questions-words.txt").is_file() else None


def run_child(args: Sequence[str], env: Optional[dict] = None) -> tuple[dict, float, float]:
    """Runs a child Python process that prints one JSON line last, with its
    peak RSS in MiB under "peak_rss_mib".

    Returns (its JSON, wall seconds, peak RSS in MiB of the child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, env=env, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed with status {proc.returncode}")
    lines = [l for l in out.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1])
    return result, wall, float(result.get("peak_rss_mib", float("nan")))


def add_extra_args(ap, what: str) -> None:
    """`--dv KEY=VALUE ...`: extra densevec constructor arguments (a variant under study)."""
    ap.add_argument("--dv", nargs="*", default=[], metavar="KEY=VALUE",
                    help=f"extra densevec {what} arguments, JSON values (e.g. min_alpha=0.0042)")


def parse_extra_args(pairs: Sequence[str]) -> dict:
    """{key: value} of `--dv` pairs; a value that is not JSON stays a string."""
    extra = {}
    for kv in pairs:
        k, _, v = kv.partition("=")
        try:
            extra[k] = json.loads(v)
        except json.JSONDecodeError:
            extra[k] = v
    return extra


def own_peak_rss_mib() -> float:
    """This process's own peak RSS in MiB: ``VmHWM`` of /proc/self/status, or
    NaN where there is none.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is no use in a child: Linux carries
    the parent's peak over ``exec``, so a child of a large parent reports at
    least the parent's RSS."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mib() -> float:
    """Peak RSS in MiB of this process (its own high-water mark) or of any
    child it waited for (a tool run as a command), whichever is larger."""
    import resource

    own = own_peak_rss_mib()
    if own != own:  # no /proc: ru_maxrss, with the caveat above
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return max(own, kids)


def evaluate_quality(words: list[str], vectors: np.ndarray) -> dict:
    """Analogy accuracy (questions-words, 3CosAdd, restrict_vocab=30000,
    case-insensitive) and WordSim353 Spearman, with gensim's evaluators as a
    neutral referee when gensim is installed, else densevec's own."""
    d = eval_dir()
    if d is None:
        return {"analogy": float("nan"), "analogy_n": 0, "ws353": float("nan")}
    try:
        from gensim.models import KeyedVectors

        kv = KeyedVectors(vectors.shape[1])
        kv.add_vectors(words, vectors)
        acc, sections = kv.evaluate_word_analogies(str(d / "questions-words.txt"),
                                                   restrict_vocab=30000, case_insensitive=True)
        total = [s for s in sections if s["section"] == "Total accuracy"][0]
        n = len(total["correct"]) + len(total["incorrect"])
        ws = kv.evaluate_word_pairs(str(d / "wordsim353.tsv"), case_insensitive=True)
        return {"analogy": 100.0 * acc, "analogy_n": n, "ws353": float(ws[1][0]), "referee": "gensim"}
    except ImportError:
        import densevec as dv
        from densevec import evaluate

        emb = dv.Embeddings(vectors, words)
        a = evaluate.analogies(emb, d / "questions-words.txt", restrict_vocab=30000)
        p = evaluate.word_pairs(emb, d / "wordsim353.tsv")
        return {"analogy": 100.0 * a.accuracy, "analogy_n": a.total, "ws353": p.spearman,
                "referee": "densevec"}


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            if v != v:
                return "–"
            return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def machine_line() -> str:
    import platform

    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def bar_chart(path: str, title: str, labels: Sequence[str], values: Sequence[float],
              ylabel: str) -> Optional[str]:
    """Writes a bar chart PNG next to a results table when matplotlib is installed;
    returns the path, or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    fig = Figure(figsize=(7, 3.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(range(len(values)), values, color="#4c72b0")
    ax.set_xticks(range(len(values)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def emit(report: str, out: Optional[str]) -> None:
    """Prints a benchmark's markdown report and writes it to `out` when given."""
    print(report)
    if out:
        Path(out).write_text(report, encoding="utf-8")
