"""``newsletter preview``: a real HTTP server on 127.0.0.1 (port 0), asked over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from threading import Thread
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from support.receivers import variant_by_subscriber
from support.render_edition import DAY, load_cards, write_edition

from newsletter.cli import cli
from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.files import read_model
from newsletter.mail.parts import sent_parts
from newsletter.models import Edition
from newsletter.preview import PREVIEW_UNSUBSCRIBE, make_server
from newsletter.stages.build import build


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    settings = write_edition(tmp_path, load_cards())
    build(settings, DAY, progress=lambda _: None)
    return settings


@pytest.fixture
def serve(built: Settings) -> Iterator[object]:
    servers = []

    def start(subscriber: str | None = None) -> str:
        server = make_server(built, DAY, port=0, subscriber=subscriber)
        servers.append(server)
        Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_index_lists_variants_who_and_sizes(serve, built: Settings) -> None:  # type: ignore[no-untyped-def]
    base = serve()
    page = httpx.get(base + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    tree = HTMLParser(page.text)
    sections = tree.css("section")
    assert len(sections) == 3
    edition = read_model(built.layout.edition(DAY).edition, Edition, "build")
    for v, section in zip(edition.variants, sections, strict=True):
        meta = section.css_first("p.meta").text()
        assert f"{len(v.paper_ids)} papers" in meta
        assert f"{round(v.html_bytes / 1000, 1)} KB html" in meta
        assert f"{v.subscriber_count} subscriber(s)" in meta
        for email, got in variant_by_subscriber(built, edition).items():
            assert (email in meta) == (got.key == v.key)
        frames = section.css("iframe")
        assert [f.attributes["style"] for f in frames] == ["width:600px", "width:375px"]
        assert {f.attributes["src"] for f in frames} == {f"/variant/{v.key}.html"}
        assert section.css_first("pre").text().count("[💡 ") == len(v.paper_ids)
        html = httpx.get(f"{base}/variant/{v.key}.html")
        assert html.status_code == 200 and html.text.lower().startswith("<!doctype html>")
        assert v.topics_token not in html.text and v.unsubscribe_token not in html.text
        assert PREVIEW_UNSUBSCRIBE in html.text
        text = httpx.get(f"{base}/variant/{v.key}.txt")
        assert text.headers["content-type"].startswith("text/plain")
        assert "https://arxiv.org/abs/" in text.text


def test_subscriber_opens_that_subscribers_email(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve("agents@example.com")
    tree = HTMLParser(httpx.get(base + "/").text)
    assert len(tree.css("section")) == 1
    assert "agents@example.com" in tree.css_first("h1").text()
    assert tree.css_first("iframe").attributes["src"] == "/email/agents%40example.com.html"
    email = httpx.get(base + "/email/agents%40example.com.html").text
    assert "구독 주제: agents</p>" in email
    assert len(HTMLParser(email).css("div.c h2")) == 2
    other = httpx.get(base + "/email/vision@example.com.txt").text
    assert "Your topics: vision, video" in other


def test_unknown_paths_and_subscribers_are_404(serve) -> None:  # type: ignore[no-untyped-def]
    base = serve()
    assert httpx.get(base + "/variant/nope.html").status_code == 404
    assert httpx.get(base + "/variant/../edition.json").status_code == 404
    missing = httpx.get(base + "/email/nobody@example.com.html")
    assert missing.status_code == 404 and "receives no variant" in missing.text


def test_unknown_subscriber_is_a_clear_error(built: Settings) -> None:
    with pytest.raises(NewsletterError, match="nobody@example.com receives no variant"):
        make_server(built, DAY, port=0, subscriber="nobody@example.com")


def test_preview_before_build_says_what_to_run(tmp_path: Path) -> None:
    settings = write_edition(tmp_path, load_cards())
    with pytest.raises(NewsletterError, match="run 'newsletter build' first"):
        make_server(settings, DAY, port=0)


def test_preview_command_serves_until_interrupted(built: Settings) -> None:
    """The real command in a subprocess: --port 0 --no-open, then an HTTP request, then Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",  # a SIGABRT below dumps every thread's stack to stderr
            "-m",
            "newsletter",
            "--config",
            str(built.source_path),
            "preview",
            "--date",
            DAY,
            "--port",
            "0",
            "--no-open",
            "--subscriber",
            "vision@example.com",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal sends it: a test run started in the background of a
        # non-interactive shell (CI) has SIGINT ignored, and Python keeps it so in children.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"preview of {DAY} at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split()[0]
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "vision@example.com" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGABRT)  # still running: say where it is stuck
        _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr


def test_preview_shows_the_parts_of_the_message_delivery_sends(built: Settings) -> None:
    """The subscriber's page is the HTML and text part of their sent message, link aside."""
    result = CliRunner().invoke(
        cli, ["--config", str(built.source_path), "send", "--date", DAY, "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    server = make_server(built, DAY, port=0)
    Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for email in ("agents@example.com", "vision@example.com", "all@example.com"):
            sent = sent_parts((built.layout.outbox(DAY) / f"{email}.eml").read_bytes())
            link = HTMLParser(sent.html).css("a")[-1].attributes["href"] or ""
            assert link.startswith("mailto:")  # the real per-subscriber unsubscribe link
            for suffix, part in (("html", sent.html), ("txt", sent.text)):
                shown = httpx.get(f"{base}/email/{quote(email)}.{suffix}").text
                assert shown == part.replace(link, PREVIEW_UNSUBSCRIBE), (email, suffix)
        pages = [httpx.get(base + "/").text]
        for v in read_model(built.layout.edition(DAY).edition, Edition, "build").variants:
            pages += [httpx.get(f"{base}/variant/{v.key}.{s}").text for s in ("html", "txt")]
        for page in pages:  # no placeholder is ever shown raw
            assert "%%" not in page and "unsubscribe.invalid" not in page
    finally:
        server.shutdown()
        server.server_close()
