"""Which subscriber gets which papers: one routing, used by build and by deliver alike.

A subscriber receives the papers whose topics meet theirs (no topics = every paper) minus
those with a topic they exclude, in their language (default: the edition's). Subscribers
receiving the same papers in the same language share one variant, keyed by those papers and
the language. Topics are always the edition language's analysis's, so a paper is routed the
same whatever language its subscriber reads.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter

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
    seen: set[Profile] = set()
    for sub in subscribers:
        if sub.language and sub.language != language and profile(sub) not in seen:
            seen.add(profile(sub))  # once per distinct topic choice, not per subscriber
            ids = out.setdefault(sub.language, [])
            ids += [pid for pid, t in topics.items() if pid not in ids and wants(sub, t)]
    order = list(topics)
    return {lang: sorted(ids, key=order.index) for lang, ids in sorted(out.items())}


def variant_key(paper_ids: list[str], language: str) -> str:
    """The name of the variant holding ``paper_ids`` in ``language``."""
    digest = hashlib.sha256(("|".join(paper_ids) + "#" + language).encode()).hexdigest()
    return f"{language}-{len(paper_ids)}p-{digest[:10]}"


# What routing depends on about a subscriber: subscribers alike in it get the same variant.
Profile = tuple[tuple[str, ...], tuple[str, ...], str | None]


# profile() at C speed, for going through a million subscribers.
profile_of = attrgetter("topics", "exclude", "language")


def profile(sub: Subscriber) -> Profile:
    return (sub.topics, sub.exclude, sub.language)


def describe(p: Profile) -> str:
    """A profile as people read it: 'llm,agents -safety (en)'; '*' = every topic."""
    topics, exclude, language = p
    text = ",".join(topics) or "*"
    if exclude:
        text += " -" + ",".join(exclude)
    return text + (f" ({language})" if language else "")


@dataclass
class Group:
    """One variant's papers (in edition order), language, subscribers and their profiles."""

    paper_ids: list[str]
    language: str
    emails: list[str] = field(default_factory=list)  # filled only when routing addresses
    profiles: dict[Profile, int] = field(default_factory=dict)  # subscribers per profile
    longest: str = ""  # the longest address (the longest unsubscribe link is its)

    @property
    def count(self) -> int:
        """How many subscribers get this variant."""
        return sum(self.profiles.values())


@dataclass
class Routing:
    """Each subscriber's variant key (None: no matching paper) and each variant's group."""

    keys: dict[str, str | None]
    groups: dict[str, Group]


_EMAIL = attrgetter("email")


def route_profiles(
    cards: list[Card],
    counts: dict[Profile, int],
    language: str,
    allow_empty: bool = False,
    longest: str = "",
) -> Routing:
    """The variants for subscribers counted per profile (what build needs), without saying
    who gets which; each group's ``longest`` is ``longest`` (the longest address of all, an
    upper bound for every variant's)."""
    groups, _ = _decide(cards, counts, language, allow_empty)
    for group in groups.values():
        group.longest = longest
    return Routing({}, groups)


def _decide(
    cards: list[Card], counts: dict[Profile, int], language: str, allow_empty: bool
) -> tuple[dict[str, Group], dict[Profile, tuple[str, Group] | None]]:
    """Each profile's variant (None: no paper for it), worked out once per profile."""
    empty_ok = allow_empty and not cards
    groups: dict[str, Group] = {}
    decided: dict[Profile, tuple[str, Group] | None] = {}
    for prof, n in counts.items():
        topics, exclude, lang = prof
        chooser = Subscriber("", "", topics, exclude, lang)
        ids = [c.paper.id for c in cards if wants(chooser, c.analysis.analysis.topics)]
        if not ids and not empty_ok:
            decided[prof] = None
            continue
        lang = lang or language
        key = variant_key(ids, lang)
        group = groups.setdefault(key, Group(ids, lang))
        group.profiles[prof] = n
        decided[prof] = (key, group)
    return groups, decided


def route(
    cards: list[Card], subscribers: list[Subscriber], language: str, allow_empty: bool = False
) -> Routing:
    """Route every subscriber; on an empty day with ``allow_empty`` everyone gets the short
    'no papers today' edition.

    The papers are worked out once per distinct profile (topics, excluded, language), so a
    million subscribers cost a few dictionary operations each.
    """
    counts = Counter(map(profile_of, subscribers))
    groups, decided = _decide(cards, counts, language, allow_empty)
    keys: dict[str, str | None] = {}
    for sub in subscribers:
        found = decided[profile_of(sub)]
        if found is None:
            keys[sub.email] = None
            continue
        key, group = found
        keys[sub.email] = key
        group.emails.append(sub.email)
        if len(sub.email) > len(group.longest):
            group.longest = sub.email
    return Routing(keys, groups)
