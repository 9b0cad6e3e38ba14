"""SMTP with STARTTLS or implicit TLS; the password comes only from the environment.

A login is refused over a connection that is not encrypted, unless the settings allow it
(``delivery.smtp.allow_plaintext_login``, for a relay on this machine).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import threading

from ...config import Settings
from ...errors import Fatal, Permanent, Throttled, Transient, Unknown


class SmtpTransport:
    """One connection per thread, opened on first use and reused."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        starttls: bool = True,
        username: str = "",
        password: str = "",
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        allow_plaintext_login: bool = False,
    ) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.implicit_tls, self.allow_plaintext_login = implicit_tls, allow_plaintext_login
        self.username, self.password = username, password
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            if self.implicit_tls:
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=self.ssl_context
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
                if self.starttls:
                    conn.starttls(context=self.ssl_context)
            if self.username:
                self._check_encrypted(conn)
                conn.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise Fatal(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise Fatal(f"SMTP server {self.host}:{self.port}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient(f"SMTP connect {self.host}:{self.port}: {exc}") from None
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def _check_encrypted(self, conn: smtplib.SMTP) -> None:
        """Never hand the password to a connection anyone on the path can read."""
        if isinstance(conn.sock, ssl.SSLSocket) or self.allow_plaintext_login:
            return
        conn.close()
        raise Fatal(
            f"SMTP {self.host}:{self.port}: refusing to send the password over an unencrypted "
            "connection; set delivery.smtp.starttls = true (or implicit_tls = true for port "
            "465), or allow_plaintext_login = true for a relay on this machine"
        )

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Send over this thread's connection; returns '' (SMTP gives no message id).

        MAIL and RCPT, then DATA, step by step (what ``sendmail`` does): a connection that
        breaks before the message's final "." left us handed nothing over (a server delivers
        nothing without it) and is retried; one that breaks or times out waiting for the
        answer after it may have delivered the message, so the outcome is Unknown.
        """
        conn = self._connection()
        self._envelope(conn, sender, recipient)
        self._message(conn, raw)
        return ""

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL and RCPT; any failure here handed nothing over."""
        try:
            conn.ehlo_or_helo_if_needed()
            code, text = conn.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, sender)
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                conn.rset()
                raise (Transient if 400 <= code < 500 else Permanent)(f"{code} {text!r}")
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise smtp_error(
                exc.smtp_code,
                exc.smtp_error,
                sender_refused=isinstance(exc, smtplib.SMTPSenderRefused),
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            # A reused connection the server closed while idle ends up here: nothing sent.
            self._drop()
            raise Transient(f"SMTP before DATA: {exc}") from None

    def _message(self, conn: smtplib.SMTP, raw: bytes) -> None:
        """DATA, the message and its final ".", then the server's answer."""
        try:
            code, text = conn.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, text)
            conn.send(data_block(raw))
        except smtplib.SMTPResponseException as exc:
            # The server answered: it refused the message, so nothing was delivered.
            self._drop()
            raise smtp_error(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise Transient(
                f"SMTP: connection lost before the message was complete: {exc}"
            ) from None
        try:
            code, text = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if _reset(exc):
                # The server's stack threw away bytes it had not read: the final "." among
                # them, so it took nothing (see ses.connection_closed for the reasoning).
                raise Transient(
                    f"SMTP: connection reset before the server answered: {exc}"
                ) from None
            raise Unknown(
                f"SMTP: no answer to DATA from {self.host}:{self.port} "
                f"({type(exc).__name__}: {exc}); the message may have arrived"
            ) from None
        if code != 250:
            self._drop()
            raise smtp_error(code, text)

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.close()

    def preflight(self, todo: int) -> None:
        """SMTP tells nothing in advance: a refused login stops the run at the first message."""

    def max_send_rate(self) -> float | None:
        """SMTP servers do not announce a rate."""
        return None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    conn.quit()
            self._all.clear()


def _reset(exc: BaseException) -> bool:
    """A TCP reset (not an orderly close) under ``exc``: smtplib raises its own error
    from inside the handler of the socket's, so the reset is the context."""
    from http.client import RemoteDisconnected

    for err in (exc, exc.__context__):
        if isinstance(err, ConnectionResetError) and not isinstance(err, RemoteDisconnected):
            return True
    return False


_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def data_block(raw: bytes) -> bytes:
    """The message as DATA carries it: CRLF lines, leading dots doubled, ending "CRLF.CRLF"."""
    body = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", raw))
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def smtp_error(code: int, text: bytes | str, sender_refused: bool = False) -> Exception:
    """The error kind for an SMTP reply (SES's SMTP interface says 454 when throttling)."""
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    message = f"SMTP {code} {detail}"
    if "daily message quota" in detail.lower():
        return Fatal(message)
    if code in (421, 451, 452) or (code == 454 and "throttl" in detail.lower()):
        return Throttled(message)
    if code in (530, 534, 535) or (sender_refused and code >= 500):
        return Fatal(message)
    if 400 <= code < 500:
        return Transient(message)
    return Permanent(message)


def make(settings: Settings, edition_date: str) -> SmtpTransport:
    """SMTP as configured under ``delivery.smtp``; the password from its variable."""
    cfg = settings.delivery.smtp
    password = settings.secrets.smtp_password.get_secret_value()
    return SmtpTransport(
        cfg.host,
        cfg.port,
        cfg.starttls and not cfg.implicit_tls,
        cfg.username,
        password,
        implicit_tls=cfg.implicit_tls,
        allow_plaintext_login=cfg.allow_plaintext_login,
    )
