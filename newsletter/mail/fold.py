"""Line folding of the bodies as sent: 8bit with short lines where possible, else base64.

An HTML body is folded only where HTML and CSS read a line break as they read what was there:
a space in text content or between the CSS tokens of a ``<style>`` block becomes a line break
(preferred: the size does not change), or a line break goes between two tags when one of them
is a block or table element (where a browser drops white space at the start or end of a line).
Never inside a tag: a line break inside a quoted font name of a ``style`` attribute (``'Noto
Sans`` / ``KR'``) ends the CSS string there, and the declarations after it (font size, colour)
are lost. Nor inside ``<pre>``, ``<textarea>`` or ``<script>``, where a line break is not a
space. A part that cannot be folded so goes base64.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

# SMTP forbids lines over 998 octets; staying well under leaves room for CRLF and clients.
MAX_LINE_BYTES = 900


# Bodies are flowed shorter still, so a recipient's tokens (unsubscribe link, topics) can be
# filled into a flowed body without a line passing MAX_LINE_BYTES.
FLOW_LINE_BYTES = 600

_SPACE_CHARS = " \t\n\r\f"
# Elements whose content is taken whole: their line breaks are not spaces (pre, textarea) or
# their text is not HTML (script and friends).
_WHOLE = ("pre", "textarea", "script", "xmp", "plaintext", "listing")
# Tags next to which a line break is white space no browser shows (start or end of a line, or
# between table parts). Outlook's conditional comments (``if`` / ``endif``) only ever wrap
# table markup in MJML's output, so they count as such tags.
_BLOCK = frozenset(
    ("html", "head", "body", "title", "meta", "link", "style", "noscript", "center", "hr")
    + ("table", "thead", "tbody", "tfoot", "tr", "td", "th", "div", "p", "blockquote")
    + ("ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "!if", "!endif")
)
_TAG_START = re.compile(r"</?[A-Za-z]")


def _skip_tag(html: str, i: int) -> tuple[int, str]:
    """End of the tag starting at ``i`` (after its '>') and its lower-case name."""
    n = len(html)
    j = i + 1 + (html[i + 1] == "/")
    start = j
    while j < n and html[j] not in _SPACE_CHARS + "/>":
        j += 1
    name = html[start:j].lower()
    while j < n:
        ch = html[j]
        if ch == ">":
            return j + 1, name
        j += 1
        if ch != "=":
            continue
        # A quote opens an attribute value only right after '=' (HTML's tokenizer).
        while j < n and html[j] in _SPACE_CHARS:
            j += 1
        if j < n and html[j] in "\"'":
            close = html.find(html[j], j + 1)
            j = n if close < 0 else close + 1
    return n, name


def _css_spaces(css: str, offset: int) -> list[int]:
    """Positions of the spaces between CSS tokens (outside strings and comments)."""
    out: list[int] = []
    i, n = 0, len(css)
    while i < n:
        ch = css[i]
        if ch == " ":
            out.append(offset + i)
        elif ch in "\"'":
            i += 1
            while i < n and css[i] != ch:
                i += 2 if css[i] == "\\" else 1
        elif css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = n if end < 0 else end + 1
        i += 1
    return out


@dataclass
class BreakPoints:
    """Where a line break may go: in place of a space, or into a gap between two tags."""

    spaces: list[int] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)


def _markup_end(html: str, i: int) -> tuple[int, str]:
    """End of the comment, declaration or tag at ``i`` (a '<'), and what it is ('' = text)."""
    n = len(html)
    if html.startswith("<!--[if", i):
        # Outlook's conditional comment: its opener is kept whole, and what follows is
        # markup Outlook reads as HTML, so it is folded by the same rules.
        end = html.find("]>", i)
        return (n if end < 0 else end + 2), "!if"
    if html.startswith("<!--", i):
        end = html.find("-->", i + 2)
        return (n if end < 0 else end + 3), "!--"
    if html.startswith(("<!", "<?"), i):
        end = html.find(">", i)
        return (n if end < 0 else end + 1), ("!endif" if html.startswith("<![endif]", i) else "!")
    if _TAG_START.match(html, i):
        return _skip_tag(html, i)
    return i + 1, ""


def break_points(html: str) -> BreakPoints:
    """Where ``html`` may take a line break without any browser reading it differently."""
    points = BreakPoints()
    i, n = 0, len(html)
    last_tag, last_end = "", -1  # the tag that ended last, and where
    while i < n:
        ch = html[i]
        if ch == " ":
            points.spaces.append(i)
        if ch != "<":
            i += 1
            continue
        end, name = _markup_end(html, i)
        if not name:
            i = end
            continue
        if last_end == i and (last_tag in _BLOCK or name in _BLOCK):
            points.gaps.append(i)
        opening = html[i + 1] != "/" and not name.startswith("!")
        if opening and (name == "style" or name in _WHOLE):
            match = re.compile(f"</{name}", re.I).search(html, end)
            close = n if match is None else match.start()
            if name == "style":
                points.spaces.extend(_css_spaces(html[end:close], end))
            end = close
        i, last_tag, last_end = end, name, end
    return points


def _fold_bytes(data: bytes, points: BreakPoints, limit: int) -> bytes | None:
    """``data`` with line breaks at ``points`` so no line passes ``limit``, or None."""
    out: list[bytes] = []
    start, n = 0, len(data)
    while start < n:
        newline = data.find(b"\n", start)
        line_end = n if newline < 0 else newline
        if line_end - start <= limit:
            out.append(data[start : line_end + 1])
            start = line_end + 1
            continue
        # The last space that ends the line within the limit, else the last gap.
        k = bisect.bisect_right(points.spaces, start + limit) - 1
        if k >= 0 and points.spaces[k] > start:
            cut, resume = points.spaces[k], points.spaces[k] + 1
        else:
            k = bisect.bisect_right(points.gaps, start + limit) - 1
            if k < 0 or points.gaps[k] <= start:
                return None
            cut = resume = points.gaps[k]
        out.append(data[start:cut] + b"\n")
        start = resume
    return b"".join(out)


def reflow(html: str, limit: int = FLOW_LINE_BYTES) -> str | None:
    """``html`` with lines of at most ``limit`` bytes, or None when it cannot be folded safely.

    Only what ``break_points`` allows changes: a space turned into a line break, or a line
    break put between two tags.
    """
    if len(html) * 4 <= limit or lines_fit(html, limit):  # 4: the most bytes of a character
        return html
    data = html.encode("utf-8")
    # UTF-8 never puts an ASCII byte inside a character, and every byte that matters to the
    # scan is ASCII: scanning the bytes as Latin-1 gives byte positions directly.
    folded = _fold_bytes(data, break_points(data.decode("latin-1")), limit)
    return None if folded is None else folded.decode("utf-8")


def lines_fit(text: str, limit: int = FLOW_LINE_BYTES) -> bool:
    """Whether every line of ``text`` is at most ``limit`` bytes of UTF-8."""
    return max(map(len, text.encode("utf-8").split(b"\n"))) <= limit


def body_encoding(body: str, subtype: str = "html") -> tuple[str, str]:
    """(body, transfer encoding): 8bit with short lines when possible, else base64.

    An HTML body is folded (``reflow``); a plain-text one never is, since a line break there
    is one the subscriber sees: it goes 8bit only if its lines are short already.
    """
    if subtype == "html":
        flowed = reflow(body)
        if flowed is not None:
            return flowed, "8bit"
    elif lines_fit(body):
        return body, "8bit"
    return body, "base64"


def encoded_size(html: str) -> int:
    """Bytes of a UTF-8 HTML body as sent: after its transfer encoding, with CRLF line ends.

    Counted, not built: the email package splits the body with ``bytes.splitlines`` and ends
    every line with CRLF; base64 takes 57 bytes a line (76 characters and CRLF).
    """
    body, cte = body_encoding(html, "html")
    lines = body.encode("utf-8").splitlines()
    data = sum(map(len, lines)) + 2 * max(1, len(lines))  # an empty body is one CRLF
    if cte != "base64":
        return data
    full, rest = divmod(data, 57)
    return full * 78 + (4 * -(-rest // 3) + 2 if rest else 0)
