"""Text helpers of the renderer: safe strings and URLs, display width, wrapping, truncation
(what models wrote: ``prose``)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

# Embedding/override/isolate controls would reorder the rest of a block; LRM/RLM marks are
# harmless and kept. C0 controls other than tab and newline have no place in an email.
_UNSAFE_CHARS = re.compile(r"[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any) -> Any:
    """Strip bidi override and control characters from strings on their way out."""
    return _UNSAFE_CHARS.sub("", value) if isinstance(value, str) else value


def safe_url(value: str | None) -> str:
    """The URL if it is http(s), else '' (no javascript: or data: links from paper data)."""
    if not value:
        return ""
    url = clean_text(str(value)).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Terminal columns: Hangul, CJK and emoji take two."""
    return sum(map(_columns, text))


def _split_long(word: str, width: int) -> list[str]:
    # The width is kept as it grows: measuring the piece again for each character made a
    # 3,000-character word cost seconds.
    parts, current, used = [], "", 0
    for ch in word:
        columns = _columns(ch)
        if current and used + columns > width:
            parts.append(current)
            current, used = "", 0
        current += ch
        used += columns
    return [*parts, current] if current else parts


def wrap(text: str, width: int = 76, indent: str = "") -> str:
    """Wrap at spaces to ``width`` display columns; a longer word is cut where it must be."""
    lines: list[str] = []
    line = ""
    limit = width
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if display_width(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
            limit = width - len(indent)
        pieces = _split_long(word, limit)
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


def truncate(title: str, width: int) -> str:
    """Cut a title to at most ``width`` characters with '…', at a word boundary.

    The whole title if it fits; a word longer than half the width is cut where it must be.
    """
    title = " ".join(str(clean_text(title)).split())
    if len(title) <= width:
        return title
    cut = title[: width - 1]
    mid_word = not cut.endswith(" ") and title[width - 1] != " "
    if mid_word and cut.rfind(" ") >= width // 2:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.:;-–—") + "…"
