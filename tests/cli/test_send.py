"""`newsletter send` through the outbox: dry run, limit, test message, no-match note, progress,
and the unsubscribe link's other end (the app under uvicorn on 127.0.0.1)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.cli import run
from support.delivery_servers import (
    DAY,
    make_site,
    parse,
    states,
    subscriber_rows,
    write_subscribers,
)
from support.llm_server import Answer, fail, serving
from support.processes import clean_env, finish, lock_held, read_until, start
from support.web_server import SECRET, serve_app

from newsletter.cli import cli
from newsletter.config import load_settings
from newsletter.store import Store


def outbox(root: Path) -> list[str]:
    return sorted(
        p.name.removesuffix(".eml") for p in (root / "data" / "outbox" / DAY).glob("*.eml")
    )


def sample_rows() -> list[dict[str, str]]:
    # A topic minus itself matches no paper (every topic has a paper on the sample day).
    rows = subscriber_rows(6, ["", "llm", "speech"])
    rows[2]["exclude"] = "speech"
    rows[3]["topics"], rows[3]["exclude"] = "vision", "vision"
    return rows


def test_dry_run_sends_and_records_nothing(workdir: Path) -> None:
    make_site(workdir, sample_rows())
    out = run("send", "--date", DAY, "--dry-run").output
    lines = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
    assert lines["reader0002@example.com"] == "skipped (no matching paper)"
    assert lines["reader0003@example.com"] == "skipped (no matching paper)"
    assert lines["reader0000@example.com"].endswith("(10 papers)")
    assert "dry run: nothing sent; 4 would be sent, 2 skipped, 0 already handled" in out
    assert states(workdir) == {}
    assert not (workdir / "data" / "outbox" / DAY).exists()


def test_limit_then_resume_and_dry_run_shows_the_ledger(workdir: Path) -> None:
    make_site(workdir, sample_rows())
    first = run("send", "--date", DAY, "--limit", "2").output
    assert "sent 2, skipped 2, failed 0, unknown 0, still pending 2" in first
    assert len(outbox(workdir)) == 2
    plan = run("send", "--date", DAY, "--dry-run").output
    assert plan.count("[sent]") == 2
    assert "2 would be sent, 2 skipped, 2 already handled" in plan
    rest = run("send", "--date", DAY).output
    assert "sent 2, skipped 2, failed 0, unknown 0, already sent before 2" in rest
    assert outbox(workdir) == [
        "reader0000@example.com",
        "reader0001@example.com",
        "reader0004@example.com",
        "reader0005@example.com",
    ]
    status = run("status", "--date", DAY).output
    assert "deliver  pending 0, sending 0, sent 4, failed 0, skipped 2, unknown 0" in status


def test_no_match_note_by_setting(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_DELIVERY__EMPTY_TOPICS_NOTE", "true")
    make_site(workdir, sample_rows())
    plan = run("send", "--date", DAY, "--dry-run").output
    assert "reader0002@example.com\tnote-ko (no matching paper: short note)" in plan
    run("send", "--date", DAY)
    assert len(outbox(workdir)) == 6
    note = parse((workdir / "data" / "outbox" / DAY / "reader0002@example.com.eml").read_bytes())
    assert "오늘은 구독 주제의 논문이 없습니다" in note["Subject"]
    text = note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "speech" in text and "arxiv.org/abs" not in text
    assert "mailto:digest@example.com?subject=unsubscribe" in text
    assert note["List-Unsubscribe"] is not None
    full = parse((workdir / "data" / "outbox" / DAY / "reader0000@example.com.eml").read_bytes())
    assert "arxiv.org/abs" in full.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert states(workdir)["reader0002@example.com"] == "sent"


def test_unsubscribed_after_planning_is_not_sent(workdir: Path) -> None:
    make_site(workdir, subscriber_rows(3, [""]))
    run("send", "--date", DAY, "--limit", "1")
    run("subscribers", "unsubscribe", "reader0002@example.com")
    out = run("send", "--date", DAY).output
    assert "sent 1, skipped 1" in out
    assert outbox(workdir) == ["reader0000@example.com", "reader0001@example.com"]


def test_test_message_options(workdir: Path) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    assert "only goes with --to" in run("send", "--date", DAY, "--variant", "x", code=1).output
    bad = run("send", "--date", DAY, "--to", "me@example.com", "--variant", "nope", code=1)
    assert "--variant 'nope': not a variant" in bad.output
    assert "--to 'not-mail'" in run("send", "--date", DAY, "--to", "not-mail", code=1).output
    run("send", "--date", DAY, "--to", "me@example.com", "--variant", "note-en")
    msg = parse((workdir / "data" / "outbox" / DAY / "me@example.com.eml").read_bytes())
    # The English note: the edition's title in English too.
    assert msg["Subject"] == f"[TEST] [{DAY}] AI Paper Digest: nothing for your topics today"
    assert states(workdir) == {}


def test_progress_bar_shows_rate_and_eta(workdir: Path) -> None:
    make_site(workdir, subscriber_rows(5, [""]))
    result = CliRunner().invoke(cli, ["send", "--date", DAY, "--progress"], catch_exceptions=False)
    assert result.exit_code == 0
    bar = result.stderr if hasattr(result, "stderr") else result.output
    assert "send: 100%" in bar and "5/5" in bar and "msg/s" in bar and "<00:00" in bar
    quiet = CliRunner().invoke(cli, ["send", "--date", DAY, "--progress"])
    assert "msg/s" not in quiet.output  # nothing to send: no bar


@pytest.fixture
def endpoint(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL", "https://news.example.com/u")
    with serve_app(load_settings(None)) as served:
        yield f"{served.url}/unsubscribe"


def test_unsubscribe_link_round_trip(workdir: Path, endpoint: str) -> None:
    make_site(workdir, subscriber_rows(3, [""]))
    run("send", "--date", DAY)
    msg = parse((workdir / "data" / "outbox" / DAY / "reader0001@example.com.eml").read_bytes())
    https = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(https).query)["token"][0]
    assert run("subscribers", "verify-token", token).output.strip() == "reader0001@example.com"
    forged = token[:-2] + ("00" if not token.endswith("00") else "11")
    refused = run("subscribers", "verify-token", forged, code=1).output
    assert "refused" in refused and "signature does not match" in refused
    local = f"{endpoint}?token={urllib.parse.quote(token)}"
    page = urllib.request.urlopen(local).read().decode()  # GET: a confirm button only
    assert "reader0001@example.com" in page and "<form" in page
    assert Store(workdir / "data" / "newsletter.db").status_of("reader0001@example.com") == (
        "active"
    )
    assert "reader0001@example.com" in run("subscribers", "list").output
    # RFC 8058 one-click: POST with List-Unsubscribe=One-Click.
    post = urllib.request.Request(local, data=b"List-Unsubscribe=One-Click", method="POST")
    assert "reader0001@example.com" in urllib.request.urlopen(post).read().decode()
    assert "reader0001@example.com" not in run("subscribers", "list").output
    fake = urllib.request.Request(f"{endpoint}?token=abc.def", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(fake)
    assert err.value.code == 400
    assert Store(workdir / "data" / "newsletter.db").status_of("reader0001@example.com") == (
        "unsubscribed"
    )


def test_unsubscribe_by_token_command(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.mail.tokens import make_token

    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    make_site(workdir, subscriber_rows(2, [""]))
    token = make_token(SECRET.encode(), "unsubscribe", "reader0000@example.com", int(time.time()))
    run("subscribers", "unsubscribe", "--token", token)
    assert run("subscribers", "list").output.split()[0] == "reader0001@example.com"
    monkeypatch.delenv("NEWSLETTER_UNSUBSCRIBE_SECRET")
    missing = run("subscribers", "verify-token", token, code=1)
    assert "$NEWSLETTER_UNSUBSCRIBE_SECRET is empty" in missing.output


def test_https_link_needs_the_signing_key(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_site(workdir, subscriber_rows(1, [""]))
    monkeypatch.setenv("NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL", "https://news.example.com/u")
    out = run("send", "--date", DAY, code=1).output
    assert "$NEWSLETTER_UNSUBSCRIBE_SECRET" in out and "is empty" in out
    # Refused when the settings loaded, before anything was planned or sent.
    assert states(workdir) == {}


def test_two_sends_of_one_date_started_together_before_the_day_is_built(workdir: Path) -> None:
    # Two real processes. The first holds the date's lock from its first stage (held there:
    # the LLM does not answer its first request until the second is seen waiting); the second
    # waits, then finds the edition built and everyone served.
    write_subscribers(workdir, subscriber_rows(5, [""]))
    second_waits = threading.Event()
    with serving() as llm:

        def answer(body: dict[str, object]) -> Answer:
            if len(llm.requests) == 1:
                second_waits.wait(timeout=120)
            return fail(400, "context too long")  # the abstract card: the run goes on

        llm.responder = answer
        env = clean_env(NEWSLETTER_LLM__BASE_URL=llm.url, NEWSLETTER_LLM__MODEL="m")
        first = start("send", "--date", DAY, "--replay", "sample", cwd=workdir, env=env)
        seen_first = read_until(first, "huggingface:")  # printed under the lock
        second = start("send", "--date", DAY, "--replay", "sample", cwd=workdir, env=env)
        try:
            seen_second = read_until(second, "waiting up to 600s for 'newsletter send' (pid ")
        finally:
            second_waits.set()
        code_first, out_first = finish(first, seen_first)
        code_second, out_second = finish(second, seen_second)
    assert (code_first, code_second) == (0, 0), out_first + out_second
    assert "sent 5, skipped 0, failed 0, unknown 0" in out_first
    assert f"Nothing new to send for {DAY}: 5 already delivered." in out_second
    assert "Traceback" not in out_first + out_second
    assert outbox(workdir) == [f"reader{i:04d}@example.com" for i in range(5)]
    assert set(states(workdir).values()) == {"sent"}


def test_a_send_refuses_cleanly_when_another_holds_the_date(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    monkeypatch.setenv("NEWSLETTER_STORAGE__LOCK_WAIT_S", "0")
    with lock_held(workdir / "data" / "locks", DAY, "build") as pid:
        busy = run("send", "--date", DAY, code=1).output
        assert busy.startswith(f"Error: 'newsletter build' (pid {pid}, since ")
        assert f"is working on {DAY}" in busy and len(busy.splitlines()) == 1
        assert states(workdir) == {}
        stage = run("analyze", "--date", DAY, code=1).output
        assert f"'newsletter build' (pid {pid}" in stage
    assert "sent 2" in run("send", "--date", DAY).output
