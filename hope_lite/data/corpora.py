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
:func:`load_corpus` probes it with one real exchange (:func:`hub_reachable`: a TLS handshake with
the hub, through the proxy's ``CONNECT`` tunnel behind a proxy), :data:`HUB_PROBE_TIMEOUT` = 0.5 s
at worst whatever the network does (DNS included). When the hub is unreachable (or
``offline=True``, or ``HF_HUB_OFFLINE=1`` is set) it switches ``datasets`` and ``huggingface_hub``
into offline mode *for this one call* (their module flags ``datasets.config.HF_HUB_OFFLINE`` and
``huggingface_hub.constants.HF_HUB_OFFLINE``, which both libraries read at call time; the
environment variables themselves are only read when the libraries are imported), tries the local
cache once, and if the corpus is not cached logs one message and returns the pydoc corpus: all
within a second.

``datasets`` is imported only when a corpus is built, so ``import hope_lite.data`` stays light.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import math
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

import torch
from torch import Tensor

if TYPE_CHECKING:  # imported lazily at run time: `datasets` takes about a second to import
    from datasets import Dataset, DatasetDict

__all__ = ["CORPORA", "SPLITS", "Corpus", "load_corpus", "corpus_bytes", "hub_reachable", "HUB_PROBE_TIMEOUT"]

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

HUB_PROBE_TIMEOUT = 0.5
"""Seconds :func:`hub_reachable` may take in all (DNS, proxy and TLS included): the fallback's worst delay."""


class _Proxy(NamedTuple):
    scheme: str          # "http" or "https" (anything else is not spoken by the probe)
    host: str            # "" when the setting names no host
    port: int
    authorization: str   # a "Proxy-Authorization: Basic ..." header line from user:password@, or ""

    def __str__(self) -> str:   # for messages: never the credentials
        return f"{self.scheme}://{_host_port(self.host, self.port)}"

    __repr__ = __str__


class _Route(NamedTuple):
    host: str
    port: int
    tls: bool                  # an https hub
    proxy: _Proxy | None       # the proxy in between, as the hub libraries would pick it


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"     # an IPv6 literal needs brackets


def _hub_route(endpoint: str | None = None) -> _Route:
    """The hub (``endpoint``, else ``HF_ENDPOINT``, else huggingface.co) and the proxy on the way to it.

    The proxy is the one ``huggingface_hub`` and ``requests`` pick from the environment:
    ``https_proxy`` / ``HTTPS_PROXY`` for an https hub (``http_proxy`` for an http one), else
    ``all_proxy`` / ``ALL_PROXY``; none when ``no_proxy`` / ``NO_PROXY`` covers the hub's host.
    """
    source = "endpoint" if endpoint is not None else "HF_ENDPOINT"
    url = endpoint if endpoint is not None else (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT)
    bad = ValueError(f"{source} must be an http(s) URL such as {_DEFAULT_ENDPOINT!r} (the Hugging Face Hub "
                     f"or a mirror), got {url!r}.")
    if not isinstance(url, str):
        raise bad
    hub = urllib.parse.urlsplit(url)
    try:
        port = hub.port
    except ValueError:      # a port that is not a number, or out of range
        raise bad from None
    if hub.scheme not in ("http", "https") or not hub.hostname:
        raise bad
    tls = hub.scheme == "https"
    route = _Route(hub.hostname, port or (443 if tls else 80), tls, None)
    proxies = urllib.request.getproxies()
    setting = proxies.get(hub.scheme) or proxies.get("all")
    if not setting or urllib.request.proxy_bypass(hub.hostname):
        return route
    proxy = urllib.parse.urlsplit(setting if "://" in setting else f"http://{setting}")
    try:
        proxy_port = proxy.port or (443 if proxy.scheme == "https" else 80)
    except ValueError:
        proxy_port = 0      # the probe then reports the setting as unusable
    authorization = ""
    if proxy.username is not None:
        credentials = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
        authorization = f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}\r\n"
    return route._replace(proxy=_Proxy(proxy.scheme, proxy.hostname or "", proxy_port, authorization))


class _Probe:
    """One exchange with the hub under one deadline, run by :func:`_hub_problem` in a daemon thread.

    ``step`` always names what the probe is doing, so that a timeout can say where it got stuck.
    Every socket operation gets the time left as its timeout, so the thread ends by the deadline
    too (except inside a DNS lookup, which no timeout reaches: that is why it is a thread).
    """

    def __init__(self, route: _Route, timeout: float) -> None:
        self.route, self.deadline, self.step = route, time.monotonic() + timeout, "the probe"

    def _left(self) -> float:
        seconds = self.deadline - time.monotonic()
        if seconds <= 0:
            raise TimeoutError("the deadline has passed")
        return seconds

    def _connect(self, host: str, port: int, name: str) -> socket.socket:
        self.step = f"the DNS lookup of {host}"
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        self.step = f"the connection to {name}"
        error: OSError = OSError(f"no address for {host}")
        for family, kind, protocol, _, address in addresses:     # IPv6 and IPv4, as create_connection
            connection = socket.socket(family, kind, protocol)
            try:
                connection.settimeout(self._left())
                connection.connect(address)
                return connection
            except OSError as failure:
                connection.close()
                error = failure
        raise error

    def _tls(self, connection: socket.socket, host: str) -> ssl.SSLSocket:
        # the usual certificate and host-name check: a captive portal's certificate is no hub
        self.step = f"the TLS handshake with {host}"
        connection.settimeout(self._left())
        return ssl.create_default_context().wrap_socket(connection, server_hostname=host)

    def _ask(self, connection: socket.socket, request: str) -> tuple[int, str]:
        """Send one HTTP request head and read the answer's status line: (code, "403 Forbidden")."""
        connection.settimeout(self._left())
        connection.sendall(request.encode("latin-1"))
        answer = b""
        while b"\r\n" not in answer and len(answer) < 8192:
            connection.settimeout(self._left())
            chunk = connection.recv(8192)
            if not chunk:
                raise ConnectionError(f"the connection was closed after {len(answer)} bytes of answer")
            answer += chunk
        version, _, status = answer.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        if not version.startswith("HTTP/") or not status[:3].isdigit():
            raise ConnectionError(f"not an HTTP answer: {answer[:40]!r}")
        return int(status[:3]), status.strip()

    def run(self) -> str | None:
        """The exchange; returns why the hub is unreachable (a phrase), None when it answered."""
        route, proxy = self.route, self.route.proxy
        target = _host_port(route.host, route.port)
        if proxy is not None and (proxy.scheme not in ("http", "https") or not proxy.host or not proxy.port):
            return (f"the proxy {proxy} is not an http(s) proxy URL with a host and port, which is all "
                    f"this probe speaks; pass offline=False to try the hub through it anyway")
        if proxy is not None:
            connection = self._connect(proxy.host, proxy.port, f"the proxy {proxy}")
        else:
            connection = self._connect(route.host, route.port, target)
        try:
            if proxy is not None and proxy.scheme == "https":
                connection = self._tls(connection, proxy.host)
            if proxy is not None and route.tls:
                # the tunnel that the hub libraries open; only a 2xx answer opens it
                self.step = f"CONNECT {target} through the proxy {proxy}"
                code, status = self._ask(connection, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                                                     f"{proxy.authorization}\r\n")
                if not 200 <= code < 300:
                    return f"the proxy {proxy} answered {status!r} to CONNECT {target}"
            if route.tls and not (proxy is not None and proxy.scheme == "https"):
                # the hub itself must answer, not just something that accepts connections
                # (in an https proxy's tunnel that would be TLS in TLS: the proxy's 2xx stands for it)
                connection = self._tls(connection, route.host)
            elif not route.tls:
                # an http hub (a local mirror): a HEAD answered, directly or through the proxy
                path = f"http://{target}/" if proxy is not None else "/"
                authorization = proxy.authorization if proxy is not None else ""
                asked = f"the proxy {proxy}" if proxy is not None else target
                self.step = f"HEAD {path} to {asked}"
                code, status = self._ask(connection, f"HEAD {path} HTTP/1.1\r\nHost: {target}\r\n"
                                                     f"{authorization}Connection: close\r\n\r\n")
                if code >= 500:
                    return f"{asked} answered {status!r} to HEAD {path}"
            return None
        finally:
            connection.close()


def _hub_problem(timeout: float = HUB_PROBE_TIMEOUT, endpoint: str | None = None) -> str | None:
    """Why the hub cannot be reached, as a phrase for the log, or None when it answered in time."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}.")
    probe = _Probe(_hub_route(endpoint), timeout)
    answer: list[str | None] = []

    def run() -> None:
        try:
            answer.append(probe.run())
        except TimeoutError:                # socket.timeout is TimeoutError
            answer.append(f"{probe.step} got no answer within {timeout:g} s")
        except OSError as error:            # socket.gaierror, ssl.SSLError, ConnectionError ...
            answer.append(f"{probe.step} failed: {error}")

    thread = threading.Thread(target=run, name="hope_lite-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)    # the deadline, whatever the thread is stuck in (a DNS lookup ignores timeouts)
    return answer[0] if answer else f"{probe.step} got no answer within {timeout:g} s"


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT, *, endpoint: str | None = None) -> bool:
    """Whether the Hugging Face Hub answers one real exchange within ``timeout`` seconds, all included.

    Enough to tell "the hub answers" from "no network", and quick in every network condition:
    the whole exchange (DNS lookup included) runs in a daemon thread that is waited for at most
    ``timeout`` seconds (:data:`HUB_PROBE_TIMEOUT`, 0.5 s, by default). The exchange is:

    - directly (no proxy): a TCP connection and a TLS handshake with the hub, with the usual
      certificate and host-name check;
    - behind an http proxy (``HTTPS_PROXY`` / ``https_proxy``, else ``ALL_PROXY`` / ``all_proxy``;
      not for hosts in ``NO_PROXY`` / ``no_proxy``): ``CONNECT host:443`` sent to the proxy, its
      answer read (it must be 2xx: a 403 or 407 is "unreachable"), then the TLS handshake with the
      hub through that tunnel. Behind an ``https://`` proxy the handshake is with the proxy and
      its 2xx answer to CONNECT is the hub's sign of life (no TLS inside TLS). Other proxy kinds
      (``socks5://``) count as unreachable: the probe does not speak them;
    - for an ``http://`` hub (a mirror): a ``HEAD /`` answered with an HTTP status below 500.

    A bare TCP connect is not enough: some sandboxes, firewalls and dead proxies accept *every*
    connection and never answer; there ``datasets`` would retry for minutes.

    Args:
        timeout: the deadline in seconds, > 0.
        endpoint: the hub's URL; default ``HF_ENDPOINT``, else ``"https://huggingface.co"``.
            The proxy is taken from the environment as the hub libraries do.
    """
    return _hub_problem(timeout, endpoint) is None


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
            probe within :data:`HUB_PROBE_TIMEOUT` (0.5 s). True never contacts the hub (the
            local ``datasets`` cache is still used). False always tries the hub, without the
            probe and despite the offline variables (for a slow link that fails the probe, or a
            proxy the probe does not speak; a dead one then waits for the retries of ``datasets``).
        log: called with one message when the fallback is used (default ``print``; pass
            ``logging.getLogger(...).warning`` or a no-op to redirect or silence it).

    Returns:
        a :class:`Corpus`. Check ``corpus.name`` (or ``corpus.fell_back``) to know which corpus
        you got; ``corpus.note`` says why.

    Raises:
        ValueError: for an unknown ``name``, a non-bool ``offline``, a ``log`` that is not callable
            or an ``HF_ENDPOINT`` that is not an http(s) URL.

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
    if reason is None and offline is None:
        problem = _hub_problem()
        if problem is not None:
            route = _hub_route()
            reason = f"the Hugging Face Hub ({_host_port(route.host, route.port)}) is unreachable ({problem})"
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
    texts = list(corpus[split]["text"])
    for row, text in enumerate(texts):
        if not isinstance(text, str):   # else str.join fails with "sequence item 0: expected str instance"
            raise ValueError(f"corpus[{split!r}]['text'] must hold one str per row (a document), got "
                             f"{type(text).__name__} {text!r:.40} at row {row}; drop or convert such rows first.")
    return _bytes_tensor(DOCUMENT_SEPARATOR.join(texts).encode("utf-8"))


def _bytes_tensor(raw: bytes) -> Tensor:
    if not raw:
        return torch.empty(0, dtype=torch.uint8)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)
