"""Pace and patience: the rate limiter, the rate to hold, and how hard to retry a message."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .transports import Transport

log = logging.getLogger(__name__)


class RateLimiter:
    """A fixed timeline: the k-th message is due ``k / rate`` seconds after the first.

    Each caller reserves the next free slot and sleeps until it. A slot is never earlier than
    the moment it is reserved, so slots are at least ``1 / rate`` apart (no second holds more
    than ``rate`` + 1 messages), and a caller that wakes late does not move the slots after
    it: the rate holds however long each sleep overshoots. (A token bucket refilled after each
    sleep lost that overshoot on every message: 5% under the rate at 100/s.) Slots alone bound
    the slots; a thread waking late for its slot could still go out beside the next one, so
    the messages are also counted as they are let go, and none is let go that would make a
    second hold more than rate + 1 of them.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self.next: float | None = None  # the next free slot; None until the first message
        self.lock = threading.Lock()
        # When the last messages were let go, as many as one second may hold: a thread that
        # wakes late for its slot would otherwise go out beside the next slot's message.
        self.most = int(rate) + 1
        self.released: deque[float] = deque(maxlen=self.most)

    def reserve(self, n: int = 1) -> float:
        """Reserve ``n`` consecutive slots; returns the time of the last one."""
        with self.lock:
            now = self.clock()
            first = now if self.next is None else max(self.next, now)
            last = first + (n - 1) * self.interval
            self.next = last + self.interval
        return last

    def acquire(self, n: int = 1) -> None:
        """Block until the last of ``n`` reserved slots (a call carrying ``n`` messages)."""
        self.wait_until(self.reserve(n), n)

    def wait_until(self, due: float, n: int = 1) -> None:
        """Sleep until the reserved slot ``due``, and on until letting ``n`` messages go keeps
        every second (as they are let go) within rate + 1 of them."""
        while True:
            while (wait_s := due - self.clock()) > 0:
                self.sleep(wait_s)
            with self.lock:
                now = self.clock()
                keep = self.most - n  # earlier messages that may share a second with these
                if n > self.most or len(self.released) <= keep:
                    self.released.extend([now] * n)
                    return
                oldest = self.released[-(keep + 1)]
                if oldest + 1.0 + 1e-6 <= now:
                    self.released.extend([now] * n)
                    return
                due = oldest + 1.0 + 1e-6

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the service asked us to slow down)."""
        with self.lock:
            resume = self.clock() + seconds
            self.next = resume if self.next is None else max(self.next, resume)


DEFAULT_RATE_PER_S = 10.0


def delivery_rate(configured: float, transport: Transport) -> float:
    """The rate to hold: the configured one, capped by the transport's own (SES MaxSendRate).

    ``configured`` 0 means "whatever the transport allows" (10/s when it cannot tell).
    """
    own = transport.max_send_rate()
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

    def backoff(self, n: int) -> float:
        """The wait before try ``n + 1``: doubling from ``backoff_s``, capped, with jitter."""
        base: float = min(self.max_backoff_s, self.backoff_s * 2.0 ** (n - 1))
        return base * random.uniform(0.5, 1.0)  # jitter: workers do not retry in lockstep
