"""A variant's whole message built once; each recipient's is that one with their own parts in.

``build_message`` goes through the email package: milliseconds per message (set_content, the
generator's walk over ~85 KB, header parsing and folding). ``MessageTemplate`` builds the
variant's message once with ``build_message`` and cuts it into fixed bytes and slots: the
per-recipient headers (To, Date, Message-ID, List-Unsubscribe), and the end of each body
from a line break well before its first per-recipient value (unsubscribe link, topics). A
recipient's message is the slots refilled (that end of each body encoded again by the same
body encoding) and the pieces joined: the same bytes ``build_message`` makes for them.

What the template relies on, and checks when it is made (else it is not used):
- the body encoding only turns spaces into line breaks or adds line breaks, decides each
  break from at most a line's length ahead, and can start over at one of its own breaks:
  encoding the end of a body alone must give what encoding the whole gave there;
- the headers come out as ``build_message`` writes them: the template's message for two
  probe recipients (one with long values) must equal ``build_message``'s, byte for byte.
A recipient whose header has no fast form gets the email package's own folding of that line;
one whose filled-in body cannot go as 8bit gets None from ``render`` (the caller then uses
``build_message``, which sends that part base64).
"""

from __future__ import annotations

import email._encoded_words as _ew
import functools
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import format_datetime
from typing import Any

from .fold import FLOW_LINE_BYTES
from .headers import POLICY, safe_header
from .message import Encode, build_message, encode_body

log = logging.getLogger(__name__)

# The headers that differ from one recipient to the next; every other header is fixed.
_SLOTS = ("to", "date", "message-id", "list-unsubscribe")


@dataclass
class Recipient:
    """What differs between two recipients of one variant."""

    to: str
    msg_id: str
    date: datetime
    to_name: str = ""
    unsubscribe_url: str = ""
    text_values: dict[str, str] = field(default_factory=dict)
    html_values: dict[str, str] = field(default_factory=dict)


# -- one header line, as the email package would fold it ----------------------------------

_PRINTABLE = re.compile(r"[ -~]*")
_ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")
_ASCII_NAME = re.compile(r"[A-Za-z0-9'-]+(?: [A-Za-z0-9'-]+)*")
# Words that each hold a non-ASCII character (and otherwise only letters and digits).
_WIDE_WORD = r"[A-Za-z0-9]*[^\x00-\x7f][A-Za-z0-9\u0080-\U0010ffff]*"
_WIDE_NAME = re.compile(rf"{_WIDE_WORD}(?: {_WIDE_WORD})*")
_MSG_ID = re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>")
_LINK_LIST = re.compile(r"<[!-~]+>(?:, <[!-~]+>)*")


def exact_header(name: str, value: Any) -> bytes:
    """One header line exactly as ``build_message`` writes it: the email package folds it."""
    return POLICY.fold_binary(*POLICY.header_store_parse(name, value))


def _line(name: str, value: str, limit: int = 78) -> bytes | None:
    line = f"{name}: {value}\r\n"
    return line.encode("ascii") if len(line) - 2 <= limit else None


def fast_to_header(addr: str, name: str) -> bytes | None:
    """The To line for the common shapes of address and name, else None."""
    if not _ADDRESS.fullmatch(addr):
        return None
    if not name:
        return _line("To", addr)
    if _ASCII_NAME.fullmatch(name):
        return _line("To", f"{name} <{addr}>")
    if _WIDE_NAME.fullmatch(name):
        # A phrase of non-ASCII words is one encoded word, spaces and all (RFC 2047).
        word = _ew.encode(name, "utf-8")
        return _line("To", f"{word} <{addr}>") if len(word) <= 75 else None
    return None


def to_header(addr: str, name: str) -> bytes:
    """The To line; the common shapes written directly, the rest by the email package."""
    fast = fast_to_header(addr, name)
    if fast is not None:
        return fast
    return exact_header("To", Address(display_name=name, addr_spec=addr) if name else addr)


def date_header(date: datetime) -> bytes:
    """The Date line (RFC 5322 date, always short, to the second)."""
    return _date_line(date.replace(microsecond=0))


@functools.lru_cache(maxsize=8)
def _date_line(date: datetime) -> bytes:
    return f"Date: {format_datetime(date)}\r\n".encode("ascii")


def fast_message_id_header(msg_id: str) -> bytes | None:
    return _line("Message-ID", msg_id) if _MSG_ID.fullmatch(msg_id) else None


def message_id_header(msg_id: str) -> bytes:
    return fast_message_id_header(msg_id) or exact_header("Message-ID", msg_id)


def fast_unsubscribe_header(value: str) -> bytes | None:
    if _LINK_LIST.fullmatch(value) and "=?" not in value:
        return _line("List-Unsubscribe", value, limit=990)
    return None


def unsubscribe_header(value: str) -> bytes:
    """List-Unsubscribe, never folded into encoded words (see headers._Policy)."""
    return fast_unsubscribe_header(value) or exact_header("List-Unsubscribe", value)


def _checked(value: str, field_name: str) -> str:
    # Printable ASCII holds nothing safe_header refuses; anything else it looks at.
    return value if _PRINTABLE.fullmatch(value) else safe_header(value, field_name)


# -- the template ----------------------------------------------------------------------------

# A piece of the message: fixed bytes, or a slot filled per recipient: ("header", name), or
# ("plain" | "html", the end of that body from a line break before its first per-recipient
# value).
Piece = bytes | tuple[str, str]


def _crlf_lines(lines: Sequence[str]) -> bytes:
    """Body lines as the generator writes them: UTF-8, each ending in CRLF."""
    return b"".join(line.encode("utf-8") + b"\r\n" for line in lines)


def _crlf_body(folded: str) -> bytes:
    """An encoded body (no CR in it) as the generator writes it: the email package splits
    it with ``bytes.splitlines`` (a last line break ends the last line) and ends each line
    with CRLF."""
    if folded.endswith("\n"):
        folded = folded[:-1]
    return (folded.replace("\n", "\r\n") + "\r\n").encode("utf-8") if folded else b""


def _line_starts(source: str, folded: str) -> list[int] | None:
    """Where in ``source`` each line of ``folded`` starts; None unless the fold only turned
    spaces into line breaks or added line breaks (what a fold that keeps the text does)."""
    lines = folded.split("\n")
    starts, at = [], 0
    for i, line in enumerate(lines):
        if not source.startswith(line, at):
            return None
        starts.append(at)
        at += len(line)
        if i + 1 < len(lines) and at < len(source) and source[at] in "\n ":
            after = lines[i + 1]
            # A space or line break of the source became this line break, unless the fold
            # added one before a space that the next line begins with.
            if source[at] == "\n" or source.startswith(after, at + 1):
                at += 1
    return starts if at == len(source) else None


class MessageTemplate:
    """One variant's message for any recipient, spliced from pieces made once."""

    def __init__(
        self,
        *,
        text: str,
        html: str,
        tokens: Sequence[str],
        headers: dict[str, Any],
        with_unsubscribe_url: bool,
        encode: Encode = encode_body,
        name: str = "variant",
    ) -> None:
        """``headers``: the fixed keyword arguments of ``build_headers`` (from_, subject,
        list_id, unsubscribe_mailto, reply_to); ``tokens``: the per-recipient placeholders;
        ``with_unsubscribe_url``: whether recipients have an https unsubscribe link."""
        self.text, self.html, self.tokens = text, html, tuple(tokens)
        self.headers, self.encode, self.name = headers, encode, name
        self.with_url = with_unsubscribe_url
        self.boundary = "===============" + secrets.token_hex(16)
        while self.boundary in text or self.boundary in html:
            self.boundary = "===============" + secrets.token_hex(16)
        self.mailto = str(headers.get("unsubscribe_mailto") or "")
        self.mailto_link = f", <{self.mailto}>" if self.mailto else ""
        self._last_date: tuple[datetime | None, bytes] = (None, b"")
        self.mailto_line: bytes | None = None
        self.pieces: list[Piece] = []
        self.usable = self._prepare()
        if not self.usable:
            log.info("%s: no message template; each message is built in full", name)

    def full(self, who: Recipient) -> bytes:
        """``build_message``'s bytes for ``who`` (with this template's boundary)."""
        text, html = self.text, self.html
        for token, value in who.text_values.items():
            text = text.replace(token, value)
        for token, value in who.html_values.items():
            html = html.replace(token, value)
        msg = build_message(html=html, text=text, encode=self.encode, **self._header_args(who))
        msg.set_boundary(self.boundary)
        return msg.as_bytes()

    def render(self, who: Recipient) -> bytes | None:
        """``who``'s whole message, or None when only ``build_message`` can make it."""
        if not self.usable or bool(who.unsubscribe_url) != self.with_url:
            return None
        return self._render(self.pieces, who)

    # -- making it ------------------------------------------------------------------------

    def _prepare(self) -> bool:
        """Cut the probe's message into pieces; False when the result cannot be vouched for."""
        if "\r" in self.text + self.html:
            return False
        text, html = self._part("plain", self.text), self._part("html", self.html)
        if text is None or html is None:
            return False
        probe = self._probe(long=False)
        raw = self.full(probe)
        head_end = raw.index(b"\r\n\r\n") + 2
        pieces: list[Piece] = []
        fixed = build_message(html="x", text="x", encode=self.encode, **self._header_args(probe))
        fixed.set_boundary(self.boundary)
        for name, value in fixed.raw_items():
            key = name.lower()
            pieces.append(("header", key) if key in _SLOTS else POLICY.fold_binary(name, value))
        at = head_end
        for part in (text, html):
            content = self._render(part, probe)
            found = raw.find(content, at) if content is not None else -1
            if content is None or found < 0:
                return False
            pieces.append(raw[at:found])
            pieces.extend(part)
            at = found + len(content)
        pieces.append(raw[at:])
        self.pieces = pieces
        # Two recipients, one with every value long, must come out as build_message makes them
        # (or, where a value makes a line too long for 8bit, be left to build_message).
        if self._render(pieces, probe) != raw:
            return False
        long = self._probe(long=True)
        rendered = self._render(pieces, long)
        return rendered is None or rendered == self.full(long)

    def _part(self, kind: str, body: str) -> list[Piece] | None:
        """A body as pieces: its encoded beginning, then the rest from a line break well
        before the first per-recipient value, encoded per recipient (None: cannot vouch)."""
        folded, cte = self.encode(body, kind)
        if cte != "8bit":
            return None
        lines = folded.split("\n")
        first = min((i for t in self.tokens if (i := body.find(t)) >= 0), default=-1)
        if first < 0:
            return [_crlf_body(folded)]
        starts = _line_starts(body, folded) or [0]
        # A fold decides each line break from the start of that line and at most a line's
        # length ahead: a break whose line starts that far before the first value cannot
        # depend on what is filled in there.
        margin = first - FLOW_LINE_BYTES - 8
        cut = max((i for i in range(1, len(starts)) if starts[i - 1] <= margin), default=0)
        tail = body[starts[cut] :]
        if cut and self.encode(tail, kind) != ("\n".join(lines[cut:]), "8bit"):
            cut, tail = 0, body  # the fold cannot start over there: encode it whole each time
        return [_crlf_lines(lines[:cut]), (kind, tail)]

    def _probe(self, long: bool) -> Recipient:
        """A recipient for the checks; ``long``: long values, a name, a long link."""
        values = {t: ("probe value, " * 14 + t if long else t) for t in self.tokens}
        url = "https://probe.invalid/u?token=" + ("x" * 200 if long else "p")
        return Recipient(
            to="probe@example.com",
            to_name="Probe Recipient" if long else "",
            msg_id="<probe.1@example.com>",
            date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            unsubscribe_url=url if self.with_url else "",
            text_values=values,
            html_values=values,
        )

    def _header_args(self, who: Recipient) -> dict[str, Any]:
        return dict(
            to=who.to,
            to_name=who.to_name,
            msg_id=who.msg_id,
            date=who.date,
            unsubscribe_url=who.unsubscribe_url,
            **self.headers,
        )

    # -- filling it -----------------------------------------------------------------------

    def _render(self, pieces: list[Piece], who: Recipient) -> bytes | None:
        out: list[bytes] = []
        for piece in pieces:
            if isinstance(piece, bytes):
                out.append(piece)
                continue
            kind, what = piece
            if kind == "header":
                out.append(self._header(what, who))
                continue
            for token, value in (who.text_values if kind == "plain" else who.html_values).items():
                if token in what:
                    if self.boundary in value:
                        return None
                    what = what.replace(token, value)
            body = self._short_lines(what)
            if body is None:
                folded, cte = self.encode(what, kind)
                if cte != "8bit":
                    return None  # the builder would send this whole part base64
                body = _crlf_body(folded)
            out.append(body)
        return b"".join(out)

    def _short_lines(self, what: str) -> bytes | None:
        """``what`` as the generator writes it when the delivery encoding keeps it as it is
        (every line short enough: 8bit, unfolded), from one UTF-8 encoding; else None."""
        if self.encode is not encode_body:
            return None
        data = what.encode("utf-8")
        if max(map(len, data.split(b"\n"))) > FLOW_LINE_BYTES:
            return None
        if data.endswith(b"\n"):
            data = data[:-1]
        return data.replace(b"\n", b"\r\n") + b"\r\n" if data else b""

    def _header(self, key: str, who: Recipient) -> bytes:
        # The fast forms only take printable ASCII, which holds nothing ``safe_header``
        # refuses: a value they take needs no check; any other goes the checked way.
        if key == "to":
            if who.to_name.isascii():
                fast = fast_to_header(who.to, who.to_name)
                if fast is not None:
                    return fast
            return to_header(_checked(who.to, "To"), _checked(who.to_name, "name"))
        if key == "date":
            # Recipients of one second share one datetime (Personalizer): its line is made once.
            last = self._last_date
            if last[0] is not who.date:
                last = self._last_date = (who.date, date_header(who.date))
            return last[1]
        if key == "message-id":
            return fast_message_id_header(who.msg_id) or message_id_header(
                _checked(who.msg_id, "Message-ID")
            )
        if who.unsubscribe_url:
            fast = fast_unsubscribe_header(f"<{who.unsubscribe_url}>{self.mailto_link}")
            if fast is not None:
                return fast
        elif self.mailto_line is not None:
            return self.mailto_line  # the same for every recipient without a link
        links = []
        if who.unsubscribe_url:
            links.append(f"<{_checked(who.unsubscribe_url, 'List-Unsubscribe')}>")
        if self.mailto:
            links.append(f"<{_checked(self.mailto, 'List-Unsubscribe')}>")
        line = unsubscribe_header(", ".join(links))
        if not who.unsubscribe_url:
            self.mailto_line = line
        return line
