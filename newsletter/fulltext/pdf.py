"""A paper's PDF -> the same sectioned text shape as the HTML path, as far as a PDF allows.

pypdfium2 extracts the text (chosen by measurement, see scripts/bench_collect.py);
``pdf_layout`` gives its lines with their boxes and fonts and drops the page furniture
(running headers and footers, page numbers, arXiv's side stamp) and sets footnotes aside.
Here lines become paragraphs, headings become ``##``/``###`` lines and everything from the
references on is cut.

A heading is told from text by how it is set when the paper sets its headings apart
(larger or bold, on a line of its own with space above): numbered ones must then also
continue the numbering, unnumbered ones must look like the paper's section headings (or be a
well-known name such as Acknowledgments), and "Abstract" counts only before section 1. A table
cell, an affiliation or a footnote is set in the body font or smaller, or shares its line
with other cells, so it stays text. When the headings look like the body text (some
generated PDFs), the numbering and a list of usual names are all there is to go by.
"""

from __future__ import annotations

import re
from collections import Counter
from statistics import median

from .pdf_layout import (
    PDFIUM_LOCK,
    Line,
    PdfError,
    body_style,
    drop_furniture,
    is_pdf,
    join_lines,
    line_pitch,
    read_pages,
    split_footnotes,
)

__all__ = ["PdfError", "is_pdf", "pdf_pages", "pdf_to_text"]

# pdfium is not thread-safe: pdf_layout holds this lock around every call into it.
_PDFIUM_LOCK = PDFIUM_LOCK

_HEADING = re.compile(
    r"^(?P<num>(?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+"
    r"(?P<title>[A-Z][^\n]{1,120})$"
)
_PLAIN_HEADINGS = {
    "abstract",
    "introduction",
    "related work",
    "conclusion",
    "conclusions",
    "discussion",
    "acknowledgments",
    "acknowledgements",
    "acknowledgment",
    "acknowledgement",
    "limitations",
}
_END_HEADINGS = re.compile(r"^(\d+\.?\s+)?(references|bibliography)$", re.IGNORECASE)
_ITEM = re.compile(r"^(?:\(?\d{1,2}[.)]|\([a-z]\)|[•◦▪–])\s")
_SENTENCE_END = (".", "!", "?", ":", ".)", ".”", '."')

Style = tuple[float, bool]


def pdf_pages(body: bytes) -> list[str]:
    """Text of each page, one line per line, headers and footers included."""
    return ["\n".join(line.text for line in page.lines) for page in read_pages(body)]


def _style(line: Line) -> Style:
    return round(line.size, 1), line.bold


def _numbered(text: str, most_words: int = 8) -> tuple[tuple[str, ...], str] | None:
    """(number, title) when the line reads like a numbered heading: ``2.1 Setup``."""
    match = _HEADING.match(text)
    if not match:
        return None
    title = " ".join(match["title"].split())
    if title.endswith((".", ",", ";")) or len(title) > 90 or len(title.split()) > most_words:
        return None
    return tuple(match["num"].split(".")), title


def _follows(last: tuple[str, ...], number: tuple[str, ...]) -> bool:
    """Whether section ``number`` can come right after section ``last``."""

    def succ(part: str) -> str:
        return str(int(part) + 1) if part.isdigit() else chr(ord(part) + 1)

    if not last:
        return number in (("1",), ("A",))
    if number[0].isalpha() and not last[0].isalpha():
        return number == ("A",)  # the appendix starts
    if len(number) == len(last) + 1:
        return number[:-1] == last and number[-1] == "1"
    if len(number) <= len(last):
        return number[:-1] == last[: len(number) - 1] and number[-1] == succ(last[len(number) - 1])
    return False


def _advances(last: tuple[str, ...], number: tuple[str, ...]) -> bool:
    """Whether ``number`` comes after ``last`` at all (a heading in between may be missed)."""
    if not all(part.isdigit() for part in (*last, *number)):
        return False
    return tuple(map(int, number)) > tuple(map(int, last))


def _plain_heading(line: str, last: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """The heading by its text alone, for PDFs whose headings look like their body text.

    A body line that happens to start with a number ("3 experiments show ...") is told apart
    by shape (short, capitalised, no final period) and by numbering: a heading continues the
    sequence (after 2.1 come 2.2, 2.1.1 or 3, never 7).
    """
    found = _numbered(line)
    if found and len(found[1]) <= 60 and _follows(last, found[0]):
        number, title = found
        return f"{'#' * min(len(number) + 1, 4)} {'.'.join(number)} {title}", number
    if line.lower().rstrip(".:") in _PLAIN_HEADINGS:
        return f"## {line.rstrip('.:')}", last
    return None


class _Headings:
    """Decides, line by line and in reading order, which lines are headings."""

    def __init__(self, lines: list[Line], body: tuple[float, bool], pitch: float) -> None:
        self.lines, (self.size, self.body_bold), self.pitch = lines, body, pitch
        self.last: tuple[str, ...] = ()
        self.abstract = False
        self.levels = self._level_styles()

    def stands_out(self, line: Line) -> bool:
        """Set larger than the body, or bold, from the first character to the last."""
        bolder = line.bold and not self.body_bold
        return line.uniform and (line.size >= 1.08 * self.size or bolder)

    def _level_styles(self) -> dict[int, Style]:
        """The style of the numbered headings of each depth, when the paper sets them apart
        (empty when fewer than two numbered lines that continue the numbering stand out)."""
        counts: dict[int, Counter[Style]] = {}
        last: tuple[str, ...] = ()
        for line in self.lines:
            found = _numbered(line.text)
            if found and self.stands_out(line) and _follows(last, found[0]):
                last = found[0]
                counts.setdefault(len(last), Counter())[_style(line)] += 1
        if sum(sum(c.values()) for c in counts.values()) < 2:
            return {}
        return {depth: c.most_common(1)[0][0] for depth, c in counts.items()}

    def _gap_above(self, i: int) -> float | None:
        """Baseline distance to the line above in the same column; None when it is the first
        line of its column, 0 when another line shares its baseline (a table row)."""
        line = self.lines[i]
        for j in (i - 1, i + 1):
            other = self.lines[j] if 0 <= j < len(self.lines) else None
            if other and other.page == line.page and abs(other.bottom - line.bottom) < 2:
                return 0.0
        prev = self.lines[i - 1] if i else None
        if prev is None or prev.page != line.page or prev.bottom <= line.bottom:
            return None
        return prev.bottom - line.bottom

    def _isolated(self, i: int) -> bool:
        gap = self._gap_above(i)
        return gap is None or gap >= 1.25 * self.pitch

    def _joined(self, i: int) -> tuple[str, int]:
        """The heading's text with its continuation lines (a long title wraps), and how many
        lines it takes."""
        first = self.lines[i]
        used = 1
        while used < 3 and i + used < len(self.lines):
            prev, line = self.lines[i + used - 1], self.lines[i + used]
            close = 0 < prev.bottom - line.bottom <= 1.6 * first.size
            if not (close and line.page == first.page and line.uniform) or _numbered(line.text):
                break
            if _style(line) != _style(first) or len(line.text.split()) > 8:
                break
            used += 1
        return " ".join(ln.text for ln in self.lines[i : i + used]), used

    def ends(self, i: int) -> bool:
        """Whether line ``i`` is the References heading."""
        line = self.lines[i]
        if not _END_HEADINGS.match(line.text):
            return False
        return not self.levels or (self.stands_out(line) and self._isolated(i))

    def heading(self, i: int) -> tuple[str, int] | None:
        """(``## ...`` line, lines used) when line ``i`` starts a heading."""
        line = self.lines[i]
        if not self.levels:
            found = _plain_heading(line.text, self.last)
            if not found:
                return None
            self.last = found[1]
            return found[0], 1
        if not (self.stands_out(line) and self._isolated(i)):
            return None
        text, used = self._joined(i)
        number = _numbered(text, most_words=14)
        if number:
            return self._numbered_heading(line, *number, used)
        return self._unnumbered_heading(i, text, used)

    def _numbered_heading(
        self, line: Line, number: tuple[str, ...], title: str, used: int
    ) -> tuple[str, int] | None:
        same_style = self.levels.get(len(number)) == _style(line)
        if not (_follows(self.last, number) or (same_style and _advances(self.last, number))):
            return None
        self.last = number
        return f"{'#' * min(len(number) + 1, 4)} {'.'.join(number)} {title}", used

    def _unnumbered_heading(self, i: int, text: str, used: int) -> tuple[str, int] | None:
        title = " ".join(text.rstrip(".:").split())
        words = title.split()
        if not words or len(words) > 6 or not title[0].isupper() or title[-1] in ",;":
            return None
        name = title.lower()
        if name == "abstract":
            if self.last or self.abstract:
                return None  # a table cell or a running head, not the paper's abstract
            self.abstract = True
            return "## " + title, used
        line = self.lines[i]
        below = self.lines[i + used] if i + used < len(self.lines) else None
        spaced = below is None or below.page != line.page or self._gap_above(i + used) is None
        spaced = spaced or (self._gap_above(i + used) or 0) >= 1.15 * self.pitch
        if _style(line) == self.levels.get(1) or (name in _PLAIN_HEADINGS and spaced):
            return "## " + title, used
        return None


def _new_paragraph(prev: Line, line: Line) -> bool:
    """A first-line indent or a list item under a line that ends a sentence starts a new
    paragraph."""
    if not prev.text.endswith(_SENTENCE_END):
        return False
    if _ITEM.match(line.text):
        return True
    same_column = prev.page == line.page and prev.bottom > line.bottom and prev.x0 < line.x1
    return same_column and 0.6 * line.size < line.x0 - prev.x0 < 4 * line.size


def _blocks(lines: list[Line], notes: dict[int, list[str]], headings: _Headings) -> list[str]:
    """Paragraphs and heading lines in reading order; footnotes close their section."""
    width = median([len(ln.text) for ln in lines]) if lines else 0
    blocks: list[str] = []
    para: list[Line] = []
    pending: list[str] = []
    noted = 0  # footnotes of the pages before this one are pending or out

    def flush() -> None:
        if para:
            blocks.append(join_lines(para))
            para.clear()

    i = 0
    while i < len(lines) and not headings.ends(i):
        line = lines[i]
        for page in range(noted, line.page):
            pending.extend(notes.get(page, []))
        noted = max(noted, line.page)
        found = headings.heading(i)
        if found:
            flush()
            blocks.extend(pending)
            pending.clear()
            blocks.append(found[0])
            i += found[1]
            continue
        if para and _new_paragraph(para[-1], line):
            flush()
        para.append(line)
        if line.text.endswith(_SENTENCE_END) and len(line.text) < 0.8 * width:
            flush()
        i += 1
    flush()
    last_page = lines[i].page if i < len(lines) else max(notes, default=-1)
    for page in range(noted, last_page + 1):
        pending.extend(notes.get(page, []))
    return blocks + pending


def pdf_to_text(body: bytes, title: str, abstract: str = "") -> str:
    """``# title``, ``## Abstract`` and the PDF's text as paragraphs under its own headings."""
    pages = read_pages(body)
    style = body_style(pages)
    pitch = line_pitch(pages, style[0])
    drop_furniture(pages, style[0], pitch)
    notes = split_footnotes(pages, style[0])
    lines = [line for page in pages for line in page.lines]
    return _shape(_blocks(lines, notes, _Headings(lines, style, pitch)), title, abstract)


def _shape(blocks: list[str], title: str, abstract: str) -> str:
    """Put the title and the abstract first; the PDF's own front matter becomes the abstract."""
    first = next((i for i, b in enumerate(blocks) if b.startswith("## ")), None)
    front, body = (blocks, []) if first is None else (blocks[:first], blocks[first:])
    if body and body[0].lower() == "## abstract":
        next_heading = next(
            (i for i, b in enumerate(body[1:], 1) if b.startswith("## ")), len(body)
        )
        front, body = body[1:next_heading], body[next_heading:]
    elif body:
        front = [abstract] if abstract else front
    out = [f"# {title}", "## Abstract", *(front or ([abstract] if abstract else [])), *body]
    return "\n\n".join(b for b in out if b.strip()).strip() + "\n"
