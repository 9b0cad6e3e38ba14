"""Text helpers of the renderer: safe strings and URLs, display width, wrapping, truncation
(what models wrote: ``prose``)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

# Embedding/override/isolate controls would reorder the rest of a block; LRM/RLM marks are
# harmless and kept. C0 controls other than tab and newline have no place in an email.
UNSAFE_CHARS = re.compile(r"[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any) -> Any:
    """Strip bidi override and control characters from strings on their way out."""
    return UNSAFE_CHARS.sub("", value) if isinstance(value, str) else value


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


@functools.lru_cache(maxsize=65536)
def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Terminal columns: Hangul, CJK and emoji take two."""
    return len(text) if text.isascii() else sum(map(_char_width, text))


def _split_long(word: str, width: int) -> list[str]:
    """A word too long for a line, cut into pieces of at most ``width`` columns."""
    parts, start, used = [], 0, 0
    for i, ch in enumerate(word):
        w = _char_width(ch)
        if i > start and used + w > width:
            parts.append(word[start:i])
            start, used = i, 0
        used += w
    return [*parts, word[start:]] if start < len(word) else parts


def wrap(text: str, width: int = 76, indent: str = "") -> str:
    """Wrap at spaces to ``width`` display columns; a longer word is cut where it must be.

    Each word is measured once and the line's width kept as it grows, so a paragraph costs
    time linear in its length (measuring the whole line again per word was quadratic).
    """
    lines: list[str] = []
    line, used = "", 0
    limit = width
    for word in str(text).split():
        w = display_width(word)
        wanted = used + 1 + w if line else w
        if wanted <= limit:
            line = f"{line} {word}" if line else word
            used = wanted
            continue
        if line:
            lines.append(line)
            limit = width - len(indent)
        pieces = _split_long(word, limit)
        lines.extend(pieces[:-1])
        line = pieces[-1]
        used = display_width(line)
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


class Wrapper:
    """``wrap`` remembering its results: the variants of one build wrap the same card texts
    (a renderer is made per build, and each makes one of these for its templates)."""

    def __init__(self, most: int = 20_000) -> None:
        self.done: dict[tuple[str, int, str], str] = {}
        self.most = most

    def __call__(self, text: str, width: int = 76, indent: str = "") -> str:
        key = (str(text), width, indent)
        found = self.done.get(key)
        if found is None:
            if len(self.done) >= self.most:
                self.done.clear()
            found = self.done[key] = wrap(*key)
        return found


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
