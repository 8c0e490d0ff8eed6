"""The ``densevec`` command line."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from densevec import __version__


class UsageError(Exception):
    """Bad arguments or input files: reported in one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _pick_probe_words(emb, n: int = 4) -> list[str]:
    """A few mid-frequency words to show neighbours for on an arbitrary corpus."""
    words = emb.index_to_word
    picks = [words[i] for i in (50, 100, 200, 400, 800) if i < len(words)]
    return picks[:n] or words[:n]


def cmd_demo(args: argparse.Namespace) -> int:
    from densevec import datasets, evaluate
    from densevec.corpus import Corpus
    from densevec.word2vec import Word2Vec

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    workdir = Path(tempfile.mkdtemp(prefix="densevec-demo-"))
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
                                  cache=False, progress=not args.quiet)
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    say(f"vocabulary: {len(corpus.vocab)} words, {corpus.n_tokens} tokens, "
        f"{corpus.n_sentences} sentences")
    model = Word2Vec(dim=args.dim, mode="skipgram", window=5, negative=5, epochs=args.epochs,
                     threads=args.threads, seed=args.seed)
    t0 = time.perf_counter()
    emb = model.fit(corpus, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    words = sum(h["words"] for h in model.history)
    say(f"trained skip-gram dim={args.dim} epochs={args.epochs} in {seconds:.1f} s "
        f"({words / max(seconds, 1e-9):,.0f} words/s); loss per word by epoch: "
        + ", ".join(f"{h['loss_per_word']:.3f}" for h in model.history))
    probes = [w for w in (probes or _pick_probe_words(emb)) if w in emb]
    for w in probes:
        near = ", ".join(f"{n} ({s:.2f})" for n, s in emb.most_similar(w, topn=5))
        say(f"  nearest to {w!r}: {near}")
    if analogies_path is not None:
        report = evaluate.analogies(emb, analogies_path, restrict_vocab=len(emb))
        say(str(report))
    out = Path(args.out)
    emb.save(out)
    say(f"saved the model to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densevec",
        description="Fast static word embeddings: word2vec and GloVe training, storage and search.",
    )
    parser.add_argument("--version", action="version", version=f"densevec {__version__}")
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
    demo.add_argument("--dim", type=_positive_int, default=100)
    demo.add_argument("--epochs", type=_positive_int, default=None)
    demo.add_argument("--min-count", type=_positive_int, default=5)
    demo.add_argument("--threads", type=_nonneg_int, default=0, help="0 = all cores")
    demo.add_argument("--seed", type=_nonneg_int, default=1)
    demo.add_argument("--quiet", action="store_true", help="no progress bars or output")
    demo.set_defaults(func=cmd_demo)
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
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
