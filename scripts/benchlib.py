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
