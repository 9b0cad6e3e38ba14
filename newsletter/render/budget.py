"""The size budget: Gmail clips an HTML part past ~102 KB and hides the footer with it.

A variant over budget fails the build, unless the degrade policy ``shorten`` is configured:
then the variant is rendered at the first shorter level (``sections.LEVELS``: the table of
contents' titles, then sections, then cards to their summaries, then the long titles
themselves) whose HTML fits, and says what it cut. Shortened cards link to the full analysis
(the web version, else the arXiv page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import RenderError
from ..models import Card
from .renderer import RenderedVariant, Renderer
from .sections import DEGRADE_LEVELS, LEVELS, card_at

OverBudget = Literal["fail", "shorten"]
GMAIL_CLIP_KB = 102


@dataclass
class Fitted:
    """A variant rendered within budget: its HTML size as sent and what was cut for it."""

    rendered: RenderedVariant
    size: int
    cuts: list[str]


def cuts_at(level: int, cards: list[Card]) -> list[str]:
    """What rendering ``cards`` at ``level`` cut, one phrase per step (counts where it says)."""
    out = [lv.cut for lv in LEVELS[1 : level + 1]]
    width = LEVELS[level].title_chars
    if width is not None:
        long = sum(len(c.paper.title) > width for c in cards)
        out.append(f"{long} of {len(cards)} titles over {width} characters")
    return out


def render_within(
    renderer: Renderer,
    edition_date: str,
    cards: list[Card],
    *,
    model: str | None,
    generated: str,
    budget_bytes: int,
    measure: Callable[[RenderedVariant], int],
    policy: OverBudget = "fail",
    name: str = "variant",
    nonce: str | None = None,
) -> Fitted:
    """The variant at the first level whose HTML part ``measure``s within budget.

    ``measure`` gives the bytes of the HTML part of a message built from the variant, as the
    transport gets it (build passes one that personalizes a real message and parses it back).
    """
    tried: dict[int, tuple[RenderedVariant, int]] = {}

    def at(level: int) -> tuple[RenderedVariant, int]:
        if level not in tried:
            shown = [card_at(c, level) for c in cards]
            rendered = renderer.render(
                edition_date, shown, model, generated, level=level, nonce=nonce
            )
            tried[level] = rendered, measure(rendered)
        return tried[level]

    full, size = at(0)
    if size <= budget_bytes:
        return Fitted(full, size, [])
    over = (
        f"{name} ({len(cards)} papers) is {size / 1000:.1f} KB as sent, over the "
        f"{budget_bytes / 1000:.0f} KB budget (Gmail clips past ~{GMAIL_CLIP_KB} KB and "
        "hides the unsubscribe link)"
    )
    if policy != "shorten":
        raise RenderError(
            f'{over}; set edition.over_budget = "shorten" to shorten the cards '
            "with a link to the full analysis, or shorten the analyses"
        )
    last = DEGRADE_LEVELS[-1]
    shortest, shortest_size = at(last)
    if shortest_size > budget_bytes:
        raise RenderError(
            f"{over}; even cut to their titles the cards are {shortest_size / 1000:.1f} KB: "
            "send fewer papers (edition.ranked / edition.recommended) or raise "
            "edition.size_budget_kb"
        )
    low = first_fitting(lambda level: at(level)[1] <= budget_bytes, 1, last)
    rendered, size = at(low)
    return Fitted(rendered, size, cuts_at(low, cards))


def first_fitting(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The first level in ``low..high`` that ``fits`` (``high`` does), by bisection.

    Each level cuts at least what the one before did, so sizes only fall: a handful of renders,
    not one per level.
    """
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return low
