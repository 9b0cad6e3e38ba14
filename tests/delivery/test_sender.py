"""The delivery loop's parts: rate limiter, per-recipient filling, a bad header in the data."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from support.delivery_servers import parse

from newsletter.config import Settings, load_settings
from newsletter.delivery.pacing import RateLimiter
from newsletter.delivery.personalize import Personalizer
from newsletter.delivery.sender import Sender
from newsletter.delivery.transports.outbox import OutboxTransport
from newsletter.errors import ConfigError
from newsletter.mail.message import message_id
from newsletter.mail.placeholders import Placeholders
from newsletter.models import Subscriber
from newsletter.render import RenderedVariant
from newsletter.stages.deliver import plan
from newsletter.store import Store
from newsletter.web.links import Links

DAY = "2026-06-12"


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_holds_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    for _ in range(101):
        limiter.acquire()
    assert clock.now == pytest.approx(10.0)


def test_a_late_caller_does_not_move_the_timeline() -> None:
    # A sleep that overshoots (a loaded machine) must not slow every later message down:
    # the slots stay where the rate puts them.
    clock = FakeClock()

    def late_sleep(seconds: float) -> None:
        clock.sleep(seconds + 0.004)

    limiter = RateLimiter(100, clock=clock, sleep=late_sleep)
    times = []
    for _ in range(1001):
        limiter.acquire()
        times.append(clock.now)
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(100, rel=0.01)


@pytest.mark.parametrize("rate", [1.0, 7.5, 14.0, 100.0, 500.0])
def test_no_one_second_window_holds_more_than_rate_plus_one(rate: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    times = []
    for i in range(int(rate * 5) + 1):
        if i % 7 == 3:
            clock.sleep(0.37 / rate)  # callers come late now and then
        limiter.acquire()
        times.append(clock.now)
    busiest = max(sum(1 for t in times if start <= t <= start + 1.0) for start in times)
    assert busiest <= rate + 1
    assert (len(times) - 1) / (times[-1] - times[0]) >= rate * 0.98 * (1 - 0.37 / 7)


def test_a_worker_waking_late_never_makes_a_second_hold_more_than_rate_plus_one() -> None:
    # Four workers hold slots ahead; the one with the first slot wakes late, after the next
    # slot's message went: on the slots alone, the second from 0.1 s would hold 12 at 10/s.
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    dues = [limiter.reserve() for _ in range(12)]  # 0.0, 0.1 ... 1.1 s
    released = []
    for slot, wakes in [(1, dues[1]), (0, 0.15), *((i, dues[i]) for i in range(2, 12))]:
        clock.now = max(clock.now, wakes)
        limiter.wait_until(dues[slot])
        released.append(clock.now)
    busiest = max(sum(1 for t in released if start <= t <= start + 1.0) for start in released)
    assert busiest == 11
    assert released[-1] == pytest.approx(1.1, abs=0.001)  # held back a microsecond, no more


def test_a_call_carrying_n_messages_waits_for_its_last_slot() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    limiter.acquire(5)
    assert clock.now == pytest.approx(0.4)
    limiter.acquire()
    assert clock.now == pytest.approx(0.5)


def test_pause_holds_everyone_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(2.0)
    limiter.acquire()
    assert clock.now == pytest.approx(2.0, abs=0.02)


def variant() -> RenderedVariant:
    return RenderedVariant(
        '<p>T: %%TOPICS%%</p><a href="https://u.invalid/x">u</a>',
        "T: %%TOPICS%%\nU: https://u.invalid/x\n",
        Placeholders("https://u.invalid/x", "%%TOPICS%%"),
        key="k",
        paper_count=1,
    )


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        None, env={f"NEWSLETTER_{k}": v for k, v in env.items()}, data_dir=tmp_path / "data"
    )


def test_personalizer_fills_topics_and_link(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        UNSUBSCRIBE_SECRET="k" * 32,
        DELIVERY__UNSUBSCRIBE_URL="https://ex.example.com/u?list=ai",
    )
    p = Personalizer(s, DAY, "Subject", "all")
    raw, msg_id = p.message(
        variant(), Subscriber(email="a@example.com", topics=["llm"], exclude=["safety"])
    )
    msg = parse(raw)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "T: llm (−safety)" in text and "T: llm (−safety)" in html
    assert "U: https://ex.example.com/u?list=ai&token=" in text
    assert 'href="https://ex.example.com/u?list=ai&amp;token=' in html
    assert "u.invalid" not in html + text
    assert msg["Message-ID"] == msg_id
    everyone = parse(p.message(variant(), Subscriber(email="b@example.com"))[0])
    assert "T: all" in everyone.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_plain_http_unsubscribe_url_is_refused_when_settings_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be an https:// link"):
        settings(
            tmp_path,
            UNSUBSCRIBE_SECRET="k" * 32,
            DELIVERY__UNSUBSCRIBE_URL="http://ex.example.com/u",
        )


def test_a_bad_header_fails_one_row_and_the_run_goes_on(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store = Store(tmp_path / "data" / "newsletter.db")
    subs = {
        e: Subscriber(email=e, name=n)
        for e, n in [
            ("a@example.com", "A"),
            ("b@example.com", "B\r\nBcc: x@example.com"),
            ("c@example.com", "C"),
        ]
    }
    plan(store, DAY, dict.fromkeys(subs, "k"))
    folder = tmp_path / "outbox"
    summary = Sender(
        store=store,
        transport=OutboxTransport(folder),
        edition_date=DAY,
        variants={"k": variant()},
        subscribers=subs,
        personalizer=Personalizer(s, DAY, "S", "all"),
        rate_per_s=1000,
    ).run()
    assert (summary.sent, summary.failed) == (2, 1)
    assert sorted(p.name for p in folder.iterdir()) == ["a@example.com.eml", "c@example.com.eml"]
    failed = store.rows(DAY, "failed")[0]
    assert failed.email == "b@example.com" and "bad header" in (failed.last_error or "")


def test_a_long_link_falls_back_to_a_full_build(tmp_path: Path) -> None:
    base = "https://ex.example.com/" + "p" * 370
    s = settings(tmp_path, UNSUBSCRIBE_SECRET="k" * 32, DELIVERY__UNSUBSCRIBE_URL=base)
    long_line = variant()
    # An unbreakable run just under the flow limit with the link in it: filled in, it would
    # pass MAX_LINE_BYTES, so the message is built from scratch (base64, as it cannot flow).
    long_line.html = '<p><a\thref="https://u.invalid/x"\ttitle="' + "x" * 540 + '">u</a></p>'
    raw, _ = Personalizer(s, DAY, "S", "all").message(long_line, Subscriber(email="a@example.com"))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    html_part = parse(raw).get_body(("html",))
    assert html_part is not None and html_part["Content-Transfer-Encoding"] == "base64"
    assert f'href="{base}?token=' in html_part.get_content()
    with pytest.raises(ConfigError, match="over 400 characters"):
        settings(tmp_path, UNSUBSCRIBE_SECRET="k" * 32, DELIVERY__UNSUBSCRIBE_URL=base + "p" * 40)


def test_a_line_break_in_a_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="delivery.list_id contains a line break"):
        settings(tmp_path, DELIVERY__LIST_ID="List\nBcc: x@example.com")
    with pytest.raises(ConfigError, match="edition.title contains a line break"):
        Personalizer(
            settings(tmp_path),
            DAY,
            "Title\r\nBcc: x@example.com",
            "all",
        )


class Meeting(OutboxTransport):
    """An outbox whose first message on each thread waits until four threads are sending."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.barrier = threading.Barrier(4, timeout=10)
        self.seen: set[int] = set()

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        if threading.get_ident() not in self.seen:
            self.seen.add(threading.get_ident())
            self.barrier.wait()  # BrokenBarrierError (the row fails) if fewer workers send
        return super().send(raw, sender, recipient, tags)


def test_a_short_run_is_shared_by_every_worker(tmp_path: Path) -> None:
    # At 1,000/s a worker would claim 50 rows at once: eight rows would all go to one worker,
    # and a slow transport would send them one after the other.
    s = settings(tmp_path)
    store = Store(tmp_path / "data" / "newsletter.db")
    subs = {f"r{i}@example.com": Subscriber(email=f"r{i}@example.com") for i in range(8)}
    plan(store, DAY, dict.fromkeys(subs, "k"))
    transport = Meeting(tmp_path / "outbox")
    summary = Sender(
        store=store,
        transport=transport,
        edition_date=DAY,
        variants={"k": variant()},
        subscribers=subs,
        personalizer=Personalizer(s, DAY, "S", "all"),
        rate_per_s=1000,
        concurrency=4,
    ).run()
    assert (summary.sent, summary.failed) == (8, 0)
    assert len(transport.seen) == 4


class Recording:
    """A transport that keeps the bytes it is handed, by recipient (any thread)."""

    name = "recording"

    def __init__(self) -> None:
        self.raw: dict[str, bytes] = {}

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        self.raw[recipient] = raw
        return ""

    def preflight(self, todo: int) -> None:
        pass

    def max_send_rate(self) -> float | None:
        return None

    def close(self) -> None:
        pass


@pytest.mark.parametrize("https", [False, True])
def test_what_is_made_once_per_topic_choice_or_second_is_never_anothers(
    tmp_path: Path, https: bool
) -> None:
    # Topics lines are made once per topic choice, the Date line once per second, a
    # mailto-only List-Unsubscribe once per variant: every message still carries its own
    # recipient's address, topics, links and id, and is the full builder's bytes.
    env = {"UNSUBSCRIBE_SECRET": "k" * 32}
    if https:
        env["DELIVERY__UNSUBSCRIBE_URL"] = "https://ex.example.com/u?list=ai"
    s = settings(tmp_path, **env)
    store = Store(tmp_path / "data" / "newsletter.db")
    choices = [((), ()), (("llm",), ()), (("llm",), ("safety",)), (("vision", "llm"), ())]
    subs = {
        f"r{i}@example.com": Subscriber(
            f"r{i}@example.com", ("", "Ann Lee", "김민지")[i % 3], *choices[i % 4]
        )
        for i in range(40)
    }
    plan(store, DAY, dict.fromkeys(subs, "k"))
    personalizer = Personalizer(s, DAY, "S", "all")
    # Links signed at one fixed time, so that the builder's copy made below signs the same.
    personalizer.signed = Links(s, now=lambda: 1_780_000_000.0)
    transport = Recording()
    summary = Sender(
        store=store,
        transport=transport,
        edition_date=DAY,
        variants={"k": variant()},
        subscribers=subs,
        personalizer=personalizer,
        rate_per_s=1e6,
        concurrency=4,
    ).run()
    assert (summary.sent, sorted(transport.raw)) == (40, sorted(subs))
    template = personalizer.template(variant(), "S")
    for email, raw in transport.raw.items():
        sub, msg = subs[email], parse(raw)
        topics = ", ".join(sub.topics) or "all"
        topics += f" (−{', '.join(sub.exclude)})" if sub.exclude else ""
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"T: {topics}" in text.splitlines() and msg["To"].addresses[0].addr_spec == email
        assert msg["Message-ID"] == message_id(DAY, email, personalizer.domain)
        if https:
            token = text.split("token=")[1].split()[0]  # the signed link, as the footer has it
            assert personalizer.signed.read(unquote(token), "unsubscribe").subject == email
            assert f"token={token}>" in msg["List-Unsubscribe"]
        who = personalizer.recipient(variant(), sub, msg["Message-ID"])
        who.date = msg["Date"].datetime
        assert raw == template.full(who), email
