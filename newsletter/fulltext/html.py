"""arXiv's LaTeXML HTML -> the sectioned Markdown-like text the analysis reads.

Output shape (the analysis budgeter splits on it): ``# title``, then ``## Abstract``, then one
``## `` / ``### `` / ``#### `` line per section level, paragraphs separated by one blank line,
captions as their own paragraph (``Figure 2: ...``), tables as rows of cells joined by `` | ``,
inline math as ``$alttext$`` and display math as ``$$alttext$$``. The bibliography, footnotes,
arXiv's page chrome (banners, "Report Github Issue" buttons) and ``ltx_ERROR`` notices are dropped.

The walker reads the tree through a tiny backend (children, tag, classes, attribute) so the same
rules run over selectolax (the default, see scripts/bench_collect.py for the measurement) or lxml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .dom import BACKENDS, Backend, ViewBackend, Without

_SPACE = re.compile(r"\s+")
# Elements that never carry paper text.
_SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "button",
        "form",
        "nav",
        "header",
        "footer",
        "img",
        "svg",
        "noscript",
        "input",
        "textarea",
        "select",
        "annotation",
        "annotation-xml",
        "iframe",
        "template",
    }
)
# LaTeXML and arXiv classes whose content is chrome, notes or references, not the paper's text.
_SKIP_CLASSES = frozenset(
    {
        "ltx_bibliography",
        "ltx_ERROR",
        "ltx_authors",
        "ltx_dates",
        "ltx_note",
        "ltx_TOC",
        "ltx_page_navbar",
        "ltx_page_header",
        "ltx_page_footer",
        "ltx_pagination",
        "package-alerts",
        "html-header-message",
        "html-header-logo",
        "sr-only",
        "ar5iv-footer",
        "ltx_rdf",
        "ltx_tag_equation",
        "ltx_eqn_eqno",
        "ltx_flex_break",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "figure",
        "figcaption",
        "table",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "main",
        "aside",
    }
)
_SECTION_LEVELS = {
    "ltx_chapter": 2,
    "ltx_section": 2,
    "ltx_appendix": 2,
    "ltx_subsection": 3,
    "ltx_subsubsection": 4,
    "ltx_paragraph": 4,
    "ltx_subparagraph": 4,
}
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BULLETS = frozenset({"•", "∙", "◦", "▪", "–", "-", "*", "·", "‣"})


class _Walker:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self.blocks: list[str] = []
        self.buffer: list[str] = []
        self.prefix = ""
        self.level = 1

    # -- paragraphs ------------------------------------------------------------------------

    def flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self.buffer)).strip()
        self.buffer.clear()  # in place: inline() may hold a reference to it
        if text:
            self.blocks.append(f"{self.prefix}{text}" if self.prefix else text)
            self.prefix = ""

    def emit(self, block: str) -> None:
        self.flush()
        if block.strip():
            self.blocks.append(block)

    # -- inline ----------------------------------------------------------------------------

    def skipped(self, node: Any) -> bool:
        return self.b.tag(node) in _SKIP_TAGS or not self.b.classes(node).isdisjoint(_SKIP_CLASSES)

    def inline(self, node: Any, out: list[str]) -> None:
        """Append the inline text of ``node`` (math as its alttext) to ``out``."""
        tag = self.b.tag(node)
        if tag == "math":
            alt = (self.b.attr(node, "alttext") or self.plain(node)).strip()
            if alt:
                fence = "$$" if self.b.attr(node, "display") == "block" else "$"
                out.append(f"{fence}{_SPACE.sub(' ', alt)}{fence}")
            return
        if tag == "br":
            out.append(" ")
            return
        for child in self.b.children(node):
            if isinstance(child, str):
                out.append(child)
            elif self.skipped(child):
                continue
            elif out is self.buffer and self.is_block(child):
                # A table or equation wrapped in inline markup (e.g. LaTeXML's resizebox
                # spans) is still a block of its own, not text run into the paragraph.
                self.flush()
                self.block(child, self.b.tag(child), self.b.classes(child), self.level)
            else:
                self.inline(child, out)
                if "ltx_tag_listingline" in self.b.classes(child):
                    out.append(" ")  # LaTeXML runs the line number into the line

    def is_block(self, node: Any) -> bool:
        tag = self.b.tag(node)
        return tag in _INLINE_BLOCK_TAGS or not self.b.classes(node).isdisjoint(_BLOCKISH_CLASSES)

    def plain(self, node: Any) -> str:
        """All text under ``node`` as is (for MathML without an alttext)."""
        return "".join(
            c if isinstance(c, str) else self.plain(c)
            for c in self.b.children(node)
            if isinstance(c, str) or not self.skipped(c)
        )

    def text_of(self, node: Any) -> str:
        parts: list[str] = []
        self.inline(node, parts)
        return _SPACE.sub(" ", "".join(parts)).strip()

    # -- blocks ----------------------------------------------------------------------------

    def walk(self, node: Any, level: int = 1, section: bool = False) -> None:
        """Turn the children of a block container into paragraphs and headings."""
        outer, self.level = self.level, level
        title_done = not section  # only a section's own title becomes a heading line
        for child in self.b.children(node):
            if isinstance(child, str):
                self.buffer.append(child)
                continue
            if self.skipped(child):
                continue
            tag, cls = self.b.tag(child), self.b.classes(child)
            if tag in _HEADINGS:
                heading = self.text_of(child)
                if "ltx_title_document" in cls:
                    self.emit(f"# {heading}")
                elif "ltx_title_abstract" in cls:
                    pass
                elif not title_done and level > 1 and "ltx_title" in cls:
                    self.emit(f"{'#' * level} {heading}")
                    title_done = True
                else:  # theorem, proof or other run-in titles: their own paragraph
                    self.emit(heading)
                continue
            if tag == "math" or (tag not in _BLOCK_TAGS and not (cls & _BLOCKISH_CLASSES)):
                self.inline(child, self.buffer)
                continue
            self.flush()
            self.block(child, tag, cls, level)
        self.flush()
        self.level = outer

    def block(self, node: Any, tag: str, cls: set[str], level: int) -> None:
        if "ltx_abstract" in cls:
            self.emit("## Abstract")
            self.walk(node, level)
        elif section := next((_SECTION_LEVELS[c] for c in cls if c in _SECTION_LEVELS), 0):
            self.walk(node, section, section=True)
        elif cls & {"ltx_equation", "ltx_equationgroup", "ltx_eqn_table"}:
            self.equations(node)
        elif "ltx_tabular" in cls or tag == "table":
            self.emit(self.table(node))
        elif "ltx_listing" in cls:
            lines = [self.text_of(n) for n in self.descendants(node, "ltx_listingline")]
            self.emit("\n".join(line for line in lines if line))
        elif tag == "figure":
            self.figure(node, level)
        elif tag in ("ul", "ol"):
            for item in self.b.children(node):
                if not isinstance(item, str) and self.b.tag(item) == "li":
                    self.item(item, level)
        elif tag == "li":
            self.item(node, level)
        else:
            self.walk(node, level)

    def figure(self, node: Any, level: int) -> None:
        """Captions first (wherever LaTeXML put them), then the figure's tables and text."""
        rest = []
        for child in self.b.children(node):
            if isinstance(child, str) or self.skipped(child):
                continue
            if self.b.tag(child) == "figcaption":
                self.emit(self.text_of(child))
            else:
                rest.append(child)
        for child in rest:
            tag, cls = self.b.tag(child), self.b.classes(child)
            if tag in _BLOCK_TAGS or cls & _BLOCKISH_CLASSES:
                self.block(child, tag, cls, level)
            else:
                self.inline(child, self.buffer)
        self.flush()

    def item(self, node: Any, level: int) -> None:
        label = "-"
        for child in self.b.children(node):
            if not isinstance(child, str) and "ltx_tag" in self.b.classes(child):
                text = self.text_of(child)
                label = "-" if not text or text in _BULLETS else text
                break
        self.flush()
        self.prefix = f"{label} "
        self.walk(Without(node, "ltx_tag"), level)
        self.prefix = ""

    def table(self, node: Any) -> str:
        rows = []
        for row in self.rows(node):
            cells = [
                self.text_of(cell)
                for cell in self.b.children(row)
                if not isinstance(cell, str)
                and not self.skipped(cell)
                and (self.b.tag(cell) in ("td", "th") or "ltx_td" in self.b.classes(cell))
            ]
            if any(cells):
                rows.append(" | ".join(cells))
        return "\n".join(rows)

    def rows(self, node: Any) -> Iterator[Any]:
        for child in self.b.children(node):
            if isinstance(child, str) or self.skipped(child):
                continue
            if self.b.tag(child) == "tr" or "ltx_tr" in self.b.classes(child):
                yield child
            elif "ltx_tabular" not in self.b.classes(child):  # thead/tbody, not a nested table
                yield from self.rows(child)

    def equations(self, node: Any) -> None:
        maths = [m for m in self.descendants(node, None, "math")]
        formulas = [
            _SPACE.sub(" ", self.b.attr(m, "alttext") or self.plain(m)).strip() for m in maths
        ]
        self.emit("\n".join(f"$${f}$$" for f in formulas if f))

    def descendants(self, node: Any, cls: str | None, tag: str | None = None) -> Iterator[Any]:
        for child in self.b.children(node):
            if isinstance(child, str) or self.skipped(child):
                continue
            if (cls and cls in self.b.classes(child)) or (tag and self.b.tag(child) == tag):
                yield child
            else:
                yield from self.descendants(child, cls, tag)


# Block tags that can turn up inside inline markup and must still be blocks there.
_INLINE_BLOCK_TAGS = frozenset({"table", "figure", "ul", "ol", "p", "div", "section"})
# Non-block tags that LaTeXML uses as blocks (e.g. <span class="ltx_tabular"> inside a figure).
_BLOCKISH_CLASSES = frozenset(
    {
        "ltx_tabular",
        "ltx_listing",
        "ltx_equation",
        "ltx_equationgroup",
        "ltx_eqn_table",
        "ltx_para",
        "ltx_theorem",
        "ltx_proof",
    }
)


def is_latexml(html: str) -> bool:
    """True when the page is a LaTeXML document (arXiv's 'no HTML' pages are not)."""
    return "ltx_document" in html or "ltx_page_main" in html


def latexml_to_text(html: str | bytes, parser: str = "selectolax") -> str:
    """The paper's text in the sectioned shape described in the module docstring."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    backend = BACKENDS[parser]
    root = backend.parse(html)
    if root is None:
        return ""
    walker = _Walker(ViewBackend(backend))
    walker.walk(root, level=1)
    text = "\n\n".join(walker.blocks).strip()
    return f"{text}\n" if text else ""
