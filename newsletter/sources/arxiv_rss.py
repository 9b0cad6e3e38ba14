"""The arXiv listing of the source day for the configured categories (candidates without upvotes).

The RSS/Atom feed (rss.arxiv.org) holds only the latest listing, its items dated with the
listing date (00:00 US Eastern). Items of other days are never kept: when the feed does not
hold the source day (a past day, a backfill, a feed already moved on), the same papers come
from the API's date-bounded listing query (``arxiv_listing.py``).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from ..config import ArxivSettings, Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper
from . import Collecting
from .arxiv_listing import fetch_listing
from .calendar import EASTERN, is_listing_day, listing_ready_at, local_day, submission_window
from .feed import entry_time, parse_feed, parse_feed_entry

_ANNOUNCE = re.compile(r"Announce Type:\s*(?P<type>[\w-]+)", re.IGNORECASE)
NAME = "arxiv-rss"
Dated = tuple[Paper, datetime | None]


class FeedQueryError(SourceError):
    """arXiv answered a feed whose title says "Feed error for query" (a bad category)."""


def fetch_rss(
    http: Http,
    rss_url: str,
    categories: list[str],
    keep: list[str],
    source: str = NAME,
    warnings: list[str] | None = None,
    interval_s: float = 3.0,
) -> list[Paper]:
    """The feed's announcements for ``categories`` of the kept types, whatever their day."""
    return [p for p, _ in read_rss(http, rss_url, categories, keep, source, warnings, interval_s)]


def read_rss(
    http: Http,
    rss_url: str,
    categories: list[str],
    keep: list[str],
    source: str = NAME,
    warnings: list[str] | None = None,
    interval_s: float = 3.0,
) -> list[Dated]:
    """Each announcement of the kept types with its time (categories joined with '+').

    When arXiv rejects the query, each category is asked alone so that one misspelled category
    names itself (a warning in ``warnings``) and the others are still read.
    """
    warnings = [] if warnings is None else warnings
    http.set_interval(rss_url, interval_s)
    try:
        return _read_rss(http, rss_url, categories, keep, source)
    except FeedQueryError:
        if len(categories) == 1:
            raise
    found: list[Dated] = []
    for category in categories:
        try:
            found += _read_rss(http, rss_url, [category], keep, source)
        except SourceError as exc:
            warnings.append(str(exc))
    return found


def _read_rss(
    http: Http, rss_url: str, categories: list[str], keep: list[str], source: str
) -> list[Dated]:
    query = "+".join(categories)
    url = f"{rss_url.rstrip('/')}/{query}"
    response = http.get(url, source=source)
    if response.status_code != 200:
        raise SourceError(source, url, f"HTTP {response.status_code}")
    feed = parse_feed(response.content, source, url)
    if "feed error for query" in str(feed.feed.get("title", "")).lower():
        what = f"category {query}" if len(categories) == 1 else f"categories {query}"
        raise FeedQueryError(
            source, url, f"arXiv has no feed for {what} (check sources.arxiv.categories)"
        )
    found: list[Dated] = []
    for entry in feed.entries:
        text = str(entry.get("summary") or entry.get("description") or "")
        announce = entry.get("arxiv_announce_type") or (
            m.group("type") if (m := _ANNOUNCE.search(text)) else "new"
        )
        if announce not in keep:
            continue
        paper = parse_feed_entry(entry, source)
        if paper is not None:
            found.append((paper, entry_time(entry)))
    return found


def announced_as(paper: Paper, categories: list[str]) -> str:
    """'new' when the paper's primary category is one of ``categories``, else 'cross'."""
    return "new" if paper.primary_category in categories else "cross"


class ArxivRss:
    """The listing dated the source day in ``sources.arxiv.categories``; a failure is a warning."""

    name = NAME

    def __init__(self, settings: ArxivSettings) -> None:
        self.settings = settings

    def closes_at(self, day: date) -> datetime | None:
        """arXiv serves the listing dated ``day`` from 00:00 US Eastern; no listing, no wait."""
        return listing_ready_at(day) if is_listing_day(day, self.settings.holidays) else None

    def candidates(self, run: Collecting) -> list[Paper]:
        a, day = self.settings, run.day
        if not is_listing_day(day, a.holidays):
            why = "a holiday" if day.weekday() < 5 else day.strftime("%A")
            run.progress(f"arxiv: no listing dated {day} ({why})")
            return []
        try:
            dated = read_rss(
                run.http,
                a.rss_url,
                a.categories,
                list(a.announce_types),
                warnings=run.warnings,
                interval_s=a.request_interval_s,
            )
        except SourceError as exc:
            run.warn(str(exc))
            dated = []
        kept = [p for p, when in dated if when is not None and local_day(when, EASTERN) == day]
        if kept:
            others = len(dated) - len(kept)
            more = f" ({others} of other days left out)" if others else ""
            run.progress(f"arxiv rss: {len(kept)} papers announced on {day}{more}")
            return kept
        days = sorted({local_day(w, EASTERN).isoformat() for _, w in dated if w is not None})
        held = f"the feed holds {', '.join(days)}" if days else "the feed holds nothing"
        run.progress(f"arxiv rss: nothing dated {day} ({held}); reading the API listing")
        return self._listing(run)

    def _listing(self, run: Collecting) -> list[Paper]:
        """The day's new submissions (and cross-lists) from the API's listing query."""
        a = self.settings
        window = submission_window(run.day, a.holidays)
        try:
            found = fetch_listing(
                run.http,
                a.api_url,
                a.categories,
                window,
                page_size=a.listing_page_size,
                interval_s=a.request_interval_s,
                warnings=run.warnings,
            )
        except SourceError as exc:
            run.warn(f"{exc}: no arXiv listing for {run.day}")
            return []
        kept = [p for p in found if announced_as(p, a.categories) in a.announce_types]
        start, end = (w.strftime("%a %H:%M") for w in window)
        run.progress(
            f"arxiv api listing: {len(kept)} papers submitted {start} - {end} US Eastern "
            f"(listing of {run.day})"
        )
        return kept

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """The API source fills in the metadata."""


def from_settings(settings: Settings) -> ArxivRss | None:
    a = settings.sources.arxiv
    return ArxivRss(a) if a.enabled and a.categories else None
