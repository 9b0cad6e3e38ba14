"""Each paper's key figure: the first figure of its arXiv HTML page, copied into the archive.

Only papers whose card came from the HTML version have one. The page comes through the one
HTTP client (its cache usually holds it since ``analyze``); the image must be PNG, JPEG, GIF
or WebP (an SVG could carry script) and at most ``archive.figure_max_bytes``. The caption,
without its "Figure 1:" tag, is the image's alt text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from ..errors import SourceError
from ..files import write_atomic
from ..http import Http
from ..models import Edition
from .paths import figure_path

log = logging.getLogger(__name__)

SOURCE = "arxiv-figure"
MAX_ALT = 300
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8\xff": ".jpg",
    b"GIF87a": ".gif",
    b"GIF89a": ".gif",
}


def image_suffix(data: bytes) -> str | None:
    """The file suffix of a raster image by its first bytes, or None."""
    for magic, suffix in _MAGIC.items():
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return None


def key_figure(page: str, page_url: str) -> tuple[str, str] | None:
    """(absolute image URL, caption) of the first figure with an image, or None."""
    tree = LexborHTMLParser(page)
    base = tree.css_first("base")
    root = (
        urljoin(page_url, base.attributes.get("href") or "") if base else page_url.rstrip("/") + "/"
    )
    for figure in tree.css("figure.ltx_figure"):
        img = figure.css_first("img")
        src = img.attributes.get("src") if img else None
        if not src or src.startswith("data:"):
            continue
        caption = figure.css_first("figcaption")
        text = ""
        if caption is not None:
            for tag in caption.css("span.ltx_tag"):
                tag.decompose()
            text = " ".join(caption.text(separator=" ").split())
        return urljoin(root, src), text[:MAX_ALT]
    return None


def collect(
    edition: Edition, http: Http, folder: Path, max_bytes: int
) -> dict[str, dict[str, str]]:
    """Copy each card's key figure under ``folder``; paper id -> {path, alt}."""
    found: dict[str, dict[str, str]] = {}
    for card in edition.cards:
        fulltext = card.analysis.fulltext
        if fulltext.source != "html" or not fulltext.url:
            continue
        try:
            page = http.get(fulltext.url, source="arxiv-html", accept="text/html", immutable=True)
            if page.status_code != 200:
                continue
            figure = key_figure(page.text, fulltext.url)
            if figure is None:
                continue
            image = http.get(figure[0], source=SOURCE, accept="image/*", immutable=True)
        except SourceError as exc:
            log.warning("key figure of %s not copied: %s", card.paper.id, exc)
            continue
        suffix = image_suffix(image.content) if image.status_code == 200 else None
        if suffix is None or len(image.content) > max_bytes:
            log.warning(
                "key figure of %s not copied: %s is not a small raster image",
                card.paper.id,
                figure[0],
            )
            continue
        path = figure_path(card.paper.id, suffix)
        write_atomic(folder / path, image.content)
        found[card.paper.id] = {"path": path, "alt": figure[1] or card.paper.title}
    return found
