"""Edition dates: what ``--date`` accepts and what it defaults to."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime
from zoneinfo import ZoneInfo

from .config import Settings
from .errors import ConfigError


def today(settings: Settings) -> str:
    """Today's date in the edition's timezone."""
    return datetime.now(ZoneInfo(settings.edition.timezone)).date().isoformat()


def parse_edition_date(value: str) -> str:
    """``value`` as a canonical YYYY-MM-DD date; ConfigError naming the option otherwise."""
    try:
        return Date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"--date {value!r}: expected YYYY-MM-DD") from None


def edition_date(settings: Settings, value: str | None) -> str:
    """The edition date a command works on: ``--date`` if given, else today."""
    return parse_edition_date(value) if value else today(settings)
