"""A real OpenAI-compatible HTTP server on 127.0.0.1 for the LLM tests.

Each test scripts the answers (``server.add(...)``) or gives a ``responder`` that picks one from
the request; every request body is recorded so a test can assert what was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted response: a completion with ``content``, or an error status."""

    content: str | None = None
    status: int = 200
    error: str = ""
    delay: float = 0.0
    hold: Callable[[], object] | None = None  # called while in flight, before the delay
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] | None = (1000, 200)
    finish_reason: str = "stop"
    body: bytes | None = None  # sent as it is (HTML, cut-off JSON), with ``content_type``
    content_type: str = "application/json"


def raw(body: bytes | str, content_type: str = "application/json", status: int = 200) -> Answer:
    """An answer of exactly these bytes (what a broken proxy or server sends)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Answer(status=status, body=data, content_type=content_type)


def ok(content: Any, usage: tuple[int, int] | None = (1000, 200)) -> Answer:
    """A completion whose message is ``content`` (a dict is sent as its JSON text)."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Answer(content=text, usage=usage)


def fail(status: int, message: str = "", retry_after: str | None = None) -> Answer:
    """An error response in the OpenAI error shape."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Answer(status=status, error=message or f"status {status}", headers=headers)


Responder = Callable[[dict[str, Any]], Answer]


class LLMServer:
    """``/v1/chat/completions`` answering from a script; requests in ``self.requests``."""

    def __init__(self) -> None:
        self.script: deque[Answer] = deque()
        self.responder: Responder | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._in_flight_changed = threading.Condition(self._lock)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and
                # the client's delayed ACK add ~40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw)
                answer = server.take(body, dict(self.headers))
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server._in_flight_changed.notify_all()
                try:
                    if answer.hold is not None:
                        answer.hold()
                    if answer.delay:
                        time.sleep(answer.delay)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                if answer.body is not None:
                    self._send_raw(answer.status, answer.body, answer.content_type)
                    return
                if answer.status != 200:
                    self._send(
                        answer.status,
                        {"error": {"message": answer.error, "type": "scripted"}},
                        answer.headers,
                    )
                    return
                payload: dict[str, Any] = {
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "created": 1781222400,
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": answer.finish_reason,
                            "message": {"role": "assistant", "content": answer.content},
                        }
                    ],
                }
                if answer.usage is not None:
                    payload["usage"] = {
                        "prompt_tokens": answer.usage[0],
                        "completion_tokens": answer.usage[1],
                        "total_tokens": sum(answer.usage),
                    }
                self._send(200, payload, answer.headers)

            def _send_raw(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def wait_in_flight(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests have been in flight at once (False on timeout)."""
        with self._in_flight_changed:
            return self._in_flight_changed.wait_for(lambda: self.max_in_flight >= count, timeout)

    def add(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def take(self, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in headers.items()})
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return fail(599, "the test scripted no answer for this request")

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def serving() -> Iterator[LLMServer]:
    """A running server, stopped afterwards (wrap it in each test module's fixture)."""
    server = LLMServer()
    try:
        yield server
    finally:
        server.stop()


def user_text(body: dict[str, Any]) -> str:
    """The text of the request's last user message."""
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
