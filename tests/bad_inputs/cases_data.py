"""Bad inputs of hope_lite.data: corpora, the hub probe, the byte tokenizer, the token tasks."""

from __future__ import annotations

from catalogue import Case

from hope_lite.data import BYTES, corpus_bytes, hub_reachable, load_corpus, multi_query_recall, needle_retrieval


def _corpus_with_a_missing_row():
    import datasets      # imported when the case runs: it takes about a second

    return datasets.DatasetDict({split: datasets.Dataset.from_dict({"text": ["a document", None]})
                                 for split in ("train", "validation")})


def _decodes_numpy_ids():
    import numpy as np

    return BYTES.decode(np.array([104, 105], dtype=np.int64))


def _check_hi(text: str) -> str:
    assert text == "hi", text
    return "decodes to 'hi': NumPy integers are token ids like Python ints"


CASES = [
    Case("data", "load_corpus, an unknown corpus name ('wikitext103')", lambda: load_corpus("wikitext103"),
         raises=ValueError, match=r"name must be one of \('pydoc', 'wikitext2', 'tinystories'\)"),
    Case("data", "corpus_bytes, split 'test' (there is none)", lambda: corpus_bytes("pydoc", "test"),
         raises=ValueError, match=r"split must be one of \('train', 'validation'\)"),
    Case("data", "load_corpus, offline='yes'", lambda: load_corpus("wikitext2", offline="yes"),
         raises=ValueError, match=r"offline must be None \(decide automatically\), True or False"),
    Case("data", "hub_reachable, an endpoint without scheme ('huggingface.co')",
         lambda: hub_reachable(endpoint="huggingface.co"),
         raises=ValueError, match=r"endpoint must be an http\(s\) URL such as 'https://huggingface.co'"),
    Case("data", "corpus_bytes, a 'text' column with a missing (None) row", lambda: corpus_bytes(
         _corpus_with_a_missing_row(), "train"),
         raises=ValueError, match=r"must hold one str per row .* got NoneType None at row 1"),
    Case("data", "multi_query_recall, more pairs than distinct keys (n_pairs=200, vocab_size=256)",
         lambda: multi_query_recall(4, n_pairs=200, n_queries=1),
         raises=ValueError, match=r"n_pairs must be <= vocab_size // 2 = 128"),
    Case("data", "needle_retrieval, seed=2**64 (beyond torch's seed range)",
         lambda: needle_retrieval(4, 32, seed=2**64),
         raises=ValueError, match=r"seed must be an int in \[-2\*\*63, 2\*\*64\)"),
    Case("data", "BYTES.decode, a NumPy array of ids", _decodes_numpy_ids, check=_check_hi),
]
