"""Which subscriber gets which papers: one routing, used by build and by deliver alike.

A subscriber receives the papers whose topics meet theirs (no topics = every paper) minus
those with a topic they exclude, in their language (default: the edition's). Subscribers
receiving the same papers in the same language share one variant, keyed by those papers and
the language. Topics are always the edition language's analysis's, so a paper is routed the
same whatever language its subscriber reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .models import Card, Subscriber


def wants(sub: Subscriber, paper_topics: list[str]) -> bool:
    """A subscriber receives a paper whose topics meet theirs (none = all), minus excluded."""
    if set(paper_topics) & set(sub.exclude):
        return False
    return not sub.topics or bool(set(paper_topics) & set(sub.topics))


def languages(subscribers: list[Subscriber], language: str) -> list[str]:
    """The edition's ``language``, then every other language some subscriber reads."""
    return [language, *sorted({s.language for s in subscribers if s.language} - {language})]


def papers_by_language(
    topics: dict[str, list[str]], subscribers: list[Subscriber], language: str
) -> dict[str, list[str]]:
    """For each language other than the edition's ``language`` that some subscriber reads, the
    papers (of ``topics``: paper id -> topics, in edition order) someone reading it receives."""
    out: dict[str, list[str]] = {}
    for sub in subscribers:
        if sub.language and sub.language != language:
            ids = out.setdefault(sub.language, [])
            ids += [pid for pid, t in topics.items() if pid not in ids and wants(sub, t)]
    order = list(topics)
    return {lang: sorted(ids, key=order.index) for lang, ids in sorted(out.items())}


def variant_key(paper_ids: list[str], language: str) -> str:
    """The name of the variant holding ``paper_ids`` in ``language``."""
    digest = hashlib.sha256(("|".join(paper_ids) + "#" + language).encode()).hexdigest()
    return f"{language}-{len(paper_ids)}p-{digest[:10]}"


@dataclass
class Group:
    """One variant's papers (in edition order), language and subscribers."""

    paper_ids: list[str]
    language: str
    emails: list[str] = field(default_factory=list)


@dataclass
class Routing:
    """Each subscriber's variant key (None: no matching paper) and each variant's group."""

    keys: dict[str, str | None]
    groups: dict[str, Group]


def route(
    cards: list[Card], subscribers: list[Subscriber], language: str, allow_empty: bool = False
) -> Routing:
    """Route every subscriber; on an empty day with ``allow_empty`` everyone gets the short
    'no papers today' edition."""
    keys: dict[str, str | None] = {}
    groups: dict[str, Group] = {}
    empty_ok = allow_empty and not cards
    for sub in subscribers:
        ids = [c.paper.id for c in cards if wants(sub, c.analysis.analysis.topics)]
        if not ids and not empty_ok:
            keys[sub.email] = None
            continue
        lang = sub.language or language
        key = variant_key(ids, lang)
        keys[sub.email] = key
        groups.setdefault(key, Group(ids, lang)).emails.append(sub.email)
    return Routing(keys, groups)
