"""A paper's PDF -> the same sectioned text shape as the HTML path, as far as a PDF allows.

pypdfium2 extracts each page's text (chosen by measurement, see scripts/bench_collect.py);
then lines are joined into paragraphs, hyphenation across lines is undone, running headers,
page numbers and arXiv's side stamp are dropped, numbered headings (``3.2 Training``) become
``##``/``###`` lines, and everything from the references on is cut.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from statistics import median

# pdfium keeps global state and is not thread-safe; every call into it holds this lock.
_PDFIUM_LOCK = threading.Lock()

_HEADING = re.compile(
    r"^(?P<num>(?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+"
    r"(?P<title>[A-Z][^\n]{1,70})$"
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
    "limitations",
}
_END_HEADINGS = re.compile(r"^(\d+\.?\s+)?(references|bibliography)$", re.IGNORECASE)
_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}(v\d+)?\s")
_SENTENCE_END = (".", "!", "?", ":", ".)", ".”", '."')


class PdfError(ValueError):
    """The bytes are not a PDF, or pdfium cannot read them."""


def is_pdf(body: bytes) -> bool:
    """PDF files start with ``%PDF-`` (the spec allows junk in the first 1024 bytes)."""
    return b"%PDF-" in body[:1024]


def pdf_pages(body: bytes) -> list[str]:
    """Text of each page, with pypdfium2."""
    if not is_pdf(body):
        head = body[:40].decode("utf-8", "replace").strip()
        raise PdfError(f"not a PDF (starts {head!r})")
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(body)
        except pdfium.PdfiumError as exc:
            raise PdfError(f"unreadable PDF ({exc})") from None
        try:
            pages = []
            for index in range(len(doc)):
                page = doc[index]
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range())
                textpage.close()
                page.close()
            return pages
        finally:
            doc.close()


def _clean_lines(pages: list[str]) -> list[list[str]]:
    """Each page's lines without page numbers, the arXiv stamp and repeated running headers."""
    split = [
        [
            ln.strip()
            for ln in re.split(r"\r\n|\r|\n", page.replace("\x02", "-\n").replace("\ufffe", "-\n"))
        ]
        for page in pages
    ]
    # Running headers and footers: the same line at the top or bottom of most pages.
    edges = [
        {ln for ln in (page[:2] + page[-2:]) if ln}
        for page in ([ln for ln in p if ln] for p in split)
    ]
    seen = Counter(line for page in edges for line in page)
    repeated = {line for line, n in seen.items() if len(pages) >= 3 and n >= len(pages) / 2}
    out = []
    for page in split:
        lines = [
            ln
            for ln in page
            if ln and not ln.isdigit() and ln not in repeated and not _STAMP.match(ln)
        ]
        out.append(lines)
    return out


def _heading(line: str, last: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """(heading line, its number) when ``line`` is the next section heading after ``last``.

    A body line that happens to start with a number ("3 experiments show ...") is told apart
    by shape (short, capitalised, no final period) and by numbering: a heading continues the
    sequence (after 2.1 come 2.2, 2.1.1 or 3, never 7).
    """
    match = _HEADING.match(line)
    title = match["title"].strip() if match else ""
    if (
        match
        and not title.endswith((".", ",", ";"))
        and len(title) <= 60
        and len(title.split()) <= 8
    ):
        number = tuple(match["num"].split("."))
        if _follows(last, number):
            return f"{'#' * min(2 + len(number) - 1, 4)} {match['num']} {title}", number
    if line.lower().rstrip(".:") in _PLAIN_HEADINGS:
        return f"## {line.rstrip('.:')}", last
    return None


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


def pdf_to_text(body: bytes, title: str, abstract: str = "") -> str:
    """``# title``, ``## Abstract`` and the PDF's text as paragraphs under its own headings."""
    lines = [ln for page in _clean_lines(pdf_pages(body)) for ln in page]
    width = median([len(ln) for ln in lines]) if lines else 0
    blocks: list[str] = []
    para: list[str] = []
    last: tuple[str, ...] = ()

    def flush() -> None:
        if para:
            blocks.append(" ".join(para))
            para.clear()

    for line in lines:
        if _END_HEADINGS.match(line):
            break
        found = _heading(line, last)
        if found:
            flush()
            blocks.append(found[0])
            last = found[1]
            continue
        if para and para[-1].endswith("-") and line[:1].islower():
            para[-1] = para[-1][:-1] + line.split(" ", 1)[0]
            rest = line.split(" ", 1)[1] if " " in line else ""
            if rest:
                para.append(rest)
        else:
            para.append(line)
        if line.endswith(_SENTENCE_END) and len(line) < 0.8 * width:
            flush()
    flush()
    return _shape(blocks, title, abstract)


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
