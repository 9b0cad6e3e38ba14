"""A small HTTP/1.1 proxy on 127.0.0.1 that injects faults between delivery and SES.

It reads each request from the client whole (headers, then ``Content-Length`` bytes), asks
``plan(n, request)`` what to do with the n-th ``SendEmail`` request (other requests, such as
``GetAccount``, always pass), and does it:

- ``PASS``: forward to the upstream server (moto's SES), relay the answer.
- ``RESET_BEFORE``: reset the client's connection (TCP RST) without forwarding: SES never
  sees the request.
- ``RESET_AFTER``: forward, let SES answer, then reset the client's connection instead of
  relaying the answer: SES sent the message, the client never hears so.
- ``CLOSE_AFTER``: forward, let SES answer, then close the client's connection in order (FIN)
  without relaying the answer (a server that died after doing the work).
- ``HOLD``: forward, let SES answer, then relay nothing until ``release()`` (a delay past the
  client's read timeout; the answer is dropped).
- ``Answer(status, code, message)``: answer in SES's error shape without forwarding (429
  throttling, 5xx, ``SendingPausedException``), or with any ``body`` (a firewall's page).

``on_phase(n, phase)`` is called at "received" (request read, not forwarded), "answered"
(SES answered, not relayed) and "relayed": a test harness kills the client at any of them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """An SES-shaped error answered by the proxy itself (or ``body`` as it is)."""

    status: int
    code: str
    message: str = ""
    body: bytes | None = None
    content_type: str = "application/json"


PASS = "pass"
RESET_BEFORE = "reset_before"
RESET_AFTER = "reset_after"
CLOSE_AFTER = "close_after"
HOLD = "hold"

Fault = str | Answer
Plan = Callable[[int, bytes], Fault]
Phase = Callable[[int, str], None]

THROTTLED = Answer(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
UNAVAILABLE = Answer(503, "ServiceUnavailable", "Service is unavailable. Try again later.")
INTERNAL = Answer(500, "InternalFailure", "An internal error occurred.")
PAUSED = Answer(400, "SendingPausedException", "Sending is paused for this account.")


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """One HTTP message (head and Content-Length body) from ``sock``; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head_end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buffer) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    message = bytes(buffer[: head_end + length])
    del buffer[: head_end + length]
    return message


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def error_answer(answer: Answer) -> bytes:
    """The bytes of an SES v2 (REST-JSON) error response, or of ``answer.body``."""
    body = answer.body if answer.body is not None else json.dumps({"message": answer.message})
    body = body.encode() if isinstance(body, str) else body
    error_type = f"x-amzn-ErrorType: {answer.code}\r\n" if answer.code else ""
    head = (
        f"HTTP/1.1 {answer.status} Error\r\n"
        f"Content-Type: {answer.content_type}\r\n"
        f"{error_type}"
        f"x-amzn-RequestId: fault-proxy\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class FaultProxy:
    """The proxy; ``url`` is what the client is pointed at."""

    def __init__(
        self,
        upstream: tuple[str, int],
        plan: Plan | None = None,
        on_phase: Phase | None = None,
    ) -> None:
        self.upstream = upstream
        self.plan: Plan = plan or (lambda n, request: PASS)
        self.on_phase = on_phase
        self.lock = threading.Lock()
        self.sends = 0  # SendEmail requests received
        self.forwarded = 0  # of those, how many reached SES
        self.faults: dict[str, int] = {}
        self.released = threading.Event()
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.clients: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _phase(self, n: int, phase: str) -> None:
        if self.on_phase is not None:
            self.on_phase(n, phase)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        from_client, from_upstream = bytearray(), bytearray()
        try:
            while True:
                request = _read_message(client, from_client)
                if request is None:
                    return
                # SendEmail and SendBulkEmail (outbound-bulk-emails) are counted alike.
                is_send = request.startswith(b"POST /v2/email/outbound-")
                fault: Fault = PASS
                n = 0
                if is_send:
                    with self.lock:
                        self.sends += 1
                        n = self.sends
                    fault = self.plan(n, request)
                    self._phase(n, "received")
                key = fault.code if isinstance(fault, Answer) else fault
                if fault != PASS:
                    with self.lock:
                        self.faults[key] = self.faults.get(key, 0) + 1
                if isinstance(fault, Answer):
                    client.sendall(error_answer(fault))
                    continue
                if fault == RESET_BEFORE:
                    _reset(client)
                    return
                if upstream is None:
                    upstream = socket.create_connection(self.upstream)
                upstream.sendall(request)
                answer = _read_message(upstream, from_upstream)
                if answer is None:
                    _reset(client)
                    return
                if is_send:
                    with self.lock:
                        self.forwarded += 1
                    self._phase(n, "answered")
                if fault == RESET_AFTER:
                    _reset(client)
                    return
                if fault == CLOSE_AFTER:
                    client.close()
                    return
                if fault == HOLD:
                    self.released.wait()
                    client.close()
                    return
                client.sendall(answer)
                if is_send:
                    self._phase(n, "relayed")
        except OSError:
            return
        finally:
            if upstream is not None:
                upstream.close()
            with contextlib.suppress(OSError):
                client.close()

    def release(self) -> None:
        """Let held connections go (they are closed without an answer)."""
        self.released.set()

    def stop(self) -> None:
        self.stopped.set()
        self.released.set()
        self.listener.close()
        with self.lock:
            for client in self.clients:
                with contextlib.suppress(OSError):
                    client.close()
