"""RSS and Atom: parsing a feed, and turning an item that links an arXiv paper into a Paper."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..errors import SourceError
from ..models import Paper, split_arxiv_id

log = logging.getLogger(__name__)


_TAG = re.compile(r"<[^>]+>")


# A real feed is a handful of levels deep; feedparser's time grows faster than the depth
# (100,000 levels: 8 s), so anything deeper is refused before it parses.
MAX_XML_DEPTH = 100


class _TooDeep(Exception):
    pass


def xml_problem(body: bytes) -> str | None:
    """Why ``body`` must not reach the feed parser (too deep, entities that explode), or None.

    expat reads it once at C speed counting the depth; a malformed body is left to
    feedparser, which is lenient with broken feeds.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    depth = [0]

    def start(name: str, attrs: object) -> None:
        depth[0] += 1
        if depth[0] > MAX_XML_DEPTH:
            raise _TooDeep

    def end(name: str) -> None:
        depth[0] -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except _TooDeep:
        return f"XML nested deeper than {MAX_XML_DEPTH} levels"
    except expat.ExpatError as exc:
        if "amplification" in str(exc) or "recursive entity" in str(exc):
            return f"XML entities that expand without bound ({exc})"
    return None


def parse_feed(body: bytes, source: str, url: str) -> Any:
    """Parse RSS/Atom bytes; an empty body, HTML or other non-feed is a SourceError."""
    if not body.strip():
        raise SourceError(source, url, "empty body where a feed was expected")
    problem = xml_problem(body)
    if problem:
        raise SourceError(source, url, problem)
    feed = feedparser.parse(body)
    # feedparser is lenient: an HTML page parses "successfully" with no version and no entries.
    if not feed.entries and (not feed.get("version") or (feed.bozo and not feed.feed.get("title"))):
        problem = getattr(feed, "bozo_exception", None) or "no RSS/Atom root element"
        head = body[:40].decode("utf-8", "replace").strip()
        raise SourceError(source, url, f"not an RSS/Atom feed ({problem}; starts {head!r})")
    return feed


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
    return make_paper(
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
    moment = _aware(when)
    return moment.isoformat() if moment else None


def _aware(when: Any) -> datetime | None:
    if not when:
        return None
    year, month, day, hour, minute, second = tuple(when)[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def entry_time(entry: Any) -> datetime | None:
    """When an item was published (else updated), aware in UTC; None for an undated item.

    For arXiv's RSS this is the listing date at 00:00 US Eastern (the announcement day).
    """
    return _aware(entry.get("published_parsed") or entry.get("updated_parsed"))


def make_paper(**fields: Any) -> Paper | None:
    """A Paper, or None (logged) when an entry's fields do not make one."""
    try:
        return Paper(**fields)
    except ValueError as exc:
        log.info("arxiv: entry %s skipped: %s", fields.get("id"), exc)
        return None
