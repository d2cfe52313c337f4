"""Data for hope_lite: bytes, text corpora and synthetic token tasks.

One concept per module:

    tokenizer  ByteTokenizer and its instance BYTES: UTF-8 bytes as tokens, vocab_size 256
    corpora    load_corpus (CORPORA: "pydoc" offline, "wikitext2", "tinystories" through the
               hub, with an instant offline fallback), Corpus, corpus_bytes, hub_reachable
               (a real exchange with the hub, HUB_PROBE_TIMEOUT = 0.5 s at most)
    tasks      token tasks for language models (multi_query_recall, needle_retrieval; targets
               use IGNORE_INDEX = -100) and class_incremental_stream for continual learning
    formal     formal-language recognition (formal_language, is_member; LANGUAGES: parity, (aa)*,
               (abab)*, a^n b^n, a^n b^n c^n, shuffle-2), the paper's Table 5
    mad        the MAD synthetic tasks (mad_task, MAD_TASKS: in-context, fuzzy and noisy recall,
               selective copying, compression, memorization), the paper's Table 4
    needles    single-needle retrieval in byte haystacks (needle_haystack, NEEDLE_KINDS: pass key,
               number, word), Titans' Table 2 and the paper's RULER NIAH (Table 1)

The seeded key/value vectors and streams of the memory chapters live with those chapters in the
teaching layer (the ``lessons`` subpackage: ``ch01_associative_memory``, ``ch04_titans``).

Everything public is importable from here: ``from hope_lite.data import BYTES, load_corpus``.
Importing this package does not import ``datasets`` (about a second); the corpora do, when built.
"""

from .corpora import CORPORA, HUB_PROBE_TIMEOUT, SPLITS, Corpus, corpus_bytes, hub_reachable, load_corpus
from .formal import LANGUAGES, formal_language, is_member
from .mad import MAD_TASKS, mad_task
from .needles import NEEDLE_KINDS, needle_haystack
from .tasks import IGNORE_INDEX, class_incremental_stream, multi_query_recall, needle_retrieval
from .tokenizer import BYTES, ByteTokenizer

__all__ = [
    "ByteTokenizer", "BYTES",
    "CORPORA", "SPLITS", "Corpus", "load_corpus", "corpus_bytes", "hub_reachable", "HUB_PROBE_TIMEOUT",
    "IGNORE_INDEX", "multi_query_recall", "needle_retrieval", "class_incremental_stream",
    "LANGUAGES", "formal_language", "is_member", "MAD_TASKS", "mad_task", "NEEDLE_KINDS", "needle_haystack",
]
