"""deliver: plan a ledger row for every subscriber, then send what is pending.

Routing is the one build used (``routing.route``), applied to the subscribers as they are
now; a subscriber routed to a variant the build did not make means the lists changed since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..config import Settings
from ..delivery.note import NOTE_PREFIX, note_key, note_variant
from ..delivery.pacing import Retry, delivery_rate
from ..delivery.personalize import Personalizer
from ..delivery.sender import Sender
from ..delivery.summary import Summary
from ..delivery.transports import Transport
from ..errors import ConfigError, DeliveryError, HeaderInjection, StageError, TransportError
from ..files import read_model
from ..locks import edition_lock
from ..mail.headers import safe_header
from ..mail.placeholders import Placeholders
from ..models import Edition, Subscriber, Variant
from ..render import RenderedVariant
from ..render.labels import labels_for
from ..render.text import truncate
from ..routing import route
from ..store import Store
from ..subscribers import SubscriberLists, load_subscribers, normalize_email
from . import log
from .build import check_variant_files

Callback = Callable[[Summary], None]
# Of a paper's title in the subject: inbox lists show some 60-80 characters of a subject.
SUBJECT_PAPER_WIDTH = 50


def built_edition(settings: Settings, edition_date: str) -> Edition:
    """The edition as build left it (``edition.json``)."""
    return read_model(settings.layout.edition(edition_date).edition, Edition, "build")


def load_variants(settings: Settings, edition: Edition) -> dict[str, RenderedVariant]:
    """The built variants' bodies, each checked against the digest build recorded."""
    paths = settings.layout.edition(edition.date)
    check_variant_files(paths, edition)
    out = {}
    for v in edition.variants:
        try:
            html = (paths.variants / f"{v.key}.html").read_text(encoding="utf-8")
            text = (paths.variants / f"{v.key}.txt").read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise StageError(f"{exc.filename} is missing: run 'newsletter build --force'") from None
        holes = Placeholders(v.unsubscribe_token, v.topics_token, v.preferences_token)
        try:
            # The titles come from edition.json, which a hand could have edited.
            safe_header(subject(edition, v), "edition.titles")
        except HeaderInjection as exc:
            raise ConfigError(str(exc)) from None
        out[v.key] = RenderedVariant(
            html,
            text,
            holes,
            key=v.key,
            subject=subject(edition, v),
            language=v.language,
            paper_count=len(v.paper_ids),
        )
    return out


def title(edition: Edition, language: str | None = None) -> str:
    """The title a variant in ``language`` was built with (an older edition.json: its one)."""
    return edition.titles.get(language or edition.language, edition.title)


def subject(edition: Edition, variant: Variant | None = None) -> str:
    """The subject line: the title the variant was built with, so subject and body agree,
    then the variant's first paper (the 'start here' pick), which the preheader summarizes."""
    ids = variant.paper_ids if variant is not None else [c.paper.id for c in edition.cards]
    first = next((c.paper.title for c in edition.cards if ids and c.paper.id == ids[0]), "")
    # Paper data goes into a header: whitespace folded, control characters dropped.
    first = "".join(ch for ch in truncate(first, SUBJECT_PAPER_WIDTH) if ch.isprintable())
    base = f"[{edition.date}] {title(edition, variant.language if variant else None)}"
    return f"{base}: {first}" if first else base


def assignments(
    settings: Settings, edition: Edition, subs: list[Subscriber]
) -> dict[str, str | None]:
    """Each subscriber's variant key, from the built cards and their current filters.

    None = no matching paper (skipped), or the note's key with ``delivery.empty_topics_note``.
    """
    built = {v.key for v in edition.variants}
    empty_day = not edition.cards and bool(edition.variants)
    lang = {s.email: s.language or edition.language for s in subs}
    out: dict[str, str | None] = {}
    for email, key in route(edition.cards, subs, edition.language, empty_day).keys.items():
        if key is None:
            out[email] = note_key(lang[email]) if settings.delivery.empty_topics_note else None
            continue
        if key not in built:
            raise StageError(
                f"{settings.layout.edition(edition.date).edition} has no variant for "
                f"{email} (the subscriber lists changed since the build): run "
                "'newsletter build' or 'newsletter send'"
            )
        out[email] = key
    return out


def variants_for(
    settings: Settings, edition: Edition, keys: set[str]
) -> dict[str, RenderedVariant]:
    """The built variants, plus the 'nothing for your topics' notes that ``keys`` use."""
    variants = load_variants(settings, edition)
    for key in keys:
        if key.startswith(NOTE_PREFIX):
            language = key.removeprefix(NOTE_PREFIX)
            variants[key] = note_variant(
                language,
                edition.date,
                edition.titles.get(language) or settings.edition.title_for(language),
                len(edition.cards),
            )
    return variants


def make_personalizer(settings: Settings, edition: Edition) -> Personalizer:
    """The per-recipient filler for an edition (subject, labels, unsubscribe links)."""
    return Personalizer(
        settings, edition.date, subject(edition), labels_for(edition.language)["all_topics"]
    )  # a variant in another language brings its own subject and labels


def plan(store: Store, edition_date: str, keys: dict[str, str | None]) -> int:
    """Ledger rows for every subscriber: pending with a variant, or skipped (no papers)."""
    rows = [
        (email, key or "", "pending" if key else "skipped") for email, key in sorted(keys.items())
    ]
    return store.plan(edition_date, rows)


def deliver(
    settings: Settings,
    edition_date: str,
    *,
    store: Store,
    transport: Transport,
    limit: int | None = None,
    retry_unknown: bool = False,
    retry_failed: bool = False,
    on_progress: Callback | None = None,
    on_start: Callback | None = None,
    lists: SubscriberLists | None = None,
) -> Summary:
    """Plan ledger rows for every subscriber, then send what is pending."""
    edition = built_edition(settings, edition_date)
    active = load_subscribers(settings, store, lists)
    subs = {s.email: s for s in active}
    keys = assignments(settings, edition, active)
    variants = variants_for(settings, edition, {k for k in keys.values() if k})
    plan(store, edition_date, keys)
    left = store.drop_pending(edition_date, set(subs), "no longer an active subscriber")
    if left:
        log.info("%d pending deliveries skipped: no longer active subscribers", left)
    if retry_unknown and (released := store.release_unknown(edition_date)):
        log.warning("retrying %d deliveries whose outcome was unknown", released)
    if retry_failed and (released := store.release_failed(edition_date)):
        log.warning("retrying %d failed deliveries", released)
    d = settings.delivery
    sender = Sender(
        store=store,
        transport=transport,
        edition_date=edition_date,
        variants=variants,
        subscribers=subs,
        personalizer=make_personalizer(settings, edition),
        rate_per_s=delivery_rate(d.rate_per_s, transport),
        concurrency=d.concurrency,
        retry=Retry(max_attempts=d.max_attempts, backoff_s=d.retry_backoff_s),
        on_progress=on_progress,
    )
    return sender.run(limit=limit, on_start=on_start)


def deliver_locked(settings: Settings, edition_date: str, **kwargs: object) -> Summary:
    """``deliver`` while holding the edition date's lock (what ``send`` uses)."""
    with edition_lock(settings, edition_date, "send", log.warning):
        return deliver(settings, edition_date, **kwargs)  # type: ignore[arg-type]


def delivery_plan(
    settings: Settings, edition_date: str, store: Store, lists: SubscriberLists | None = None
) -> Iterator[tuple[str, str | None, int, str]]:
    """(email, variant key, papers, ledger state or 'new') per active subscriber, by address;
    sends nothing."""
    edition = built_edition(settings, edition_date)
    keys = assignments(settings, edition, load_subscribers(settings, store, lists))
    papers = {v.key: len(v.paper_ids) for v in edition.variants}
    states = store.states(edition_date)
    for email in sorted(keys):
        key = keys[email]
        yield email, key, papers.get(key or "", 0), states.get(email, "new")


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
    edition = built_edition(settings, edition_date)
    try:
        email = normalize_email(to)
    except ValueError as exc:
        raise ConfigError(f"--to {to!r}: {exc}") from None
    notes = {note_key("ko"), note_key("en")}
    variants = variants_for(settings, edition, {variant} & notes if variant else set())
    if not variants:
        raise StageError(f"{settings.layout.edition(edition_date).edition} has no variants")
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
        tags = {"date": edition_date, "variant": "test"}
        mid = transport.send(raw, settings.delivery.from_, email, tags)
    except (HeaderInjection, TransportError) as exc:
        raise DeliveryError(f"test message to {email} failed: {exc}") from None
    return key, mid or msg_id
