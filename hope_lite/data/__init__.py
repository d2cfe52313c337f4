"""Data for hope_lite: memory vectors, bytes, text corpora and synthetic token tasks.

One concept per module:

    vectors    seeded key/value vectors for the memory notebooks: make_kv_pairs,
               orthogonal_capacity (notebook 01); make_needle_stream, make_shift_stream (notebook 04)
    tokenizer  ByteTokenizer and its instance BYTES: UTF-8 bytes as tokens, vocab_size 256
    corpora    load_corpus (CORPORA: "pydoc" offline, "wikitext2", "tinystories" through the
               hub, with an instant offline fallback), Corpus, corpus_bytes, hub_reachable
    tasks      token tasks for language models (multi_query_recall, needle_retrieval; targets
               use IGNORE_INDEX = -100) and class_incremental_stream for continual learning

Everything public is importable from here: ``from hope_lite.data import BYTES, load_corpus``.
Importing this package does not import ``datasets`` (about a second); the corpora do, when built.
"""

from .corpora import CORPORA, SPLITS, Corpus, corpus_bytes, hub_reachable, load_corpus
from .tasks import IGNORE_INDEX, class_incremental_stream, multi_query_recall, needle_retrieval
from .tokenizer import BYTES, ByteTokenizer
from .vectors import make_kv_pairs, make_needle_stream, make_shift_stream, orthogonal_capacity

__all__ = [
    "make_kv_pairs", "orthogonal_capacity", "make_needle_stream", "make_shift_stream",
    "ByteTokenizer", "BYTES",
    "CORPORA", "SPLITS", "Corpus", "load_corpus", "corpus_bytes", "hub_reachable",
    "IGNORE_INDEX", "multi_query_recall", "needle_retrieval", "class_incremental_stream",
]
