"""Each source's calendar: when a day closes, arXiv's listing days and submission windows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from newsletter.sources.calendar import (
    EASTERN,
    UTC_ZONE,
    day_closes,
    is_listing_day,
    listing_ready_at,
    local_day,
    previous_listing_day,
    submission_window,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_utc_day_closes_at_the_next_midnight_utc() -> None:
    assert day_closes(date(2026, 6, 12), UTC_ZONE) == utc(2026, 6, 13)
    # Seoul's day 2026-06-12 is over at 15:00 UTC.
    seoul = day_closes(date(2026, 6, 12), ZoneInfo("Asia/Seoul"))
    assert seoul == utc(2026, 6, 12, 15)


def test_listing_days_are_weekdays_minus_holidays() -> None:
    friday, saturday, sunday = date(2026, 6, 12), date(2026, 6, 13), date(2026, 6, 14)
    assert is_listing_day(friday) and not is_listing_day(saturday)
    assert not is_listing_day(sunday)
    assert not is_listing_day(date(2026, 12, 25), holidays=[date(2026, 12, 25)])
    assert previous_listing_day(date(2026, 6, 15)) == friday


def test_a_listing_is_served_from_midnight_eastern() -> None:
    # Summer (EDT, UTC-4) and winter (EST, UTC-5).
    assert listing_ready_at(date(2026, 6, 12)) == utc(2026, 6, 12, 4)
    assert listing_ready_at(date(2026, 12, 4)) == utc(2026, 12, 4, 5)


@pytest.mark.parametrize(
    ("listing", "start", "end"),
    [
        # Tuesday's listing (announced Monday 20:00): Friday 14:00 to Monday 14:00, EDT.
        (date(2026, 6, 16), utc(2026, 6, 12, 18), utc(2026, 6, 15, 18)),
        # Monday's (announced Sunday 20:00): Thursday 14:00 to Friday 14:00.
        (date(2026, 6, 15), utc(2026, 6, 11, 18), utc(2026, 6, 12, 18)),
        # Thursday's: Tuesday 14:00 to Wednesday 14:00; in winter 14:00 EST is 19:00 UTC.
        (date(2026, 12, 3), utc(2026, 12, 1, 19), utc(2026, 12, 2, 19)),
    ],
)
def test_submission_windows_follow_the_announcement_schedule(
    listing: date, start: datetime, end: datetime
) -> None:
    assert submission_window(listing) == (start, end)


def test_a_holiday_rolls_its_submissions_into_the_next_listing() -> None:
    thanksgiving_friday = date(2026, 11, 27)  # no announcement on Thursday evening
    start, end = submission_window(date(2026, 11, 30), holidays=[thanksgiving_friday])
    # Monday's listing then holds Wednesday 14:00 to Friday 14:00.
    assert (start, end) == (utc(2026, 11, 25, 19), utc(2026, 11, 27, 19))


def test_local_day_of_an_instant() -> None:
    # arXiv RSS dates its items at 00:00 US Eastern of the listing day.
    assert local_day(utc(2026, 9, 24, 4), EASTERN) == date(2026, 9, 24)
    assert local_day(datetime(2026, 9, 24, 3, 59), EASTERN) == date(2026, 9, 23)
