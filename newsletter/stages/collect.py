"""collect: every candidate of the day from every enabled source -> ``candidates.json``."""

from __future__ import annotations

from datetime import UTC, datetime

from ..config import Settings
from ..files import read_model, write_model
from ..http import Http
from ..models import Candidates
from ..sources import collect_papers
from . import Progress, log


def collect(
    settings: Settings,
    edition_date: str,
    http: Http,
    *,
    force: bool = False,
    progress: Progress = log.info,
) -> Candidates:
    """Every candidate of the day into ``candidates.json``; an existing non-empty one is kept.

    An empty one is collected again: the list may not have been published at the last run.
    """
    paths = settings.layout.edition(edition_date)
    if not force and paths.candidates.exists():
        existing = read_model(paths.candidates, Candidates, "collect")
        if existing.papers:
            return existing
    papers, warnings = collect_papers(settings, http, edition_date, progress)
    candidates = Candidates(
        date=edition_date, collected_at=datetime.now(UTC), papers=papers, warnings=warnings
    )
    write_model(paths.candidates, candidates)
    for warning in warnings:
        progress(f"warning: {warning}")
    more = f" ({len(warnings)} warnings, kept in the file)" if warnings else ""
    progress(f"collect: {len(papers)} candidates -> {paths.candidates}{more}")
    return candidates
