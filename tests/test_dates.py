"""What --date accepts and defaults to, and which source day an edition carries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from newsletter.config import Settings
from newsletter.dates import default_edition_date, edition_date, parse_edition_date, source_day
from newsletter.errors import ConfigError

# 2026-06-13 08:30 in Seoul: the evening before in UTC.
SEOUL_MORNING = datetime(2026, 6, 12, 23, 30, tzinfo=UTC)


def settings(source: str = "same", timezone: str = "Asia/Seoul") -> Settings:
    s = Settings()
    s.edition.source_day = source  # type: ignore[assignment]
    s.edition.timezone = timezone
    return s


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "--date '': expected a date as YYYY-MM-DD"),
        ("  ", "--date '  ': expected a date as YYYY-MM-DD"),
        ("today", "--date today: expected a date as YYYY-MM-DD"),
        ("2026-6-12", "--date 2026-6-12: expected a date as YYYY-MM-DD"),
        ("20260612", "--date 20260612: expected a date as YYYY-MM-DD"),
        ("2026-W24-5", "--date 2026-W24-5: expected a date as YYYY-MM-DD"),
        ("2026-02-30", "--date 2026-02-30: not a day of the calendar"),
        ("2026-13-01", "--date 2026-13-01: not a day of the calendar"),
        ("0001-01-01", "--date 0001-01-01: before 1991-08-01"),
        ("9999-12-31", "--date 9999-12-31: after 2026-06-14"),
        ("2026-06-15", "--date 2026-06-15: after 2026-06-14"),
    ],
)
def test_a_bad_date_is_one_error_never_today(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        edition_date(settings(), value, now=SEOUL_MORNING)
    message = str(caught.value)
    assert message.startswith(problem) and "\n" not in message


def test_tomorrow_is_accepted_it_may_be_waited_for() -> None:
    assert edition_date(settings(), "2026-06-14", now=SEOUL_MORNING) == "2026-06-14"
    assert parse_edition_date("1991-08-01") == "1991-08-01"


@pytest.mark.parametrize(
    ("source", "default", "carries"),
    [("same", "2026-06-12", "2026-06-12"), ("previous", "2026-06-13", "2026-06-12")],
)
def test_the_default_edition_carries_yesterdays_lists(
    source: str, default: str, carries: str
) -> None:
    s = settings(source)
    assert default_edition_date(s, now=SEOUL_MORNING) == default
    assert edition_date(s, None, now=SEOUL_MORNING) == default
    assert source_day(s, default) == date.fromisoformat(carries)


def test_yesterday_is_counted_in_the_edition_time_zone() -> None:
    # The same instant is 2026-06-13 in Seoul and 2026-06-12 in New York.
    assert default_edition_date(settings(), now=SEOUL_MORNING) == "2026-06-12"
    assert default_edition_date(settings(timezone="America/New_York"), SEOUL_MORNING) == (
        "2026-06-11"
    )
