"""Any configured RSS/Atom feed whose items link arXiv papers (candidates without upvotes)."""

from __future__ import annotations

from ..config import FeedSettings, Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper
from . import Collecting
from .feed import parse_feed, parse_feed_entry


def fetch_feed(http: Http, name: str, url: str) -> list[Paper]:
    """Items of one feed that point at an arXiv paper; other items are ignored."""
    source = f"feed:{name}"
    response = http.get(url, source=source)
    if response.status_code != 200:
        raise SourceError(source, url, f"HTTP {response.status_code}")
    feed = parse_feed(response.content, source, url)
    return [p for e in feed.entries if (p := parse_feed_entry(e, source)) is not None]


class Feeds:
    """Every ``[[sources.feeds]]`` entry; a feed that fails is a warning."""

    name = "feeds"

    def __init__(self, feeds: list[FeedSettings]) -> None:
        self.feeds = feeds

    def candidates(self, run: Collecting) -> list[Paper]:
        papers: list[Paper] = []
        for feed in self.feeds:
            try:
                found = fetch_feed(run.http, feed.name, feed.url)
            except SourceError as exc:
                run.warn(str(exc))
                continue
            run.progress(f"feed {feed.name}: {len(found)} papers")
            papers += found
        return papers

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """Feeds only list."""


def from_settings(settings: Settings) -> Feeds | None:
    return Feeds(settings.sources.feeds) if settings.sources.feeds else None
