"""Sources: each outside source is a ``Source``, found by name in the registry.

A source may list candidates for a source day (Hugging Face Daily Papers, the arXiv listing,
configured feeds) and may fill in what it knows about every candidate (arXiv API metadata,
GitHub stars). Each listing source says when its list of a day is complete (``closes_at``, on
its own calendar: ``calendar.py``); ``not_ready`` tells whether any is still open.
``collect_papers`` asks every enabled source in registry order, first for candidates, then to
enrich them, and merges papers by arXiv id. Titles and abstracts leave here as readable text
(``readable``), whatever source wrote them in TeX.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from ..config import Settings
from ..http import Http
from ..models import Paper
from ..tex import tex_to_text
from .bounds import bound_paper

log = logging.getLogger(__name__)

# Fields the arXiv API is the authority on; it fills them in over Daily Papers' data.
_ARXIV_FIELDS = (
    "version",
    "categories",
    "primary_category",
    "published",
    "updated",
    "comment",
    "journal_ref",
    "doi",
)


@dataclass
class Collecting:
    """What a source needs while collecting one source day, and where it reports."""

    settings: Settings
    http: Http
    day: date
    progress: Callable[[str], None] = log.info
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Keep a warning for candidates.json (the day goes on); the stage prints them once."""
        self.warnings.append(message)
        log.debug("%s", message)


@dataclass(frozen=True)
class NotReady:
    """A source's list of the day is still open: collecting now would miss papers."""

    source: str
    day: date
    ready_at: datetime  # aware


class Source(Protocol):
    name: str

    def closes_at(self, day: date) -> datetime | None:
        """When this source's list of ``day`` is complete (None: it has no list that day)."""
        ...

    def candidates(self, run: Collecting) -> list[Paper]:
        """The papers this source lists for the edition date (raise SourceError to fail it)."""
        ...

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """Fill in what this source knows about the candidates; problems become warnings."""
        ...


SourceFactory = Callable[[Settings], Source | None]


def _registry() -> dict[str, SourceFactory]:
    from . import arxiv, arxiv_rss, feeds, github, huggingface

    return {
        "huggingface": huggingface.from_settings,
        "arxiv-rss": arxiv_rss.from_settings,
        "feeds": feeds.from_settings,
        "arxiv": arxiv.from_settings,
        "github": github.from_settings,
    }


def enabled_sources(settings: Settings) -> list[Source]:
    """The sources the settings enable, in registry order."""
    return [s for make in _registry().values() if (s := make(settings)) is not None]


def merge(into: Paper, other: Paper) -> None:
    """Fill ``into`` with what ``other`` knows and ``into`` lacks; arXiv wins its own fields."""
    from_arxiv = "arxiv" in other.sources
    for name in Paper.model_fields:
        if name in ("id", "sources"):
            continue
        mine, theirs = getattr(into, name), getattr(other, name)
        if theirs in (None, "", []):
            continue
        if mine in (None, "", []) or (from_arxiv and name in _ARXIV_FIELDS):
            setattr(into, name, theirs)
    into.sources = sorted(set(into.sources) | set(other.sources))


def readable(paper: Paper) -> None:
    """The paper's title, abstract and summary with their TeX turned into Unicode text."""
    title = " ".join(tex_to_text(paper.title).split())
    paper.title = title or paper.title
    paper.abstract = tex_to_text(paper.abstract)
    if paper.ai_summary:
        paper.ai_summary = tex_to_text(paper.ai_summary)


def not_ready(settings: Settings, day: date, now: datetime) -> NotReady | None:
    """The enabled source whose list of ``day`` closes last, if that is still to come."""
    waits = [
        NotReady(source.name, day, closes)
        for source in enabled_sources(settings)
        if (closes := source.closes_at(day)) is not None and closes > now
    ]
    return max(waits, key=lambda w: w.ready_at, default=None)


def collect_papers(
    settings: Settings,
    http: Http,
    day: date,
    progress: Callable[[str], None] = log.info,
) -> tuple[list[Paper], list[str]]:
    """Every candidate of the source day ``day`` from every enabled source, merged by id.

    Daily Papers failing is an error (the day's main list is unknown, so a rerun is better
    than a partial edition); the other sources failing become warnings and the day goes on.
    """
    run = Collecting(settings, http, day, progress)
    sources = enabled_sources(settings)
    papers: dict[str, Paper] = {}
    for source in sources:
        for paper in source.candidates(run):
            if paper.id in papers:
                merge(papers[paper.id], paper)
            else:
                papers[paper.id] = paper
    if papers:
        for source in sources:
            source.enrich(papers, run)
    for paper in papers.values():
        # Bounded first: TeX is only read within the size limits.
        for warning in bound_paper(paper):
            run.warn(warning)
        readable(paper)
        if paper.project_page and same_link(paper.project_page, paper.github_repo):
            paper.project_page = None  # the card would show one link twice
    return list(papers.values()), run.warnings


def same_link(a: str | None, b: str | None) -> bool:
    """Whether two links name the same page (scheme, 'www.', case, '/' and '.git' aside)."""

    def norm(url: str) -> str:
        text = url.strip().lower().split("#")[0].split("?")[0]
        text = text.split("://", 1)[-1].removeprefix("www.")
        return text.rstrip("/").removesuffix(".git")

    return bool(a and b) and norm(a or "") == norm(b or "")
