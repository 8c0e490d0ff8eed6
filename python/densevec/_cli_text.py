"""Command-line parts of text encoding and contrastive training (see :mod:`densevec.cli`).

``densevec encode STORE TEXTS -o OUT``: TEXTS is UTF-8, one text per line,
either ``TEXT`` (the document id is the line number, from 1) or
``ID<TAB>TEXT``; OUT is a store keyed by document id.

``densevec train --model contrastive PAIRS -o STORE``: PAIRS as
:func:`densevec.contrastive.read_pairs` reads them.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def add_train_options(train: argparse.ArgumentParser, positive_int: Any, positive_float: Any) -> None:
    """The options of ``train --model contrastive``."""
    group = train.add_argument_group("contrastive (--model contrastive; CORPUS is a pairs TSV file)")
    group.add_argument("--init", default=None, help="store of token vectors to fine-tune")
    group.add_argument("--temperature", type=positive_float, default=0.1, help="InfoNCE temperature")
    group.add_argument("--batch-size", type=positive_int, default=256, help="pairs per batch")
    group.add_argument("--symmetric", action="store_true", help="also train positives -> anchors")
    group.add_argument("--freeze", action="store_true", help="with --init: keep its rows fixed")


def train_contrastive(args: argparse.Namespace) -> int:
    from densevec.cli import UsageError, _check_output, _load, _save, _say
    from densevec.contrastive import Contrastive, read_pairs

    say = _say(args)
    _check_output(Path(args.output), "store", args.overwrite)
    init = _load(args.init) if args.init else None
    try:
        model = Contrastive(dim=None if init is not None and args.dim == 100 else args.dim, init=init,
                            temperature=args.temperature, batch_size=args.batch_size,
                            epochs=args.epochs or 1, learning_rate=args.learning_rate or 0.15,
                            symmetric=args.symmetric, min_count=args.min_count, freeze=args.freeze,
                            threads=args.threads, seed=args.seed)
        if not Path(args.corpus).is_file():
            raise UsageError(f"{args.corpus}: no such pairs file")
        pairs = read_pairs(args.corpus)
        t0 = time.perf_counter()
        emb = model.fit(pairs, progress=not args.quiet)
    except (ValueError, TypeError, FloatingPointError, OSError) as e:
        raise UsageError(str(e)) from None
    if emb.meta.get("interrupted"):
        raise KeyboardInterrupt
    seconds = time.perf_counter() - t0
    trained = sum(h["pairs"] for h in model.history)
    say(f"trained contrastive dim={model.dim} on {len(pairs)} pairs ({model.skipped_pairs_} skipped) in "
        f"{seconds:.1f} s ({trained / max(seconds, 1e-9):,.0f} pairs/s); loss by epoch: "
        + ", ".join(f"{h['loss']:.4f}" for h in model.history))
    _save(emb, Path(args.output), "store", args.overwrite)
    say(f"saved {len(emb)} token vectors to {args.output}")
    return 0


def add_encode_parser(sub: Any, common: argparse.ArgumentParser, threads_type: Any) -> None:
    enc = sub.add_parser("encode", parents=[common], help="encode texts as vectors (a store keyed by document id)",
                         description="Encode TEXTS (one per line: TEXT, or ID<TAB>TEXT) with the token "
                         "vectors of STORE and save them as a store keyed by document id (the line number "
                         "when there is no ID), searchable like any store.")
    enc.add_argument("store", help="store directory or word2vec/GloVe file of token vectors")
    enc.add_argument("texts", help="UTF-8 text file, one text per line")
    enc.add_argument("-o", "--output", required=True, help="store directory to write")
    enc.add_argument("--pooling", choices=("mean", "sif"), default="mean",
                     help="mean of token vectors, or SIF (component fitted on these texts)")
    enc.add_argument("--no-normalize", action="store_true", help="keep the pooled vectors' lengths")
    enc.add_argument("--threads", type=threads_type, default=0, help="0 = all cores")
    enc.add_argument("--overwrite", action="store_true", help="replace an existing store at --output")
    enc.set_defaults(func=cmd_encode)


def _read_texts(path: Path) -> tuple[list[str], list[str]]:
    from densevec.cli import UsageError

    keys: list[str] = []
    texts: list[str] = []
    try:
        with open(path, encoding="utf-8", newline="\n") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                key, tab, text = line.partition("\t")
                if not tab:
                    key, text = str(lineno), line
                elif not key:
                    raise UsageError(f"{path}, line {lineno}: empty document id before the tab")
                keys.append(key)
                texts.append(text)
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text ({e})") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot be read: {e.strerror or e}") from None
    return keys, texts


def cmd_encode(args: argparse.Namespace) -> int:
    import json

    from densevec.cli import UsageError, _check_output, _load, _save, _say
    from densevec.encode import TextEncoder

    say = _say(args)
    _check_output(Path(args.output), "store", args.overwrite)
    emb = _load(args.store)
    keys, texts = _read_texts(Path(args.texts))
    if len(set(keys)) != len(keys):
        raise UsageError(f"{args.texts}: document ids are not unique")
    stats: dict = {}
    t0 = time.perf_counter()
    try:
        enc = TextEncoder(emb, pooling=args.pooling, normalize=not args.no_normalize)
        enc.fit(texts)
        docs = enc.encode_keyed(texts, keys, threads=args.threads, stats=stats)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - t0
    _save(docs, Path(args.output), "store", args.overwrite)
    if args.json:
        print(json.dumps({"output": args.output, "seconds": seconds, **stats}))
    say(f"encoded {stats['texts']} texts ({stats['empty_texts']} without a known token: zero vectors) "
        f"in {seconds:.2f} s; saved to {args.output}")
    return 0
