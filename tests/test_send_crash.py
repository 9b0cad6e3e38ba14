"""A real `newsletter send` process killed with SIGKILL mid-run, then rerun, against moto SES.

Every subscriber must end with exactly one message, except the rows the ledger reports as
unknown (claimed, never confirmed): each of those has at most one, and none is resent until
`send --retry-unknown` says so.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_servers import AWS_ENV, DAY, MotoSes, make_site, subscriber_rows

SUBSCRIBERS = 300


@pytest.fixture
def moto() -> Iterator[MotoSes]:
    server = MotoSes()
    yield server
    server.stop()


def send_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(AWS_ENV)
    env.update({
        "NEWSLETTER_DELIVERY__TRANSPORT": "ses",
        "NEWSLETTER_DELIVERY__SES__ENDPOINT_URL": url,
        "NEWSLETTER_DELIVERY__RATE_PER_S": "100",
        "NEWSLETTER_DELIVERY__CONCURRENCY": "4",
    })
    return env


def ledger_counts(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        return Counter(dict(conn.execute(
            "SELECT state, COUNT(*) FROM deliveries WHERE date=? GROUP BY state", (DAY,))))


def newsletter(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sigkill_mid_run_then_rerun(workdir: Path, moto: MotoSes) -> None:
    rows = subscriber_rows(SUBSCRIBERS, ["", "llm", "vision", "agents,llm", "robotics"])
    make_site(workdir, rows)
    env = send_env(moto.url)
    db = workdir / "data" / "newsletter.db"
    proc = subprocess.Popen([sys.executable, "-m", "newsletter", "send", "--date", DAY],
                            cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and ledger_counts(db)["sent"] >= 60:
                break
            assert proc.poll() is None, "send finished before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    at_kill = ledger_counts(db)
    print("ledger at kill:", dict(at_kill))
    assert at_kill["pending"] > 0, f"killed too late to be mid-run: {at_kill}"
    assert at_kill["sending"] <= 4  # at most the messages in flight (concurrency)

    # Rerun without --retry-unknown: resumes, never touches the unknown rows.
    rerun = newsletter("send", "--date", DAY, cwd=workdir, env=env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    status = newsletter("status", "--date", DAY, cwd=workdir, env=env)
    unknown = {line.split("never confirmed): ", 1)[1].split()[0]
               for line in status.stdout.splitlines() if "never confirmed" in line}
    assert len(unknown) == at_kill["sending"]
    assert f"unknown {len(unknown)}" in status.stdout
    if unknown:
        assert f"{len(unknown)} deliveries have an unknown outcome" in rerun.stdout

    got = Counter(str(m["destinations"][0]) for m in moto.sent())
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT email, state FROM deliveries WHERE date=?", (DAY,)))
    assert len(states) == SUBSCRIBERS  # no one silently dropped
    for row in rows:
        email = row["email"]
        if states[email] == "skipped":
            assert got[email] == 0
        elif email in unknown:
            assert states[email] == "sending" and got[email] <= 1
        else:
            assert states[email] == "sent" and got[email] == 1, email
    assert Counter(states.values())["sent"] + len(unknown) + Counter(
        states.values())["skipped"] == SUBSCRIBERS

    # The explicit policy: resend the unknown ones; each has then at least one, at most two.
    retry = newsletter("send", "--date", DAY, "--retry-unknown", cwd=workdir, env=env)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    got = Counter(str(m["destinations"][0]) for m in moto.sent())
    for email in unknown:
        assert 1 <= got[email] <= 2
    assert ledger_counts(db)["sending"] == 0


def test_sigterm_finishes_in_flight_messages_and_leaves_nothing_unknown(
        workdir: Path, moto: MotoSes) -> None:
    rows = subscriber_rows(200, [""])
    make_site(workdir, rows)
    db = workdir / "data" / "newsletter.db"
    proc = subprocess.Popen([sys.executable, "-m", "newsletter", "send", "--date", DAY],
                            cwd=workdir, env=send_env(moto.url), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and ledger_counts(db)["sent"] >= 30:
                break
            assert proc.poll() is None, "send finished before it could be stopped"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out
    assert "delivery stopped: interrupted" in out
    counts = ledger_counts(db)
    assert counts["sending"] == 0 and counts["pending"] > 0
    got = Counter(str(m["destinations"][0]) for m in moto.sent())
    assert sum(got.values()) == counts["sent"] and set(got.values()) == {1}
