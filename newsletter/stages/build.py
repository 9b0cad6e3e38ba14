"""build: each variant rendered once and checked against the size budget.

Writes ``variants/KEY.{html,txt,json}`` (rendered into a staging folder that replaces the old
one only once every variant fits) and then ``edition.json``, last: a failed build leaves no
edition behind that a later ``send`` could trust.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime

from ..config import Settings
from ..dates import today
from ..delivery.personalize import Personalizer
from ..errors import StageError
from ..files import fingerprint, fresh, read_model, sha256_text, write_atomic, write_model
from ..layout import EditionPaths
from ..mail.fold import encoded_size
from ..models import Candidates, Card, Edition, PaperAnalysis, Selection, Subscriber, Variant
from ..render import RenderedVariant, Renderer, templates
from ..render.budget import render_within
from ..render.labels import labels_for
from ..routing import Group, Routing, describe, profile, route_profiles
from ..store import Store
from ..subscribers import SubscriberLists, list_files, read_lists, subscribers_folder
from . import Progress, log


def build(
    settings: Settings,
    edition_date: str,
    *,
    force: bool = False,
    store: Store | None = None,
    allow_empty: bool = False,
    progress: Progress = log.info,
    lists: SubscriberLists | None = None,
) -> Edition:
    """Render each distinct variant once; check each against the size budget.

    ``lists``: the subscriber lists as the command read them (read here when not given).
    What the build does with them costs a dictionary lookup per subscriber; the rendering
    and its size checks depend on the distinct topic choices only.
    """
    paths = settings.layout.edition(edition_date)
    e = settings.edition
    lists = lists or read_lists(settings)
    counts = lists.active_profiles(store, set(settings.topics))
    cards = edition_cards(paths, e.language)
    routing = route_profiles(cards, counts, e.language, allow_empty, lists.longest_with(store))
    digest = build_fingerprint(settings, routing, allow_empty, edition_date)
    current = _current(settings, paths, digest, force, progress)
    if current is not None:
        return current
    localized = localized_cards(paths, cards, routing.groups, e.language)
    report_warnings(localized, progress)
    models = {c.analysis.model for lc in localized.values() for c in lc if c.analysis.model}
    model = ", ".join(sorted(models)) or None
    paths.edition.unlink(missing_ok=True)
    try:
        variants = _render_all(settings, edition_date, localized, routing.groups, model, progress)
    except BaseException:
        shutil.rmtree(paths.staging, ignore_errors=True)
        raise
    shutil.rmtree(paths.variants, ignore_errors=True)
    paths.staging.rename(paths.variants)
    edition = Edition(
        date=edition_date,
        title=e.title_for(e.language),
        language=e.language,
        titles={lang: e.title_for(lang) for lang in sorted({e.language, *localized})},
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
    figures = paths.root / "figures.json"  # written by publish: key figures for the cards
    if force or not fresh(paths.edition, paths.selection, figures, *analysis_files, *sub_files):
        return None
    edition = read_model(paths.edition, Edition, "build")
    problem = variant_files_problem(paths, edition)
    if edition.fingerprint == digest and problem is None:
        return edition
    progress(f"build: rebuilding ({problem or 'settings, templates or subscribers changed'})")
    return None


def edition_cards(paths: EditionPaths, language: str) -> list[Card]:
    """The selected papers with their analyses in the edition's ``language``, in edition
    order, each contract checked."""
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
        pa = read_analysis(paths, sel.id, language, None)
        if not sel.reasons:
            # An older selection.json: its one reason is in the edition's language.
            sel = sel.model_copy(update={"reasons": {language: sel.reason}})
        cards.append(Card(paper=by_id[sel.id], selected=sel, analysis=pa, anchor=f"paper-{i}"))
    return cards


def read_analysis(
    paths: EditionPaths, paper_id: str, language: str, suffix: str | None
) -> PaperAnalysis:
    """``analyses/ID.json`` (``suffix`` None) or ``ID.LANG.json``, checked to be that paper's
    analysis in ``language``."""
    path = paths.analysis(paper_id, suffix)
    pa = read_model(path, PaperAnalysis, "analyze")
    if pa.id != paper_id:
        raise StageError(
            f"{path}: holds the analysis of paper {pa.id}, not "
            f"{paper_id} (rerun 'newsletter analyze --force')"
        )
    if pa.language != language:
        raise StageError(
            f"{path}: holds an analysis in '{pa.language}', not '{language}' (rerun "
            "'newsletter analyze')"
        )
    return pa


def localized_cards(
    paths: EditionPaths, cards: list[Card], groups: dict[str, Group], language: str
) -> dict[str, list[Card]]:
    """The cards of each variant language: the edition's ``cards``, or the same cards with
    their analysis in another language (``ID.LANG.json``) for the papers its variants hold."""
    out = {language: cards}
    for group in groups.values():
        if group.language == language:
            continue
        have = {c.paper.id: c for c in out.setdefault(group.language, [])}
        for card in cards:
            if card.paper.id in group.paper_ids and card.paper.id not in have:
                pa = read_analysis(paths, card.paper.id, group.language, group.language)
                have[card.paper.id] = card.model_copy(update={"analysis": pa})
        order = [c.paper.id for c in cards]
        out[group.language] = sorted(have.values(), key=lambda c: order.index(c.paper.id))
    return out


def report_warnings(localized: dict[str, list[Card]], progress: Progress) -> None:
    """The check warnings of the cards, for the operator (subscribers never see them)."""
    flagged = [
        f"{c.paper.id}{'' if i == 0 else f' ({lang})'}: {len(c.analysis.warnings)}"
        for i, (lang, cards) in enumerate(localized.items())
        for c in cards
        if c.analysis.warnings
    ]
    if flagged:
        progress(
            f"build: {len(flagged)} cards have check warnings, not shown to subscribers "
            f"('newsletter status' lists them): {', '.join(flagged)}"
        )


def _render_all(
    settings: Settings,
    edition_date: str,
    localized: dict[str, list[Card]],
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
            renderers[lang] = make_renderer(settings, lang, edition_date)
        measure = html_size_as_sent(settings, edition_date, group)
        wanted = set(group.paper_ids)
        picked = [c for c in localized.get(lang, []) if c.paper.id in wanted]
        fitted = render_within(
            renderers[lang],
            edition_date,
            picked,
            model=model,
            generated=generated,
            budget_bytes=budget,
            measure=measure,
            policy=e.over_budget,
            name=f"variant {key} ({group.count} subscribers)",
        )
        rendered, size = fitted.rendered, fitted.size
        info = variant_record(key, group, rendered, size, fitted.cuts)
        write_atomic(staging / f"{key}.html", rendered.html)
        write_atomic(staging / f"{key}.txt", rendered.text)
        write_model(staging / f"{key}.json", info)
        variants.append(info)
        shortened = f"; shortened: {'; '.join(fitted.cuts)}" if fitted.cuts else ""
        progress(
            f"build: variant {key}: {len(picked)} papers, {group.count} subscribers, "
            f"{size / 1000:.1f} KB html as sent ({100 * size / budget:.0f}% of the "
            f"{budget / 1000:.0f} KB budget{shortened})"
        )
    return variants


def html_size_as_sent(
    settings: Settings, edition_date: str, group: Group
) -> Callable[[RenderedVariant], int]:
    """The HTML part's bytes on the wire in the message delivery would send the group.

    Measured on a subscriber with the group's longest address (the unsubscribe link grows
    with it) and its widest topic choice, so every subscriber's copy is at most that size;
    found from the group's topic choices, not by going through its subscribers. The bytes
    are counted (``fold.encoded_size``, equal to the real message's HTML part), not built.
    """
    language = settings.edition.language
    p = Personalizer(settings, edition_date, "-", labels_for(language)["all_topics"])
    choices = [Subscriber("", "", *prof) for prof in group.profiles] or [Subscriber("")]
    topics, exclude, lang = profile(
        max(choices, key=lambda s: len(p.topics_line(s, group.language)))
    )
    widest = Subscriber(group.longest, "", topics, exclude, lang)

    def measure(rendered: RenderedVariant) -> int:
        html = rendered.html
        for token, value in p.recipient(rendered, widest, "<m@example.com>").html_values.items():
            html = html.replace(token, value)
        return encoded_size(html)

    return measure


def make_renderer(settings: Settings, language: str, edition_date: str = "") -> Renderer:
    """The renderer of one language, as the settings configure it.

    With ``archive.base_url`` set, the "full edition" link and shortened cards point to the
    edition's archive page; with ``web.base_url``, the footer links to the preferences page.
    """
    from ..archive.paths import edition_url
    from ..archive.publish import figure_urls

    e = settings.edition
    web_url = e.web_base_url
    if settings.archive.base_url and edition_date:
        web_url = edition_url(settings.archive.base_url, edition_date, language)
    return Renderer(
        language,
        e.title_for(language),
        e.toc_title_width,
        templates_dir=templates.override_dir(e.templates_dir),
        abs_url=settings.sources.arxiv.abs_url,
        web_url=web_url,
        preferences=bool(settings.web.base_url),
        figures=figure_urls(settings, edition_date) if edition_date else {},
    )


def variant_record(
    key: str, group: Group, rendered: RenderedVariant, size: int, cuts: list[str] | None = None
) -> Variant:
    """What ``variants/KEY.json`` records about a rendered variant."""
    return Variant(
        key=key,
        paper_ids=group.paper_ids,
        subscriber_count=group.count,
        profiles={describe(p): n for p, n in sorted(group.profiles.items(), key=_by_count)},
        language=group.language,
        html_bytes=size,
        text_bytes=len(rendered.text.encode("utf-8")),
        degraded=rendered.level > 0,
        shortened=cuts or [],
        unsubscribe_token=rendered.placeholders.unsubscribe,
        topics_token=rendered.placeholders.topics,
        preferences_token=rendered.placeholders.preferences,
        html_sha256=sha256_text(rendered.html),
        text_sha256=sha256_text(rendered.text),
    )


def _by_count(item: tuple[object, int]) -> tuple[int, str]:
    return (-item[1], str(item[0]))


def build_fingerprint(
    settings: Settings, routing: Routing, allow_empty: bool, edition_date: str = ""
) -> str:
    """What a build reads besides stage files: edition, web and archive settings, templates,
    the key figures publish found, and who gets which variant (as counts per variant and topic
    choice: what the variant files record)."""
    from ..archive.publish import figure_urls

    subscribers = sorted(
        (key, describe(p), n) for key, g in routing.groups.items() for p, n in g.profiles.items()
    )
    return fingerprint(
        settings.edition.model_dump(),
        settings.web.base_url,
        settings.archive.base_url,
        figure_urls(settings, edition_date) if edition_date else {},
        settings.sources.arxiv.abs_url,
        {k: v.model_dump() for k, v in settings.topics.items()},
        templates.digest(templates.override_dir(settings.edition.templates_dir)),
        subscribers,
        [g.longest for _, g in sorted(routing.groups.items())],  # the size is measured on it
        allow_empty,
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
