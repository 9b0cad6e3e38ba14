"""What a model (or a source) wrote, as the email shows it.

The prompts ask for plain text, but a model may still write Markdown (``**key**``, ``*term*``,
`` `code` ``, ``[text](url)``) or TeX (``$\\alpha$``). ``prose`` reads the Markdown with
markdown-it-py, which knows where emphasis really opens and closes, and keeps a safe subset:
bold, italic and code become ``<b>``, ``<i>`` and ``<code>`` in the HTML part and plain words in
the text part; a link keeps its text only; a leftover ``**`` is dropped. TeX becomes Unicode
(``newsletter.tex``). Everything else is text, escaped.
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

from ..tex import tex_to_text
from .text import clean_text

# Markdown's marks (emphasis, code, links); without them only TeX may need reading.
_MARKDOWN = re.compile(r"[*`]|_\w|\w_|\]\(")
_MARKDOWN_CHARS = frozenset("*`_]")
_TEX_CHARS = frozenset("\\$-~{")
_HEADING = re.compile(r"^#{1,6}\s+")
_LEFTOVER = re.compile(r"\*{2,}|_{2,}")
_TAGS = {"strong_open": "<b>", "strong_close": "</b>", "em_open": "<i>", "em_close": "</i>"}


class Prose(str):
    """Text for both parts: as a ``str`` it is plain text; Jinja's autoescape calls
    ``__html__`` and gets the escaped text with its bold, italic and code as tags."""

    _html: str | None

    def __new__(cls, plain: str, html: str | None = None) -> Prose:
        obj = super().__new__(cls, plain)
        obj._html = html  # None: the plain text, escaped when asked for
        return obj

    def __html__(self) -> str:
        return escape(str(self), quote=False) if self._html is None else self._html


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "zero" turns every rule off; these three are all an email card needs.
    return MarkdownIt("zero").enable(["emphasis", "backticks", "link"])


def _tex(text: str) -> str:
    """``tex_to_text`` keeping the spaces around a piece of text (they join it to the next)."""
    core = tex_to_text(text)
    if core == text:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    return lead + core + text[len(text.rstrip()) :] if core else lead


def prose(value: Any) -> Prose:
    """``value`` as one paragraph of Prose (whitespace collapsed, Markdown and TeX read)."""
    return prose_of_text(value if isinstance(value, str) else str(value or ""))


# Each card's fields are read again for every variant, language and shortening level a build
# renders it in; the reading depends on the text only.
@functools.lru_cache(maxsize=8192)
def prose_of_text(value: str) -> Prose:
    text = _HEADING.sub("", " ".join(str(clean_text(value)).split()))
    if _MARKDOWN_CHARS.isdisjoint(text) or not _MARKDOWN.search(text):
        return Prose(tex_to_text(text) if not _TEX_CHARS.isdisjoint(text) else text)
    plain: list[str] = []
    html: list[str] = []
    for token in _markdown().parseInline(text)[0].children or []:
        if token.type in _TAGS:
            html.append(_TAGS[token.type])
        elif token.type == "code_inline":
            code = _tex(token.content)
            plain.append(code)
            html.append(f"<code>{escape(code, quote=False)}</code>")
        elif token.type in ("softbreak", "hardbreak"):
            plain.append(" ")
            html.append(" ")
        elif token.type == "text":
            words = _LEFTOVER.sub("", _tex(token.content))
            plain.append(words)
            html.append(escape(words, quote=False))
        # link_open / link_close: the link's text is kept, its target is not
    flat = " ".join("".join(plain).split())
    return Prose(flat, " ".join("".join(html).split()) if flat else "")


def prose_items(values: list[str], keep: int | None = None) -> list[Prose]:
    """The non-empty items of a list field as Prose, the first ``keep`` of them."""
    items = [p for p in (prose(v) for v in values) if p]
    return items if keep is None else items[:keep]
