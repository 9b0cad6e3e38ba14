"""The ten-card Korean edition's HTML part as sent: reference-length cards and 20% longer.

Renders tests/fixtures/edition_ko/cards.yaml (about 2,000 characters of card text per card)
and a copy with every text field 20% longer, with the code of a git ref ("before") and with
the working tree ("after"), and prints side by side: the HTML part's bytes as sent (the same,
current, message-building code measures both), its share of the 100 KB budget, and the
markup share (bytes that are not visible text). Sizes are deterministic; no timing here.

Usage: .venv/bin/python scripts/bench_size.py [--ref REF]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.render_edition import LIST_FIELDS, TEXT_FIELDS, longer_cards  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "edition_ko" / "cards.yaml"
# The commit this work started from (main before the delivered-bytes change).
BEFORE = "286cbcf"
BUDGET = 100_000


def card_chars(card: dict[str, Any]) -> int:
    """Characters of a card's text: title, analysis, tags and prerequisites."""
    a = card["analysis"]["analysis"]
    lists = (*LIST_FIELDS, "tags", "prerequisites")
    return (
        len(card["paper"]["title"])
        + sum(len(a[k]) for k in TEXT_FIELDS)
        + sum(len(i) for k in lists for i in a[k])
    )


RENDER = """
import sys, pathlib, yaml
sys.path.insert(0, sys.argv[1])
from newsletter.models import Card, Selected
from newsletter.render import Renderer
out = pathlib.Path(sys.argv[2])
for name in ("reference", "longer"):
    data = yaml.safe_load((out / f"{name}.yaml").read_text())
    for c in data:  # fields the fixture gained since the ref was made are left out for it
        for extra in set(c["selected"]) - set(Selected.model_fields):
            del c["selected"][extra]
    cards = [Card.model_validate(c) for c in data]
    rendered = Renderer("ko", "AI 논문 핵심 요약").render(
        "2026-06-12", cards, "gpt-4.1-mini", "2026-06-12", nonce="0123456789ab"
    )
    (out / f"{name}.html").write_text(rendered.html, encoding="utf-8")
"""


def render_with(source: Path, folder: Path) -> None:
    """Render both editions with the package found in ``source`` into ``folder``."""
    subprocess.run([sys.executable, "-c", RENDER, str(source), str(folder)], check=True)


def figures(html: str) -> tuple[int, float]:
    """(HTML part bytes as sent, markup share)."""
    from selectolax.lexbor import LexborHTMLParser

    from newsletter.mail.message import html_bytes_as_sent

    sent = html_bytes_as_sent(html)
    body = LexborHTMLParser(html).body
    text = body.text(separator="") if body is not None else ""
    return sent, 1 - len(text.encode("utf-8")) / sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=BEFORE, help=f"git ref for 'before' ({BEFORE})")
    args = parser.parse_args()
    cards = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    editions = {"reference": cards, "longer": longer_cards(cards, 1.2)}
    results: dict[str, dict[str, tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        before_src = Path(tmp) / "before-src"
        before_src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.ref], check=True, capture_output=True
        )
        subprocess.run(["tar", "x", "-C", str(before_src)], input=archive.stdout, check=True)
        for label, source in (("before", before_src), ("after", ROOT)):
            folder = Path(tmp) / label
            folder.mkdir()
            for name, data in editions.items():
                (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
            render_with(source, folder)
            results[label] = {
                name: figures((folder / f"{name}.html").read_text(encoding="utf-8"))
                for name in editions
            }
    chars = [sum(card_chars(c) for c in e) / len(e) for e in editions.values()]
    print(
        f"ten Korean cards, {chars[0]:,.0f} characters of card text each ({chars[1]:,.0f} when "
        f"20% longer); HTML part as sent, {BUDGET // 1000} KB budget:"
    )
    print(f"{'':<22}{'before (' + args.ref + ')':>26}{'after (working tree)':>26}")
    for name, title in (("reference", "reference length"), ("longer", "cards 20% longer")):
        cells = []
        for label in ("before", "after"):
            size, markup = results[label][name]
            cells.append(f"{size / 1000:6.1f} KB {100 * size / BUDGET:4.0f}% {markup:4.0%} mk")
        print(f"{title:<22}{cells[0]:>26}{cells[1]:>26}")
    print("(mk = markup share: bytes of the HTML part that are not visible text)")


if __name__ == "__main__":
    main()
