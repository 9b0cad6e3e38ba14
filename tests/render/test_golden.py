"""Golden files: the fixture edition rendered with fixed tokens and date, compared byte for byte.

A change to the templates, labels or CSS shows up here as a diff to review. Regenerate with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render_golden.py`` and commit the
files under tests/golden/ after reading the diff.
"""

from __future__ import annotations

import os

import pytest
from support import GOLDEN as GOLDEN_DIR
from support.render_edition import GENERATED, MODEL, NONCE, load_cards

from newsletter.render import Renderer

GOLDEN = GOLDEN_DIR
CASES = {
    # The full ten-paper Korean edition, and a three-paper English variant of it.
    "edition_ko": ("ko", "AI 논문 핵심 요약", None, 0),
    "variant_en": ("en", "AI Paper Digest", [1, 4, 7], 0),
    # Level 3: table of contents' titles cut, cards to summary, idea, problem, results, limits.
    "edition_ko_shortened": ("ko", "AI 논문 핵심 요약", [0, 9], 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("part", ["html", "txt"])
def test_golden(name: str, part: str) -> None:
    language, title, picks, level = CASES[name]
    cards = load_cards()
    if picks is not None:
        cards = [cards[i] for i in picks]
    renderer = Renderer(language, title, web_url="https://news.example/2026-06-12")
    out = renderer.render("2026-06-12", cards, MODEL, GENERATED, nonce=NONCE, level=level)
    # One tag per line, so that a reviewed diff shows what changed rather than one long line.
    actual = out.html.replace("><", ">\n<") if part == "html" else out.text
    path = GOLDEN / f"{name}.{part}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs: review, then UPDATE_GOLDEN=1 to accept"
