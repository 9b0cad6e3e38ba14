"""A PDF's text lines with where they sit and how they are set, read with pypdfium2.

pdfium gives each page's text in content-stream order, which for pdfTeX output (one column
after the other, footnotes after their column) is the reading order; it breaks the text into
lines itself. For every such line this module adds the box of its first and last character
and their font size and boldness, asking pdfium about two characters per line rather than
about every character (a call costs about a microsecond; a page has thousands of characters).
Then it drops the page furniture: running headers and footers, page numbers, a stamp up the
margin; and it sets footnotes apart from the running text.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections import Counter
from dataclasses import dataclass
from statistics import median

# pdfium keeps global state and is not thread-safe; every call into it holds this lock.
PDFIUM_LOCK = threading.Lock()

_BOLD_NAME = re.compile(r"bold|black|heavy|medi|semi|demi|cmbx|-bx|\bbx", re.IGNORECASE)
_FOOTNOTE_MARK = re.compile(r"^(?:\d{1,2}|[*†‡§¶])(?:$|\s?\S)")
_LONE_MARK = re.compile(r"^(?:\d{1,2}|[*†‡§¶])$")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
_WORDISH = re.compile(r"\w\w|\d")  # lines without are glyphs of a drawing: arrows, dots
_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?\s")


class PdfError(ValueError):
    """The bytes are not a PDF, or pdfium cannot read them."""


@dataclass
class Line:
    """One line of text as pdfium breaks it, with its geometry (PDF points, y upwards)."""

    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # font size of the first character
    bold: bool  # the first character's font is bold
    last_size: float  # the same for the last character
    last_bold: bool
    hyphenated: bool = False  # ends in a hyphen pdfium took for a hyphenation

    @property
    def uniform(self) -> bool:
        """The last character is set like the first (no run-in heading, no mixed line)."""
        return abs(self.size - self.last_size) < 0.3 and self.bold == self.last_bold


@dataclass
class Page:
    width: float
    height: float
    lines: list[Line]


def is_pdf(body: bytes) -> bool:
    """PDF files start with ``%PDF-`` (the spec allows junk in the first 1024 bytes)."""
    return b"%PDF-" in body[:1024]


def read_pages(body: bytes) -> list[Page]:
    """Every page's lines with their boxes and fonts."""
    if not is_pdf(body):
        head = body[:40].decode("utf-8", "replace").strip()
        raise PdfError(f"not a PDF (starts {head!r})")
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(body)
        except pdfium.PdfiumError as exc:
            raise PdfError(f"unreadable PDF ({exc})") from None
        try:
            pages = []
            for index in range(len(doc)):
                page = doc[index]
                textpage = page.get_textpage()
                width, height = page.get_size()
                pages.append(Page(width, height, _page_lines(textpage, index)))
                textpage.close()
                page.close()
            return pages
        finally:
            doc.close()


class _Chars:
    """Per-character questions to pdfium for one text page (caller holds the lock)."""

    def __init__(self, textpage: object) -> None:
        import pypdfium2.raw as raw

        self.raw = raw
        self.page = textpage.raw  # type: ignore[attr-defined]
        self.count: int = raw.FPDFText_CountChars(self.page)
        self.rect = raw.FS_RECTF()

    def code(self, index: int) -> int:
        return int(self.raw.FPDFText_GetUnicode(self.page, index))

    def find(self, char: str, index: int) -> int:
        """The char index of ``char`` at or shortly after ``index`` (pdfium's text skips
        characters without a Unicode value, so text offsets can lag char indexes)."""
        want = 2 if char == "\ufffe" else ord(char)
        for probe in range(index, min(index + 12, self.count)):
            if self.code(probe) == want:
                return probe
        return min(index, self.count - 1)

    def box(self, index: int) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the character's loose box (font ascent/descent)."""
        self.raw.FPDFText_GetLooseCharBox(self.page, index, ctypes.byref(self.rect))
        rect = self.rect
        return rect.left, rect.right, min(rect.bottom, rect.top), max(rect.bottom, rect.top)

    def style(self, index: int) -> tuple[float, bool]:
        """(font size, bold) of the character."""
        size = float(self.raw.FPDFText_GetFontSize(self.page, index))
        weight = int(self.raw.FPDFText_GetFontWeight(self.page, index))
        if weight > 0:
            return size, weight >= 500
        flags = ctypes.c_int(0)
        length = self.raw.FPDFText_GetFontInfo(self.page, index, None, 0, ctypes.byref(flags))
        name = ctypes.create_string_buffer(max(int(length), 1))
        self.raw.FPDFText_GetFontInfo(self.page, index, name, length, ctypes.byref(flags))
        return size, bool(_BOLD_NAME.search(name.value.decode("latin-1")))


def _page_lines(textpage: object, page: int) -> list[Line]:
    """The page's lines in pdfium's order, each with the box and font of its ends.

    pdfium marks a hyphen it took for a line-end hyphenation with U+FFFE (or 0x02) and then
    leaves out the line break; such a line is split there, the hyphen kept at its end.
    """
    text = textpage.get_text_range()  # type: ignore[attr-defined]
    chars = _Chars(textpage)
    lines: list[Line] = []
    offset = shift = 0
    parts = re.split(r"(\r\n|\r|\n|\ufffe|\x02)", text)
    for part, after in zip(parts[::2], [*parts[1::2], ""], strict=True):
        start, offset = offset, offset + len(part) + len(after)
        stripped = part.strip()
        hyphen = after in ("\ufffe", "\x02")
        if not stripped:
            continue
        lead = len(part) - len(part.lstrip())
        first = chars.find(stripped[0], start + lead + shift)
        shift = first - start - lead
        end = start + len(part) if hyphen else start + lead + len(stripped) - 1
        last = chars.find(after if hyphen else stripped[-1], end + shift)
        shift = last - end
        left, _, bottom, top = chars.box(first)
        _, right, _, _ = chars.box(last)
        size, bold = chars.style(first)
        last_size, last_bold = chars.style(last)
        line = stripped + "-" if hyphen else stripped
        box = (left, max(right, left), top, bottom)
        lines.append(Line(line, page, *box, size, bold, last_size, last_bold, hyphen))
    return lines


def body_style(pages: list[Page]) -> tuple[float, bool]:
    """The font size most of the text is set in (weighted by characters), and whether that
    text counts as bold (then boldness tells nothing apart)."""
    styles: Counter[tuple[float, bool]] = Counter()
    for page in pages:
        for line in page.lines:
            styles[round(line.size, 1), line.bold] += len(line.text)
    if not styles:
        return 10.0, False
    (size, _), _ = styles.most_common(1)[0]
    bold = sum(n for (_, b), n in styles.items() if b) > sum(styles.values()) / 2
    return size, bold


def line_pitch(pages: list[Page], size: float) -> float:
    """The usual distance between the baselines of two body lines."""
    steps = [
        round(a.bottom - b.bottom, 1)
        for page in pages
        for a, b in zip(page.lines, page.lines[1:], strict=False)
        if abs(a.size - size) < 0.3 and abs(b.size - size) < 0.3 and a.bottom - b.bottom > 0
    ]
    return median(steps) if steps else size * 1.2


def _rotated(line: Line) -> bool:
    """Text set up the margin (pdfium reports it char by char, so the line is narrow)."""
    return len(line.text) >= 8 and line.x1 - line.x0 < 0.15 * len(line.text) * line.size


def _edge_rows(page: Page, pitch: float) -> list[tuple[bool, list[Line]]]:
    """(at the top, row) for the top and the bottom row of the page when set apart from the
    rest by a wide gap."""
    rows = []
    ordered = sorted(page.lines, key=lambda ln: -ln.bottom)
    for top, lines in ((True, ordered), (False, ordered[::-1])):
        if len(lines) < 2:
            continue
        row = [ln for ln in lines if abs(ln.bottom - lines[0].bottom) < 2]
        rest = lines[len(row)] if len(row) < len(lines) else None
        if rest is not None and abs(rest.bottom - row[0].bottom) > 1.8 * pitch:
            rows.append((top, row))
    return rows


def _furniture(pages: list[Page], pitch: float) -> set[int]:
    """ids of running headers and footers: an edge row at the height where other pages have
    one too, or beyond the text of every page, a page number, or an edge line whose text
    (digits aside) recurs on most pages."""
    rows = [row for page in pages for row in _edge_rows(page, pitch)]
    heights = Counter(round(row[0].bottom) for _, row in rows)
    edge_ids = {id(ln) for _, row in rows for ln in row}
    inner = [ln for page in pages for ln in page.lines if id(ln) not in edge_ids]
    ceiling = max((ln.top for ln in inner), default=float("inf")) + 0.5 * pitch
    floor = min((ln.bottom for ln in inner), default=float("-inf")) - 0.5 * pitch
    drop: set[int] = set()
    for top, row in rows:
        at = round(row[0].bottom)
        recurs = sum(heights[h] for h in (at - 1, at, at + 1)) >= 2
        outside = row[0].bottom > ceiling if top else max(ln.top for ln in row) < floor
        if recurs or outside or all(_PAGE_NUMBER.match(ln.text) for ln in row):
            drop.update(id(ln) for ln in row)
    if len(pages) >= 3:
        edges = [page.lines[:2] + page.lines[-2:] for page in pages]
        texts: Counter[str] = Counter()
        for edge in edges:
            texts.update({_digitless(ln.text) for ln in edge})
        common = {text for text, n in texts.items() if n >= len(pages) / 2}
        drop.update(id(ln) for edge in edges for ln in edge if _digitless(ln.text) in common)
    return drop


def _digitless(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def drop_furniture(pages: list[Page], size: float, pitch: float) -> None:
    """Remove running headers and footers, page numbers, margin stamps and stray glyphs
    from the pages (a lone small number stays: it may be the mark of a footnote)."""
    drop = _furniture(pages, pitch)
    for page in pages:
        page.lines = [
            ln
            for ln in page.lines
            if id(ln) not in drop
            and not (ln.text.isdigit() and ln.size >= 0.76 * size)
            and not _STAMP.match(ln.text)
            and not _rotated(ln)
            and _WORDISH.search(ln.text)
        ]


def split_footnotes(pages: list[Page], size: float) -> dict[int, list[str]]:
    """Take the footnotes out of the running text: page number -> the page's footnotes."""
    notes: dict[int, list[str]] = {}
    for number, page in enumerate(pages):
        page.lines, found = _page_footnotes(page, size)
        if found:
            notes[number] = found
    return notes


def _page_footnotes(page: Page, size: float) -> tuple[list[Line], list[str]]:
    """(the page's other lines, its footnotes).

    A footnote starts below the text it follows, in the lower part of the page, with a small
    mark (a superscript number or symbol, alone on its line or not) and text smaller than the
    body; the lines after it in the same smaller size, each just below the last, continue it.
    """
    keep: list[Line] = []
    found: list[str] = []
    note: list[Line] = []

    def close() -> None:
        if len(note) == 1 and _LONE_MARK.match(note[0].text):
            keep.extend(note)  # a superscript on its own, not a footnote
        elif note:
            found.append(join_lines(note))
        note.clear()

    for line in page.lines:
        small = line.size < 0.95 * size and line.last_size < 0.95 * size
        below = not keep or keep[-1].bottom > line.top
        low = line.size < 0.8 * size and line.top < 0.6 * page.height
        if small and below and low and _FOOTNOTE_MARK.match(line.text):
            close()
            note.append(line)
            continue
        if note and small and _continues(note[-1], line, size):
            note.append(line)
            continue
        close()
        keep.append(line)
    close()
    return keep, found


def _continues(prev: Line, line: Line, size: float) -> bool:
    """Whether ``line`` goes on with the footnote whose last line is ``prev``."""
    if _LONE_MARK.match(prev.text):
        return abs(prev.bottom - line.bottom) < size
    return prev.bottom > line.top > prev.bottom - 2 * size


def join_lines(lines: list[Line]) -> str:
    """The lines as one paragraph, hyphenations across line ends undone."""
    out = ""
    prev_hyphenated = False
    for line in lines:
        if not out:
            out = line.text
        elif out.endswith("-") and line.text[:1].islower():
            out = out[:-1] + line.text if prev_hyphenated else out + line.text
        else:
            out = f"{out} {line.text}"
        prev_hyphenated = line.hyphenated
    return out
