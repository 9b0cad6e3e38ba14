"""Local stand-ins for delivery's outside services, all real servers on 127.0.0.1.

- ``MotoSes``: moto's ThreadedMotoServer speaking SES v2; what was sent is read back from
  ``/moto-api/data.json``.
- ``ScriptedSes``: a small HTTP server speaking the two SES v2 calls delivery uses
  (``POST /v2/email/outbound-emails``, ``GET /v2/email/account``) whose answers a test scripts
  (429 for a while, 5xx, MessageRejected, SendingPaused), to exercise what moto cannot.
- ``ScriptedSmtp``: a plain SMTP server whose answer after DATA a test scripts (drop the
  connection, never answer), to exercise what aiosmtpd makes hard.
- ``make_site``: a working directory with a generated subscriber CSV and the sample day built.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import socket
import struct
import threading
import urllib.request
import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newsletter.cli import cli

DAY = "2026-06-12"
SENDER = "digest@example.com"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_SESSION_TOKEN": "testing",
}


def parse(raw: bytes | str) -> EmailMessage:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


class MotoSes:
    """moto's SES v2 on a free local port, with the sender identity verified."""

    def __init__(self) -> None:
        import boto3
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client = boto3.client(
            "sesv2",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.reset()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.get_host_and_port()
        return str(host), int(port)

    def reset(self) -> None:
        """Forget everything sent; the sender identity verified again."""
        # moto keeps its backends per process, shared by every server it starts: begin empty.
        reset = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        self.client.create_email_identity(EmailIdentity=SENDER)

    def sent(self) -> list[dict[str, Any]]:
        """Every raw message moto accepted: {'id', 'source', 'destinations', 'raw_data'}."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json") as resp:
            data = json.load(resp)
        return list(data["ses"]["RawMessage"])

    def stop(self) -> None:
        self.server.stop()


Decide = Callable[[str, int], tuple[int, str, str]]


class ScriptedSes:
    """SES v2 over HTTP whose answers come from ``decide(recipient, request_number)``.

    ``decide`` returns (status, error code, message); status 200 means accepted.
    """

    def __init__(
        self,
        decide: Decide | None = None,
        max_send_rate: float | None = None,
        sending_enabled: bool = True,
        quota: tuple[float, float] = (50000.0, 0.0),
    ) -> None:
        self.decide: Decide = decide or (lambda rcpt, n: (200, "", ""))
        self.max_send_rate = max_send_rate
        self.sending_enabled = sending_enabled
        self.quota = quota  # (Max24HourSend, SentLast24Hours)
        self.lock = threading.Lock()
        self.requests = 0
        self.accepted: list[dict[str, Any]] = []  # {'to', 'raw', 'tags', 'id'}
        self.answers: list[tuple[str, int, str]] = []  # (recipient, status, code)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any], code: str = "") -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if code:
                    self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                # The client may have given up waiting (the read-timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path.startswith("/v2/email/account") and owner.max_send_rate:
                    self._answer(
                        200,
                        {
                            "SendQuota": {
                                "Max24HourSend": owner.quota[0],
                                "MaxSendRate": owner.max_send_rate,
                                "SentLast24Hours": owner.quota[1],
                            },
                            "SendingEnabled": owner.sending_enabled,
                        },
                    )
                else:
                    self._answer(404, {"message": "not here"}, "NotFoundException")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self.path.startswith("/v2/email/outbound-emails"):
                    self._answer(404, {"message": "not here"}, "NotFoundException")
                    return
                rcpt = body["Destination"]["ToAddresses"][0]
                with owner.lock:
                    owner.requests += 1
                    n = owner.requests
                status, code, message = owner.decide(rcpt, n)
                with owner.lock:
                    owner.answers.append((rcpt, status, code))
                if status != 200:
                    self._answer(status, {"__type": code, "message": message}, code)
                    return
                mid = f"scripted-{n}"
                with owner.lock:
                    owner.accepted.append(
                        {
                            "to": rcpt,
                            "id": mid,
                            "raw": base64.b64decode(body["Content"]["Raw"]["Data"]),
                            "tags": {t["Name"]: t["Value"] for t in body.get("EmailTags", [])},
                            "configuration_set": body.get("ConfigurationSetName"),
                        }
                    )
                self._answer(200, {"MessageId": mid})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ScriptedSmtp:
    """A plain SMTP server (no TLS, no login) on 127.0.0.1 whose DATA step a test scripts.

    ``after_data(n)`` decides what happens once the n-th message body has been received:
    "ok" answers 250, "drop" closes the connection without answering, "hang" sends nothing
    until ``release()`` (teardown). ``drop_at_mail`` closes the first that many connections at
    MAIL FROM, before anything is handed over; ``reset_in_data`` resets (TCP RST) the first
    that many connections after one line of the message, its final "." unread. Every command
    line is kept in ``commands``.
    """

    def __init__(
        self,
        after_data: Callable[[int], str] | None = None,
        drop_at_mail: int = 0,
        reset_in_data: int = 0,
    ) -> None:
        import socketserver

        self.after_data = after_data or (lambda n: "ok")
        self.drop_at_mail = drop_at_mail
        self.reset_in_data = reset_in_data
        self.commands: list[str] = []
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.received: list[tuple[str, bytes]] = []  # (recipient, message) per DATA
        self.mail_commands = 0
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 scripted ESMTP")
                rcpt = ""
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line.decode("ascii", "replace").strip().upper()
                    with owner.lock:
                        owner.commands.append(verb)
                    if verb.startswith("EHLO"):
                        self.reply("250 scripted")
                    elif verb.startswith("MAIL"):
                        with owner.lock:
                            owner.mail_commands += 1
                            drop = owner.mail_commands <= owner.drop_at_mail
                        if drop:
                            return
                        self.reply("250 OK")
                    elif verb.startswith("RCPT"):
                        rcpt = verb.split(":", 1)[1].strip().strip("<>").lower()
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        with owner.lock:
                            reset = owner.reset_in_data > 0
                            owner.reset_in_data -= 1
                        if reset:
                            self.rfile.readline()
                            self.request.setsockopt(
                                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                            )
                            self.request.close()
                            return
                        body = b""
                        while not body.endswith(b"\r\n.\r\n"):
                            chunk = self.rfile.readline()
                            if not chunk:
                                return
                            body += chunk
                        with owner.lock:
                            owner.received.append((rcpt, body[:-5]))
                            n = len(owner.received)
                        what = owner.after_data(n)
                        if what == "drop":
                            return
                        if what == "hang":
                            owner.released.wait()
                            return
                        self.reply("250 queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not here")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpt, _ in self.received]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def subscriber_rows(n: int, topics: list[str] | None = None) -> list[dict[str, str]]:
    """``n`` example.com subscribers, cycling through a few topic choices."""
    choices = topics if topics is not None else ["", "llm", "vision", "agents,llm", "robotics"]
    return [
        {
            "email": f"reader{i:04d}@example.com",
            "name": f"Reader {i}",
            "topics": choices[i % len(choices)],
            "exclude": "",
            "language": "",
        }
        for i in range(n)
    ]


def write_subscribers(root: Path, rows: list[dict[str, str]]) -> Path:
    folder = root / "subscribers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "list.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["email", "name", "topics", "exclude", "language"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_site(root: Path, rows: list[dict[str, str]]) -> None:
    """Subscribers in ``root/subscribers/list.csv`` and the sample day built under ``root``.

    Call with ``root`` as the current directory.
    """
    write_subscribers(root, rows)
    result = CliRunner().invoke(
        cli, ["send", "--date", DAY, "--replay", "sample", "--dry-run"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


def states(root: Path) -> dict[str, str]:
    """Each subscriber's ledger state for the sample day in the site at ``root``."""
    from newsletter.store import Store

    return {r.email: r.state for r in Store(root / "data" / "newsletter.db").rows(DAY)}


def ses_env(monkeypatch: pytest.MonkeyPatch, transport: str, **delivery: str) -> None:
    """Settings for sending through ``transport`` to a local SES: AWS test credentials, quick
    retries, and ``delivery`` (``RATE_PER_S="400"``) as NEWSLETTER_DELIVERY__ variables."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__TRANSPORT", transport)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RETRY_BACKOFF_S", "0.01")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__MAX_ATTEMPTS", "3")
    for key, value in delivery.items():
        monkeypatch.setenv(f"NEWSLETTER_DELIVERY__{key}", value)
