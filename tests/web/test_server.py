"""The production server's limits, over raw sockets: an idle or slow client blocks nobody and
is cut off; a body too large is refused before it is read."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.web_server import SECRET, Served, serve_app

from newsletter.config import load_settings

TIMEOUT_S = 1.0


@pytest.fixture
def served(workdir: Path) -> Iterator[Served]:
    env = {
        "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET,
        "NEWSLETTER_WEB__REQUEST_TIMEOUT_S": str(TIMEOUT_S),
        "NEWSLETTER_WEB__MAX_BODY_BYTES": "2048",
    }
    with serve_app(load_settings(None, env=env)) as s:
        yield s


def connect(served: Served) -> socket.socket:
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (bounded by the socket timeout)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_an_idle_connection_blocks_nobody_and_is_closed(served: Served) -> None:
    idle = [connect(served) for _ in range(3)]
    idle[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    started = time.monotonic()
    answer = httpx.get(served.url + "/", timeout=5)
    assert answer.status_code == 200
    assert time.monotonic() - started < TIMEOUT_S  # served while the others hang
    for sock in idle:
        assert read_all(sock) == b""  # closed by the server, nothing answered
        sock.close()
    assert time.monotonic() - started < TIMEOUT_S + 5


def test_a_body_that_trickles_in_gets_408(served: Served) -> None:
    sock = connect(served)
    sock.sendall(
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 100\r\n\r\nemail=a"
    )
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert httpx.get(served.url + "/", timeout=5).status_code == 200


def test_a_body_over_the_limit_is_refused_unread(served: Served) -> None:
    big = httpx.post(served.url + "/subscribe", content=b"x" * 5000, timeout=5)
    assert big.status_code == 413
    sock = connect(served)
    sock.sendall(
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"400\r\n" + b"y" * 0x400 + b"\r\n" for _ in range(3))
        + b"0\r\n\r\n"
    )
    answer = read_all(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert served.store.signups() == []
