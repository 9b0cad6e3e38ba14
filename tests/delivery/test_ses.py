"""Delivery through SES: moto's server on 127.0.0.1, read back from /moto-api/data.json."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import run
from support.delivery_servers import AWS_ENV, DAY, MotoSes, make_site, parse, subscriber_rows

from newsletter.mail.message import message_id
from newsletter.mail.tokens import read_token
from newsletter.models import Edition, Subscriber
from newsletter.routing import wants
from newsletter.store import Store

SECRET = "test-signing-key-of-at-least-32-bytes"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    server = MotoSes()
    yield server
    server.stop()


@pytest.fixture
def ses_env(moto: MotoSes, monkeypatch: pytest.MonkeyPatch) -> MotoSes:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__TRANSPORT", "ses")
    monkeypatch.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", moto.url)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL", "https://news.example.com/u")
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_DELIVERY__RATE_PER_S", "200")
    return moto


def test_each_subscriber_gets_exactly_their_papers(workdir: Path, ses_env: MotoSes) -> None:
    rows = subscriber_rows(12, ["", "llm", "vision", "agents,llm", "robotics"])
    rows[5]["exclude"] = "llm"
    rows[7]["language"] = "en"
    make_site(workdir, rows)
    before = {m["id"] for m in ses_env.sent()}
    out = run("send", "--date", DAY).output
    edition = Edition.model_validate_json(
        (workdir / "data" / "editions" / DAY / "edition.json").read_bytes()
    )
    mine = [m for m in ses_env.sent() if m["id"] not in before]
    by_rcpt: dict[str, list[dict[str, object]]] = {}
    for m in mine:
        by_rcpt.setdefault(str(m["destinations"][0]), []).append(m)
    ledger = {r.email: r for r in Store(workdir / "data" / "newsletter.db").rows(DAY)}
    expected_sent = 0
    for row in rows:
        sub = Subscriber(
            email=row["email"],
            topics=[t for t in row["topics"].split(",") if t],
            exclude=[t for t in row["exclude"].split(",") if t],
        )
        papers = [c.paper.id for c in edition.cards if wants(sub, c.analysis.analysis.topics)]
        if not papers:
            assert sub.email not in by_rcpt
            assert ledger[sub.email].state == "skipped"
            continue
        expected_sent += 1
        assert len(by_rcpt[sub.email]) == 1, sub.email
        sent = by_rcpt[sub.email][0]
        raw = str(sent["raw_data"])
        msg = parse(raw)
        assert "\r\nList-Unsubscribe: <https://news.example.com/u?token=" in raw  # not encoded
        assert msg["To"].addresses[0].addr_spec == sub.email
        assert msg["From"] == "AI Paper Digest <digest@example.com>"
        assert DAY in msg["Subject"]
        assert msg["Message-ID"] == message_id(DAY, sub.email, "example.com")
        assert msg["Date"] is not None
        assert msg["List-Id"] == "AI Paper Digest <digest.example.com>"
        links = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
        assert links[0].startswith("https://news.example.com/u?token=")
        assert links[1] == "mailto:digest@example.com?subject=unsubscribe"
        token = links[0].split("token=")[1]
        assert read_token(SECRET.encode(), token, "unsubscribe", 60, time.time()).subject == (
            sub.email
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        shown = set(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", text))
        assert shown == set(papers), sub.email
        assert links[0].replace("&", "&amp;") in html or links[0] in html
        assert ledger[sub.email].state == "sent"
        assert ledger[sub.email].message_id == sent["id"]
    assert expected_sent >= 8
    assert f"sent {expected_sent}, skipped {12 - expected_sent}, failed 0" in out
    # A rerun sends nothing more.
    again = run("send", "--date", DAY).output
    assert "Nothing new to send" in again
    assert len([m for m in ses_env.sent() if m["id"] not in before]) == expected_sent


def test_unverified_sender_is_a_permanent_failure_per_message(
    workdir: Path, ses_env: MotoSes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_DELIVERY__FROM", "Stranger <nobody@elsewhere.example.com>")
    make_site(workdir, subscriber_rows(3, [""]))
    before = len(ses_env.sent())
    result = run("send", "--date", DAY, code=1)
    assert "sent 0, skipped 0, failed 3" in result.output
    assert "MessageRejected" in result.output
    rows = Store(workdir / "data" / "newsletter.db").rows(DAY)
    assert {r.state for r in rows} == {"failed"}
    assert all("Did not have authority" in (r.last_error or "") for r in rows)
    assert len(ses_env.sent()) == before


def test_test_message_is_not_recorded(workdir: Path, ses_env: MotoSes) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    before = len(ses_env.sent())
    out = run("send", "--date", DAY, "--to", "editor@example.com").output
    assert "sent to editor@example.com" in out and "not recorded" in out
    sent = ses_env.sent()[before:]
    assert [m["destinations"][0] for m in sent] == ["editor@example.com"]
    msg = parse(sent[0]["raw_data"])
    assert msg["Subject"].startswith("[TEST] ")
    assert msg["Message-ID"] != message_id(DAY, "editor@example.com", "example.com")
    assert Store(workdir / "data" / "newsletter.db").rows(DAY) == []
