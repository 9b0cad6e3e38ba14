"""The text part's ``wrap``: linear now, and the same lines as the quadratic original."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

import pytest
import yaml
from support import FIXTURES

from newsletter.render.text import Wrapper, wrap


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _split_long(word: str, width: int) -> list[str]:
    parts, current = [], ""
    for ch in word:
        if current and _width(current + ch) > width:
            parts.append(current)
            current = ""
        current += ch
    return [*parts, current] if current else parts


def original_wrap(text: str, width: int = 76, indent: str = "") -> str:
    """``wrap`` as it was (it measured the whole line again for every word)."""
    lines: list[str] = []
    line = ""
    limit = width
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if _width(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
            limit = width - len(indent)
        pieces = _split_long(word, limit)
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def fixture_texts() -> list[str]:
    cards = yaml.safe_load((FIXTURES / "edition_ko" / "cards.yaml").read_text("utf-8"))
    return strings(cards)


def test_the_fixture_cards_wrap_as_before() -> None:
    texts = fixture_texts()
    assert len(texts) > 200
    for text in texts:
        for width, indent in ((76, ""), (74, "  "), (30, "    "), (10, "")):
            assert wrap(text, width, indent) == original_wrap(text, width, indent)


def test_random_texts_wrap_as_before() -> None:
    rng = random.Random(11)
    alphabet = ["a", "b", "Z", "9", "가", "나", "漢", "😀", "é", " ", " ", "\n", "\t", "-"]
    for _ in range(1500):
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 3, 8, 40, 120])))
            for _ in range(rng.randint(0, 30))
        ]
        text = " ".join(words)
        width = rng.choice([76, 74, 20, 5, 1, 0])
        indent = rng.choice(["", "  ", "      "])
        assert wrap(text, width, indent) == original_wrap(text, width, indent), (text, width)


@pytest.mark.parametrize("repeat", [1, 3])
def test_a_build_wraps_each_text_once(repeat: int) -> None:
    wrapper = Wrapper()
    texts = fixture_texts()
    for _ in range(repeat):
        assert [wrapper(t) for t in texts] == [original_wrap(t) for t in texts]
    assert len(wrapper.done) == len(set(texts))
    small = Wrapper(most=10)
    for t in texts:
        small(t)
    assert len(small.done) <= 10  # bounded, whatever a long-lived renderer wraps
