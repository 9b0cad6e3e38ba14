"""Edition dates: what ``--date`` accepts, what it defaults to, and which source day it covers.

An edition date names one edition (its folder under ``data/editions/``, its subject line).
``edition.source_day`` says which day of the sources that edition carries:

- ``"same"`` (default): edition 2026-06-12 carries the lists of 2026-06-12;
- ``"previous"``: edition 2026-06-13 carries the lists of 2026-06-12 (named after the
  morning it is sent).

Each source reads a source day on its own calendar (``sources/calendar.py``): Hugging Face
by UTC day, arXiv by its listing date (US Eastern), a feed in its own time zone.

``--date`` defaults to the edition carrying *yesterday's* lists (yesterday in
``edition.timezone``): yesterday with ``"same"``, today with ``"previous"``. Either way a run
in the morning asks for a day that has closed everywhere (see the README's schedule).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from zoneinfo import ZoneInfo

from .config import Settings
from .errors import ConfigError

# arXiv opened in August 1991: no source lists a paper before it, and dates far before it
# only overflow date arithmetic (0001-01-01 minus a week).
EARLIEST = Date(1991, 8, 1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ONE_DAY = timedelta(days=1)


def now_utc() -> datetime:
    """The current time, aware, in UTC (the clock every readiness check is given)."""
    return datetime.now(UTC)


def local_today(settings: Settings, now: datetime | None = None) -> Date:
    """Today in the edition's time zone."""
    return (now or now_utc()).astimezone(ZoneInfo(settings.edition.timezone)).date()


def today(settings: Settings, now: datetime | None = None) -> str:
    """Today's date in the edition's time zone, as YYYY-MM-DD."""
    return local_today(settings, now).isoformat()


def default_edition_date(settings: Settings, now: datetime | None = None) -> str:
    """The edition that carries yesterday's lists (yesterday in ``edition.timezone``)."""
    current = local_today(settings, now)
    return (current - ONE_DAY if settings.edition.source_day == "same" else current).isoformat()


def source_day(settings: Settings, edition_date: str) -> Date:
    """The day of the sources an edition carries (``edition.source_day``)."""
    day = Date.fromisoformat(edition_date)
    return day if settings.edition.source_day == "same" else day - ONE_DAY


def parse_edition_date(value: str, latest: Date | None = None) -> str:
    """``value`` as a canonical YYYY-MM-DD date between EARLIEST and ``latest``.

    Anything else — empty, another format, a day that does not exist, too early or too late —
    is a ConfigError naming the option; never "today".
    """
    shown = repr(value) if not value.strip() else value
    if not _ISO_DATE.fullmatch(value):
        raise ConfigError(f"--date {shown}: expected a date as YYYY-MM-DD, e.g. 2026-06-12")
    try:
        day = Date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--date {value}: not a day of the calendar ({exc})") from None
    if day < EARLIEST:
        raise ConfigError(
            f"--date {value}: before {EARLIEST.isoformat()}; no source lists papers that early"
        )
    if latest is not None and day > latest:
        raise ConfigError(
            f"--date {value}: after {latest.isoformat()}; the lists of that day do not exist "
            "yet (no edition can be made before its day)"
        )
    return day.isoformat()


def edition_date(settings: Settings, value: str | None, now: datetime | None = None) -> str:
    """The edition date a command works on: ``--date`` if given (checked), else the default.

    At most tomorrow in ``edition.timezone``: tomorrow's edition may be waited for ("not ready"),
    a later one is a typo.
    """
    if value is None:
        return default_edition_date(settings, now)
    return parse_edition_date(value, latest=local_today(settings, now) + ONE_DAY)
