"""The README's schedule examples: the cron line and the systemd service and timer parse, retry
on exit 75 only, and fire when every source's list of the default day has closed.

The units go through ``systemd-analyze verify`` (Debian's ``systemd`` package, which
``.ci/run`` installs; it needs no running systemd); a small parser checks them as well.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import REPO

from newsletter.config import FeedSettings, Settings
from newsletter.dates import default_edition_date, source_day
from newsletter.pipeline import EX_TEMPFAIL
from newsletter.sources import not_ready

README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Running it every morning", 1)[1].split("\n## ", 1)[0]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", SECTION, re.DOTALL)


def cron_line() -> list[str]:
    (block,) = blocks("cron")
    lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1, lines
    return lines[0].split(None, 5)


def unit(name: str) -> str:
    found = [b for b in blocks("ini") if b.startswith(f"# /etc/systemd/system/{name}\n")]
    assert len(found) == 1, f"no {name} in the README"
    return found[0]


def parse_unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        strict=True, interpolation=None, comment_prefixes=("#", ";"), delimiters=("=",)
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(text)
    return parser


# -- cron ---------------------------------------------------------------------------------

RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def cron_values(field: str, low: int, high: int) -> set[int]:
    """The values one cron field names (lists, ranges, steps, '*'); AssertionError if bad."""
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        first, last = (low, high) if base == "*" else map(int, (base.split("-") * 2)[:2])
        assert low <= first <= last <= high, f"cron field {field!r} out of {low}-{high}"
        values |= set(range(first, last + 1, int(step) if step else 1))
    return values


def test_the_cron_line_is_valid_and_retries_on_75() -> None:
    *fields, command = cron_line()
    for field, (low, high) in zip(fields, RANGES, strict=True):
        assert cron_values(field, low, high)
    assert fields[2:] == ["*", "*", "*"], "every day"
    assert "%" not in command  # cron would cut the line there
    assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0
    assert "newsletter send" in command and f"$? -eq {EX_TEMPFAIL}" in command


# -- systemd ------------------------------------------------------------------------------

KNOWN = {
    "Unit": {"Description", "Wants", "After"},
    "Service": {
        "Type",
        "User",
        "WorkingDirectory",
        "ExecStart",
        "Restart",
        "RestartSec",
        "RestartPreventExitStatus",
    },
    "Timer": {"OnCalendar", "Persistent"},
    "Install": {"WantedBy"},
}


def test_the_units_parse_and_restart_on_75_only() -> None:
    service, timer = parse_unit(unit("newsletter.service")), parse_unit(unit("newsletter.timer"))
    for parsed in (service, timer):
        for section in parsed.sections():
            assert set(parsed[section]) <= KNOWN[section], (section, set(parsed[section]))
    s = service["Service"]
    assert s["Type"] == "oneshot" and s["ExecStart"].endswith("/newsletter send")
    # A oneshot service may only use Restart=no or on-failure.
    assert s["Restart"] == "on-failure"
    prevented = {int(code) for code in s["RestartPreventExitStatus"].split()}
    assert EX_TEMPFAIL not in prevented and {1, 2} <= prevented
    assert timer["Install"]["WantedBy"] == "timers.target"


def timer_time() -> tuple[time, ZoneInfo]:
    spec = parse_unit(unit("newsletter.timer"))["Timer"]["OnCalendar"]
    match = re.fullmatch(r"\*-\*-\* (\d\d):(\d\d) ([\w/]+)", spec)
    assert match, f"OnCalendar {spec!r}: expected '*-*-* HH:MM Zone'"
    return time(int(match[1]), int(match[2])), ZoneInfo(match[3])


def cron_time() -> tuple[time, ZoneInfo]:
    minute, hour, *_ = cron_line()
    return time(int(hour), int(minute)), ZoneInfo("UTC")  # the README's line assumes UTC


@pytest.mark.parametrize("schedule", [timer_time, cron_time])
def test_each_scheduled_run_finds_every_list_closed(schedule) -> None:  # type: ignore[no-untyped-def]
    at, zone = schedule()
    s = Settings()
    s.sources.arxiv.categories = ["cs.CL"]  # the arXiv listing counts too
    s.sources.feeds = [FeedSettings(name="f", url="https://example.org/feed.xml")]
    for offset in range(366):  # a year: both sides of every daylight-saving change
        fire = datetime.combine(date(2026, 1, 1) + timedelta(days=offset), at, zone)
        edition = default_edition_date(s, now=fire.astimezone(UTC))
        waiting = not_ready(s, source_day(s, edition), fire.astimezone(UTC))
        assert waiting is None, f"{fire}: edition {edition} not ready ({waiting})"


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    # Like the browser tests with Chromium: a missing tool fails, it does not pass unseen.
    assert analyze is not None, "systemd-analyze not found: apt-get install systemd (.ci/run does)"
    # The units name /srv/newsletter: point them at a folder with an executable in its place.
    home = tmp_path / "srv"
    (home / ".venv" / "bin").mkdir(parents=True)
    program = home / ".venv" / "bin" / "newsletter"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    paths = []
    for name in ("newsletter.service", "newsletter.timer"):
        path = tmp_path / name
        path.write_text(unit(name).replace("/srv/newsletter", str(home)))
        paths.append(str(path))
    done = subprocess.run(
        [analyze, "verify", *paths], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    # And a unit it must refuse, so that a pass means something.
    bad = tmp_path / "bad.service"
    bad.write_text(unit("newsletter.service").replace("Restart=on-failure", "Restart=always"))
    refused = subprocess.run(
        [analyze, "verify", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode != 0 and "oneshot" in refused.stderr
