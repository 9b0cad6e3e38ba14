"""The delivery run: claim -> send -> mark for every pending ledger row, paced and in parallel.

The exactly-once rule lives in two methods and nowhere else: ``_claim`` moves a row from
``pending`` to ``sending`` (committed) before the transport is called, and ``_settle`` moves
a ``sending`` row to its outcome after. A crash in between leaves the row ``sending``: its
outcome is unknown and it is never resent without ``send --retry-unknown``.

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
from collections import deque
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
    Unknown,
)
from ..models import Subscriber
from ..render import RenderedVariant
from ..store import Row, Store
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
        self.limiter = RateLimiter(rate_per_s, burst=1, sleep=sleep)
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
        summary.already = self.store.counts(self.date)["sent"]
        rows = self.store.rows(self.date, "pending")
        pending = [r for r in rows if r.email in self.subscribers][:limit]
        summary.todo = len(pending)
        if pending:
            try:
                self.transport.preflight(len(pending))
            except Fatal as exc:
                summary.pending = len(pending)
                raise DeliveryStopped(
                    f"delivery not started: {exc}; {len(pending)} still pending", summary
                ) from None
        if on_start:
            on_start(summary)
        self.started = time.monotonic()
        interrupted = self._work(deque(pending))
        return self._finish(interrupted)

    def _work(self, queue: deque[Row]) -> bool:
        """Run the workers until the queue is empty or the run stops; True if interrupted."""
        workers = max(1, min(self.concurrency, len(queue)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._worker, queue) for _ in range(workers)]
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

    def _worker(self, queue: deque[Row]) -> None:
        while not self.stop.is_set():
            with self.lock:
                if not queue:
                    return
                row = queue.popleft()
            try:
                self.deliver(row)
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

    # -- one row ----------------------------------------------------------------------------

    def deliver(self, row: Row) -> None:
        """Build, claim and send one row's message until it has an outcome."""
        variant = self.variants.get(row.variant)
        if variant is None:
            raise DeliveryError(
                f"ledger row {self.date} {row.email} wants variant {row.variant!r}, which the "
                "built edition lacks: run 'newsletter build --force'"
            )
        try:
            raw, msg_id = self.personalizer.message(variant, self.subscribers[row.email])
        except HeaderInjection as exc:
            if self._claim(row):
                self.permanent(row, Permanent(f"bad header: {exc}"))
            return
        if not self._claim(row):
            return  # another process has it, or it is done
        tried = Attempts()
        while self._attempt(row, raw, msg_id, tried):
            pass

    def _attempt(self, row: Row, raw: bytes, msg_id: str, tried: Attempts) -> bool:
        """One transport call and its outcome; True when the message should be tried again."""
        self.limiter.acquire()
        if self.stop.is_set():
            self._settle(row, "pending", error="run stopped before sending")
            return False
        tags = {"date": self.date, "variant": row.variant}
        try:
            mid = self.transport.send(raw, self.sender, row.email, tags)
        except Throttled as exc:
            return self.throttled(row, exc, tried)
        except Transient as exc:
            return self.transient(row, exc, tried)
        except Permanent as exc:
            self.permanent(row, exc)
        except Unknown as exc:
            self.unknown(row, exc)
        except Fatal as exc:
            self.fatal(row, exc)
        else:
            self.sent(row, mid or msg_id)
        return False

    # -- outcomes -------------------------------------------------------------------------

    def sent(self, row: Row, message_id: str) -> None:
        """Delivered: 'sent' with the id; a success resets the outage breaker."""
        if not self._settle(row, "sent", message_id=message_id):
            log.warning(
                "%s was sent but its ledger row is no longer 'sending' (changed by another "
                "process); left as it is",
                row.email,
            )
        with self.lock:
            self.giveups = 0
            self.summary.sent += 1
        self._progress()

    def throttled(self, row: Row, exc: Throttled, tried: Attempts) -> bool:
        """Every worker slows down and this message waits its turn again, until too long."""
        tried.throttled += 1
        now = time.monotonic()
        tried.throttled_since = tried.throttled_since or now
        with self.lock:
            self.summary.throttled += 1
        if now - tried.throttled_since > self.retry.max_throttled_s:
            limit = self.retry.max_throttled_s
            self._stop_run(row, f"still throttled after {limit:.0f}s: {exc}", exc)
            return False
        log.info("throttled sending to %s: %s", row.email, exc)
        self.limiter.pause(self.retry.backoff(tried.throttled))
        if self.stop.is_set():
            self._settle(row, "pending", error=str(exc))
            return False
        return True

    def transient(self, row: Row, exc: Transient, tried: Attempts) -> bool:
        """Retry with backoff; after ``max_attempts`` the row fails, and a run of such
        failures means the service is down: the breaker stops the run."""
        tried.transient += 1
        if tried.transient < self.retry.max_attempts and not self.stop.is_set():
            with self.lock:
                self.summary.retried += 1
            log.info("retrying %s after: %s", row.email, exc)
            self.sleep(self.retry.backoff(tried.transient))
            return True
        if self.stop.is_set():
            self._settle(row, "pending", error=str(exc))
            return False
        self._failed(row, f"gave up after {tried.transient} attempts: {exc}")
        with self.lock:
            self.giveups += 1
            if self.giveups >= self.retry.breaker:
                self.summary.stopped = (
                    f"{self.giveups} messages in a row failed after "
                    f"{self.retry.max_attempts} attempts (last: {exc})"
                )
                self.outage.set()
                self.stop.set()
        return False

    def permanent(self, row: Row, exc: Permanent) -> None:
        """This recipient cannot be sent to: 'failed' with the reason; the run goes on."""
        self._failed(row, str(exc))

    def unknown(self, row: Row, exc: Unknown) -> None:
        """The request left and no answer came: the row stays 'sending' (unknown)."""
        self._settle(row, "sending", error=str(exc))
        with self.lock:
            self.summary.errors.append(f"{row.email}: outcome unknown: {exc}")
        self._progress()

    def fatal(self, row: Row, exc: Fatal) -> None:
        """Nothing was sent and nothing more can be: the row goes back to pending, run stops."""
        self._stop_run(row, str(exc), exc)

    # -- the ledger and the run's state -----------------------------------------------------

    def _claim(self, row: Row) -> bool:
        """pending -> sending, committed before the transport is called."""
        return self.store.claim(self.date, row.email)

    def _settle(
        self, row: Row, state: str, *, error: str | None = None, message_id: str | None = None
    ) -> bool:
        """sending -> ``state`` for a row this run claimed (False if it was not 'sending')."""
        return self.store.mark(self.date, row.email, state, message_id=message_id, error=error)

    def _failed(self, row: Row, error: str) -> None:
        self._settle(row, "failed", error=error)
        with self.lock:
            self.summary.failed_now += 1
            self.summary.errors.append(f"{row.email}: {error}")
        self._progress()

    def _stop_run(self, row: Row, why: str, exc: Exception) -> None:
        self._settle(row, "pending", error=str(exc))
        with self.lock:
            self.summary.stopped = why
        self.stop.set()

    def _progress(self) -> None:
        with self.lock:
            self.summary.elapsed_s = time.monotonic() - self.started
            if self.on_progress:
                self.on_progress(self.summary)
