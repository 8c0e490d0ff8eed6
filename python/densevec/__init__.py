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
from densevec.glove import Cooccurrence, GloVe, cooccurrence
from densevec.phrases import ENGLISH_CONNECTOR_WORDS, Phrases
from densevec import datasets, evaluate

__all__ = [
    "__version__", "Corpus", "Vocab", "Embeddings", "Word2Vec", "GloVe", "Cooccurrence",
    "cooccurrence", "datasets", "evaluate", "Phrases", "ENGLISH_CONNECTOR_WORDS",
]
