"""What the transport got, parsed back: every style attribute of every sent HTML part is CSS
that reads as the variant's, declaration for declaration (line folding broke none), and each
message does what a polished newsletter does (preheader, start here, headings, metas)."""

from __future__ import annotations

import json
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser
from support.delivery_servers import parse
from support.sent import DAY, style_declarations

from newsletter.mail.parts import sent_parts


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


def _edition(outbox: Path) -> dict[str, object]:
    edition = outbox.parent.parent / "editions" / DAY / "edition.json"
    return dict(json.loads(edition.read_text(encoding="utf-8")))


def test_what_a_polished_newsletter_does_as_sent(sample_outbox: Path) -> None:
    edition = _edition(sample_outbox)
    cards = {c["paper"]["id"]: c for c in edition["cards"]}  # type: ignore[attr-defined]
    variants = {s: v for v in edition["variants"] for s in v["subscribers"]}  # type: ignore[attr-defined]
    for eml in sorted(sample_outbox.glob("*.eml")):
        msg = parse(eml.read_bytes())
        sent = sent_parts(eml.read_bytes())
        first = cards[variants[eml.stem]["paper_ids"][0]]
        title, summary = first["paper"]["title"], first["analysis"]["analysis"]["summary"]
        tree = LexborHTMLParser(sent.html)
        # Headings in order: one h1, and no level skipped on the way down.
        levels = [int(h.tag[1]) for h in tree.css("h1, h2, h3, h4, h5, h6")]
        assert levels[0] == 1 and levels.count(1) == 1, eml.name
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        metas = {m.attributes.get("name"): m.attributes.get("content") for m in tree.css("meta")}
        assert "x-apple-disable-message-reformatting" in metas, eml.name
        assert metas["format-detection"] == "telephone=no,date=no,address=no,email=no,url=no"
        # The preheader adds to the subject: the top paper's summary, hidden by display:none
        # alone (no white or tiny text), and not the date again.
        preheader = tree.body.css_first("div div")  # type: ignore[union-attr]
        style = preheader.attributes["style"] or ""
        assert "display:none" in style and "color" not in style and "font-size" not in style
        text = " ".join(preheader.text().replace("\u200c", "").split())
        assert text.rstrip("…") and summary.startswith(text.rstrip("…")), (eml.name, text)
        assert DAY not in text
        assert msg["Subject"].startswith(f"[{DAY}] ") and title.split()[0] in msg["Subject"]
        # "Start here" names the day's top pick, linked to its card.
        start = tree.css_first("p.st a")
        assert start.attributes["href"] == f"#{first['anchor']}"
        assert " ".join(start.text().split()) == title
        assert f"{title.split()[0]}" in sent.text.split("=" * 60)[0]  # and in the text part
        # TOC titles are cut at a word boundary.
        for a, card in zip(tree.css("ol.toc a"), variants[eml.stem]["paper_ids"], strict=True):
            shown = " ".join(a.text().split()[1:])
            full = cards[card]["paper"]["title"]
            if shown.endswith("…"):
                kept = shown[:-1]
                assert full.startswith(kept) and full[len(kept)] in " ,.:;-–—", (shown, full)
            else:
                assert shown == full
        for part in (sent.html, sent.text):
            assert "%%" not in part and "unsubscribe.invalid" not in part
