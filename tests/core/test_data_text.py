"""Tests of hope_lite.data's text side: the byte tokenizer, the corpora and their offline fallback."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
import torch

from hope_lite.data import (BYTES, CORPORA, SPLITS, ByteTokenizer, Corpus, corpus_bytes, hub_reachable,
                            load_corpus)
from hope_lite.data import corpora

datasets = pytest.importorskip("datasets")

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- tokenizer ----

@pytest.mark.parametrize("text", ["", "hello, world", "héllo wörld", "日本語のテキスト", "emoji 🧠🔁 done",
                                  "tabs\tand\nnewlines\r\n", "\x00\x7f\u0080\uffff\U0010ffff"])
def test_byte_tokenizer_round_trips(text):
    ids = BYTES.encode(text)
    assert ids.dtype == torch.int64 and ids.dim() == 1
    assert ids.tolist() == list(text.encode("utf-8"))
    assert BYTES.decode(ids) == text
    assert BYTES.decode(ids.tolist()) == text                       # lists work as well as tensors


def test_byte_tokenizer_basics():
    assert ByteTokenizer.vocab_size == BYTES.vocab_size == 256
    assert BYTES.encode("é").tolist() == [195, 169]                  # two bytes for one character
    assert "256" in repr(BYTES)
    assert BYTES.decode(torch.tensor([104, 105], dtype=torch.uint8)) == "hi"


def test_byte_tokenizer_decodes_any_integer_sequence():
    np = pytest.importorskip("numpy")
    assert BYTES.decode(np.array([104, 105])) == "hi"                # NumPy ints are ints
    assert BYTES.decode(np.array([104, 105], dtype=np.uint8)) == "hi"
    assert BYTES.decode(b"hi") == "hi"                                # bytes are byte ids
    assert BYTES.decode(range(104, 106)) == "hi"


def test_byte_tokenizer_replaces_invalid_utf8():
    assert BYTES.decode([104, 195]) == "h\ufffd"                     # half a character, e.g. from sampling
    assert BYTES.decode([0xFF, 0x41]) == "\ufffdA"


def test_byte_tokenizer_rejects_bad_input():
    with pytest.raises(ValueError, match=r"256 at position 1.*-1 at position 2"):
        BYTES.decode([65, 256, -1])
    with pytest.raises(ValueError, match="integer tensor"):
        BYTES.decode(torch.tensor([65.0]))
    with pytest.raises(ValueError, match="1-D"):
        BYTES.decode(torch.tensor([[65]]))
    with pytest.raises(ValueError, match="must be ints"):
        BYTES.decode([65, "B"])
    with pytest.raises(ValueError, match=r"must be ints, got True at position 1"):
        BYTES.decode([65, True])
    with pytest.raises(ValueError, match=r"must be ints, got 66.0"):
        BYTES.decode([65, 66.0])
    with pytest.raises(ValueError, match=r"got a str: it is text already"):
        BYTES.decode("AB")
    with pytest.raises(ValueError, match=r"must be token ids \(a 1-D tensor or a sequence of ints\), got NoneType"):
        BYTES.decode(None)
    with pytest.raises(ValueError, match="text must be a str"):
        BYTES.encode(b"bytes")
    with pytest.raises(ValueError, match="lone surrogate"):
        BYTES.encode("a\ud800b")


# ---- the pydoc corpus ----

def test_pydoc_corpus_split_is_fixed_disjoint_and_complete():
    from pydoc_data.topics import topics

    corpus = load_corpus()
    assert isinstance(corpus, Corpus) and corpus.name == corpus.requested == "pydoc"
    assert not corpus.fell_back and corpus.note == ""
    assert sorted(corpus.dataset) == sorted(SPLITS)
    train, validation = corpus["train"], corpus["validation"]
    assert train.column_names == validation.column_names == ["topic", "text"]
    assert set(train["topic"]).isdisjoint(validation["topic"])
    assert sorted(list(train["topic"]) + list(validation["topic"])) == sorted(topics)
    names = sorted(topics)
    assert list(validation["topic"]) == [name for i, name in enumerate(names) if i % 10 == 9]
    assert list(train["topic"]) == [name for i, name in enumerate(names) if i % 10 != 9]
    assert all(text == topics[name] for name, text in zip(train["topic"], train["text"]))
    assert 0.05 <= len(validation) / len(topics) <= 0.15                      # ~10 % of the documents
    assert list(load_corpus()["validation"]["topic"]) == list(validation["topic"])  # always the same


def test_corpus_bytes_joins_documents_and_is_cached():
    corpus = load_corpus()
    for split in SPLITS:
        stream = corpus_bytes("pydoc", split)
        assert stream.dtype == torch.uint8 and stream.dim() == 1
        expected = "\n\n".join(corpus[split]["text"]).encode("utf-8")
        assert bytes(stream.tolist()) == expected
        assert torch.equal(corpus_bytes(corpus, split), stream)
        assert torch.equal(corpus_bytes(corpus.dataset, split), stream)         # a plain DatasetDict too
    assert corpus_bytes("pydoc", "train").numel() > 20 * corpus_bytes("pydoc", "validation").numel()
    start = time.perf_counter()
    for _ in range(20):
        corpus_bytes("pydoc", "train")
    assert time.perf_counter() - start < 0.5                                  # cached: no re-joining
    stream = corpus_bytes("pydoc", "train")
    first = int(stream[0])
    stream[0] = (first + 1) % 256                                             # a fresh copy each call:
    assert int(corpus_bytes("pydoc", "train")[0]) == first                    # the cache is not touched
    text = BYTES.decode(corpus_bytes("pydoc", "validation").long())
    assert text == "\n\n".join(corpus["validation"]["text"])


# ---- online corpora: instant offline fallback ----

def _assert_fell_back(corpus, requested, messages, seconds):
    assert corpus.name == "pydoc" and corpus.requested == requested and corpus.fell_back
    assert len(messages) == 1 and messages[0] == corpus.note
    message = messages[0]
    assert requested in message and "pydoc" in message and "HF_DATASETS_CACHE" in message
    assert seconds < 1.0, f"the fallback took {seconds:.2f} s"
    assert list(corpus["train"]["topic"]) == list(load_corpus()["train"]["topic"])


def test_online_corpus_falls_back_fast_without_the_hub(capsys):
    if hub_reachable():
        pytest.skip("the Hugging Face Hub is reachable here: wikitext2 would be downloaded")
    start = time.perf_counter()
    corpus = load_corpus("wikitext2")                                         # default log=print
    seconds = time.perf_counter() - start
    printed = capsys.readouterr().out.strip().splitlines()
    _assert_fell_back(corpus, "wikitext2", printed, seconds)
    assert "unreachable" in printed[0]


def test_unreachable_endpoint_and_empty_cache_fall_back_anywhere(monkeypatch, tmp_path):
    """Hermetic: a closed local port as the hub and an empty cache, whatever the real network is."""
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    for variable in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    assert not hub_reachable()
    messages = []
    start = time.perf_counter()
    corpus = load_corpus("tinystories", log=messages.append)
    _assert_fell_back(corpus, "tinystories", messages, time.perf_counter() - start)
    assert "127.0.0.1:9" in messages[0]


def test_offline_switches_are_respected_and_restored(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    monkeypatch.setattr(corpora, "_hub_problem", lambda *a, **k: pytest.fail("offline must not probe"))
    before = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    messages = []
    corpus = load_corpus("wikitext2", offline=True, log=messages.append)
    _assert_fell_back(corpus, "wikitext2", messages, 0.0)
    assert "offline=True" in messages[0]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    messages.clear()
    corpus = load_corpus("tinystories", log=messages.append)
    assert corpus.fell_back and "HF_HUB_OFFLINE=1" in messages[0]
    assert (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE) == before


def test_the_hub_flags_seen_by_datasets(monkeypatch):
    """What ``datasets`` sees during the load: offline for offline=True, online for offline=False."""
    import huggingface_hub.constants

    seen = []

    def fake_load(name):
        seen.append((datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE))
        return datasets.DatasetDict({split: datasets.Dataset.from_dict({"text": [f"{name} {split}"]})
                                     for split in SPLITS})

    monkeypatch.setattr(corpora, "_load_from_hub", fake_load)
    monkeypatch.setattr(corpora, "_hub_problem", lambda *a, **k: pytest.fail("no probe expected"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached = load_corpus("wikitext2", log=pytest.fail)                  # env offline: the cache is read
    assert cached.name == "wikitext2" and not cached.fell_back and "local datasets cache" in cached.note
    assert bytes(corpus_bytes(cached, "validation").tolist()) == b"wikitext2 validation"
    forced = load_corpus("tinystories", offline=False, log=pytest.fail)  # False: try the hub, no probe
    assert forced.name == "tinystories" and forced.note == ""
    assert seen == [(True, True), (False, False)]


def test_a_failing_hub_download_falls_back_too(monkeypatch):
    def broken_load(name):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(corpora, "_load_from_hub", broken_load)
    monkeypatch.setattr(corpora, "_hub_problem", lambda *a, **k: None)      # the probe says: reachable
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    messages = []
    corpus = load_corpus("wikitext2", log=messages.append)
    _assert_fell_back(corpus, "wikitext2", messages, 0.0)
    assert "connection reset" in messages[0]


def test_wikitext_lines_are_regrouped_into_articles():
    lines = ["", " = First = \n", "", " Intro text .\n", " = = Section = = \n", " More .\n", "",
             " = Second = \n", " Body .\n"]
    articles = corpora._wikitext_articles(lines)
    assert len(articles) == 2
    assert articles[0].startswith("= First =") and "= = Section = =" in articles[0]
    assert articles[1] == "= Second = \n Body ."


def test_the_package_imports_datasets_only_inside_functions():
    """``import hope_lite.data`` must stay light (datasets takes ~1 s to import): no module-level import."""
    package = Path(corpora.__file__).parent
    for module in sorted(package.glob("*.py")):
        for node in ast.parse(module.read_text()).body:               # top-level statements only
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] in ("datasets", "huggingface_hub") for name in names), module


# ---- bad arguments ----

def test_bad_corpus_arguments():
    assert CORPORA == ("pydoc", "wikitext2", "tinystories")
    with pytest.raises(ValueError, match=r"name must be one of \('pydoc', 'wikitext2', 'tinystories'\)"):
        load_corpus("wikitext103")
    with pytest.raises(ValueError, match="offline"):
        load_corpus("pydoc", offline="yes")
    with pytest.raises(ValueError, match="log must be callable"):
        load_corpus("pydoc", log="print")
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'validation'\)"):
        corpus_bytes("pydoc", "test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_corpus()["test"]
    with pytest.raises(ValueError, match="name must be one of"):
        corpus_bytes("nope", "train")
    with pytest.raises(ValueError, match="corpus must be a Corpus"):
        corpus_bytes(42, "train")
    numbers = datasets.DatasetDict({split: datasets.Dataset.from_dict({"text": ["fine", None]}) for split in SPLITS})
    with pytest.raises(ValueError, match=r"corpus\['train'\]\['text'\] must hold one str per row .* "
                                         r"got NoneType None at row 1"):
        corpus_bytes(numbers, "train")
    with pytest.raises(ValueError, match="timeout"):
        hub_reachable(timeout=0)
