"""Any configured RSS/Atom feed whose items link arXiv papers (candidates without upvotes)."""

from __future__ import annotations

from ..errors import SourceError
from ..http import Http
from ..models import Paper
from .arxiv import _parse_feed, parse_feed_entry


def fetch_feed(http: Http, name: str, url: str) -> list[Paper]:
    """Items of one feed that point at an arXiv paper; other items are ignored."""
    source = f"feed:{name}"
    response = http.get(url, source=source)
    if response.status_code != 200:
        raise SourceError(source, url, f"HTTP {response.status_code}")
    feed = _parse_feed(response.content, source, url)
    return [p for e in feed.entries if (p := parse_feed_entry(e, source)) is not None]
