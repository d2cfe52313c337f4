"""The hub probe answers within its deadline in every network condition, simulated on 127.0.0.1 only.

Each condition is a small local server (or none): a closed port, a black hole that accepts TCP and
never answers, a proxy that is a black hole, a proxy that refuses CONNECT with 403, a proxy that
says 200 and then goes silent, a resolver that hangs, an unresolvable name. Plus the good cases (a
local TLS hub with a self-signed certificate trusted through SSL_CERT_FILE, directly and through a
tunnelling proxy; an http mirror), so that "unreachable" is never the only answer the probe knows.
Run with ``-s`` to see the measured times.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hope_lite.data import HUB_PROBE_TIMEOUT, hub_reachable, load_corpus
from hope_lite.data import corpora

DEADLINE = 1.0          # the promise: "unreachable" (and the fallback) in well under a second


@pytest.fixture(autouse=True)
def no_network_settings(monkeypatch):
    """Every test starts without proxies, HF_ENDPOINT or offline switches, whatever the machine has."""
    for variable in list(os.environ):
        if variable.lower().endswith("_proxy") or variable in ("HF_ENDPOINT", "HF_HUB_OFFLINE",
                                                              "HF_DATASETS_OFFLINE", "SSL_CERT_FILE"):
            monkeypatch.delenv(variable)


def timed_problem(label: str, **kwargs) -> str | None:
    """The probe's answer (None: reachable), after checking and printing how long it took."""
    start = time.perf_counter()
    problem = corpora._hub_problem(**kwargs)
    seconds = time.perf_counter() - start
    print(f"\n[hub probe] {label}: {seconds * 1000:.1f} ms -> {problem}")
    assert seconds < DEADLINE, f"{label}: the probe took {seconds:.3f} s"
    return problem


# ---- local servers ----

def closed_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def black_hole():
    """A port that accepts TCP connections (the kernel does, from the backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


class Server:
    """A tiny threaded TCP server on 127.0.0.1: ``handle(connection)`` runs for each client."""

    def __init__(self, handle) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.handle = handle
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:             # closed: the test is over
                return
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                self.handle(self, connection)
            except OSError:
                pass

    def read_head(self, connection: socket.socket) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(4096)
            if not chunk:
                break
            head += chunk
        self.requests.append(head)
        return head

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server():
    servers = []

    def start(handle) -> Server:
        servers.append(Server(handle))
        return servers[-1]

    yield start
    for each in servers:
        each.close()


def answer_then_hold(answer: bytes, hold: float = 2.0):
    """A proxy that reads the request, answers ``answer`` and keeps the connection open, silent."""
    def handle(server: Server, connection: socket.socket) -> None:
        server.read_head(connection)
        connection.sendall(answer)
        time.sleep(hold)
    return handle


def tunnel(server: Server, connection: socket.socket) -> None:
    """A working proxy: CONNECT host:port opens a relay to that port on 127.0.0.1."""
    head = server.read_head(connection)
    port = int(head.split(b" ")[1].rsplit(b":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
        connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def relay(source, sink):
            try:
                while chunk := source.recv(65536):
                    sink.sendall(chunk)
            except OSError:
                pass
        back = threading.Thread(target=relay, args=(upstream, connection), daemon=True)
        back.start()
        relay(connection, upstream)
        back.join(5)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl's command line), as (cert, key) paths."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a local TLS hub")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def server_tls(certificate, monkeypatch):
    """The server side of TLS for 127.0.0.1, its certificate trusted via SSL_CERT_FILE."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))    # read by ssl.create_default_context()
    return context


@pytest.fixture
def tls_hub(server, server_tls):
    """A local TLS server that completes handshakes (and says nothing more)."""
    def handshake(server: Server, connection: socket.socket) -> None:
        server_tls.wrap_socket(connection, server_side=True).close()
    return server(handshake)


# ---- the conditions that must say "unreachable", fast ----

def test_a_closed_port_is_unreachable_at_once():
    problem = timed_problem("closed port (direct)", endpoint=f"https://127.0.0.1:{closed_port()}")
    assert problem is not None and "refused" in problem.lower()


def test_a_black_hole_hub_is_unreachable_by_the_deadline(black_hole):
    problem = timed_problem("black-hole listener (direct TLS)", endpoint=f"https://127.0.0.1:{black_hole}")
    assert problem == f"the TLS handshake with 127.0.0.1 got no answer within {HUB_PROBE_TIMEOUT:g} s"


def test_a_black_hole_proxy_is_unreachable_by_the_deadline(black_hole, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{black_hole}")
    problem = timed_problem("black-hole proxy (HTTPS_PROXY)")
    assert problem == (f"CONNECT huggingface.co:443 through the proxy http://127.0.0.1:{black_hole} "
                       f"got no answer within {HUB_PROBE_TIMEOUT:g} s")
    assert not hub_reachable()


def test_all_proxy_is_used_when_there_is_no_https_proxy(black_hole, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", f"127.0.0.1:{black_hole}")          # no scheme: http
    problem = timed_problem("black-hole proxy (ALL_PROXY)")
    assert problem is not None and f"the proxy http://127.0.0.1:{black_hole}" in problem


def test_a_proxy_that_refuses_connect_is_unreachable(server, monkeypatch):
    proxy = server(answer_then_hold(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
    monkeypatch.setenv("https_proxy", f"http://alice:s%40cret@127.0.0.1:{proxy.port}")
    problem = timed_problem("proxy answering 403 to CONNECT")
    assert problem == f"the proxy http://127.0.0.1:{proxy.port} answered '403 Forbidden' to CONNECT huggingface.co:443"
    assert "alice" not in problem and "cret" not in problem                    # no credentials in logs
    request = proxy.requests[0].decode()
    assert request.startswith("CONNECT huggingface.co:443 HTTP/1.1\r\nHost: huggingface.co:443\r\n")
    assert "Proxy-Authorization: Basic YWxpY2U6c0BjcmV0\r\n" in request       # alice:s@cret, unquoted


def test_a_proxy_whose_tunnel_is_silent_is_unreachable(server, monkeypatch):
    proxy = server(answer_then_hold(b"HTTP/1.1 200 Connection established\r\n\r\n"))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    problem = timed_problem("proxy answering 200, then a silent tunnel")
    assert problem == f"the TLS handshake with huggingface.co got no answer within {HUB_PROBE_TIMEOUT:g} s"


def test_a_closed_proxy_port_is_unreachable_at_once(monkeypatch):
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    problem = timed_problem("closed proxy port")
    assert problem is not None and problem.startswith(f"the connection to the proxy http://127.0.0.1:{port} failed")


def test_a_proxy_that_is_not_http_is_reported_not_tried(black_hole, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{black_hole}")
    problem = timed_problem("socks5 proxy")
    assert problem is not None and "socks5://127.0.0.1" in problem and "offline=False" in problem


def test_an_unresolvable_host_is_unreachable():
    problem = timed_problem("no DNS (hub.invalid)", endpoint="https://hub.invalid")
    assert problem is not None and "hub.invalid" in problem


def test_a_hanging_resolver_is_cut_at_the_deadline(monkeypatch):
    released = threading.Event()

    def hanging_getaddrinfo(*args, **kwargs):      # a DNS lookup ignores socket timeouts: it can hang
        released.wait(10)
        raise socket.gaierror("released by the test")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        problem = timed_problem("hanging resolver (getaddrinfo sleeps)")
    finally:
        released.set()
    assert problem == f"the DNS lookup of huggingface.co got no answer within {HUB_PROBE_TIMEOUT:g} s"


def test_no_proxy_bypasses_the_proxy(black_hole, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{black_hole}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    port = closed_port()
    problem = timed_problem("NO_PROXY: direct to a closed port", endpoint=f"https://127.0.0.1:{port}")
    assert problem is not None and problem.startswith(f"the connection to 127.0.0.1:{port} failed")


def test_the_probe_thread_ends_by_the_deadline(black_hole):
    assert not hub_reachable(0.2, endpoint=f"https://127.0.0.1:{black_hole}")
    # its socket timeouts are the time left, so the thread (and its socket) is gone right after
    start = time.perf_counter()
    while any(thread.name == "hope_lite-hub-probe" for thread in threading.enumerate()):
        assert time.perf_counter() - start < 0.5, "the probe thread outlived its deadline"
        time.sleep(0.01)


# ---- the conditions that must say "reachable" ----

def test_a_tls_hub_is_reachable(tls_hub):
    assert timed_problem("local TLS hub (direct)", endpoint=f"https://127.0.0.1:{tls_hub.port}") is None


def test_a_tls_hub_through_a_tunnelling_proxy_is_reachable(tls_hub, server, monkeypatch):
    proxy = server(tunnel)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    problem = timed_problem("local TLS hub through a CONNECT proxy", endpoint=f"https://127.0.0.1:{tls_hub.port}")
    assert problem is None
    assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{tls_hub.port} HTTP/1.1\r\n".encode())


def test_an_https_proxy_is_spoken_to_over_tls(server, server_tls, monkeypatch):
    def tls_proxy(server: Server, connection: socket.socket) -> None:
        with server_tls.wrap_socket(connection, server_side=True) as secure:
            server.read_head(secure)
            secure.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    proxy = server(tls_proxy)
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    assert timed_problem("https:// proxy answering 200 over TLS") is None          # its 200 is the answer
    assert proxy.requests[0].startswith(b"CONNECT huggingface.co:443 HTTP/1.1\r\n")


def test_an_untrusted_certificate_is_not_the_hub(tls_hub, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")                 # a captive portal's certificate, say
    problem = timed_problem("untrusted certificate", endpoint=f"https://127.0.0.1:{tls_hub.port}")
    assert problem is not None and "CERTIFICATE_VERIFY_FAILED" in problem


def test_an_http_mirror_answers_head(server, monkeypatch):
    mirror = server(answer_then_hold(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", hold=0))
    assert timed_problem("http mirror (HEAD)", endpoint=f"http://127.0.0.1:{mirror.port}") is None
    assert mirror.requests[0].startswith(b"HEAD / HTTP/1.1\r\n")
    proxy = server(answer_then_hold(b"HTTP/1.1 502 Bad Gateway\r\n\r\n", hold=0))
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    problem = timed_problem("http mirror through a proxy answering 502", endpoint=f"http://127.0.0.1:{mirror.port}")
    assert problem == (f"the proxy http://127.0.0.1:{proxy.port} answered '502 Bad Gateway' to "
                       f"HEAD http://127.0.0.1:{mirror.port}/")


# ---- bad settings ----

@pytest.mark.parametrize("endpoint", ["huggingface.co", "ftp://huggingface.co", "https://", "https://hf.co:port", 42])
def test_bad_endpoints_are_refused(endpoint):
    with pytest.raises(ValueError, match=r"endpoint must be an http\(s\) URL such as 'https://huggingface.co'"):
        hub_reachable(endpoint=endpoint)


def test_a_bad_hf_endpoint_is_named(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "huggingface.co")
    with pytest.raises(ValueError, match=r"^HF_ENDPOINT must be an http\(s\) URL"):
        hub_reachable()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "1"])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        hub_reachable(timeout)


# ---- end to end: the fallback behind a black-hole proxy ----

def test_load_corpus_falls_back_fast_behind_a_black_hole_proxy(black_hole, monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))    # nothing cached
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{black_hole}")
    load_corpus()                                                               # warm: imports done
    start = time.perf_counter()
    load_corpus()
    pydoc_seconds = time.perf_counter() - start
    messages = []
    start = time.perf_counter()
    corpus = load_corpus("wikitext2", log=messages.append)
    seconds = time.perf_counter() - start
    print(f"\n[hub probe] load_corpus('wikitext2') behind a black-hole proxy: {seconds * 1000:.1f} ms "
          f"(of which the local pydoc load alone: {pydoc_seconds * 1000:.1f} ms)\n  {messages[0]}")
    assert corpus.name == "pydoc" and corpus.requested == "wikitext2" and corpus.fell_back
    assert seconds < DEADLINE + pydoc_seconds
    assert messages == [corpus.note]
    assert (f"the Hugging Face Hub (huggingface.co:443) is unreachable (CONNECT huggingface.co:443 through "
            f"the proxy http://127.0.0.1:{black_hole} got no answer within") in messages[0]


def test_the_readme_states_the_probe_deadline_of_the_code():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`HUB_PROBE_TIMEOUT` = {HUB_PROBE_TIMEOUT:g} s" in readme
