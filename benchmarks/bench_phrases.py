"""Phrase detection, densevec.Phrases against gensim's Phrases, same settings, same run.

    python benchmarks/bench_phrases.py [--corpus big.txt] [--threads 0] [--config default npmi-connectors]

Each fit runs in a child process (peak RSS is the child's). densevec fits from
the file (C++: count, merge, score, export); gensim 4.4 fits Phrases from a
stream of the file's lines split at ASCII whitespace (the same tokens densevec
sees; reading and splitting are part of its time, as with LineSentence), then
calls export_phrases(). The phrase sets (keys) and scores of the two are
compared: count, symmetric difference and the largest score difference.
--transform also times joining the whole corpus (densevec: transform_file to a
temporary file; gensim: FrozenPhrases over the stream, output discarded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

CONFIGS = {
    # gensim's defaults
    "default": {"min_count": 5, "threshold": 10.0, "scoring": "default", "connectors": False},
    "npmi-connectors": {"min_count": 5, "threshold": 0.5, "scoring": "npmi", "connectors": True},
}


class LineTokens:
    """The corpus's lines as token lists (ASCII whitespace, as densevec splits)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __iter__(self):
        with open(self.path, "rb") as f:
            for line in f:
                yield [t.decode("utf-8", "surrogateescape") for t in line.split()]


def worker(tool: str, config: str, threads: int, corpus: str, out_json: str, transform: bool) -> None:
    cfg = CONFIGS[config]
    info: dict = {}
    if tool == "densevec":
        import densevec as dv

        ph = dv.Phrases(min_count=cfg["min_count"], threshold=cfg["threshold"], scoring=cfg["scoring"],
                        connector_words=dv.ENGLISH_CONNECTOR_WORDS if cfg["connectors"] else (),
                        threads=threads)
        t0 = time.perf_counter()
        ph.fit(corpus)
        phrases = ph.export_phrases()
        seconds = time.perf_counter() - t0
        info["entries"] = ph.stats["vocab_size"]
        info["pruned"] = "yes" if ph.stats["pruned_entries"] else "no"
        if transform:
            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                ph.transform_file(corpus, Path(d) / "out.txt")
                info["transform_seconds"] = time.perf_counter() - t0
    else:
        from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, Phrases

        t0 = time.perf_counter()
        g = Phrases(LineTokens(corpus), min_count=cfg["min_count"], threshold=cfg["threshold"],
                    scoring=cfg["scoring"],
                    connector_words=ENGLISH_CONNECTOR_WORDS if cfg["connectors"] else frozenset())
        phrases = g.export_phrases()
        seconds = time.perf_counter() - t0
        info["entries"] = len(g.vocab)
        info["pruned"] = "yes" if g.min_reduce > 1 else "no"
        if transform:
            frozen = g.freeze()
            del g
            t0 = time.perf_counter()
            for _ in frozen[LineTokens(corpus)]:
                pass
            info["transform_seconds"] = time.perf_counter() - t0
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(phrases, f)
    print(json.dumps({"seconds": seconds, "phrases": len(phrases), **info,
                      "peak_rss_mib": _common.peak_rss_mib()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(_common.default_corpus_dir() / "big.txt"))
    ap.add_argument("--threads", type=int, default=0, help="densevec threads (0 = all cores)")
    ap.add_argument("--config", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--transform", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("_worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        tool, config, threads, corpus, out_json, transform = args._worker
        worker(tool, config, int(threads), corpus, out_json, transform == "1")
        return
    corpus = Path(args.corpus).resolve()
    size_mb = corpus.stat().st_size / 1e6
    me = os.path.abspath(__file__)
    threads = args.threads or os.cpu_count() or 1
    rows, checks = [], []
    with tempfile.TemporaryDirectory(prefix="dv-bench-phrases-") as tmp:
        for config in args.config:
            res, found = {}, {}
            for tool in ("densevec", "gensim"):
                out_json = os.path.join(tmp, f"{tool}-{config}.json")
                r, _, rss = _common.run_child([me, tool, config, str(threads), str(corpus), out_json,
                                               "1" if args.transform else "0"])
                res[tool] = (r, rss)
                with open(out_json, encoding="utf-8") as f:
                    found[tool] = json.load(f)
                print(f"{config:16s} {tool:8s}: {r['seconds']:.2f} s, {r['phrases']} phrases, "
                      f"{r['entries']} entries, peak RSS {rss:.0f} MiB", flush=True)
            d, g = found["densevec"], found["gensim"]
            common = d.keys() & g.keys()
            max_diff = max((abs(d[k] - g[k]) for k in common), default=0.0)
            identical = d.keys() == g.keys() and all(d[k] == g[k] for k in common)
            checks.append([config, len(d), len(g), len(d.keys() ^ g.keys()), max_diff,
                           "yes" if identical else "no"])
            gsec = res["gensim"][0]["seconds"]
            for tool in ("densevec", "gensim"):
                r, rss = res[tool]
                row = [config, tool, threads if tool == "densevec" else 1, r["seconds"],
                       gsec / r["seconds"], rss, r["entries"], r["pruned"], r["phrases"]]
                if args.transform:
                    row.insert(5, r["transform_seconds"])
                rows.append(row)
    cfg_lines = [f"- `{name}`: min_count={c['min_count']}, threshold={c['threshold']}, "
                 f"scoring={c['scoring']!r}, connector_words="
                 f"{'ENGLISH_CONNECTOR_WORDS' if c['connectors'] else 'none'}"
                 for name, c in CONFIGS.items() if name in args.config]
    headers = ["config", "tool", "threads", "fit seconds", "speed-up vs gensim", "peak RSS MiB",
               "count entries", "pruned", "phrases"]
    if args.transform:
        headers.insert(5, "transform seconds")
    report = "\n".join([
        f"## Phrases: {corpus.name} ({size_mb:.0f} MB)",
        "",
        f"Machine: {_common.machine_line()}. Fit = count unigrams and bigram candidates, score, "
        "export the phrases (densevec from the file in C++; gensim 4.4 from the file's lines "
        "split at ASCII whitespace, reading included). Same settings, same run:",
        "",
        *cfg_lines,
        "",
        _common.markdown_table(headers, rows),
        "",
        "Same phrases? (export_phrases() of each; scores compared as floats)",
        "",
        _common.markdown_table(["config", "densevec phrases", "gensim phrases", "symmetric difference",
                                "max |score difference|", "identical"], checks),
    ]) + "\n"
    _common.emit(report, args.out)


if __name__ == "__main__":
    main()
