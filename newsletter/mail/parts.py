"""A message read back as its recipient's client reads it: the parts, and their wire size.

Every check of what subscribers get (the size budget, the preview, the tests) starts from the
bytes handed to the transport, parsed here, never from the rendered variant files.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from ..errors import RenderError


@dataclass(frozen=True)
class SentParts:
    """The text and HTML parts as decoded, and the HTML part's body size on the wire."""

    text: str
    html: str
    html_wire_bytes: int


def _wire_bodies(raw: bytes, boundary: str) -> list[bytes]:
    """Each part's body as transmitted (after its transfer encoding, CRLF line ends).

    The CRLF before a delimiter belongs to the delimiter (RFC 2046), so it is not counted.
    """
    segments = raw.split(b"\r\n--" + boundary.encode("ascii"))[1:]
    return [seg.split(b"\r\n\r\n", 1)[1] for seg in segments if not seg.startswith(b"--")]


def sent_parts(raw: bytes) -> SentParts:
    """The parts of one multipart/alternative message as the transport got it."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    boundary = msg.get_boundary()
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    kinds = [p.get_content_type() for p in parts]
    if boundary is None or sorted(kinds) != ["text/html", "text/plain"]:
        raise RenderError(f"not a text + HTML message: {msg.get_content_type()} {kinds}")
    bodies = _wire_bodies(raw, boundary)
    html_at = kinds.index("text/html")
    text_part, html_part = parts[1 - html_at], parts[html_at]
    return SentParts(
        text=text_part.get_content(),
        html=html_part.get_content(),
        html_wire_bytes=len(bodies[html_at]),
    )
