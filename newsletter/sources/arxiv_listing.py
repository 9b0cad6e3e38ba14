"""arXiv API listing of one past day: the new submissions of a listing's window, paged.

The RSS feed only holds the latest listing. For any other day the same papers come from the
API's date-bounded query::

    search_query=(cat:cs.CL OR cat:cs.LG) AND submittedDate:[202606101800 TO 202606111800]
    sortBy=submittedDate&sortOrder=ascending&start=0&max_results=200

``submittedDate`` is the first version's submission time, given to the minute in GMT; the
window is the listing's (``calendar.submission_window``). Pages follow ``start`` until
``opensearch:totalResults`` is reached, one request per ``request_interval_s`` (arXiv asks
for one every 3 seconds), at most 30,000 results per query (the API's limit).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ..errors import SourceError
from ..http import Http
from ..models import Paper
from .arxiv import NAME, api_feed, parse_api_entry

log = logging.getLogger(__name__)
API_MAX_RESULTS = 30_000


def listing_query(categories: list[str], start: datetime, end: datetime) -> str:
    """The ``search_query`` for new submissions in ``categories`` between ``start`` and ``end``."""
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND submittedDate:[{_gmt(start)} TO {_gmt(end)}]"


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


def fetch_listing(
    http: Http,
    api_url: str,
    categories: list[str],
    window: tuple[datetime, datetime],
    *,
    page_size: int = 200,
    interval_s: float = 3.0,
    warnings: list[str] | None = None,
) -> list[Paper]:
    """Every paper in ``categories`` first submitted in ``window`` ([start, end)).

    The first page failing is an error; a later one failing keeps the earlier pages, with a
    warning. Entries outside the window (the query's bounds are inclusive, to the minute) are
    left out.
    """
    warnings = [] if warnings is None else warnings
    http.set_interval(api_url, interval_s)
    start, end = window
    query = listing_query(categories, start, end)
    papers: dict[str, Paper] = {}
    offset, total = 0, None
    while total is None or offset < min(total, API_MAX_RESULTS):
        params: dict[str, str | int] = {
            "search_query": query,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
            "start": offset,
            "max_results": page_size,
        }
        try:
            feed, url = api_feed(http, api_url, params)
        except SourceError as exc:
            if total is None:
                raise
            warnings.append(f"{exc} (kept the {len(papers)} papers of the earlier pages)")
            break
        total = _total(feed, url)
        if not feed.entries:
            if offset < total:
                warnings.append(
                    f"{NAME}: the listing query stopped at {offset} of {total} results; kept "
                    f"those ({url})"
                )
            break
        for entry in feed.entries:
            paper = parse_api_entry(entry)
            if paper is not None and _within(paper, start, end):
                papers.setdefault(paper.id, paper)
        offset += len(feed.entries)
    if total is not None and total > API_MAX_RESULTS:
        warnings.append(
            f"{NAME}: the listing query matched {total:,} papers; the API returns at most "
            f"{API_MAX_RESULTS:,} (use fewer sources.arxiv.categories)"
        )
    return list(papers.values())


def _total(feed: object, url: str) -> int:
    raw = getattr(feed, "feed", {}).get("opensearch_totalresults")
    try:
        return int(str(raw).strip())
    except ValueError:
        problem = f"no opensearch:totalResults in the answer ({raw!r})"
        raise SourceError(NAME, url, problem) from None


def _within(paper: Paper, start: datetime, end: datetime) -> bool:
    if not paper.published:
        return False
    try:
        when = datetime.fromisoformat(paper.published)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return start <= when < end
