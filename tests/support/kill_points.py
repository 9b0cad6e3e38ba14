"""Kill a real ``newsletter send`` with SIGKILL at a chosen point of the claim -> send -> mark
cycle, then rerun it, and count what subscribers got (``scripts/kill_points.py`` runs 20
points and prints the table; ``tests/delivery/test_faults_kill.py`` runs a few).

A point is (request number, phase), counted by the fault proxy in front of moto's SES:

- ``received``: the n-th SendEmail reached the proxy and goes no further (killed before SES
  saw it: the row was claimed, nothing was sent);
- ``answered``: SES took the n-th message; its answer never reaches the process (sent, but
  the ledger cannot know);
- ``relayed``: the answer reached the process, which is killed while it marks the row.

After the kill: a plain rerun (must never resend an unknown row, and must exit 1 when rows
are unknown), then ``send --retry-unknown`` (the explicit policy). Nobody may be lost, and
duplicates may come only from the rows in flight at the kill.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from newsletter.delivery.feed import claim_batch
from support.delivery_servers import AWS_ENV, DAY, MotoSes, make_site, subscriber_rows
from support.fault_proxy import PASS, RESET_BEFORE, Fault, FaultProxy

CONCURRENCY = 4
RATE = 32  # per second: each worker claims batches of 2 rows (delivery.feed.claim_batch)
IN_FLIGHT = CONCURRENCY * claim_batch(RATE, CONCURRENCY)  # rows a kill can leave unknown
PHASES = ("received", "answered", "relayed")


@dataclass(frozen=True)
class Point:
    request: int
    phase: str

    def __str__(self) -> str:
        return f"#{self.request} {self.phase}"


@dataclass
class Outcome:
    point: Point
    killed: bool
    unknown_at_kill: int
    unknown_reported: int
    lost: int
    duplicates: int
    rerun_exit: int
    retry_exit: int

    @property
    def ok(self) -> bool:
        """Nobody lost, duplicates only from rows in flight, and the exit codes right."""
        return (
            self.killed
            and self.lost == 0
            and self.duplicates <= min(self.unknown_reported, IN_FLIGHT)
            and self.rerun_exit == (1 if self.unknown_reported else 0)
            and self.retry_exit == 0
        )


def make_template(root: Path, subscribers: int) -> Path:
    """A site with ``subscribers`` subscribers and the sample day built, to copy per point."""
    site = root / "template"
    site.mkdir(parents=True)
    cwd = Path.cwd()
    os.chdir(site)
    try:
        make_site(site, subscriber_rows(subscribers, [""]))
    finally:
        os.chdir(cwd)
    return site


def send_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(AWS_ENV)
    env.update(
        {
            "NEWSLETTER_DELIVERY__TRANSPORT": "ses",
            "NEWSLETTER_DELIVERY__SES__ENDPOINT_URL": url,
            "NEWSLETTER_DELIVERY__RATE_PER_S": str(RATE),
            "NEWSLETTER_DELIVERY__CONCURRENCY": str(CONCURRENCY),
            "NEWSLETTER_DELIVERY__RETRY_BACKOFF_S": "0.01",
        }
    )
    return env


def _send(site: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "send", "--date", DAY, *extra],
        cwd=site,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _states(site: Path) -> dict[str, str]:
    with sqlite3.connect(site / "data" / "newsletter.db", timeout=30) as conn:
        return dict(conn.execute("SELECT email, state FROM deliveries WHERE date=?", (DAY,)))


def run_point(moto: MotoSes, template: Path, workdir: Path, point: Point) -> Outcome:
    """One kill at ``point``, the reruns, and what every subscriber got."""
    moto.reset()
    site = workdir / f"point-{point.request}-{point.phase}"
    shutil.copytree(template, site)
    victim: list[subprocess.Popen[bytes]] = []
    killed = threading.Event()

    def plan(n: int, request: bytes) -> Fault:
        return RESET_BEFORE if n == point.request and point.phase == "received" else PASS

    def on_phase(n: int, phase: str) -> None:
        if (n, phase) == (point.request, point.phase) and victim:
            victim[0].send_signal(signal.SIGKILL)
            killed.set()

    proxy = FaultProxy(moto.address, plan, on_phase)
    try:
        env = send_env(proxy.url)
        victim.append(_send(site, env))
        victim[0].wait(timeout=300)
        unknown_at_kill = Counter(_states(site).values())["sending"]
        rerun = _send(site, env)
        rerun_exit = rerun.wait(timeout=300)
        unknown_reported = Counter(_states(site).values())["sending"]
        retry = _send(site, env, "--retry-unknown")
        retry_exit = retry.wait(timeout=300)
    finally:
        proxy.stop()
    got = Counter(str(m["destinations"][0]) for m in moto.sent())
    planned = [email for email, state in _states(site).items() if state != "skipped"]
    return Outcome(
        point=point,
        killed=killed.is_set(),
        unknown_at_kill=unknown_at_kill,
        unknown_reported=unknown_reported,
        lost=sum(1 for email in planned if not got[email]),
        duplicates=sum(count - 1 for count in got.values() if count > 1),
        rerun_exit=rerun_exit,
        retry_exit=retry_exit,
    )


HEADER = (
    f"{'kill at':<16} {'unknown':>7} {'reported':>8} {'lost':>4} {'dupes':>5} "
    f"{'rerun':>5} {'retry':>5}  verdict"
)


def row(outcome: Outcome) -> str:
    o = outcome
    verdict = "pass" if o.ok else "FAIL"
    if not o.killed:
        verdict += " (the run ended before the point)"
    return (
        f"{o.point!s:<16} {o.unknown_at_kill:>7} {o.unknown_reported:>8} {o.lost:>4} "
        f"{o.duplicates:>5} {o.rerun_exit:>5} {o.retry_exit:>5}  {verdict}"
    )
