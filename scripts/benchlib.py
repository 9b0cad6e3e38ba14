"""What every benchmark in scripts/ shares: the median wall time of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_s(func: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``func``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine_speed() -> str:
    """The machine's pace just now: a fixed pure-Python loop in ms (median of 9) and the load.

    On this shared 2-core VM whole runs are at times about twice as slow, our code or not;
    a figure is read against the loop measured beside it (about 11 ms on a usual run).
    """
    import os

    def loop() -> None:
        total = 0
        for i in range(200_000):
            total += i * i

    one, five, _ = os.getloadavg()
    pace = median_s(loop, 9) * 1000
    return f"machine: reference loop {pace:.1f} ms, load average {one:.1f} {five:.1f}"
