"""Hugging Face Daily Papers: the day's list with upvotes, organization, repo and stars."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from ..config import Settings
from ..errors import SourceError
from ..http import Http, HugeNumber, json_body
from ..models import Paper, split_arxiv_id
from . import Collecting
from .calendar import UTC_ZONE, day_closes

NAME = "huggingface"
log = logging.getLogger(__name__)
# A real day has a few dozen papers; a list still going after this many pages is a server
# that never ends it (every page full of new ids), and reading on would never finish.
MAX_PAGES = 20


def fetch_daily(
    http: Http, url: str, date: str, limit: int = 100, warnings: list[str] | None = None
) -> list[Paper]:
    """All papers put on Daily Papers on ``date``, following pages while they come full.

    The first page failing is an error; a later page failing, or one malformed item, becomes a
    warning (appended to ``warnings``) and what was already read is kept.
    """
    warnings = [] if warnings is None else warnings
    papers: list[Paper] = []
    seen: set[str] = set()
    page = 0
    while True:
        params: dict[str, str | int] = {"date": date, "limit": limit}
        if page:
            params["p"] = page
        try:
            body = _page(http, url, params, date)
        except SourceError as exc:
            if not page:
                raise
            warnings.append(f"{exc} (kept the {len(papers)} papers of the earlier pages)")
            return papers
        if body is None:
            return papers
        items, full_url = body
        if len(items) > limit:
            # The API ignored the page size: read no more than was asked for.
            warnings.append(
                f"{NAME}: {len(items):,} items on a page of {limit}; kept the first {limit} "
                f"({full_url})"
            )
            items = items[:limit]
        fresh = 0
        for position, item in enumerate(items):
            try:
                paper = parse_item(item, date, f"{full_url} item {position}", warnings)
            except SourceError as exc:
                warnings.append(f"{exc}: item skipped")
                continue
            if paper.id not in seen:
                seen.add(paper.id)
                papers.append(paper)
                fresh += 1
        if len(items) < limit or not fresh:
            return papers
        page += 1
        if page >= MAX_PAGES:
            warnings.append(
                f"{NAME}: the list did not end after {MAX_PAGES} full pages "
                f"({len(papers):,} papers); kept those, read no further ({url})"
            )
            return papers


def _page(
    http: Http, url: str, params: dict[str, str | int], date: str
) -> tuple[list[Any], str] | None:
    """One page's items and URL; None when the API says the day has no list."""
    response = http.get(url, source=NAME, params=params, accept="application/json")
    full_url = str(response.request.url)
    status = response.status_code
    if status not in (200, 400, 404):
        raise SourceError(NAME, full_url, f"HTTP {status}")
    body = json_body(response, NAME)
    detail = body.get("error") if isinstance(body, dict) else None
    if status == 400:
        raise SourceError(NAME, full_url, f"HTTP 400: {detail or 'bad request'}")
    if detail is not None:
        # A day with no list yet answers {"error": ...}: an empty day, not a failure.
        log.info("huggingface: no list for %s (%s)", date, detail)
        return None
    if status == 404:
        raise SourceError(NAME, full_url, "HTTP 404")
    if not isinstance(body, list):
        raise SourceError(NAME, full_url, f"expected a JSON array, got {type(body).__name__}")
    return body, full_url


def parse_item(item: Any, date: str, where: str, warnings: list[str] | None = None) -> Paper:
    """One list item -> Paper; fields are read from where the API puts them.

    An implausible count is unknown, with a line in ``warnings`` (else in the log).
    """
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise SourceError(NAME, where, "item has no 'paper' object")
    inner: dict[str, Any] = item["paper"]
    raw_id = inner.get("id")
    try:
        pid, version = split_arxiv_id(str(raw_id))
    except ValueError:
        raise SourceError(NAME, where, f"paper.id {raw_id!r} is not an arXiv id") from None
    title = inner.get("title") or item.get("title")
    if not title:
        raise SourceError(NAME, where, f"paper {pid} has no title")
    org = _org_name(inner.get("organization")) or _org_name(item.get("organization"))
    repo = _str(inner.get("githubRepo"))
    keywords = inner.get("ai_keywords")
    return Paper(
        id=pid,
        version=version,
        title=_clean(str(title)),
        authors=[
            str(a["name"])
            for a in _list(inner.get("authors"))
            if isinstance(a, dict) and a.get("name")
        ],
        organization=org,
        abstract=_clean(str(inner.get("summary") or item.get("summary") or "")),
        published=_str(inner.get("publishedAt")),
        daily_date=date,
        upvotes=_count(inner.get("upvotes"), "paper.upvotes", pid, where, warnings),
        comments=_int(item.get("numComments")),
        github_repo=repo,
        github_stars=_int(inner.get("githubStars")) if repo else None,
        project_page=_str(inner.get("projectPage")),
        ai_summary=_str(inner.get("ai_summary")),
        ai_keywords=[str(k) for k in _list(keywords)],
        sources=[NAME],
    )


def _org_name(org: Any) -> str | None:
    if isinstance(org, dict):
        return _str(org.get("fullname")) or _str(org.get("name"))
    return _str(org)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# No paper gets anywhere near this many upvotes; a bigger (or negative) count is a broken
# answer and would put the paper first in the ranking.
_MAX_VOTES = 1_000_000


def _count(
    value: Any, field: str, pid: str, where: str, warnings: list[str] | None = None
) -> int | None:
    """A vote count; another type (tolerated like the other odd fields) is unknown (None);
    an out-of-range or absurdly long number is unknown too, and said so naming the paper."""
    count = _int(value)
    if isinstance(value, HugeNumber) or (count is not None and not 0 <= count <= _MAX_VOTES):
        what = value if isinstance(value, HugeNumber) else f"{count!r}, not a plausible count"
        line = f"{NAME}: paper {pid}: {field} is {what}; treated as unknown ({where})"
        if warnings is None:
            log.warning("%s", line)
        else:
            warnings.append(line)
        return None
    return count


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _clean(text: str) -> str:
    return " ".join(text.split())


class HuggingFace:
    """The day's Daily Papers list: the edition's main source (a failure fails the day)."""

    name = NAME

    def __init__(self, url: str, limit: int) -> None:
        self.url, self.limit = url, limit

    def closes_at(self, day: date) -> datetime:
        """Daily Papers counts its days in UTC."""
        return day_closes(day, UTC_ZONE)

    def candidates(self, run: Collecting) -> list[Paper]:
        found = fetch_daily(run.http, self.url, run.day.isoformat(), self.limit, run.warnings)
        run.progress(f"huggingface: {len(found)} papers")
        return found

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        """Daily Papers only lists."""


def from_settings(settings: Settings) -> HuggingFace | None:
    hf = settings.sources.huggingface
    return HuggingFace(hf.url, hf.limit) if hf.enabled else None
