"""The sample day as sent, and the checks every sent HTML part must pass.

- ``send_sample_day``: ``newsletter send --replay sample`` in a folder; the outbox it wrote.
- ``as_sent``: the parts of the message delivery builds from a rendered variant, read back.
- ``style_declarations``: every ``style`` attribute of an HTML document, in document order,
  parsed as CSS by tinycss2 (a declaration list per element, plus the parse errors met).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tinycss2
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser

from newsletter.cli import cli
from newsletter.config import load_settings
from newsletter.delivery.personalize import Personalizer
from newsletter.mail.parts import SentParts, sent_parts
from newsletter.models import Subscriber
from newsletter.render import RenderedVariant

DAY = "2026-06-12"


def send_sample_day(folder: Path) -> Path:
    """The sample day sent into ``folder``'s outbox (the folder is the working directory)."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, ["send", "--date", DAY, "--replay", "sample"])
    finally:
        os.chdir(before)
    assert result.exit_code == 0, result.output
    return folder / "data" / "outbox" / DAY


@dataclass
class Style:
    """One element's ``style`` attribute: its declarations and anything CSS could not read."""

    tag: str
    declarations: list[tuple[str, str]]
    errors: list[str]


def _errors(nodes: list[object]) -> list[str]:
    found = []
    for node in nodes:
        if isinstance(node, tinycss2.ast.ParseError):
            found.append(f"{node.kind}: {node.message}")
        content = getattr(node, "content", None) or getattr(node, "value", None)
        if isinstance(content, list):
            found.extend(_errors(content))
    return found


def style_declarations(html: str) -> list[Style]:
    """Every element's style attribute, parsed as a CSS declaration list."""
    out = []
    for node in LexborHTMLParser(html).css("[style]"):
        parsed = tinycss2.parse_blocks_contents(
            node.attributes["style"] or "", skip_comments=True, skip_whitespace=True
        )
        decls = [
            (d.lower_name, tinycss2.serialize(d.value).strip())
            for d in parsed
            if isinstance(d, tinycss2.ast.Declaration)
        ]
        out.append(Style(node.tag or "", decls, _errors(parsed)))
    return out


def as_sent(
    rendered: RenderedVariant, email: str = "reader@example.com", topics: list[str] | None = None
) -> SentParts:
    """The parts of the message delivery builds from ``rendered`` for one subscriber, read back.

    Default settings (the outbox's mailto: unsubscribe link), so no secret is needed.
    """
    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "newsletter.toml"
        empty.write_text("", encoding="utf-8")
        settings = load_settings(empty, env={}, data_dir=folder)
    personalizer = Personalizer(settings, DAY, f"[{DAY}] test", "all")
    raw, _ = personalizer.message(rendered, Subscriber(email=email, topics=topics or ["llm"]))
    return sent_parts(raw)
