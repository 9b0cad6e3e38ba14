"""What the transport got, parsed back: every style attribute of every sent HTML part is CSS
that reads as the variant's, declaration for declaration (line folding broke none)."""

from __future__ import annotations

import json
from pathlib import Path

from support.delivery_servers import parse
from support.sent import DAY, style_declarations


def _sent(outbox: Path) -> dict[str, tuple[str, str]]:
    """Each message's (variant html as built, html part as sent), by file name."""
    variants = outbox.parent.parent / "editions" / DAY / "variants"
    built = {}
    for record in variants.glob("*.json"):
        html = record.with_suffix(".html").read_text(encoding="utf-8")
        for email in json.loads(record.read_text(encoding="utf-8"))["subscribers"]:
            built[f"{email}.eml"] = html
    out = {}
    for eml in sorted(outbox.glob("*.eml")):
        part = parse(eml.read_bytes()).get_body(("html",))
        assert part is not None, eml.name
        out[eml.name] = (built[eml.name], part.get_content())
    return out


def test_every_style_attribute_as_sent_parses_with_no_declaration_lost(
    sample_outbox: Path,
) -> None:
    messages = _sent(sample_outbox)
    assert len(messages) == 4
    for name, (built, sent) in messages.items():
        before, after = style_declarations(built), style_declarations(sent)
        assert [s.errors for s in after if s.errors] == [], name
        assert len(before) == len(after), name
        for b, a in zip(before, after, strict=True):
            assert (a.tag, a.declarations) == (b.tag, b.declarations), (name, b, a)
