"""Building one recipient's MIME message: multipart/alternative, UTF-8, safe headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, parseaddr
from typing import Any

from ..errors import ConfigError

# SMTP forbids lines over 998 octets; staying well under leaves room for CRLF and clients.
MAX_LINE_BYTES = 900
# Bodies are flowed shorter still, so a recipient's tokens (unsubscribe link, topics) can be
# filled into a flowed body without a line passing MAX_LINE_BYTES.
FLOW_LINE_BYTES = 600


class _Policy(EmailPolicy):
    """SMTP's policy, except that the List-* headers are never RFC 2047-encoded.

    Python folds an unstructured header at 78 characters and turns any longer word, such as
    an unsubscribe URL, into encoded words; mail providers then no longer find the link.
    Those headers are ASCII and allowed up to 998 characters, so they are written as is.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _RAW_HEADERS:
            return _WIDE.fold_binary(name, value)
        return super().fold_binary(name, value)


_RAW_HEADERS = {"list-unsubscribe", "list-unsubscribe-post", "list-id"}
_WIDE = SMTP.clone(max_line_length=998)
POLICY = _Policy(linesep="\r\n")


class HeaderInjection(ValueError):
    """A value meant for a header carries CR, LF or another control character."""


def _is_break(ch: str) -> bool:
    # C0/C1 controls and the Unicode line separators: str.splitlines(), which the email
    # package uses when folding, breaks a line at every one of them.
    code = ord(ch)
    return (code < 32 and ch != "\t") or 0x7F <= code <= 0x9F or ch in "\u2028\u2029"


def safe_header(value: str, field: str) -> str:
    """``value`` unchanged, or HeaderInjection if it could break out of its header line."""
    if any(_is_break(ch) for ch in value):
        raise HeaderInjection(f"{field} contains a line break or control character: {value!r}")
    return value


def reflow(html: str, limit: int = FLOW_LINE_BYTES) -> str | None:
    """Break long lines at spaces (a space and a newline are the same to HTML and CSS).

    Returns None when some line has no space to break at within ``limit`` bytes.
    """
    if len(html) * 4 <= limit:  # a character is at most 4 bytes of UTF-8
        return html
    out: list[bytes] = []
    for line in html.encode("utf-8").split(b"\n"):
        # A space is one byte in UTF-8 and never inside a multi-byte character, so cutting
        # the bytes at a space keeps every character whole.
        while len(line) > limit:
            cut = line.rfind(b" ", 0, limit + 1)
            if cut <= 0:
                return None
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return b"\n".join(out).decode("utf-8")


def body_encoding(text: str) -> tuple[str, str]:
    """(body, transfer encoding): 8bit with short lines when possible, else base64."""
    flowed = reflow(text)
    if flowed is not None:
        return flowed, "8bit"
    return text, "base64"


def encoded_size(text: str) -> int:
    """Bytes of a UTF-8 HTML body as sent: after its transfer encoding, with CRLF line ends."""
    body, cte = body_encoding(text)
    part = EmailMessage(policy=SMTP)
    part.set_content(body, subtype="html", charset="utf-8", cte=cte)
    return len(part.as_bytes().split(b"\r\n\r\n", 1)[1])


def message_id(edition_date: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message keeps its id."""
    digest = hashlib.sha256(f"{edition_date}\0{email.lower()}".encode()).hexdigest()[:20]
    return f"<{edition_date}.{digest}@{domain}>"


def unsubscribe_token(email: str, secret: str) -> str:
    """``base64url(email).signature``: verifiable without a lookup, unforgeable without the key."""
    addr = base64.urlsafe_b64encode(email.lower().encode()).decode().rstrip("=")
    sig = hmac.new(secret.encode(), email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    return f"{addr}.{sig}"


def verify_unsubscribe_token(token: str, secret: str) -> str | None:
    """The address a token was made for, or None if it is forged or malformed."""
    try:
        addr_part, sig = token.strip().split(".", 1)
        email = base64.urlsafe_b64decode(addr_part + "=" * (-len(addr_part) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    expected = unsubscribe_token(email, secret).split(".", 1)[1]
    return email if hmac.compare_digest(expected, sig) else None


def sender_domain(from_: str) -> str:
    """The domain of the From address (for Message-IDs); ConfigError if there is none."""
    addr = parseaddr(from_)[1]
    if "@" not in addr:
        raise ConfigError(f"delivery.from: {from_!r} is not an email address")
    return addr.rsplit("@", 1)[1]


def build_headers(
    *,
    from_: str,
    to: str,
    to_name: str = "",
    subject: str,
    msg_id: str,
    date: datetime,
    list_id: str = "",
    unsubscribe_url: str = "",
    unsubscribe_mailto: str = "",
    reply_to: str = "",
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """The top-level headers of one message, every value checked by ``safe_header``."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = safe_header(from_, "From")
    msg["To"] = (
        Address(display_name=safe_header(to_name, "name"), addr_spec=safe_header(to, "To"))
        if to_name
        else safe_header(to, "To")
    )
    if reply_to:
        msg["Reply-To"] = safe_header(reply_to, "Reply-To")
    msg["Subject"] = safe_header(subject, "Subject")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = safe_header(msg_id, "Message-ID")
    msg["MIME-Version"] = "1.0"
    if list_id:
        msg["List-Id"] = safe_header(list_id, "List-Id")
    links = []
    if unsubscribe_url:
        links.append(f"<{safe_header(unsubscribe_url, 'List-Unsubscribe')}>")
    if unsubscribe_mailto:
        links.append(f"<{safe_header(unsubscribe_mailto, 'List-Unsubscribe')}>")
    if links:
        msg["List-Unsubscribe"] = ", ".join(links)
    if unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra_headers or {}).items():
        msg[name] = safe_header(value, name)
    return msg


def build_message(*, html: str, text: str, **headers: Any) -> EmailMessage:
    """One multipart/alternative message (text first, HTML last, both UTF-8).

    ``headers`` are the keyword arguments of ``build_headers``.
    """
    msg = build_headers(**headers)
    text_body, text_cte = body_encoding(text)
    html_body, html_cte = body_encoding(html)
    msg.set_content(text_body, subtype="plain", charset="utf-8", cte=text_cte)
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte=html_cte)
    return msg


_PART_HEAD = 'Content-Type: text/{sub}; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'


class BodyTemplate:
    """A variant's text and HTML parts, flowed once; each recipient only swaps tokens in.

    Building every message with the email package costs milliseconds (set_content and the
    generator walk ~50 KB per message); this does the same bytes with two replaces. It
    applies when both parts can go as 8bit; ``render`` returns None when it cannot vouch
    for the result (then build_message is used).
    """

    def __init__(self, text: str, html: str) -> None:
        flowed_text = reflow(text)
        flowed_html = reflow(html)
        self.usable = flowed_text is not None and flowed_html is not None
        self.text = (flowed_text or "").rstrip("\n") + "\n"
        self.html = (flowed_html or "").rstrip("\n") + "\n"
        self.boundary = "===============" + secrets.token_hex(16)
        while self.boundary in self.text or self.boundary in self.html:
            self.boundary = "===============" + secrets.token_hex(16)

    def render(
        self, headers: EmailMessage, text_values: dict[str, str], html_values: dict[str, str]
    ) -> bytes | None:
        """The whole message, or None if a filled-in line would pass MAX_LINE_BYTES."""
        if not self.usable:
            return None
        text, html = self.text, self.html
        for token, value in text_values.items():
            text = text.replace(token, value)
        for token, value in html_values.items():
            html = html.replace(token, value)
        parts = []
        for sub, body in (("plain", text), ("html", html)):
            raw = body.encode("utf-8")
            if max(map(len, raw.split(b"\n"))) > MAX_LINE_BYTES or b"\r" in raw:
                return None
            # The CRLF before each delimiter belongs to the delimiter (RFC 2046), so the
            # body's own last line break stays part of the body, as the email package does.
            parts.append(
                f"--{self.boundary}\r\n{_PART_HEAD.format(sub=sub)}".encode()
                + raw.replace(b"\n", b"\r\n")
            )
        headers["Content-Type"] = f'multipart/alternative; boundary="{self.boundary}"'
        # The headers exactly as the generator writes them (it would also write an empty
        # multipart body, since this message object has none).
        head = b"".join(
            headers.policy.fold_binary(name, value) for name, value in headers.raw_items()
        )
        return head + b"\r\n" + b"\r\n".join(parts) + f"\r\n--{self.boundary}--\r\n".encode()
