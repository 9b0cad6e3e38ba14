"""``newsletter serve`` under uvicorn, with the limits a public endpoint needs.

uvicorn (asyncio) never gives a connection a thread of its own, so one slow or idle client
blocks nobody else. On top of what it bounds itself (header size, keep-alive idle time,
connections at once), each request must arrive whole within ``web.request_timeout_s``:
``DeadlineProtocol`` closes a connection whose request line and headers do not come in
time (uvicorn sets no timer before the first request), and ``BodyLimit`` answers 413 to a
body over ``web.max_body_bytes`` and 408 to one that trickles in too slowly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn import Config, Server
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import Settings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body is at most ``max_bytes`` and arrives within
    ``timeout_s``; otherwise 413 or 408 and the connection is closed.

    The body is read whole before the app runs (bodies here are small forms), so the app
    never waits on a slow client.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(scope, send, 413, "request body too large")
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout_s)
        except TimeoutError:
            await self._refuse(scope, send, 408, "request body not received in time")
            return
        except _TooLarge:
            await self._refuse(scope, send, 413, "request body too large")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
        log.warning("%s %s: %s", scope.get("method"), scope.get("path"), text)
        await _refuse(send, status, text)


class _TooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, text: str) -> None:
    body = f"{status} {text}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose next request does not start
    (request line and headers complete) within the request timeout."""

    request_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def _arm(self) -> None:
        # A new request replaces self.cycle: if it is still the one seen here when the timer
        # fires, no request started in time.
        marker = self.cycle
        self.loop.call_later(self.request_timeout_s, self._expire, marker)

    def _expire(self, marker: object) -> None:
        if self.cycle is marker and not self.transport.is_closing():
            log.info("closing a connection that sent no complete request in time")
            self.transport.close()


def make_server(settings: Settings, app: ASGIApp, sock: socket.socket | None = None) -> Server:
    """uvicorn configured from ``[web]`` (the app is already wrapped in BodyLimit)."""
    w = settings.web

    class Protocol(DeadlineProtocol):
        request_timeout_s = w.request_timeout_s

    config = Config(
        app,
        host=w.host,
        port=w.port,
        http=Protocol,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=w.trusted_proxies,
        timeout_keep_alive=int(max(1, w.idle_timeout_s)),
        limit_concurrency=w.max_connections,
        server_header=False,
        access_log=False,
        log_config=None,
    )
    return Server(config)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 = any free one), so the real port is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
