"""A real `newsletter send` process killed with SIGKILL mid-batch, then rerun, against SES.

Every subscriber must end with exactly one message, except the rows the ledger reports as
unknown (claimed, never confirmed): each of those has at most one, none is resent until
`send --retry-unknown` says so, and there are never more of them than the batches in flight
(each worker claims ``claim_batch(rate, workers)`` rows per transaction).

The kill is deterministic: the scripted SES accepts the first messages, then holds every
worker's next request until the process is gone, so the kill lands in the middle of a batch
whatever the machine's load (no polling race against a fast or a slow run).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from support.delivery_servers import AWS_ENV, DAY, ScriptedSes, make_site, subscriber_rows

from newsletter.delivery.feed import claim_batch

SUBSCRIBERS = 300
CONCURRENCY = 4
RATE = 100.0


class Gate:
    """``decide`` for ScriptedSes: accept ``first`` messages, hold the next ``workers``.

    The held requests wait until ``release()``, then are accepted (SES got them, whether or
    not anyone hears the answer). Later requests get ``then`` (200 accepted, 429 throttled).
    """

    def __init__(self, first: int, then: int = 200, workers: int = CONCURRENCY) -> None:
        self.first, self.then, self.workers = first, then, workers
        self.released = threading.Event()
        self.cond = threading.Condition()
        self.held = 0

    def __call__(self, rcpt: str, n: int) -> tuple[int, str, str]:
        if n <= self.first:
            return 200, "", ""
        if n <= self.first + self.workers:
            with self.cond:
                self.held += 1
                self.cond.notify_all()
            self.released.wait()
            return 200, "", ""
        if self.then == 429:
            return 429, "TooManyRequestsException", "Maximum sending rate exceeded."
        return 200, "", ""

    def wait_all_held(self, proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
        """Until every worker of ``proc`` is stuck in a held request (or fail if it ended)."""
        deadline = time.monotonic() + 120
        with self.cond:
            while self.held < self.workers:
                assert proc.poll() is None, "send ended before its workers were held"
                assert time.monotonic() < deadline, f"only {self.held} requests held"
                self.cond.wait(timeout=0.1)

    def release(self) -> None:
        self.released.set()


def send_env(url: str, workers: int = CONCURRENCY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(AWS_ENV)
    env.update(
        {
            "NEWSLETTER_DELIVERY__TRANSPORT": "ses",
            "NEWSLETTER_DELIVERY__SES__ENDPOINT_URL": url,
            "NEWSLETTER_DELIVERY__RATE_PER_S": str(RATE),
            "NEWSLETTER_DELIVERY__CONCURRENCY": str(workers),
            # Throttling answers (SIGTERM test) back off briefly, so the stop is seen at once.
            "NEWSLETTER_DELIVERY__RETRY_BACKOFF_S": "0.01",
        }
    )
    return env


def ledger_counts(db: Path) -> Counter[str]:
    """The ledger's states; empty while the file or its table is still being created."""
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return Counter(
                dict(
                    conn.execute(
                        "SELECT state, COUNT(*) FROM deliveries WHERE date=? GROUP BY state", (DAY,)
                    )
                )
            )
    except sqlite3.OperationalError:  # "no such table", "database is locked"
        return Counter()


def newsletter(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def wait_answered(server: ScriptedSes, count: int) -> None:
    """Until ``count`` requests have been answered (the released ones finish late)."""
    deadline = time.monotonic() + 60
    while len(server.answers) < count:
        assert time.monotonic() < deadline, f"{len(server.answers)} of {count} answered"
        time.sleep(0.02)


def kill_when_held(gate: Gate, workdir: Path, env: dict[str, str]) -> None:
    """Start `send`, SIGKILL it once every worker is stuck in a held request."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "send", "--date", DAY],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        gate.wait_all_held(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        gate.release()  # SES goes on to accept the held messages: sent, but unconfirmed
    assert proc.returncode == -signal.SIGKILL


def ledger_states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT email, state FROM deliveries WHERE date=?", (DAY,)))


def test_sigkill_mid_batch_leaves_only_the_batch_in_flight_unknown(workdir: Path) -> None:
    # One worker: the batches are deterministic, so the ledger at the kill is known exactly.
    batch = claim_batch(RATE, 1)
    assert batch > 5  # the kill must land inside a batch, not between two
    first = 2 * batch + 5  # two whole batches, then 5 messages into the third
    gate = Gate(first=first, workers=1)
    server = ScriptedSes(gate)
    try:
        rows = subscriber_rows(100, [""])
        make_site(workdir, rows)
        db = workdir / "data" / "newsletter.db"
        kill_when_held(gate, workdir, send_env(server.url, workers=1))
        wait_answered(server, first + 1)
        states = ledger_states(db)
        sent_before_kill = {a["to"] for a in server.accepted}
    finally:
        gate.release()
        server.stop()
    # The two finished batches are recorded; the whole third batch is unknown: its first five
    # messages and the held one reached SES, the rest never left.
    assert Counter(states.values()) == {
        "sent": 2 * batch,
        "sending": batch,
        "pending": 100 - 3 * batch,
    }
    unknown = {e for e, st in states.items() if st == "sending"}
    assert len(unknown & sent_before_kill) == 6 and len(unknown - sent_before_kill) == batch - 6
    assert {e for e, st in states.items() if st == "sent"} <= sent_before_kill


def test_sigkill_mid_run_then_rerun(workdir: Path) -> None:
    gate = Gate(first=63)
    server = ScriptedSes(gate)
    in_flight = CONCURRENCY * claim_batch(RATE, CONCURRENCY)
    try:
        rows = subscriber_rows(SUBSCRIBERS, ["", "llm", "vision", "agents,llm", "robotics"])
        make_site(workdir, rows)
        env = send_env(server.url)
        db = workdir / "data" / "newsletter.db"
        kill_when_held(gate, workdir, env)
        at_kill = ledger_counts(db)
        planned = SUBSCRIBERS - at_kill["skipped"]
        wait_answered(server, 63 + CONCURRENCY)
        accepted_at_kill = Counter(a["to"] for a in server.accepted)
        # No row is sent twice, none is lost: the sent ones are recorded, the batches in
        # flight unknown (at most one batch per worker), the rest still pending.
        assert CONCURRENCY <= at_kill["sending"] <= in_flight, at_kill
        assert at_kill["sent"] + at_kill["sending"] + at_kill["pending"] == planned, at_kill
        assert at_kill["sent"] + at_kill["sending"] >= 63 + CONCURRENCY, at_kill
        assert set(accepted_at_kill.values()) == {1} and sum(accepted_at_kill.values()) == 67

        # Rerun without --retry-unknown: resumes, never touches the unknown rows, and exits 1
        # saying what to do, so a scheduler notices that some may lack the edition.
        rerun = newsletter("send", "--date", DAY, cwd=workdir, env=env)
        assert rerun.returncode == 1, rerun.stdout + rerun.stderr
        status = newsletter("status", "--date", DAY, cwd=workdir, env=env)
        unknown = {
            line.split("never confirmed): ", 1)[1].split()[0]
            for line in status.stdout.splitlines()
            if "never confirmed" in line
        }
        assert len(unknown) == at_kill["sending"], status.stdout
        assert f"unknown {len(unknown)}" in status.stdout
        assert f"{len(unknown)} deliveries have an unknown outcome" in rerun.stderr
        assert f"'newsletter send --date {DAY} --retry-unknown' resends them" in rerun.stderr

        got = Counter(a["to"] for a in server.accepted)
        states = ledger_states(db)
        assert len(states) == SUBSCRIBERS  # no one silently dropped
        for row in rows:
            email = row["email"]
            if states[email] == "skipped":
                assert got[email] == 0
            elif email in unknown:
                # Sent before the kill or never sent, and never resent by the rerun.
                assert states[email] == "sending" and got[email] == accepted_at_kill[email], email
            else:
                assert states[email] == "sent" and got[email] == 1, email
        assert Counter(states.values()) == Counter(
            {
                "sent": planned - len(unknown),
                "sending": len(unknown),
                "skipped": at_kill["skipped"],
            }
        )

        # The explicit policy: resend the unknown ones (one sent before the kill arrives twice).
        retry = newsletter("send", "--date", DAY, "--retry-unknown", cwd=workdir, env=env)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        got = Counter(a["to"] for a in server.accepted)
        assert {email: got[email] for email in unknown} == {
            email: accepted_at_kill[email] + 1 for email in unknown
        }
        assert ledger_counts(db)["sending"] == 0
    finally:
        gate.release()
        server.stop()


def test_sigterm_finishes_in_flight_messages_and_leaves_nothing_unknown(workdir: Path) -> None:
    # After the held requests, SES throttles: however late the signal is handled, no
    # further message is accepted, so the outcome is exact.
    gate = Gate(first=30, then=429)
    server = ScriptedSes(gate)
    try:
        rows = subscriber_rows(200, [""])
        make_site(workdir, rows)
        db = workdir / "data" / "newsletter.db"
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "send", "--date", DAY],
            cwd=workdir,
            env=send_env(server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            gate.wait_all_held(proc)
            proc.send_signal(signal.SIGTERM)
            gate.release()  # the messages in flight are answered: they must be recorded
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        gate.release()
        server.stop()
    assert proc.returncode == 1, out
    assert "delivery stopped: interrupted" in out
    counts = ledger_counts(db)
    assert counts == Counter({"sent": 30 + CONCURRENCY, "pending": 200 - 30 - CONCURRENCY}), counts
    got = Counter(a["to"] for a in server.accepted)
    assert sum(got.values()) == counts["sent"] and set(got.values()) == {1}
