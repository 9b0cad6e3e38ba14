"""Golden files: the fixture edition as a subscriber receives it, compared byte for byte.

Each case is rendered with fixed tokens and date, built into the message delivery sends one
subscriber, and its text and HTML parts are read back out of those bytes: the golden files are
the parts as sent (line folding included), not the rendered variant. A change to the
templates, labels, CSS or the folding shows up here as a diff to review. Regenerate with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/render/test_golden.py`` and commit the
files under tests/golden/ after reading the diff.
"""

from __future__ import annotations

import os

import pytest
from support import GOLDEN as GOLDEN_DIR
from support.render_edition import GENERATED, MODEL, NONCE, english_cards, load_cards
from support.sent import as_sent

from newsletter.render import Renderer

GOLDEN = GOLDEN_DIR
CASES = {
    # The full ten-paper Korean edition, and the English variant of its vision and video
    # papers (their English cards; the last one analysed from the abstract only).
    "edition_ko": ("ko", "AI 논문 핵심 요약", None, 0),
    "variant_en": ("en", "AI Paper Digest", None, 0),
    # Level 3: table of contents' titles cut, cards to summary, idea, problem, results, limits.
    "edition_ko_shortened": ("ko", "AI 논문 핵심 요약", [0, 9], 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("part", ["html", "txt"])
def test_golden(name: str, part: str) -> None:
    language, title, picks, level = CASES[name]
    cards = english_cards() if language == "en" else load_cards()
    if picks is not None:
        cards = [cards[i] for i in picks]
    renderer = Renderer(language, title, web_url="https://news.example/2026-06-12")
    out = renderer.render("2026-06-12", cards, MODEL, GENERATED, nonce=NONCE, level=level)
    sent = as_sent(out, topics=["llm", "agents"])
    actual = sent.html if part == "html" else sent.text
    path = GOLDEN / f"{name}.{part}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(actual.encode("utf-8"))  # CRLF line ends, as on the wire
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{path} differs: review, then UPDATE_GOLDEN=1 to accept"
