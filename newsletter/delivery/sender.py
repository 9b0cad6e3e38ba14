"""The delivery run: claim -> send -> mark for every pending ledger row, paced and in parallel.

The exactly-once rule lives in two methods and nowhere else: ``_claim`` moves a batch of rows
from ``pending`` to ``sending`` (one committed transaction) before the transport is called for
any of them, and ``_settle`` moves the batch's ``sending`` rows to their outcomes after (one
transaction; also before any wait for a retry). A crash in between leaves the rows of the
batches in flight ``sending``: their outcome is unknown and they are never resent without
``send --retry-unknown``. A batch is what the rate sends in about ``CLAIM_AHEAD_S`` per worker
(one row at 10/s, 50 at 1,000/s), so a crash leaves about a quarter of a second of sending
unknown whatever the rate, while a fast run pays one commit per fifty messages.

One transport call ends in one of the outcomes below (``errors.TransportError``); each has
its own method, which decides the ledger state and whether the run goes on:

    sent        -> 'sent' with the message id
    Throttled   -> wait (every worker slows down) and retry; never counted as a failure
    Transient   -> retry with exponential backoff, up to ``max_attempts``, then 'failed';
                   ``breaker`` messages in a row giving up stop the run (the service is down)
    Permanent   -> 'failed' with the reason; the run goes on
    Unknown     -> stays 'sending' (unknown outcome) with the reason; the run goes on
    Fatal       -> the row goes back to 'pending', the run stops at once
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import (
    DeliveryError,
    Fatal,
    HeaderInjection,
    Permanent,
    Throttled,
    Transient,
    TransportError,
    Unknown,
)
from ..models import Subscriber
from ..render import RenderedVariant
from ..store import Row, Store
from ..store.ledger import Mark
from .bulk import deliver_bulk
from .feed import MAX_BATCH, Feed, claim_batch
from .pacing import RateLimiter, Retry
from .personalize import Personalizer
from .summary import DeliveryStopped, Summary
from .transports import Transport

log = logging.getLogger(__name__)

Callback = Callable[[Summary], None]


@dataclass
class Attempts:
    """How one message has fared so far."""

    transient: int = 0
    throttled: int = 0
    throttled_since: float | None = None


class Sender:
    """Delivers the pending rows of one edition date; one instance per run."""

    def __init__(
        self,
        *,
        store: Store,
        transport: Transport,
        edition_date: str,
        variants: dict[str, RenderedVariant],
        subscribers: dict[str, Subscriber],
        personalizer: Personalizer,
        rate_per_s: float,
        concurrency: int = 4,
        retry: Retry | None = None,
        on_progress: Callback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int | None = None,
    ) -> None:
        self.store, self.transport, self.date = store, transport, edition_date
        self.variants, self.subscribers = variants, subscribers
        self.personalizer = personalizer
        self.concurrency = concurrency
        self.retry = retry or Retry()
        self.on_progress = on_progress
        self.sleep = sleep
        self.sender = personalizer.settings.delivery.from_
        # No burst: SES counts per second, and a start-up burst of `concurrency` messages on
        # top of the rate is what gets a run throttled in its first second.
        self.limiter = RateLimiter(rate_per_s, sleep=sleep)
        # A transport that takes many recipients a call (SES SendBulkEmail) gets a batch per
        # call; the others one message a call.
        self.bulk_size = int(getattr(transport, "bulk_size", 0) or 0)
        most = self.bulk_size if self.bulk_size > 1 else MAX_BATCH
        self.batch = batch_size or claim_batch(rate_per_s, concurrency, most)
        self.summary = Summary()
        self.stop = threading.Event()
        self.outage = threading.Event()  # the breaker stopped the run: the service is down
        self.lock = threading.Lock()
        self.giveups = 0  # messages in a row that exhausted their retries
        self.started = time.monotonic()

    # -- the run ----------------------------------------------------------------------------

    def run(self, limit: int | None = None, on_start: Callback | None = None) -> Summary:
        """Send every pending row once; the ledger decides, so a rerun resumes."""
        summary = self.summary
        counts = self.store.counts(self.date)
        summary.already = counts["sent"]
        todo = counts["pending"] if limit is None else min(limit, counts["pending"])
        summary.todo = todo
        if todo:
            try:
                self.transport.preflight(todo)
            except Fatal as exc:
                summary.pending = counts["pending"]
                raise DeliveryStopped(
                    f"delivery not started: {exc}; {counts['pending']} still pending", summary
                ) from None
        if todo:
            # Each variant's message template is made before the first message (tens of
            # milliseconds each): made by the first worker needing it, it held the others
            # back while the rate's first slots went by unused.
            for variant in self.variants.values():
                self.personalizer.prepare(variant)
        if on_start:
            on_start(summary)
        self.started = time.monotonic()
        # A short run is shared by every worker: a batch never takes more than its share.
        self.batch = min(self.batch, max(1, -(-todo // max(1, self.concurrency))))
        feed = Feed(self.store, self.date, self.subscribers.__contains__, limit)
        interrupted = self._work(feed, todo)
        return self._finish(interrupted)

    def _work(self, feed: Feed, todo: int) -> bool:
        """Run the workers until the feed is empty or the run stops; True if interrupted."""
        workers = max(1, min(self.concurrency, todo))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._worker, feed, i, workers) for i in range(workers)]
            try:
                for fut in futures:
                    fut.result()
            except KeyboardInterrupt:
                # Let the workers finish the messages in flight and mark them, then stop.
                self.stop.set()
                return True
            except BaseException:
                self.stop.set()
                raise
        return False

    def _worker(self, feed: Feed, index: int, workers: int) -> None:
        # The first batches differ in size (1/n, 2/n ... of a batch), so the workers settle
        # and claim at different moments: all of them at once would leave the rate's slots
        # unused while they take turns at the ledger.
        size = self.batch if self.bulk_size > 1 else max(1, self.batch * (index + 1) // workers)
        while not self.stop.is_set():
            rows = feed.take(size)
            size = self.batch
            if not rows:
                return
            try:
                self._batch(rows)
            except BaseException:
                self.stop.set()
                raise

    def _finish(self, interrupted: bool) -> Summary:
        summary = self.summary
        summary.elapsed_s = time.monotonic() - self.started
        counts = self.store.counts(self.date)
        summary.pending, summary.skipped = counts["pending"], counts["skipped"]
        summary.failed, summary.unknown = counts["failed"], counts["sending"]
        if interrupted:
            summary.stopped = "interrupted"
        if not summary.stopped:
            return summary
        rerun = "rerun 'newsletter send' once it is fixed"
        if self.outage.is_set() and summary.failed:
            # A plain rerun sends only pending rows; the ones the outage failed stay failed.
            rerun = (
                "once it is fixed, rerun 'newsletter send --retry-failed' (a plain rerun "
                f"leaves the {summary.failed} failed rows unsent)"
            )
        raise DeliveryStopped(
            f"delivery stopped: {summary.stopped}; {summary.sent} sent, "
            f"{summary.pending} still pending: {rerun}",
            summary,
        )

    # -- one batch, one row ------------------------------------------------------------------

    def _batch(self, rows: list[Row]) -> None:
        """Claim a batch, send each claimed row until it has an outcome, settle the batch."""
        for row in rows:
            if row.variant not in self.variants:
                raise DeliveryError(
                    f"ledger row {self.date} {row.email} wants variant {row.variant!r}, which "
                    "the built edition lacks: run 'newsletter build --force'"
                )
        out: list[Mark] = []
        claimed = self._claim(rows)
        try:
            if self.bulk_size > 1:
                deliver_bulk(self, claimed, out)
                return
            for i, row in enumerate(claimed):
                if self.stop.is_set():
                    self.unsent(claimed[i:], out)
                    break
                self.deliver(row, out)
        finally:
            # Also on an error escaping the loop: what has an outcome is recorded; the rest
            # of the batch stays 'sending' (unknown), as after a crash.
            self._settle(out)

    def deliver(self, row: Row, out: list[Mark]) -> None:
        """Build and send one claimed row's message until it has an outcome (added to ``out``)."""
        try:
            raw, msg_id = self.personalizer.message(
                self.variants[row.variant], self.subscribers[row.email]
            )
        except HeaderInjection as exc:
            self.permanent(row, Permanent(f"bad header: {exc}"), out)
            return
        tried = Attempts()
        while self._attempt(row, raw, msg_id, tried, out):
            pass

    def _attempt(self, row: Row, raw: bytes, msg_id: str, tried: Attempts, out: list[Mark]) -> bool:
        """One transport call and its outcome; True when the message should be tried again."""
        self.limiter.acquire()
        if self.stop.is_set():
            self.unsent([row], out)
            return False
        tags = {"date": self.date, "variant": row.variant}
        result: str | TransportError
        try:
            result = self.transport.send(raw, self.sender, row.email, tags) or msg_id
        except TransportError as exc:
            result = exc
        wait = self.outcome(row, result, tried, out)
        if wait is None:
            return False
        self._flush(out)  # record what is done before waiting
        if wait:
            self.sleep(wait)
        return True

    def outcome(
        self, row: Row, result: str | TransportError, tried: Attempts, out: list[Mark]
    ) -> float | None:
        """Record one transport answer (a message id, or the error); the wait before the
        message is tried again, or None when it has its outcome."""
        if isinstance(result, str):
            self.sent(row, result, out)
        elif isinstance(result, Throttled):
            return self.throttled(row, result, tried, out)
        elif isinstance(result, Transient):
            return self.transient(row, result, tried, out)
        elif isinstance(result, Permanent):
            self.permanent(row, result, out)
        elif isinstance(result, Fatal):
            self.fatal(row, result, out)
        else:  # Unknown, or an answer no kind covers: it may have been sent
            self.unknown(row, Unknown(str(result)), out)
        return None

    def unsent(self, rows: list[Row], out: list[Mark]) -> None:
        """Claimed rows the run stopped before sending: back to pending."""
        out.extend((row.email, "pending", None, "run stopped before sending") for row in rows)

    # -- outcomes: each adds its row's ledger state to ``out`` ----------------------------------

    def sent(self, row: Row, message_id: str, out: list[Mark]) -> None:
        """Delivered: 'sent' with the id; a success resets the outage breaker."""
        out.append((row.email, "sent", message_id, None))
        # Counted when the batch is settled (``_settle``): no lock taken per message.
        if self.giveups:
            with self.lock:
                self.giveups = 0

    def throttled(self, row: Row, exc: Throttled, tried: Attempts, out: list[Mark]) -> float | None:
        """Every worker slows down and this message waits its turn again, until too long."""
        tried.throttled += 1
        now = time.monotonic()
        tried.throttled_since = tried.throttled_since or now
        with self.lock:
            self.summary.throttled += 1
        if now - tried.throttled_since > self.retry.max_throttled_s:
            limit = self.retry.max_throttled_s
            self._stop_run(row, f"still throttled after {limit:.0f}s: {exc}", exc, out)
            return None
        log.info("throttled sending to %s: %s", row.email, exc)
        # The wait is the limiter's: it holds every worker back, this one included.
        self.limiter.pause(self.retry.backoff(tried.throttled))
        if self.stop.is_set():
            out.append((row.email, "pending", None, str(exc)))
            return None
        return 0.0

    def transient(self, row: Row, exc: Transient, tried: Attempts, out: list[Mark]) -> float | None:
        """Retry with backoff; after ``max_attempts`` the row fails, and a run of such
        failures means the service is down: the breaker stops the run."""
        tried.transient += 1
        if tried.transient < self.retry.max_attempts and not self.stop.is_set():
            with self.lock:
                self.summary.retried += 1
            log.info("retrying %s after: %s", row.email, exc)
            return self.retry.backoff(tried.transient)
        if self.stop.is_set():
            out.append((row.email, "pending", None, str(exc)))
            return None
        self._failed(row, f"gave up after {tried.transient} attempts: {exc}", out)
        with self.lock:
            self.giveups += 1
            if self.giveups >= self.retry.breaker:
                self.summary.stopped = (
                    f"{self.giveups} messages in a row failed after "
                    f"{self.retry.max_attempts} attempts (last: {exc})"
                )
                self.outage.set()
                self.stop.set()
        return None

    def permanent(self, row: Row, exc: Permanent, out: list[Mark]) -> None:
        """This recipient cannot be sent to: 'failed' with the reason; the run goes on."""
        self._failed(row, str(exc), out)

    def unknown(self, row: Row, exc: Unknown, out: list[Mark]) -> None:
        """The request left and no answer came: the row stays 'sending' (unknown)."""
        out.append((row.email, "sending", None, str(exc)))
        with self.lock:
            self.summary.done += 1
            self.summary.errors.append(f"{row.email}: outcome unknown: {exc}")

    def fatal(self, row: Row, exc: Fatal, out: list[Mark]) -> None:
        """Nothing was sent and nothing more can be: the row goes back to pending, run stops."""
        self._stop_run(row, str(exc), exc, out)

    # -- the ledger and the run's state -----------------------------------------------------

    def _claim(self, rows: list[Row]) -> list[Row]:
        """pending -> sending for a batch, committed before the transport is called for any
        of it; the rows this run won (another process may hold some, or they are done)."""
        won = self.store.claim_many(self.date, [r.email for r in rows])
        return [r for r in rows if r.email in won]

    def _settle(self, out: list[Mark]) -> None:
        """sending -> each row's outcome, for rows this run claimed, in one transaction.

        Only a 'sending' row moves: one changed by another process meanwhile is left as it is.
        """
        if not out:
            return
        sent = sum(1 for mark in out if mark[1] == "sent")
        with self.lock:  # counted as handed to the transport, whatever the ledger says next
            self.summary.sent += sent
            self.summary.done += sent
        moved_rows = self.store.mark_many(self.date, out)
        for (email, state, _, _), moved in zip(out, moved_rows, strict=True):
            if state == "sent" and not moved:
                log.warning(
                    "%s was sent but its ledger row is no longer 'sending' (changed by "
                    "another process); left as it is",
                    email,
                )
        self._progress()

    def _flush(self, out: list[Mark]) -> None:
        self._settle(out)
        out.clear()

    def _failed(self, row: Row, error: str, out: list[Mark]) -> None:
        out.append((row.email, "failed", None, error))
        with self.lock:
            self.summary.failed_now += 1
            self.summary.done += 1
            self.summary.errors.append(f"{row.email}: {error}")

    def _stop_run(self, row: Row, why: str, exc: Exception, out: list[Mark]) -> None:
        out.append((row.email, "pending", None, str(exc)))
        with self.lock:
            self.summary.stopped = why
        self.stop.set()

    def _progress(self) -> None:
        with self.lock:
            self.summary.elapsed_s = time.monotonic() - self.started
            if self.on_progress:
                self.on_progress(self.summary)
