"""`newsletter serve` over real HTTP (uvicorn on 127.0.0.1): sign-up with double opt-in,
confirm, preferences, unsubscribe, CSRF, rate limits, and each refused link or form."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support.delivery_servers import parse
from support.web_server import SECRET, Served, serve_app

from newsletter.config import Settings, load_settings
from newsletter.mail.tokens import legacy_unsubscribe_token, make_token
from newsletter.subscribers import load_subscribers

ENV = {
    "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET,
    "NEWSLETTER_WEB__BASE_URL": "https://news.example.com",
    "NEWSLETTER_EDITION__LANGUAGE": "en",
}


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


def settings_for(workdir: Path, **env: str) -> Settings:
    subs = workdir / "subscribers"
    subs.mkdir(exist_ok=True)
    (subs / "list.yaml").write_text(
        "- email: listed@example.com\n  topics: [llm]\n  exclude: [safety]\n", encoding="utf-8"
    )
    return load_settings(None, env={**ENV, **{f"NEWSLETTER_{k}": v for k, v in env.items()}})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def served(workdir: Path, clock: Clock) -> Iterator[Served]:
    with serve_app(settings_for(workdir), now=clock) as s:
        yield s


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found[1]


def sign_up(client: httpx.Client, email: str, *topics: str, language: str = "en") -> httpx.Response:
    form = client.get("/")
    assert form.status_code == 200
    data: dict[str, str | list[str]] = {
        "csrf": csrf_of(form.text),
        "email": email,
        "topics": list(topics),
        "language": language,
    }
    return client.post("/subscribe", data=data)


def outbox_web(workdir: Path) -> dict[str, str]:
    """Confirmation emails written by the outbox transport: address -> confirm URL."""
    out = {}
    for path in sorted((workdir / "data" / "outbox" / "web").glob("*.eml")):
        text = parse(path.read_bytes()).get_body(("plain",)).get_content()  # type: ignore[union-attr]
        out[path.stem] = re.search(r"https://news\.example\.com/confirm\?token=\S+", text)[0]  # type: ignore[index]
    return out


def local(served: Served, url: str) -> str:
    """A link from an email (https://news.example.com/...) pointed at the local server."""
    parts = urlsplit(url)
    return f"{served.url}{parts.path}?{parts.query}"


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def wait_for_mail(workdir: Path, email: str) -> str:
    # The confirmation goes out after the answer (same timing for every address).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = outbox_web(workdir).get(email)
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no confirmation email for {email}")


def test_sign_up_confirm_and_the_next_edition_includes_them(workdir: Path, served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        answer = sign_up(client, "New@Example.com", "llm", "agents")
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        url = wait_for_mail(workdir, "new@example.com")
        msg = parse((workdir / "data/outbox/web/new@example.com.eml").read_bytes())
        assert msg["To"] == "new@example.com" and "confirm" in msg["Subject"]
        settings = served.web.settings
        assert "new@example.com" not in {s.email for s in load_subscribers(settings, served.store)}
        page = client.get(local(served, url))  # GET: a button, nothing changes
        assert page.status_code == 200 and "<form" in page.text
        assert served.store.signup("new@example.com").state == "pending"  # type: ignore[union-attr]
        done = client.post("/confirm", data={"csrf": csrf_of(page.text), "token": token_of(url)})
        assert done.status_code == 200 and "Subscription confirmed" in done.text
    subs = {s.email: s for s in load_subscribers(settings, served.store)}
    assert subs["new@example.com"].topics == ("llm", "agents")
    assert subs["new@example.com"].language == "en" and subs["new@example.com"].origin == "web"


def test_the_same_answer_whether_or_not_the_address_is_known(workdir: Path, served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        new = sign_up(client, "fresh@example.com")
        wait_for_mail(workdir, "fresh@example.com")
        listed = sign_up(client, "listed@example.com")
        served.store.set_status("gone@example.com", "bounced")
        bounced = sign_up(client, "gone@example.com")
    assert new.status_code == listed.status_code == bounced.status_code == 200
    assert new.text == listed.text == bounced.text
    assert sorted(outbox_web(workdir)) == ["fresh@example.com"]


def test_confirm_link_used_twice_or_replaced_changes_nothing(
    workdir: Path, served: Served, clock: Clock
) -> None:
    with httpx.Client(base_url=served.url) as client:
        sign_up(client, "twice@example.com", "vision")
        url = wait_for_mail(workdir, "twice@example.com")
        csrf = csrf_of(client.get(local(served, url)).text)
        first = client.post("/confirm", data={"csrf": csrf, "token": token_of(url)})
        assert first.status_code == 200
        served.store.set_status("twice@example.com", "unsubscribed", "left")
        again = client.post("/confirm", data={"csrf": csrf, "token": token_of(url)})
    assert again.status_code == 409 and "already used" in again.text
    # The replayed link did not bring back someone who left.
    assert served.store.status_of("twice@example.com") == "unsubscribed"


def test_expired_and_forged_confirm_links_are_refused(
    workdir: Path, served: Served, clock: Clock
) -> None:
    with httpx.Client(base_url=served.url) as client:
        sign_up(client, "late@example.com")
        url = wait_for_mail(workdir, "late@example.com")
        clock.t += 48 * 3600 + 60
        expired = client.get(local(served, url))
        assert expired.status_code == 400 and "expired" in expired.text
        token = token_of(url)
        forged = client.get("/confirm", params={"token": token[:-3] + "AAA"})
        assert forged.status_code == 400 and "signature does not match" in forged.text
        junk = client.get("/confirm", params={"token": token + "=="})
        assert junk.status_code == 400
        # A preferences link is no confirm link.
        prefs = make_token(SECRET.encode(), "preferences", "late@example.com", int(clock.t))
        wrong = client.get("/confirm", params={"token": prefs})
        assert wrong.status_code == 400 and "not confirm" in wrong.text
    assert served.store.signup("late@example.com").state == "pending"  # type: ignore[union-attr]


def test_forms_without_a_valid_csrf_token_are_refused(workdir: Path, served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        no_token = client.post("/subscribe", data={"email": "x@example.com"})
        assert no_token.status_code == 403
        csrf = csrf_of(client.get("/").text)
    with httpx.Client(base_url=served.url) as other:  # another browser: another cookie
        other.get("/")
        stolen = other.post("/subscribe", data={"csrf": csrf, "email": "x@example.com"})
        assert stolen.status_code == 403 and "does not belong" in stolen.text
    assert not (workdir / "data" / "outbox" / "web").exists()


def test_sign_up_floods_from_one_client_and_for_one_address(workdir: Path, served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        answers = [sign_up(client, "target@example.com").status_code for _ in range(5)]
        assert answers == [200] * 5
        wait_for_mail(workdir, "target@example.com")
        blocked = sign_up(client, "someone-else@example.com")
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "3600"
    # Five requests, one confirmation email: no mail bombing through the form.
    assert list(outbox_web(workdir)) == ["target@example.com"]
    assert served.store.signup("someone-else@example.com") is None


def test_invalid_address_and_unknown_topic_are_shown_back(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        bad = sign_up(client, "not-an-address")
        assert bad.status_code == 400 and "is not an email address" in bad.text
        topic = sign_up(client, "a@example.com", "cooking")
        assert topic.status_code == 400 and "unknown topic(s): cooking" in topic.text


def test_preferences_change_topics_language_and_pause(workdir: Path, served: Served) -> None:
    settings = served.web.settings
    link = served.web.links.preferences_url("listed@example.com")
    with httpx.Client(base_url=served.url) as client:
        page = client.get(local(served, link))
        assert page.status_code == 200 and 'value="llm" checked' in page.text
        data = {
            "csrf": csrf_of(page.text),
            "token": token_of(link),
            "topics": ["vision", "robotics"],
            "language": "ko",
            "action": "save",
        }
        saved = client.post("/preferences", data=data)
        assert saved.status_code == 200 and "저장했습니다" in saved.text
        (sub,) = load_subscribers(settings, served.store)
        assert (sub.topics, sub.exclude, sub.language) == (
            ("vision", "robotics"),
            ("safety",),
            "ko",
        )
        assert sub.origin.endswith("+web")
        client.post("/preferences", data={**data, "paused": "1"})
        assert load_subscribers(settings, served.store) == []
        bad = client.post("/preferences", data={**data, "topics": ["cooking"]})
        assert bad.status_code == 400
        forged = client.get("/preferences", params={"token": token_of(link)[:-2] + "xx"})
        assert forged.status_code == 400
    # The list file is the operator's: untouched.
    text = (workdir / "subscribers" / "list.yaml").read_text(encoding="utf-8")
    assert text == "- email: listed@example.com\n  topics: [llm]\n  exclude: [safety]\n"


def test_unsubscribe_get_asks_post_unsubscribes_and_one_click_needs_no_form(
    served: Served,
) -> None:
    url = served.web.links.unsubscribe_url("listed@example.com")
    with httpx.Client(base_url=served.url) as client:
        for _ in range(3):  # mail scanners prefetch links
            asked = client.get(local(served, url))
            assert asked.status_code == 200 and "<form" in asked.text
        assert served.store.status_of("listed@example.com") == "active"
        no_csrf = client.post(local(served, url), data={"x": "1"})
        assert no_csrf.status_code == 403
        assert served.store.status_of("listed@example.com") == "active"
    # RFC 8058: the mail provider posts List-Unsubscribe=One-Click, no cookie, no form.
    one_click = httpx.post(local(served, url), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "listed@example.com" in one_click.text
    assert served.store.status_of("listed@example.com") == "unsubscribed"
    forged = httpx.post(
        f"{served.url}/unsubscribe",
        params={"token": token_of(url)[:-1] + "A"},
        data={"List-Unsubscribe": "One-Click"},
    )
    assert forged.status_code == 400


def test_legacy_unsubscribe_links_work_during_the_grace_period(
    served: Served, clock: Clock
) -> None:
    old = legacy_unsubscribe_token("listed@example.com", SECRET.encode())
    clock.t = time.time() + 91 * 86400
    late = httpx.get(f"{served.url}/unsubscribe", params={"token": old})
    assert late.status_code == 400 and "stopped working on" in late.text
    clock.t = time.time()
    ok = httpx.post(
        f"{served.url}/unsubscribe", params={"token": old}, data={"List-Unsubscribe": "One-Click"}
    )
    assert ok.status_code == 200
    assert served.store.status_of("listed@example.com") == "unsubscribed"


def test_each_refusal_is_logged_with_its_reason(
    workdir: Path, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="newsletter")
    with httpx.Client(base_url=served.url) as client:
        client.get("/preferences", params={"token": "n1.AAAA.BBBB"})
        client.post("/subscribe", data={"email": "x@example.com"})
        sign_up(client, "listed@example.com")
        sign_up(client, "twice@example.com")
        wait_for_mail(workdir, "twice@example.com")
        sign_up(client, "twice@example.com")
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("refused (forged)") for m in lines), lines
    assert any(m.startswith("refused (csrf)") for m in lines), lines
    assert "sign-up for listed@example.com: no confirmation sent (already subscribed)" in lines
    assert any(
        m.startswith("sign-up for twice@example.com: no confirmation sent (already sent 1")
        for m in lines
    ), lines
