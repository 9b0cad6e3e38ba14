"""A selected paper's full text for analysis: arXiv HTML, else its PDF, else the abstract.

Never raises for a bad or missing full text: it falls back, records why in ``FullText.note``
and logs a warning naming the paper and the URL. Versioned URLs are immutable, so they go
through the on-disk cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from ..config import Settings
from ..errors import SourceError
from ..http import Http
from ..models import FullText, Paper
from .html import is_latexml, latexml_to_text
from .pdf import PdfError, is_pdf, pdf_to_text

log = logging.getLogger(__name__)

HTML_SOURCE = "arxiv-html"
PDF_SOURCE = "arxiv-pdf"
# Below this many characters a converted page or PDF is treated as empty (a failed conversion,
# a scanned PDF without a text layer): the abstract is then the honest choice.
MIN_CHARS = 800


class FullTextUnusable(Exception):
    """One full-text source could not be used; the message says why."""


def abstract_text(paper: Paper) -> str:
    """The abstract in the full-text shape: ``# title`` then ``## Abstract``."""
    body = paper.abstract or paper.ai_summary or "(no abstract)"
    return f"# {paper.title}\n\n## Abstract\n\n{body}\n"


def _result(source: str, url: str, text: str, note: str | None) -> tuple[FullText, str]:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return FullText(
        source=source,
        url=url,
        chars=len(text),
        sha256=digest,
        note=note,
    ), text


def _get(
    http: Http, url: str, source: str, paper: Paper, accept: str, valid: Callable[[bytes], bool]
) -> bytes:
    try:
        # A versioned full text never changes, but only a real one is worth keeping: arXiv
        # can answer 200 with a "too many requests" page.
        response = http.get(
            url, source=source, accept=accept, immutable=bool(paper.version), cache_if=valid
        )
    except SourceError as exc:
        raise FullTextUnusable(exc.problem) from None
    if response.status_code == 404:
        raise FullTextUnusable("HTTP 404, none published")
    if response.status_code != 200:
        raise FullTextUnusable(f"HTTP {response.status_code}")
    if not response.content.strip():
        raise FullTextUnusable("HTTP 200 with an empty body")
    return response.content


def html_fulltext(http: Http, url: str, paper: Paper) -> str:
    """The LaTeXML page at ``url`` as sectioned text, or FullTextUnusable."""
    body = _get(
        http,
        url,
        HTML_SOURCE,
        paper,
        "text/html",
        lambda b: is_latexml(b[:200_000].decode("utf-8", "replace")),
    )
    html = body.decode("utf-8", "replace")
    if not is_latexml(html):
        head = html[:40].strip()
        raise FullTextUnusable(f"not a LaTeXML page (starts {head!r})")
    try:
        text = latexml_to_text(html)
    except RecursionError:
        raise FullTextUnusable("page nested too deeply to read") from None
    if len(text) < MIN_CHARS:
        raise FullTextUnusable(f"converted page has only {len(text)} characters")
    return _with_front(text, paper)


def _with_front(text: str, paper: Paper) -> str:
    """Make sure the text opens with ``# title`` and has an ``## Abstract`` section."""
    blocks = text.split("\n\n")
    if not blocks[0].startswith("# "):
        blocks.insert(0, f"# {paper.title}")
    if "## Abstract" not in blocks and paper.abstract:
        blocks[1:1] = ["## Abstract", paper.abstract]
    return "\n\n".join(blocks)


def pdf_fulltext(http: Http, url: str, paper: Paper) -> str:
    """The PDF at ``url`` as sectioned text, or FullTextUnusable."""
    body = _get(http, url, PDF_SOURCE, paper, "application/pdf", is_pdf)
    try:
        text = pdf_to_text(body, paper.title, paper.abstract)
    except PdfError as exc:
        raise FullTextUnusable(str(exc)) from None
    if len(text) < MIN_CHARS + len(paper.abstract):
        raise FullTextUnusable(f"PDF has only {len(text)} characters of text (no text layer?)")
    return text


def fetch_fulltext(http: Http, settings: Settings, paper: Paper) -> tuple[FullText, str]:
    """(FullText record, text) from arXiv HTML, else the PDF, else the abstract."""
    arxiv = settings.sources.arxiv
    http.set_interval(arxiv.html_url, arxiv.fulltext_interval_s)
    http.set_interval(arxiv.pdf_url, arxiv.fulltext_interval_s)
    vid = paper.versioned_id
    notes: list[str] = []
    attempts = (
        (HTML_SOURCE, "html", f"{arxiv.html_url.rstrip('/')}/{vid}", html_fulltext),
        (PDF_SOURCE, "pdf", f"{arxiv.pdf_url.rstrip('/')}/{vid}", pdf_fulltext),
    )
    for name, kind, url, fetch in attempts:
        try:
            text = fetch(http, url, paper)
        except FullTextUnusable as exc:
            notes.append(f"{kind}: {exc}")
            log.warning("%s: %s unusable for %s: %s (%s)", name, kind, paper.id, exc, url)
            continue
        except Exception as exc:  # noqa: BLE001 - a parser bug on one paper must not stop the day
            notes.append(f"{kind}: {type(exc).__name__}: {exc}")
            # A bug to find, not bad input: -vv shows its traceback.
            log.warning(
                "%s: %s failed for %s: %s: %s (%s)",
                name,
                kind,
                paper.id,
                type(exc).__name__,
                exc,
                url,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            continue
        return _result(kind, url, text, "; ".join(notes) or None)
    log.warning("fulltext: using the abstract of %s (%s)", paper.id, "; ".join(notes))
    return _result(
        "abstract", paper.abs_url(arxiv.abs_url), abstract_text(paper), "; ".join(notes) or None
    )
