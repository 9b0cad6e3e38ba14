"""The list files joined with what the web changed: confirmed sign-ups and preferences.

A change made on the web wins over the file for that address (topics, language, pause);
the files themselves are never written. A pending sign-up is nobody's subscriber yet.
"""

from __future__ import annotations

import logging
from collections.abc import Container
from dataclasses import replace

from ..models import Subscriber
from ..store import Preferences, Store

log = logging.getLogger(__name__)

WEB = "web"


def source_of(sub: Subscriber) -> str:
    """Where a subscriber comes from: ``web``, or the file and line (``+web`` when the web
    changed their preferences)."""
    return sub.origin or "file"


def _apply(sub: Subscriber, prefs: Preferences, topics: set[str]) -> Subscriber:
    unknown = sorted(set(prefs.topics + prefs.exclude) - topics)
    if unknown:
        log.warning("%s: saved topics no longer configured, ignored: %s", sub.email, unknown)
    origin = WEB if sub.origin == WEB else f"{sub.origin} +web"
    return replace(
        sub,
        topics=tuple(t for t in prefs.topics if t in topics),
        exclude=tuple(t for t in prefs.exclude if t in topics),
        language=prefs.language,
        origin=origin,
    )


def merge(
    listed: list[Subscriber],
    store: Store,
    topics: set[str],
    statuses: dict[str, str],
    include_paused: bool = False,
    listed_addresses: Container[str] | None = None,
) -> list[Subscriber]:
    """The file subscribers with their web preferences, then the confirmed web sign-ups.

    Those who paused are left out unless ``include_paused``; ``statuses`` (unsubscribed,
    bounced, complained) drop web sign-ups as they drop file records. A sign-up whose
    (lower-cased) address is a file's is that file's subscriber: ``listed_addresses`` holds
    every listed address when the caller has them (else those of ``listed`` are used).
    """
    prefs = store.preferences()
    out: list[Subscriber] = []
    for sub in listed if prefs else ():
        saved = prefs.get(sub.email.lower())
        if saved is None:
            out.append(sub)
        elif include_paused or not saved.paused:
            out.append(_apply(sub, saved, topics))
    if not prefs:
        out = list(listed)  # a million file subscribers and nobody changed anything on the web
    confirmed = [s for s in store.signups() if s.state == "confirmed"]
    if confirmed and listed_addresses is None:
        listed_addresses = {sub.email.lower() for sub in listed}
    for signup in confirmed:
        key = signup.email
        if key in (listed_addresses or ()) or statuses.get(key, "active") != "active":
            continue
        saved = prefs.get(key)
        sub = Subscriber(email=key, origin=WEB)
        if saved is None:
            out.append(sub)
        elif include_paused or not saved.paused:
            out.append(_apply(sub, saved, topics))
    return out


def paused(store: Store) -> set[str]:
    """The addresses that paused their subscription on the preferences page."""
    return {email for email, p in store.preferences().items() if p.paused}


def listing(listed: list[Subscriber], store: Store, topics: set[str], show_all: bool) -> list[str]:
    """``subscribers list``: one tab-separated line per subscriber, with their source; with
    ``show_all`` also those who left, paused or have not confirmed, with that state."""
    statuses = store.statuses()
    if show_all:
        everyone = merge(listed, store, topics, {}, include_paused=True)
    else:
        active = [s for s in listed if statuses.get(s.email.lower(), "active") == "active"]
        everyone = merge(active, store, topics, statuses)
    stopped = paused(store)
    lines = []
    for sub in everyone:
        state = statuses.get(sub.email.lower(), "active")
        if state == "active" and sub.email.lower() in stopped:
            state = "paused"
        excluded = ("\t-" + ",".join(sub.exclude)) if sub.exclude else ""
        language = ("\t" + sub.language) if sub.language else ""
        tail = f"\t[{state}]" if show_all and state != "active" else ""
        lines.append(
            f"{sub.email}\t{sub.name}\t{','.join(sub.topics) or '*'}{excluded}{language}"
            f"\t{source_of(sub)}{tail}"
        )
    if show_all:
        lines += [
            f"{s.email}\t\t\t{WEB}\t[pending since {s.requested_at[:10]}]"
            for s in store.signups()
            if s.state == "pending"
        ]
    return lines
