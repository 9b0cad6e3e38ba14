"""SES SendBulkEmail (transport ``ses-bulk``) against a stand-in that validates every request
against botocore's service model: what each subscriber receives, and each recipient's status
in a bulk answer becoming their ledger row's outcome."""

from __future__ import annotations

import html
import json
import threading
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from support.cli import run
from support.delivery_servers import DAY, make_site, ses_env, states, subscriber_rows
from support.fault_proxy import PASS, Answer, FaultProxy
from support.ses_standin import SesStandIn

from newsletter.config import load_settings
from newsletter.delivery.transports.ses_bulk import template_text
from newsletter.stages.deliver import built_edition, load_variants
from newsletter.store import Store


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    ses_env(monkeypatch, "ses-bulk", RATE_PER_S="1000", CONCURRENCY="2")
    return monkeypatch


def serve(env: pytest.MonkeyPatch, server: SesStandIn) -> SesStandIn:
    env.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", server.url)
    return server


def test_each_subscriber_gets_their_variant_with_their_values(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", "k" * 32)
    env.setenv("NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL", "https://news.example.com/u?list=a")
    server = serve(env, SesStandIn())
    rows = subscriber_rows(130, ["", "llm", "vision", "agents,llm", "robotics"])
    try:
        make_site(workdir, rows)
        out = run("send", "--date", DAY).output
    finally:
        server.stop()
    assert server.invalid == []  # every request fit botocore's model of the API
    assert "sent 130," in out and "failed 0, unknown 0" in out
    got = {d["to"]: d for d in server.delivered}
    assert sorted(got) == sorted(r["email"] for r in rows) and len(server.delivered) == 130
    assert set(states(workdir).values()) == {"sent"}
    # Bulk calls, not one per message; every template stored for the run is gone after it.
    assert Counter(server.calls)["SendBulkEmail"] < 20
    assert (
        server.templates == {}
        and len(server.deleted) == Counter(server.calls)["CreateEmailTemplate"]
    )
    settings = load_settings(None)
    variants = load_variants(settings, built_edition(settings, DAY))
    ledger = {r.email: r for r in Store(settings.layout.store).rows(DAY)}
    for row in rows:
        email = row["email"]
        msg, variant = got[email], variants[ledger[email].variant]
        assert ledger[email].message_id == msg["id"]
        assert msg["to_header"] == f"{row['name']} <{email}>"
        link = msg["headers"]["List-Unsubscribe"].split(">")[0].lstrip("<")
        assert link.startswith("https://news.example.com/u?list=a&token=")
        assert msg["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["headers"]["List-Id"] == "AI Paper Digest <digest.example.com>"
        assert msg["tags"] == {"date": DAY, "variant": variant.key}
        topics = row["topics"].replace(",", ", ") or "전체"
        holes = variant.placeholders
        # SES's rendering of the stored template is the variant with this subscriber's values,
        # every brace and backslash of the content kept as it was.
        assert msg["Html"] == variant.html.replace(holes.unsubscribe, html.escape(link)).replace(
            holes.topics, html.escape(topics)
        )
        assert msg["Text"] == variant.text.replace(holes.unsubscribe, link).replace(
            holes.topics, topics
        )
        assert msg["Subject"] == variant.subject and variant.subject.startswith(f"[{DAY}] ")


def test_braces_and_backslashes_of_paper_text_stay_text() -> None:
    body = r"{{title}} \{{x}} {{{raw}}} a\b {single} \ TOKEN"
    text = template_text(body, {"TOKEN": "value"})
    from support.ses_standin import render

    assert render(text, {"lb": "{", "bs": "\\", "value": "V"}) == body.replace("TOKEN", "V")


def test_bulk_results_where_some_destinations_fail_map_to_ledger_outcomes(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    rows = subscriber_rows(12, [""])
    emails = [r["email"] for r in rows]
    rejected, bad_param, flaky, dead, odd, throttled = emails[1:7]
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def decide(rcpt: str, n: int) -> str:
        with lock:
            seen[rcpt] += 1
            tries = seen[rcpt]
        return {
            rejected: "MESSAGE_REJECTED",
            bad_param: "INVALID_PARAMETER",
            flaky: "TRANSIENT_FAILURE" if tries <= 2 else "SUCCESS",
            dead: "TRANSIENT_FAILURE",
            odd: "SOMETHING_NEW",
            throttled: "ACCOUNT_THROTTLED" if tries == 1 else "SUCCESS",
        }.get(rcpt, "SUCCESS")

    server = serve(env, SesStandIn(decide))
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)  # some failed: non-zero exit
    finally:
        server.stop()
    assert server.invalid == []
    ledger = states(workdir)
    assert ledger[rejected] == ledger[bad_param] == ledger[dead] == "failed"
    assert ledger[odd] == "sending"  # a status nobody knows: it may have been sent
    assert ledger[flaky] == ledger[throttled] == "sent"
    assert [ledger[e] for e in emails if e not in (rejected, bad_param, dead, odd)] == ["sent"] * 8
    assert seen[flaky] == 3 and seen[dead] == 3 and seen[rejected] == 1 and seen[odd] == 1
    assert "sent 8, skipped 0, failed 3, unknown 1" in result.output
    assert f"{rejected}: SES bulk MESSAGE_REJECTED" in result.output
    rows_by = {r.email: r for r in Store(workdir / "data" / "newsletter.db").rows(DAY)}
    assert "gave up after 3 attempts: SES bulk TRANSIENT_FAILURE" in (
        rows_by[dead].last_error or ""
    )
    assert Counter(d["to"] for d in server.delivered) == {
        e: 1 for e in emails if ledger[e] == "sent"
    }


def test_a_paused_account_in_a_bulk_answer_stops_with_the_rest_pending(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    env.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", "1")
    paused = threading.Event()
    paused.set()
    server = serve(
        env,
        SesStandIn(lambda rcpt, n: "ACCOUNT_SENDING_PAUSED" if paused.is_set() else "SUCCESS"),
    )
    rows = subscriber_rows(20, [""])
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)
        assert "delivery stopped: SES bulk ACCOUNT_SENDING_PAUSED" in result.output
        assert set(states(workdir).values()) == {"pending"}
        paused.clear()
        again = run("send", "--date", DAY).output
    finally:
        server.stop()
    assert "sent 20, skipped 0, failed 0, unknown 0" in again
    assert len(server.delivered) == 20


def test_an_unreadable_bulk_answer_leaves_its_recipients_unknown_without_a_traceback(
    workdir: Path, env: pytest.MonkeyPatch
) -> None:
    # SES may have sent to all of them: they are reported unknown, the others are sent.
    env.setenv("NEWSLETTER_DELIVERY__CONCURRENCY", "1")
    server = SesStandIn()
    deep = Answer(200, "", body=b"[" * 100_000 + b"]" * 100_000)
    proxy = FaultProxy(
        ("127.0.0.1", int(server.url.rsplit(":", 1)[1])), lambda n, r: deep if n == 1 else PASS
    )
    env.setenv("NEWSLETTER_DELIVERY__SES__ENDPOINT_URL", proxy.url)
    rows = subscriber_rows(60, [""])
    try:
        make_site(workdir, rows)
        result = run("send", "--date", DAY, code=1)
    finally:
        proxy.stop()
        server.stop()
    assert "Traceback" not in result.output
    assert "SES answered, but not readably (RecursionError)" in result.output
    ledger = Counter(states(workdir).values())
    assert ledger["sending"] > 0 and ledger["sending"] + ledger["sent"] == 60, ledger
    assert len(server.delivered) == ledger["sent"]


def test_the_stand_in_refuses_what_ses_would(workdir: Path) -> None:
    server = SesStandIn()
    try:
        bad = json.dumps({"FromEmailAddress": "d@example.com", "BulkEmailEntries": "nope"})
        request = urllib.request.Request(
            f"{server.url}/v2/email/outbound-bulk-emails", data=bad.encode(), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)
        assert info.value.code == 400
    finally:
        server.stop()
    assert len(server.invalid) == 1
    assert "DefaultContent" in server.invalid[0] and "BulkEmailEntries" in server.invalid[0]
