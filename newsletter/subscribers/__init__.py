"""Subscribers: the list files (``subscribers/*.yaml``, ``*.csv``; format in
subscribers/README.md), the web sign-ups and preferences, and the store's status changes,
which win over the files."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from ..models import Subscriber
from ..store import Store
from .edit import DEFAULT_FILE, add, entries, import_file, remove
from .lists import Problem, check, list_files, load, normalize_email, read_file, same_address
from .web import listing as web_listing
from .web import merge, source_of

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FILE",
    "Problem",
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


def load_subscribers(settings: Settings, store: Store | None = None) -> list[Subscriber]:
    """The active subscribers: the lists (bad records skipped) and the confirmed web sign-ups,
    with the preferences saved on the web; those who left or paused are dropped."""
    topics = set(settings.topics)
    statuses = store.statuses() if store else {}
    listed = load(subscribers_folder(settings), topics, statuses)
    return listed if store is None else merge(listed, store, topics, statuses)


def listing(settings: Settings, store: Store, show_all: bool = False) -> list[str]:
    """The lines of ``subscribers list`` (files and web, each with its source)."""
    topics = set(settings.topics)
    return web_listing(load(subscribers_folder(settings), topics), store, topics, show_all)
