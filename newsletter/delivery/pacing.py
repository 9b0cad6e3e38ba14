"""Pace and patience: the rate limiter, the rate to hold, and how hard to retry a message."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .transports import Transport

log = logging.getLogger(__name__)


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
