"""Delivery over SMTP: aiosmtpd on 127.0.0.1 with STARTTLS and a login, through the CLI."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.cli import run
from support.delivery_servers import DAY, ScriptedSmtp, make_site, parse, subscriber_rows

from newsletter.cli import cli
from newsletter.delivery.transports.smtp import SmtpTransport
from newsletter.errors import Fatal, Unknown
from newsletter.store import Store


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 and a server context holding it."""
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


class Mailbox:
    """An aiosmtpd handler: refuses some recipients, delays others once, keeps the rest."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes, bool]] = []
        self.refuse: set[str] = set()
        self.later_once: set[str] = set()
        self.rcpt_seen: Counter[str] = Counter()
        self.authenticated: list[bool] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_seen[address] += 1
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        if address in self.later_once and self.rcpt_seen[address] == 1:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.authenticated.append(bool(session.authenticated))
        # STARTTLS sets session.ssl; a session TLS from its first byte only has the transport's.
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls))
        return "250 Message accepted"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"digest"
        and auth_data.password == b"hunter2"
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mailbox]:
    cert, context = server_tls(tmp_path_factory.mktemp("tls"))
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    # The transport trusts the system's CAs; this points them at our test certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("NEWSLETTER_DELIVERY__TRANSPORT", "smtp")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SMTP__PORT", str(port))
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SMTP__USERNAME", "digest")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RETRY_BACKOFF_S", "0.01")
    yield box
    controller.stop()


def test_smtp_starttls_login_and_outcomes(workdir: Path, smtp_server: Mailbox) -> None:
    rows = subscriber_rows(6, [""])
    gone, slow = rows[1]["email"], rows[2]["email"]
    smtp_server.refuse.add(gone)
    smtp_server.later_once.add(slow)
    make_site(workdir, rows)
    result = run("send", "--date", DAY, code=1)
    assert "sent 5, skipped 0, failed 1, unknown 0" in result.output
    assert "550" in result.output and gone in result.output
    got = Counter(rcpt for _, rcpts, _, _ in smtp_server.received for rcpt in rcpts)
    assert got == {r["email"]: 1 for r in rows if r["email"] != gone}
    assert all(tls for *_, tls in smtp_server.received)  # every message went over STARTTLS
    assert {frm for frm, *_ in smtp_server.received} == {"digest@example.com"}
    msg = parse(smtp_server.received[0][2])
    assert msg["Message-ID"].startswith(f"<{DAY}.")
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    ledger = {r.email: r for r in Store(workdir / "data" / "newsletter.db").rows(DAY)}
    assert ledger[gone].state == "failed" and "550" in (ledger[gone].last_error or "")
    assert ledger[slow].state == "sent" and smtp_server.rcpt_seen[slow] == 2
    # SMTP gives no id: the ledger keeps the message's own Message-ID.
    assert ledger[slow].message_id is not None and ledger[slow].message_id.startswith("<")


def test_wrong_password_stops_the_run(
    workdir: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "wrong")
    make_site(workdir, subscriber_rows(3, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "delivery stopped: SMTP login refused: 535" in result.output
    assert {r.state for r in Store(workdir / "data" / "newsletter.db").rows(DAY)} == {"pending"}
    assert smtp_server.received == []


@pytest.fixture
def plain_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("NEWSLETTER_DELIVERY__TRANSPORT", "smtp")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SMTP__STARTTLS", "false")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", "1")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RETRY_BACKOFF_S", "0.01")
    yield monkeypatch


def test_connection_dropped_after_data_is_unknown_not_resent(
    workdir: Path, plain_smtp: pytest.MonkeyPatch
) -> None:
    server = ScriptedSmtp(after_data=lambda n: "drop" if n == 2 else "ok")
    plain_smtp.setenv("NEWSLETTER_DELIVERY__SMTP__PORT", str(server.port))
    rows = subscriber_rows(4, [""])
    try:
        make_site(workdir, rows)
        result = CliRunner().invoke(cli, ["send", "--date", DAY], catch_exceptions=False)
        again = CliRunner().invoke(cli, ["send", "--date", DAY], catch_exceptions=False)
    finally:
        server.stop()
    assert "sent 3, skipped 0, failed 0, unknown 1" in result.output, result.output
    dropped = server.recipients()[1]
    # Handed over once, never again: neither a retry in the run nor the rerun resends it.
    assert Counter(server.recipients()) == {r["email"]: 1 for r in rows}
    assert "sent 0, skipped 0, failed 0, unknown 1" in again.output, again.output
    ledger = {r.email: r for r in Store(workdir / "data" / "newsletter.db").rows(DAY)}
    assert ledger[dropped].state == "sending"
    assert "no answer to DATA" in (ledger[dropped].last_error or "")
    assert {r.state for e, r in ledger.items() if e != dropped} == {"sent"}


def test_no_answer_after_data_is_unknown(workdir: Path) -> None:
    server = ScriptedSmtp(after_data=lambda n: "hang")
    # Generous for connect, EHLO, MAIL and RCPT on a loaded machine; only DATA's answer
    # never comes (the server waits on an event until teardown).
    transport = SmtpTransport("127.0.0.1", server.port, starttls=False, timeout_s=3.0)
    try:
        with pytest.raises(Unknown, match="no answer to DATA .*may have arrived"):
            transport.send(
                b"Subject: hi\r\n\r\nbody\r\n", "digest@example.com", "reader@example.com", {}
            )
    finally:
        transport.close()
        server.stop()
    assert server.recipients() == ["reader@example.com"]


def test_connection_dropped_before_data_is_retried(
    workdir: Path, plain_smtp: pytest.MonkeyPatch
) -> None:
    server = ScriptedSmtp(drop_at_mail=1)  # nothing handed over: safe to send again
    plain_smtp.setenv("NEWSLETTER_DELIVERY__SMTP__PORT", str(server.port))
    rows = subscriber_rows(3, [""])
    try:
        make_site(workdir, rows)
        result = CliRunner().invoke(cli, ["send", "--date", DAY], catch_exceptions=False)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "sent 3, skipped 0, failed 0, unknown 0" in result.output
    assert "1 retried" in result.output
    assert Counter(server.recipients()) == {r["email"]: 1 for r in rows}


def test_starttls_false_with_a_login_is_refused_when_settings_load(
    workdir: Path, plain_smtp: pytest.MonkeyPatch
) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    plain_smtp.setenv("NEWSLETTER_DELIVERY__SMTP__USERNAME", "digest")
    plain_smtp.setenv("NEWSLETTER_SMTP_PASSWORD", "hunter2")
    result = run("send", "--date", DAY, code=1)
    assert result.output.startswith(
        "Error: environment NEWSLETTER_DELIVERY__SMTP__STARTTLS: delivery.smtp.starttls is "
        "false and the connection is not encrypted: the SMTP password of 'digest' would go "
        "out in clear text"
    )
    assert "hunter2" not in result.output
    assert Store(workdir / "data" / "newsletter.db").rows(DAY) == []
    # Explicitly allowed (a relay on this machine), the run goes ahead.
    plain_smtp.setenv("NEWSLETTER_DELIVERY__SMTP__ALLOW_PLAINTEXT_LOGIN", "true")
    allowed = CliRunner().invoke(cli, ["send", "--date", DAY, "--dry-run"])
    assert allowed.exit_code == 0, allowed.output


def test_the_transport_never_logs_in_over_plain_text(workdir: Path) -> None:
    server = ScriptedSmtp()
    transport = SmtpTransport(
        "127.0.0.1", server.port, starttls=False, username="digest", password="hunter2"
    )
    try:
        with pytest.raises(Fatal, match="refusing to send the password over an unencrypted"):
            transport.send(
                b"Subject: hi\r\n\r\nbody\r\n", "digest@example.com", "r@example.com", {}
            )
    finally:
        transport.close()
        server.stop()
    assert not any(c.startswith("AUTH") for c in server.commands), server.commands
    assert server.recipients() == []


def test_implicit_tls_on_port_465_style(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, context = server_tls(tmp_path_factory.mktemp("tls"))
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        ssl_context=context,
        authenticator=authenticator,
        # aiosmtpd counts only STARTTLS as TLS for AUTH (and warns when AUTH is required
        # without it); this session is TLS from its first byte, and our client logs in anyway.
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    for key_, value in {
        "TRANSPORT": "smtp",
        "SMTP__HOST": "127.0.0.1",
        "SMTP__PORT": str(port),
        "SMTP__STARTTLS": "false",
        "SMTP__IMPLICIT_TLS": "true",
        "SMTP__USERNAME": "digest",
    }.items():
        monkeypatch.setenv(f"NEWSLETTER_DELIVERY__{key_}", value)
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "hunter2")
    try:
        make_site(workdir, subscriber_rows(2, [""]))
        out = run("send", "--date", DAY).output
    finally:
        controller.stop()
    assert "sent 2, skipped 0, failed 0" in out
    assert len(box.received) == 2 and all(tls for *_, tls in box.received)
    assert box.authenticated == [True, True]


def test_reset_while_the_message_was_still_going_out_is_retried(
    workdir: Path, plain_smtp: pytest.MonkeyPatch
) -> None:
    # The server reset the connection with the message's end unread: it took nothing.
    server = ScriptedSmtp(reset_in_data=1)
    plain_smtp.setenv("NEWSLETTER_DELIVERY__SMTP__PORT", str(server.port))
    rows = subscriber_rows(3, [""])
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY)
    finally:
        server.stop()
    assert "sent 3, skipped 0, failed 0, unknown 0" in result.output
    assert "1 retried" in result.output
    assert Counter(server.recipients()) == {r["email"]: 1 for r in rows}
