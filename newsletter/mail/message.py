"""One recipient's whole MIME message: multipart/alternative, text first, both UTF-8.

``build_message`` goes through the email package and is the reference for what is sent;
``template.MessageTemplate`` makes the same bytes per recipient without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from .fold import body_encoding, encoded_size
from .headers import build_headers


def message_id(edition_date: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message keeps its id."""
    digest = hashlib.sha256(f"{edition_date}\0{email.lower()}".encode()).hexdigest()[:20]
    return f"<{edition_date}.{digest}@{domain}>"


# (body, subtype) -> (body as sent, transfer encoding): how a part's body goes on the wire.
Encode = Callable[[str, str], tuple[str, str]]


def encode_body(body: str, subtype: str) -> tuple[str, str]:
    """The body encoding delivery uses (``fold.body_encoding``) for a ``text/SUBTYPE`` part."""
    return body_encoding(body, subtype)


def build_message(
    *, html: str, text: str, encode: Encode = encode_body, **headers: Any
) -> EmailMessage:
    """One multipart/alternative message (text first, HTML last, both UTF-8).

    ``headers`` are the keyword arguments of ``build_headers``; ``encode`` is replaced only
    by tests that try the message template against other body encodings.
    """
    msg = build_headers(**headers)
    text_body, text_cte = encode(text, "plain")
    html_body, html_cte = encode(html, "html")
    msg.set_content(text_body, subtype="plain", charset="utf-8", cte=text_cte)
    msg.add_alternative(html_body, subtype="html", charset="utf-8", cte=html_cte)
    return msg


def html_bytes_as_sent(html: str, text: str = "-") -> int:
    """The HTML part's bytes on the wire in a message built as delivery builds one.

    For measuring a variant without subscribers (benchmarks, scripts); build measures the
    message of the variant's subscriber with the longest values to fill in. Counted
    (``fold.encoded_size``: equal to the part of a real message, tested), not built.
    """
    return encoded_size(html)
