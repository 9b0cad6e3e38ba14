"""One recipient's whole MIME message: multipart/alternative, text first, both UTF-8.

``build_message`` goes through the email package; ``BodyTemplate`` makes the same bytes for
each recipient of a variant by swapping the per-recipient values into bodies flowed once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from .fold import MAX_LINE_BYTES, body_encoding, lines_fit, reflow
from .headers import build_headers
from .parts import sent_parts


def message_id(edition_date: str, email: str, domain: str) -> str:
    """Stable per (edition, subscriber): a resend of the same message keeps its id."""
    digest = hashlib.sha256(f"{edition_date}\0{email.lower()}".encode()).hexdigest()[:20]
    return f"<{edition_date}.{digest}@{domain}>"


def build_message(*, html: str, text: str, **headers: Any) -> EmailMessage:
    """One multipart/alternative message (text first, HTML last, both UTF-8).

    ``headers`` are the keyword arguments of ``build_headers``.
    """
    msg = build_headers(**headers)
    text_body, text_cte = body_encoding(text, "plain")
    html_body, html_cte = body_encoding(html, "html")
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
        flowed_text = text if lines_fit(text) else None
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


def html_bytes_as_sent(html: str, text: str = "-") -> int:
    """The HTML part's bytes on the wire in a message built as delivery builds one.

    For measuring a variant without subscribers (benchmarks, scripts); build measures the
    real message of the variant's subscriber with the longest values to fill in.
    """
    fields: dict[str, Any] = dict(
        from_="digest@example.com",
        to="subscriber@example.com",
        subject="-",
        msg_id="<measure@example.com>",
        date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    raw = BodyTemplate(text, html).render(build_headers(**fields), {}, {})
    if raw is None:
        raw = build_message(html=html, text=text, **fields).as_bytes()
    return sent_parts(raw).html_wire_bytes
