"""build: each variant rendered once and checked against the size budget.

Writes ``variants/KEY.{html,txt,json}`` (rendered into a staging folder that replaces the old
one only once every variant fits) and then ``edition.json``, last: a failed build leaves no
edition behind that a later ``send`` could trust.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..dates import today
from ..errors import StageError
from ..files import fingerprint, fresh, read_model, sha256_text, write_atomic, write_model
from ..layout import EditionPaths
from ..mail.fold import encoded_size
from ..models import Candidates, Card, Edition, PaperAnalysis, Selection, Subscriber, Variant
from ..render import RenderedVariant, Renderer
from ..render.budget import render_within
from ..routing import Group, route
from ..store import Store
from ..subscribers import list_files, load_subscribers, subscribers_folder
from . import Progress, log


def build(
    settings: Settings,
    edition_date: str,
    *,
    force: bool = False,
    store: Store | None = None,
    allow_empty: bool = False,
    progress: Progress = log.info,
) -> Edition:
    """Render each distinct variant once; check each against the size budget."""
    paths = settings.layout.edition(edition_date)
    subs = load_subscribers(settings, store)
    digest = build_fingerprint(settings, subs, allow_empty)
    current = _current(settings, paths, digest, force, progress)
    if current is not None:
        return current
    cards = edition_cards(paths)
    routing = route(cards, subs, settings.edition.language, allow_empty)
    models = {c.analysis.model for c in cards if c.analysis.model}
    model = ", ".join(sorted(models)) or None
    paths.edition.unlink(missing_ok=True)
    try:
        variants = _render_all(settings, edition_date, cards, routing.groups, model, progress)
    except BaseException:
        shutil.rmtree(paths.staging, ignore_errors=True)
        raise
    shutil.rmtree(paths.variants, ignore_errors=True)
    paths.staging.rename(paths.variants)
    edition = Edition(
        date=edition_date,
        title=settings.edition.title,
        language=settings.edition.language,
        model=model,
        cards=cards,
        variants=variants,
        built_at=datetime.now(UTC),
        fingerprint=digest,
    )
    write_model(paths.edition, edition)
    return edition


def _current(
    settings: Settings, paths: EditionPaths, digest: str, force: bool, progress: Progress
) -> Edition | None:
    """The built edition when nothing it depends on changed since, else None."""
    sub_files = list_files(subscribers_folder(settings))
    analysis_files = sorted(paths.analyses.glob("*.json")) if paths.analyses.is_dir() else []
    if force or not fresh(paths.edition, paths.selection, *analysis_files, *sub_files):
        return None
    edition = read_model(paths.edition, Edition, "build")
    problem = variant_files_problem(paths, edition)
    if edition.fingerprint == digest and problem is None:
        return edition
    progress(f"build: rebuilding ({problem or 'settings, templates or subscribers changed'})")
    return None


def edition_cards(paths: EditionPaths) -> list[Card]:
    """The selected papers with their analyses, in edition order, each contract checked."""
    selection = read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    by_id = {p.id: p for p in candidates.papers}
    cards = []
    seen: set[str] = set()
    for i, sel in enumerate(selection.papers, start=1):
        if sel.id in seen:
            raise StageError(
                f"{paths.selection}: paper {sel.id} is selected twice (rerun "
                "'newsletter select --force')"
            )
        seen.add(sel.id)
        if sel.id not in by_id:
            # candidates.json was collected again (--force) after the selection was made.
            raise StageError(
                f"{paths.selection}: paper {sel.id} is not in candidates.json "
                "(collected again since?); rerun 'newsletter select --force'"
            )
        analysis_path = paths.analysis(sel.id)
        pa = read_model(analysis_path, PaperAnalysis, "analyze")
        if pa.id != sel.id:
            raise StageError(
                f"{analysis_path}: holds the analysis of paper {pa.id}, not "
                f"{sel.id} (rerun 'newsletter analyze --force')"
            )
        cards.append(Card(paper=by_id[sel.id], selected=sel, analysis=pa, anchor=f"paper-{i}"))
    return cards


def _render_all(
    settings: Settings,
    edition_date: str,
    cards: list[Card],
    groups: dict[str, Group],
    model: str | None,
    progress: Progress,
) -> list[Variant]:
    """Every variant rendered into the staging folder; the first one over budget raises."""
    staging = settings.layout.edition(edition_date).staging
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)  # an edition with no variant has none
    e = settings.edition
    budget = e.size_budget_kb * 1000
    renderers: dict[str, Renderer] = {}
    generated = today(settings)
    variants = []
    for key, group in sorted(groups.items()):
        lang = group.language
        if lang not in renderers:
            renderers[lang] = make_renderer(settings, lang)
        wanted = set(group.paper_ids)
        picked = [c for c in cards if c.paper.id in wanted]
        fitted = render_within(
            renderers[lang],
            edition_date,
            picked,
            model=model,
            generated=generated,
            budget_bytes=budget,
            measure=encoded_size,
            policy=e.over_budget,
            name=f"variant {key} ({len(group.emails)} subscribers)",
        )
        rendered, size = fitted.rendered, fitted.size
        info = variant_record(key, group, rendered, size, fitted.cuts)
        write_atomic(staging / f"{key}.html", rendered.html)
        write_atomic(staging / f"{key}.txt", rendered.text)
        write_model(staging / f"{key}.json", info)
        variants.append(info)
        shortened = f"; shortened: {'; '.join(fitted.cuts)}" if fitted.cuts else ""
        progress(
            f"build: variant {key}: {len(picked)} papers, {len(group.emails)} subscribers, "
            f"{size / 1000:.1f} KB html as sent ({100 * size / budget:.0f}% of the "
            f"{budget / 1000:.0f} KB budget{shortened})"
        )
    return variants


def make_renderer(settings: Settings, language: str) -> Renderer:
    """The renderer of one language, as the settings configure it."""
    e = settings.edition
    return Renderer(
        language,
        e.title,
        e.toc_title_width,
        abs_url=settings.sources.arxiv.abs_url,
        web_url=e.web_base_url,
    )


def variant_record(
    key: str, group: Group, rendered: RenderedVariant, size: int, cuts: list[str] | None = None
) -> Variant:
    """What ``variants/KEY.json`` records about a rendered variant."""
    return Variant(
        key=key,
        paper_ids=group.paper_ids,
        subscribers=sorted(group.emails),
        language=group.language,
        html_bytes=size,
        text_bytes=len(rendered.text.encode("utf-8")),
        degraded=rendered.level > 0,
        shortened=cuts or [],
        unsubscribe_token=rendered.placeholders.unsubscribe,
        topics_token=rendered.placeholders.topics,
        html_sha256=sha256_text(rendered.html),
        text_sha256=sha256_text(rendered.text),
    )


def build_fingerprint(settings: Settings, subs: list[Subscriber], allow_empty: bool) -> str:
    """What a build reads besides stage files: edition settings, templates and subscribers."""
    subscribers = [(s.email, s.name, s.topics, s.exclude, s.language) for s in subs]
    return fingerprint(
        settings.edition.model_dump(),
        settings.sources.arxiv.abs_url,
        {k: v.model_dump() for k, v in settings.topics.items()},
        template_digest(),
        subscribers,
        allow_empty,
    )


@functools.cache
def template_digest() -> str:
    """A digest of the bundled templates, so an edited template makes editions stale."""
    root = Path(str(resources.files("newsletter") / "templates"))
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return fingerprint(
        [(str(p.relative_to(root)), sha256_text(p.read_text("utf-8"))) for p in files]
    )


def variant_files_problem(paths: EditionPaths, edition: Edition) -> str | None:
    """What is wrong with the built variant files, or None when all are there as built."""
    for v in edition.variants:
        for suffix, digest in (("html", v.html_sha256), ("txt", v.text_sha256)):
            path = paths.variants / f"{v.key}.{suffix}"
            if not path.is_file():
                return f"{path} is missing"
            if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return f"{path} changed since it was built"
    return None


def check_variant_files(paths: EditionPaths, edition: Edition) -> None:
    """Raise a StageError when a built variant file is missing or changed."""
    problem = variant_files_problem(paths, edition)
    if problem is not None:
        raise StageError(f"{problem}: run 'newsletter build --force'")
