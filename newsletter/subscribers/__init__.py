"""Subscribers: the list files (``subscribers/*.yaml``, ``*.csv``; format in
subscribers/README.md), the web sign-ups and preferences, and the store's status changes,
which win over the files."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from ..models import Subscriber
from ..routing import Profile, profile, profile_of
from ..store import Store
from .edit import DEFAULT_FILE, add, entries, import_file, remove
from .lists import (
    Problem,
    active,
    check,
    list_files,
    load,
    normalize_email,
    read_file,
    read_folder,
    same_address,
)
from .web import listing as web_listing
from .web import merge, source_of

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FILE",
    "Problem",
    "SubscriberLists",
    "active",
    "add",
    "check",
    "entries",
    "import_file",
    "list_files",
    "listing",
    "load",
    "load_subscribers",
    "normalize_email",
    "read_file",
    "read_lists",
    "remove",
    "same_address",
    "source_of",
    "subscribers_folder",
]


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


@dataclass
class SubscriberLists:
    """The lists as read once by a command: every valid record, and every problem.

    Also each subscriber by lower-cased address, and how many choose each topics profile
    (counted as the lists are read), so that a build learns what it needs from a million
    subscribers without going through them again.
    """

    folder: Path
    everyone: list[Subscriber]
    problems: list[Problem]
    by_address: dict[str, Subscriber] = field(default_factory=dict)
    profiles: Counter[Profile] = field(default_factory=Counter)
    longest: str = ""  # the longest address

    def active_profiles(self, store: Store | None, topics: set[str]) -> Counter[Profile]:
        """Active subscribers per profile: the lists' counts without those the store says
        left, with the web's changes (preferences, pauses, confirmed sign-ups) applied.

        Costs a lookup per status and per web change, not a pass over the lists.
        """
        counts = Counter(self.profiles)
        if store is None:
            return counts
        statuses = store.statuses()
        for email, status in statuses.items():
            sub = self.by_address.get(email.lower())
            if sub is not None and status != "active":
                counts[profile(sub)] -= 1
        changed = [
            sub
            for email in store.preferences()
            if (sub := self.by_address.get(email)) is not None
            and statuses.get(email, "active") == "active"
        ]
        for sub in changed:
            counts[profile(sub)] -= 1
        for sub in merge(changed, store, topics, statuses, listed_addresses=self.by_address):
            counts[profile(sub)] += 1
        return +counts  # profiles left with nobody dropped

    def longest_with(self, store: Store | None) -> str:
        """The longest address, confirmed web sign-ups included."""
        signups = [s.email for s in store.signups() if s.state == "confirmed"] if store else []
        return max([self.longest, *signups], key=len)


def read_lists(settings: Settings) -> SubscriberLists:
    """Read the subscriber lists (each file once); a command passes the result around."""
    folder = subscribers_folder(settings)
    everyone, problems, by_address = read_folder(folder, set(settings.topics))
    return SubscriberLists(
        folder,
        everyone,
        problems,
        by_address,
        Counter(map(profile_of, everyone)),
        max((s.email for s in everyone), key=len, default=""),
    )


def load_subscribers(
    settings: Settings, store: Store | None = None, lists: SubscriberLists | None = None
) -> list[Subscriber]:
    """The active subscribers: the lists (bad records skipped) and the confirmed web sign-ups,
    with the preferences saved on the web; those who left or paused are dropped.

    ``lists`` as the command read them; read here when not given.
    """
    lists = lists or read_lists(settings)
    if store is None:
        return list(lists.everyone)
    statuses = store.statuses()
    listed = active(lists.everyone, statuses)
    return merge(listed, store, set(settings.topics), statuses, listed_addresses=lists.by_address)


def listing(
    settings: Settings, store: Store, show_all: bool = False, lists: SubscriberLists | None = None
) -> list[str]:
    """The lines of ``subscribers list`` (files and web, each with its source)."""
    lists = lists or read_lists(settings)
    return web_listing(lists.everyone, store, set(settings.topics), show_all)
