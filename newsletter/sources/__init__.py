"""Sources: each outside source is a ``Source``, found by name in ``SOURCES``.

A source may list candidates for the edition date (Hugging Face Daily Papers, arXiv RSS,
configured feeds) and may fill in what it knows about every candidate (arXiv API metadata,
GitHub stars). ``collect_papers`` asks every enabled source in registry order, first for
candidates, then to enrich them, and merges papers by arXiv id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..http import Http
from ..models import Paper
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
    """What a source needs while collecting one edition date, and where it reports."""

    settings: Settings
    http: Http
    edition_date: str
    progress: Callable[[str], None] = log.info
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Keep a warning for candidates.json (the day goes on)."""
        self.warnings.append(message)
        log.info("%s", message)


class Source(Protocol):
    name: str

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


def collect_papers(
    settings: Settings,
    http: Http,
    edition_date: str,
    progress: Callable[[str], None] = log.info,
) -> tuple[list[Paper], list[str]]:
    """Every candidate of ``edition_date`` from every enabled source, merged by arXiv id.

    Daily Papers failing is an error (the day's main list is unknown, so a rerun is better
    than a partial edition); the other sources failing become warnings and the day goes on.
    """
    run = Collecting(settings, http, edition_date, progress)
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
        for warning in bound_paper(paper):
            run.warn(warning)
    return list(papers.values()), run.warnings
