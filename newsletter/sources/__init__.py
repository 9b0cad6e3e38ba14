"""Collectors, one module per outside source, and the merge of their papers into candidates."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..config import Settings
from ..errors import SourceError
from ..http import Http
from ..models import Paper
from . import arxiv, feeds, github, huggingface

log = logging.getLogger(__name__)

# Fields the arXiv API is the authority on; it fills them in over Daily Papers' data.
_ARXIV_FIELDS = (
    "version",
    "categories",
    "primary_category",
    "published",
    "updated",
    "comment",
    "journal_ref",
    "doi",
)


def merge(into: Paper, other: Paper) -> None:
    """Fill ``into`` with what ``other`` knows and ``into`` lacks; arXiv wins its own fields."""
    from_arxiv = arxiv.NAME in other.sources
    for name in Paper.model_fields:
        if name in ("id", "sources"):
            continue
        mine, theirs = getattr(into, name), getattr(other, name)
        if theirs in (None, "", []):
            continue
        if mine in (None, "", []) or (from_arxiv and name in _ARXIV_FIELDS):
            setattr(into, name, theirs)
    into.sources = sorted(set(into.sources) | set(other.sources))


def collect_papers(
    settings: Settings,
    http: Http,
    date: str,
    progress: Callable[[str], None] = log.info,
) -> tuple[list[Paper], list[str]]:
    """Every candidate of ``date`` from every enabled source, merged by arXiv id.

    Daily Papers failing is an error (the day's main list is unknown, so a rerun is better
    than a partial edition); the other sources failing become warnings and the day goes on.
    """
    src = settings.sources
    warnings: list[str] = []
    papers: dict[str, Paper] = {}

    def add(found: list[Paper]) -> None:
        for paper in found:
            if paper.id in papers:
                merge(papers[paper.id], paper)
            else:
                papers[paper.id] = paper

    def warn(message: str) -> None:
        warnings.append(message)
        log.info("%s", message)

    if src.huggingface.enabled:
        found = huggingface.fetch_daily(
            http, src.huggingface.url, date, src.huggingface.limit, warnings
        )
        progress(f"huggingface: {len(found)} papers")
        add(found)
    if src.arxiv.enabled and src.arxiv.categories:
        try:
            found = arxiv.fetch_rss(
                http,
                src.arxiv.rss_url,
                src.arxiv.categories,
                list(src.arxiv.announce_types),
                warnings=warnings,
                interval_s=src.arxiv.request_interval_s,
            )
        except SourceError as exc:
            warn(str(exc))
        else:
            progress(f"arxiv rss: {len(found)} papers")
            add(found)
    for feed in src.feeds:
        try:
            found = feeds.fetch_feed(http, feed.name, feed.url)
        except SourceError as exc:
            warn(str(exc))
            continue
        progress(f"feed {feed.name}: {len(found)} papers")
        add(found)
    if src.arxiv.enabled and papers:
        ids = sorted(papers)
        meta = arxiv.fetch_metadata(
            http,
            src.arxiv.api_url,
            ids,
            src.arxiv.batch_size,
            src.arxiv.request_interval_s,
            warnings,
        )
        for pid, paper in meta.items():
            merge(papers[pid], paper)
        missing = [pid for pid in ids if pid not in meta]
        progress(f"arxiv api: metadata for {len(meta)} of {len(ids)}")
        if missing:
            # A whole failed batch can be hundreds of ids: name a few, count the rest.
            named = ", ".join(missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            warn(
                f"arxiv api: no metadata for {named} (its index may lag the "
                "announcement); kept what the other sources said"
            )
    if src.github.enabled:
        before = sum(p.github_stars is None and bool(p.github_repo) for p in papers.values())
        warnings += github.fill_stars(
            http,
            src.github.api_url,
            list(papers.values()),
            src.github.token_env,
            src.github.max_concurrency,
        )
        after = sum(p.github_stars is None and bool(p.github_repo) for p in papers.values())
        if before:
            progress(f"github: stars for {before - after} of {before} repositories")
    return list(papers.values()), warnings
