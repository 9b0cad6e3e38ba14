"""Bounds on what a source may put in a candidate: a longer field is cut, with a warning.

No real paper has a 1,000-character title or 2,000 authors; a source that sends one is broken
or hostile, and every later stage (the model's prompt, the size budget, the text wrapping)
would pay for it. Bounded once here, when the candidates are collected.
"""

from __future__ import annotations

from typing import Any

from ..models import Paper

# field -> most characters (text), or (most items, most characters per item) (lists)
TEXT_LIMITS = {
    "title": 1_000,
    "abstract": 20_000,
    "organization": 300,
    "ai_summary": 2_000,
    "comment": 1_000,
    "journal_ref": 1_000,
    "doi": 300,
    "github_repo": 2_000,
    "project_page": 2_000,
    "pdf_link": 2_000,
    "primary_category": 100,
    "published": 64,
    "updated": 64,
    "daily_date": 64,
    "version": 16,
}
LIST_LIMITS = {"authors": (2_000, 300), "categories": (50, 100), "ai_keywords": (50, 200)}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bound_paper(paper: Paper) -> list[str]:
    """Cut ``paper``'s fields to their bounds in place; one warning per field cut."""
    warnings: list[str] = []
    where = f"{', '.join(paper.sources) or 'source'}: paper {paper.id}"
    for name, limit in TEXT_LIMITS.items():
        value: Any = getattr(paper, name)
        if isinstance(value, str) and len(value) > limit:
            setattr(paper, name, _cut(value, limit))
            warnings.append(f"{where}: {name} is {len(value):,} characters; cut to {limit:,}")
    for name, (most, limit) in LIST_LIMITS.items():
        items: list[str] = getattr(paper, name)
        if len(items) > most or any(len(i) > limit for i in items):
            setattr(paper, name, [_cut(i, limit) for i in items[:most]])
            warnings.append(
                f"{where}: {name} has {len(items):,} entries, the longest "
                f"{max(len(i) for i in items):,} characters; cut to {most:,} of at most "
                f"{limit:,}"
            )
    return warnings
