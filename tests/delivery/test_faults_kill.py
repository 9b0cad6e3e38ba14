"""SIGKILL at points of the claim -> send -> mark cycle (all 20: scripts/kill_points.py).

Each point kills a real ``newsletter send`` (counted at the fault proxy in front of moto's
SES), reruns it and then retries the unknown rows: nobody is lost, the rerun exits 1 while
rows are unknown and resends none, and duplicates come only from the rows in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.delivery_servers import MotoSes
from support.kill_points import IN_FLIGHT, Point, make_template, row, run_point

SUBSCRIBERS = 24


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    server = MotoSes()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("kill"), SUBSCRIBERS)


@pytest.mark.parametrize(
    "point",
    [Point(1, "received"), Point(12, "answered"), Point(SUBSCRIBERS - 2, "relayed")],
    ids=str,
)
def test_sigkill_at_a_point_loses_nobody(
    moto: MotoSes, template: Path, tmp_path: Path, point: Point
) -> None:
    outcome = run_point(moto, template, tmp_path, point)
    assert outcome.killed, row(outcome)
    assert outcome.lost == 0, row(outcome)
    assert 0 < outcome.unknown_reported <= IN_FLIGHT, row(outcome)
    assert outcome.duplicates <= outcome.unknown_reported, row(outcome)
    assert (outcome.rerun_exit, outcome.retry_exit) == (1, 0), row(outcome)
    assert outcome.ok
