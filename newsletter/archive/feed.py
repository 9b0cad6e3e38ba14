"""The archive's Atom feed (RFC 4287): one entry per published edition."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from ..config import Settings
from .paths import edition_path, edition_url

if TYPE_CHECKING:
    from .site import Published

MAX_ENTRIES = 50


def _base(settings: Settings) -> str:
    # Atom wants absolute ids and links; without archive.base_url the feed is still valid,
    # with tag: ids and links relative to the feed.
    return settings.archive.base_url.rstrip("/")


def atom_feed(settings: Settings, editions: list[Published]) -> str:
    """The feed document for ``editions`` (newest first)."""
    from .site import site_title

    base = _base(settings)
    language = settings.edition.language
    feed_id = f"{base}/" if base else f"tag:newsletter,2026:{escape(site_title(settings))}"
    updated = max((p.published_at for p in editions), default="1970-01-01T00:00:00+00:00")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(language)}>',
        f"<title>{escape(site_title(settings))}</title>",
        f"<id>{escape(feed_id)}</id>",
        f"<updated>{escape(updated)}</updated>",
        f"<author><name>{escape(site_title(settings))}</name></author>",
    ]
    if base:
        out.append(
            f'<link rel="self" type="application/atom+xml" href={quoteattr(base + "/feed.xml")}/>'
        )
        out.append(f'<link rel="alternate" type="text/html" href={quoteattr(base + "/")}/>')
    for p in editions[:MAX_ENTRIES]:
        lang = language if language in p.languages else p.languages[0]
        href = edition_url(base, p.date, lang) if base else edition_path(p.date, lang)
        entry_id = href if base else f"tag:newsletter,2026:{p.date}"
        items = "".join(f"<li>{escape(title)}</li>" for title in p.papers)
        out += [
            "<entry>",
            f"<title>{escape(f'[{p.date}] {p.title}')}</title>",
            f"<id>{escape(entry_id)}</id>",
            f'<link rel="alternate" type="text/html" href={quoteattr(href)}/>',
            f"<updated>{escape(p.published_at)}</updated>",
            f"<published>{escape(p.published_at)}</published>",
            f'<summary type="text">{escape(", ".join(p.papers)[:500])}</summary>',
            f'<content type="html">{escape(f"<ol>{items}</ol>")}</content>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out) + "\n"
