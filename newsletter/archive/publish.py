"""What ``newsletter publish`` does: figures, pages, index and feed, then the upload."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..config import Settings
from ..files import read_model, write_atomic
from ..http import Http
from ..models import Edition
from .site import archive_folder, publish

FIGURES = "figures.json"


def figures_file(settings: Settings, edition_date: str) -> Path:
    """The key figures publish copied for an edition (build shows them on the cards)."""
    return settings.layout.edition(edition_date).root / FIGURES


def read_figures(settings: Settings, edition_date: str) -> dict[str, dict[str, str]]:
    path = figures_file(settings, edition_date)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def figure_urls(settings: Settings, edition_date: str) -> dict[str, dict[str, str]]:
    """paper id -> {url, alt} of the key figures published for an edition ({} without
    ``archive.base_url`` or ``archive.figures``)."""
    base = settings.archive.base_url.rstrip("/")
    if not base or not settings.archive.figures:
        return {}
    return {
        pid: {"url": f"{base}/{f['path']}", "alt": f.get("alt", "")}
        for pid, f in read_figures(settings, edition_date).items()
        if isinstance(f, dict) and "path" in f
    }


def publish_edition(
    settings: Settings,
    edition_date: str,
    *,
    http: Http | None = None,
    target: str | None = None,
    s3_endpoint_url: str = "",
    s3: object | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Publish one edition into the archive folder (and upload it); returns report lines."""
    folder = archive_folder(settings)
    figures: dict[str, dict[str, str]] = {}
    if settings.archive.figures and http is not None:
        from .figures import collect

        edition = read_model(settings.layout.edition(edition_date).edition, Edition, "build")
        figures = collect(edition, http, folder, settings.archive.figure_max_bytes)
        write_atomic(figures_file(settings, edition_date), json.dumps(figures, indent=1))
    written = publish(settings, edition_date, figures)
    lines = [
        f"published {edition_date}: {len(written)} files, {len(figures)} key figures -> {folder}"
    ]
    if target:
        from .upload import make_s3_client, upload

        client = s3 if s3 is not None else make_s3_client(s3_endpoint_url)
        count = upload(folder, target, client, progress=progress)
        lines.append(f"uploaded {count} files to {target}")
    return lines
