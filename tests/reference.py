"""Pure-Python references for the tokenizer, vocabulary and encoder."""
from __future__ import annotations

import re
from collections import Counter

_SEP = re.compile(rb"[ \t\v\f\r\x00]+")


def tokenize_lines(data: bytes, max_token_bytes: int = 1000) -> list[list[str]]:
    """Lines of valid tokens: ASCII whitespace/NUL separate tokens, '\\n' ends a line;
    tokens that are not valid UTF-8 or are too long are dropped."""
    lines = []
    for raw in data.split(b"\n"):
        toks = []
        for t in _SEP.split(raw):
            if not t or len(t) > max_token_bytes:
                continue
            try:
                toks.append(t.decode("utf-8"))
            except UnicodeDecodeError:
                continue
        lines.append(toks)
    return lines


def vocabulary(lines: list[list[str]], min_count: int, max_vocab: int | None = None):
    counts = Counter(t for line in lines for t in line)
    kept = [(w, c) for w, c in counts.items() if c >= min_count]
    kept.sort(key=lambda wc: (-wc[1], wc[0].encode("utf-8")))
    if max_vocab is not None:
        kept = kept[:max_vocab]
    return [w for w, _ in kept], [c for _, c in kept], counts


def encode(lines: list[list[str]], words: list[str], max_sentence_length: int = 10_000):
    index = {w: i for i, w in enumerate(words)}
    sentences = []
    for line in lines:
        ids = [index[t] for t in line if t in index]
        for k in range(0, len(ids), max_sentence_length):
            sentences.append(ids[k : k + max_sentence_length])
    return sentences
