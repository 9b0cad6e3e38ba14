"""arXiv: API metadata for known ids (batched ``id_list``) and the RSS/Atom announcements."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..errors import SourceError
from ..http import Http
from ..models import Paper, split_arxiv_id

NAME = "arxiv"
log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]+>")
_ANNOUNCE = re.compile(r"Announce Type:\s*(?P<type>[\w-]+)", re.IGNORECASE)


def _parse_feed(body: bytes, source: str, url: str) -> Any:
    """Parse RSS/Atom bytes; an empty body, HTML or other non-feed is a SourceError."""
    if not body.strip():
        raise SourceError(source, url, "empty body where a feed was expected")
    feed = feedparser.parse(body)
    # feedparser is lenient: an HTML page parses "successfully" with no version and no entries.
    if not feed.entries and (not feed.get("version") or (feed.bozo and not feed.feed.get("title"))):
        problem = getattr(feed, "bozo_exception", None) or "no RSS/Atom root element"
        head = body[:40].decode("utf-8", "replace").strip()
        raise SourceError(source, url, f"not an RSS/Atom feed ({problem}; starts {head!r})")
    return feed


class FeedQueryError(SourceError):
    """arXiv answered a feed whose title says "Feed error for query" (a bad category)."""


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
    response = http.get(api_url, source=NAME, params=params, accept="application/atom+xml")
    url = str(response.request.url)
    if response.status_code != 200:
        raise SourceError(NAME, url, f"HTTP {response.status_code}")
    feed = _parse_feed(response.content, NAME, url)
    if not feed.entries and feed.bozo:
        raise SourceError(NAME, url, f"not a valid feed ({feed.bozo_exception})")
    found = {}
    errors = []
    for entry in feed.entries:
        paper = parse_api_entry(entry)
        if paper is not None and paper.id in batch:
            found[paper.id] = paper
        elif " ".join(str(entry.get("title", "")).split()).lower() == "error":
            errors.append(" ".join(str(entry.get("summary", "")).split()) or "no detail")
    title = " ".join(str(feed.feed.get("title", "")).split())
    if not found and (errors or "error" in title.lower()):
        # The API answers a malformed id_list with an error entry (or an error feed title)
        # instead of an HTTP error; say so rather than "no metadata".
        raise SourceError(NAME, url, f"the API answered an error: {'; '.join(errors) or title}")
    return found


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
    return _paper(
        id=pid,
        version=version,
        title=title,
        authors=[a.get("name", "") for a in entry.get("authors", []) if a.get("name")],
        abstract=" ".join(str(entry.get("summary", "")).split()),
        categories=categories,
        primary_category=primary or (categories[0] if categories else None),
        published=entry.get("published"),
        updated=entry.get("updated") if entry.get("updated") != entry.get("published") else None,
        comment=entry.get("arxiv_comment"),
        journal_ref=entry.get("arxiv_journal_ref"),
        doi=entry.get("arxiv_doi"),
        pdf_link=pdf,
        html_link=html,
        sources=[NAME],
    )


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
    feed = _parse_feed(response.content, source, url)
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


def parse_feed_entry(entry: Any, source: str) -> Paper | None:
    """An RSS/Atom item that points at an arXiv paper -> Paper; other items -> None."""
    candidates = [entry.get("id", ""), entry.get("link", "")]
    candidates += [link.get("href", "") for link in entry.get("links", [])]
    pid = version = None
    for raw in candidates:
        if raw and ("arxiv" in raw or re.match(r"^(oai:arXiv\.org:)?\d{4}\.\d{4,5}", raw)):
            try:
                pid, version = split_arxiv_id(raw.replace("oai:arXiv.org:", ""))
                break
            except ValueError:
                continue
    if pid is None:
        return None
    if not " ".join(str(entry.get("title", "")).split()):
        # An untitled item would become a card with no heading; skip it like a non-arXiv one.
        log.info("%s: item for %s has no title; skipped", source, pid)
        return None
    text = str(entry.get("summary") or entry.get("description") or "")
    abstract = text.split("Abstract:", 1)[1] if "Abstract:" in text else text
    abstract = html.unescape(_TAG.sub(" ", abstract))  # generic feeds put HTML here
    names = [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]
    if len(names) <= 1:  # arXiv's dc:creator is one comma-separated string
        names = re.split(r",| and ", str(entry.get("author") or ""))
    categories = [t["term"] for t in entry.get("tags", []) if t.get("term")]
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return _paper(
        id=pid,
        version=version,
        title=" ".join(str(entry.get("title", "")).split()),
        authors=[n.strip() for n in names if n.strip()],
        abstract=re.sub(r"\s+([.,;:!?])", r"\1", " ".join(abstract.split())),
        categories=categories,
        primary_category=categories[0] if categories else None,
        published=_iso(when),
        journal_ref=entry.get("arxiv_journal_reference") or entry.get("arxiv_journal_ref"),
        doi=entry.get("arxiv_doi"),
        sources=[source],
    )


def _iso(when: Any) -> str | None:
    """feedparser's UTC struct_time -> ISO 8601."""
    if not when:
        return None
    year, month, day, hour, minute, second = tuple(when)[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).isoformat()


def _paper(**fields: Any) -> Paper | None:
    """A Paper, or None (logged) when an entry's fields do not make one."""
    try:
        return Paper(**fields)
    except ValueError as exc:
        log.info("arxiv: entry %s skipped: %s", fields.get("id"), exc)
        return None
