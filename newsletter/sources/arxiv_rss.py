"""arXiv RSS/Atom announcements for the configured categories (candidates without upvotes)."""

from __future__ import annotations

import re

from ..config import ArxivSettings, Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper
from . import Collecting
from .feed import parse_feed, parse_feed_entry

_ANNOUNCE = re.compile(r"Announce Type:\s*(?P<type>[\w-]+)", re.IGNORECASE)


class FeedQueryError(SourceError):
    """arXiv answered a feed whose title says "Feed error for query" (a bad category)."""


def fetch_rss(
    http: Http,
    rss_url: str,
    categories: list[str],
    keep: list[str],
    source: str = "arxiv-rss",
    warnings: list[str] | None = None,
    interval_s: float = 3.0,
) -> list[Paper]:
    """Today's announcements for ``categories`` (joined with '+'), keeping the announce types.

    When arXiv rejects the query, each category is asked alone so that one misspelled category
    names itself (a warning in ``warnings``) and the others are still read.
    """
    warnings = [] if warnings is None else warnings
    http.set_interval(rss_url, interval_s)
    try:
        return _fetch_rss(http, rss_url, categories, keep, source)
    except FeedQueryError:
        if len(categories) == 1:
            raise
    papers: list[Paper] = []
    for category in categories:
        try:
            papers += _fetch_rss(http, rss_url, [category], keep, source)
        except SourceError as exc:
            warnings.append(str(exc))
    return papers


def _fetch_rss(
    http: Http, rss_url: str, categories: list[str], keep: list[str], source: str
) -> list[Paper]:
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
    papers = []
    for entry in feed.entries:
        text = str(entry.get("summary") or entry.get("description") or "")
        announce = entry.get("arxiv_announce_type") or (
            m.group("type") if (m := _ANNOUNCE.search(text)) else "new"
        )
        if announce not in keep:
            continue
        paper = parse_feed_entry(entry, source)
        if paper is not None:
            papers.append(paper)
    return papers


class ArxivRss:
    """The day's announcements in ``sources.arxiv.categories``; a failure is a warning."""

    name = "arxiv-rss"

    def __init__(self, settings: ArxivSettings) -> None:
        self.settings = settings

    def candidates(self, run: Collecting) -> list[Paper]:
        a = self.settings
        try:
            found = fetch_rss(
                run.http,
                a.rss_url,
                a.categories,
                list(a.announce_types),
                warnings=run.warnings,
                interval_s=a.request_interval_s,
            )
        except SourceError as exc:
            run.warn(str(exc))
            return []
        run.progress(f"arxiv rss: {len(found)} papers")
        return found

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """The API source fills in the metadata."""


def from_settings(settings: Settings) -> ArxivRss | None:
    a = settings.sources.arxiv
    return ArxivRss(a) if a.enabled and a.categories else None
