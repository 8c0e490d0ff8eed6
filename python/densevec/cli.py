"""The ``densevec`` command line.

Subcommands: ``train``, ``neighbors``, ``analogy``, ``vectors``, ``eval``,
``convert``, ``reduce``, ``info``, ``plot``, ``cache`` and ``demo``. Bad
arguments or input files end the command with one line
``densevec CMD: error: ...`` on stderr and exit status 2. Ctrl-C ends a
command with status 130; ``densevec train`` and ``demo`` then write nothing
(an existing store at ``-o`` is left as it was; no partial model is saved).

Conventions:

* ``--json`` (every subcommand): the result as one JSON document on stdout
  and nothing else there (progress bars and errors go to stderr). Every ratio
  in it (accuracies, ``oov_ratio``, explained variance, neighbour overlap) is
  a *fraction* in [0, 1], never a percentage; a value that is undefined (the
  accuracy of a section with no question, a correlation of constant scores)
  is ``null``, where the text output shows ``-``.
* ``-`` reads standard input where a file is expected: ``densevec train - -o
  S`` trains on text piped in; ``neighbors`` and ``vectors`` read their words
  from stdin (whitespace-separated, one per line as fastText's ``nn`` and
  ``print-word-vectors`` take them) when given ``-`` or no word.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from densevec import __version__, _fs
from densevec import _cli_text


class UsageError(Exception):
    """Bad arguments or input files: reported in one line, exit status 2."""


def _int_at_least(minimum: int, maximum: Optional[int] = None):
    """argparse type: an integer in [minimum, maximum]."""
    from densevec._validate import check_int

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        try:
            return check_int("value", value, minimum, maximum)
        except ValueError as e:
            raise argparse.ArgumentTypeError("expected an integer " + str(e)[len("value must be "):]) from None

    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)


def _bounded_ints():
    """argparse types of the arguments that reach the compiled core's C ints."""
    from densevec._validate import INT32_MAX, MAX_THREADS, UINT64_MAX

    return {"int32": _int_at_least(1, INT32_MAX), "int32_0": _int_at_least(0, INT32_MAX),
            "threads": _int_at_least(0, MAX_THREADS), "seed": _int_at_least(0, UINT64_MAX)}


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _pick_probe_words(emb, n: int = 4) -> list[str]:
    """A few mid-frequency words to show neighbours for on an arbitrary corpus."""
    words = emb.index_to_word
    picks = [words[i] for i in (50, 100, 200, 400, 800) if i < len(words)]
    return picks[:n] or words[:n]


def cmd_demo(args: argparse.Namespace) -> int:
    say = _say(args)
    _check_output(Path(args.out), "store", True)
    workdir = _fs.temp_dir("demo")
    try:
        return _demo(args, say, workdir)
    finally:
        _fs.remove_temp_dir(workdir)


def _demo(args: argparse.Namespace, say, workdir: Path) -> int:
    from densevec import datasets, evaluate
    from densevec.corpus import Corpus
    from densevec.word2vec import Word2Vec

    if args.corpus:
        corpus_path = Path(args.corpus)
        analogies_path = Path(args.analogies) if args.analogies else None
        probes = None
        say(f"corpus: {corpus_path}")
    else:
        corpus_path = datasets.write_world_corpus(
            workdir / "world.txt", n_sentences=args.sentences, seed=args.seed)
        analogies_path = Path(args.analogies) if args.analogies else datasets.write_world_analogies(
            workdir / "world-analogies.txt")
        probes = ["paris", "king", "dogs", "walked"]
        say(f"corpus: built-in world corpus, {args.sentences} sentences (seed {args.seed})")
    if analogies_path is not None and not analogies_path.is_file():
        raise UsageError(f"{analogies_path}: no such analogy file")
    try:
        corpus = Corpus.from_file(corpus_path, min_count=args.min_count, threads=args.threads,
                                  cache=False, progress=not (args.quiet or args.json))
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    say(f"vocabulary: {len(corpus.vocab)} words, {corpus.n_tokens} tokens, "
        f"{corpus.n_sentences} sentences")
    model = Word2Vec(dim=args.dim, mode="skipgram", window=5, negative=5, epochs=args.epochs,
                     threads=args.threads, seed=args.seed)
    t0 = time.perf_counter()
    emb = _fit_or_interrupt(model, corpus, progress=not (args.quiet or args.json))
    seconds = time.perf_counter() - t0
    words = sum(h["words"] for h in model.history)
    doc: dict = {"corpus": str(corpus_path) if args.corpus else "built-in world corpus",
                 "vocabulary": {"words": len(corpus.vocab), "tokens": corpus.n_tokens,
                                "sentences": corpus.n_sentences},
                 "dim": args.dim, "epochs": args.epochs, "seconds": seconds,
                 "words_per_second": words / max(seconds, 1e-9), "history": model.history, "neighbors": {}}
    say(f"trained skip-gram dim={args.dim} epochs={args.epochs} in {seconds:.1f} s "
        f"({words / max(seconds, 1e-9):,.0f} words/s); loss per word by epoch: "
        + ", ".join(f"{h['loss_per_word']:.3f}" for h in model.history))
    probes = [w for w in (probes or _pick_probe_words(emb)) if w in emb]
    for w in probes:
        found = emb.most_similar(w, topn=5)
        doc["neighbors"][w] = [{"word": n, "similarity": s} for n, s in found]
        near = ", ".join(f"{n} ({s:.2f})" for n, s in found)
        say(f"  nearest to {w!r}: {near}")
    if analogies_path is not None:
        report = evaluate.analogies(emb, analogies_path, restrict_vocab=len(emb))
        doc["analogies"] = _fractions({"analogies": report.to_dict()})["analogies"]
        say(str(report))
    out = Path(args.out)
    _save(emb, out, "store", overwrite=True)  # the demo's own output: a store there is replaced
    say(f"saved the model to {out}")
    if args.json:
        _print_json(dict(doc, output=str(out)))
    return 0


# ================================================================ helpers
_JSON_HELP = "print the result as JSON on stdout (ratios as fractions in [0, 1], undefined values null)"
FORMATS = ("store", "word2vec-bin", "word2vec-txt", "glove")


def _say(args: argparse.Namespace):
    """print, or nothing under ``--quiet`` or ``--json`` (stdout then holds the JSON document only)."""
    silent = getattr(args, "quiet", False) or getattr(args, "json", False)
    return (lambda *a: None) if silent else (lambda *a: print(*a, flush=True))


def _detect_format(path: Path) -> str:
    """``store`` for a directory, else sniff a word2vec text / binary or GloVe text file."""
    if path.is_dir():
        return "store"
    with _fs.open_regular(path, "a store directory or a vector file") as f:
        head = f.readline(1024)
        second = f.read(4096)
    parts = head.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts) and head.endswith(b"\n"):
        dim = int(parts[1])
        line = second.split(b"\n", 1)[0]
        try:
            fields = line.decode("utf-8").rstrip().split(" ")
        except UnicodeDecodeError:
            return "word2vec-bin"
        if len(fields) == dim + 1 and all(_is_number(x) for x in fields[1:]):
            return "word2vec-txt"
        return "word2vec-bin"
    return "glove"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _load(path_text: str, fmt: Optional[str] = None):
    """Embeddings from a store or a foreign file; UsageError on a missing or bad input."""
    from densevec.vectors import Embeddings

    path = Path(path_text)
    if not path.exists():
        raise UsageError(f"{path}: no such file or store")
    try:
        fmt = fmt or _detect_format(path)
        if fmt == "store":
            return Embeddings.load(path)
        return Embeddings.load_word2vec_format(path, binary=fmt == "word2vec-bin", no_header=fmt == "glove")
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None


def _save(emb, path: Path, fmt: str, overwrite: bool) -> None:
    try:
        if fmt == "store":
            emb.save(path, overwrite=overwrite)
        else:
            emb.save_word2vec_format(path, binary=fmt == "word2vec-bin", write_header=fmt != "glove",
                                     overwrite=overwrite)
    except (OSError, ValueError) as e:
        raise UsageError(_cli_words(str(e))) from None


def _cli_words(message: str) -> str:
    return message.replace("pass overwrite=True to replace it", "--overwrite replaces it")


def _check_output(path: Path, fmt: str, overwrite: bool) -> None:
    """UsageError before any work when the output could not be written (see :mod:`densevec._fs`)."""
    _check_output_parent(path)
    try:
        if fmt == "store":
            _fs.check_target_dir(path, "store", overwrite)
        else:
            _fs.check_target_file(path, overwrite)
    except FileExistsError as e:
        raise UsageError(_cli_words(str(e))) from None
    except OSError as e:
        raise UsageError(f"{path}: cannot be written: {e.strerror or e}") from None


def _check_output_parent(path: Path) -> None:
    """UsageError when the directory that would hold `path` cannot be made or written.

    Missing directories are created when the output is written; the nearest
    one that exists must be a directory this process can write to.
    """
    import os

    parent = path.absolute().parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{path}: cannot be written: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot be written: no permission to write in {parent}")


def _data_file(name_or_path: Optional[str], what: str, quiet: bool) -> Optional[Path]:
    """A local file, or a dataset name of :data:`densevec.datasets.REGISTRY` (downloaded if needed)."""
    from densevec import datasets

    if name_or_path is None:
        return None
    try:
        path = datasets.load(name_or_path, progress=not quiet)
    except (OSError, ValueError) as e:
        raise UsageError(f"{what}: {e}") from None
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    return path


def _words_in(emb, words: Sequence[str]) -> None:
    missing = [w for w in words if w not in emb]
    if missing:
        raise UsageError(f"not in the vocabulary: {', '.join(repr(w) for w in missing)}")


def _print_json(doc: Any) -> None:
    """`doc` as JSON on stdout; NaN (an undefined value) is written null."""
    print(json.dumps(_nan_to_null(doc), indent=2, ensure_ascii=False, allow_nan=False))


def _nan_to_null(x: Any) -> Any:
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: _nan_to_null(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_null(v) for v in x]
    return x


def _fit_or_interrupt(model: Any, corpus: Any, progress: bool):
    """``model.fit(corpus)``, except that Ctrl-C raises KeyboardInterrupt.

    ``fit`` answers Ctrl-C during training with a warning and the vectors
    trained so far (``meta["interrupted"]``); the command line instead stops
    with status 130 and writes nothing, so that an existing store at ``-o``
    is never replaced by a partial model.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = model.fit(corpus, progress=progress)
    if emb.meta.get("interrupted"):
        raise KeyboardInterrupt
    for w in caught:  # pass on anything else fit warned about
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return emb


# ================================================================ commands
_W2V_ONLY = {"loss": "ns", "negative": 5, "sample": 1e-3, "alpha": None}
_GLOVE_ONLY = {"learning_rate": 0.05, "x_max": 100.0, "memory_gb": 4.0}


def _model_options(args: argparse.Namespace) -> None:
    """UsageError naming the options given that do not apply to ``--model``; then fill in the defaults.

    The options specific to one model default to None in the parser, so that
    an option given on the command line can be told from a default.
    """
    glove = args.model == "glove"
    foreign = _W2V_ONLY if glove else _GLOVE_ONLY
    given = ["--" + name.replace("_", "-") for name in foreign if getattr(args, name) is not None]
    if given:
        family = "word2vec (--model skipgram or cbow)" if glove else "GloVe (--model glove)"
        raise UsageError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to {family}, "
                         f"not to --model {args.model}")
    for name, default in {**_W2V_ONLY, **_GLOVE_ONLY}.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


def cmd_train(args: argparse.Namespace) -> int:
    if args.dim is None:  # each model's class default
        args.dim = 128 if args.model == "node2vec" else 100
    if args.min_count is None:
        args.min_count = 1 if args.model == "contrastive" else 5
    if args.model == "contrastive":
        from densevec._cli_text import train_contrastive

        return train_contrastive(args)
    if args.model == "node2vec":
        return _train_node2vec(args)
    _no_node2vec_options(args)
    _model_options(args)
    _check_output(Path(args.output), "store", args.overwrite)
    if args.corpus != "-":
        return _train(args, _data_file(args.corpus, "corpus", args.quiet or args.json), cache=not args.no_cache)
    workdir = _fs.temp_dir("stdin")
    try:
        return _train(args, _stdin_to_file(workdir / "stdin.txt"), cache=False)
    finally:
        _fs.remove_temp_dir(workdir)


def _stdin_to_file(path: Path) -> Path:
    """Copies standard input (bytes) into `path`, a file of a densevec temporary directory."""
    with open(path, "xb") as f:
        while block := sys.stdin.buffer.read(1 << 20):
            f.write(block)
    return path


def _train(args: argparse.Namespace, corpus_path: Path, cache: bool) -> int:
    from densevec.corpus import Corpus

    say = _say(args)
    shown = "-" if args.corpus == "-" else str(corpus_path)
    if args.model == "doc2vec":
        return _train_doc2vec(args, corpus_path, shown, say)
    if args.doc_mode is not None or args.dbow_words or args.tagged:
        raise UsageError("--doc-mode, --dbow-words and --tagged apply only to --model doc2vec")
    glove = args.model == "glove"
    window = args.window if args.window is not None else (10 if glove else 5)
    epochs = args.epochs if args.epochs is not None else (15 if glove else 5)
    try:
        if glove:
            from densevec.glove import GloVe

            model: Any = GloVe(dim=args.dim, x_max=args.x_max, learning_rate=args.learning_rate,
                               epochs=epochs, window=window, memory_gb=args.memory_gb,
                               min_count=args.min_count, threads=args.threads, seed=args.seed)
        else:
            from densevec.word2vec import Word2Vec

            model = Word2Vec(dim=args.dim, mode=args.model, loss=args.loss, window=window,
                             negative=args.negative, sample=args.sample, alpha=args.alpha,
                             epochs=epochs, min_count=args.min_count, threads=args.threads,
                             seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        corpus = Corpus.from_file(corpus_path, min_count=args.min_count, threads=args.threads,
                                  cache=cache, progress=not args.quiet)
    except (OSError, ValueError) as e:
        raise UsageError(str(e).replace(str(corpus_path), "standard input") if args.corpus == "-" else str(e)) \
            from None
    say(f"corpus {shown}: {len(corpus.vocab)} words, {corpus.n_tokens} tokens, "
        f"{corpus.n_sentences} sentences" + (" (cached encoding)" if corpus.from_cache else ""))
    if len(corpus.vocab) == 0 or corpus.n_tokens == 0:
        raise UsageError(f"{shown}: no word occurs --min-count={args.min_count} times")
    t0 = time.perf_counter()
    try:
        emb = _fit_or_interrupt(model, corpus, progress=not args.quiet)
    except (ValueError, FloatingPointError) as e:
        raise UsageError(str(e)) from None
    except MemoryError:
        raise UsageError(f"not enough memory for {len(corpus.vocab)} words x --dim {args.dim}") from None
    seconds = time.perf_counter() - t0
    if glove:
        cooc = model.cooccurrence_
        say(f"counted {cooc.nnz:,} co-occurring pairs (window {window}) in "
            f"{cooc.stats.get('seconds', 0.0):.1f} s")
        say(f"trained glove dim={args.dim} epochs={epochs} in {seconds:.1f} s "
            f"({sum(h['seconds'] for h in model.history) / len(model.history):.2f} s per epoch); "
            "cost by epoch: " + ", ".join(f"{h['cost']:.4f}" for h in model.history))
    else:
        words = sum(h["words"] for h in model.history)
        say(f"trained {args.model}/{args.loss} dim={args.dim} epochs={epochs} in {seconds:.1f} s "
            f"({words / max(seconds, 1e-9):,.0f} words/s); loss per word by epoch: "
            + ", ".join(f"{h['loss_per_word']:.3f}" for h in model.history))
    _save(emb, Path(args.output), "store", args.overwrite)
    say(f"saved {len(emb)} vectors to {args.output}")
    if args.json:
        doc = {
            "output": args.output,
            "model": args.model,
            "corpus": {"path": shown, "words": len(corpus.vocab), "tokens": corpus.n_tokens,
                       "sentences": corpus.n_sentences, "cached": bool(corpus.from_cache)},
            "vectors": len(emb),
            "dim": emb.dim,
            "epochs": epochs,
            "seconds": seconds,
            "history": model.history,
            "space": emb.meta.get("space"),
            "params": emb.meta.get("params"),
        }
        if glove:
            doc["cooccurrence"] = {"pairs": model.cooccurrence_.nnz, "window": window}
        else:
            doc["words_per_second"] = sum(h["words"] for h in model.history) / max(seconds, 1e-9)
        _print_json(doc)
    return 0


_NODE2VEC_ONLY = {"walk_length": 80, "walks_per_node": 10, "p": 1.0, "q": 1.0}


def _no_node2vec_options(args: argparse.Namespace) -> None:
    given = ["--" + name.replace("_", "-") for name in _NODE2VEC_ONLY if getattr(args, name) is not None]
    given += ["--directed"] if args.directed else []
    if given:
        raise UsageError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to "
                         f"--model node2vec, not to --model {args.model}")


def _train_node2vec(args: argparse.Namespace) -> int:
    """``densevec train --model node2vec EDGES -o STORE``: node vectors from an edge-list file."""
    from densevec.graph import Graph
    from densevec.node2vec import Node2Vec

    foreign = [name for name in ("loss", *_GLOVE_ONLY) if getattr(args, name) is not None]
    if foreign:
        raise UsageError(", ".join("--" + f.replace("_", "-") for f in foreign)
                         + " does not apply to --model node2vec")
    if args.corpus == "-":
        raise UsageError("--model node2vec reads an edge-list file, not standard input")
    _check_output(Path(args.output), "store", args.overwrite)
    say = _say(args)
    params = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in _NODE2VEC_ONLY.items()}
    try:
        model = Node2Vec(dim=args.dim, window=args.window if args.window is not None else 10,
                         negative=args.negative if args.negative is not None else 5,
                         sample=args.sample if args.sample is not None else 1e-3,
                         alpha=args.alpha if args.alpha is not None else 0.025,
                         epochs=args.epochs if args.epochs is not None else 1,
                         threads=args.threads, seed=args.seed, **params)
        graph = Graph.from_edgelist(args.corpus, directed=args.directed)
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    say(f"graph {args.corpus}: {graph.n_nodes} nodes, {graph.n_edges} edges "
        f"({'directed' if graph.directed else 'undirected'}{', weighted' if graph.weighted else ''})")
    t0 = time.perf_counter()
    try:
        emb = _fit_or_interrupt(model, graph, progress=not args.quiet)
    except (ValueError, FloatingPointError) as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - t0
    say(f"trained node2vec p={model.p} q={model.q} dim={args.dim} in {seconds:.1f} s "
        f"(walks {model.timings_['walks']:.1f} s, training {model.timings_['train']:.1f} s)")
    _save(emb, Path(args.output), "store", args.overwrite)
    say(f"saved {len(emb)} vectors to {args.output}")
    if args.json:
        _print_json({"output": args.output, "model": "node2vec", "graph": {
            "path": args.corpus, "nodes": graph.n_nodes, "edges": graph.n_edges, "directed": graph.directed,
            "weighted": graph.weighted}, "vectors": len(emb), "dim": emb.dim, "seconds": seconds,
            "walk_seconds": model.timings_["walks"], "train_seconds": model.timings_["train"],
            "history": model.history, "space": emb.meta.get("space"), "params": emb.meta.get("params")})
    return 0


def _train_doc2vec(args: argparse.Namespace, corpus_path: Path, shown: str, say: Any) -> int:
    """``train --model doc2vec``: one document per line (``--tagged``: TAGS<TAB>TEXT); saves the
    document vectors, keyed by tag (line numbers from 0 without ``--tagged``), as a store."""
    from densevec.doc2vec import Doc2Vec, Documents

    try:
        model = Doc2Vec(dim=args.dim, mode=args.doc_mode or "dbow", loss=args.loss,
                        window=args.window if args.window is not None else 5, negative=args.negative,
                        sample=args.sample, alpha=args.alpha if args.alpha is not None else 0.025,
                        epochs=args.epochs if args.epochs is not None else 10, min_count=args.min_count,
                        dbow_words=args.dbow_words, threads=args.threads, seed=args.seed, tagged=args.tagged)
        docs = Documents.from_file(corpus_path, tagged=args.tagged, min_count=args.min_count,
                                   threads=args.threads)
    except (OSError, ValueError) as e:
        raise UsageError(str(e).replace(str(corpus_path), "standard input") if args.corpus == "-" else str(e)) \
            from None
    say(f"documents {shown}: {docs.n_docs} documents, {len(docs.tags)} tags, {len(docs.vocab)} words, "
        f"{docs.corpus.n_tokens} tokens")
    t0 = time.perf_counter()
    try:
        emb = _fit_or_interrupt(model, docs, progress=not args.quiet)
    except (ValueError, FloatingPointError) as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - t0
    words = sum(h["words"] for h in model.history)
    say(f"trained doc2vec {model.mode}{'+words' if model.dbow_words else ''} dim={args.dim} "
        f"epochs={model.epochs} in {seconds:.1f} s ({words / max(seconds, 1e-9):,.0f} words/s)")
    _save(emb, Path(args.output), "store", args.overwrite)
    say(f"saved {len(emb)} document vectors to {args.output}")
    if args.json:
        _print_json({"output": args.output, "model": "doc2vec", "documents": docs.n_docs,
                     "vectors": len(emb), "dim": emb.dim, "epochs": model.epochs, "seconds": seconds,
                     "history": model.history, "params": emb.meta.get("params")})
    return 0


def _query_words(words: Sequence[str]) -> list[str]:
    """`words`, or the words read from standard input when none or ``-`` is given (whitespace-separated)."""
    if list(words) in ([], ["-"]):
        words = sys.stdin.read().split()
        if not words:
            raise UsageError("no words given (on the command line or on standard input)")
    elif "-" in words:
        raise UsageError("'-' (read the words from standard input) must be the only word")
    return list(words)


def cmd_neighbors(args: argparse.Namespace) -> int:
    emb = _load(args.store)
    words = _query_words(args.words)
    _words_in(emb, words)
    results = [(w, emb.most_similar(w, topn=args.k)) for w in words]
    if args.json:
        _print_json({"store": args.store, "k": args.k, "metric": "cosine", "queries": [
            {"word": w, "neighbors": [{"word": o, "similarity": s} for o, s in near]} for w, near in results]})
        return 0
    for w, near in results:
        print(f"{w}:")
        for other, score in near:
            print(f"  {other}\t{score:.4f}")
    return 0


def cmd_analogy(args: argparse.Namespace) -> int:
    emb = _load(args.store)
    _words_in(emb, [args.a, args.b, args.c])
    answers = emb.analogy(args.a, args.b, args.c, topn=args.k, method=args.method)
    if args.json:
        _print_json({"store": args.store, "a": args.a, "b": args.b, "c": args.c, "method": args.method,
                     "answers": [{"word": w, "score": s} for w, s in answers]})
        return 0
    print(f"{args.a} : {args.b} :: {args.c} : ?  ({args.method})")
    for word, score in answers:
        print(f"  {word}\t{score:.4f}")
    return 0


def cmd_vectors(args: argparse.Namespace) -> int:
    """fastText's ``print-word-vectors``: ``word v1 ... vdim`` per word (float32, shortest exact decimals)."""
    import numpy as np

    emb = _load(args.store)
    words = _query_words(args.words)
    if args.missing == "error":
        _words_in(emb, words)
    rows = []
    for w in words:
        if w in emb:
            rows.append((w, emb[w]))
        elif args.missing == "zero":
            rows.append((w, np.zeros(emb.dim, dtype=np.float32)))
    if args.json:
        _print_json({"store": args.store, "dim": emb.dim,
                     "vectors": [{"word": w, "vector": [float(x) for x in v]} for w, v in rows]})
        return 0
    out = sys.stdout
    for w, v in rows:
        out.write(w + " " + " ".join(map(str, v)) + "\n")
    out.flush()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from densevec import evaluate

    if args.analogies is None and args.pairs is None:
        raise UsageError("nothing to evaluate: give --analogies FILE and/or --pairs FILE")
    emb = _load(args.store)
    analogies_path = _data_file(args.analogies, "analogies", args.quiet or args.json)
    pairs_path = _data_file(args.pairs, "pairs", args.quiet or args.json)
    doc: dict = {"store": args.store}
    texts = []
    try:
        if analogies_path is not None:
            report = evaluate.analogies(emb, analogies_path, method=args.method,
                                        restrict_vocab=args.restrict_vocab)
            doc["analogies"] = dict(report.to_dict(), file=str(analogies_path))
            texts.append(str(report))
        if pairs_path is not None:
            pairs = evaluate.word_pairs(emb, pairs_path)
            doc["pairs"] = dict(pairs.to_dict(), file=str(pairs_path))
            texts.append(str(pairs))
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    if args.json:
        _print_json(_fractions(doc))
    else:
        print("\n\n".join(texts))
    return 0


def _fractions(doc: dict) -> dict:
    """An ``eval`` document in the JSON conventions: ratios as fractions, undefined values null.

    ``oov_ratio`` (a percentage in the Python reports, as gensim prints it)
    becomes a fraction; the accuracy of a group of no question (0.0 in the
    Python reports, as gensim has it) becomes null, as the text shows ``-``.
    """
    out = json.loads(json.dumps(doc))
    for report in (out.get("analogies"), out.get("pairs")):
        if isinstance(report, dict) and isinstance(report.get("oov_ratio"), (int, float)):
            report["oov_ratio"] = report["oov_ratio"] / 100.0
    analogies = out.get("analogies")
    if isinstance(analogies, dict):
        for group in [analogies, analogies.get("semantic"), analogies.get("syntactic"),
                      *analogies.get("sections", [])]:
            if isinstance(group, dict) and group.get("total") == 0:
                group["accuracy"] = None
    return out


def cmd_convert(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.resolve() == Path(args.input).resolve():
        raise UsageError("the output must differ from the input")
    _check_output(out, args.to, args.overwrite)
    emb = _load(args.input, args.from_format)
    _save(emb, out, args.to, args.overwrite)
    from densevec._space import sidecar_path

    side = sidecar_path(out) if args.to != "store" and sidecar_path(out).is_file() else None
    _say(args)(f"wrote {len(emb)} vectors of dim {emb.dim} to {out} ({args.to})"
               + (f", and its embedding-space sidecar {side.name}" if side else ""))
    if args.json:
        _print_json({"input": args.input, "output": str(out), "format": args.to, "count": len(emb),
                     "dim": emb.dim})
    return 0


def cmd_reduce(args: argparse.Namespace) -> int:
    from densevec import reduce

    _check_output(Path(args.output), "store", args.overwrite)
    emb = _load(args.store)
    analogies_path = _data_file(args.analogies, "analogies", args.quiet)
    try:
        small, report = reduce.pca(emb, args.dim, whiten=args.whiten, sample=args.sample,
                                   analogies=analogies_path, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    _save(small, Path(args.output), "store", args.overwrite)
    if args.json:
        doc = report.to_dict()
        if not doc.get("analogy_questions"):  # no question answered: accuracies undefined
            doc.update(analogy_before=None, analogy_after=None, analogy_change=None)
        _print_json(doc)
    else:
        print(report)
        _say(args)(f"saved {len(small)} vectors of dim {small.dim} to {args.output}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np

    path = Path(args.store)
    emb = _load(args.store)
    fmt = _detect_format(path)
    checked = _verify_store(path) if args.verify and fmt == "store" else None
    norms = emb.norms
    doc = {
        "path": str(path),
        "format": fmt,
        "count": len(emb),
        "dim": emb.dim,
        "has_counts": emb.counts is not None,
        "tokens": int(emb.counts.sum()) if emb.counts is not None else None,
        "norms": {"min": float(norms.min()), "mean": float(norms.mean()), "max": float(norms.max())}
        if len(emb) else None,
        "first_words": emb.index_to_word[:10],
        "meta": emb.meta,
    }
    if args.verify:
        doc["verified"] = {"files_with_checksums": checked} if fmt == "store" else None
    if args.json:
        _print_json(doc)
        return 0
    print(f"{path} ({fmt}): {len(emb)} words, dim {emb.dim}")
    if args.verify:
        print("  verified: " + ("not a store (nothing to verify)" if fmt != "store" else
                                f"vocabulary checked, SHA-256 of {checked} files match meta.json" if checked else
                                "vocabulary checked; this store records no checksums (written before densevec "
                                "0.2)"))
    if doc["tokens"] is not None:
        print(f"  corpus tokens covered: {doc['tokens']}")
    if len(emb):
        print(f"  vector norms: min {norms.min():.4f}, mean {norms.mean():.4f}, max {norms.max():.4f}"
              + ("  (unit length)" if np.allclose(norms[norms > 0], 1, atol=1e-3) else ""))
        print(f"  first words: {' '.join(emb.index_to_word[:10])}")
    meta = emb.meta
    if meta.get("algorithm"):
        print(f"  algorithm: {meta['algorithm']}")
    if isinstance(meta.get("params"), dict):
        print("  params: " + ", ".join(f"{k}={v}" for k, v in meta["params"].items()))
    if isinstance(meta.get("pca"), dict):
        pca = meta["pca"]
        src = meta.get("reduced_from", {})
        print(f"  reduced by PCA from dim {src.get('dim')} to {pca.get('n_components')}"
              f" (explained variance {100.0 * sum(pca.get('explained_variance_ratio', [])):.2f}%)")
    space = meta.get("space")
    if isinstance(space, dict) and space.get("id"):
        print(f"  embedding space: {space['id']} ({space.get('origin', '?')}"
              + (f", parent {space['parent']})" if space.get("parent") else ")"))
    for key in ("corpus_fingerprint", "densevec_version"):
        if meta.get(key):
            print(f"  {key.replace('_', ' ')}: {meta[key]}")
    return 0


def _verify_store(path: Path) -> int:
    """Full check of a store (vocabulary, checksums); the number of files whose checksum matched."""
    from densevec._store_format import _read_store_meta, verify_checksums
    from densevec.vectors import Embeddings

    try:
        Embeddings.load(path, verify=True)
        return verify_checksums(path, _read_store_meta(path / "meta.json"))
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None


def cmd_plot(args: argparse.Namespace) -> int:
    try:
        from densevec import plot
        plot._matplotlib()
    except ImportError as e:
        raise UsageError(str(e)) from None
    emb = _load(args.store)
    analogy = [tuple(a) for a in args.analogy] if args.analogy else None  # every --analogy given
    _words_in(emb, list(args.words) + [w for a in analogy or () for w in a])
    out = Path(args.output)
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such directory")
    _check_output(out, "file", args.overwrite)
    try:
        plot.words(emb, args.words, analogy=analogy, path=out, title=args.title, overwrite=args.overwrite)
    except (OSError, ValueError) as e:
        raise UsageError(_cli_words(str(e))) from None
    _say(args)(f"wrote {out}")
    if args.json:
        _print_json({"output": str(out), "words": list(args.words),
                     "analogies": [list(a) for a in analogy or ()]})
    return 0


def _cache_entries(root: Path) -> tuple[list[dict], list[str]]:
    """The encoded corpora under `root` (densevec's cache of corpora), and the names of anything else there.

    An entry is densevec's when it is a real directory named by 32 hex digits
    (the start of the corpus fingerprint), owned by the current user, whose
    ``meta.json`` declares an encoded corpus.
    """
    import os
    import re

    from densevec import corpus as corpus_module

    entries: list[dict] = []
    others: list[str] = []
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return entries, others
    except OSError as e:
        raise UsageError(f"{root}: cannot list the cache: {e}") from None
    uid = os.getuid() if hasattr(os, "getuid") else None
    for name in names:
        if _fs._TMP_RE.fullmatch(name):
            continue  # an entry being written or removed right now (or a leftover the next use removes)
        path = root / name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        ours = (re.fullmatch(r"[0-9a-f]{32}", name) is not None and (uid is None or st.st_uid == uid)
                and _fs.claims_kind(path, "corpus"))
        if not ours:
            others.append(name)
            continue
        size = 0
        for child in path.iterdir():
            try:
                size += child.lstat().st_size
            except OSError:
                pass
        try:
            meta = _fs.read_meta(path / "meta.json", corpus_module.FORMAT, (corpus_module.FORMAT_VERSION,),
                                 "an encoded corpus")
        except ValueError:
            meta = {}
        entries.append({
            "name": name, "path": str(path), "bytes": size,
            "tokens": meta.get("n_tokens"), "sentences": meta.get("n_sentences"), "words": meta.get("vocab_size"),
            "sources": len(meta.get("sources", [])) if isinstance(meta.get("sources"), list) else None,
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
        })
    return entries, others


def cmd_cache(args: argparse.Namespace) -> int:
    from densevec.corpus import default_cache_dir

    root = default_cache_dir() / "corpora"
    entries, others = _cache_entries(root)
    total = sum(e["bytes"] for e in entries)
    if args.clear:
        for e in entries:
            try:
                _fs.remove_artefact(e["path"], "corpus")
            except ValueError as err:
                raise UsageError(str(err)) from None
    if args.json:
        _print_json({"cache": str(root), "entries": entries, "bytes": total, "cleared": bool(args.clear),
                     "other_files": others})
        return 0
    if args.clear:
        print(f"removed {len(entries)} cached corpora ({total / 2**20:.1f} MiB) from {root}")
    else:
        print(f"{root}: {len(entries)} cached corpora, {total / 2**20:.1f} MiB")
        for e in entries:
            print(f"  {e['name']}  {e['bytes'] / 2**20:9.1f} MiB  {e['tokens']} tokens, {e['words']} words, "
                  f"{e['sentences']} sentences, written {e['modified']}")
    if others:
        print(f"  left alone: {len(others)} other entries not written by densevec's corpus cache "
              f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densevec",
        description="Fast static word embeddings: word2vec and GloVe training, storage and search.",
    )
    parser.add_argument("--version", action="version", version=f"densevec {__version__}")
    bounded = _bounded_ints()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="train skip-gram on the built-in corpus (or --corpus), show neighbours and analogies",
        description="Generate the built-in world corpus (no download), train skip-gram on it, "
        "print nearest neighbours and the analogy accuracy, and save the model.",
    )
    demo.add_argument("--corpus", help="train on this text file instead of the built-in corpus")
    demo.add_argument("--analogies", help="analogy questions (questions-words format)")
    demo.add_argument("--out", default="densevec-demo.dv", help="where to save the model store")
    demo.add_argument("--sentences", type=_positive_int, default=None,
                      help="size of the built-in corpus")
    demo.add_argument("--dim", type=bounded["int32"], default=100)
    demo.add_argument("--epochs", type=_positive_int, default=None)
    demo.add_argument("--min-count", type=_positive_int, default=5)
    demo.add_argument("--threads", type=bounded["threads"], default=0, help="0 = all cores")
    demo.add_argument("--seed", type=bounded["seed"], default=1)
    demo.add_argument("--quiet", action="store_true", help="no progress bars or output")
    demo.add_argument("--json", action="store_true", help=_JSON_HELP)
    demo.set_defaults(func=cmd_demo)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or chatter")
    common.add_argument("--json", action="store_true", help=_JSON_HELP)

    train = sub.add_parser(
        "train", parents=[common], help="train word2vec (skip-gram or CBOW) or GloVe on a text file",
        description="Train word2vec or GloVe on CORPUS (a UTF-8 text file, one sentence per line, or a "
        "dataset name such as text8) and save the vectors as a densevec store.",
    )
    train.add_argument("corpus", help="text file, '-' for standard input, or a dataset name "
                       "(see densevec.datasets.REGISTRY)")
    train.add_argument("-o", "--output", required=True, help="store directory to write (e.g. model.dv)")
    train.add_argument("--model", choices=("skipgram", "cbow", "glove", "node2vec", "doc2vec", "contrastive"),
                       default="skipgram",
                       help="node2vec: CORPUS is an edge-list file ('src dst [weight]' lines); doc2vec: a "
                       "document per line; contrastive: CORPUS is a pairs file (ANCHOR<TAB>POSITIVE[<TAB>NEGATIVE])")
    train.add_argument("--doc-mode", choices=("dbow", "dm"), default=None,
                       help="doc2vec: PV-DBOW (the default) or PV-DM")
    train.add_argument("--dbow-words", action="store_true", help="doc2vec PV-DBOW: also train word vectors")
    train.add_argument("--tagged", action="store_true",
                       help="doc2vec: lines are TAGS<TAB>TEXT (tags separated by spaces); default: a "
                       "document per line, tagged by its line number from 0")
    train.add_argument("--loss", choices=("ns", "hs"), default=None,
                       help="word2vec: negative sampling (ns, the default) or hierarchical softmax")
    train.add_argument("--dim", type=bounded["int32"], default=None,
                       help="vector size (default 100; 128 for node2vec, as Node2Vec)")
    train.add_argument("--window", type=bounded["int32"], default=None,
                       help="context window (default 5 for word2vec, 10 for GloVe)")
    train.add_argument("--negative", type=bounded["int32_0"], default=None,
                       help="word2vec: noise words (default 5)")
    train.add_argument("--sample", type=_nonneg_float, default=None,
                       help="word2vec: subsampling threshold (default 1e-3; 0: off)")
    train.add_argument("--alpha", type=_positive_float, default=None,
                       help="word2vec: initial learning rate (default 0.025 skip-gram, 0.05 CBOW)")
    train.add_argument("--learning-rate", type=_positive_float, default=None,
                       help="GloVe / contrastive: AdaGrad learning rate (default 0.05 / 0.15)")
    train.add_argument("--x-max", type=_positive_float, default=None,
                       help="GloVe: counts above this get full weight (default 100)")
    train.add_argument("--memory-gb", type=_positive_float, default=None,
                       help="GloVe: memory for co-occurrence counting, spills to disk beyond it (default 4)")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="passes (default 5 for word2vec, 15 for GloVe)")
    train.add_argument("--min-count", type=_positive_int, default=None,
                       help="drop rarer words (default 5; 1 for contrastive, as Contrastive)")
    train.add_argument("--threads", type=bounded["threads"], default=0, help="0 = all cores")
    train.add_argument("--seed", type=bounded["seed"], default=1)
    train.add_argument("--no-cache", action="store_true", help="do not cache the encoded corpus")
    train.add_argument("--overwrite", action="store_true", help="replace an existing store at --output")
    train.add_argument("--walk-length", type=_positive_int, default=None, help="node2vec: nodes per walk (80)")
    train.add_argument("--walks-per-node", type=_positive_int, default=None, help="node2vec: walks per node (10)")
    train.add_argument("--p", type=_positive_float, default=None, help="node2vec: return parameter (1)")
    train.add_argument("--q", type=_positive_float, default=None, help="node2vec: in-out parameter (1)")
    train.add_argument("--directed", action="store_true", help="node2vec: the edges are directed")
    train.set_defaults(func=cmd_train)
    _cli_text.add_train_options(train, _positive_int, _positive_float)
    _cli_text.add_encode_parser(sub, common, bounded["threads"])

    neighbors = sub.add_parser("neighbors", parents=[common], help="nearest neighbours of words (cosine)")
    neighbors.add_argument("store", help="store directory or word2vec/GloVe file")
    neighbors.add_argument("words", nargs="*", metavar="WORD",
                           help="words to query; none or '-': read them from standard input")
    neighbors.add_argument("-k", type=_positive_int, default=10, help="neighbours per word")
    neighbors.set_defaults(func=cmd_neighbors)

    analogy = sub.add_parser("analogy", parents=[common], help='solve "A is to B as C is to ?"')
    analogy.add_argument("store", help="store directory or word2vec/GloVe file")
    analogy.add_argument("a")
    analogy.add_argument("b")
    analogy.add_argument("c")
    analogy.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    analogy.add_argument("-k", type=_positive_int, default=5, help="answers to show")
    analogy.set_defaults(func=cmd_analogy)

    vec = sub.add_parser(
        "vectors", parents=[common], help="print the vectors of words (fastText's print-word-vectors)",
        description="Print 'word v1 v2 ... vdim' for each word (float32 values in their shortest exact "
        "decimal form), the words given on the command line or read from standard input.",
    )
    vec.add_argument("store", help="store directory or word2vec/GloVe file")
    vec.add_argument("words", nargs="*", metavar="WORD",
                     help="words; none or '-': read them from standard input (whitespace-separated)")
    vec.add_argument("--missing", choices=("error", "zero", "skip"), default="error",
                     help="a word not in the vocabulary: fail before printing anything (default), print a "
                     "zero vector, or skip it")
    vec.set_defaults(func=cmd_vectors)

    ev = sub.add_parser(
        "eval", parents=[common], help="analogy accuracy and word-pair correlation",
        description="Evaluate on a questions-words analogy file and/or a WordSim353-style pairs "
        "file (local paths, or the dataset names questions-words and wordsim353).",
    )
    ev.add_argument("store", help="store directory or word2vec/GloVe file")
    ev.add_argument("--analogies", metavar="FILE")
    ev.add_argument("--pairs", metavar="FILE")
    ev.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    ev.add_argument("--restrict-vocab", type=_positive_int, default=30000,
                    help="candidate answers: the most frequent N words")
    ev.set_defaults(func=cmd_eval)

    convert = sub.add_parser("convert", parents=[common], help="convert between vector formats")
    convert.add_argument("input", help="store directory, word2vec text/binary (word2vec-txt is also "
                         "fastText's .vec) or GloVe text file")
    convert.add_argument("output")
    convert.add_argument("--to", required=True, choices=FORMATS,
                         help="word2vec-txt: also fastText .vec; glove: text without the header line")
    convert.add_argument("--from", dest="from_format", choices=FORMATS, default=None,
                         help="input format (default: detected)")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing output")
    convert.set_defaults(func=cmd_convert)

    red = sub.add_parser(
        "reduce", parents=[common], help="PCA to fewer dimensions, with a distortion report",
        description="Project the vectors on their first N principal components, save them as a "
        "store and report what moved: explained variance, top-10 neighbour overlap, Spearman of "
        "similarities and (with --analogies) the analogy accuracy change.",
    )
    red.add_argument("store", help="store directory or word2vec/GloVe file")
    red.add_argument("output", help="store directory to write")
    red.add_argument("--dim", type=_positive_int, required=True, help="output dimensionality")
    red.add_argument("--analogies", metavar="FILE", help="report analogy accuracy before and after")
    red.add_argument("--whiten", action="store_true", help="scale components to unit variance")
    red.add_argument("--sample", type=_positive_int, default=1000, help="words whose neighbours are compared")
    red.add_argument("--seed", type=_nonneg_int, default=0)
    red.add_argument("--overwrite", action="store_true", help="replace an existing store at OUTPUT")
    red.set_defaults(func=cmd_reduce)

    info = sub.add_parser("info", parents=[common], help="size, metadata and provenance of a store")
    info.add_argument("store", help="store directory or word2vec/GloVe file")
    info.add_argument("--verify", action="store_true",
                      help="check the whole vocabulary and every file's SHA-256 against meta.json")
    info.set_defaults(func=cmd_info)

    pl = sub.add_parser("plot", parents=[common], help="2-D PCA picture of words (needs matplotlib)")
    pl.add_argument("store", help="store directory or word2vec/GloVe file")
    pl.add_argument("words", nargs="+", metavar="WORD")
    pl.add_argument("-o", "--output", required=True, help="image file (.png, .svg, .pdf)")
    pl.add_argument("--analogy", nargs=4, metavar=("A", "B", "C", "D"), action="append",
                    help="draw arrows A->B and C->D; repeat for several analogies (one colour each)")
    pl.add_argument("--title")
    pl.add_argument("--overwrite", action="store_true", help="replace an existing image file")
    pl.set_defaults(func=cmd_plot)

    ca = sub.add_parser(
        "cache", parents=[common], help="list or clear the encoded-corpus cache",
        description="List the encoded corpora densevec cached (under $DENSEVEC_CACHE, else "
        "$XDG_CACHE_HOME/densevec or ~/.cache/densevec, in corpora/), or remove them with --clear. "
        "Only densevec's own entries are removed; anything else there is left alone.",
    )
    ca.add_argument("--clear", action="store_true", help="remove every cached corpus")
    ca.set_defaults(func=cmd_cache)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from densevec import datasets

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        if args.sentences is None:
            args.sentences = datasets.DEMO_SENTENCES
        if args.epochs is None:
            args.epochs = datasets.DEMO_EPOCHS
    try:
        return args.func(args)
    except UsageError as e:
        print(f"densevec {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = {"train": "output", "demo": "out"}.get(args.command)
        out = getattr(args, out) if out else None
        print("interrupted" + (f": nothing written, {out} left as it was" if out else ""),
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 1


if __name__ == "__main__":
    sys.exit(main())
