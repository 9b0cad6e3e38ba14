"""What every command shares: the context, the error edge, options, and small helpers.

Only light modules are imported here and by the command modules at load, so that
``newsletter --help``, ``status`` and ``subscribers list`` pull in no LLM, AWS or PDF library.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..config import Settings, load_settings
from ..dates import edition_date as resolve_date
from ..errors import ConfigError, NewsletterError
from ..logs import protect
from ..store import Store

if TYPE_CHECKING:
    from ..http import Http
    from ..subscribers import SubscriberLists

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    """The global options; settings are loaded (and checked) on first use."""

    def __init__(self, config: str | None, data_dir: str | None, verbose: int) -> None:
        self.config_path, self.data_dir_opt, self.verbose = config, data_dir, verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, data_dir=self.data_dir_opt)
            secrets = self._settings.secrets
            protect(
                *(getattr(secrets, name).get_secret_value() for name in type(secrets).model_fields)
            )
        return self._settings

    def edition_date(self, value: str | None) -> str:
        """``--date`` as given, or today in ``edition.timezone``."""
        return resolve_date(self.settings, value)

    def store(self) -> Store:
        """The SQLite store under the data folder (a StoreError names the file)."""
        return Store(self.settings.layout.store)


@contextmanager
def date_lock(ctx: Ctx, edition_date: str, command: str) -> Iterator[None]:
    """The edition date's lock for a command: it waits (saying for whom) or stops cleanly."""
    from ..locks import edition_lock

    with edition_lock(ctx.settings, edition_date, command, say):
        yield


def say(message: str) -> None:
    """A progress or warning line, on stderr."""
    click.echo(message, err=True)


def handle_errors(func: F) -> F:
    """One place that turns library errors into one clear line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NewsletterError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # The data or subscribers folder unusable (a file where a folder should be, no
            # permission, disk full): one line naming the path, not a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None

    return wrapper  # type: ignore[return-value]


def date_option(func: F) -> F:
    return click.option(
        "--date",
        "date_",
        metavar="YYYY-MM-DD",
        help="Edition date (default: today in edition.timezone).",
    )(func)


def force_option(func: F) -> F:
    return click.option("--force", is_flag=True, help="Redo this stage even if its output exists.")(
        func
    )


def http_options(func: F) -> F:
    func = click.option(
        "--replay",
        metavar="DIR",
        help="Answer every request from a recording ('sample' = the bundled day 2026-06-12).",
    )(func)
    func = click.option(
        "--record",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Save every raw response into DIR.",
    )(func)
    return func


@contextmanager
def open_http(ctx: Ctx, record: str | None, replay: str | None) -> Iterator[Http]:
    """The one HTTP client of a command (recording or replaying when asked)."""
    from ..http import make_http
    from ..recording import resolve_recording

    if record and replay:
        raise ConfigError("--record and --replay cannot be used together")
    s = ctx.settings
    http = make_http(
        timeout_s=s.http.timeout_s,
        contact=s.http.contact,
        max_bytes=s.http.max_bytes,
        retries=s.http.retries,
        max_per_host=s.http.max_per_host,
        record=Path(record) if record else None,
        replay=resolve_recording(replay) if replay else None,
        cache_dir=s.layout.cache,
    )
    try:
        yield http
    finally:
        http.close()


def read_lists(settings: Settings) -> SubscriberLists:
    """The subscriber lists, read once for the whole command, each skipped record warned of.

    A file that cannot be read at all (broken YAML, not UTF-8) raises: nobody knows who is in it.
    """
    from ..subscribers import read_lists as read

    lists = read(settings)
    for problem in lists.problems:
        say(f"warning: {problem}; skipped")
    if not lists.everyone:
        valid = "valid " if lists.problems else ""
        say(
            f"warning: {lists.folder}/: the subscriber lists hold no {valid}subscriber; nobody "
            "gets this edition"
        )
    return lists


def reader_left() -> None:
    """The reader of our output went away (``| head``): stop quietly, as Unix tools do."""
    # Python flushes stdout again at exit; pointed at /dev/null that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(0)
