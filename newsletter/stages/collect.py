"""collect: every candidate of the edition's source day from every enabled source.

Writes ``candidates.json``, only once every source's list of that day has closed: before that
nothing is asked or written and the stage answers ``NotReady`` (a scheduler retries later).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..config import Settings
from ..dates import now_utc, source_day
from ..files import read_model, write_model
from ..http import Http
from ..models import Candidates
from ..sources import NotReady, collect_papers, not_ready
from . import Progress, log


def collect(
    settings: Settings,
    edition_date: str,
    http: Http,
    *,
    force: bool = False,
    progress: Progress = log.info,
    clock: Callable[[], datetime] = now_utc,
) -> Candidates | NotReady:
    """The day's candidates, written to ``candidates.json``; an existing non-empty one is kept.

    An empty one is collected again: nothing is lost by asking a closed day twice. A day whose
    lists are still open gives ``NotReady`` and writes nothing.
    """
    paths = settings.layout.edition(edition_date)
    if not force and paths.candidates.exists():
        existing = read_model(paths.candidates, Candidates, "collect")
        if existing.papers:
            return existing
    day = source_day(settings, edition_date)
    waiting = not_ready(settings, day, clock())
    if waiting is not None:
        return waiting
    papers, warnings = collect_papers(settings, http, day, progress)
    candidates = Candidates(
        date=edition_date, collected_at=datetime.now(UTC), papers=papers, warnings=warnings
    )
    write_model(paths.candidates, candidates)
    for warning in warnings:
        progress(f"warning: {warning}")
    return candidates
