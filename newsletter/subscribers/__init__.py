"""Subscribers: the list files (``subscribers/*.yaml``, ``*.csv``; format in
subscribers/README.md) and the store's status changes, which win over the files."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from ..models import Subscriber
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
    same_address,
)

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
    "load",
    "load_subscribers",
    "normalize_email",
    "read_file",
    "read_lists",
    "remove",
    "same_address",
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
    """The lists as read once by a command: every valid record, and every problem."""

    folder: Path
    everyone: list[Subscriber]
    problems: list[Problem]


def read_lists(settings: Settings) -> SubscriberLists:
    """Read the subscriber lists (each file once); a command passes the result around."""
    folder = subscribers_folder(settings)
    everyone, problems = check(folder, set(settings.topics))
    return SubscriberLists(folder, everyone, problems)


def load_subscribers(
    settings: Settings, store: Store | None = None, lists: SubscriberLists | None = None
) -> list[Subscriber]:
    """The active subscribers of the lists (bad records skipped; those who left, dropped).

    ``lists`` as the command read them; read here when not given.
    """
    lists = lists or read_lists(settings)
    return active(lists.everyone, store.statuses() if store else {})
