"""Building one recipient's MIME message: multipart/alternative, UTF-8, safe headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from ..errors import ConfigError

# SMTP forbids lines over 998 octets; staying well under leaves room for CRLF and clients.
MAX_LINE_BYTES = 900


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


def reflow(html: str, limit: int = MAX_LINE_BYTES) -> str | None:
    """Break long lines at spaces (a space and a newline are the same to HTML and CSS).

    Returns None when some line has no space to break at within ``limit`` bytes.
    """
    out: list[str] = []
    for line in html.split("\n"):
        while len(line.encode("utf-8")) > limit:
            head = line.encode("utf-8")[:limit].decode("utf-8", "ignore")
            cut = head.rfind(" ")
            if cut <= 0:
                return None
            out.append(line[:cut])
            line = line[cut + 1:]
        out.append(line)
    return "\n".join(out)


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
    addr = parseaddr(from_)[1]
    if "@" not in addr:
        raise ConfigError(f"delivery.from: {from_!r} is not an email address")
    return addr.rsplit("@", 1)[1]


def build_message(
    *,
    from_: str,
    to: str,
    to_name: str = "",
    subject: str,
    html: str,
    text: str,
    msg_id: str,
    date: datetime,
    list_id: str = "",
    unsubscribe_url: str = "",
    unsubscribe_mailto: str = "",
    reply_to: str = "",
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """One multipart/alternative message (text first, HTML last, both UTF-8)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = safe_header(from_, "From")
    msg["To"] = Address(display_name=safe_header(to_name, "name"),
                        addr_spec=safe_header(to, "To")) if to_name else safe_header(to, "To")
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
    text_body, text_cte = body_encoding(text)
    html_body, html_cte = body_encoding(html)
    msg.set_content(text_body, subtype="plain", charset="utf-8", cte=text_cte)
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte=html_cte)
    return msg
