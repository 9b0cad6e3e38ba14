"""select: top N by upvotes, then M recommended -> ``selection.json``."""

from __future__ import annotations

from datetime import date as Date
from datetime import timedelta

from pydantic import ValidationError

from ..analysis import Recommender
from ..analysis.heuristic import ranked
from ..config import Settings
from ..files import fresh, read_model, write_model
from ..models import Candidates, Edition, Selection
from ..routing import languages
from ..store import Store
from ..subscribers import load_subscribers
from . import Progress, log


def recently_delivered(
    settings: Settings, edition_date: str, store: Store | None = None
) -> set[str]:
    """Paper ids already sent in the editions of the last ``dedupe_days`` days before this one.

    With the ledger at hand a paper counts once a variant holding it was sent to someone; an
    edition that was only built or previewed does not hold its papers back. Without a ledger,
    every paper selected in those editions counts.
    """
    day = Date.fromisoformat(edition_date)
    seen: set[str] = set()
    for back in range(1, settings.edition.dedupe_days + 1):
        earlier = (day - timedelta(days=back)).isoformat()
        paths = settings.layout.edition(earlier)
        try:
            if store is not None:
                sent = {row.variant for row in store.rows(earlier, "sent")}
                if not sent:
                    continue
                if paths.edition.is_file():
                    edition = Edition.model_validate_json(paths.edition.read_bytes())
                    seen |= {pid for v in edition.variants if v.key in sent for pid in v.paper_ids}
                    continue
            if paths.selection.is_file():
                selection = Selection.model_validate_json(paths.selection.read_bytes())
                seen |= {s.id for s in selection.papers}
        except ValidationError:
            log.warning("%s is not a valid stage file; ignored for dedupe", paths.root)
    return seen


def select(
    settings: Settings,
    edition_date: str,
    recommender: Recommender,
    *,
    force: bool = False,
    store: Store | None = None,
    progress: Progress = log.info,
) -> Selection:
    """Top N by upvotes, then M recommended (the LLM's picks, or greedy topic coverage)."""
    paths = settings.layout.edition(edition_date)
    if not force and fresh(paths.selection, paths.candidates):
        return read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    excluded = recently_delivered(settings, edition_date, store)
    pool = [p for p in candidates.papers if p.id not in excluded]
    if excluded & {p.id for p in candidates.papers}:
        progress(
            f"select: {len(candidates.papers) - len(pool)} papers left out, already "
            f"sent in the last {settings.edition.dedupe_days} days"
        )
    # Reasons in every language a subscriber reads: they are shown on the cards.
    langs = languages(load_subscribers(settings, store), settings.edition.language)
    top = ranked(pool, settings.edition.ranked, langs)
    # An LLM recommender falls back to the heuristic when the endpoint is unavailable.
    chosen = recommender.recommend(pool, top, settings.edition.recommended, langs)
    for warning in chosen.warnings:
        progress(f"select: warning: {warning}")
    selection = Selection(
        date=edition_date,
        method=chosen.method,
        model=chosen.model,
        papers=top + chosen.picks,
        usage=chosen.usage,
        cost_usd=chosen.cost_usd,
        warnings=chosen.warnings,
    )
    write_model(paths.selection, selection)
    progress(f"select: {len(top)} ranked + {len(chosen.picks)} recommended ({chosen.method})")
    return selection
