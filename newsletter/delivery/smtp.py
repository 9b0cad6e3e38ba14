"""SMTP with STARTTLS; the password comes only from the environment."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading

from ..config import Settings
from .transports import Fatal, Permanent, Throttled, Transient, Transport, register


class SmtpTransport:
    """One connection per thread, opened on first use and reused."""

    name = "smtp"

    def __init__(self, host: str, port: int, starttls: bool = True, username: str = "",
                 password: str = "", timeout_s: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.username, self.password = username, password
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            if self.starttls:
                conn.starttls(context=self.ssl_context)
            if self.username:
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

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Send over this thread's connection; returns '' (SMTP gives no message id)."""
        conn = self._connection()
        try:
            conn.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise (Transient if 400 <= code < 500 else Permanent)(f"{code} {text!r}") from None
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise smtp_error(exc.smtp_code, exc.smtp_error,
                             sender_refused=isinstance(exc, smtplib.SMTPSenderRefused)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise Transient(f"SMTP: {exc}") from None
        return ""

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    conn.quit()
            self._all.clear()


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


@register("smtp")
def _smtp(settings: Settings, edition_date: str) -> Transport:
    cfg = settings.delivery.smtp
    return SmtpTransport(cfg.host, cfg.port, cfg.starttls, cfg.username,
                         os.environ.get(cfg.password_env, ""))
