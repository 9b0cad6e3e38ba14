"""The size budget: Gmail clips an HTML part past ~102 KB and hides the footer with it.

A variant over budget fails the build, unless the degrade policy ``shorten`` is configured:
then the variant is rendered again at each shorter level (``render.DEGRADE_LEVELS``) until it
fits; shortened cards link to the full analysis (the web version, else the arXiv page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ..errors import RenderError
from ..models import Card
from .renderer import RenderedVariant, Renderer
from .sections import DEGRADE_LEVELS

OverBudget = Literal["fail", "shorten"]
GMAIL_CLIP_KB = 102


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
) -> tuple[RenderedVariant, int]:
    """The variant rendered at the first level whose HTML part ``measure``s within budget.

    ``measure`` gives the bytes of the HTML part of a message built from the variant, as the
    transport gets it (build passes one that personalizes a real message and parses it back).
    """
    levels = DEGRADE_LEVELS if policy == "shorten" else DEGRADE_LEVELS[:1]
    sizes: list[int] = []
    for level in levels:
        rendered = renderer.render(edition_date, cards, model, generated, level=level, nonce=nonce)
        size = measure(rendered)
        if size <= budget_bytes:
            return rendered, size
        sizes.append(size)
    over = (
        f"{name} ({len(cards)} papers) is {sizes[0] / 1000:.1f} KB as sent, over the "
        f"{budget_bytes / 1000:.0f} KB budget (Gmail clips past ~{GMAIL_CLIP_KB} KB and "
        "hides the unsubscribe link)"
    )
    if policy == "shorten":
        raise RenderError(
            f"{over}; even the shortest cards are {sizes[-1] / 1000:.1f} KB: "
            "send fewer papers (edition.ranked / edition.recommended)"
        )
    raise RenderError(
        f'{over}; set edition.over_budget = "shorten" to shorten the cards '
        "with a link to the full analysis, or shorten the analyses"
    )
