"""``newsletter publish``: the static archive of the published editions.

The folder (``archive.folder``, default DATA/archive) holds::

    index.html            every published edition, newest first
    feed.xml              an Atom feed of the editions
    style.css             the pages' one stylesheet
    DATE/LANG.html        one edition in one language, every card in full (#paper-N)
    figures/ID.EXT        each paper's key figure, when ``archive.figures`` is on
    editions.json         what has been published (the index and feed are rebuilt from it)

Publishing a date again replaces its pages; the other editions stay as they were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import StageError
from ..files import read_model, write_atomic
from ..models import Card, Edition
from ..render import templates
from ..render.labels import labels_for
from ..render.renderer import Renderer, make_env
from ..render.text import truncate
from .feed import atom_feed
from .paths import edition_path

MANIFEST = "editions.json"


@dataclass(frozen=True)
class Published:
    """One edition as the index and the feed list it."""

    date: str
    title: str
    languages: list[str]
    papers: list[str]  # titles, in edition order
    published_at: str


def archive_folder(settings: Settings) -> Path:
    """Where the archive is written (``archive.folder`` or DATA/archive)."""
    return (
        Path(settings.archive.folder) if settings.archive.folder else settings.data_dir / "archive"
    )


def site_title(settings: Settings) -> str:
    return settings.archive.title or settings.edition.title


def _languages(edition: Edition) -> list[str]:
    return sorted({edition.language, *(v.language for v in edition.variants)})


def edition_page(
    settings: Settings,
    edition: Edition,
    language: str,
    figures: dict[str, dict[str, str]],
) -> str:
    """One edition's page in one language: header, table of contents, every card in full."""
    e = settings.edition
    title = edition.titles.get(language) or edition.title
    renderer = Renderer(language, title, e.toc_title_width, abs_url=settings.sources.arxiv.abs_url)
    generated = edition.built_at.astimezone(UTC).date().isoformat()
    cards = cards_in(settings, edition, language)
    ctx: dict[str, Any] = renderer.context(edition.date, cards, edition.model, generated)
    for view in ctx["cards"]:
        view["figure"] = figures.get(view["paper"].id)
    others = [code for code in _languages(edition) if code != language]
    return (
        make_env()
        .get_template("archive/edition.html.j2")
        .render(
            ctx,
            site_title=site_title(settings),
            other_languages=others,
            signup_url=settings.web.base_url,
        )
    )


def cards_in(settings: Settings, edition: Edition, language: str) -> list[Card]:
    """The edition's cards with their analysis in ``language`` where analyze wrote one
    (``ID.LANG.json``, for the papers that language's subscribers receive), else as built."""
    if language == edition.language:
        return edition.cards
    from ..stages.build import read_analysis

    paths = settings.layout.edition(edition.date)
    out = []
    for card in edition.cards:
        if paths.analysis(card.paper.id, language).is_file():
            pa = read_analysis(paths, card.paper.id, language, language)
            card = card.model_copy(update={"analysis": pa})
        out.append(card)
    return out


def read_manifest(folder: Path) -> list[Published]:
    path = folder / MANIFEST
    if not path.is_file():
        return []
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        return [Published(**item) for item in items]
    except (ValueError, TypeError) as exc:
        raise StageError(
            f"{path}: not an archive manifest ({exc}); move it away and publish again"
        ) from None


def index_page(settings: Settings, editions: list[Published]) -> str:
    """The list of every published edition, newest first."""
    language = settings.edition.language
    rows = [
        {
            "date": p.date,
            "path": edition_path(
                p.date, p.languages[0] if language not in p.languages else language
            ),
            "languages": [(code, edition_path(p.date, code)) for code in p.languages],
            "papers": labels_for(language)["count"].format(n=len(p.papers)),
            "first": truncate(p.papers[0], 90) if p.papers else "",
        }
        for p in editions
    ]
    return (
        make_env()
        .get_template("archive/index.html.j2")
        .render(
            language=language,
            L=labels_for(language),
            site_title=site_title(settings),
            editions=rows,
            signup_url=settings.web.base_url,
        )
    )


def publish(
    settings: Settings,
    edition_date: str,
    figures: dict[str, dict[str, str]] | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Write the pages of ``edition_date`` and rebuild the index and the feed; returns the
    files written."""
    paths = settings.layout.edition(edition_date)
    if not paths.edition.is_file():
        raise StageError(
            f"{paths.edition} is missing: build the edition first ('newsletter build')"
        )
    edition = read_model(paths.edition, Edition, "build")
    folder = archive_folder(settings)
    written = []
    for language in _languages(edition):
        target = folder / edition_path(edition_date, language)
        write_atomic(target, edition_page(settings, edition, language, figures or {}))
        written.append(target)
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    entry = Published(
        edition_date,
        edition.title,
        _languages(edition),
        [c.paper.title for c in edition.cards],
        when,
    )
    editions = [p for p in read_manifest(folder) if p.date != edition_date] + [entry]
    editions.sort(key=lambda p: p.date, reverse=True)
    css = (templates.bundled_dir() / "archive" / "style.css").read_text(encoding="utf-8")
    for name, content in (
        ("style.css", css),
        ("index.html", index_page(settings, editions)),
        ("feed.xml", atom_feed(settings, editions)),
        (MANIFEST, json.dumps([asdict(p) for p in editions], ensure_ascii=False, indent=1)),
    ):
        write_atomic(folder / name, content)
        written.append(folder / name)
    return written
