"""The stages and their file contracts, under ``DATA/editions/DATE/``.

collect -> candidates.json; select -> selection.json; analyze -> analyses/ID.json;
build -> edition.json + variants/KEY.{html,txt,json}; deliver -> ledger rows + transport.
Each stage is idempotent: it reruns when its output is missing or older than its inputs,
or when forced. Files are written atomically so a crash never leaves a half-written artifact.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from . import subscribers as subscriber_files
from .analysis import recommend
from .analysis.offline import analyze_offline
from .config import Settings
from .delivery import Personalizer, Retry, Summary, VariantMessage, delivery_rate, plan, run
from .delivery.message import encoded_size
from .delivery.transports import Transport
from .errors import ConfigError, StageError
from .http import Http
from .models import (
    Candidates,
    Card,
    Edition,
    PaperAnalysis,
    Selection,
    Subscriber,
    VariantInfo,
)
from .render import Renderer
from .render.budget import render_within
from .sources import collect_papers
from .stagefiles import (
    Paths,
    fingerprint,
    fresh,
    read_model,
    sha256_text,
    write_atomic,
    write_model,
)
from .store import Store

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def today(settings: Settings) -> str:
    """Today's date in the edition's timezone."""
    return datetime.now(ZoneInfo(settings.edition.timezone)).date().isoformat()


def check_date(value: str) -> str:
    try:
        return Date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"--date {value!r}: expected YYYY-MM-DD") from None


# -- collect ---------------------------------------------------------------------------------


def collect(
    settings: Settings,
    edition_date: str,
    http: Http,
    *,
    force: bool = False,
    progress: Progress = log.info,
) -> Candidates:
    """Every candidate of the day into ``candidates.json``; an existing non-empty one is kept.

    An empty one is collected again: the list may not have been published at the last run.
    """
    paths = Paths.of(settings, edition_date)
    if not force and paths.candidates.exists():
        existing = read_model(paths.candidates, Candidates, "collect")
        if existing.papers:
            return existing
    papers, warnings = collect_papers(settings, http, edition_date, progress)
    candidates = Candidates(
        date=edition_date, collected_at=datetime.now(UTC), papers=papers, warnings=warnings
    )
    write_model(paths.candidates, candidates)
    for warning in warnings:
        progress(f"warning: {warning}")
    more = f" ({len(warnings)} warnings, kept in the file)" if warnings else ""
    progress(f"collect: {len(papers)} candidates -> {paths.candidates}{more}")
    return candidates


# -- select ----------------------------------------------------------------------------------


def recently_delivered(
    settings: Settings, edition_date: str, store: Store | None = None
) -> set[str]:
    """Paper ids already sent in the editions of the last ``dedupe_days`` days before this one.

    With the ledger at hand a paper counts once a variant holding it was sent to someone; an
    edition that was only built or previewed does not hold its papers back. Without a ledger,
    every paper selected in those editions counts.
    """
    days = settings.edition.dedupe_days
    day = Date.fromisoformat(edition_date)
    seen: set[str] = set()
    for back in range(1, days + 1):
        earlier = (day - timedelta(days=back)).isoformat()
        paths = Paths.of(settings, earlier)
        try:
            if store is not None:
                sent = {row.variant for row in store.rows(earlier, "sent")}
                if not sent:
                    continue
                if paths.edition.is_file():
                    edition = Edition.model_validate_json(paths.edition.read_bytes())
                    seen |= {pid for v in edition.variants if v.key in sent for pid in v.paper_ids}
                    continue
            if paths.selection.is_file():
                selection = Selection.model_validate_json(paths.selection.read_bytes())
                seen |= {s.id for s in selection.papers}
        except ValidationError:
            log.warning("%s is not a valid stage file; ignored for dedupe", paths.root)
    return seen


def select(
    settings: Settings,
    edition_date: str,
    *,
    force: bool = False,
    recommender: Any = None,
    store: Store | None = None,
    progress: Progress = log.info,
) -> Selection:
    """Top N by upvotes, then M recommended (by the LLM when one is given, else heuristic)."""
    paths = Paths.of(settings, edition_date)
    if not force and fresh(paths.selection, paths.candidates):
        return read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    excluded = recently_delivered(settings, edition_date, store)
    pool = [p for p in candidates.papers if p.id not in excluded]
    if excluded & {p.id for p in candidates.papers}:
        progress(
            f"select: {len(candidates.papers) - len(pool)} papers left out, already "
            f"sent in the last {settings.edition.dedupe_days} days"
        )
    ranked = recommend.ranked(pool, settings.edition.ranked, settings.edition.language)
    m = settings.edition.recommended
    if recommender is not None:
        picks = recommender.recommend(pool, ranked, m)
        # The recommender falls back to the heuristic when the endpoint is unavailable.
        method = getattr(recommender, "method", "llm")
        model = getattr(recommender, "model", None) if method == "llm" else None
        for warning in getattr(recommender, "warnings", []):
            progress(f"select: warning: {warning}")
        usage, cost = getattr(recommender, "usage_record", lambda: ({}, None))()
    else:
        picks = recommend.heuristic(pool, ranked, m, settings.topics, settings.edition.language)
        method, model = "heuristic", None
        usage, cost = {}, None
    selection = Selection(
        date=edition_date,
        method=method,
        model=model,
        papers=ranked + picks,
        usage=usage,
        cost_usd=cost,
    )
    write_model(paths.selection, selection)
    progress(f"select: {len(ranked)} ranked + {len(picks)} recommended ({method})")
    return selection


# -- analyze ---------------------------------------------------------------------------------


def analyze(
    settings: Settings,
    edition_date: str,
    *,
    force: bool = False,
    analyzer: Any = None,
    progress: Progress = log.info,
) -> list[PaperAnalysis]:
    """One ``analyses/ID.json`` per selected paper; existing ones are kept unless forced."""
    paths = Paths.of(settings, edition_date)
    selection = read_model(paths.selection, Selection, "select")
    candidates = read_model(paths.candidates, Candidates, "collect")
    by_id = {p.id: p for p in candidates.papers}
    results: list[PaperAnalysis] = []
    todo = []
    for sel in selection.papers:
        path = paths.analyses / f"{sel.id}.json"
        kept = (
            read_model(path, PaperAnalysis, "analyze")
            if (not force and fresh(path, paths.selection))
            else None
        )
        # With an LLM configured, an abstract card (made offline, or after the LLM failed) is
        # redone; the LLM cache makes a card whose answers were unusable cost nothing again.
        if kept is not None and not (analyzer is not None and kept.analyzer == "offline"):
            results.append(kept)
        elif sel.id not in by_id:
            raise StageError(f"{paths.selection}: paper {sel.id} is not in candidates.json")
        else:
            todo.append(by_id[sel.id])

    def keep(item: PaperAnalysis) -> None:
        write_model(paths.analyses / f"{item.id}.json", item)

    if analyzer is not None and todo:
        done = analyzer.analyze_many(todo, progress=progress, on_result=keep)
    else:
        done = [analyze_offline(p, settings.topics, settings.edition.language) for p in todo]
        for item in done:
            keep(item)
    results += done
    if todo:
        progress(
            f"analyze: {len(done)} analysed, {len(results) - len(done)} kept "
            f"({'llm' if analyzer else 'offline, abstract only'})"
        )
    order = {s.id: i for i, s in enumerate(selection.papers)}
    return sorted(results, key=lambda a: order[a.id])


# -- build -----------------------------------------------------------------------------------


def variant_key(paper_ids: list[str], language: str) -> str:
    digest = hashlib.sha256(("|".join(paper_ids) + "#" + language).encode()).hexdigest()
    return f"{language}-{len(paper_ids)}p-{digest[:10]}"


def assign(
    cards: list[Card], subscribers: list[Subscriber], language: str, allow_empty: bool = False
) -> dict[str, tuple[list[str], str] | None]:
    """Each subscriber's papers (in edition order) and language; None when nothing matches.

    On an empty day with ``allow_empty`` everyone gets the short 'no papers today' edition.
    """
    out: dict[str, tuple[list[str], str] | None] = {}
    for sub in subscribers:
        ids = [c.paper.id for c in cards if subscriber_files.wants(sub, c.analysis.analysis.topics)]
        empty_ok = allow_empty and not cards
        out[sub.email] = (ids, sub.language or language) if ids or empty_ok else None
    return out


def subscribers_folder(settings: Settings) -> Path:
    """The configured folder; with the default unset and absent, the bundled example list."""
    folder = settings.subscribers_dir
    if not folder.is_dir() and "subscribers_dir" not in settings.storage.model_fields_set:
        bundled = Path(str(resources.files("newsletter") / "samples" / "subscribers"))
        log.info("no %s/ folder here: using the bundled example list", folder)
        return bundled
    if not folder.is_dir():
        # A configured folder that is not there (a typo, an unmounted volume) would otherwise
        # build and send to nobody and report success.
        where = f" ({settings.source_path})" if settings.source_path else ""
        raise ConfigError(
            f"storage.subscribers_dir{where}: {folder} is not a folder; create "
            "it or fix the setting"
        )
    return folder


def load_subscribers(settings: Settings, store: Store | None = None) -> list[Subscriber]:
    topics = set(settings.topics)
    statuses = store.statuses() if store else {}
    return subscriber_files.load(subscribers_folder(settings), topics, statuses)


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
    paths = Paths.of(settings, edition_date)
    sub_files = subscriber_files.list_files(subscribers_folder(settings))
    analysis_files = sorted(paths.analyses.glob("*.json")) if paths.analyses.is_dir() else []
    subs = load_subscribers(settings, store)
    digest = build_fingerprint(settings, subs, allow_empty)
    if not force and fresh(paths.edition, paths.selection, *analysis_files, *sub_files):
        edition = read_model(paths.edition, Edition, "build")
        problem = variant_files_problem(paths, edition)
        if edition.fingerprint == digest and problem is None:
            return edition
        progress(f"build: rebuilding ({problem or 'settings, templates or readers changed'})")
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
        analysis_path = paths.analyses / f"{sel.id}.json"
        pa = read_model(analysis_path, PaperAnalysis, "analyze")
        if pa.id != sel.id:
            raise StageError(
                f"{analysis_path}: holds the analysis of paper {pa.id}, not "
                f"{sel.id} (rerun 'newsletter analyze --force')"
            )
        cards.append(Card(paper=by_id[sel.id], selected=sel, analysis=pa, anchor=f"paper-{i}"))
    assignments = assign(cards, subs, settings.edition.language, allow_empty)
    groups: dict[str, tuple[list[str], str, list[str]]] = {}
    for email, got in assignments.items():
        if got is None:
            continue
        ids, lang = got
        key = variant_key(ids, lang)
        groups.setdefault(key, (ids, lang, []))[2].append(email)
    models = {c.analysis.model for c in cards if c.analysis.model}
    model = ", ".join(sorted(models)) or None
    generated = today(settings)
    renderers: dict[str, Renderer] = {}
    variants: list[VariantInfo] = []
    # Variants are rendered into a fresh folder that replaces the old one only once all of
    # them fit, and edition.json is written last: a failed build leaves no edition behind
    # that a later 'send' could trust.
    paths.edition.unlink(missing_ok=True)
    staging = paths.root / ".variants.new"
    shutil.rmtree(staging, ignore_errors=True)
    budget = settings.edition.size_budget_kb * 1000
    for key, (ids, lang, emails) in sorted(groups.items()):
        renderer = renderers.get(lang) or renderers.setdefault(
            lang,
            Renderer(
                lang,
                settings.edition.title,
                settings.edition.toc_title_width,
                abs_url=settings.sources.arxiv.abs_url,
                web_url=settings.edition.web_base_url,
            ),
        )
        picked = [c for c in cards if c.paper.id in set(ids)]
        rendered, size = render_within(
            renderer,
            edition_date,
            picked,
            model=model,
            generated=generated,
            budget_bytes=budget,
            measure=encoded_size,
            policy=settings.edition.over_budget,
            name=f"variant {key} ({len(emails)} subscribers)",
        )
        info = VariantInfo(
            key=key,
            paper_ids=ids,
            subscribers=sorted(emails),
            language=lang,
            html_bytes=size,
            text_bytes=len(rendered.text.encode("utf-8")),
            degraded=rendered.level > 0,
            unsubscribe_token=rendered.unsubscribe_token,
            topics_token=rendered.topics_token,
            html_sha256=sha256_text(rendered.html),
            text_sha256=sha256_text(rendered.text),
        )
        write_atomic(staging / f"{key}.html", rendered.html)
        write_atomic(staging / f"{key}.txt", rendered.text)
        write_model(staging / f"{key}.json", info)
        variants.append(info)
        shortened = f", shortened to level {rendered.level}" if rendered.level else ""
        progress(
            f"build: variant {key}: {len(picked)} papers, {len(emails)} subscribers, "
            f"{size / 1000:.1f} KB html as sent ({100 * size / budget:.0f}% of the "
            f"{budget / 1000:.0f} KB budget{shortened})"
        )
    staging.mkdir(parents=True, exist_ok=True)  # an edition with no variant has none
    shutil.rmtree(paths.variants, ignore_errors=True)
    staging.rename(paths.variants)
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


def build_fingerprint(settings: Settings, subs: list[Subscriber], allow_empty: bool) -> str:
    """What a build reads besides stage files: edition settings, templates and readers."""
    readers = [(s.email, s.name, s.topics, s.exclude, s.language) for s in subs]
    return fingerprint(
        settings.edition.model_dump(),
        settings.sources.arxiv.abs_url,
        {k: v.model_dump() for k, v in settings.topics.items()},
        template_digest(),
        readers,
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


def variant_files_problem(paths: Paths, edition: Edition) -> str | None:
    """What is wrong with the built variant files, or None when all are there as built."""
    for v in edition.variants:
        for suffix, digest in (("html", v.html_sha256), ("txt", v.text_sha256)):
            path = paths.variants / f"{v.key}.{suffix}"
            if not path.is_file():
                return f"{path} is missing"
            if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return f"{path} changed since it was built"
    return None


def check_variant_files(paths: Paths, edition: Edition) -> None:
    """Raise a StageError when a built variant file is missing or changed."""
    problem = variant_files_problem(paths, edition)
    if problem is not None:
        raise StageError(f"{problem}: run 'newsletter build --force'")


# -- send: every stage that is missing ------------------------------------------------------


def prepare(
    settings: Settings,
    edition_date: str,
    *,
    http: Http,
    store: Store,
    force: bool = False,
    allow_empty: bool = False,
    analyzer: Any = None,
    recommender: Any = None,
    progress: Progress = log.info,
) -> Edition | None:
    """The edition to deliver, running the stages that are missing or stale.

    None on a day with no papers (unless ``allow_empty``). Once any reader of the date has
    been sent the edition, it is delivered as built to the rest: rebuilding it then would
    send different readers different editions of the same day.
    """
    counts = store.counts(edition_date)
    started = counts["sent"] + counts["sending"] + counts["failed"]
    paths = Paths.of(settings, edition_date)
    if started:
        if force:
            raise StageError(
                f"the {edition_date} edition was already sent to {counts['sent']} readers; "
                "--force would send the others a different edition. To rebuild it anyway, "
                f"run 'newsletter build --date {edition_date} --force', then send"
            )
        edition = read_model(paths.edition, Edition, "build")
        check_variant_files(paths, edition)
        return edition
    candidates = collect(settings, edition_date, http, force=force, progress=progress)
    if not candidates.papers and not allow_empty:
        return None
    select(
        settings, edition_date, force=force, recommender=recommender, store=store, progress=progress
    )
    analyze(settings, edition_date, force=force, analyzer=analyzer, progress=progress)
    return build(
        settings, edition_date, force=force, store=store, allow_empty=allow_empty, progress=progress
    )


# -- deliver ---------------------------------------------------------------------------------


def load_variants(settings: Settings, edition: Edition) -> dict[str, VariantMessage]:
    paths = Paths.of(settings, edition.date)
    check_variant_files(paths, edition)
    out = {}
    for info in edition.variants:
        try:
            html = (paths.variants / f"{info.key}.html").read_text(encoding="utf-8")
            text = (paths.variants / f"{info.key}.txt").read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise StageError(f"{exc.filename} is missing: run 'newsletter build --force'") from None
        out[info.key] = VariantMessage(
            info.key, html, text, info.unsubscribe_token, info.topics_token, len(info.paper_ids)
        )
    return out


def subject(settings: Settings, edition: Edition) -> str:
    # The title the edition was built with, so subject and body always agree.
    return f"[{edition.date}] {edition.title}"


def delivery_assignments(
    settings: Settings, edition: Edition, subs: list[Subscriber]
) -> dict[str, str | None]:
    """Each subscriber's variant key, from the built cards and their current filters.

    None = no matching paper (skipped), or the note's key with ``delivery.empty_topics_note``.
    """
    from .delivery.note import note_key

    built = {v.key for v in edition.variants}
    empty_day = not edition.cards and bool(edition.variants)
    lang = {s.email: s.language or edition.language for s in subs}
    out: dict[str, str | None] = {}
    for email, got in assign(edition.cards, subs, edition.language, empty_day).items():
        if got is None:
            out[email] = note_key(lang[email]) if settings.delivery.empty_topics_note else None
            continue
        key = variant_key(*got)
        if key not in built:
            raise StageError(
                f"{Paths.of(settings, edition.date).edition} has no variant for "
                f"{email} (the subscriber lists changed since the build): run "
                "'newsletter build' or 'newsletter send'"
            )
        out[email] = key
    return out


def delivery_variants(
    settings: Settings, edition: Edition, keys: set[str]
) -> dict[str, VariantMessage]:
    """The built variants, plus the 'nothing for your topics' notes that ``keys`` use."""
    from .delivery.note import NOTE_PREFIX, note_variant

    variants = load_variants(settings, edition)
    for key in keys:
        if key.startswith(NOTE_PREFIX):
            variants[key] = note_variant(
                key.removeprefix(NOTE_PREFIX),
                edition.date,
                settings.edition.title,
                len(edition.cards),
            )
    return variants


def make_personalizer(settings: Settings, edition: Edition) -> Personalizer:
    """The per-recipient filler for an edition (subject, labels, unsubscribe links)."""
    from .render.labels import labels_for

    return Personalizer(
        settings,
        edition.date,
        subject(settings, edition),
        labels_for(edition.language)["all_topics"],
    )


def deliver(
    settings: Settings,
    edition_date: str,
    *,
    store: Store,
    transport: Transport,
    limit: int | None = None,
    retry_unknown: bool = False,
    retry_failed: bool = False,
    on_progress: Callable[[Summary], None] | None = None,
    on_start: Callable[[Summary], None] | None = None,
) -> Summary:
    """Plan ledger rows for every subscriber, then send what is pending."""
    edition = read_model(Paths.of(settings, edition_date).edition, Edition, "build")
    active = load_subscribers(settings, store)
    subs = {s.email: s for s in active}
    assignments = delivery_assignments(settings, edition, active)
    variants = delivery_variants(settings, edition, {k for k in assignments.values() if k})
    plan(store, edition_date, assignments)
    left = store.drop_pending(edition_date, set(subs), "no longer an active subscriber")
    if left:
        log.info("%d pending deliveries skipped: no longer active subscribers", left)
    if retry_unknown:
        released = store.release_unknown(edition_date)
        if released:
            log.warning("retrying %d deliveries whose outcome was unknown", released)
    if retry_failed:
        released = store.release_failed(edition_date)
        if released:
            log.warning("retrying %d failed deliveries", released)
    d = settings.delivery
    return run(
        store=store,
        transport=transport,
        edition_date=edition_date,
        variants=variants,
        subscribers=subs,
        personalizer=make_personalizer(settings, edition),
        rate_per_s=delivery_rate(d.rate_per_s, transport),
        concurrency=d.concurrency,
        limit=limit,
        retry=Retry(max_attempts=d.max_attempts, backoff_s=d.retry_backoff_s),
        on_progress=on_progress,
        on_start=on_start,
    )


def deliver_locked(settings: Settings, edition_date: str, **kwargs: Any) -> Summary:
    """``deliver`` while holding the edition date's run lock (what ``send`` uses)."""
    from .delivery import run_lock

    with run_lock(settings.data_dir / "locks", edition_date):
        return deliver(settings, edition_date, **kwargs)


def delivery_preview(
    settings: Settings, edition_date: str, store: Store
) -> list[tuple[str, str | None, int, str]]:
    """(email, variant key, papers, ledger state or 'new') per active subscriber; sends nothing."""
    edition = read_model(Paths.of(settings, edition_date).edition, Edition, "build")
    active = load_subscribers(settings, store)
    assignments = delivery_assignments(settings, edition, active)
    papers = {v.key: len(v.paper_ids) for v in edition.variants}
    states = {r.email: r.state for r in store.rows(edition_date)}
    return [
        (email, key, papers.get(key or "", 0), states.get(email, "new"))
        for email, key in sorted(assignments.items())
    ]


def send_test(
    settings: Settings,
    edition_date: str,
    *,
    transport: Transport,
    to: str,
    variant: str | None = None,
) -> tuple[str, str]:
    """Send one '[TEST]' message of a variant to ``to``; not recorded in the ledger.

    Returns (variant key, transport message id). Without ``variant`` the one with the most
    papers is used.
    """
    from .delivery.message import HeaderInjection
    from .delivery.transports import TransportError
    from .errors import DeliveryError

    edition = read_model(Paths.of(settings, edition_date).edition, Edition, "build")
    try:
        email = subscriber_files.normalize_email(to)
    except ValueError as exc:
        raise ConfigError(f"--to {to!r}: {exc}") from None
    variants = delivery_variants(settings, edition, {variant} if variant else set())
    if not variants:
        raise StageError(f"{Paths.of(settings, edition_date).edition} has no variants")
    key = variant or max(edition.variants, key=lambda v: len(v.paper_ids)).key
    if key not in variants:
        raise ConfigError(
            f"--variant {key!r}: not a variant of {edition_date} (known: "
            f"{', '.join(sorted(variants))}, note-ko, note-en)"
        )
    info = next((v for v in edition.variants if v.key == key), None)
    sub = Subscriber(email=email, language=info.language if info else None)
    try:
        raw, msg_id = make_personalizer(settings, edition).message(variants[key], sub, test=True)
        mid = transport.send(
            raw, settings.delivery.from_, email, {"date": edition_date, "variant": "test"}
        )
    except (HeaderInjection, TransportError) as exc:
        raise DeliveryError(f"test message to {email} failed: {exc}") from None
    return key, mid or msg_id


def open_store(settings: Settings) -> Store:
    """The ledger under the data folder (Store raises StoreError naming the file)."""
    return Store(settings.data_dir / "newsletter.db")
