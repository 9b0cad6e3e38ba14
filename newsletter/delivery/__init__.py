"""The delivery loop: plan ledger rows, then claim -> send -> mark, paced and in parallel.

Outcomes of one transport call and what the ledger records:

    sent        -> 'sent' with the message id
    Throttled   -> wait (every worker slows down) and retry; never counted as a failure
    Transient   -> retry with exponential backoff, up to ``max_attempts``, then 'failed';
                   three messages in a row giving up stop the run (the service is down)
    Permanent   -> 'failed' with the reason; the run goes on
    Unknown     -> stays 'sending' (unknown outcome) with the reason; the run goes on
    Fatal       -> the row goes back to 'pending', the run stops at once (DeliveryError)
"""

from __future__ import annotations

import html as html_lib
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import Settings
from ..errors import ConfigError, DeliveryError
from ..models import Subscriber
from ..store import Row, Store
from .message import (
    BodyTemplate,
    HeaderInjection,
    build_headers,
    build_message,
    message_id,
    safe_header,
    sender_domain,
    unsubscribe_token,
)
from .transports import Fatal, Permanent, Throttled, Transient, Transport, Unknown, secret_from_env

log = logging.getLogger(__name__)


class DeliveryStopped(DeliveryError):
    """The run stopped early (sending paused, throttled too long, interrupted)."""

    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message)
        self.summary = summary


class RateLimiter:
    """Token bucket: at most ``rate`` acquisitions per second on average, bursts of ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def acquire(self) -> None:
        """Block until a token is free, then take it."""
        while True:
            with self.lock:
                self._refill()
                # The epsilon: a float shortfall of 1e-16 would otherwise ask for a sleep too
                # short to move the clock, forever.
                if self.tokens >= 1 - 1e-9:
                    self.tokens -= 1
                    return
                wait_s = (1 - self.tokens) / self.rate
            self.sleep(wait_s)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for about ``seconds`` (the service asked us to slow down)."""
        with self.lock:
            self._refill()
            self.tokens = min(self.tokens, 1 - seconds * self.rate)


@dataclass
class VariantMessage:
    """A rendered variant with the tokens delivery fills per recipient."""

    key: str
    html: str
    text: str
    unsubscribe_token: str
    topics_token: str
    paper_count: int
    subject: str = ""  # overrides the edition's subject (the 'nothing for you today' note)


@dataclass
class Summary:
    """What a run did; ``skipped``, ``failed`` and ``unknown`` count the whole ledger date."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    already: int = 0
    pending: int = 0
    throttled: int = 0
    retried: int = 0
    failed_now: int = 0
    todo: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def rate(self) -> float:
        """Messages sent per second during this run."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        extra = f", already sent before {self.already}" if self.already else ""
        left = f", still pending {self.pending}" if self.pending else ""
        return (
            f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}, "
            f"unknown {self.unknown}{extra}{left} in {self.elapsed_s:.1f}s "
            f"({self.rate:.1f}/s; {self.throttled} throttled, {self.retried} retried)"
        )


@dataclass
class Personalizer:
    """Fills the per-recipient parts of a variant and builds its message."""

    settings: Settings
    edition_date: str
    subject: str
    all_topics_label: str

    def __post_init__(self) -> None:
        d = self.settings.delivery
        # Settings that end up in every header: a bad one is a config error, not N failures.
        for name, value in (
            ("delivery.from", d.from_),
            ("delivery.reply_to", d.reply_to),
            ("delivery.list_id", d.list_id),
            ("edition.title", self.subject),
            ("delivery.unsubscribe_url", d.unsubscribe_url),
            ("delivery.unsubscribe_mailto", d.unsubscribe_mailto),
        ):
            try:
                safe_header(value, name)
            except HeaderInjection as exc:
                raise ConfigError(str(exc)) from None
        self.domain = sender_domain(d.from_)
        self.secret = secret_from_env(d.unsubscribe_secret_env)
        if d.unsubscribe_url and not self.secret:
            raise ConfigError(
                f"delivery.unsubscribe_url is set but ${d.unsubscribe_secret_env}"
                " (the key that signs unsubscribe links) is empty"
            )
        if len(d.unsubscribe_url) > 400:
            raise ConfigError(
                "delivery.unsubscribe_url is over 400 characters; the signed "
                "link must fit in one List-Unsubscribe header line"
            )
        if d.unsubscribe_url and not d.unsubscribe_url.startswith("https://"):
            raise ConfigError(
                f"delivery.unsubscribe_url: {d.unsubscribe_url!r} must be an "
                "https:// link (mail providers ignore others for one-click)"
            )
        self._templates: dict[str, BodyTemplate] = {}
        sender = d.from_.rsplit("<", 1)[-1].rstrip(">").strip()
        self.mailto = d.unsubscribe_mailto or f"mailto:{sender}?subject=unsubscribe"

    def links(self, email: str) -> tuple[str, str]:
        """(link for the footer, https URL for List-Unsubscribe or '')."""
        d = self.settings.delivery
        if d.unsubscribe_url:
            sep = "&" if "?" in d.unsubscribe_url else "?"
            url = f"{d.unsubscribe_url}{sep}token={unsubscribe_token(email, self.secret)}"
            return url, url
        return self.mailto, ""

    def message(
        self, variant: VariantMessage, sub: Subscriber, *, test: bool = False
    ) -> tuple[bytes, str]:
        """(raw message, Message-ID) for one recipient; a test message gets a fresh id."""
        link, https = self.links(sub.email)
        topics = ", ".join(sub.topics) if sub.topics else self.all_topics_label
        if sub.exclude:
            topics += " (−" + ", ".join(sub.exclude) + ")"
        text_values = {variant.unsubscribe_token: link, variant.topics_token: topics}
        html_values = {
            variant.unsubscribe_token: html_lib.escape(link, quote=True),
            variant.topics_token: html_lib.escape(topics),
        }
        d = self.settings.delivery
        subject = variant.subject or self.subject
        if test:
            msg_id, subject = make_msgid("test", domain=self.domain), f"[TEST] {subject}"
        else:
            msg_id = message_id(self.edition_date, sub.email, self.domain)
        headers: dict[str, Any] = dict(
            from_=d.from_,
            to=sub.email,
            to_name=sub.name,
            subject=subject,
            msg_id=msg_id,
            date=datetime.now(UTC),
            list_id=d.list_id,
            unsubscribe_url=https,
            unsubscribe_mailto=quote(self.mailto, safe=":@?=&/.+-_") if self.mailto else "",
            reply_to=d.reply_to,
        )
        template = self._templates.get(variant.key)
        if template is None:
            template = self._templates.setdefault(
                variant.key, BodyTemplate(variant.text, variant.html)
            )
        raw = template.render(build_headers(**headers), text_values, html_values)
        if raw is None:
            text, html = variant.text, variant.html
            for token, value in text_values.items():
                text = text.replace(token, value)
            for token, value in html_values.items():
                html = html.replace(token, value)
            raw = build_message(html=html, text=text, **headers).as_bytes()
        return raw, msg_id


def plan(store: Store, edition_date: str, assignments: dict[str, str | None]) -> int:
    """Ledger rows for every subscriber: pending with a variant, or skipped (no papers)."""
    rows = [
        (email, key or "", "pending" if key else "skipped")
        for email, key in sorted(assignments.items())
    ]
    return store.plan(edition_date, rows)


@contextmanager
def run_lock(folder: Path, edition_date: str) -> Iterator[None]:
    """One delivery run per edition date at a time (released by the OS if the process dies).

    Two runs could never send a row twice (claiming is atomic), but ``--retry-unknown`` in one
    would release the rows the other has in flight.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"send-{edition_date}.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise DeliveryError(
                f"another 'newsletter send' for {edition_date} is running "
                f"(pid {holder}; lock {path})"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


DEFAULT_RATE_PER_S = 10.0


def delivery_rate(configured: float, transport: Transport) -> float:
    """The rate to hold: the configured one, capped by the transport's own (SES MaxSendRate).

    ``configured`` 0 means "whatever the transport allows" (10/s when it cannot tell).
    """
    probe = getattr(transport, "max_send_rate", None)
    own = probe() if callable(probe) else None
    if own and (not configured or own < configured):
        if configured:
            log.warning(
                "delivery.rate_per_s %.1f is above the account's MaxSendRate %.1f; holding %.1f/s",
                configured,
                own,
                own,
            )
        return float(own)
    return configured or DEFAULT_RATE_PER_S


@dataclass
class Retry:
    """How hard to try one message."""

    max_attempts: int = 5  # attempts for transient errors (5xx, connection refused)
    backoff_s: float = 1.0  # first wait; doubles each time, with jitter
    max_backoff_s: float = 60.0
    max_throttled_s: float = 900.0  # continuous throttling of one message before giving up
    breaker: int = 3  # this many messages in a row giving up stops the run


def run(
    *,
    store: Store,
    transport: Transport,
    edition_date: str,
    variants: dict[str, VariantMessage],
    subscribers: dict[str, Subscriber],
    personalizer: Personalizer,
    rate_per_s: float,
    concurrency: int = 4,
    limit: int | None = None,
    retry: Retry | None = None,
    on_progress: Callable[[Summary], None] | None = None,
    on_start: Callable[[Summary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Send every pending row once; the ledger decides, so a rerun resumes."""
    retry = retry or Retry()
    summary = Summary()
    counts = store.counts(edition_date)
    summary.already = counts["sent"]
    pending = [r for r in store.rows(edition_date, "pending") if r.email in subscribers]
    if limit is not None:
        pending = pending[:limit]
    summary.todo = len(pending)
    preflight = getattr(transport, "preflight", None)
    if pending and callable(preflight):
        try:
            preflight(len(pending))
        except Fatal as exc:
            summary.pending = len(pending)
            raise DeliveryStopped(
                f"delivery not started: {exc}; {len(pending)} still pending", summary
            ) from None
    if on_start:
        on_start(summary)
    # No burst: SES counts per second, and a start-up burst of `concurrency` messages on top
    # of the rate is what gets a run throttled in its first second.
    limiter = RateLimiter(rate_per_s, burst=1, sleep=sleep)
    stop = threading.Event()
    lock = threading.Lock()
    queue = deque(pending)
    giveups = [0]  # messages in a row that exhausted their retries
    outage = threading.Event()  # the giveups breaker stopped the run
    started = time.monotonic()
    sender = personalizer.settings.delivery.from_

    def record(outcome: str, email: str = "", error: str = "") -> None:
        with lock:
            if outcome == "sent":
                summary.sent += 1
            elif outcome == "failed":
                summary.failed_now += 1
                summary.errors.append(f"{email}: {error}")
            elif outcome == "unknown":
                summary.errors.append(f"{email}: outcome unknown: {error}")
            summary.elapsed_s = time.monotonic() - started
            if on_progress:
                on_progress(summary)

    def backoff(n: int) -> float:
        base = min(retry.max_backoff_s, retry.backoff_s * 2 ** (n - 1))
        return base * random.uniform(0.5, 1.0)  # jitter: workers do not retry in lockstep

    def deliver_one(row: Row) -> None:
        email = row.email
        variant = variants.get(row.variant)
        if variant is None:
            raise DeliveryError(
                f"ledger row {edition_date} {email} wants variant "
                f"{row.variant!r}, which the built edition lacks: run "
                "'newsletter build --force'"
            )
        try:
            raw, msg_id = personalizer.message(variant, subscribers[email])
        except HeaderInjection as exc:
            if store.claim(edition_date, email):
                store.mark(edition_date, email, "failed", error=f"bad header: {exc}")
                record("failed", email, str(exc))
            return
        if not store.claim(edition_date, email):
            return  # another process has it, or it is done
        attempts = throttles = 0
        throttled_since: float | None = None
        while True:
            limiter.acquire()
            if stop.is_set():
                store.mark(edition_date, email, "pending", error="run stopped before sending")
                return
            try:
                mid = transport.send(
                    raw, sender, email, {"date": edition_date, "variant": row.variant}
                )
            except Throttled as exc:
                # Not a failure: everyone slows down, this message waits its turn again.
                throttles += 1
                now = time.monotonic()
                throttled_since = throttled_since or now
                with lock:
                    summary.throttled += 1
                if now - throttled_since > retry.max_throttled_s:
                    store.mark(edition_date, email, "pending", error=str(exc))
                    with lock:
                        summary.stopped = (
                            f"still throttled after {retry.max_throttled_s:.0f}s: {exc}"
                        )
                    stop.set()
                    return
                log.info("throttled sending to %s: %s", email, exc)
                limiter.pause(backoff(throttles))
                if stop.is_set():
                    store.mark(edition_date, email, "pending", error=str(exc))
                    return
                continue
            except Transient as exc:
                attempts += 1
                if attempts < retry.max_attempts and not stop.is_set():
                    with lock:
                        summary.retried += 1
                    log.info("retrying %s after: %s", email, exc)
                    sleep(backoff(attempts))
                    continue
                if stop.is_set():
                    store.mark(edition_date, email, "pending", error=str(exc))
                    return
                error = f"gave up after {attempts} attempts: {exc}"
                store.mark(edition_date, email, "failed", error=error)
                record("failed", email, error)
                with lock:
                    giveups[0] += 1
                    if giveups[0] >= retry.breaker:
                        # The service is down, not this recipient: stop before every row
                        # fails; the rest stay pending for the next run.
                        summary.stopped = (
                            f"{giveups[0]} messages in a row failed after "
                            f"{retry.max_attempts} attempts (last: {exc})"
                        )
                        outage.set()
                        stop.set()
                return
            except Permanent as exc:
                store.mark(edition_date, email, "failed", error=str(exc))
                record("failed", email, str(exc))
                return
            except Unknown as exc:
                store.mark(edition_date, email, "sending", error=str(exc))
                record("unknown", email, str(exc))
                return
            except Fatal as exc:
                # Nothing was sent: the row goes back to pending for the next run.
                store.mark(edition_date, email, "pending", error=str(exc))
                with lock:
                    summary.stopped = str(exc)
                stop.set()
                return
            if not store.mark(edition_date, email, "sent", message_id=mid or msg_id):
                log.warning(
                    "%s was sent but its ledger row is no longer 'sending' (changed "
                    "by another process); left as it is",
                    email,
                )
            with lock:
                giveups[0] = 0
            record("sent")
            return

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if not queue:
                    return
                row = queue.popleft()
            try:
                deliver_one(row)
            except BaseException:
                stop.set()
                raise

    interrupted = False
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(pending)))) as pool:
        futures = [pool.submit(worker) for _ in range(max(1, min(concurrency, len(pending))))]
        try:
            for fut in futures:
                fut.result()
        except KeyboardInterrupt:
            # Let the workers finish the messages in flight and mark them, then stop.
            interrupted = True
            stop.set()
        except BaseException:
            stop.set()
            raise
    summary.elapsed_s = time.monotonic() - started
    counts = store.counts(edition_date)
    summary.pending = counts["pending"]
    summary.skipped = counts["skipped"]
    summary.failed = counts["failed"]
    summary.unknown = counts["sending"]
    if interrupted:
        summary.stopped = "interrupted"
    if summary.stopped:
        rerun = "rerun 'newsletter send' once it is fixed"
        if outage.is_set() and summary.failed:
            # A plain rerun sends only pending rows; the ones the outage failed stay failed.
            rerun = (
                f"once it is fixed, rerun 'newsletter send --retry-failed' (a plain rerun "
                f"leaves the {summary.failed} failed rows unsent)"
            )
        raise DeliveryStopped(
            f"delivery stopped: {summary.stopped}; {summary.sent} sent, "
            f"{summary.pending} still pending: {rerun}",
            summary,
        )
    return summary
