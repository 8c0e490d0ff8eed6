"""densevec: fast static word embeddings (word2vec, GloVe) with C++ kernels."""
from densevec._core import __version__
from densevec.corpus import Corpus, Vocab

__all__ = ["__version__", "Corpus", "Vocab"]
