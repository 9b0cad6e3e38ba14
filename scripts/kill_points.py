"""Kill ``newsletter send`` with SIGKILL at 20 points of the claim -> send -> mark cycle.

Each point is a SendEmail request number and a phase, counted by a fault proxy in front of
moto's SES server on 127.0.0.1 (``tests/support/fault_proxy.py``): killed before SES saw the
request, after SES took it but before its answer arrived, or just after the answer arrived.
After each kill a plain ``send`` reruns (it must exit 1 while rows are unknown, and resend
none of them), then ``send --retry-unknown``. Printed per point: rows left unknown by the
kill, rows the rerun reports unknown, subscribers lost, duplicates, both exit codes and the
verdict (nobody lost, duplicates no more than the rows in flight).

Usage: .venv/bin/python scripts/kill_points.py [--subscribers 120]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.delivery_servers import MotoSes  # noqa: E402
from support.kill_points import (  # noqa: E402
    CONCURRENCY,
    HEADER,
    IN_FLIGHT,
    PHASES,
    Point,
    make_template,
    row,
    run_point,
)


def points(subscribers: int) -> list[Point]:
    """20 points spread from the first request to the last, cycling through the phases."""
    step = (subscribers - 1) / 19
    return [Point(1 + round(i * step), PHASES[i % len(PHASES)]) for i in range(20)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=120)
    args = parser.parse_args()
    moto = MotoSes()
    started = time.monotonic()
    failed = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            template = make_template(Path(tmp), args.subscribers)
            print(
                f"{args.subscribers} subscribers, {CONCURRENCY} workers: {IN_FLIGHT} rows in "
                "flight at most (each worker's batch)"
            )
            print(HEADER)
            for point in points(args.subscribers):
                outcome = run_point(moto, template, Path(tmp), point)
                failed += not outcome.ok
                print(row(outcome), flush=True)
    finally:
        moto.stop()
    print(f"{20 - failed} of 20 points pass ({time.monotonic() - started:.0f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
