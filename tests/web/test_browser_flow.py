"""A subscriber's whole life in Debian's Chromium against the app under uvicorn: sign-up ->
confirmation email in the outbox -> confirm -> preferences -> the next edition follows the
new topics -> one-click unsubscribe from the email's header."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, sync_playwright
from support.delivery_servers import DAY, make_site, parse, subscriber_rows
from support.web_server import SECRET, serve_app

from newsletter.cli import cli
from newsletter.config import load_settings
from newsletter.files import read_model
from newsletter.models import Edition
from newsletter.web.server import bind

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EMAIL = "newcomer@example.com"


@pytest.fixture
def page() -> Iterator[Page]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} not found: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        context = browser.new_context(viewport={"width": 375, "height": 800})
        yield context.new_page()
        context.close()
        browser.close()


def wait_for(path: Path) -> bytes:
    deadline = time.monotonic() + 15
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return path.read_bytes()


def papers_of(eml: bytes) -> set[str]:
    text = parse(eml).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return set(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", text))


def test_sign_up_confirm_choose_topics_receive_and_leave(
    workdir: Path, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    sock = bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("NEWSLETTER_WEB__BASE_URL", base)
    monkeypatch.setenv("NEWSLETTER_EDITION__LANGUAGE", "en")
    with serve_app(load_settings(None), sock=sock) as served:
        page.goto(f"{base}/")
        page.fill("#email", EMAIL)
        page.check("input[value=speech]")
        page.check("input[value=en]")
        page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == "Check your inbox"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        confirmation = parse(wait_for(workdir / "data/outbox/web" / f"{EMAIL}.eml"))
        text = confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(rf"{re.escape(base)}/confirm\?token=\S+", text)
        assert link, text
        page.goto(link[0])
        assert served.store.signup(EMAIL).state == "pending"  # type: ignore[union-attr]
        page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == "Subscription confirmed"
        page.click("text=Your preferences")
        assert page.is_checked("input[value=speech]")
        page.uncheck("input[value=speech]")
        page.check("input[value=vision]")
        page.click("button[value=save]")
        assert "Saved" in page.locator("[role=status]").inner_text()
        assert page.is_checked("input[value=vision]")

        sent = CliRunner().invoke(cli, ["send", "--date", DAY], catch_exceptions=False)
        assert sent.exit_code == 0, sent.output
        eml = (workdir / "data/outbox" / DAY / f"{EMAIL}.eml").read_bytes()
        edition = read_model(workdir / "data/editions" / DAY / "edition.json", Edition, "build")
        vision = {c.paper.id for c in edition.cards if "vision" in c.analysis.analysis.topics}
        assert vision and papers_of(eml) == vision  # the new topics, not the sign-up's
        msg = parse(eml)
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        prefs = re.search(rf'href="({re.escape(base)}/preferences\?token=[^"]+)"', html)
        assert prefs, "the footer links to the preferences page"
        page.goto(prefs[1].replace("&amp;", "&"))
        assert page.is_checked("input[value=vision]")

        # What Gmail or Yahoo do for the unsubscribe button (RFC 8058).
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
        assert https.startswith(f"{base}/unsubscribe?token=")
        left = httpx.post(https, data={"List-Unsubscribe": "One-Click"})
        assert left.status_code == 200
        listed = CliRunner().invoke(cli, ["subscribers", "list"]).output
        assert EMAIL not in listed and "reader0000@example.com" in listed
        everyone = CliRunner().invoke(cli, ["subscribers", "list", "--all"]).output
        assert f"{EMAIL}\t\tvision\ten\tweb\t[unsubscribed]" in everyone
