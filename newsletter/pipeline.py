"""The stage list, and what ``send`` means: prepare the edition, deliver it, judge the run.

``STAGES`` is the order of the stages before delivery, as data; ``prepare`` runs the ones
whose output is missing or stale and returns ``Prepared``; ``deliver_edition`` delivers and
returns a ``SendReport``. Their ``exit_code`` is what a scheduler sees:

- 0: done, or nothing to do (an empty day: its lists closed with no paper);
- 1: something failed or needs a decision (a stage; a row of the date failed or left
  unknown, by this run or an earlier one; a subscriber record skipped; the date's lock held
  by another command for longer than ``storage.lock_wait_s``);
- 75 (``EX_TEMPFAIL``, sysexits.h): a source's list of the day has not closed yet; nothing
  was written. Run again after the time the message names (a scheduler retries on 75).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .analysis import Analyzer, Recommender
from .config import Settings
from .dates import now_utc, source_day
from .delivery.summary import Summary
from .delivery.transports import Transport
from .errors import StageError
from .files import read_model
from .http import Http
from .locks import edition_lock
from .models import Candidates, Edition
from .sources import NotReady
from .stages import Progress
from .stages.analyze import analyze
from .stages.build import build, check_variant_files
from .stages.collect import collect
from .stages.deliver import Callback, deliver_locked
from .stages.select import select
from .store import Store
from .subscribers import SubscriberLists

log = logging.getLogger(__name__)

EX_OK = 0
EX_FAILED = 1
EX_TEMPFAIL = 75  # sysexits.h: "temporary failure, the user is invited to retry"


@dataclass
class Run:
    """What one command brings to the stages of one edition date."""

    settings: Settings
    edition_date: str
    store: Store
    http: Http
    analyzer: Analyzer
    recommender: Recommender
    force: bool = False
    allow_empty: bool = False
    progress: Progress = log.info
    lists: SubscriberLists | None = None  # the subscriber lists as the command read them
    clock: Callable[[], datetime] = now_utc
    collected: CollectReport | None = None


@dataclass(frozen=True)
class CollectReport:
    """What ``collect`` found for an edition date, and what a scheduler should be told."""

    edition_date: str
    day: date  # the source day the edition carries
    result: Candidates | NotReady
    path: Path  # candidates.json
    timezone: str = "UTC"  # the edition's, for the retry time

    @property
    def not_ready(self) -> NotReady | None:
        return self.result if isinstance(self.result, NotReady) else None

    @property
    def candidates(self) -> Candidates | None:
        return self.result if isinstance(self.result, Candidates) else None

    @property
    def empty(self) -> bool:
        """The day's lists closed with no paper in them."""
        return self.candidates is not None and not self.candidates.papers

    @property
    def exit_code(self) -> int:
        """75 while a list of the day is still open (retry later), else 0."""
        return EX_TEMPFAIL if self.not_ready else EX_OK

    def line(self) -> str:
        """The one line that says what happened (and, when not ready, when to retry)."""
        edition, day = self.edition_date, self.day.isoformat()
        if (wait := self.not_ready) is not None:
            at = retry_time(wait.ready_at, self.timezone)
            return (
                f"Not ready: {wait.source}'s list of {day} is still open until {at}; nothing "
                f"collected for {edition}. Retry after {at} (exit {EX_TEMPFAIL})."
            )
        candidates = self.candidates
        assert candidates is not None
        if not candidates.papers:
            return (
                f"No papers for {edition}: the lists of {day} closed empty (a weekend or a "
                "holiday); nothing to send ('send --allow-empty' sends a short edition)."
            )
        more = f" ({len(candidates.warnings)} warnings, kept in the file)"
        return f"{len(candidates.papers)} candidates of {day} -> {self.path}" + (
            more if candidates.warnings else ""
        )


def retry_time(moment: datetime, timezone: str) -> str:
    """'2026-06-13 09:00 Asia/Seoul (00:00 UTC)'."""
    local = moment.astimezone(ZoneInfo(timezone))
    utc = moment.astimezone(ZoneInfo("UTC"))
    shown = f"{local:%Y-%m-%d %H:%M} {timezone}"
    return shown if timezone == "UTC" else f"{shown} ({utc:%H:%M} UTC)"


def collect_edition(
    settings: Settings,
    edition_date: str,
    http: Http,
    *,
    force: bool = False,
    progress: Progress = log.info,
    clock: Callable[[], datetime] = now_utc,
) -> CollectReport:
    """Run ``collect`` for one edition date and judge it (``exit_code``, ``line``)."""
    result = collect(settings, edition_date, http, force=force, progress=progress, clock=clock)
    return CollectReport(
        edition_date,
        source_day(settings, edition_date),
        result,
        settings.layout.edition(edition_date).candidates,
        settings.edition.timezone,
    )


def _collect(r: Run) -> bool:
    r.collected = collect_edition(
        r.settings, r.edition_date, r.http, force=r.force, progress=r.progress, clock=r.clock
    )
    if r.collected.candidates is None:
        return False  # not ready: nothing to select yet
    r.progress(f"collect: {r.collected.line()}")
    # A day with no papers ends here: nothing to select, analyse or send (unless allowed).
    return not r.collected.empty or r.allow_empty


def _select(r: Run) -> bool:
    select(
        r.settings,
        r.edition_date,
        r.recommender,
        force=r.force,
        store=r.store,
        progress=r.progress,
        lists=r.lists,
    )
    return True


def _analyze(r: Run) -> bool:
    analyze(
        r.settings,
        r.edition_date,
        r.analyzer,
        force=r.force,
        store=r.store,
        progress=r.progress,
        lists=r.lists,
    )
    return True


def _build(r: Run) -> bool:
    build(
        r.settings,
        r.edition_date,
        force=r.force,
        store=r.store,
        allow_empty=r.allow_empty,
        progress=r.progress,
        lists=r.lists,
    )
    return True


@dataclass(frozen=True)
class Stage:
    """One stage before delivery: its name, and a call that says whether to go on."""

    name: str
    call: Callable[[Run], bool]


STAGES: tuple[Stage, ...] = (
    Stage("collect", _collect),
    Stage("select", _select),
    Stage("analyze", _analyze),
    Stage("build", _build),
)


def started(store: Store, edition_date: str) -> int:
    """How many subscribers of the date were handed (or may have been handed) the edition."""
    counts = store.counts(edition_date)
    return counts["sent"] + counts["sending"] + counts["failed"]


@dataclass(frozen=True)
class Prepared:
    """The edition to deliver, or why there is none (an empty day, a day not closed yet)."""

    edition: Edition | None
    collected: CollectReport | None = None  # None when the stages did not run

    @property
    def exit_code(self) -> int:
        """75 when the day is not ready (retry later); 0 otherwise."""
        return self.collected.exit_code if self.collected else EX_OK

    def line(self) -> str:
        """Why nothing is delivered: the collect report's line ('' when there is an edition)."""
        if self.edition is not None or self.collected is None:
            return ""
        if self.collected.empty:
            return EMPTY_DAY.format(date=self.collected.edition_date, day=self.collected.day)
        return self.collected.line()


def prepare(run: Run) -> Prepared:
    """The edition to deliver, running the stages that are missing or stale.

    No edition on a day with no papers (unless ``allow_empty``) or whose lists are still
    open. Once any subscriber of the date has been sent the edition, it is delivered as built
    to the rest: rebuilding it then would send different subscribers different editions of
    the same day.
    """
    with edition_lock(run.settings, run.edition_date, "send", run.progress):
        return _prepare(run)


def _prepare(run: Run) -> Prepared:
    settings, day = run.settings, run.edition_date
    if started(run.store, day):
        if run.force:
            sent = run.store.counts(day)["sent"]
            raise StageError(
                f"the {day} edition was already sent to {sent} subscribers; --force would send "
                "the others a different edition. To rebuild it anyway, run 'newsletter build "
                f"--date {day} --force', then send"
            )
        paths = settings.layout.edition(day)
        edition = read_model(paths.edition, Edition, "build")
        check_variant_files(paths, edition)
        return Prepared(edition)
    for stage in STAGES:
        if not stage.call(run):
            return Prepared(None, run.collected)
    edition = read_model(settings.layout.edition(day).edition, Edition, "build")
    return Prepared(edition, run.collected)


EMPTY_DAY = (
    "No papers for {date}: the lists of {day} closed empty (a weekend or a holiday); nothing "
    "sent. Use --allow-empty to send a short edition anyway."
)


@dataclass
class SendReport:
    """What a delivery run did, and what a scheduler should be told."""

    edition_date: str
    summary: Summary
    bad_records: int = 0  # subscriber records skipped with a warning
    outbox: Path | None = None  # where the outbox transport wrote the messages

    @property
    def exit_code(self) -> int:
        """0 when every subscriber got what they should (or nothing was left to do); 1 when
        any row of the date ends failed or unknown, or a subscriber record had to be skipped:
        someone may lack the edition, and cron mails the output of a failing job."""
        s = self.summary
        failing = s.failed or s.failed_now or s.unknown or self.bad_records
        return EX_FAILED if failing else EX_OK

    def lines(self, variants: Path) -> list[str]:
        """The closing lines on stdout: what happened, and where to look."""
        s, day = self.summary, self.edition_date
        out = []
        if s.sent == 0 and s.already and not s.pending:
            out.append(f"Nothing new to send for {day}: {s.already} already delivered.")
        out.append(s.line())
        if self.outbox is not None:
            out.append(f"emails: {self.outbox}")
        out.append(f"preview: {variants} (or 'newsletter preview --date {day}')")
        return out

    def notes(self) -> list[str]:
        """Lines for stderr: each problem that makes the exit code non-zero, and what to do."""
        s, day = self.summary, self.edition_date
        out = []
        if s.unknown:
            out.append(
                f"{s.unknown} deliveries have an unknown outcome (a crash or no answer while "
                f"sending: each may or may not have arrived); 'newsletter status --date {day}' "
                "lists them; check the SES or mail server logs, then 'newsletter send --date "
                f"{day} --retry-unknown' resends them."
            )
        failed = max(s.failed, s.failed_now)
        if failed:
            out.append(
                f"{failed} deliveries failed (none of them was delivered); 'newsletter status "
                f"--date {day}' gives each reason; fix the address or the cause, then "
                f"'newsletter send --date {day} --retry-failed'."
            )
        if self.bad_records:
            out.append(
                f"{self.bad_records} subscriber list problems (warnings above; 'newsletter "
                "subscribers check' lists them)"
            )
        return out


def deliver_edition(
    run: Run,
    transport: Transport,
    *,
    bad_records: int = 0,
    limit: int | None = None,
    retry_unknown: bool = False,
    retry_failed: bool = False,
    on_start: Callback | None = None,
    on_progress: Callback | None = None,
) -> SendReport:
    """Deliver the prepared edition to every subscriber, under the date's run lock."""
    summary = deliver_locked(
        run.settings,
        run.edition_date,
        store=run.store,
        transport=transport,
        limit=limit,
        retry_unknown=retry_unknown,
        retry_failed=retry_failed,
        on_start=on_start,
        on_progress=on_progress,
        lists=run.lists,
    )
    outbox = None
    if run.settings.delivery.transport == "outbox":
        outbox = run.settings.layout.outbox(run.edition_date)
    return SendReport(run.edition_date, summary, bad_records, outbox)
