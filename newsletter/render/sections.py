"""What a card shows at each degrade level: the size budget's shortening steps, as data.

Each level keeps every cut of the levels before it and adds one: first the table of contents'
titles, then the sections, then the cards down to their one-line summaries, and last the long
titles themselves (with the organization and the selection reason, the other free text a
source or model writes on a card). ``budget.render_within`` tries them in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import Card
from .prose import Prose, prose, prose_items
from .text import truncate

TEXT_SECTIONS = ("summary", "core_idea", "problem", "key_technique")
LIST_SECTIONS = ("method", "results", "improvements", "applications", "limitations")
_LISTS_TO_TWO = dict.fromkeys(LIST_SECTIONS, 2)
_SHORT_CARD = {
    "method": 0,
    "key_technique": 0,
    "results": 2,
    "improvements": 0,
    "applications": 0,
    "limitations": 1,
}
_IDEA_ONLY = {k: 0 for k in (*LIST_SECTIONS, "problem", "key_technique")}
_SUMMARY_ONLY = {**_IDEA_ONLY, "core_idea": 0}
_TITLE_ONLY = {**_SUMMARY_ONLY, "summary": 0}


@dataclass(frozen=True)
class Level:
    """One shortening step: what the cards show, and what the build report says it cut."""

    cut: str = ""
    toc_chars: int | None = None  # table-of-contents titles cut to this many characters
    limits: Mapping[str, int] = field(default_factory=dict)  # items kept per section; 0 = none
    meta: bool = True  # tags and prerequisites shown
    title_chars: int | None = None  # card titles, organizations and reasons cut
    text_chars: int | None = None  # the one-line summary cut


LEVELS: tuple[Level, ...] = (
    Level(),
    Level("table of contents titles cut to 24 characters", toc_chars=24),
    Level("lists cut to two items", toc_chars=24, limits=_LISTS_TO_TWO),
    Level(
        "cards cut to summary, core idea, problem, two results and one limitation",
        toc_chars=24,
        limits=_SHORT_CARD,
    ),
    Level("cards cut to summary and core idea", toc_chars=24, limits=_IDEA_ONLY),
    Level("cards cut to their one-line summaries", toc_chars=24, limits=_SUMMARY_ONLY, meta=False),
    Level(
        "long titles, organizations and reasons cut to 120 characters",
        toc_chars=24,
        limits=_SUMMARY_ONLY,
        meta=False,
        title_chars=120,
    ),
    Level(
        "titles cut to 60 characters, summaries to 160",
        toc_chars=16,
        limits=_SUMMARY_ONLY,
        meta=False,
        title_chars=60,
        text_chars=160,
    ),
    Level(
        "cards cut to their titles", toc_chars=16, limits=_TITLE_ONLY, meta=False, title_chars=60
    ),
)
DEGRADE_LEVELS = tuple(range(len(LEVELS)))


def toc_width(level: int, configured: int) -> int:
    """How many characters of a title the table of contents shows at ``level``."""
    chars = LEVELS[level].toc_chars
    return configured if chars is None else min(configured, chars)


def card_at(card: Card, level: int) -> Card:
    """The card with its title, organization and reason cut as ``level`` says."""
    width = LEVELS[level].title_chars
    if width is None:
        return card
    paper = card.paper
    cut: dict[str, Any] = {"title": truncate(paper.title, width)}
    if paper.organization:
        cut["organization"] = truncate(paper.organization, width)
    selected = card.selected
    reason = truncate(selected.reason, width)
    reasons = {lang: truncate(text, width) for lang, text in selected.reasons.items()}
    return card.model_copy(
        update={
            "paper": paper.model_copy(update=cut),
            "selected": selected.model_copy(update={"reason": reason, "reasons": reasons}),
        }
    )


def sections(card: Card, level: int = 0) -> dict[str, Any]:
    """The card's analysis sections after the degrade level, as Prose; empty ones are ''/[]."""
    a = card.analysis.analysis
    lv = LEVELS[level]
    texts = {k: prose(getattr(a, k)) for k in TEXT_SECTIONS}
    lists = {k: prose_items(getattr(a, k)) for k in LIST_SECTIONS}
    out: dict[str, Any] = {}
    for key, text in texts.items():
        shown = Prose("") if lv.limits.get(key) == 0 else text
        if key == "summary" and lv.text_chars is not None and shown:
            # Cut as plain text: a cut could fall inside a bold or code span.
            shown = Prose(truncate(str(shown), lv.text_chars))
        out[key] = shown
    for key, items in lists.items():
        keep = lv.limits.get(key)
        out[key] = items if keep is None else items[:keep]
    full = sum(bool(texts[k]) for k in TEXT_SECTIONS) + sum(len(v) for v in lists.values())
    shown_count = sum(bool(out[k]) for k in TEXT_SECTIONS)
    shown_count += sum(len(out[k]) for k in LIST_SECTIONS)
    out["shortened"] = shown_count < full or out["summary"] != texts["summary"]
    tags = ["-".join(t.split()) for t in prose_items(a.tags)]  # one #hashtag each
    out["tags"] = tags if lv.meta else []
    out["prerequisites"] = prose_items(a.prerequisites) if lv.meta else []
    return out
