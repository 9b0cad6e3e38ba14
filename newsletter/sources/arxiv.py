"""arXiv API: metadata for known ids, ``batch_size`` ids per ``id_list`` request."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from ..config import ArxivSettings, Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper, split_arxiv_id
from . import Collecting
from .feed import make_paper, parse_feed

NAME = "arxiv"
log = logging.getLogger(__name__)


def fetch_metadata(
    http: Http,
    api_url: str,
    ids: list[str],
    batch_size: int = 50,
    interval_s: float = 3.0,
    warnings: list[str] | None = None,
) -> dict[str, Paper]:
    """arXiv API metadata for ``ids`` (without versions); ids the API lacks are absent.

    A batch that fails (after the client's retries) becomes a warning in ``warnings``; its
    papers keep what the other sources said about them.
    """
    warnings = [] if warnings is None else warnings
    http.set_interval(api_url, interval_s)
    found: dict[str, Paper] = {}
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        try:
            found.update(_fetch_batch(http, api_url, batch))
        except SourceError as exc:
            warnings.append(
                f"{exc}: no arXiv metadata for {len(batch)} papers ({batch[0]} .. {batch[-1]})"
            )
    return found


def _fetch_batch(http: Http, api_url: str, batch: list[str]) -> dict[str, Paper]:
    params: dict[str, str | int] = {"id_list": ",".join(batch), "max_results": len(batch)}
    feed, url = api_feed(http, api_url, params)
    found = {}
    for entry in feed.entries:
        paper = parse_api_entry(entry)
        if paper is not None and paper.id in batch:
            found[paper.id] = paper
    if not found and (errors := api_errors(feed)):
        # The API answers a malformed id_list with an error entry (or an error feed title)
        # instead of an HTTP error; say so rather than "no metadata".
        raise SourceError(NAME, url, f"the API answered an error: {errors}")
    return found


def api_feed(http: Http, api_url: str, params: dict[str, str | int]) -> tuple[Any, str]:
    """One API answer, parsed, and its URL; SourceError for an HTTP error or a broken feed.

    An HTTP 400 usually carries an Atom error entry ("incorrect id format for ..."): the
    error names it.
    """
    response = http.get(api_url, source=NAME, params=params, accept="application/atom+xml")
    url = str(response.request.url)
    status = response.status_code
    if status != 200:
        detail = ""
        if status == 400 and response.content.strip():
            try:
                detail = api_errors(parse_feed(response.content, NAME, url))
            except SourceError:
                detail = ""
        raise SourceError(NAME, url, f"HTTP {status}" + (f": {detail}" if detail else ""))
    feed = parse_feed(response.content, NAME, url)
    if not feed.entries and feed.bozo:
        raise SourceError(NAME, url, f"not a valid feed ({feed.bozo_exception})")
    return feed, url


def api_errors(feed: Any) -> str:
    """The API's error entries (title "Error") or error feed title, joined; "" when none."""
    errors = [
        " ".join(str(e.get("summary", "")).split()) or "no detail"
        for e in feed.entries
        if " ".join(str(e.get("title", "")).split()).lower() == "error"
    ]
    title = " ".join(str(feed.feed.get("title", "")).split())
    if errors:
        return "; ".join(errors)
    return title if "error" in title.lower() else ""


def _clean(value: Any) -> str | None:
    """Whitespace runs (the API wraps long values over lines) joined into single spaces."""
    text = " ".join(str(value).split()) if value else ""
    return text or None


def parse_api_entry(entry: Any) -> Paper | None:
    """One API Atom entry -> Paper (None for the API's error entries)."""
    raw_id = entry.get("id", "")
    try:
        pid, version = split_arxiv_id(raw_id)
    except ValueError:
        return None
    title = " ".join(str(entry.get("title", "")).split())
    if not title or title.lower() == "error":
        return None
    categories = [t["term"] for t in entry.get("tags", []) if t.get("term")]
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    links = entry.get("links", [])
    pdf = next(
        (
            link.get("href")
            for link in links
            if link.get("title") == "pdf" or link.get("type") == "application/pdf"
        ),
        None,
    )
    html = next((link.get("href") for link in links if "/html/" in link.get("href", "")), None)
    return make_paper(
        id=pid,
        version=version,
        title=title,
        authors=[a.get("name", "") for a in entry.get("authors", []) if a.get("name")],
        abstract=" ".join(str(entry.get("summary", "")).split()),
        categories=categories,
        primary_category=primary or (categories[0] if categories else None),
        published=entry.get("published"),
        updated=entry.get("updated") if entry.get("updated") != entry.get("published") else None,
        comment=_clean(entry.get("arxiv_comment")),
        journal_ref=_clean(entry.get("arxiv_journal_ref")),
        doi=_clean(entry.get("arxiv_doi")),
        pdf_link=pdf,
        html_link=html,
        sources=[NAME],
    )


class ArxivApi:
    """Metadata for every candidate from the arXiv API, the authority on its own fields."""

    name = NAME

    def __init__(self, settings: ArxivSettings) -> None:
        self.settings = settings

    def closes_at(self, day: date) -> None:
        """The API fills in; listing a day is the arXiv listing source's job."""
        return None

    def candidates(self, run: Collecting) -> list[Paper]:
        """The API only fills in (listing by date is the arXiv listing source's job)."""
        return []

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        from . import merge

        a = self.settings
        # Papers read from the API's listing query already carry its metadata.
        ids = sorted(pid for pid, p in papers.items() if NAME not in p.sources)
        if not ids:
            return
        meta = fetch_metadata(
            run.http, a.api_url, ids, a.batch_size, a.request_interval_s, run.warnings
        )
        for pid, paper in meta.items():
            merge(papers[pid], paper)
        missing = [pid for pid in ids if pid not in meta]
        run.progress(f"arxiv api: metadata for {len(meta)} of {len(ids)}")
        if missing:
            # A whole failed batch can be hundreds of ids: name a few, count the rest.
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            run.warn(
                f"arxiv api: no metadata for {', '.join(missing[:10])}{more} (its index may "
                "lag the announcement); kept what the other sources said"
            )


def from_settings(settings: Settings) -> ArxivApi | None:
    a = settings.sources.arxiv
    return ArxivApi(a) if a.enabled else None
