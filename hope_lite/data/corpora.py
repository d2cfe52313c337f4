"""Text corpora for the byte-level language models, loaded through ``datasets``, always offline-safe.

Every corpus is a ``datasets.DatasetDict`` with the splits ``"train"`` and ``"validation"`` and a
``"text"`` column holding one document per row. :func:`load_corpus` returns it wrapped in a
:class:`Corpus`, which also says which corpus was *actually* loaded: asking for an online corpus
on a machine without the Hugging Face Hub gives the offline one, and the caller (a training log,
a notebook) must be able to tell. :func:`corpus_bytes` turns a split into the one long byte
stream that a byte-level model trains on.

The corpora (:data:`CORPORA`):

``"pydoc"`` (the default, offline): the English documentation topics that ship inside every
    CPython (``pydoc_data.topics``: the language reference pages that ``help("assert")`` shows).
    No download, no cache folder, identical on every machine with the same Python. Documents are
    the topics in sorted name order; the topic at sorted index ``i`` goes to ``"validation"``
    when ``i % 10 == 9``, to ``"train"`` otherwise, so about 10 % of the *documents* are held
    out, always the same ones. A ``"topic"`` column keeps the topic names. On Python 3.11.7:
    79 topics, 72 train / 7 validation; joined with ``"\\n\\n"`` that is 455,338 train bytes and
    10,933 validation bytes (the held-out topics happen to be short ones, so validation is only
    about 2 % of the bytes). Other Python versions ship other topic texts, so other sizes.
``"wikitext2"``: WikiText-2 (raw), ``Salesforce/wikitext`` config ``wikitext-2-raw-v1`` on the
    hub (the canonical ``wikitext`` under its current id). The hub stores it one *line* per row;
    :func:`load_corpus` regroups the lines into articles (a new article starts at each top-level
    heading `` = Title = ``), so that a row is a document here too.
``"tinystories"``: TinyStories (``roneneldan/TinyStories``), one short story per row (about
    2 GB of train text: load it only where you mean to).

Offline behaviour, and why it is built this way: ``datasets`` retries unreachable hosts for a
long time before giving up, which would freeze a notebook or a CI job. So before touching the hub,
:func:`load_corpus` probes it with one TCP connect and TLS handshake (:func:`hub_reachable`, 0.5 s
at worst, DNS included). When the hub is unreachable (or ``offline=True``, or ``HF_HUB_OFFLINE=1``
is set) it switches ``datasets`` and ``huggingface_hub`` into offline mode *for this one call*
(their module flags ``datasets.config.HF_HUB_OFFLINE`` and ``huggingface_hub.constants.
HF_HUB_OFFLINE``, which both libraries read at call time; the environment variables themselves are
only read when the libraries are imported), tries the local cache once, and if the corpus is not
cached logs one message and returns the pydoc corpus: all within a second.

``datasets`` is imported only when a corpus is built, so ``import hope_lite.data`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import torch
from torch import Tensor

if TYPE_CHECKING:  # imported lazily at run time: `datasets` takes about a second to import
    from datasets import Dataset, DatasetDict

__all__ = ["CORPORA", "SPLITS", "Corpus", "load_corpus", "corpus_bytes", "hub_reachable"]

CORPORA = ("pydoc", "wikitext2", "tinystories")
"""Names accepted by :func:`load_corpus`; the first is the offline default."""

SPLITS = ("train", "validation")
"""The splits every corpus has."""

DOCUMENT_SEPARATOR = "\n\n"
"""What :func:`corpus_bytes` puts between documents: a blank line, as between paragraphs."""

# name -> (hub repository, config) of the online corpora
_HUB_SOURCES = {
    "wikitext2": ("Salesforce/wikitext", "wikitext-2-raw-v1"),
    "tinystories": ("roneneldan/TinyStories", None),
}

_DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE_STRINGS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Corpus:
    """A loaded corpus and the truth about where it came from.

    Attributes:
        name: the corpus actually loaded (one of :data:`CORPORA`).
        requested: the corpus that was asked for. ``name != requested`` means the offline
            fallback was used (see :attr:`fell_back`).
        dataset: a ``datasets.DatasetDict`` with splits ``"train"`` and ``"validation"`` and a
            ``"text"`` column, one document per row.
        note: one human sentence on how it was loaded when that is worth saying (the fallback's
            reason, or "from the local cache"); empty otherwise. A training log can print it.

    ``corpus["train"]`` is a shortcut for ``corpus.dataset["train"]``.
    """

    name: str
    requested: str
    dataset: DatasetDict
    note: str = ""

    @property
    def fell_back(self) -> bool:
        """True when the requested corpus could not be loaded and the offline one stands in."""
        return self.name != self.requested

    def __getitem__(self, split: str) -> Dataset:
        return self.dataset[_check_split(split)]


# ---- argument checks ----

def _check_name(name: object) -> str:
    if name not in CORPORA:
        raise ValueError(f"name must be one of {CORPORA} (the corpus to load), got {name!r}.")
    return name


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    return split


# ---- the offline corpus: CPython's documentation topics ----

def _is_validation(index: int) -> bool:
    """The fixed split rule of the pydoc corpus: every tenth topic (in sorted order) is held out."""
    return index % 10 == 9


@functools.lru_cache(maxsize=None)
def _pydoc_documents(split: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(topic names, texts) of one split of the pydoc corpus; cached, it never changes."""
    from pydoc_data.topics import topics

    names = tuple(name for index, name in enumerate(sorted(topics))
                  if _is_validation(index) == (split == "validation"))
    return names, tuple(topics[name] for name in names)


@functools.lru_cache(maxsize=None)
def _pydoc_bytes(split: str) -> bytes:
    return DOCUMENT_SEPARATOR.join(_pydoc_documents(split)[1]).encode("utf-8")


def _pydoc_dataset() -> DatasetDict:
    from datasets import Dataset, DatasetDict

    splits = {}
    for split in SPLITS:
        names, texts = _pydoc_documents(split)
        splits[split] = Dataset.from_dict({"topic": list(names), "text": list(texts)})
    return DatasetDict(splits)


# ---- the hub: reachability and offline mode ----

def _hub_address() -> tuple[str, int, bool]:
    """(host, port, use TLS) of the first hop to the hub: ``HF_ENDPOINT``'s host, or the proxy."""
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT)
    host = endpoint.hostname or "huggingface.co"
    scheme = endpoint.scheme or "https"
    port = endpoint.port or (443 if scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        # behind a proxy the direct route may be closed while the hub is reachable: probe the proxy
        proxy_url = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxy_url.hostname:
            return proxy_url.hostname, proxy_url.port or (443 if proxy_url.scheme == "https" else 80), False
    return host, port, scheme == "https"


def hub_reachable(timeout: float = 0.5) -> bool:
    """Whether the Hugging Face Hub answers a TCP connect and a TLS handshake within ``timeout`` s.

    No HTTP request: enough to tell "no network" from "network", in a bounded time. The TLS
    handshake (with the usual certificate and host-name check) matters because some sandboxes
    and firewalls accept *every* TCP connection and drop the traffic afterwards; there a bare
    connect says "reachable" and ``datasets`` would then retry for half a minute. The probe runs
    in a daemon thread because a DNS lookup ignores socket timeouts and can hang for many seconds
    on a machine without a resolver; we stop waiting after ``timeout``.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    host, port, use_tls = _hub_address()
    answer: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout) as connection:
                if use_tls:
                    ssl.create_default_context().wrap_socket(connection, server_hostname=host).close()
                answer.append(True)
        except OSError:  # ssl.SSLError and socket.timeout are OSErrors too
            answer.append(False)

    probe = threading.Thread(target=connect, name="hope_lite-hub-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    return bool(answer and answer[0])


def _offline_reason(offline: bool | None) -> str | None:
    """Why the hub must not be contacted (a phrase for the log), or None when it may be tried."""
    if offline is True:
        return "offline=True was passed"
    if offline is False:
        return None
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().lower() in _TRUE_STRINGS:
            return f"{variable}={os.environ[variable]} is set"
    import datasets.config

    if datasets.config.HF_HUB_OFFLINE:
        return "datasets is in offline mode (datasets.config.HF_HUB_OFFLINE)"
    return None


@contextlib.contextmanager
def _hub_mode(offline: bool) -> Iterator[None]:
    """Set the offline flags of ``datasets`` and ``huggingface_hub`` for one block, then restore.

    Offline, ``load_dataset`` fails at once (no retries) when the corpus is not cached and
    reads it from the cache when it is. Restoring keeps the switch from leaking into the rest
    of the process (a later call may find the network back).
    """
    import datasets.config
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = offline
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


# ---- the online corpora ----

_TOP_LEVEL_HEADING = re.compile(r"^ = [^=].* = $")


def _wikitext_articles(lines: list[str]) -> list[str]:
    """Regroup WikiText lines (one row per line on the hub) into one string per article.

    An article starts at a top-level heading `` = Title = `` (second-level ones read
    `` = = Section = = ``); empty lines between paragraphs are kept inside the article.
    """
    articles: list[list[str]] = []
    for line in lines:
        if _TOP_LEVEL_HEADING.match(line.rstrip("\n")) or not articles:
            articles.append([])
        articles[-1].append(line)
    texts = ("".join(article).strip() for article in articles)
    return [text for text in texts if text]


def _load_from_hub(name: str) -> DatasetDict:
    """Load an online corpus with ``datasets`` and bring it to the common shape (train/validation, text)."""
    from datasets import Dataset, DatasetDict, load_dataset

    repository, config = _HUB_SOURCES[name]
    raw = load_dataset(repository, config)
    if name == "wikitext2":
        return DatasetDict({split: Dataset.from_dict({"text": _wikitext_articles(list(raw[split]["text"]))})
                            for split in SPLITS})
    return DatasetDict({split: raw[split].select_columns(["text"]) for split in SPLITS})


def load_corpus(name: str = "pydoc", *, offline: bool | None = None,
                log: Callable[[str], object] = print) -> Corpus:
    """Load corpus ``name`` of :data:`CORPORA`, falling back to ``"pydoc"`` when it cannot be had.

    Args:
        name: ``"pydoc"`` (offline, default), ``"wikitext2"`` or ``"tinystories"``.
        offline: None (default) decides by itself: offline when ``HF_HUB_OFFLINE`` /
            ``HF_DATASETS_OFFLINE`` is set or the hub does not answer :func:`hub_reachable`'s
            0.5 s probe. True never contacts the hub (the local ``datasets`` cache is still
            used). False always tries the hub, without the probe and despite the offline
            variables (for a slow link that fails the probe; a dead one then waits for the
            retries of ``datasets``).
        log: called with one message when the fallback is used (default ``print``; pass
            ``logging.getLogger(...).warning`` or a no-op to redirect or silence it).

    Returns:
        a :class:`Corpus`. Check ``corpus.name`` (or ``corpus.fell_back``) to know which corpus
        you got; ``corpus.note`` says why.

    Raises:
        ValueError: for an unknown ``name``, a non-bool ``offline`` or a ``log`` that is not callable.

    >>> corpus = load_corpus()
    >>> corpus.name, sorted(corpus.dataset), corpus["train"].column_names
    ('pydoc', ['train', 'validation'], ['topic', 'text'])
    """
    _check_name(name)
    if offline is not None and not isinstance(offline, bool):
        raise ValueError(f"offline must be None (decide automatically), True or False, got {offline!r}.")
    if not callable(log):
        raise ValueError(f"log must be callable (e.g. print), got {log!r}.")
    if name == "pydoc":
        return Corpus("pydoc", "pydoc", _pydoc_dataset())

    reason = _offline_reason(offline)
    if reason is None and offline is None and not hub_reachable():
        host, port, _ = _hub_address()
        reason = f"the Hugging Face Hub ({host}:{port}) is unreachable"
    try:
        with _hub_mode(offline=reason is not None):
            dataset = _load_from_hub(name)
    except OSError as error:  # ConnectionError, FileNotFoundError, DatasetNotFoundError ...
        import datasets.config

        why = (f"{reason}, and '{name}' is not in the local datasets cache ({datasets.config.HF_DATASETS_CACHE})"
               if reason is not None else f"loading it from the hub failed ({type(error).__name__}: {error})")
        note = (f"hope_lite.data: cannot load corpus '{name}': {why}. Using the offline corpus 'pydoc' "
                f"(CPython's documentation topics) instead. To get '{name}', run once with network "
                f"access so that `datasets` caches it, or set HF_DATASETS_CACHE (before starting "
                f"Python) to a folder that already holds it.")
        log(note)
        return Corpus("pydoc", name, _pydoc_dataset(), note)
    note = f"'{name}' loaded from the local datasets cache ({reason})." if reason is not None else ""
    return Corpus(name, name, dataset, note)


# ---- the byte stream a byte-level model trains on ----

def corpus_bytes(corpus: Corpus | DatasetDict | str, split: str) -> Tensor:
    """The documents of one split joined by a blank line, as UTF-8 bytes: a 1-D uint8 tensor.

    This is the whole training (or validation) stream of a byte-level language model: cut
    windows from it and call ``.long()`` on each batch (uint8 keeps a big corpus 8x smaller in
    memory than int64). The pydoc bytes are computed once per process and cached; the tensor
    returned is always a fresh copy, safe to modify.

    Args:
        corpus: a :class:`Corpus`, a ``DatasetDict`` with a ``"text"`` column, or a name of
            :data:`CORPORA` (loaded with :func:`load_corpus`, fallback included).
        split: ``"train"`` or ``"validation"``.

    >>> stream = corpus_bytes("pydoc", "validation")
    >>> stream.dtype, stream.dim()
    (torch.uint8, 1)
    """
    _check_split(split)
    if isinstance(corpus, str):
        if _check_name(corpus) == "pydoc":
            return _bytes_tensor(_pydoc_bytes(split))
        corpus = load_corpus(corpus)
    if isinstance(corpus, Corpus):
        if corpus.name == "pydoc":
            return _bytes_tensor(_pydoc_bytes(split))
        corpus = corpus.dataset
    if not (hasattr(corpus, "keys") and split in corpus.keys()):
        raise ValueError(f"corpus must be a Corpus, a corpus name of {CORPORA} or a DatasetDict with "
                         f"a {split!r} split, got {type(corpus).__name__}.")
    if "text" not in corpus[split].column_names:
        raise ValueError(f"corpus[{split!r}] has no 'text' column (columns: {corpus[split].column_names}).")
    return _bytes_tensor(DOCUMENT_SEPARATOR.join(corpus[split]["text"]).encode("utf-8"))


def _bytes_tensor(raw: bytes) -> Tensor:
    if not raw:
        return torch.empty(0, dtype=torch.uint8)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)
