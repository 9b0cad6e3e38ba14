"""Any configured RSS/Atom feed whose items link arXiv papers (candidates without upvotes).

An item is kept only when it was published (else updated) on the source day in the feed's
``timezone``; undated items and items of other days are left out, counted in the progress line.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..config import FeedSettings, Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper
from . import Collecting
from .calendar import day_closes, local_day
from .feed import entry_time, parse_feed, parse_feed_entry


def fetch_feed(http: Http, name: str, url: str) -> list[Paper]:
    """Items of one feed that point at an arXiv paper, whatever their day."""
    return [p for p, _ in read_feed(http, name, url)]


def read_feed(http: Http, name: str, url: str) -> list[tuple[Paper, datetime | None]]:
    """Each item of one feed that points at an arXiv paper, with its time; others are ignored."""
    source = f"feed:{name}"
    response = http.get(url, source=source)
    if response.status_code != 200:
        raise SourceError(source, url, f"HTTP {response.status_code}")
    feed = parse_feed(response.content, source, url)
    return [
        (p, entry_time(e)) for e in feed.entries if (p := parse_feed_entry(e, source)) is not None
    ]


class Feeds:
    """Every ``[[sources.feeds]]`` entry; a feed that fails is a warning."""

    name = "feeds"

    def __init__(self, feeds: list[FeedSettings]) -> None:
        self.feeds = feeds

    def closes_at(self, day: date) -> datetime | None:
        """The day is over in every feed's time zone."""
        return max((day_closes(day, ZoneInfo(f.timezone)) for f in self.feeds), default=None)

    def candidates(self, run: Collecting) -> list[Paper]:
        papers: list[Paper] = []
        for feed in self.feeds:
            try:
                found = read_feed(run.http, feed.name, feed.url)
            except SourceError as exc:
                run.warn(str(exc))
                continue
            zone = ZoneInfo(feed.timezone)
            kept = [p for p, when in found if when and local_day(when, zone) == run.day]
            undated = sum(when is None for _, when in found)
            other = len(found) - len(kept) - undated
            left = [f"{other} of other days"] if other else []
            left += [f"{undated} undated"] if undated else []
            more = f" ({', '.join(left)} left out)" if left else ""
            run.progress(f"feed {feed.name}: {len(kept)} papers of {run.day}{more}")
            papers += kept
        return papers

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """Feeds only list."""


def from_settings(settings: Settings) -> Feeds | None:
    return Feeds(settings.sources.feeds) if settings.sources.feeds else None
