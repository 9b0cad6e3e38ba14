"""The fixture edition for the email tests (tests/fixtures/edition_ko/cards.yaml) and helpers.

- ``load_cards``: the ten Korean cards as ``Card`` models (``longer_cards``: 20% longer);
  ``english_cards``: the four of them a subscriber following vision and video receives, with
  their English analyses (tests/fixtures/edition_en/analyses.yaml).
- ``hostile_card``: a card whose paper data tries every trick (script, onerror, template
  syntax, unbalanced tags, bidi overrides, a 500-character word, javascript: links).
- ``write_edition``: the stage files ``build`` reads (candidates, selection, analyses, the
  English ones as ``ID.en.json``) plus a subscriber list, under a data folder, so the real
  ``pipeline.build`` renders the variants.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from newsletter.analysis.offline import analyze_offline
from newsletter.config import Settings, load_settings
from newsletter.models import Candidates, Card, PaperAnalysis, Selection
from support import FIXTURES as FIXTURES_DIR

DAY = "2026-06-12"
CARDS_YAML = FIXTURES_DIR / "edition_ko" / "cards.yaml"
ENGLISH_YAML = FIXTURES_DIR / "edition_en" / "analyses.yaml"
NONCE = "0123456789ab"
GENERATED = "2026-06-12"
MODEL = "gpt-4.1-mini"
LONG_WORD = "가" * 250 + "x" * 250

# Three subscribers who get three different variants, and one who gets the same as another.
SUBSCRIBERS = [
    {"email": "all@example.com", "name": "All Papers"},
    {"email": "agents@example.com", "topics": ["agents"]},
    {"email": "vision@example.com", "topics": ["vision", "video"], "language": "en"},
    {"email": "also-all@example.com", "topics": []},
]


TEXT_FIELDS = ("summary", "core_idea", "problem", "key_technique")
LIST_FIELDS = ("method", "results", "improvements", "applications", "limitations")


def load_cards(factor: float = 1.0) -> list[Card]:
    """The fixture's cards; ``factor`` > 1 makes every analysis text that much longer."""
    data = yaml.safe_load(CARDS_YAML.read_text(encoding="utf-8"))
    return [Card.model_validate(item) for item in longer_cards(data, factor)]


def _lengthen(text: str, factor: float) -> str:
    extra = text[: round(len(text) * (factor - 1))]
    return f"{text} {extra}".strip() if extra else text


def longer_cards(cards: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    """Cards (as the fixture's dicts) with every analysis text and list item ``factor`` times
    as long, by repeating its own beginning: the same sections, more text in each."""
    out = json.loads(json.dumps(cards))
    for card in out:
        a = card["analysis"]["analysis"]
        for key in TEXT_FIELDS:
            a[key] = _lengthen(a[key], factor)
        for key in LIST_FIELDS:
            a[key] = [_lengthen(item, factor) for item in a[key]]
    return out


def english_analyses() -> dict[str, PaperAnalysis]:
    data = yaml.safe_load(ENGLISH_YAML.read_text(encoding="utf-8"))
    return {item["id"]: PaperAnalysis.model_validate(item) for item in data}


def english_cards() -> list[Card]:
    """The fixture cards that have an English analysis, with it."""
    english = english_analyses()
    return [
        c.model_copy(update={"analysis": english[c.paper.id]})
        for c in load_cards()
        if c.paper.id in english
    ]


def hostile_card(number: int = 11) -> Card:
    base = load_cards()[0].model_dump()
    paper, analysis = base["paper"], base["analysis"]
    paper.update(
        id="2606.99999",
        title="<script>window.pwned=1</script> {{ 7*7 }} <b>Bold <i>unclosed "
        "\u202eevil\u202c title \u200f",
        organization='<img src=x onerror="window.pwned=2">Org',
        github_repo="javascript:window.pwned=3",
        project_page="data:text/html,<script>1</script>",
    )
    a = analysis["analysis"]
    a["summary"] = "Summary with </div></td></table> and " + LONG_WORD
    a["core_idea"] = "{% raw %}{{ config }}{% endraw %} <iframe src=//evil.example></iframe>"
    a["problem"] = ""  # a missing section
    a["key_technique"] = "   "  # blank counts as missing
    a["method"] = ["", '<a href="javascript:alert(1)">click</a>']
    a["applications"] = []
    a["tags"] = ["<svg/onload=alert(1)>", LONG_WORD[:80]]
    analysis["warnings"] = ["results: a number not found in the full text"]
    base["selected"].update(id=paper["id"], reason="<u>reason</u>", rank=number)
    analysis["id"] = paper["id"]
    base["anchor"] = f"paper-{number}"
    return Card.model_validate(base)


def write_edition(
    root: Path,
    cards: list[Card],
    *,
    subscribers: list[dict[str, object]] | None = None,
    settings_toml: str = "",
) -> Settings:
    """Stage files for ``cards`` and a subscriber list under ``root``; the settings to use."""
    data = root / "data"
    folder = data / "editions" / DAY
    (folder / "analyses").mkdir(parents=True, exist_ok=True)
    candidates = Candidates(
        date=DAY, collected_at=datetime(2026, 6, 12, tzinfo=UTC), papers=[c.paper for c in cards]
    )
    selection = Selection(date=DAY, method="llm", model=MODEL, papers=[c.selected for c in cards])
    (folder / "candidates.json").write_text(candidates.model_dump_json(), encoding="utf-8")
    (folder / "selection.json").write_text(selection.model_dump_json(), encoding="utf-8")
    english = english_analyses()
    for c in cards:
        (folder / "analyses" / f"{c.paper.id}.json").write_text(
            c.analysis.model_dump_json(), encoding="utf-8"
        )
        # Without a written English card, what the offline analyzer makes: the abstract.
        en = english.get(c.paper.id) or analyze_offline(c.paper, {}, "en")
        en = en.model_copy(
            update={
                "analysis": en.analysis.model_copy(update={"topics": c.analysis.analysis.topics})
            }
        )
        (folder / "analyses" / f"{c.paper.id}.en.json").write_text(
            en.model_dump_json(), encoding="utf-8"
        )
    subs = root / "subscribers"
    subs.mkdir(exist_ok=True)
    (subs / "list.yaml").write_text(
        json.dumps(subscribers if subscribers is not None else SUBSCRIBERS), encoding="utf-8"
    )
    config = root / "newsletter.toml"
    config.write_text(
        f'[storage]\ndata_dir = "{data}"\nsubscribers_dir = "{subs}"\n' + settings_toml,
        encoding="utf-8",
    )
    return load_settings(config, env={})
