"""Each source's calendar: which hours one source day spans, and when its list is complete.

- Hugging Face Daily Papers counts days in UTC: ``?date=D`` lists the papers put on the list
  during the UTC day D (each item's ``submittedOnDailyAt`` is midnight UTC of that day; the
  API also takes a full UTC timestamp there). The list for D is complete at D+1 00:00 UTC.
- arXiv announces at 20:00 US Eastern, Sunday to Thursday; each announcement is the listing of
  the next day (the RSS items of the Wednesday-evening announcement are dated Thursday 00:00
  Eastern). So listing dates are Monday to Friday, minus arXiv's holidays. The listing dated L
  holds the new submissions received between the 14:00 Eastern cutoffs of the weekdays before
  it, and the API and the RSS feed serve it from L 00:00 Eastern.
- A configured feed counts days in its own ``timezone`` (UTC unless set).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")
EASTERN = ZoneInfo("America/New_York")
# arXiv: "New submissions received by 14:00 (Eastern) are generally made available at 20:00".
ARXIV_CUTOFF = time(14, 0)
_DAY = timedelta(days=1)


def day_span(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first instant of ``day`` in ``zone`` and the first instant of the next day."""
    return datetime.combine(day, time(0), zone), datetime.combine(day + _DAY, time(0), zone)


def day_closes(day: date, zone: tzinfo) -> datetime:
    """When ``day`` is over in ``zone``: a list of that day is complete from then on."""
    return day_span(day, zone)[1]


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day ``moment`` falls on in ``zone`` (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC_ZONE)
    return aware.astimezone(zone).date()


def is_listing_day(day: date, holidays: Iterable[date] = ()) -> bool:
    """Whether arXiv has a listing dated ``day`` (Monday to Friday, not a holiday)."""
    return day.weekday() < 5 and day not in set(holidays)


def listing_ready_at(day: date) -> datetime:
    """When the listing dated ``day`` is served by the API and the RSS feed (00:00 Eastern)."""
    return datetime.combine(day, time(0), EASTERN)


def _weekday_before(day: date) -> date:
    day -= _DAY
    while day.weekday() >= 5:
        day -= _DAY
    return day


def previous_listing_day(day: date, holidays: Iterable[date] = ()) -> date:
    """The listing day before ``day``."""
    skip = set(holidays)
    day -= _DAY
    while not is_listing_day(day, skip):
        day -= _DAY
    return day


def submission_window(day: date, holidays: Iterable[date] = ()) -> tuple[datetime, datetime]:
    """The new submissions of the listing dated ``day``: [start, end) in Eastern time.

    It ends at the cutoff of the weekday before the listing (Friday 14:00 for a Monday listing)
    and starts where the previous listing's window ended; a skipped holiday listing rolls its
    submissions into the next one.
    """
    skip = set(holidays)
    end = datetime.combine(_weekday_before(day), ARXIV_CUTOFF, EASTERN)
    before = previous_listing_day(day, skip)
    start = datetime.combine(_weekday_before(before), ARXIV_CUTOFF, EASTERN)
    return start, end
