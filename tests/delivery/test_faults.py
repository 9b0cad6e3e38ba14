"""Faults between delivery and SES: a TCP proxy in front of moto's SES server injects them.

For each fault: nobody is lost (every subscriber ends with the edition, or in a state the run
reports), duplicates stay within the rows in flight, unknown rows are reported, and the exit
code says whether someone may lack the edition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import run
from support.delivery_servers import AWS_ENV, DAY, MotoSes, make_site, states, subscriber_rows
from support.fault_proxy import (
    CLOSE_AFTER,
    HOLD,
    INTERNAL,
    PASS,
    PAUSED,
    RESET_AFTER,
    RESET_BEFORE,
    THROTTLED,
    UNAVAILABLE,
    Answer,
    Fault,
    FaultProxy,
    Plan,
)

CONCURRENCY = 4


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    server = MotoSes()
    yield server
    server.stop()


@pytest.fixture
def ses(moto: MotoSes, monkeypatch: pytest.MonkeyPatch) -> MotoSes:
    moto.reset()
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__TRANSPORT", "ses")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RATE_PER_S", "400")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", str(CONCURRENCY))
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RETRY_BACKOFF_S", "0.01")
    return moto


class Proxied:
    """The proxy in front of moto, pointed at by the settings, stopped at teardown."""

    def __init__(self, moto: MotoSes, monkeypatch: pytest.MonkeyPatch, plan: Plan) -> None:
        self.moto = moto
        self.proxy = FaultProxy(moto.address, plan)
        monkeypatch.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", self.proxy.url)

    def received(self) -> Counter[str]:
        """How many messages SES took for each address."""
        return Counter(str(m["destinations"][0]) for m in self.moto.sent())


@pytest.fixture
def proxied(ses: MotoSes, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Proxied]]:
    made: list[Proxied] = []
    yield made
    for p in made:
        p.proxy.stop()


def start_proxy(
    made: list[Proxied], moto: MotoSes, monkeypatch: pytest.MonkeyPatch, plan: Plan
) -> Proxied:
    p = Proxied(moto, monkeypatch, plan)
    made.append(p)
    return p


def every(n: int, fault: Fault) -> Plan:
    """Plan: every n-th SendEmail request gets ``fault``."""
    return lambda count, request: fault if count % n == 0 else PASS


def between(first: int, last: int, fault: Fault) -> Plan:
    """Plan: requests ``first``..``last`` (a burst) get ``fault``."""
    return lambda count, request: fault if first <= count <= last else PASS


def check_nobody_lost(root: Path, received: Counter[str]) -> int:
    """Every planned subscriber got the edition; returns the number of duplicates."""
    ledger = states(root)
    planned = [email for email, state in ledger.items() if state != "skipped"]
    assert planned, ledger
    missing = [email for email in planned if not received[email]]
    assert missing == [], f"lost: {missing}"
    assert all(received[email] == 0 for email, state in ledger.items() if state == "skipped")
    return sum(count - 1 for count in received.values())


def test_reset_before_the_request_reaches_ses_every_7th_request_is_retried(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = start_proxy(proxied, moto, monkeypatch, every(7, RESET_BEFORE))
    make_site(workdir, subscriber_rows(300, [""]))
    out = run("send", "--date", DAY).output
    resets = p.proxy.faults[RESET_BEFORE]
    assert resets >= 300 // 7
    assert "sent 300, skipped 0, failed 0, unknown 0" in out
    assert f"{resets} retried" in out
    assert set(states(workdir).values()) == {"sent"}
    assert check_nobody_lost(workdir, p.received()) == 0
    assert p.proxy.forwarded == 300  # SES saw each message once


def test_answer_lost_after_ses_took_it_is_unknown_reported_and_never_resent(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SES sends the message; the connection then closes before its answer comes back.
    p = start_proxy(proxied, moto, monkeypatch, every(10, CLOSE_AFTER))
    make_site(workdir, subscriber_rows(40, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "sent 36, skipped 0, failed 0, unknown 4" in result.output
    assert "4 deliveries have an unknown outcome" in result.output
    assert f"'newsletter send --date {DAY} --retry-unknown'" in result.output
    assert "RemoteDisconnected" in run("status", "--date", DAY).output
    again = run("send", "--date", DAY, code=1)  # still unknown: still non-zero
    assert "unknown 4" in again.output
    assert check_nobody_lost(workdir, p.received()) == 0
    assert Counter(states(workdir).values()) == {"sent": 36, "sending": 4}


def test_a_delay_past_the_read_timeout_is_unknown(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SES__TIMEOUT_S", "5")
    p = start_proxy(proxied, moto, monkeypatch, between(3, 4, HOLD))
    make_site(workdir, subscriber_rows(12, [""]))
    result = run("send", "--date", DAY, code=1)
    p.proxy.release()
    assert "sent 10, skipped 0, failed 0, unknown 2" in result.output
    assert "ReadTimeoutError" in result.output
    assert check_nobody_lost(workdir, p.received()) == 0


@pytest.mark.parametrize(
    ("fault", "name"),
    [(THROTTLED, "429 TooManyRequests"), (UNAVAILABLE, "503"), (INTERNAL, "500")],
)
def test_a_burst_of_429_or_5xx_is_waited_out_and_everyone_served(
    workdir: Path,
    moto: MotoSes,
    proxied: list[Proxied],
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
    name: str,
) -> None:
    p = start_proxy(proxied, moto, monkeypatch, between(5, 12, fault))
    make_site(workdir, subscriber_rows(30, [""]))
    out = run("send", "--date", DAY).output
    assert "sent 30, skipped 0, failed 0, unknown 0" in out
    counted = "8 throttled" if fault is THROTTLED else "8 retried"
    assert counted in out, name
    assert check_nobody_lost(workdir, p.received()) == 0


def test_sending_paused_stops_at_once_and_the_rerun_sends_the_rest(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    paused = [True]

    def plan(count: int, request: bytes) -> Fault:
        return PAUSED if count > 10 and paused[0] else PASS

    p = start_proxy(proxied, moto, monkeypatch, plan)
    make_site(workdir, subscriber_rows(30, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "delivery stopped: SES 400 SendingPausedException" in result.output
    ledger = Counter(states(workdir).values())
    assert ledger["sending"] == 0 and ledger["sent"] == 10 and ledger["pending"] == 20
    paused[0] = False
    out = run("send", "--date", DAY).output
    assert "sent 20, skipped 0, failed 0, unknown 0, already sent before 10" in out
    assert check_nobody_lost(workdir, p.received()) == 0


def test_reset_after_ses_took_the_request_is_resent_once(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The known limit of "a reset is retried": a reset cannot say whether SES read the
    # request. When SES did (a middlebox resetting after forwarding), the retry duplicates it:
    # one duplicate per such reset, and nobody lost.
    p = start_proxy(proxied, moto, monkeypatch, between(5, 6, RESET_AFTER))
    make_site(workdir, subscriber_rows(20, [""]))
    out = run("send", "--date", DAY).output
    assert "sent 20, skipped 0, failed 0, unknown 0" in out
    assert check_nobody_lost(workdir, p.received()) == p.proxy.faults[RESET_AFTER] == 2


def test_a_firewall_answering_403_html_stops_the_run_with_every_row_pending(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: each row failed one by one ("Permanent"), as if every address were bad.
    page = Answer(403, "", body=b"<html><h1>Request blocked</h1></html>", content_type="text/html")
    p = start_proxy(proxied, moto, monkeypatch, lambda n, request: page)
    make_site(workdir, subscriber_rows(10, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "delivery stopped: SES 403" in result.output and "Request blocked" in result.output
    assert set(states(workdir).values()) == {"pending"}
    assert p.received() == Counter()


def test_a_200_answer_nested_100000_deep_is_unknown_not_a_traceback(
    workdir: Path, moto: MotoSes, proxied: list[Proxied], monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = Answer(200, "", body=b"[" * 100_000 + b"]" * 100_000)
    start_proxy(proxied, moto, monkeypatch, lambda n, request: deep if n == 2 else PASS)
    make_site(workdir, subscriber_rows(5, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "sent 4, skipped 0, failed 0, unknown 1" in result.output
    assert "SES answered, but not readably (RecursionError)" in result.output
