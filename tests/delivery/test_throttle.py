"""SES pushing back: a local SES v2 endpoint scripted to throttle, fail, reject and pause."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from support.cli import run
from support.delivery_servers import (
    DAY,
    ScriptedSes,
    make_site,
    parse,
    ses_env,
    states,
    subscriber_rows,
)

from newsletter.config import load_settings
from newsletter.delivery.pacing import delivery_rate
from newsletter.delivery.summary import DeliveryStopped
from newsletter.delivery.transports.ses import SesTransport, make_ses_client
from newsletter.errors import ConfigError, Fatal
from newsletter.stages.deliver import deliver
from newsletter.store import Store


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    ses_env(monkeypatch, "ses", RATE_PER_S="400")
    return monkeypatch


def serve(env: pytest.MonkeyPatch, server: ScriptedSes) -> ScriptedSes:
    env.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", server.url)
    return server


def test_throttled_for_a_while_then_everyone_delivered(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    started: list[float] = []

    def decide(rcpt: str, n: int) -> tuple[int, str, str]:
        if not started:
            started.append(time.monotonic())
        if time.monotonic() - started[0] < 0.5:
            return 429, "TooManyRequestsException", "Maximum sending rate exceeded."
        return 200, "", ""

    server = serve(env, ScriptedSes(decide))
    try:
        rows = subscriber_rows(40, [""])
        make_site(workdir, rows)
        out = run("send", "--date", DAY).output
    finally:
        server.stop()
    throttled = sum(1 for _, status, _ in server.answers if status == 429)
    assert throttled > 0
    assert Counter(a["to"] for a in server.accepted) == {r["email"]: 1 for r in rows}
    assert "sent 40, skipped 0, failed 0, unknown 0" in out
    assert f"{throttled} throttled" in out
    assert set(states(workdir).values()) == {"sent"}


def test_transient_errors_retry_permanent_ones_are_recorded(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    rows = subscriber_rows(8, [""])
    flaky, dead, rejected = rows[1]["email"], rows[2]["email"], rows[3]["email"]
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def decide(rcpt: str, n: int) -> tuple[int, str, str]:
        with lock:
            seen[rcpt] += 1
            tries = seen[rcpt]
        if rcpt == flaky and tries <= 2:
            return 500, "InternalFailure", "try again"
        if rcpt == dead:
            return 503, "ServiceUnavailable", "down"
        if rcpt == rejected:
            return 400, "MessageRejected", "Email address is on the suppression list"
        return 200, "", ""

    server = serve(env, ScriptedSes(decide))
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)  # some failed: non-zero exit
    finally:
        server.stop()
    assert seen[flaky] == 3 and seen[dead] == 3 and seen[rejected] == 1
    assert "sent 6, skipped 0, failed 2, unknown 0" in result.output
    assert "4 retried" in result.output  # flaky twice, dead twice (its third try gives up)
    ledger = states(workdir)
    assert ledger[flaky] == "sent" and ledger[dead] == "failed" and ledger[rejected] == "failed"
    rows_by = {r.email: r for r in Store(workdir / "data" / "newsletter.db").rows(DAY)}
    assert "gave up after 3 attempts" in (rows_by[dead].last_error or "")
    assert "MessageRejected" in (rows_by[rejected].last_error or "")
    assert f"{rejected}: SES 400 MessageRejected" in result.output
    assert sorted(a["to"] for a in server.accepted) == sorted(
        r["email"] for r in rows if r["email"] not in (dead, rejected)
    )


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("SendingPausedException", 400, "Sending is paused for this account."),
        ("AccountSuspendedException", 400, "The account is suspended."),
        ("ThrottlingException", 400, "Daily message quota exceeded."),
    ],
)
def test_paused_account_stops_at_once_and_keeps_the_rest_pending(
    workdir: Path, env: pytest.MonkeyPatch, code: str, status: int, message: str
) -> None:
    env.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", "1")
    paused = threading.Event()

    def decide(rcpt: str, n: int) -> tuple[int, str, str]:
        if n >= 6 and not paused.is_set():
            return status, code, message
        return 200, "", ""

    server = serve(env, ScriptedSes(decide))
    rows = subscriber_rows(20, [""])
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)
        assert f"delivery stopped: SES {status} {code}: {message}" in result.output
        assert "5 sent, 15 still pending" in result.output
        counts = Counter(states(workdir).values())
        assert counts == {"sent": 5, "pending": 15}
        paused.set()  # the account is fixed: a rerun delivers the rest, once each
        out = run("send", "--date", DAY).output
    finally:
        server.stop()
    assert "sent 15, skipped 0, failed 0, unknown 0, already sent before 5" in out
    assert Counter(a["to"] for a in server.accepted) == {r["email"]: 1 for r in rows}


def test_connection_refused_retries_then_fails(workdir: Path, env: pytest.MonkeyPatch) -> None:
    server = ScriptedSes()
    url = server.url
    server.stop()  # nothing listens there any more
    env.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", url)
    make_site(workdir, subscriber_rows(2, [""]))
    result = run("send", "--date", DAY, code=1)
    assert "sent 0, skipped 0, failed 2" in result.output
    assert "gave up after 3 attempts: EndpointConnectionError" in result.output


def _settings(root: Path, url: str, read_timeout: float = 15.0) -> tuple[object, SesTransport]:
    """Settings and an SES transport whose client waits ``read_timeout`` for each answer.

    Generous by default: on a loaded CI machine a local answer can take a second or more.
    """
    settings = load_settings(
        None, env={"NEWSLETTER_DELIVERY__TRANSPORT": "ses"}, data_dir=root / "data"
    )
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=15
        ),
    )
    return settings, SesTransport(client)


def test_no_answer_leaves_the_row_unknown_not_resent(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    rows = subscriber_rows(4, [""])
    slow = rows[2]["email"]
    answer = threading.Event()

    def decide(rcpt: str, n: int) -> tuple[int, str, str]:
        if rcpt == slow:
            # No answer until the test is over: whatever the machine's load, the client's
            # read timeout runs out first. SES may still have sent it.
            answer.wait()
        return 200, "", ""

    server = ScriptedSes(decide, max_send_rate=100.0)
    try:
        make_site(workdir, rows)
        # 3 s: ample for the fast sends and GetAccount, and the wait for the slow one.
        settings, transport = _settings(workdir, server.url, read_timeout=3.0)
        store = Store(settings.layout.store)  # type: ignore[arg-type]
        summary = deliver(
            settings,
            DAY,
            store=store,  # type: ignore[arg-type]
            transport=transport,
        )
        assert (summary.sent, summary.unknown, summary.failed) == (3, 1, 0)
        assert states(workdir)[slow] == "sending"
        status = run("status", "--date", DAY).output
        assert f"unknown outcome (claimed, never confirmed): {slow} (ReadTimeoutError" in status
        again = deliver(
            settings,
            DAY,
            store=store,  # type: ignore[arg-type]
            transport=transport,
        )
        assert (again.sent, again.unknown) == (0, 1)
        assert server.requests == 4  # the rerun did not send it again
        answer.set()  # SES answers at last (nobody is listening any more)
        deadline = time.monotonic() + 30
        while len(server.answers) < server.requests and time.monotonic() < deadline:
            time.sleep(0.05)  # the late answer is still being written
    finally:
        answer.set()
        server.stop()
    assert Counter(a["to"] for a in server.accepted)[slow] == 1  # sent once, answered late


def test_rate_comes_from_get_account(workdir: Path) -> None:
    server = ScriptedSes(max_send_rate=14.0)
    try:
        _, transport = _settings(workdir, server.url)
        assert transport.max_send_rate() == 14.0
        assert delivery_rate(50, transport) == 14.0  # capped at MaxSendRate
        assert delivery_rate(5, transport) == 5  # lower than SES allows: kept
        assert delivery_rate(0, transport) == 14.0  # 0 = whatever SES allows
    finally:
        server.stop()
    unknown = ScriptedSes()  # answers 404 to GetAccount
    try:
        _, transport = _settings(workdir, unknown.url)
        assert transport.max_send_rate() is None
        assert delivery_rate(7, transport) == 7
        assert delivery_rate(0, transport) == 10.0
    finally:
        unknown.stop()


def test_message_tags_and_configuration_set(workdir: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("NEWSLETTER_DELIVERY__SES__CONFIGURATION_SET", "daily-digest")
    server = serve(env, ScriptedSes())
    try:
        make_site(workdir, subscriber_rows(2, [""]))
        run("send", "--date", DAY)
    finally:
        server.stop()
    variant = Store(workdir / "data" / "newsletter.db").rows(DAY)[0].variant
    assert [a["tags"] for a in server.accepted] == [{"date": DAY, "variant": variant}] * 2
    assert {a["configuration_set"] for a in server.accepted} == {"daily-digest"}
    assert parse(server.accepted[0]["raw"])["Message-ID"].startswith(f"<{DAY}.")


def test_stopped_run_raises_with_its_summary(workdir: Path, env: pytest.MonkeyPatch) -> None:
    server = ScriptedSes(lambda rcpt, n: (403, "AccessDeniedException", "not allowed"))
    try:
        make_site(workdir, subscriber_rows(3, [""]))
        settings, transport = _settings(workdir, server.url)
        with pytest.raises(DeliveryStopped) as info:
            deliver(
                settings,
                DAY,  # type: ignore[arg-type]
                store=Store(settings.layout.store),  # type: ignore[arg-type]
                transport=transport,
            )
    finally:
        server.stop()
    assert info.value.summary.sent == 0 and info.value.summary.pending == 3
    assert "AccessDeniedException" in str(info.value)


def test_an_outage_stops_the_run_and_failed_rows_can_be_retried(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", "1")
    down = threading.Event()
    down.set()

    def decide(rcpt: str, n: int) -> tuple[int, str, str]:
        return (503, "ServiceUnavailable", "down") if down.is_set() else (200, "", "")

    server = serve(env, ScriptedSes(decide))
    rows = subscriber_rows(10, [""])
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)
        assert "delivery stopped: 3 messages in a row failed after 3 attempts" in result.output
        # A plain rerun never retries failed rows: the message must say what will.
        assert (
            "once it is fixed, rerun 'newsletter send --retry-failed' (a plain rerun "
            "leaves the 3 failed rows unsent)"
        ) in result.output
        assert Counter(states(workdir).values()) == {"failed": 3, "pending": 7}
        down.clear()
        # Failed rows stay failed by default, and the run says so with its exit code.
        plain = run("send", "--date", DAY, code=1)
        assert "sent 7, skipped 0, failed 3" in plain.output
        assert f"'newsletter send --date {DAY} --retry-failed'" in plain.output
        again = run("send", "--date", DAY, "--retry-failed").output
    finally:
        server.stop()
    assert "sent 3, skipped 0, failed 0, unknown 0, already sent before 7" in again
    assert Counter(a["to"] for a in server.accepted) == {r["email"]: 1 for r in rows}


def test_sending_disabled_stops_before_anything_is_claimed(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    server = serve(env, ScriptedSes(max_send_rate=20.0, sending_enabled=False))
    try:
        make_site(workdir, subscriber_rows(3, [""]))
        result = run("send", "--date", DAY, code=1)
    finally:
        server.stop()
    assert "delivery not started: SES: sending is disabled for this account" in result.output
    assert server.answers == []  # not one SendEmail
    assert set(states(workdir).values()) == {"pending"}


def test_a_short_daily_quota_is_announced(workdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = ScriptedSes(max_send_rate=100.0, quota=(10.0, 8.0))
    try:
        make_site(workdir, subscriber_rows(4, [""]))
        settings, transport = _settings(workdir, server.url)
        with caplog.at_level("WARNING"):
            summary = deliver(
                settings,
                DAY,  # type: ignore[arg-type]
                store=Store(settings.layout.store),  # type: ignore[arg-type]
                transport=transport,
            )
    finally:
        server.stop()
    assert summary.sent == 4  # the scripted SES does not enforce it; the warning is the point
    assert "SES daily quota: 2 of 10 left, 4 to send" in caplog.text


NO_CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def without_credentials(env: pytest.MonkeyPatch, root: Path, partial: bool = False) -> None:
    """boto3's whole credential chain comes up empty (or half-filled), offline."""
    for name in NO_CREDENTIALS:
        env.delenv(name, raising=False)
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(root / "no-such-credentials"))
    env.setenv("AWS_CONFIG_FILE", str(root / "no-such-config"))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    if partial:
        env.setenv("AWS_ACCESS_KEY_ID", "AKIDONLY")  # the secret is missing


@pytest.mark.parametrize("partial", [False, True])
def test_missing_credentials_stop_at_once_with_every_row_pending(
    workdir: Path, env: pytest.MonkeyPatch, partial: bool
) -> None:
    server = serve(env, ScriptedSes(max_send_rate=50.0))
    rows = subscriber_rows(5, [""])
    try:
        make_site(workdir, rows)
        without_credentials(env, workdir, partial)
        result = run("send", "--date", DAY, code=1)
    finally:
        server.stop()
    # No key at all: found out when signing GetAccount, before any row is claimed. Half a
    # key: boto3 refuses to make the client, before the ledger is even planned.
    expected = "Error: SES: " if partial else "delivery not started: SES: "
    assert f"{expected}AWS credentials missing or incomplete" in result.output
    assert server.requests == 0 and server.accepted == []
    rows_now = Store(workdir / "data" / "newsletter.db").rows(DAY)
    assert {r.state for r in rows_now} <= {"pending"}
    assert {r.attempts for r in rows_now} <= {0}  # never claimed, never retried
    if not partial:
        assert "5 still pending" in result.output and len(rows_now) == 5


def test_missing_credentials_in_send_are_fatal_not_transient(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    server = ScriptedSes()
    try:
        without_credentials(env, workdir)
        client = boto3.session.Session().client(
            "sesv2",
            region_name="us-east-1",
            endpoint_url=server.url,
            config=Config(retries={"total_max_attempts": 1}),
        )
        with pytest.raises(Fatal, match="AWS credentials missing or incomplete"):
            SesTransport(client).send(
                b"Subject: x\r\n\r\nx\r\n", "digest@example.com", "reader@example.com", {}
            )
    finally:
        server.stop()
    assert server.requests == 0


def test_no_region_is_a_config_error(workdir: Path, env: pytest.MonkeyPatch) -> None:
    env.delenv("AWS_DEFAULT_REGION", raising=False)
    env.delenv("AWS_REGION", raising=False)
    env.setenv("AWS_CONFIG_FILE", str(workdir / "no-such-config"))
    env.setenv("NEWSLETTER_DELIVERY__SES__REGION", "")
    settings = load_settings(None, data_dir=workdir / "data")
    with pytest.raises(ConfigError, match="set delivery.ses.region"):
        make_ses_client(settings)
