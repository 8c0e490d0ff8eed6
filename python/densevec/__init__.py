"""densevec: fast static word embeddings (word2vec, GloVe) with C++ kernels.

>>> import densevec as dv
>>> corpus = dv.Corpus.from_file("text.txt", min_count=5)          # doctest: +SKIP
>>> emb = dv.Word2Vec(dim=100, epochs=5).fit(corpus)                # doctest: +SKIP
>>> emb.most_similar("king", topn=10)                               # doctest: +SKIP
"""
from densevec._core import __version__
from densevec.corpus import Corpus, Vocab
from densevec.vectors import Embeddings
from densevec.word2vec import Word2Vec
from densevec.doc2vec import Doc2Vec, Documents
from densevec.fasttext import FastText, SubwordEmbeddings, load_fasttext
from densevec.glove import Cooccurrence, GloVe, cooccurrence
from densevec.node2vec import Node2Vec
from densevec.phrases import ENGLISH_CONNECTOR_WORDS, Phrases
from densevec.encode import TextEncoder
from densevec.contrastive import Contrastive
from densevec import datasets, evaluate

_SUBMODULES = ("contrastive", "corpus", "datasets", "doc2vec", "encode", "evaluate", "fasttext", "glove", "graph",
               "node2vec", "plot", "reduce", "retrieval", "vectors", "word2vec")


def __getattr__(name: str):
    """Import the public submodules on first use: ``import densevec`` then ``densevec.reduce.pca(...)``."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"densevec.{name}")
    raise AttributeError(f"module 'densevec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))


def _check_simd_env() -> None:
    """``RuntimeWarning`` when ``DENSEVEC_SIMD`` names no SIMD level (the core then ignores it)."""
    import os
    import warnings

    value = os.environ.get("DENSEVEC_SIMD", "")
    valid = ("serial", "avx2", "avx512")
    if value and value not in valid:
        warnings.warn(f"DENSEVEC_SIMD={value!r} is not a SIMD level ({', '.join(valid)}); it is ignored "
                      f"and the best level of this CPU is used", RuntimeWarning, stacklevel=3)


_check_simd_env()

__all__ = [
    "__version__", "Corpus", "Vocab", "Embeddings", "Word2Vec", "GloVe", "Cooccurrence",
    "cooccurrence", "datasets", "evaluate", "Phrases", "ENGLISH_CONNECTOR_WORDS", "Node2Vec",
    "Doc2Vec", "Documents", "TextEncoder", "Contrastive", "FastText", "SubwordEmbeddings", "load_fasttext",
]
