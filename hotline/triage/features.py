"""Where ``CharNgramTfidf`` was before it moved to ``hotline.lib.ngrams`` (the knowledge base ranks
with it too): stored models name this module in their pickles and still load through it."""

from hotline.lib.ngrams import CharNgramTfidf

__all__ = ["CharNgramTfidf"]
