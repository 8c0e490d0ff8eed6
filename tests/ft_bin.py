"""A writer of fastText's .bin layout (version 12), for tests that must not
depend on the fasttext package: header, arguments, dictionary, dense input and
output matrices (see fastText's FastText::saveModel)."""
from __future__ import annotations

import struct

import numpy as np


def bin_bytes(words, counts, matrix, output, *, minn=3, maxn=6, bucket=20, dim=None, model=2, loss=2,
              labels=()):
    dim = matrix.shape[1] if dim is None else dim
    out = [struct.pack("<ii", 793712314, 12)]
    # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate, then t
    out.append(struct.pack("<12i", dim, 5, 1, 1, 5, 1, loss, model, bucket, minn, maxn, 100))
    out.append(struct.pack("<d", 1e-4))
    out.append(struct.pack("<iiiqq", len(words) + len(labels), len(words), len(labels), int(sum(counts)), -1))
    for w, c in zip(words, counts):
        out.append(w.encode("utf-8", "surrogateescape") + b"\0" + struct.pack("<qb", c, 0))
    for lab in labels:
        out.append(lab.encode() + b"\0" + struct.pack("<qb", 1, 1))
    out.append(b"\0")  # not quantised
    out.append(struct.pack("<qq", *matrix.shape) + np.ascontiguousarray(matrix, dtype="<f4").tobytes())
    out.append(b"\0")
    out.append(struct.pack("<qq", *output.shape) + np.ascontiguousarray(output, dtype="<f4").tobytes())
    return b"".join(out)
