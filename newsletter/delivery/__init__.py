"""The delivery loop: plan ledger rows, then claim -> send -> mark, paced and in parallel."""

from __future__ import annotations

import html as html_lib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from ..config import Settings
from ..errors import ConfigError, DeliveryError
from ..models import Subscriber
from ..store import Store
from .message import HeaderInjection, build_message, message_id, sender_domain, unsubscribe_token
from .transports import Fatal, Permanent, Throttled, Transient, Transport, secret_from_env

log = logging.getLogger(__name__)


class RateLimiter:
    """Token bucket: at most ``rate`` acquisitions per second on average, bursts of ``burst``."""

    def __init__(self, rate: float, burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait_s = (1 - self.tokens) / self.rate
            self.sleep(wait_s)


@dataclass
class VariantMessage:
    """A rendered variant with the tokens delivery fills per recipient."""

    key: str
    html: str
    text: str
    unsubscribe_token: str
    topics_token: str
    paper_count: int


@dataclass
class Summary:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    already: int = 0
    pending: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        return (f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}, "
                f"unknown {self.unknown}, already done {self.already} "
                f"in {self.elapsed_s:.1f}s ({self.rate:.1f}/s)")


@dataclass
class Personalizer:
    """Fills the per-recipient parts of a variant and builds its message."""

    settings: Settings
    edition_date: str
    subject: str
    all_topics_label: str

    def __post_init__(self) -> None:
        d = self.settings.delivery
        self.domain = sender_domain(d.from_)
        self.secret = secret_from_env(d.unsubscribe_secret_env)
        if d.unsubscribe_url and not self.secret:
            raise ConfigError(f"delivery.unsubscribe_url is set but ${d.unsubscribe_secret_env}"
                              " (the key that signs unsubscribe links) is empty")
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

    def message(self, variant: VariantMessage, sub: Subscriber) -> bytes:
        link, https = self.links(sub.email)
        topics = ", ".join(sub.topics) if sub.topics else self.all_topics_label
        if sub.exclude:
            topics += " (−" + ", ".join(sub.exclude) + ")"
        html = variant.html.replace(variant.unsubscribe_token, html_lib.escape(link, quote=True))
        html = html.replace(variant.topics_token, html_lib.escape(topics))
        text = variant.text.replace(variant.unsubscribe_token, link)
        text = text.replace(variant.topics_token, topics)
        d = self.settings.delivery
        msg = build_message(
            from_=d.from_, to=sub.email, to_name=sub.name, subject=self.subject, html=html,
            text=text, msg_id=message_id(self.edition_date, sub.email, self.domain),
            date=datetime.now(UTC), list_id=d.list_id, unsubscribe_url=https,
            unsubscribe_mailto=quote(self.mailto, safe=":@?=&/.+-_") if self.mailto else "",
            reply_to=d.reply_to,
        )
        return msg.as_bytes()


def plan(store: Store, edition_date: str, assignments: dict[str, str | None]) -> int:
    """Ledger rows for every subscriber: pending with a variant, or skipped (no papers)."""
    rows = [(email, key or "", "pending" if key else "skipped")
            for email, key in sorted(assignments.items())]
    return store.plan(edition_date, rows)


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
    max_attempts: int = 5,
    backoff_s: float = 1.0,
    on_progress: Callable[[Summary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Send every pending row once; the ledger decides, so a rerun resumes."""
    summary = Summary()
    counts = store.counts(edition_date)
    summary.unknown = counts["sending"]
    summary.already = counts["sent"]
    summary.skipped = counts["skipped"]
    summary.failed = counts["failed"]
    pending = [r for r in store.rows(edition_date, "pending") if r.email in subscribers]
    if limit is not None:
        pending = pending[:limit]
    limiter = RateLimiter(rate_per_s, burst=min(rate_per_s, float(concurrency)), sleep=sleep)
    stop = threading.Event()
    lock = threading.Lock()
    started = time.monotonic()

    def deliver_one(email: str, key: str) -> None:
        if stop.is_set():
            return
        sub = subscribers[email]
        variant = variants[key]
        try:
            raw = personalizer.message(variant, sub)
        except HeaderInjection as exc:
            if store.claim(edition_date, email):
                store.mark(edition_date, email, "failed", error=f"bad header: {exc}")
            with lock:
                summary.failed += 1
                summary.errors.append(f"{email}: {exc}")
            return
        if not store.claim(edition_date, email):
            return  # another process or thread has it
        attempt = 0
        while True:
            attempt += 1
            limiter.acquire()
            try:
                mid = transport.send(raw, personalizer.settings.delivery.from_, email,
                                     {"edition": edition_date, "variant": key})
            except Throttled as exc:
                # Not a failure: wait and try again, without counting an attempt.
                attempt -= 1
                log.info("throttled sending to %s: %s", email, exc)
                sleep(backoff_s)
                continue
            except Transient as exc:
                if attempt < max_attempts:
                    sleep(backoff_s * 2 ** (attempt - 1))
                    continue
                store.mark(edition_date, email, "failed", error=f"gave up: {exc}")
                with lock:
                    summary.failed += 1
                    summary.errors.append(f"{email}: {exc}")
                return
            except Permanent as exc:
                store.mark(edition_date, email, "failed", error=str(exc))
                with lock:
                    summary.failed += 1
                    summary.errors.append(f"{email}: {exc}")
                return
            except Fatal as exc:
                # Nothing was sent: the row goes back to pending for the next run.
                store.mark(edition_date, email, "pending", error=str(exc))
                with lock:
                    summary.stopped = str(exc)
                stop.set()
                return
            store.mark(edition_date, email, "sent", message_id=mid or None)
            with lock:
                summary.sent += 1
                if on_progress:
                    on_progress(summary)
            return

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(deliver_one, r.email, r.variant) for r in pending]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in done:
            if fut.exception() is not None:
                stop.set()
                raise fut.exception()  # type: ignore[misc]
    summary.elapsed_s = time.monotonic() - started
    summary.pending = store.counts(edition_date)["pending"]
    if summary.stopped:
        raise DeliveryError(f"delivery stopped: {summary.stopped}; {summary.pending} "
                            "messages still pending, rerun 'newsletter send' once it is fixed")
    return summary
