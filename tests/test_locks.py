"""The edition date's lock: re-entrant in a process, bounded wait against another process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.processes import lock_held

from newsletter.errors import Busy
from newsletter.locks import date_lock, lock_path

DAY = "2026-06-12"


class FakeClock:
    """A clock that moves only when the lock sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += 1
        self.now += seconds


def test_nested_takes_in_one_process_do_not_block(tmp_path: Path) -> None:
    with date_lock(tmp_path, DAY, command="send"):
        with date_lock(tmp_path, DAY, command="build"):
            pass
        with date_lock(tmp_path, DAY, command="send"):
            pass
    assert '"command": "send"' in lock_path(tmp_path, DAY).read_text()


def test_other_dates_are_not_held(tmp_path: Path) -> None:
    with lock_held(tmp_path, DAY), date_lock(tmp_path, "2026-06-13", command="send"):
        pass


def test_held_by_another_process_without_wait_refuses_naming_it(tmp_path: Path) -> None:
    with (
        lock_held(tmp_path, DAY, "analyze") as pid,
        pytest.raises(Busy) as caught,
        date_lock(tmp_path, DAY, command="send"),
    ):
        pass
    message = str(caught.value)
    assert f"'newsletter analyze' (pid {pid}, since " in message
    assert f"is working on {DAY}" in message and "storage.lock_wait_s" in message


def test_a_bounded_wait_says_whom_it_waits_for_then_refuses(tmp_path: Path) -> None:
    clock, said = FakeClock(), []
    with (
        lock_held(tmp_path, DAY) as pid,
        pytest.raises(Busy, match="after waiting 5s"),
        date_lock(
            tmp_path,
            DAY,
            command="send",
            wait_s=5,
            on_wait=said.append,
            clock=clock,
            sleep=clock.sleep,
        ),
    ):
        pass
    assert len(said) == 1
    assert re.fullmatch(
        rf"waiting up to 5s for 'newsletter send' \(pid {pid}, since [\d-]+ [\d:]+\) to "
        rf"finish {DAY}",
        said[0],
    )
    assert clock.now >= 5 and clock.slept == 25  # polled every 0.2 s, said once


def test_the_wait_ends_when_the_other_process_lets_go(tmp_path: Path) -> None:
    clock = FakeClock()
    holder = lock_held(tmp_path, DAY)
    holder.__enter__()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.slept == 3:
            holder.__exit__(None, None, None)  # the other run finishes while we wait

    with date_lock(tmp_path, DAY, command="send", wait_s=60, clock=clock, sleep=sleep):
        assert clock.slept == 3
