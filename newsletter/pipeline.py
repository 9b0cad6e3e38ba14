"""The stage list, and what ``send`` means: prepare the edition, deliver it, judge the run.

``STAGES`` is the order of the stages before delivery, as data; ``prepare`` runs the ones
whose output is missing or stale; ``send_edition`` prepares and delivers, and returns a
``SendReport`` whose ``exit_code`` is what a scheduler sees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .analysis import Analyzer, Recommender
from .config import Settings
from .delivery.summary import Summary
from .delivery.transports import Transport
from .errors import StageError
from .files import read_model
from .http import Http
from .locks import edition_lock
from .models import Edition
from .stages import Progress
from .stages.analyze import analyze
from .stages.build import build, check_variant_files
from .stages.collect import collect
from .stages.deliver import Callback, deliver_locked
from .stages.select import select
from .store import Store

log = logging.getLogger(__name__)


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


def _collect(r: Run) -> bool:
    candidates = collect(r.settings, r.edition_date, r.http, force=r.force, progress=r.progress)
    # A day with no papers ends here: nothing to select, analyse or send (unless allowed).
    return bool(candidates.papers) or r.allow_empty


def _select(r: Run) -> bool:
    select(
        r.settings, r.edition_date, r.recommender, force=r.force, store=r.store, progress=r.progress
    )
    return True


def _analyze(r: Run) -> bool:
    analyze(r.settings, r.edition_date, r.analyzer, force=r.force, progress=r.progress)
    return True


def _build(r: Run) -> bool:
    build(
        r.settings,
        r.edition_date,
        force=r.force,
        store=r.store,
        allow_empty=r.allow_empty,
        progress=r.progress,
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


def prepare(run: Run) -> Edition | None:
    """The edition to deliver, running the stages that are missing or stale.

    None on a day with no papers (unless ``allow_empty``). Once any subscriber of the date
    has been sent the edition, it is delivered as built to the rest: rebuilding it then would
    send different subscribers different editions of the same day.
    """
    with edition_lock(run.settings, run.edition_date, "send", run.progress):
        return _prepare(run)


def _prepare(run: Run) -> Edition | None:
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
        return edition
    for stage in STAGES:
        if not stage.call(run):
            return None
    return read_model(settings.layout.edition(day).edition, Edition, "build")


EMPTY_DAY = (
    "No papers for {date} (weekend, holiday or not yet published): nothing sent. Use "
    "--allow-empty to send a short edition anyway."
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
        return 1 if s.failed or s.failed_now or s.unknown or self.bad_records else 0

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
    )
    outbox = None
    if run.settings.delivery.transport == "outbox":
        outbox = run.settings.layout.outbox(run.edition_date)
    return SendReport(run.edition_date, summary, bad_records, outbox)
