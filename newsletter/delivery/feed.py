"""The work of a delivery run: pending ledger rows, handed to the workers in batches."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from ..store import Row, Store

# How many seconds of sending one worker claims at a time, and the most rows a claim takes.
CLAIM_AHEAD_S = 0.25
MAX_BATCH = 50


def claim_batch(rate_per_s: float, workers: int, most: int = MAX_BATCH) -> int:
    """Rows one worker claims per transaction: ``CLAIM_AHEAD_S`` of its share of the rate."""
    return max(1, min(most, int(rate_per_s * CLAIM_AHEAD_S / max(1, workers))))


class Feed:
    """The pending rows of a date, handed out in batches, read from the ledger a page at a
    time (a million pending rows never sit in memory at once)."""

    def __init__(
        self, store: Store, date: str, wanted: Callable[[str], bool], limit: int | None
    ) -> None:
        self.store, self.date, self.wanted = store, date, wanted
        self.left = limit
        self.after = ""
        self.page: deque[tuple[str, str]] = deque()
        self.lock = threading.Lock()
        self.done = False

    def take(self, n: int) -> list[Row]:
        """Up to ``n`` pending rows not handed out before; [] when there are none left."""
        with self.lock:
            out: list[Row] = []
            while len(out) < n and (self.left is None or self.left > 0):
                if not self.page and not self._refill():
                    break
                email, variant = self.page.popleft()
                if not self.wanted(email):
                    continue  # not an active subscriber of this run: left pending
                out.append(Row(self.date, email, variant, "pending", None, 0, None))
                if self.left is not None:
                    self.left -= 1
            return out

    def _refill(self) -> bool:
        if self.done:
            return False
        page = self.store.pending_page(self.date, self.after, 1000)
        if not page:
            self.done = True
            return False
        self.after = page[-1][0]
        self.page.extend(page)
        return True
