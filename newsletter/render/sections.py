"""A card's analysis sections at each degrade level (the size budget's shortening steps)."""

from __future__ import annotations

from typing import Any

from ..models import Card
from .prose import prose, prose_items

# Degrade levels (see README): 0 = everything; 1 = lists cut to two items; 2 = summary,
# core idea, problem, two results and one limitation; 3 = summary and core idea only.
DEGRADE_LEVELS = (0, 1, 2, 3)


_LEVEL_SECTIONS: dict[int, dict[str, int | None]] = {
    0: {},
    1: {"method": 2, "results": 2, "improvements": 2, "applications": 2, "limitations": 2},
    2: {
        "method": 0,
        "key_technique": 0,
        "results": 2,
        "improvements": 0,
        "applications": 0,
        "limitations": 1,
    },
    3: {
        "problem": 0,
        "method": 0,
        "key_technique": 0,
        "results": 0,
        "improvements": 0,
        "applications": 0,
        "limitations": 0,
    },
}


def sections(card: Card, level: int = 0) -> dict[str, Any]:
    """The card's analysis sections after the degrade level, as Prose; empty ones are ''/[]."""
    a = card.analysis.analysis
    limits = _LEVEL_SECTIONS[level]
    texts = {k: prose(getattr(a, k)) for k in ("summary", "core_idea", "problem", "key_technique")}
    lists = {
        k: prose_items(getattr(a, k))
        for k in ("method", "results", "improvements", "applications", "limitations")
    }
    out: dict[str, Any] = {}
    for key, text in texts.items():
        out[key] = "" if limits.get(key) == 0 else text
    for key, items in lists.items():
        keep = limits.get(key)
        out[key] = items if keep is None else items[:keep]
    full = sum(bool(texts[k]) for k in ("problem", "key_technique"))
    full += sum(len(items) for items in lists.values())
    shown = sum(bool(out[k]) for k in ("problem", "key_technique"))
    shown += sum(
        len(out[k]) for k in ("method", "results", "improvements", "applications", "limitations")
    )
    out["shortened"] = shown < full
    out["tags"] = ["-".join(t.split()) for t in prose_items(a.tags)]  # one #hashtag each
    out["prerequisites"] = prose_items(a.prerequisites)
    return out
